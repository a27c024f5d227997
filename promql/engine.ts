// The PromQL engine: evaluates instant and range queries over a Queryable with Prometheus 3 semantics.
//
// Like Prometheus, every node is evaluated for all steps of the query at once (an instant query is a
// range evaluation with a single step), children before parents. Selectors load their data lazily,
// when evaluated, and stream it series by series, so at most one selector's series is in flight and
// functions over range vectors never hold more than one raw series. Samples in memory are counted
// against `maxSamples` as Prometheus counts them (plus the raw series being read), and the query fails
// with Prometheus' "too many samples" error when over it. The deadline and the caller's AbortSignal are
// checked per series and per step.

import type { AggregateExpr, Call, Expr, SubqueryExpr, VectorSelector } from './ast.ts';
import { exprType, unwrapParens, walk } from './ast.ts';
import { evalAggregate } from './aggregations.ts';
import { evalBinary } from './binary.ts';
import { canceledError, executionError, PromQLError, timeoutError } from './errors.ts';
import {
  assertNoHistograms,
  collectSteps,
  countPoints,
  Gatherer,
  mergeSameLabelset,
  QueryContext,
  stepIndex,
  type EvalValue,
  type ScalarValue,
  type SelectorHints,
  type StepSeries,
  type Steps,
  type VectorValue,
} from './eval.ts';
import { dateOfTimestamp, dateOfValue, DATE_FUNCTIONS, labelJoiner, labelReplacer, MATH_FUNCTIONS, round, type LabelReplacer } from './functions.ts';
import { histogramQuantile } from './histogram.ts';
import { compareLabels, dropMetricName, labelsKey, LabelsBuilder, type Labels } from './labels.ts';
import { nativeHistogramFraction, nativeHistogramQuantile, type FloatHistogram } from './native-histogram.ts';
import { parse } from './parse.ts';
import type { Queryable } from './queryable.ts';
import { evalMatrixSelector, evalRangeFunction, evalSubqueryMatrix, evalVectorSelector, labelsForAbsent, matchersKey, type SubqueryEvaluator } from './selectors.ts';
import { formatValue, type QueryValue } from './value.ts';

export interface EngineOptions {
  /** How far back an instant selector looks for a sample, ms (Prometheus --query.lookback-delta). Default 5m. */
  lookbackDelta?: number;
  /** Samples a query may hold in memory at once (Prometheus --query.max-samples). Default 50,000,000. */
  maxSamples?: number;
  /** Query timeout, ms (Prometheus --query.timeout). Default 2m. */
  timeout?: number;
  /** Step of subqueries written without one (`x[1h:]`), ms; Prometheus uses the global evaluation interval. Default 1m. */
  noStepSubqueryInterval?: number | ((rangeMs: number) => number);
  /**
   * Read and evaluate native histograms (default false). Off, the engine behaves as before it knew
   * them: histogram samples are invisible (queryables are told not to read them) and the
   * native-histogram functions fail naming themselves. On, callers must handle histogram samples in
   * results (Sample.h / Point.h, where v is meaningless).
   */
  nativeHistograms?: boolean;
  /**
   * Let a Queryable that implements selectAggregated compute max/min/count/quantile_over_time(selector[range])
   * evaluated at a single time (instant queries, or a fixed window with @; quantile_over_time at one step
   * only) instead of streaming every sample of the window into the engine (default true). Results are
   * identical either way.
   */
  aggregatePushdown?: boolean;
}

export interface QueryOptions {
  /** Aborts the query (error type `canceled`), e.g. when the HTTP client goes away. */
  signal?: AbortSignal;
  /** Per-query lookback delta, ms (Prometheus' lookback_delta query parameter). */
  lookbackDelta?: number;
}

export interface QueryStats {
  /** Samples read from the Queryable. */
  samplesLoaded: number;
  /** Peak number of samples held in memory. */
  peakSamples: number;
  evalMs: number;
}

export interface QueryResult {
  value: QueryValue;
  /** Prometheus-style annotations ("PromQL warning: …", "PromQL info: …"). */
  warnings: string[];
  infos: string[];
  stats: QueryStats;
}

