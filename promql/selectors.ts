// Selecting data: instant vector selectors (lookback, staleness), range selectors and the functions
// over range vectors (windows), with Prometheus 3 semantics:
//   - an instant selector at time t takes the newest sample in (t - lookback, t]; a stale marker as
//     that sample means "no value";
//   - a range selector at time t takes the samples in (t - range, t] (left-open), stale markers removed;
//   - offset shifts t back, @ replaces t by a fixed time (start()/end(): the query's start/end).

import type { AtModifier, Call, Expr, MatrixSelector, SubqueryExpr, VectorSelector } from './ast.ts';
import { unwrapParens } from './ast.ts';
import { PromQLError } from './errors.ts';
import {
  assertUniqueLabelsets,
  hasHistograms,
  type EvalValue,
  type QueryContext,
  type RawSeries,
  type ScalarValue,
  type StepSeries,
  type Steps,
  type VectorValue,
} from './eval.ts';
import { RANGE_FUNCTIONS, type WindowInfo } from './functions.ts';
import { compareLabels, dropMetricName, getLabel, LabelsBuilder, METRIC_NAME, normalizeLabels, type Labels } from './labels.ts';
import { histogramRate, isStaleHistogram, type FloatHistogram } from './native-histogram.ts';
import { AGGREGATABLE_FUNCTIONS, type AggregatableFunction, type AggregatedSeries, type LabelMatcher, type Series } from './queryable.ts';
import { bitsView, isStaleAt, STALE_NAN_HI, STALE_NAN_LO } from './value.ts';

/** Range functions that evaluate native histograms; any other fails on a series with histograms. */
const HISTOGRAM_RANGE_FUNCTIONS = new Set(['rate', 'increase', 'delta', 'last_over_time', 'count_over_time', 'present_over_time', 'absent_over_time']);
/** Of those, the ones that only count samples, whatever their type. */
const COUNTING_RANGE_FUNCTIONS = new Set(['count_over_time', 'present_over_time', 'absent_over_time']);

export interface SubqueryEvaluator extends Steps {
  evalSubquery(node: SubqueryExpr): Promise<StepSeries[]>;
}

/** Reads a selector's series from the Queryable, counting their samples against the limit. */
/** A selector's matchers as a string, equal for equal sets of matchers in any order. */
export function matchersKey(matchers: readonly LabelMatcher[]): string {
  return JSON.stringify(matchers.map((m) => [m.name, m.type, m.value]).sort((a, b) => (a.join('\u0000') < b.join('\u0000') ? -1 : 1)));
}

async function* select(ctx: QueryContext, ev: Steps, vs: VectorSelector, minT: number, maxT: number, range: number): AsyncGenerator<Series> {
  // A selector repeated in the query reads each window once (the hints may differ: they are advisory).
  const key = ctx.repeatedSelectors.has(vs) ? `${matchersKey(vs.matchers)}@${minT},${maxT}` : null;
  const cached = key === null ? undefined : ctx.selectCache.get(key);
  if (cached) {
    for (const series of cached) {
      ctx.check();
      ctx.samplesLoaded += series.timestamps.length + (series.histogramTimestamps?.length ?? 0);
      yield series;
    }
    return;
  }
  const collected: Series[] | null = key === null ? null : [];
  const options = { hints: selectHints(ctx, ev, vs, minT, maxT, range), signal: ctx.signal, histograms: ctx.nativeHistograms };
  for await (let series of pull(ctx, () => ctx.queryable.select(vs.matchers, minT, maxT, options))) {
    if (!ctx.nativeHistograms && series.histogramTimestamps) {
      // Native histograms off: the series as if it had none (as before Trimtab evaluated them).
      if (series.timestamps.length === 0) continue;
      series = { labels: series.labels, timestamps: series.timestamps, values: series.values };
    }
    ctx.samplesLoaded += series.timestamps.length + (series.histogramTimestamps?.length ?? 0);
    collected?.push(series);
    yield series;
  }
  // Only a complete read is reused (a consumer that stopped early saw part of it).
  if (key !== null) ctx.selectCache.set(key, collected!);
}

