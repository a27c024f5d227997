// Shared evaluator state and helpers: the values an expression evaluates to over the steps of a query,
// the query context (limits, deadline, cancellation, sample accounting), and the per-step runner that
// assembles step results into series the way Prometheus' rangeEval does.

import type { AtModifier, Expr, VectorSelector } from './ast.ts';
import { canceledError, executionError, PromQLError, timeoutError, tooManySamples } from './errors.ts';
import { LabelSetIndex, type Labels } from './labels.ts';
import type { FloatHistogram } from './native-histogram.ts';
import type { Queryable, Series } from './queryable.ts';

/**
 * An instant vector over the steps of an evaluation (Prometheus' Matrix during range evaluation):
 * one point per step at which the series has a value; `ts` are step timestamps in increasing order.
 */
export interface StepSeries {
  labels: Labels;
  ts: number[];
  vs: number[];
  /**
   * Native histograms: when present (same length as ts), a defined hs[i] makes point i a histogram
   * sample (vs[i] is then meaningless). Absent on series of floats only.
   */
  hs?: Array<FloatHistogram | undefined>;
}

/** Raw samples of one series (a range vector), timestamps are sample timestamps. */
export interface RawSeries {
  labels: Labels;
  ts: ArrayLike<number>;
  vs: ArrayLike<number>;
  /** As StepSeries.hs: a defined hs[i] makes sample i a native histogram. */
  hs?: ArrayLike<FloatHistogram | undefined>;
}

/** True if any point of the value is a native histogram. */
export function hasHistograms(v: EvalValue): boolean {
  if (v.kind !== 'vector' && v.kind !== 'matrix') return false;
  for (const s of v.series) {
    if (!s.hs) continue;
    for (let i = 0; i < s.hs.length; i++) if (s.hs[i] !== undefined) return true;
  }
  return false;
}

/**
 * Fails, naming the operation, when a value holds native histograms that the operation does not
 * evaluate (yet): better an error than a histogram silently read as a float.
 */
export function assertNoHistograms(v: EvalValue, what: string): void {
  if (hasHistograms(v)) throw new PromQLError('promql_unsupported', `${what} is not supported on native histograms`);
}

export type EvalValue =
  | { kind: 'scalar'; values: Float64Array }
  | { kind: 'string'; value: string }
  | { kind: 'vector'; series: StepSeries[] }
  | { kind: 'matrix'; series: RawSeries[] };

export type VectorValue = Extract<EvalValue, { kind: 'vector' }>;
export type ScalarValue = Extract<EvalValue, { kind: 'scalar' }>;

export interface SelectorHints {
  func: string;
  by: boolean;
  grouping: string[];
}

export interface QueryContextInit {
  queryable: Queryable;
  query: string;
  lookbackDelta: number;
  maxSamples: number;
  deadline: number;
  signal: AbortSignal | undefined;
  /** The query's start and end, for the @ start() and end() preprocessors. */
  queryStart: number;
  queryEnd: number;
  noStepSubqueryInterval: (rangeMs: number) => number;
  hints: WeakMap<VectorSelector, SelectorHints>;
  /** Selectors that occur more than once (same matchers): their reads are shared through selectCache. */
  repeatedSelectors?: WeakSet<VectorSelector>;
  /** Whether native-histogram samples are read and evaluated (EngineOptions.nativeHistograms). */
  nativeHistograms: boolean;
  /** Whether selectAggregated may be used (EngineOptions.aggregatePushdown; default true). */
  aggregatePushdown?: boolean;
}

/** State shared by all evaluators (the query's and its subqueries') of one query. */
export class QueryContext {
  readonly queryable: Queryable;
  readonly query: string;
  readonly lookbackDelta: number;
  readonly maxSamples: number;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  readonly queryStart: number;
  readonly queryEnd: number;
  readonly noStepSubqueryInterval: (rangeMs: number) => number;
  readonly hints: WeakMap<VectorSelector, SelectorHints>;
  readonly repeatedSelectors: WeakSet<VectorSelector>;
  /**
   * The series a repeated selector read for a time window (key: matchersKey + window), reused when the
   * same matchers ask for the same window again within this query. The engine never modifies a Series.
   */
  readonly selectCache = new Map<string, Series[]>();
  readonly nativeHistograms: boolean;
  readonly aggregatePushdown: boolean;
  readonly warnings = new Set<string>();
  readonly infos = new Set<string>();
  /** Samples currently held in memory (loaded or produced), as Prometheus counts them, plus raw data. */
  current = 0;
  peak = 0;
  /** Samples read from the Queryable. */
  samplesLoaded = 0;
  private checks = 0;