export const DEFAULT_LOOKBACK_DELTA = 5 * 60_000;
export const DEFAULT_MAX_SAMPLES = 50_000_000;
export const DEFAULT_TIMEOUT = 2 * 60_000;

export class Engine {
  readonly lookbackDelta: number;
  readonly maxSamples: number;
  readonly timeout: number;
  readonly nativeHistograms: boolean;
  readonly aggregatePushdown: boolean;
  private readonly noStepInterval: (rangeMs: number) => number;

  constructor(options: EngineOptions = {}) {
    this.lookbackDelta = options.lookbackDelta ?? DEFAULT_LOOKBACK_DELTA;
    this.maxSamples = options.maxSamples ?? DEFAULT_MAX_SAMPLES;
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT;
    this.nativeHistograms = options.nativeHistograms ?? false;
    this.aggregatePushdown = options.aggregatePushdown ?? true;
    const ns = options.noStepSubqueryInterval ?? 60_000;
    this.noStepInterval = typeof ns === 'number' ? () => ns : ns;
    for (const [k, v] of Object.entries({ lookbackDelta: this.lookbackDelta, maxSamples: this.maxSamples, timeout: this.timeout })) {
      if (!(v > 0)) throw new RangeError(`engine option ${k} must be positive, got ${v}`);
    }
  }

  /** Evaluates `query` at one time (ms). */
  instantQuery(queryable: Queryable, query: string | Expr, time: number, options: QueryOptions = {}): Promise<QueryResult> {
    return this.exec(queryable, query, time, time, 0, options);
  }

  /** Evaluates `query` at start, start+step, … ≤ end (ms). The result is always a matrix. */
  rangeQuery(queryable: Queryable, query: string | Expr, start: number, end: number, step: number, options: QueryOptions = {}): Promise<QueryResult> {
    if (!(step > 0) || !Number.isFinite(step)) {
      return Promise.reject(new PromQLError('promql_bad_query', 'zero or negative query resolution step widths are not accepted. Try a positive integer'));
    }
    if (end < start) return Promise.reject(new PromQLError('promql_bad_query', 'end timestamp must not be before start time'));
    return this.exec(queryable, query, start, end, step, options);
  }

  private async exec(queryable: Queryable, query: string | Expr, start: number, end: number, step: number, options: QueryOptions): Promise<QueryResult> {
    const began = Date.now();
    if (![start, end].every(Number.isFinite)) throw new PromQLError('promql_bad_query', 'invalid query time');
    const expr = typeof query === 'string' ? parse(query) : query;
    const instant = step === 0;
    const type = exprType(expr);
    if (!instant && type !== 'vector' && type !== 'scalar') {
      throw new PromQLError('promql_bad_query', `invalid expression type "${type === 'matrix' ? 'range vector' : type}" for range query, must be Scalar or instant Vector`);
    }
    assertSupported(expr, this.nativeHistograms);
    const lookbackDelta = options.lookbackDelta && options.lookbackDelta > 0 ? options.lookbackDelta : this.lookbackDelta;
    // One signal for the Queryable: aborted by the caller's signal or by the timeout.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(timeoutError('expression evaluation')), this.timeout);
    const forward = (): void => controller.abort(canceledError('expression evaluation', options.signal?.reason));
    if (options.signal?.aborted) forward();
    else options.signal?.addEventListener('abort', forward, { once: true });
    try {
      return await this.run(queryable, query, expr, start, end, step, began, lookbackDelta, controller.signal);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', forward);
    }
  }