function selectHints(ctx: QueryContext, ev: Steps, vs: VectorSelector, minT: number, maxT: number, range: number) {
  const h = ctx.hints.get(vs) ?? { func: '', by: false, grouping: [] };
  return { start: minT, end: maxT, step: ev.start === ev.end ? 0 : ev.interval, range, ...h };
}

/** Iterates what the Queryable returns, checking the deadline, honouring cancellation, yielding to the event loop. */
async function* pull<T>(ctx: QueryContext, open: () => AsyncIterable<T>): AsyncGenerator<T> {
  ctx.check('query execution');
  let iterable: AsyncIterable<T>;
  try {
    iterable = open();
  } catch (err) {
    throw storageError(ctx, err);
  }
  const it = iterable[Symbol.asyncIterator]();
  let lastYield = Date.now();
  // Storage that ignores the signal must not hold the query past its deadline or its cancellation.
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(ctx.abortError('query execution'));
    if (ctx.signal?.aborted) onAbort();
    else ctx.signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    while (true) {
      // A long evaluation must not starve the event loop (other requests, the caller's abort).
      if (Date.now() - lastYield > 20) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = Date.now();
      }
      let r: IteratorResult<T>;
      try {
        r = await Promise.race([it.next(), aborted]);
      } catch (err) {
        throw storageError(ctx, err);
      }
      if (r.done) return;
      ctx.check('query execution');
      yield r.value;
    }
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort!);
    // Let the storage release its resources, without waiting on a storage that hangs.
    void Promise.resolve(it.return?.()).catch(() => {});
  }
}

