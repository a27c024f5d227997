// Parses PromQL with the official lezer grammar (@prometheus-io/lezer-promql) and turns its syntax
// tree into the typed AST of ast.ts, then type-checks it like Prometheus' parser (checkAST).
//
// The lezer grammar is error-tolerant and a little more permissive than Prometheus' yacc grammar, so:
//   - lexical errors are found first by lexer.ts, with Prometheus' messages and positions;
//   - lezer's number token is narrower than Prometheus' (no `1.`, `1.e3`, `0X1F`), so lezer is given
//     the query with every number/duration token blanked to zeros (lezerInput), and literals are
//     decoded from lexer.ts's tokens;
//   - the first lezer error node becomes "unexpected <token>", naming the token as Prometheus does;
//   - modifiers lezer accepts anywhere (offset, @) are validated here as Prometheus' parser does;
//   - unary minus binds looser than `^` (Prometheus: -2^2 = -4), which lezer gets wrong for signed
//     number literals, so `(-2)^2` as lezer reads it is rewritten to `-(2^2)`;
//   - syntax Prometheus 3 keeps behind feature flags (duration arithmetic, anchored/smoothed, fill
//     modifiers, experimental functions and aggregations) is rejected with a message naming it.

import { parser as lezerParser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode, Tree } from '@lezer/common';
import type {
  AggregateExpr,
  AggregateOp,
  AtModifier,
  BinaryExpr,
  BinaryOp,
  Call,
  Expr,
  MatrixSelector,
  NumberLiteral,
  PosRange,
  SubqueryExpr,
  ValueType,
  VectorMatching,
  VectorSelector,
} from './ast.ts';
import { documentedType, exprType, FUNCTIONS } from './ast.ts';
import { ParseError } from './errors.ts';
import { compileAnchoredRegex, compileMatcher, goQuote, METRIC_NAME, RegexError, type LabelMatcher } from './labels.ts';
import { describeToken, parseDuration, parseNumber, tokenize, unquoteString, type Token } from './lexer.ts';

/** Parses and type-checks a PromQL expression. Throws ParseError (errorType bad_data). */
export function parse(query: string): Expr {
  const { tokens, error } = tokenize(query);
  const lexError = error ?? validateLiterals(tokens);
  const tree = lezerParser.parse(lezerInput(query, tokens));
  const syntaxErrorAt = firstErrorNode(tree);
  if (lexError && (syntaxErrorAt === null || lexError.at <= syntaxErrorAt.from)) {
    throw new ParseError(query, lexError.pos, lexError.pos, lexError.message);
  }
  if (syntaxErrorAt !== null) throw syntaxError(query, tokens, syntaxErrorAt);
  const top = tree.topNode.firstChild;
  if (!top) throw new ParseError(query, 0, 0, 'no expression found in input');
  const conv = new Converter(query, tokens);
  const expr = conv.expr(top);
  checkAST(query, expr);
  return expr;
}

/**
 * The query as given to lezer. The official grammar's number token is narrower than Prometheus' lexer:
 * it refuses a trailing dot (`1.`, `1.e3`), `0X`, and durations whose units are out of order or that
 * model.ParseDuration refuses later (`1.5m`). Each number and duration token of our lexer (which follows
 * Prometheus') is therefore replaced by zeros of the same length, so that lezer sees a plain number at
 * the same place; the Converter reads the literal from the original text and the token's kind. Before
 * a '.' the last zero becomes a space, so that `1..2` stays two numbers for lezer as for Prometheus.
 */
function lezerInput(query: string, tokens: Token[]): string {
  let out = '';
  let last = 0;
  for (const t of tokens) {
    if ((t.kind !== 'NUMBER' && t.kind !== 'DURATION') || !/^[0-9.]/.test(t.text)) continue;
    const len = t.end - t.start;
    out += query.slice(last, t.start) + (query[t.end] === '.' ? '0'.repeat(len - 1) + ' ' : '0'.repeat(len));
    last = t.end;
  }
  return out + query.slice(last);
}

