// The typed PromQL syntax tree produced by parse.ts (the shapes of Prometheus' promql/parser AST).
// Durations and timestamps are integer milliseconds.

import type { LabelMatcher } from './labels.ts';

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string' | 'none';

/** Prometheus' DocumentedType: the names used in error messages. */
export function documentedType(t: ValueType): string {
  switch (t) {
    case 'vector':
      return 'instant vector';
    case 'matrix':
      return 'range vector';
    default:
      return t;
  }
}

/** Offsets in the query string (UTF-16 code units), end exclusive. */
export interface PosRange {
  start: number;
  end: number;
}

/** The `@` modifier: a fixed timestamp, or the query's start()/end(). */
export type AtModifier = { type: 'timestamp'; ms: number } | { type: 'start' } | { type: 'end' };

export interface NumberLiteral {
  type: 'NumberLiteral';
  value: number;
  pos: PosRange;
}

export interface StringLiteral {
  type: 'StringLiteral';
  value: string;
  pos: PosRange;
}

export interface VectorSelector {
  type: 'VectorSelector';
  /** The metric name written before the braces, or '' (the name may also be a __name__ matcher). */
  name: string;
  /** All matchers, including `__name__="name"` when a name was written before the braces. */
  matchers: LabelMatcher[];
  /** Offset in ms (negative allowed). */
  offset: number;
  at: AtModifier | null;
  pos: PosRange;
}

export interface MatrixSelector {
  type: 'MatrixSelector';
  vectorSelector: VectorSelector;
  /** Range in ms (> 0). */
  range: number;
  pos: PosRange;
}

export interface SubqueryExpr {
  type: 'SubqueryExpr';
  expr: Expr;
  range: number;
  /** Resolution in ms; 0 means the engine's default (no-step) subquery interval. */
  step: number;
  offset: number;
  at: AtModifier | null;
  pos: PosRange;
}

export interface ParenExpr {
  type: 'ParenExpr';
  expr: Expr;
  pos: PosRange;
}