function storageError(ctx: QueryContext, err: unknown): Error {
  if (err instanceof PromQLError) return err;
  if (ctx.signal?.aborted) return ctx.abortError('query execution');
  return new PromQLError('promql_storage', `expanding series: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/**
 * A series' floats and histograms merged in time order (no copy when it has no histograms). A stale
 * histogram (stale-NaN sum) becomes a float stale marker, so staleness is handled in one place.
 */
interface Merged {
  ts: ArrayLike<number>;
  /** Float values with their bit patterns (stale markers); 0 where the sample is a histogram. */
  values: Float64Array;
  hs: Array<FloatHistogram | undefined> | null;
}

function mergeSamples(s: Series): Merged {
  const hts = s.histogramTimestamps;
  if (!hts || hts.length === 0 || !s.histograms) return { ts: s.timestamps, values: s.values, hs: null };
  const fts = s.timestamps;
  const n = fts.length + hts.length;
  const ts = new Float64Array(n);
  const values = new Float64Array(n);
  const hs = new Array<FloatHistogram | undefined>(n).fill(undefined);
  const src = bitsView(s.values);
  const dst = bitsView(values);
  let i = 0;
  let j = 0;
  for (let k = 0; k < n; k++) {
    if (j >= hts.length || (i < fts.length && fts[i]! < hts[j]!)) {
      ts[k] = fts[i]!;
      dst[2 * k] = src[2 * i]!;
      dst[2 * k + 1] = src[2 * i + 1]!;
      i++;
    } else if (i < fts.length && fts[i] === hts[j]) {
      throw new PromQLError('promql_storage', 'storage returned a float and a histogram sample at the same time for one series');
    } else {
      ts[k] = hts[j]!;
      const h = s.histograms[j]!;
      if (isStaleHistogram(h)) {
        dst[2 * k] = STALE_NAN_LO;
        dst[2 * k + 1] = STALE_NAN_HI;
      } else hs[k] = h;
      j++;
    }
  }
  return { ts, values, hs };
}

function refTime(ctx: QueryContext, at: AtModifier | null, t: number, offset: number): number {
  return (at ? ctx.resolveAt(at) : t) - offset;
}

/**
 * Evaluates an instant vector selector at every step. With `timestamps`, the value is the selected
 * sample's timestamp in seconds (for timestamp(selector)).
 */
export async function evalVectorSelector(ev: Steps, vs: VectorSelector, timestamps = false): Promise<VectorValue> {
  const ctx = ev.ctx;
  const lookback = ctx.lookbackDelta;
  const minT = refTime(ctx, vs.at, ev.start, vs.offset) - lookback + 1;
  const maxT = refTime(ctx, vs.at, ev.end, vs.offset);
  const out: StepSeries[] = [];
  for await (const s of select(ctx, ev, vs, minT, maxT, 0)) {
    const { ts, values, hs } = mergeSamples(s);
    const n = ts.length;
    ctx.add(n);
    let bits: Uint32Array | null = null;
    const outTs: number[] = [];
    const outVs: number[] = [];
    const outHs: Array<FloatHistogram | undefined> = [];
    let anyHistogram = false;
    let pickedHistogram: FloatHistogram | undefined;
    const pick = (ref: number, k: number): number | undefined => {
      // k = number of samples with timestamp <= ref.
      pickedHistogram = undefined;
      if (k === 0) return undefined;
      const i = k - 1;
      if (ts[i]! <= ref - lookback) return undefined;
      const h = hs?.[i];
      if (h) {
        if (timestamps) return ts[i]! / 1000;
        pickedHistogram = h;
        anyHistogram = true;
        return 0;
      }
      const v = values[i]!;
      if (v !== v) {
        bits ??= bitsView(values);
        if (isStaleAt(bits, i)) return undefined;
      }
      return timestamps ? ts[i]! / 1000 : v;
    };
    if (vs.at) {
      const ref = refTime(ctx, vs.at, ev.start, vs.offset);
      let k = 0;
      while (k < n && ts[k]! <= ref) k++;
      const v = pick(ref, k);
      if (v !== undefined) {
        for (let t = ev.start; t <= ev.end; t += ev.interval) {
          outTs.push(t);
          outVs.push(v);
          outHs.push(pickedHistogram);
        }
      }
    } else {
      let k = 0;
      for (let t = ev.start; t <= ev.end; t += ev.interval) {
        const ref = t - vs.offset;
        while (k < n && ts[k]! <= ref) k++;
        const v = pick(ref, k);
        if (v !== undefined) {
          outTs.push(t);
          outVs.push(v);
          outHs.push(pickedHistogram);
        }
      }
    }
    ctx.release(n);
    if (outTs.length > 0) {
      ctx.add(outTs.length);
      const series: StepSeries = { labels: normalizeLabels(s.labels), ts: outTs, vs: outVs };
      if (anyHistogram) series.hs = outHs;
      out.push(series);
    }
  }
  return { kind: 'vector', series: out };
}

/** The series without stale markers (a copy only when there are any). */
function withoutStaleMarkers(series: Series): RawSeries {
  const m = mergeSamples(series);
  const values = m.values;
  const timestamps = m.ts;
  let bits: Uint32Array | null = null;
  let stale: number[] | null = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== v) {
      bits ??= bitsView(values);
      if (isStaleAt(bits, i)) (stale ??= []).push(i);
    }
  }
  const labels = normalizeLabels(series.labels);
  if (!stale) return m.hs ? { labels, ts: timestamps, vs: values, hs: m.hs } : { labels, ts: timestamps, vs: values };
  const keep = values.length - stale.length;
  const ts = new Float64Array(keep);
  const vs = new Float64Array(keep);
  const hs = m.hs ? new Array<FloatHistogram | undefined>(keep).fill(undefined) : null;
  let j = 0;
  let si = 0;
  for (let i = 0; i < values.length; i++) {
    if (si < stale.length && stale[si] === i) {
      si++;
      continue;
    }
    ts[j] = timestamps[i]!;
    vs[j] = values[i]!;
    if (hs) hs[j] = m.hs![i];
    j++;
  }
  return hs ? { labels, ts, vs, hs } : { labels, ts, vs };
}

/** A range selector evaluated once at an instant query's time: the raw samples (a range vector). */
export async function evalMatrixSelector(ev: Steps, ms: MatrixSelector): Promise<EvalValue> {
  const ctx = ev.ctx;
  const vs = ms.vectorSelector;
  const ref = refTime(ctx, vs.at, ev.start, vs.offset);
  const out: RawSeries[] = [];
  for await (const s of select(ctx, ev, vs, ref - ms.range + 1, ref, ms.range)) {
    const raw = withoutStaleMarkers(s);
    if (raw.ts.length === 0) continue;
    ctx.add(raw.ts.length);
    out.push(raw);
  }
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  return { kind: 'matrix', series: out };
}

/** A subquery evaluated at an instant query's time: the points of its inner evaluation. */
export async function evalSubqueryMatrix(ev: SubqueryEvaluator, sq: SubqueryExpr): Promise<EvalValue> {
  const inner = await ev.evalSubquery(sq);
  const out: RawSeries[] = inner.map((s) => (s.hs ? { labels: s.labels, ts: s.ts, vs: s.vs, hs: s.hs } : { labels: s.labels, ts: s.ts, vs: s.vs }));
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  return { kind: 'matrix', series: out };
}

/**
 * A function whose argument `matrixIndex` is a range vector (range selector or subquery), evaluated
 * series by series: each step sees the window (t - range, t] of that series. Other arguments are
 * scalars, one value per step.
 */
export async function evalRangeFunction(
  ev: SubqueryEvaluator,
  call: Call,
  matrixIndex: number,
  scalarArgs: Array<ScalarValue | null>,
): Promise<VectorValue> {
  const ctx = ev.ctx;
  const name = call.func.name;
  const fn = RANGE_FUNCTIONS.get(name);
  if (!fn) throw new PromQLError('promql_internal', `no implementation for range function ${name}`);
  const arg = unwrapParens(call.args[matrixIndex]!) as MatrixSelector | SubqueryExpr;
  // last_over_time acts like an offset and keeps the metric name; every other function drops it.
  const dropName = name !== 'last_over_time';
  const params: number[] = [];
  const out: StepSeries[] = [];

  if (arg.type === 'MatrixSelector' && ctx.aggregatePushdown && AGGREGATABLE_FUNCTIONS.has(name) && typeof ctx.queryable.selectAggregated === 'function') {
    // One window for every step: an instant evaluation, or a window fixed by @ (then a parameter must be
    // the same at every step too: quantile_over_time's is pushed down for one step only).
    const oneParam = name !== 'quantile_over_time' || ev.start === ev.end;
    if (oneParam && (ev.start === ev.end || arg.vectorSelector.at)) {
      const param = name === 'quantile_over_time' ? scalarArgs[0]!.values[0]! : undefined;
      return evalAggregatedRangeFunction(ev, call, name as AggregatableFunction, arg, param);
    }
  }

  let rangeMs: number;
  let offset: number;
  let at: AtModifier | null;
  let source: AsyncIterable<RawSeries> | Iterable<RawSeries>;
  let subqueryPoints = 0;
  if (arg.type === 'MatrixSelector') {
    const vs = arg.vectorSelector;
    rangeMs = arg.range;
    offset = vs.offset;
    at = vs.at;
    const minT = refTime(ctx, at, ev.start, offset) - rangeMs + 1;
    const maxT = refTime(ctx, at, ev.end, offset);
    source = (async function* () {
      for await (const s of select(ctx, ev, vs, minT, maxT, rangeMs)) yield withoutStaleMarkers(s);
    })();
  } else {
    rangeMs = arg.range;
    offset = arg.offset;
    at = arg.at;
    const inner = await ev.evalSubquery(arg);
    for (const s of inner) subqueryPoints += s.ts.length;
    source = inner;
  }

  const w: WindowInfo = { evalTs: 0, rangeStart: 0, rangeEnd: 0, rangeMs };
  const paramArgs = scalarArgs.filter((a): a is ScalarValue => a !== null);
  const stepParams = (step: number): void => {
    for (let i = 0; i < paramArgs.length; i++) params[i] = paramArgs[i]!.values[step]!;
  };
  const isRateLike = name === 'rate' || name === 'increase';
  const nonCounterNames = new Set<string>();
  const mixedNames = new Set<string>();
  const histogramCapable = HISTOGRAM_RANGE_FUNCTIONS.has(name);
  const counting = COUNTING_RANGE_FUNCTIONS.has(name);

  for await (const s of source as AsyncIterable<RawSeries>) {
    ctx.check();
    const ts = s.ts;
    const vs = s.vs;
    const n = ts.length;
    const raw = arg.type === 'MatrixSelector' ? n : 0;
    ctx.add(raw);
    const outTs: number[] = [];
    const outVs: number[] = [];
    const outHs: Array<FloatHistogram | undefined> = [];
    const shs = s.hs && hasHistograms({ kind: 'matrix', series: [s] }) ? s.hs : null;
    if (shs && !histogramCapable) {
      throw new PromQLError('promql_unsupported', `function "${name}" is not supported on native histograms`);
    }
    /** Evaluates the window [lo, hi) for step time t; false when it yields no sample. */
    const apply = (t: number, lo: number, hi: number): boolean => {
      if (shs && name === 'last_over_time') {
        const h = shs[hi - 1];
        if (h) {
          outTs.push(t);
          outVs.push(0);
          outHs.push(h);
          return true;
        }
      } else if (shs && !counting) {
        let nh = 0;
        for (let i = lo; i < hi; i++) if (shs[i] !== undefined) nh++;
        if (nh > 0) {
          if (nh !== hi - lo) {
            mixedNames.add(getLabel(s.labels, METRIC_NAME));
            return false;
          }
          const h = histogramRate(ts, shs, lo, hi, w, name !== 'delta', name === 'rate');
          if (!h) return false;
          outTs.push(t);
          outVs.push(0);
          outHs.push(h);
          return true;
        }
      }
      const v = fn(ts, vs, lo, hi, w, params);
      if (v === undefined) return false;
      outTs.push(t);
      outVs.push(v);
      outHs.push(undefined);
      return true;
    };
    if (at) {
      // The window does not move: compute once (at the first step) and repeat.
      const ref = ctx.resolveAt(at) - offset;
      let lo = 0;
      let hi = 0;
      while (hi < n && ts[hi]! <= ref) hi++;
      while (lo < hi && ts[lo]! <= ref - rangeMs) lo++;
      if (hi > lo) {
        let step = 0;
        for (let t = ev.start; t <= ev.end; t += ev.interval, step++) {
          // predict_linear and functions with per-step parameters can differ by step.
          if (step === 0 || scalarArgs.some((a) => a !== null) || name === 'predict_linear') {
            stepParams(step);
            w.evalTs = t;
            w.rangeStart = ref - rangeMs;
            w.rangeEnd = ref;
            ctx.ensureRoom(hi - lo);
            apply(t, lo, hi);
          } else if (outVs.length > 0) {
            outTs.push(t);
            outVs.push(outVs[0]!);
            outHs.push(outHs[0]);
          }
        }
      }
    } else {
      let lo = 0;
      let hi = 0;
      let step = 0;
      for (let t = ev.start; t <= ev.end; t += ev.interval, step++) {
        const ref = t - offset;
        const rangeStart = ref - rangeMs;
        while (hi < n && ts[hi]! <= ref) hi++;
        while (lo < hi && ts[lo]! <= rangeStart) lo++;
        if (hi === lo) continue;
        ctx.ensureRoom(hi - lo);
        if (paramArgs.length > 0) stepParams(step);
        w.evalTs = t;
        w.rangeStart = rangeStart;
        w.rangeEnd = ref;
        apply(t, lo, hi);
      }
    }
    ctx.release(raw);
    if (outTs.length > 0) {
      ctx.add(outTs.length);
      const series: StepSeries = { labels: dropName ? dropMetricName(s.labels) : s.labels, ts: outTs, vs: outVs };
      if (outHs.some((h) => h !== undefined)) series.hs = outHs;
      out.push(series);
      if (isRateLike) {
        const metric = getLabel(s.labels, METRIC_NAME);
        if (metric !== '' && !/_(total|sum|count|bucket)$/.test(metric)) nonCounterNames.add(metric);
      }
    }
  }
  ctx.release(subqueryPoints);
  for (const metric of mixedNames) {
    ctx.annotate('warning', `encountered a mix of histograms and floats for metric name "${metric}"`, call.args[matrixIndex]!);
  }
  for (const metric of nonCounterNames) {
    ctx.annotate('info', `metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "${metric}"`, call.args[matrixIndex]!);
  }

  if (name === 'absent_over_time') return absentOverTime(ev, out, labelsForAbsent(arg));
  assertUniqueLabelsets(out);
  return { kind: 'vector', series: out };
}

/**
 * func(selector[range]) over one window (t - range, t] computed by the Queryable (selectAggregated), the
 * value repeated at every step. Accounting as if the samples had been loaded: each series' samples count
 * as loaded and must fit under the sample limit as evalRangeFunction's window over them would, so the
 * sample limit and peak statistics are the same as without pushdown (samplesLoaded counts the samples
 * aggregated, stale markers excluded).
 */
async function evalAggregatedRangeFunction(ev: Steps, call: Call, name: AggregatableFunction, ms: MatrixSelector, param: number | undefined): Promise<VectorValue> {
  const ctx = ev.ctx;
  const vs = ms.vectorSelector;
  const ref = refTime(ctx, vs.at, ev.start, vs.offset);
  const minT = ref - ms.range + 1;
  const maxT = ref;
  const options = { hints: selectHints(ctx, ev, vs, minT, maxT, ms.range), signal: ctx.signal, histograms: ctx.nativeHistograms, param };
  const queryable = ctx.queryable;
  const out: StepSeries[] = [];
  for await (const a of pull<AggregatedSeries>(ctx, () => queryable.selectAggregated!(vs.matchers, name, minT, maxT, options))) {
    ctx.check();
    const histograms = ctx.nativeHistograms ? a.histograms : 0;
    const n = a.floats + histograms;
    ctx.samplesLoaded += n;
    if (n === 0) continue;
    if (histograms > 0 && name !== 'count_over_time') {
      throw new PromQLError('promql_unsupported', `function "${name}" is not supported on native histograms`);
    }
    // As the window over loaded samples would: held (n), then the window (n) must fit.
    ctx.add(n);
    ctx.ensureRoom(n);
    ctx.release(n);
    const value = name === 'count_over_time' ? n : a.value;
    const ts: number[] = [];
    const values: number[] = [];
    for (let t = ev.start; t <= ev.end; t += ev.interval) {
      ts.push(t);
      values.push(value);
    }
    ctx.add(ts.length);
    out.push({ labels: dropMetricName(normalizeLabels(a.labels)), ts, vs: values });
  }
  assertUniqueLabelsets(out);
  return { kind: 'vector', series: out };
}

function absentOverTime(ev: Steps, present: StepSeries[], labels: Labels): VectorValue {
  const found = new Set<number>();
  for (const s of present) for (const t of s.ts) found.add(t);
  const ts: number[] = [];
  for (let t = ev.start; t <= ev.end; t += ev.interval) if (!found.has(t)) ts.push(t);
  let n = 0;
  for (const s of present) n += s.ts.length;
  ev.ctx.release(n);
  if (ts.length === 0) return { kind: 'vector', series: [] };
  ev.ctx.add(ts.length);
  return { kind: 'vector', series: [{ labels, ts, vs: ts.map(() => 1) }] };
}

/**
 * The labels absent()/absent_over_time() give their result: the equality matchers of a selector
 * (except __name__); a label matched more than once, or not by equality, is left out.
 */
export function labelsForAbsent(e: Expr): Labels {
  const arg = unwrapParens(e);
  const vs = arg.type === 'VectorSelector' ? arg : arg.type === 'MatrixSelector' ? arg.vectorSelector : null;
  if (!vs) return [];
  const b = new LabelsBuilder([]);
  const has = new Set<string>();
  for (const m of vs.matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === '=' && !has.has(m.name)) {
      b.set(m.name, m.value);
      has.add(m.name);
    } else {
      b.del(m.name);
    }
  }
  return b.labels();
}