function validateLiterals(tokens: Token[]): { pos: number; at: number; message: string } | null {
  for (const t of tokens) {
    try {
      if (t.kind === 'NUMBER') parseNumber(t.text);
      else if (t.kind === 'DURATION') parseDuration(t.text);
      else if (t.kind === 'STRING') unquoteString(t.text);
    } catch (err) {
      const msg = (err as Error).message;
      return { pos: t.start, at: t.start, message: t.kind === 'STRING' ? `error unquoting string ${goQuote(t.text)}: ${msg}` : msg };
    }
  }
  return null;
}

function firstErrorNode(tree: Tree): { from: number; to: number } | null {
  let found: { from: number; to: number } | null = null;
  tree.iterate({
    enter(n) {
      if (found) return false;
      if (n.type.isError) {
        found = { from: n.from, to: n.to };
        return false;
      }
      return undefined;
    },
  });
  return found;
}

function syntaxError(query: string, tokens: Token[], at: { from: number }): ParseError {
  // The token at (or after) the error position: what Prometheus' parser would see as unexpected.
  let idx = tokens.findIndex((t) => t.end > at.from || t.kind === 'EOF');
  if (idx < 0) idx = tokens.length - 1;
  const tok = tokens[idx] ?? { kind: 'EOF', start: query.length, end: query.length, text: '' };
  // An identifier followed by "(" that lezer did not take as a function: an unknown function.
  const prev = tokens[idx - 1];
  if (tok.kind === 'PUNCT' && tok.text === '(' && prev && (prev.kind === 'IDENTIFIER' || prev.kind === 'METRIC_IDENTIFIER')) {
    return new ParseError(query, prev.start, prev.end, `unknown function with name ${goQuote(prev.text)}`);
  }
  // After `@` or `offset` (and one sign), Prometheus names what it expected.
  let before = prev;
  if (before && before.kind === 'OPERATOR' && (before.text === '-' || before.text === '+')) before = tokens[idx - 2];
  let context = '';
  if (before?.kind === 'OPERATOR' && before.text === '@') context = ' in @, expected timestamp';
  else if (before?.kind === 'KEYWORD' && before.text.toLowerCase() === 'offset') context = ' in offset, expected duration';
  return new ParseError(query, tok.start, tok.end, `unexpected ${describeToken(tok)}${context}`);
}

const EXPERIMENTAL_FUNCTION_NAMES = new Set(['start', 'end', 'range', 'step', 'integral']);

const BINARY_OPS: Record<string, BinaryOp> = {
  Pow: '^',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Atan2: 'atan2',
  Add: '+',
  Sub: '-',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
};

const EXPR_NODES = new Set([
  'AggregateExpr', 'BinaryExpr', 'FunctionCall', 'MatrixSelector', 'NumberDurationLiteral', 'OffsetExpr',
  'AnchoredExpr', 'SmoothedExpr', 'ParenExpr', 'StringLiteral', 'SubqueryExpr', 'UnaryExpr', 'VectorSelector',
  'StepInvariantExpr',
]);

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (c.name !== 'LineComment') out.push(c);
  return out;
}

class Converter {
  private readonly q: string;
  private readonly literals = new Map<number, Token>();
  constructor(query: string, tokens: Token[]) {
    this.q = query;
    for (const t of tokens) if (t.kind === 'NUMBER' || t.kind === 'DURATION') this.literals.set(t.start, t);
  }

  /** The number or duration token of a literal node (after its sign, if any). */
  private literal(n: SyntaxNode): Token {
    let p = n.from;
    if (this.q[p] === '-' || this.q[p] === '+') {
      p++;
      while (/\s/.test(this.q[p] ?? '')) p++;
    }
    const t = this.literals.get(p);
    if (!t) return this.fail(p, `unexpected ${goQuote(this.q.slice(p, n.to))}`);
    return t;
  }