export interface UnaryExpr {
  type: 'UnaryExpr';
  op: '-' | '+';
  expr: Expr;
  pos: PosRange;
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

export interface VectorMatching {
  card: Cardinality;
  /** true for on(...), false for ignoring(...) (or no clause). */
  on: boolean;
  matchingLabels: string[];
  /** The labels listed in group_left(...)/group_right(...), copied from the "one" side. */
  include: string[];
}

export interface BinaryExpr {
  type: 'BinaryExpr';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  /** The `bool` modifier of comparisons. */
  bool: boolean;
  /** Set when both sides are instant vectors. */
  vectorMatching: VectorMatching | null;
  pos: PosRange;
}

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'count_values'
  | 'stddev'
  | 'stdvar'
  | 'quantile'
  | 'topk'
  | 'bottomk'
  | 'group';

export interface AggregateExpr {
  type: 'AggregateExpr';
  op: AggregateOp;
  expr: Expr;
  /** k for topk/bottomk, φ for quantile, the label name (StringLiteral) for count_values. */
  param: Expr | null;
  grouping: string[];
  without: boolean;
  pos: PosRange;
}

export interface Call {
  type: 'Call';
  func: FunctionDef;
  args: Expr[];
  pos: PosRange;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | ParenExpr
  | UnaryExpr
  | BinaryExpr
  | AggregateExpr
  | Call;

export interface FunctionDef {
  name: string;
  argTypes: ValueType[];
  /** 0: fixed arity; n > 0: the last argument may repeat up to n times or be omitted; -1: unlimited. */
  variadic: number;
  returnType: ValueType;
  /** Experimental in Prometheus 3 (disabled there by default): rejected at parse time. */
  experimental?: boolean;
  /**
   * Works on native histograms only. The engine evaluates some (engine.ts NATIVE_HISTOGRAM_FUNCTIONS)
   * and rejects the others at evaluation time.
   */
  nativeHistograms?: boolean;
}

const V: ValueType = 'vector';
const M: ValueType = 'matrix';
const S: ValueType = 'scalar';
const STR: ValueType = 'string';

function fn(name: string, argTypes: ValueType[], returnType: ValueType, extra: Partial<FunctionDef> = {}): FunctionDef {
  return { name, argTypes, variadic: 0, returnType, ...extra };
}

/** Every function Prometheus 3 knows, with its signature (promql/parser/functions.go). */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(
  [
    fn('abs', [V], V),
    fn('absent', [V], V),
    fn('absent_over_time', [M], V),
    fn('acos', [V], V),
    fn('acosh', [V], V),
    fn('asin', [V], V),
    fn('asinh', [V], V),
    fn('atan', [V], V),
    fn('atanh', [V], V),
    fn('avg_over_time', [M], V),
    fn('ceil', [V], V),
    fn('changes', [M], V),
    fn('clamp', [V, S, S], V),
    fn('clamp_max', [V, S], V),
    fn('clamp_min', [V, S], V),
    fn('cos', [V], V),
    fn('cosh', [V], V),
    fn('count_over_time', [M], V),
    fn('days_in_month', [V], V, { variadic: 1 }),
    fn('day_of_month', [V], V, { variadic: 1 }),
    fn('day_of_week', [V], V, { variadic: 1 }),
    fn('day_of_year', [V], V, { variadic: 1 }),
    fn('deg', [V], V),
    fn('delta', [M], V),
    fn('deriv', [M], V),
    fn('exp', [V], V),
    fn('floor', [V], V),
    fn('histogram_quantile', [S, V], V),
    fn('hour', [V], V, { variadic: 1 }),
    fn('idelta', [M], V),
    fn('increase', [M], V),
    fn('irate', [M], V),
    fn('label_replace', [V, STR, STR, STR, STR], V),
    fn('label_join', [V, STR, STR, STR], V, { variadic: -1 }),
    fn('last_over_time', [M], V),
    fn('ln', [V], V),
    fn('log10', [V], V),
    fn('log2', [V], V),
    fn('max_over_time', [M], V),
    fn('min_over_time', [M], V),
    fn('minute', [V], V, { variadic: 1 }),
    fn('month', [V], V, { variadic: 1 }),
    fn('pi', [], S),
    fn('predict_linear', [M, S], V),
    fn('present_over_time', [M], V),
    fn('quantile_over_time', [S, M], V),
    fn('rad', [V], V),
    fn('rate', [M], V),
    fn('resets', [M], V),
    fn('round', [V, S], V, { variadic: 1 }),
    fn('scalar', [V], S),
    fn('sgn', [V], V),
    fn('sin', [V], V),
    fn('sinh', [V], V),
    fn('sort', [V], V),
    fn('sort_desc', [V], V),
    fn('sqrt', [V], V),
    fn('stddev_over_time', [M], V),
    fn('stdvar_over_time', [M], V),
    fn('sum_over_time', [M], V),
    fn('tan', [V], V),
    fn('tanh', [V], V),
    fn('time', [], S),
    fn('timestamp', [V], V),
    fn('vector', [S], V),
    fn('year', [V], V, { variadic: 1 }),
    // Native-histogram functions: histogram_stddev/histogram_stdvar are not evaluated by Trimtab yet.
    fn('histogram_avg', [V], V, { nativeHistograms: true }),
    fn('histogram_count', [V], V, { nativeHistograms: true }),
    fn('histogram_sum', [V], V, { nativeHistograms: true }),
    fn('histogram_stddev', [V], V, { nativeHistograms: true }),
    fn('histogram_stdvar', [V], V, { nativeHistograms: true }),
    fn('histogram_fraction', [S, S, V], V, { nativeHistograms: true }),
    // Experimental in Prometheus 3 (behind --enable-feature=promql-experimental-functions).
    fn('double_exponential_smoothing', [M, S, S], V, { experimental: true }),
    fn('first_over_time', [M], V, { experimental: true }),
    fn('histogram_quantiles', [V, STR, S, S], V, { experimental: true, variadic: 9 }),
    fn('info', [V, V], V, { experimental: true, variadic: 1 }),
    fn('mad_over_time', [M], V, { experimental: true }),
    fn('sort_by_label', [V, STR], V, { experimental: true, variadic: -1 }),
    fn('sort_by_label_desc', [V, STR], V, { experimental: true, variadic: -1 }),
    fn('ts_of_first_over_time', [M], V, { experimental: true }),
    fn('ts_of_last_over_time', [M], V, { experimental: true }),
    fn('ts_of_max_over_time', [M], V, { experimental: true }),
    fn('ts_of_min_over_time', [M], V, { experimental: true }),
  ].map((f) => [f.name, f]),
);

/** The value type an expression evaluates to. */
export function exprType(e: Expr): ValueType {
  switch (e.type) {
    case 'NumberLiteral':
      return 'scalar';
    case 'StringLiteral':
      return 'string';
    case 'VectorSelector':
      return 'vector';
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return 'matrix';
    case 'ParenExpr':
    case 'UnaryExpr':
      return exprType(e.expr);
    case 'BinaryExpr':
      return exprType(e.lhs) === 'scalar' && exprType(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'AggregateExpr':
      return 'vector';
    case 'Call':
      return e.func.returnType;
  }
}

/** Removes any number of enclosing parentheses. */
export function unwrapParens(e: Expr): Expr {
  while (e.type === 'ParenExpr') e = e.expr;
  return e;
}

/** Visits every node (pre-order) with the path of its ancestors. */
export function walk(e: Expr, visit: (node: Expr, path: readonly Expr[]) => void, path: Expr[] = []): void {
  visit(e, path);
  path.push(e);
  switch (e.type) {
    case 'MatrixSelector':
      walk(e.vectorSelector, visit, path);
      break;
    case 'SubqueryExpr':
    case 'ParenExpr':
    case 'UnaryExpr':
      walk(e.expr, visit, path);
      break;
    case 'BinaryExpr':
      walk(e.lhs, visit, path);
      walk(e.rhs, visit, path);
      break;
    case 'AggregateExpr':
      if (e.param) walk(e.param, visit, path);
      walk(e.expr, visit, path);
      break;
    case 'Call':
      for (const a of e.args) walk(a, visit, path);
      break;
    default:
      break;
  }
  path.pop();
}