  private async run(
    queryable: Queryable,
    query: string | Expr,
    expr: Expr,
    start: number,
    end: number,
    step: number,
    began: number,
    lookbackDelta: number,
    signal: AbortSignal,
  ): Promise<QueryResult> {
    const instant = step === 0;
    const ctx = new QueryContext({
      queryable,
      query: typeof query === 'string' ? query : '',
      lookbackDelta,
      maxSamples: this.maxSamples,
      deadline: began + this.timeout,
      signal,
      queryStart: start,
      queryEnd: end,
      noStepSubqueryInterval: this.noStepInterval,
      hints: selectorHints(expr),
      repeatedSelectors: repeatedSelectors(expr),
      nativeHistograms: this.nativeHistograms,
      aggregatePushdown: this.aggregatePushdown,
    });
    const ev = new Evaluator(ctx, start, end, instant ? 1 : step);
    let value: EvalValue;
    try {
      value = await ev.eval(expr);
    } catch (err) {
      if (err instanceof PromQLError) throw err;
      if (signal.aborted) throw ctx.abortError();
      throw new PromQLError('promql_internal', `unexpected error: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    if (Date.now() > ctx.deadline) throw timeoutError('expression evaluation');
    return {
      value: toQueryValue(value, instant, start, step),
      warnings: [...ctx.warnings],
      infos: [...ctx.infos],
      stats: { samplesLoaded: ctx.samplesLoaded, peakSamples: ctx.peak, evalMs: Date.now() - began },
    };
  }
}

/** Native-histogram functions the engine evaluates; the others are rejected by name. */
const NATIVE_HISTOGRAM_FUNCTIONS = new Set(['histogram_count', 'histogram_sum', 'histogram_avg', 'histogram_fraction']);

/** Rejects what parses but Trimtab cannot evaluate (yet, or with native histograms off), naming it. */
function assertSupported(expr: Expr, nativeHistograms: boolean): void {
  walk(expr, (n) => {
    if (n.type !== 'Call' || !n.func.nativeHistograms) return;
    if (!nativeHistograms) {
      throw new PromQLError('promql_unsupported', `function "${n.func.name}" is not supported: native histograms are not enabled in this Trimtab engine`);
    }
    if (!NATIVE_HISTOGRAM_FUNCTIONS.has(n.func.name)) {
      throw new PromQLError('promql_unsupported', `function "${n.func.name}" is not supported: Trimtab does not evaluate this native-histogram function yet`);
    }
  });
}

/**
 * Selectors whose matchers occur more than once in the query (rule expressions often repeat a join's
 * right-hand side in both arms of an `or`): the engine reads each such selector's window once and
 * reuses the series (QueryContext.selectCache).
 */
function repeatedSelectors(expr: Expr): WeakSet<VectorSelector> {
  const byKey = new Map<string, VectorSelector[]>();
  walk(expr, (node) => {
    if (node.type !== 'VectorSelector') return;
    const key = matchersKey(node.matchers);
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push(node);
  });
  const repeated = new WeakSet<VectorSelector>();
  for (const list of byKey.values()) if (list.length > 1) for (const vs of list) repeated.add(vs);
  return repeated;
}

/** What storage may be told about each selector (Prometheus' SelectHints func/by/grouping). */
function selectorHints(expr: Expr): WeakMap<VectorSelector, SelectorHints> {
  const hints = new WeakMap<VectorSelector, SelectorHints>();
  walk(expr, (node, path) => {
    if (node.type !== 'VectorSelector') return;
    let func = '';
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i]!;
      if (p.type === 'AggregateExpr') {
        func = p.op;
        break;
      }
      if (p.type === 'Call') {
        func = p.func.name;
        break;
      }
      if (p.type === 'BinaryExpr') break;
    }
    const parent = path[path.length - 1];
    const agg = parent?.type === 'AggregateExpr' ? (parent as AggregateExpr) : null;
    hints.set(node, { func, by: agg ? !agg.without : false, grouping: agg ? agg.grouping : [] });
  });
  return hints;
}

function toQueryValue(v: EvalValue, instant: boolean, t: number, step: number): QueryValue {
  switch (v.kind) {
    case 'string':
      return { resultType: 'string', result: { t, v: v.value } };
    case 'scalar':
      if (instant) return { resultType: 'scalar', result: { t, v: v.values[0]! } };
      return { resultType: 'matrix', result: [{ metric: [], points: Array.from(v.values, (x, i) => ({ t: t + i * step, v: x })) }] };
    case 'matrix': {
      const series = v.series.map((s) => ({
        metric: s.labels,
        points: Array.from({ length: s.ts.length }, (_, i) => point(s.ts[i]!, s.vs[i]!, s.hs?.[i])),
      }));
      return { resultType: 'matrix', result: series };
    }
    case 'vector': {
      if (instant) {
        return {
          resultType: 'vector',
          result: v.series.map((s) => {
            const h = s.hs?.[0];
            return h ? { metric: s.labels, t, v: 0, h } : { metric: s.labels, t, v: s.vs[0]! };
          }),
        };
      }
      const series = v.series
        .filter((s) => s.ts.length > 0)
        .map((s) => ({ metric: s.labels, points: s.ts.map((pt, i) => point(pt, s.vs[i]!, s.hs?.[i])) }))
        .sort((a, b) => compareLabels(a.metric, b.metric));
      return { resultType: 'matrix', result: series };
    }
  }
}

function point(t: number, v: number, h: FloatHistogram | undefined): { t: number; v: number; h?: FloatHistogram } {
  return h ? { t, v: 0, h } : { t, v };
}

class Evaluator implements Steps, SubqueryEvaluator {
  readonly ctx: QueryContext;
  readonly start: number;
  readonly end: number;
  readonly interval: number;
  readonly numSteps: number;

  constructor(ctx: QueryContext, start: number, end: number, interval: number) {
    this.ctx = ctx;
    this.start = start;
    this.end = end;
    this.interval = interval;
    this.numSteps = end < start ? 0 : Math.floor((end - start) / interval) + 1;
  }

  private scalar(f: (t: number) => number): ScalarValue {
    const values = new Float64Array(this.numSteps);
    for (let i = 0, t = this.start; i < this.numSteps; i++, t += this.interval) values[i] = f(t);
    return { kind: 'scalar', values };
  }

  async eval(e: Expr): Promise<EvalValue> {
    this.ctx.check();
    if (this.numSteps === 0) return exprType(e) === 'scalar' ? this.scalar(() => 0) : { kind: 'vector', series: [] };
    switch (e.type) {
      case 'NumberLiteral':
        return this.scalar(() => e.value);
      case 'StringLiteral':
        return { kind: 'string', value: e.value };
      case 'ParenExpr':
        return this.eval(e.expr);
      case 'UnaryExpr': {
        const v = await this.eval(e.expr);
        if (e.op === '+') return v;
        assertNoHistograms(v, 'unary minus');
        if (v.kind === 'scalar') return { kind: 'scalar', values: v.values.map((x) => -x) };
        if (v.kind !== 'vector') throw executionError('unary expression only allowed on expressions of type scalar or instant vector');
        const series = v.series.map((s) => ({ labels: dropMetricName(s.labels), ts: s.ts, vs: s.vs.map((x) => -x) }));
        return { kind: 'vector', series: mergeSameLabelset(series) };
      }
      case 'VectorSelector':
        return evalVectorSelector(this, e);
      case 'MatrixSelector':
        if (this.start !== this.end) throw executionError('cannot do range evaluation of matrix selector');
        return evalMatrixSelector(this, e);
      case 'SubqueryExpr':
        if (this.start !== this.end) throw executionError('cannot do range evaluation of subquery');
        return evalSubqueryMatrix(this, e);
      case 'BinaryExpr': {
        if (e.op === 'and') {
          // `a and b` is empty wherever b is: evaluate b first and skip a when b has no series at any
          // step (a rule gated on a switch, `… and on () (enabled == 1)`, then reads nothing). Only an
          // error or annotation that a alone would have raised is not seen then.
          const rhs = await this.eval(e.rhs);
          if (rhs.kind === 'vector' && rhs.series.length === 0) return rhs;
          const lhs = await this.eval(e.lhs);
          return evalBinary(this, e, lhs, rhs);
        }
        const lhs = await this.eval(e.lhs);
        const rhs = await this.eval(e.rhs);
        return evalBinary(this, e, lhs, rhs);
      }
      case 'AggregateExpr':
        return this.aggregate(e);
      case 'Call':
        return this.call(e);
    }
  }

  /**
   * Evaluates an instant-vector argument. `what` names the operation when it does not take native
   * histograms (they are then an error); null lets them through.
   */
  private async vector(e: Expr, what: string | null): Promise<VectorValue> {
    const v = await this.eval(e);
    if (v.kind !== 'vector') throw executionError(`expected instant vector, got ${v.kind}`);
    if (what !== null) assertNoHistograms(v, what);
    return v;
  }

  private async scalarArg(e: Expr): Promise<ScalarValue> {
    const v = await this.eval(e);
    if (v.kind !== 'scalar') throw executionError(`expected scalar, got ${v.kind}`);
    return v;
  }

  private async aggregate(e: AggregateExpr): Promise<EvalValue> {
    let param: ScalarValue | string | null = null;
    if (e.op === 'count_values') {
      const p = unwrapParens(e.param!);
      if (p.type !== 'StringLiteral') throw executionError('count_values parameter must be a string literal');
      param = p.value;
    } else if (e.param) {
      param = await this.scalarArg(e.param);
    }
    const input = await this.vector(e.expr, null); // evalAggregate checks which operators take histograms
    return evalAggregate(this, e, input, param);
  }

  async evalSubquery(node: SubqueryExpr): Promise<StepSeries[]> {
    const ctx = this.ctx;
    const step = node.step > 0 ? node.step : ctx.noStepSubqueryInterval(node.range);
    const outerStart = node.at ? ctx.resolveAt(node.at) : this.start;
    const outerEnd = node.at ? ctx.resolveAt(node.at) : this.end;
    const end = outerEnd - node.offset;
    // The first step-aligned timestamp after (start - offset - range): windows are left-open.
    const base = outerStart - node.offset - node.range;
    let start = step * Math.trunc(base / step);
    if (start <= base) start += step;
    const sub = new Evaluator(ctx, start, end, step);
    const v = await sub.eval(node.expr);
    if (v.kind !== 'vector') throw executionError('subquery is only allowed on instant vector');
    return v.series;
  }

  private async call(e: Call): Promise<EvalValue> {
    const name = e.func.name;
    const args = e.args.map(unwrapParens);
    switch (name) {
      case 'label_replace':
      case 'label_join': {
        const strs = args.slice(1).map((a) => {
          if (a.type !== 'StringLiteral') throw executionError(`${name}() arguments must be string literals`);
          return a.value;
        });
        const replacer: LabelReplacer =
          name === 'label_replace' ? labelReplacer(strs[0]!, strs[1]!, strs[2]!, strs[3]!) : labelJoiner(strs[0]!, strs[1]!, strs.slice(2));
        const v = await this.vector(args[0]!, null);
        const series = v.series.map((s) => (s.hs ? { labels: replacer(s.labels), ts: s.ts, vs: s.vs, hs: s.hs } : { labels: replacer(s.labels), ts: s.ts, vs: s.vs }));
        return { kind: 'vector', series: mergeSameLabelset(series) };
      }
      case 'timestamp': {
        const arg = args[0]!;
        if (arg.type === 'VectorSelector') {
          const v = await evalVectorSelector(this, arg, true);
          return { kind: 'vector', series: mergeSameLabelset(v.series.map((s) => ({ ...s, labels: dropMetricName(s.labels) }))) };
        }
        const v = await this.vector(arg, null);
        // The timestamp of a computed sample is the evaluation time.
        return this.mapVector(v, (_x, t) => t / 1000);
      }
      case 'time':
        return this.scalar((t) => t / 1000);
      case 'pi':
        return this.scalar(() => Math.PI);
      case 'vector': {
        const s = await this.scalarArg(args[0]!);
        const series: StepSeries[] = [{ labels: [], ts: [], vs: [] }];
        for (let i = 0, t = this.start; i < this.numSteps; i++, t += this.interval) {
          series[0]!.ts.push(t);
          series[0]!.vs.push(s.values[i]!);
        }
        this.ctx.add(this.numSteps);
        return { kind: 'vector', series };
      }
      case 'scalar': {
        const v = await this.vector(args[0]!, 'function "scalar"');
        const g = new Gatherer(v.series);
        const out = this.scalar((t) => {
          g.gather(t);
          return g.idx.length === 1 ? g.vals[0]! : NaN;
        });
        this.ctx.release(countPoints(v));
        return out;
      }
      case 'absent': {
        const v = await this.vector(args[0]!, null);
        const labels = labelsForAbsent(args[0]!);
        const g = new Gatherer(v.series);
        const series = collectSteps(this, (t, _s, out) => {
          g.gather(t);
          if (g.idx.length === 0) out.push({ labels, v: 1 });
        });
        this.ctx.release(countPoints(v));
        return { kind: 'vector', series };
      }
      case 'sort':
      case 'sort_desc': {
        const v = await this.vector(args[0]!, `function "${name}"`);
        if (this.start !== this.end) return v; // order only exists in instant results
        const asc = name === 'sort';
        const series = v.series.slice().sort((a, b) => {
          const x = a.vs[0]!;
          const y = b.vs[0]!;
          if (x !== x || y !== y) return x !== x && y !== y ? 0 : x !== x ? 1 : -1; // NaN last
          return asc ? x - y : y - x;
        });
        return { kind: 'vector', series };
      }
      case 'histogram_quantile': {
        const q = await this.scalarArg(args[0]!);
        const v = await this.vector(args[1]!, null);
        const bad = [...q.values].find((x) => x !== x || x < 0 || x > 1);
        if (bad !== undefined) this.ctx.annotate('warning', `quantile value should be between 0 and 1, got ${formatValue(bad)}`, args[0]!);
        const g = new Gatherer(v.series);
        const samples: Array<{ labels: Labels; v: number }> = [];
        const natives: Array<{ labels: Labels; h: FloatHistogram }> = [];
        const series = collectSteps(this, (t, step, out) => {
          g.gather(t);
          samples.length = 0;
          natives.length = 0;
          for (let j = 0; j < g.idx.length; j++) {
            const h = g.hvals[j];
            if (h) natives.push({ labels: v.series[g.idx[j]!]!.labels, h });
            else samples.push({ labels: v.series[g.idx[j]!]!.labels, v: g.vals[j]! });
          }
          const classic = [
            ...histogramQuantile(
              q.values[step]!,
              samples,
              (l) => this.ctx.annotate('warning', `bucket label "le" is missing or has a malformed value of "${l.find((x) => x.name === 'le')?.value ?? ''}"`, args[1]!),
              () => this.ctx.annotate('info', 'input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)', args[1]!),
            ),
          ];
          if (natives.length === 0) {
            for (const r of classic) out.push(r);
            return;
          }
          // A native histogram with the labels of classic buckets (without le): neither is evaluated.
          const classicKeys = new Map(classic.map((r, i) => [labelsKey(r.labels), i]));
          const dropped = new Set<number>();
          const nativeOut: Array<{ labels: Labels; v: number }> = [];
          for (const n of natives) {
            const labels = new LabelsBuilder(n.labels).del('le').labels();
            const key = labelsKey(dropMetricName(labels));
            const clash = classicKeys.get(key);
            if (clash !== undefined) {
              dropped.add(clash);
              this.ctx.annotate('warning', `vector contains a mix of histograms with and without buckets for metric name "${n.labels.find((l) => l.name === '__name__')?.value ?? ''}"`, args[1]!);
              continue;
            }
            nativeOut.push({ labels: dropMetricName(n.labels), v: nativeHistogramQuantile(q.values[step]!, n.h) });
          }
          classic.forEach((r, i) => {
            if (!dropped.has(i)) out.push(r);
          });
          for (const r of nativeOut) out.push(r);
        });
        this.ctx.release(countPoints(v));
        return { kind: 'vector', series };
      }
      case 'histogram_count':
      case 'histogram_sum':
      case 'histogram_avg': {
        const v = await this.vector(args[0]!, null);
        const f = name === 'histogram_count' ? (h: FloatHistogram) => h.count : name === 'histogram_sum' ? (h: FloatHistogram) => h.sum : (h: FloatHistogram) => h.sum / h.count;
        return this.mapHistograms(v, (h) => f(h));
      }
      case 'histogram_fraction': {
        const lower = await this.scalarArg(args[0]!);
        const upper = await this.scalarArg(args[1]!);
        const v = await this.vector(args[2]!, null);
        return this.mapHistograms(v, (h, step) => nativeHistogramFraction(lower.values[step]!, upper.values[step]!, h));
      }
      case 'clamp':
      case 'clamp_min':
      case 'clamp_max':
      case 'round': {
        const v = await this.vector(args[0]!, `function "${name}"`);
        const p1 = args[1] ? await this.scalarArg(args[1]) : null;
        const p2 = args[2] ? await this.scalarArg(args[2]) : null;
        if (name === 'round') return this.mapVector(v, (x, _t, i) => round(x, p1 ? p1.values[i]! : 1));
        return this.mapVector(v, (x, _t, i) => {
          const lo = name === 'clamp_max' ? -Infinity : p1!.values[i]!;
          const hi = name === 'clamp' ? p2!.values[i]! : name === 'clamp_max' ? p1!.values[i]! : Infinity;
          if (hi < lo) return undefined;
          return Math.max(lo, Math.min(hi, x));
        });
      }
      default:
        break;
    }
    if (DATE_FUNCTIONS.has(name)) {
      if (args.length === 0) {
        const series = collectSteps(this, (t, _s, out) => out.push({ labels: [], v: dateOfTimestamp(name, t) }));
        return { kind: 'vector', series };
      }
      const v = await this.vector(args[0]!, `function "${name}"`);
      return this.mapVector(v, (x) => dateOfValue(name, x));
    }
    const math = MATH_FUNCTIONS.get(name);
    if (math) {
      const v = await this.vector(args[0]!, `function "${name}"`);
      return this.mapVector(v, math);
    }
    // Functions over a range vector.
    const matrixIndex = e.func.argTypes.indexOf('matrix');
    if (matrixIndex >= 0) {
      const scalars: Array<ScalarValue | null> = [];
      for (let i = 0; i < args.length; i++) scalars.push(i === matrixIndex ? null : await this.scalarArg(args[i]!));
      return evalRangeFunction(this, e, matrixIndex, scalars);
    }
    throw new PromQLError('promql_unsupported', `function "${name}" is not supported`);
  }

  /**
   * Applies f to every native-histogram point of a vector, giving floats; float points are dropped (as
   * Prometheus' histogram_* functions do) and so is the metric name.
   */
  private mapHistograms(v: VectorValue, f: (h: FloatHistogram, step: number) => number): VectorValue {
    const out: StepSeries[] = [];
    for (const s of v.series) {
      if (!s.hs) continue;
      const ts: number[] = [];
      const vs: number[] = [];
      for (let i = 0; i < s.ts.length; i++) {
        const h = s.hs[i];
        if (!h) continue;
        ts.push(s.ts[i]!);
        vs.push(f(h, stepIndex(this, s.ts[i]!)));
      }
      if (ts.length > 0) out.push({ labels: dropMetricName(s.labels), ts, vs });
    }
    this.ctx.release(countPoints(v));
    this.ctx.add(out.reduce((n, s) => n + s.ts.length, 0));
    return { kind: 'vector', series: mergeSameLabelset(out) };
  }

  /**
   * Applies f to every point of a vector, dropping the metric name (as every value-changing function
   * does); f returning undefined drops the point. Series whose labels collide are merged or rejected.
   */
  private mapVector(v: VectorValue, f: (x: number, t: number, step: number) => number | undefined): VectorValue {
    const out: StepSeries[] = [];
    for (const s of v.series) {
      const ts: number[] = [];
      const vs: number[] = [];
      for (let i = 0; i < s.ts.length; i++) {
        const t = s.ts[i]!;
        const r = f(s.vs[i]!, t, stepIndex(this, t));
        if (r === undefined) continue;
        ts.push(t);
        vs.push(r);
      }
      if (ts.length > 0) out.push({ labels: dropMetricName(s.labels), ts, vs });
    }
    return { kind: 'vector', series: mergeSameLabelset(out) };
  }
}