  private text(n: SyntaxNode): string {
    return this.q.slice(n.from, n.to);
  }

  private fail(start: number, detail: string, end = start): never {
    throw new ParseError(this.q, start, end, detail);
  }

  private pos(n: SyntaxNode): PosRange {
    return { start: n.from, end: n.to };
  }

  expr(n: SyntaxNode): Expr {
    switch (n.name) {
      case 'AggregateExpr':
        return this.aggregate(n);
      case 'BinaryExpr':
        return this.binary(n);
      case 'FunctionCall':
        return this.call(n);
      case 'MatrixSelector':
        return this.matrix(n);
      case 'SubqueryExpr':
        return this.subquery(n);
      case 'NumberDurationLiteral':
        return this.number(n);
      case 'StringLiteral':
        return { type: 'StringLiteral', value: this.string(n), pos: this.pos(n) };
      case 'OffsetExpr':
        return this.offset(n);
      case 'StepInvariantExpr':
        return this.at(n);
      case 'AnchoredExpr':
        return this.fail(n.from, 'anchored modifier is experimental and not enabled');
      case 'SmoothedExpr':
        return this.fail(n.from, 'smoothed modifier is experimental and not enabled');
      case 'ParenExpr': {
        const inner = children(n).find((c) => EXPR_NODES.has(c.name));
        if (!inner) return this.fail(n.from, 'unexpected empty parentheses');
        return { type: 'ParenExpr', expr: this.expr(inner), pos: this.pos(n) };
      }
      case 'UnaryExpr': {
        const [opNode, inner] = children(n);
        const op = this.text(opNode!) as '-' | '+';
        const e = this.expr(inner!);
        if (e.type === 'NumberLiteral') {
          return { type: 'NumberLiteral', value: op === '-' ? -e.value : e.value, pos: { start: n.from, end: e.pos.end } };
        }
        return { type: 'UnaryExpr', op, expr: e, pos: this.pos(n) };
      }
      case 'VectorSelector':
        return this.vectorSelector(n);
      default:
        return this.fail(n.from, `unexpected ${n.name}`);
    }
  }

  private string(n: SyntaxNode): string {
    try {
      return unquoteString(this.text(n));
    } catch (err) {
      return this.fail(n.from, `error unquoting string ${goQuote(this.text(n))}: ${(err as Error).message}`);
    }
  }

  private number(n: SyntaxNode): NumberLiteral {
    const t = this.literal(n);
    const sign = this.q[n.from] === '-' ? -1 : 1;
    return { type: 'NumberLiteral', value: sign * this.unsignedNumber(t), pos: { start: n.from, end: Math.max(n.to, t.end) } };
  }

  /** A number in expression context; Prometheus 3 also accepts durations there (as seconds). */
  private unsignedNumber(t: Token): number {
    try {
      return t.kind === 'DURATION' ? parseDuration(t.text) / 1000 : parseNumber(t.text);
    } catch (err) {
      return this.fail(t.start, (err as Error).message);
    }
  }

  /**
   * A duration (DurationExpr/OffsetDurationExpr) in ms; plain literals only. An offset may have one '-'
   * (Prometheus 2.42's `offset -5m`); `+5m` and `--5m` are refused as 2.42 does. A number is seconds,
   * as in Prometheus 3.
   */
  private duration(n: SyntaxNode, context: 'range' | 'offset'): number {
    const kids = children(n);
    if (context === 'offset' && kids.length === 2 && kids[0]!.name === 'UnaryOp') {
      const op = this.text(kids[0]!);
      const inner = children(kids[1]!);
      if (op === '+') this.fail(kids[0]!.from, 'unexpected <op:+> in offset, expected duration');
      if (inner.length === 2 && inner[0]!.name === 'UnaryOp') {
        this.fail(inner[0]!.from, `unexpected <op:${this.text(inner[0]!)}> in offset, expected duration`);
      }
      return -this.duration(kids[1]!, context);
    }
    if (kids.length !== 1 || kids[0]!.name !== 'NumberDurationLiteralInDurationContext') {
      return this.fail(n.from, 'experimental duration expression is not enabled');
    }
    const t = this.literal(kids[0]!);
    let ms: number;
    if (t.kind === 'DURATION') ms = this.unsignedNumber(t) * 1000;
    else {
      const secs = this.unsignedNumber(t);
      if (!Number.isFinite(secs)) return this.fail(t.start, `invalid duration ${goQuote(t.text)}`);
      ms = Math.round(secs * 1000);
    }
    if (ms === 0) return this.fail(t.start, 'duration must be greater than 0');
    return ms;
  }

