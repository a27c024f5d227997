// Public API of the PromQL engine.
//
//   parse(query)                     → Expr (typed AST), or throws ParseError ("1:5: parse error: …")
//   new Engine(options)              lookback delta, sample limit, timeout, default subquery step
//   engine.instantQuery(q, expr, t)  → { value, warnings, infos, stats }
//   engine.rangeQuery(q, expr, start, end, step)
//   Queryable                        the interface storage implements (queryable.ts)
//   toApiData(value), formatValue(n) the Prometheus HTTP API `data` shape and float formatting
//   PromQLError (.code, .errorType)  every error the engine throws

export type * from './ast.ts';
export { documentedType, exprType, FUNCTIONS, unwrapParens, walk } from './ast.ts';
export { parse } from './parse.ts';
export {
  DEFAULT_LOOKBACK_DELTA,
  DEFAULT_MAX_SAMPLES,
  DEFAULT_TIMEOUT,
  Engine,
  type EngineOptions,
  type QueryOptions,
  type QueryResult,
  type QueryStats,
} from './engine.ts';
export type { Queryable, SelectHints, SelectOptions, Series } from './queryable.ts';
export { MemoryQueryable, type SampleValue } from './memory-queryable.ts';
export { ParseError, PromQLError, type PromQLErrorCode, type PromQLErrorType } from './errors.ts';
export {
  bitsView,
  formatTimestamp,
  formatValue,
  hasStaleMarkers,
  isStaleAt,
  STALE_NAN_HI,
  STALE_NAN_LO,
  toApiData,
  writeStaleMarker,
  type ApiData,
  type Point,
  type QueryValue,
  type RangeSeries,
  type Sample,
} from './value.ts';
export { compileMatcher, labelsToRecord, labelsToString, normalizeLabels, type Label, type LabelMatcher, type Labels } from './labels.ts';
export { formatDuration, parseDuration } from './lexer.ts';