  constructor(init: QueryContextInit) {
    this.queryable = init.queryable;
    this.query = init.query;
    this.lookbackDelta = init.lookbackDelta;
    this.maxSamples = init.maxSamples;
    this.deadline = init.deadline;
    this.signal = init.signal;
    this.queryStart = init.queryStart;
    this.queryEnd = init.queryEnd;
    this.noStepSubqueryInterval = init.noStepSubqueryInterval;
    this.hints = init.hints;
    this.repeatedSelectors = init.repeatedSelectors ?? new WeakSet();
    this.nativeHistograms = init.nativeHistograms;
    this.aggregatePushdown = init.aggregatePushdown ?? true;
  }

  /** Accounts n more samples in memory; throws when over the limit. */
  add(n: number): void {
    this.current += n;
    if (this.current > this.maxSamples) throw tooManySamples();
    if (this.current > this.peak) this.peak = this.current;
  }

  /** Throws if n more samples would not fit (for transient windows). */
  ensureRoom(n: number): void {
    if (this.current + n > this.maxSamples) throw tooManySamples();
    if (this.current + n > this.peak) this.peak = this.current + n;
  }

  release(n: number): void {
    this.current -= n;
  }

  /** Throws on cancellation or timeout. Cheap enough to call per series or every few steps. */
  check(where = 'expression evaluation'): void {
    if (this.signal?.aborted) throw this.abortError(where);
    if ((++this.checks & 63) === 0 || this.checks < 64) {
      if (Date.now() > this.deadline) throw timeoutError(where);
    }
  }

  /** The error for an aborted signal: the engine's timeout, or a cancellation by the caller. */
  abortError(where = 'expression evaluation'): PromQLError {
    const reason: unknown = this.signal?.reason;
    if (reason instanceof PromQLError) return reason;
    return canceledError(where, reason);
  }

  resolveAt(at: AtModifier): number {
    switch (at.type) {
      case 'timestamp':
        return at.ms;
      case 'start':
        return this.queryStart;
      case 'end':
        return this.queryEnd;
    }
  }

  /** Adds a warning/info annotation with the expression's position, as Prometheus formats them. */
  annotate(kind: 'warning' | 'info', message: string, node: Expr | null): void {
    let suffix = '';
    if (node) {
      let line = 1;
      let col = 1;
      for (let i = 0; i < node.pos.start; i++) {
        if (this.query.charCodeAt(i) === 10) {
          line++;
          col = 1;
        } else col++;
      }
      suffix = ` (${line}:${col})`;
    }
    if (kind === 'warning') this.warnings.add(`PromQL warning: ${message}${suffix}`);
    else this.infos.add(`PromQL info: ${message}${suffix}`);
  }
}

/** The steps an evaluator runs at. An instant evaluation has start === end. */
export interface Steps {
  readonly start: number;
  readonly end: number;
  readonly interval: number;
  readonly numSteps: number;
  readonly ctx: QueryContext;
}

export function countPoints(v: EvalValue): number {
  if (v.kind === 'vector') {
    let n = 0;
    for (const s of v.series) n += s.ts.length;
    return n;
  }
  if (v.kind === 'matrix') {
    let n = 0;
    for (const s of v.series) n += s.ts.length;
    return n;
  }
  return 0;
}

/** Gathers, step by step, the points of a set of step series (each series advances monotonically). */
export class Gatherer {
  private readonly series: readonly StepSeries[];
  private readonly pos: Int32Array;
  readonly idx: number[] = [];
  readonly vals: number[] = [];
  /** The histogram of each gathered point (undefined for floats). */
  readonly hvals: Array<FloatHistogram | undefined> = [];
  constructor(series: readonly StepSeries[]) {
    this.series = series;
    this.pos = new Int32Array(series.length);
  }
  /** Fills idx/vals with the series (indices) that have a point at t, in series order. */
  gather(t: number): void {
    this.idx.length = 0;
    this.vals.length = 0;
    this.hvals.length = 0;
    const series = this.series;
    const pos = this.pos;
    for (let i = 0; i < series.length; i++) {
      const s = series[i]!;
      const p = pos[i]!;
      if (p < s.ts.length && s.ts[p] === t) {
        this.idx.push(i);
        this.vals.push(s.vs[p]!);
        this.hvals.push(s.hs ? s.hs[p] : undefined);
        pos[i] = p + 1;
      }
    }
  }
}