  private groupingLabels(n: SyntaxNode): string[] {
    const out: string[] = [];
    for (const c of children(n)) {
      if (c.name === 'LabelName') out.push(this.text(c));
      else if (c.name === 'QuotedLabelName') out.push(this.string(c.firstChild!));
    }
    return out;
  }

  private aggregate(n: SyntaxNode): AggregateExpr {
    let op = '';
    let grouping: string[] = [];
    let without = false;
    let args: Expr[] = [];
    for (const c of children(n)) {
      if (c.name === 'AggregateOp') op = this.text(c).toLowerCase();
      else if (c.name === 'AggregateModifier') {
        const kids = children(c);
        without = kids[0]!.name === 'Without';
        grouping = this.groupingLabels(kids[1]!);
      } else if (c.name === 'FunctionCallBody') args = this.callArgs(c);
    }
    if (op === 'limitk' || op === 'limit_ratio') {
      this.fail(n.from, `${op}() is experimental and must be enabled with --enable-feature=promql-experimental-functions`);
    }
    if (args.length === 0) this.fail(n.from, 'no arguments for aggregate expression provided');
    const withParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values';
    const want = withParam ? 2 : 1;
    if (args.length !== want) {
      this.fail(n.from, `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`);
    }
    return {
      type: 'AggregateExpr',
      op: op as AggregateOp,
      expr: args[want - 1]!,
      param: withParam ? args[0]! : null,
      grouping,
      without,
      pos: this.pos(n),
    };
  }

  private callArgs(body: SyntaxNode): Expr[] {
    return children(body)
      .filter((c) => EXPR_NODES.has(c.name))
      .map((c) => this.expr(c));
  }

  private binary(n: SyntaxNode): Expr {
    const kids = children(n);
    const lhsNode = kids[0]!;
    const opNode = kids[1]!;
    const rhsNode = kids[kids.length - 1]!;
    const op = BINARY_OPS[opNode.name];
    if (!op) return this.fail(opNode.from, `operator ${goQuote(this.text(opNode))} is experimental and not enabled`);
    let bool = false;
    const vm: VectorMatching = { card: 'one-to-one', on: false, matchingLabels: [], include: [] };
    for (const c of kids.slice(2, -1)) {
      if (c.name === 'BoolModifier') bool = true;
      else if (c.name === 'FillModifier') this.fail(n.from, 'binop fill modifiers are experimental and not enabled');
      else if (c.name === 'MatchingModifierClause') {
        const m = children(c);
        vm.on = m[0]!.name === 'On';
        vm.matchingLabels = this.groupingLabels(m[1]!);
        if (m[2]) {
          vm.card = m[2].name === 'GroupLeft' ? 'many-to-one' : 'one-to-many';
          if (m[3]) vm.include = this.groupingLabels(m[3]);
        }
      }
    }
    const lhs = this.expr(lhsNode);
    const rhs = this.expr(rhsNode);
    const node: BinaryExpr = { type: 'BinaryExpr', op, lhs, rhs, bool, vectorMatching: vm, pos: this.pos(n) };
    // lezer reads `-2^2` as (-2)^2; in PromQL unary minus binds looser than ^: -(2^2).
    if (op === '^' && lhsNode.name === 'NumberDurationLiteral' && /^[-+]/.test(this.text(lhsNode)) && lhs.type === 'NumberLiteral') {
      const sign = this.text(lhsNode)[0] as '-' | '+';
      const unsigned: NumberLiteral = { ...lhs, value: Math.abs(lhs.value) };
      if (Number.isNaN(lhs.value)) unsigned.value = NaN;
      node.lhs = unsigned;
      return { type: 'UnaryExpr', op: sign, expr: node, pos: this.pos(n) };
    }
    return node;
  }

