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
import type { Series } from './queryable.ts';
import { bitsView, isStaleAt } from './value.ts';

export interface SubqueryEvaluator extends Steps {
  evalSubquery(node: SubqueryExpr): Promise<StepSeries[]>;
}

/** Reads a selector's series from the Queryable, counting their samples against the limit. */
async function* select(ctx: QueryContext, ev: Steps, vs: VectorSelector, minT: number, maxT: number, range: number): AsyncGenerator<Series> {
  const h = ctx.hints.get(vs) ?? { func: '', by: false, grouping: [] };
  const hints = { start: minT, end: maxT, step: ev.start === ev.end ? 0 : ev.interval, range, ...h };
  ctx.check('query execution');
  let iterable: AsyncIterable<Series>;
  try {
    iterable = ctx.queryable.select(vs.matchers, minT, maxT, { hints, signal: ctx.signal });
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
      let r: IteratorResult<Series>;
      try {
        r = await Promise.race([it.next(), aborted]);
      } catch (err) {
        throw storageError(ctx, err);
      }
      if (r.done) return;
      ctx.check('query execution');
      ctx.samplesLoaded += r.value.timestamps.length;
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
    const n = s.timestamps.length;
    ctx.add(n);
    const ts = s.timestamps;
    const values = s.values;
    let bits: Uint32Array | null = null;
    const outTs: number[] = [];
    const outVs: number[] = [];
    const pick = (ref: number, k: number): number | undefined => {
      // k = number of samples with timestamp <= ref.
      if (k === 0) return undefined;
      const i = k - 1;
      if (ts[i]! <= ref - lookback) return undefined;
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
        }
      }
    }
    ctx.release(n);
    if (outTs.length > 0) {
      ctx.add(outTs.length);
      out.push({ labels: normalizeLabels(s.labels), ts: outTs, vs: outVs });
    }
  }
  return { kind: 'vector', series: out };
}

/** The series without stale markers (a copy only when there are any). */
function withoutStaleMarkers(s: Series): RawSeries {
  const values = s.values;
  let bits: Uint32Array | null = null;
  let stale: number[] | null = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== v) {
      bits ??= bitsView(values);
      if (isStaleAt(bits, i)) (stale ??= []).push(i);
    }
  }
  const labels = normalizeLabels(s.labels);
  if (!stale) return { labels, ts: s.timestamps, vs: values };
  const keep = values.length - stale.length;
  const ts = new Float64Array(keep);
  const vs = new Float64Array(keep);
  let j = 0;
  let si = 0;
  for (let i = 0; i < values.length; i++) {
    if (si < stale.length && stale[si] === i) {
      si++;
      continue;
    }
    ts[j] = s.timestamps[i]!;
    vs[j] = values[i]!;
    j++;
  }
  return { labels, ts, vs };
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
  const out: RawSeries[] = inner.map((s) => ({ labels: s.labels, ts: s.ts, vs: s.vs }));
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

  for await (const s of source as AsyncIterable<RawSeries>) {
    ctx.check();
    const ts = s.ts;
    const vs = s.vs;
    const n = ts.length;
    const raw = arg.type === 'MatrixSelector' ? n : 0;
    ctx.add(raw);
    const outTs: number[] = [];
    const outVs: number[] = [];
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
            const v = fn(ts, vs, lo, hi, w, params);
            if (v === undefined) continue;
            outTs.push(t);
            outVs.push(v);
          } else if (outVs.length > 0) {
            outTs.push(t);
            outVs.push(outVs[0]!);
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
        const v = fn(ts, vs, lo, hi, w, params);
        if (v === undefined) continue;
        outTs.push(t);
        outVs.push(v);
      }
    }
    ctx.release(raw);
    if (outTs.length > 0) {
      ctx.add(outTs.length);
      out.push({ labels: dropName ? dropMetricName(s.labels) : s.labels, ts: outTs, vs: outVs });
      if (isRateLike) {
        const metric = getLabel(s.labels, METRIC_NAME);
        if (metric !== '' && !/_(total|sum|count|bucket)$/.test(metric)) nonCounterNames.add(metric);
      }
    }
  }
  ctx.release(subqueryPoints);
  for (const metric of nonCounterNames) {
    ctx.annotate('info', `metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "${metric}"`, call.args[matrixIndex]!);
  }

  if (name === 'absent_over_time') return absentOverTime(ev, out, labelsForAbsent(arg));
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
