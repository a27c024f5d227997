// The interface the engine reads data through. storage/ implements it over PostgreSQL (per tenant);
// memory-queryable.ts implements it in memory for tests.
//
// The engine calls select() once per selector in the query, lazily, when it evaluates that selector,
// and consumes the series as they arrive: an implementation may stream them (e.g. page by page from
// SQL) and the engine counts their samples against the query's sample limit as they come, so a query
// that would load too much fails early instead of exhausting memory. The engine stops iterating (and
// the iterator's return() runs) when the query fails, times out or is aborted.

import type { Label } from '../protocol/types.ts';
import type { LabelMatcher } from '../storage/types.ts';
import type { FloatHistogram } from './native-histogram.ts';

export type { Label, LabelMatcher };

/** One series and its float samples (and native-histogram samples, if any) within the requested time range. */
export interface Series {
  /** Sorted by name (byte order); includes __name__; no empty values. */
  labels: Label[];
  /** Sample timestamps, ms since the epoch, strictly increasing. */
  timestamps: Float64Array;
  /**
   * Sample values with their exact bit patterns. Prometheus' stale marker is the NaN
   * 0x7ff0000000000002 (see value.ts: isStaleAt/writeStaleMarker); any other NaN is an ordinary value.
   */
  values: Float64Array;
  /**
   * Native-histogram samples of the series, if it has any in the range: timestamps strictly increasing
   * (histogramTimestamps[i] is the time of histograms[i]). A series may have floats and histograms
   * (e.g. after its type changed); a timestamp carries at most one of them. A series with histograms
   * only has empty timestamps/values. The engine never modifies the histograms it is given.
   */
  histogramTimestamps?: Float64Array;
  histograms?: FloatHistogram[];
}

/** What the engine will do with the selected data, so that storage can push work down (optional). */
export interface SelectHints {
  /** Same as minT/maxT: the inclusive time range, ms. */
  start: number;
  end: number;
  /** Evaluation step of the query or enclosing subquery, ms (0 for an instant query). */
  step: number;
  /** Range of the range selector, ms; 0 for an instant vector selector (which looks back `lookback`). */
  range: number;
  /** The function or aggregation directly applied to this selector ('' if none), e.g. 'rate', 'sum'. */
  func: string;
  /** For an enclosing aggregation: true for `by`, false for `without` (or none). */
  by: boolean;
  grouping: string[];
}

export interface SelectOptions {
  hints?: SelectHints;
  /**
   * False when the engine ignores native histograms (EngineOptions.nativeHistograms off): the queryable
   * need not read them. Absent or true: histograms must be returned.
   */
  histograms?: boolean;
  /** Aborted when the query is canceled or times out; implementations should stop work. */
  signal?: AbortSignal;
}

/**
 * The range functions a Queryable may evaluate itself, over one window (selectAggregated). Each is
 * computed exactly as the engine computes it from the raw samples (see functions.ts): stale markers
 * are not samples; max/min ignore NaN unless every sample is NaN, and keep the sign of the first zero in
 * time order when the extreme is ±0; count counts floats and non-stale native histograms;
 * quantile_over_time(q) orders NaN below every number and interpolates between the two closest ranks
 * (q from AggregateOptions.param).
 */
export type AggregatableFunction = 'max_over_time' | 'min_over_time' | 'count_over_time' | 'quantile_over_time';

export const AGGREGATABLE_FUNCTIONS: ReadonlySet<string> = new Set<AggregatableFunction>(['max_over_time', 'min_over_time', 'count_over_time', 'quantile_over_time']);

export interface AggregateOptions extends SelectOptions {
  /** The function's scalar parameter at the evaluation time (quantile_over_time's q). */
  param?: number;
}

/** One series' value of an AggregatableFunction over a window. */
export interface AggregatedSeries {
  /** As Series.labels. */
  labels: Label[];
  /**
   * The function over the series' float samples in the window (its exact bits are not significant
   * beyond the value: a NaN is any NaN, never a stale marker). For count_over_time, floats plus
   * non-stale histograms. Meaningless when `histograms` > 0 for max/min_over_time.
   */
  value: number;
  /** Float samples in the window, stale markers excluded. */
  floats: number;
  /**
   * Non-stale native-histogram samples in the window (0 when SelectOptions.histograms is false). The
   * engine fails max/min_over_time on a series that has any, as it does on raw samples.
   */
  histograms: number;
}

export interface Queryable {
  /**
   * Series matching all matchers (Prometheus semantics: an absent label equals "", regexes are fully
   * anchored RE2), each with its samples in [minT, maxT] (ms, inclusive). Series without samples in the
   * range may be omitted. Series are yielded in any order, each exactly once.
   */
  select(matchers: LabelMatcher[], minT: number, maxT: number, options?: SelectOptions): AsyncIterable<Series>;

  /**
   * Optional pushdown: `func` evaluated per series over the window [minT, maxT] (ms, inclusive; the
   * engine passes (t - range, t] as [t - range + 1, t]), one AggregatedSeries per matching series with
   * at least one sample (float or non-stale histogram) in the window, in any order, each once. Must be
   * exactly what the engine computes from select()'s samples. The engine calls it, when present and
   * enabled (EngineOptions.aggregatePushdown), for `func(selector[range])` evaluated at one time only.
   * options.hints are those select() would get.
   */
  selectAggregated?(matchers: LabelMatcher[], func: AggregatableFunction, minT: number, maxT: number, options?: AggregateOptions): AsyncIterable<AggregatedSeries>;
}