  private call(n: SyntaxNode): Call {
    const [ident, body] = children(n);
    const name = this.text(ident!);
    const func = FUNCTIONS.get(name);
    if (!func) {
      if (EXPERIMENTAL_FUNCTION_NAMES.has(name)) this.fail(ident!.from, `function ${goQuote(name)} is not enabled`);
      this.fail(ident!.from, `unknown function with name ${goQuote(name)}`);
    }
    if (func.experimental) this.fail(ident!.from, `function ${goQuote(name)} is not enabled`);
    return { type: 'Call', func, args: this.callArgs(body!), pos: this.pos(n) };
  }

  private bracketStart(durationNode: SyntaxNode): number {
    let p = durationNode.from - 1;
    while (p > 0 && this.q[p] !== '[') p--;
    return p;
  }

  private matrix(n: SyntaxNode): MatrixSelector {
    const [inner, dur] = children(n);
    const e = this.expr(inner!);
    const bracket = this.bracketStart(dur!);
    if (e.type !== 'VectorSelector') this.fail(bracket, 'ranges only allowed for vector selectors');
    if (e.offset !== 0) this.fail(bracket, 'no offset modifiers allowed before range');
    if (e.at !== null) this.fail(bracket, 'no @ modifiers allowed before range');
    const range = this.duration(dur!, 'range');
    return { type: 'MatrixSelector', vectorSelector: e, range, pos: this.pos(n) };
  }

  private subquery(n: SyntaxNode): SubqueryExpr {
    const kids = children(n);
    const e = this.expr(kids[0]!);
    const range = this.duration(kids[1]!, 'range');
    const step = kids[2] ? this.duration(kids[2], 'range') : 0;
    return { type: 'SubqueryExpr', expr: e, range, step, offset: 0, at: null, pos: this.pos(n) };
  }

