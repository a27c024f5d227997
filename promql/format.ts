// Prints a parsed expression back as PromQL, the way Prometheus does: exprString() is the parser's
// String() (printer.go, one line), formatQuery() is Pretty(0) (prettier.go: a node whose one-line form is
// longer than 100 bytes is split over lines, indented by two spaces per level). /api/v1/format_query
// answers with formatQuery(). Checked against Prometheus 2.42's /api/v1/format_query by
// test/query-api-prometheus.test.ts.

import type { AggregateExpr, AtModifier, BinaryExpr, Expr, SubqueryExpr, VectorSelector } from './ast.ts';
import { compareStrings, goQuote, METRIC_NAME } from './labels.ts';
import { formatDuration } from './lexer.ts';

const MAX_CHARACTERS_PER_LINE = 100;

/** Go's fmt.Sprint(float64): %g with the shortest representation ("1e+06", "0.0001", "1.5e-05", "+Inf"). */
export function goFloatString(n: number): string {
  if (n !== n) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mant, e] = n.toExponential().split('e') as [string, string];
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const exp = Number(e);
  let s: string;
  if (exp < -4 || exp >= 6) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const absExp = Math.abs(exp);
    s = `${m}e${exp < 0 ? '-' : '+'}${absExp < 10 ? '0' : ''}${absExp}`;
  } else if (exp < 0) {
    s = '0.' + '0'.repeat(-exp - 1) + digits;
  } else if (exp + 1 >= digits.length) {
    s = digits + '0'.repeat(exp + 1 - digits.length);
  } else {
    s = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return neg ? '-' + s : s;
}

function offsetString(offset: number): string {
  if (offset > 0) return ` offset ${formatDuration(offset)}`;
  if (offset < 0) return ` offset -${formatDuration(-offset)}`;
  return '';
}

function atString(at: AtModifier | null): string {
  if (!at) return '';
  if (at.type === 'start') return ' @ start()';
  if (at.type === 'end') return ' @ end()';
  return ` @ ${(at.ms / 1000).toFixed(3)}`;
}

function selectorString(vs: VectorSelector, withModifiers: boolean): string {
  const parts: string[] = [];
  for (const m of vs.matchers) {
    if (m.name === METRIC_NAME && m.type === '=' && m.value === vs.name) continue;
    parts.push(`${m.name}${m.type}${goQuote(m.value)}`);
  }
  const suffix = withModifiers ? `${atString(vs.at)}${offsetString(vs.offset)}` : '';
  if (parts.length === 0) return `${vs.name}${suffix}`;
  parts.sort(compareStrings);
  return `${vs.name}{${parts.join(',')}}${suffix}`;
}

function aggOpString(e: AggregateExpr): string {
  if (e.without) return `${e.op} without (${e.grouping.join(', ')}) `;
  if (e.grouping.length > 0) return `${e.op} by (${e.grouping.join(', ')}) `;
  return e.op;
}

function matchingString(e: BinaryExpr): string {
  const vm = e.vectorMatching;
  if (!vm || !(vm.matchingLabels.length > 0 || vm.on)) return '';
  let s = ` ${vm.on ? 'on' : 'ignoring'} (${vm.matchingLabels.join(', ')})`;
  if (vm.card === 'many-to-one' || vm.card === 'one-to-many') s += ` group_${vm.card === 'many-to-one' ? 'left' : 'right'} (${vm.include.join(', ')})`;
  return s;
}

function subquerySuffix(e: SubqueryExpr): string {
  const step = e.step !== 0 ? formatDuration(e.step) : '';
  return `[${formatDuration(e.range)}:${step}]${atString(e.at)}${offsetString(e.offset)}`;
}

/** The expression on one line (Prometheus's Expr.String()). */
export function exprString(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral':
      return goFloatString(e.value);
    case 'StringLiteral':
      return goQuote(e.value);
    case 'VectorSelector':
      return selectorString(e, true);
    case 'MatrixSelector': {
      const vs = e.vectorSelector;
      return `${selectorString(vs, false)}[${formatDuration(e.range)}]${atString(vs.at)}${offsetString(vs.offset)}`;
    }
    case 'SubqueryExpr':
      return `${exprString(e.expr)}${subquerySuffix(e)}`;
    case 'ParenExpr':
      return `(${exprString(e.expr)})`;
    case 'UnaryExpr':
      return `${e.op}${exprString(e.expr)}`;
    case 'BinaryExpr':
      return `${exprString(e.lhs)} ${e.op}${e.bool ? ' bool' : ''}${matchingString(e)} ${exprString(e.rhs)}`;
    case 'AggregateExpr':
      return `${aggOpString(e)}(${e.param ? `${exprString(e.param)}, ` : ''}${exprString(e.expr)})`;
    case 'Call':
      return `${e.func.name}(${e.args.map(exprString).join(', ')})`;
  }
}

const indent = (level: number): string => '  '.repeat(level);

function needsSplit(e: Expr): boolean {
  return Buffer.byteLength(exprString(e), 'utf8') > MAX_CHARACTERS_PER_LINE;
}

function pretty(e: Expr, level: number): string {
  const s = indent(level);
  switch (e.type) {
    case 'NumberLiteral':
    case 'StringLiteral':
    case 'VectorSelector':
    case 'MatrixSelector':
      return s + exprString(e);
    case 'SubqueryExpr':
      // As Prometheus: an unsplit subquery is not indented.
      if (!needsSplit(e)) return exprString(e);
      return `${pretty(e.expr, level)}${subquerySuffix(e)}`;
    case 'ParenExpr':
      if (!needsSplit(e)) return s + exprString(e);
      return `${s}(\n${pretty(e.expr, level + 1)}\n${s})`;
    case 'UnaryExpr':
      return `${s}${e.op}${pretty(e.expr, level).trim()}`;
    case 'BinaryExpr':
      if (!needsSplit(e)) return s + exprString(e);
      return `${pretty(e.lhs, level + 1)}\n${s}${e.op}${e.bool ? ' bool' : ''}${matchingString(e)}\n${pretty(e.rhs, level + 1)}`;
    case 'AggregateExpr': {
      if (!needsSplit(e)) return s + exprString(e);
      let out = `${s}${aggOpString(e)}(\n`;
      if (e.param) out += `${pretty(e.param, level + 1)},\n`;
      return `${out}${pretty(e.expr, level + 1)}\n${s})`;
    }
    case 'Call':
      if (!needsSplit(e)) return s + exprString(e);
      return `${s}${e.func.name}(\n${e.args.map((a) => pretty(a, level + 1)).join(',\n')}\n${s})`;
  }
}

/** The expression pretty-printed as Prometheus's /api/v1/format_query answers (Expr.Pretty(0)). */
export function formatQuery(e: Expr): string {
  return pretty(e, 0);
}