export interface OutSample {
  labels: Labels;
  v: number;
  /** A native-histogram result (v is then ignored). */
  h?: FloatHistogram;
}

const DUPLICATE_LABELSET = 'vector cannot contain metrics with the same labelset';

/**
 * Runs `produce` at every step and assembles its samples into series. In an instant evaluation the
 * output keeps the order `produce` gave (sort, topk) and duplicate label sets are an error; in a range
 * evaluation samples are grouped by label set and a duplicate label set at one step is an error.
 */
export function collectSteps(ev: Steps, produce: (t: number, step: number, out: OutSample[]) => void): StepSeries[] {
  const out: OutSample[] = [];
  const ctx = ev.ctx;
  if (ev.start === ev.end) {
    produce(ev.start, 0, out);
    ctx.add(out.length);
    if (out.length > 1) assertUniqueLabelsets(out);
    return out.map((s) => (s.h ? { labels: s.labels, ts: [ev.start], vs: [0], hs: [s.h] } : { labels: s.labels, ts: [ev.start], vs: [s.v] }));
  }
  const index = new LabelSetIndex();
  const result: StepSeries[] = [];
  for (let step = 0, t = ev.start; t <= ev.end; step++, t += ev.interval) {
    ctx.check();
    out.length = 0;
    produce(t, step, out);
    ctx.add(out.length);
    for (const s of out) {
      const o = index.ordinal(s.labels);
      let series = result[o];
      if (!series) {
        series = { labels: s.labels, ts: [], vs: [] };
        result.push(series);
      } else if (series.ts[series.ts.length - 1] === t) {
        throw executionError(DUPLICATE_LABELSET);
      }
      if (s.h && !series.hs) series.hs = new Array<FloatHistogram | undefined>(series.ts.length).fill(undefined);
      series.ts.push(t);
      series.vs.push(s.v);
      if (series.hs) series.hs.push(s.h);
    }
  }
  return result;
}

/**
 * Merges series that ended up with the same label set (after dropping __name__) when their points do
 * not overlap in time; overlapping points are an error (Prometheus' mergeSeriesWithSameLabelset).
 */
export function mergeSameLabelset(series: StepSeries[]): StepSeries[] {
  if (series.length < 2) return series;
  const index = new LabelSetIndex();
  const lists: StepSeries[][] = [];
  for (const s of series) {
    const o = index.ordinal(s.labels);
    if (o === lists.length) lists.push([s]);
    else lists[o]!.push(s);
  }
  if (lists.length === series.length) return series;
  const out: StepSeries[] = [];
  for (const list of lists) {
    if (list.length === 1) {
      out.push(list[0]!);
      continue;
    }
    const points: Array<[number, number, FloatHistogram | undefined]> = [];
    for (const s of list) for (let i = 0; i < s.ts.length; i++) points.push([s.ts[i]!, s.vs[i]!, s.hs?.[i]]);
    points.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < points.length; i++) if (points[i]![0] === points[i - 1]![0]) throw executionError(DUPLICATE_LABELSET);
    const merged: StepSeries = { labels: list[0]!.labels, ts: points.map((p) => p[0]), vs: points.map((p) => p[1]) };
    if (points.some((p) => p[2] !== undefined)) merged.hs = points.map((p) => p[2]);
    out.push(merged);
  }
  return out;
}

/** Errors out if two series have the same label set (for functions over range vectors). */
export function assertUniqueLabelsets(series: readonly { labels: Labels }[]): void {
  if (series.length < 2) return;
  const index = new LabelSetIndex();
  for (let i = 0; i < series.length; i++) if (index.ordinal(series[i]!.labels) !== i) throw executionError(DUPLICATE_LABELSET);
}

export function stepIndex(ev: Steps, t: number): number {
  return ev.start === ev.end ? 0 : Math.round((t - ev.start) / ev.interval);
}