  private offset(n: SyntaxNode): Expr {
    const kids = children(n);
    const e = this.expr(kids[0]!);
    const ms = this.duration(kids[2]!, 'offset');
    const target = e.type === 'MatrixSelector' ? e.vectorSelector : e;
    if (target.type !== 'VectorSelector' && target.type !== 'SubqueryExpr') {
      this.fail(e.pos.start, 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery');
    }
    if (target.offset !== 0) this.fail(e.pos.start, 'offset may not be set multiple times');
    target.offset = ms;
    e.pos = { start: e.pos.start, end: n.to };
    return e;
  }

  private at(n: SyntaxNode): Expr {
    const kids = children(n);
    const e = this.expr(kids[0]!);
    const arg = kids[2]!;
    let at: AtModifier;
    if (arg.name === 'AtModifierPreprocessors') {
      at = { type: arg.firstChild!.name === 'AtStart' ? 'start' : 'end' };
    } else {
      const ts = this.number(arg).value;
      if (!Number.isFinite(ts) || ts >= 9.223372036854776e18 || ts <= -9.223372036854776e18) {
        this.fail(e.pos.start, `timestamp out of bounds for @ modifier: ${formatGoF(ts)}`);
      }
      at = { type: 'timestamp', ms: goFloatSecondsToMs(ts) };
    }
    const target = e.type === 'MatrixSelector' ? e.vectorSelector : e;
    if (target.type !== 'VectorSelector' && target.type !== 'SubqueryExpr') {
      this.fail(e.pos.start, '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery');
    }
    if (target.at !== null) this.fail(e.pos.start, '@ <timestamp> may not be set multiple times');
    target.at = at;
    e.pos = { start: e.pos.start, end: n.to };
    return e;
  }

  private vectorSelector(n: SyntaxNode): VectorSelector {
    let name = '';
    const matchers: LabelMatcher[] = [];
    for (const c of children(n)) {
      if (c.name === 'Identifier') name = this.text(c);
      else if (c.name === 'LabelMatchers') {
        for (const m of children(c)) {
          if (m.name === 'QuotedLabelName') {
            matchers.push({ type: '=', name: METRIC_NAME, value: this.string(m.firstChild!) });
            continue;
          }
          const [labelNode, opNode, valueNode] = children(m);
          const label = labelNode!.name === 'LabelName' ? this.text(labelNode!) : this.string(labelNode!.firstChild!);
          const type = this.text(opNode!) as LabelMatcher['type'];
          const value = this.string(valueNode!);
          if (type === '=~' || type === '!~') {
            try {
              compileAnchoredRegex(value);
            } catch (err) {
              if (err instanceof RegexError) this.fail(labelNode!.from, err.message);
              throw err;
            }
          }
          matchers.push({ type, name: label, value });
        }
      }
    }
    if (name !== '') matchers.push({ type: '=', name: METRIC_NAME, value: name });
    return { type: 'VectorSelector', name, matchers, offset: 0, at: null, pos: this.pos(n) };
  }
}

/**
 * timestamp.FromFloatSeconds: int64(math.Round(s * 1000)); Go rounds halves away from zero, and a
 * product beyond the int64 range converts to the minimum int64 (amd64, as Debian's Prometheus does).
 */
function goFloatSecondsToMs(s: number): number {
  const x = s * 1000;
  const t = Math.trunc(x);
  const r = Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
  if (r >= 9.223372036854776e18 || r < -9.223372036854776e18) return -9.223372036854776e18;
  return r === 0 ? 0 : r;
}

/** Go's %f (6 decimals) for the @ bounds message. */
function formatGoF(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  const big = BigInt(Math.trunc(n));
  return `${big}.${Math.abs(n % 1).toFixed(6).slice(2)}`;
}

// ---------------------------------------------------------------------------------------------------
// Type checking (Prometheus' checkAST)

const COMPARISON = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS = new Set<BinaryOp>(['and', 'or', 'unless']);

export function isComparison(op: BinaryOp): boolean {
  return COMPARISON.has(op);
}
export function isSetOperator(op: BinaryOp): boolean {
  return SET_OPS.has(op);
}

function checkAST(query: string, root: Expr): void {
  const fail = (start: number, detail: string): never => {
    throw new ParseError(query, start, start, detail);
  };
  const expect = (e: Expr, want: ValueType, context: string): void => {
    const t = check(e);
    if (t !== want) fail(e.pos.start, `expected type ${documentedType(want)} in ${context}, got ${documentedType(t)}`);
  };
  const opStart = (n: BinaryExpr): number => {
    let p = n.lhs.pos.end;
    while (p < query.length && /\s/.test(query[p]!)) p++;
    return p;
  };
  const check = (e: Expr): ValueType => {
    const typ = exprType(e);
    switch (e.type) {
      case 'AggregateExpr':
        expect(e.expr, 'vector', 'aggregation expression');
        if (e.op === 'topk' || e.op === 'bottomk' || e.op === 'quantile') expect(e.param!, 'scalar', 'aggregation parameter');
        if (e.op === 'count_values') expect(e.param!, 'string', 'aggregation parameter');
        break;
      case 'BinaryExpr': {
        const lt = check(e.lhs);
        const rt = check(e.rhs);
        if (e.bool && !isComparison(e.op)) fail(opStart(e), 'bool modifier can only be used on comparison operators');
        if (isComparison(e.op) && !e.bool && lt === 'scalar' && rt === 'scalar') {
          fail(opStart(e), 'comparisons between scalars must use BOOL modifier');
        }
        const vm = e.vectorMatching;
        if (vm && isSetOperator(e.op) && vm.card === 'one-to-one') vm.card = 'many-to-many';
        if (vm && vm.on) {
          for (const l of vm.matchingLabels) {
            if (vm.include.includes(l)) fail(opStart(e), `label ${goQuote(l)} must not occur in ON and GROUP clause at once`);
          }
        }
        if (lt !== 'scalar' && lt !== 'vector') fail(e.lhs.pos.start, 'binary expression must contain only scalar and instant vector types');
        if (rt !== 'scalar' && rt !== 'vector') fail(e.rhs.pos.start, 'binary expression must contain only scalar and instant vector types');
        if ((lt !== 'vector' || rt !== 'vector') && vm) {
          if (vm.matchingLabels.length > 0) fail(e.pos.start, 'vector matching only allowed between instant vectors');
          e.vectorMatching = null;
        } else if (vm && isSetOperator(e.op)) {
          if (vm.card === 'one-to-many' || vm.card === 'many-to-one') fail(e.pos.start, `no grouping allowed for ${goQuote(e.op)} operation`);
          if (vm.card !== 'many-to-many') fail(e.pos.start, 'set operations must always be many-to-many');
        }
        if ((lt === 'scalar' || rt === 'scalar') && isSetOperator(e.op)) {
          fail(e.pos.start, `set operator ${goQuote(e.op)} not allowed in binary scalar expression`);
        }
        break;
      }
      case 'Call': {
        const f = e.func;
        const nargs = f.argTypes.length;
        if (f.variadic === 0) {
          if (nargs !== e.args.length) fail(e.pos.start, `expected ${nargs} argument(s) in call to ${goQuote(f.name)}, got ${e.args.length}`);
        } else {
          const na = nargs - 1;
          if (na > e.args.length) {
            fail(e.pos.start, `expected at least ${na} argument(s) in call to ${goQuote(f.name)}, got ${e.args.length}`);
          } else if (f.variadic > 0 && na + f.variadic < e.args.length) {
            fail(e.pos.start, `expected at most ${na + f.variadic} argument(s) in call to ${goQuote(f.name)}, got ${e.args.length}`);
          }
        }
        e.args.forEach((arg, i) => {
          if (i >= nargs) {
            if (f.variadic === 0) return;
            i = nargs - 1;
          }
          const t = check(arg);
          if (t !== f.argTypes[i]) {
            fail(arg.pos.start, `expected type ${documentedType(f.argTypes[i]!)} in call to function ${goQuote(f.name)}, got ${documentedType(t)}`);
          }
        });
        break;
      }
      case 'ParenExpr':
        check(e.expr);
        break;
      case 'UnaryExpr': {
        const t = check(e.expr);
        if (t !== 'scalar' && t !== 'vector') {
          fail(e.pos.start, `unary expression only allowed on expressions of type scalar or instant vector, got ${goQuote(documentedType(t))}`);
        }
        break;
      }
      case 'SubqueryExpr': {
        const t = check(e.expr);
        if (t !== 'vector') fail(e.pos.start, `subquery is only allowed on instant vector, got ${t} instead`);
        break;
      }
      case 'MatrixSelector':
        check(e.vectorSelector);
        break;
      case 'VectorSelector': {
        if (e.name !== '') {
          for (const m of e.matchers.slice(0, -1)) {
            if (m.name === METRIC_NAME) fail(e.pos.start, `metric name must not be set twice: ${goQuote(e.name)} or ${goQuote(m.value)}`);
          }
          break;
        }
        if (!e.matchers.some((m) => !compileMatcher(m).matches(''))) {
          fail(e.pos.start, 'vector selector must contain at least one non-empty matcher');
        }
        break;
      }
      case 'NumberLiteral':
      case 'StringLiteral':
        break;
    }
    return typ;
  };
  const t = check(root);
  if (t === 'none') fail(root.pos.start, `evaluation statement must have a valid expression type but got ${documentedType(t)}`);
}
