// Native-histogram conformance: integer native histograms (remote-write 1.0 `histograms`) loaded into a
// real Prometheus 2.42 started with --enable-feature=native-histograms and, through the same encoded
// request decoded by protocol/ (the bytes storage keeps), into Trimtab's engine over MemoryQueryable.
// Every query of CASES is evaluated by both as instant queries at three times and as a range query,
// and the answers must agree: floats within 1e-9 relative, histograms with the same count, sum and
// buckets (boundary rule exactly, bounds and counts within 1e-9 relative). See DIFFERENCES.md.
//
// The data covers: different schemas (3, 2 → 0 within one series, 1, 0), negative buckets, zero
// buckets with different thresholds, empty buckets inside spans, gaps between spans, counter resets.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHistogram, decodeWriteRequest, encodeWriteRequestV1, type HistogramInput, type SeriesInput } from '../../protocol/index.ts';
import { Engine } from '../../promql/engine.ts';
import { PromQLError } from '../../promql/errors.ts';
import { MemoryQueryable } from '../../promql/memory-queryable.ts';
import { bucketBound, fromRemoteWrite, type FloatHistogram } from '../../promql/native-histogram.ts';
import { toApiData } from '../../promql/value.ts';
import { floatsEqual, parseApiFloat } from './compare.ts';
import { T0 } from './data.ts';
import { queryInstant, queryRange, remoteWriteBytes, startReferencePrometheus, type ApiResponse, type ReferencePrometheus } from './prometheus.ts';

// --- data ------------------------------------------------------------------------------------------

const STEP_MS = 30_000;
const STEPS = 120; // one hour
const sampleTime = (k: number): number => T0 + k * STEP_MS + 7;

/** A deterministic pseudo-random sequence (LCG), so the data is the same in every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

interface Observations {
  pos: Map<number, number>;
  neg: Map<number, number>;
  zero: number;
  count: number;
  sum: number;
}

const fresh = (): Observations => ({ pos: new Map(), neg: new Map(), zero: 0, count: 0, sum: 0 });

/** Spans and deltas of a bucket map; gaps of up to two buckets become empty buckets inside a span. */
function spansOf(buckets: Map<number, number>): { spans: Array<{ offset: number; length: number }>; deltas: number[] } {
  const spans: Array<{ offset: number; length: number }> = [];
  const counts: number[] = [];
  let next = 0;
  for (const i of [...buckets.keys()].sort((x, y) => x - y)) {
    if (spans.length > 0 && i - next <= 2) {
      spans[spans.length - 1]!.length += i - next + 1;
      for (; next < i; next++) counts.push(0);
    } else {
      spans.push({ offset: spans.length === 0 ? i : i - next, length: 1 });
    }
    counts.push(buckets.get(i)!);
    next = i + 1;
  }
  const deltas: number[] = [];
  let prev = 0;
  for (const c of counts) {
    deltas.push(c - prev);
    prev = c;
  }
  return { spans, deltas };
}

/** Reduces observation maps of schema `from` to schema `to` (lower resolution). */
function reduce(m: Map<number, number>, from: number, to: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const [i, c] of m) {
    const t = Math.floor((i - 1) / 2 ** (from - to)) + 1;
    out.set(t, (out.get(t) ?? 0) + c);
  }
  return out;
}

function histogramInput(t: number, schema: number, zeroThreshold: number, o: Observations, obsSchema = schema): HistogramInput {
  const pos = spansOf(reduce(o.pos, obsSchema, schema));
  const neg = spansOf(reduce(o.neg, obsSchema, schema));
  return {
    timestamp: t,
    count: o.count,
    sum: o.sum,
    schema,
    zeroThreshold,
    zeroCount: o.zero,
    positiveSpans: pos.spans,
    positiveDeltas: pos.deltas,
    negativeSpans: neg.spans,
    negativeDeltas: neg.deltas,
  };
}

interface SeriesSpec {
  labels: Record<string, string>;
  schema: (k: number) => number;
  /** Schema the observations are recorded in (≥ every schema the series uses). */
  obsSchema: number;
  zeroThreshold: number;
  /** Observations added at step k: [side, bucket index in obsSchema] or 'zero'. */
  observe: (k: number, r: () => number) => Array<['pos' | 'neg', number] | 'zero'>;
  resets?: number[];
  /** Step at which the series ends with a stale marker (a histogram whose sum is the stale NaN). */
  staleAt?: number;
  seed: number;
}

/** Prometheus' stale NaN, kept in a Float64Array-backed number so that its payload survives. */
const STALE_NAN = new Float64Array(new Uint32Array([0x00000002, 0x7ff00000]).buffer)[0]!;

const SPECS: SeriesSpec[] = [
  {
    // Schema 0, positive and negative buckets, zero bucket; counter reset at 30m.
    labels: { __name__: 'nh_req', job: 'api', instance: '1' },
    schema: () => 0,
    obsSchema: 0,
    zeroThreshold: 0.001,
    observe: (k, r) => [['pos', -2 + Math.floor(r() * 7)], ['pos', Math.floor(r() * 3)], ['pos', 4 + Math.floor(r() * 2)], ['neg', Math.floor(r() * 3)], ...(k % 3 === 0 ? (['zero'] as const) : [])],
    resets: [60],
    seed: 1,
  },
  {
    // Schema 1, positive buckets only, a wider range.
    labels: { __name__: 'nh_req', job: 'api', instance: '2' },
    schema: () => 1,
    obsSchema: 1,
    zeroThreshold: 0.001,
    observe: (_k, r) => [['pos', -3 + Math.floor(r() * 12)], ['pos', -3 + Math.floor(r() * 12)]],
    seed: 2,
  },
  {
    // Schema 3, sparse buckets (gaps between spans), a larger zero threshold; reset at 45m.
    labels: { __name__: 'nh_req', job: 'db', instance: '3' },
    schema: () => 3,
    obsSchema: 3,
    zeroThreshold: 0.01,
    observe: (k, r) => [['pos', -10 + 5 * Math.floor(r() * 7)], ['pos', 20 + 4 * Math.floor(r() * 3)], ...(k % 4 === 1 ? (['zero'] as const) : [])],
    resets: [90],
    seed: 3,
  },
  {
    // Schema 2 for 20 minutes, then schema 0 (lower resolution, not a reset); reset at 50m.
    labels: { __name__: 'nh_lat', job: 'api' },
    schema: (k) => (k < 40 ? 2 : 0),
    obsSchema: 2,
    zeroThreshold: 0.001,
    observe: (_k, r) => [['pos', -4 + Math.floor(r() * 16)], ['pos', Math.floor(r() * 8)], ['neg', 2 + Math.floor(r() * 4)]],
    resets: [100],
    seed: 4,
  },
  {
    // Negative buckets and a zero bucket only.
    labels: { __name__: 'nh_neg', job: 'neg' },
    schema: () => 0,
    obsSchema: 0,
    zeroThreshold: 0.001,
    observe: (k, r) => [['neg', -1 + Math.floor(r() * 5)], ...(k % 2 === 0 ? (['zero'] as const) : [])],
    seed: 5,
  },
  {
    // Positive buckets and a zero bucket only.
    labels: { __name__: 'nh_pos', job: 'pos' },
    schema: () => 0,
    obsSchema: 0,
    zeroThreshold: 0.001,
    observe: (k, r) => [['pos', Math.floor(r() * 4)], ...(k % 2 === 1 ? (['zero', 'zero'] as const) : [])],
    seed: 6,
  },
  {
    // Ends with a stale marker at 40m.
    labels: { __name__: 'nh_stale', job: 'stale' },
    schema: () => 1,
    obsSchema: 1,
    zeroThreshold: 0.001,
    observe: (_k, r) => [['pos', Math.floor(r() * 6)], ['neg', Math.floor(r() * 2)]],
    staleAt: 80,
    seed: 7,
  },
];

function buildSeries(spec: SeriesSpec): SeriesInput {
  const r = rng(spec.seed);
  let o = fresh();
  const histograms: HistogramInput[] = [];
  for (let k = 0; k < STEPS; k++) {
    if (k === spec.staleAt) {
      histograms.push({ ...histogramInput(sampleTime(k), spec.schema(k), spec.zeroThreshold, o, spec.obsSchema), sum: STALE_NAN });
      break;
    }
    if (spec.resets?.includes(k)) o = fresh();
    for (const obs of spec.observe(k, r)) {
      o.count++;
      if (obs === 'zero') {
        o.zero++;
        o.sum += 0.0001;
        continue;
      }
      const [side, i] = obs;
      const m = side === 'pos' ? o.pos : o.neg;
      m.set(i, (m.get(i) ?? 0) + 1);
      const v = bucketBound(i, spec.obsSchema) * 0.95;
      o.sum += side === 'pos' ? v : -v;
    }
    histograms.push(histogramInput(sampleTime(k), spec.schema(k), spec.zeroThreshold, o, spec.obsSchema));
  }
  const labels = Object.entries(spec.labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value }));
  return { labels, histograms };
}

const request = encodeWriteRequestV1({ series: SPECS.map(buildSeries) });

/** The Trimtab side: the same request decoded, histograms read back from the bytes storage keeps. */
function memoryFromRequest(bytes: Uint8Array): MemoryQueryable {
  const decoded = decodeWriteRequest(1, bytes);
  const byIndex = new Map<number, Array<[number, FloatHistogram]>>();
  for (const h of decoded.histograms) {
    let list = byIndex.get(h.seriesIndex);
    if (!list) byIndex.set(h.seriesIndex, (list = []));
    const back = decodeHistogram(h.raw);
    list.push([back.timestamp, fromRemoteWrite(back)]);
  }
  const memory = new MemoryQueryable();
  for (const [i, list] of byIndex) memory.addHistograms(decoded.labelsOf(i), list);
  return memory;
}

const memory = memoryFromRequest(request);

// --- queries ---------------------------------------------------------------------------------------

const INSTANTS = [T0 + 12 * 60_000 + 123, T0 + 31 * 60_000 + 456, T0 + 51 * 60_000 + 123];
const RANGE = { start: T0 + 3 * 60_000 + 123, end: T0 + 59 * 60_000 + 123, step: 75_000 };

interface Case {
  expr: string;
  /** Range selectors cannot be range-queried. */
  range?: boolean;
}

const CASES: Case[] = [
  // selectors
  { expr: 'nh_req' },
  { expr: 'nh_lat' },
  { expr: 'nh_neg' },
  { expr: 'nh_req{job="db"} offset 10m' },
  { expr: 'nh_req[1m]', range: false },
  { expr: 'nh_lat[2m]', range: false },
  { expr: 'nh_lat[2m] offset 19m', range: false },
  { expr: 'timestamp(nh_req)' },
  { expr: 'nh_stale' },
  { expr: 'nh_stale[3m] offset 8m', range: false },
  { expr: 'histogram_count(rate(nh_stale[3m]))' },
  // label_replace/label_join keep histograms (Prometheus 3); 2.42 turns them into 0: see DIFFERENCES.md.
  // histogram_count / histogram_sum
  { expr: 'histogram_count(nh_req)' },
  { expr: 'histogram_sum(nh_lat)' },
  { expr: 'histogram_sum(nh_neg)' },
  // rate / increase / delta (schema change, counter resets)
  { expr: 'rate(nh_req[5m])' },
  { expr: 'rate(nh_lat[3m])' },
  { expr: 'increase(nh_lat[10m])' },
  { expr: 'increase(nh_req{job="db"}[20m])' },
  { expr: 'delta(nh_neg[4m])' },
  { expr: 'delta(nh_lat[2m])' },
  { expr: 'histogram_count(rate(nh_req[5m]))' },
  { expr: 'histogram_sum(increase(nh_lat[15m]))' },
  { expr: 'rate(nh_pos[2m:30s])' },
  // histogram_quantile
  { expr: 'histogram_quantile(0.5, nh_req)' },
  { expr: 'histogram_quantile(0.9, rate(nh_req[5m]))' },
  { expr: 'histogram_quantile(0.99, nh_lat)' },
  { expr: 'histogram_quantile(0.1, nh_neg)' },
  { expr: 'histogram_quantile(0.75, nh_neg)' },
  { expr: 'histogram_quantile(0.05, nh_pos)' },
  // Not q = 0: it can land in an empty bucket that Prometheus' chunk layout added (DIFFERENCES.md).
  { expr: 'histogram_quantile(0.001, nh_req)' },
  { expr: 'histogram_quantile(1, rate(nh_lat[5m]))' },
  { expr: 'histogram_quantile(0.5, sum(rate(nh_req[5m])))' },
  { expr: 'histogram_quantile(0.3, sum by (job) (increase(nh_req[10m])))' },
  // histogram_fraction
  { expr: 'histogram_fraction(0, 2, nh_req)' },
  { expr: 'histogram_fraction(-1, 1, nh_neg)' },
  { expr: 'histogram_fraction(-Inf, 0.7, rate(nh_lat[5m]))' },
  { expr: 'histogram_fraction(0.001, 0.5, nh_pos)' },
  { expr: 'histogram_fraction(-0.5, +Inf, nh_lat)' },
  // aggregations
  { expr: 'sum(nh_req)' },
  { expr: 'sum by (job) (nh_req)' },
  { expr: 'sum(rate(nh_req[5m]))' },
  { expr: 'sum without (instance) (increase(nh_req[10m]))' },
  { expr: 'sum({__name__=~"nh_lat|nh_neg"})' },
  { expr: 'count(nh_req)' },
  { expr: 'count by (job) ({__name__=~"nh_.*"})' },
  { expr: 'histogram_count(sum(nh_req)) - sum(histogram_count(nh_req))' },
  // binary operators (2.42 evaluates + between two histograms; see DIFFERENCES.md for the others)
  { expr: 'nh_req + nh_req' },
  { expr: 'nh_req{instance="1"} + on(job) nh_req{instance="2"}' },
  { expr: 'rate(nh_req[5m]) + on(job) group_left rate(nh_lat[5m])' },
  { expr: 'sum by (job) (nh_req) + on(job) nh_lat' },
  { expr: 'histogram_quantile(0.8, nh_neg + ignoring(job) nh_pos)' },
  { expr: 'nh_req and on(job) nh_lat' },
  { expr: 'nh_req unless on(job) nh_lat' },
  { expr: 'nh_neg or nh_pos' },
  { expr: 'nh_pos > 0' },
  // range functions that count samples
  { expr: 'count_over_time(nh_req[2m])' },
  { expr: 'present_over_time(nh_neg[1m])' },
];

interface Evaluation {
  name: string;
  expr: string;
  kind: 'instant' | 'range';
  time: number;
}

const evaluations: Evaluation[] = CASES.flatMap((c) => [
  ...INSTANTS.map((time): Evaluation => ({ name: `instant @${(time - T0) / 1000}s: ${c.expr}`, expr: c.expr, kind: 'instant', time })),
  ...(c.range === false ? [] : [{ name: `range: ${c.expr}`, expr: c.expr, kind: 'range' as const, time: RANGE.start }]),
]);

const engine = new Engine({ lookbackDelta: 5 * 60_000, noStepSubqueryInterval: 60_000, nativeHistograms: true });

async function trimtab(e: { expr: string; kind: 'instant' | 'range'; time: number }): Promise<ApiResponse> {
  try {
    const r = e.kind === 'instant' ? await engine.instantQuery(memory, e.expr, e.time) : await engine.rangeQuery(memory, e.expr, RANGE.start, RANGE.end, RANGE.step);
    return JSON.parse(JSON.stringify({ status: 'success', data: toApiData(r.value) })) as ApiResponse;
  } catch (err) {
    if (err instanceof PromQLError) return { status: 'error', errorType: err.errorType, error: err.message };
    throw err;
  }
}

// --- comparison ------------------------------------------------------------------------------------

type ApiHistogram = { count: string; sum: string; buckets?: Array<[number, string, string, string]> };
type Metric = Record<string, string>;
const metricKey = (m: Metric): string => JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const ms = (sec: number): number => Math.round(sec * 1000);
const f = (s: string): number => parseApiFloat(s);

function compareHistogram(where: string, e: ApiHistogram, a: ApiHistogram, diffs: string[]): void {
  if (!floatsEqual(f(e.count), f(a.count))) diffs.push(`${where}: count prometheus ${e.count}, trimtab ${a.count}`);
  if (!floatsEqual(f(e.sum), f(a.sum))) diffs.push(`${where}: sum prometheus ${e.sum}, trimtab ${a.sum}`);
  const eb = e.buckets ?? [];
  const ab = a.buckets ?? [];
  if (eb.length !== ab.length) {
    diffs.push(`${where}: ${eb.length} buckets in prometheus, ${ab.length} in trimtab: ${JSON.stringify(eb)} vs ${JSON.stringify(ab)}`);
    return;
  }
  for (let i = 0; i < eb.length; i++) {
    const [er, el, eu, ec] = eb[i]!;
    const [ar, al, au, ac] = ab[i]!;
    if (er !== ar || !floatsEqual(f(el), f(al)) || !floatsEqual(f(eu), f(au)) || !floatsEqual(f(ec), f(ac))) {
      diffs.push(`${where}: bucket ${i} prometheus ${JSON.stringify(eb[i])}, trimtab ${JSON.stringify(ab[i])}`);
      return;
    }
  }
}

type Point = { t: number; v?: string; h?: ApiHistogram };

function pointsOf(s: { value?: [number, string]; histogram?: [number, ApiHistogram]; values?: Array<[number, string]>; histograms?: Array<[number, ApiHistogram]> }): Point[] {
  const out: Point[] = [];
  if (s.value) out.push({ t: ms(s.value[0]), v: s.value[1] });
  if (s.histogram) out.push({ t: ms(s.histogram[0]), h: s.histogram[1] });
  for (const [t, v] of s.values ?? []) out.push({ t: ms(t), v });
  for (const [t, h] of s.histograms ?? []) out.push({ t: ms(t), h });
  return out.sort((x, y) => x.t - y.t);
}

function compare(expected: ApiResponse, actual: ApiResponse): string[] {
  if (expected.status !== actual.status) {
    const d = (r: ApiResponse): string => (r.status === 'error' ? `error ${r.errorType}: ${r.error}` : `success ${r.data.resultType}`);
    return [`status: prometheus ${d(expected)}, trimtab ${d(actual)}`];
  }
  if (expected.status === 'error' || actual.status === 'error') {
    return expected.status === 'error' && actual.status === 'error' && expected.errorType !== actual.errorType ? [`errorType ${expected.errorType} vs ${actual.errorType}`] : [];
  }
  if (expected.data.resultType !== actual.data.resultType) return [`resultType: prometheus ${expected.data.resultType}, trimtab ${actual.data.resultType}`];
  const diffs: string[] = [];
  const es = expected.data.result as Array<Parameters<typeof pointsOf>[0] & { metric: Metric }>;
  const as = actual.data.result as Array<Parameters<typeof pointsOf>[0] & { metric: Metric }>;
  const am = new Map(as.map((s) => [metricKey(s.metric), s]));
  for (const s of es) {
    const k = metricKey(s.metric);
    const o = am.get(k);
    am.delete(k);
    if (!o) {
      diffs.push(`missing in trimtab: ${k}`);
      continue;
    }
    const ep = pointsOf(s);
    const ap = new Map(pointsOf(o).map((p) => [p.t, p]));
    for (const p of ep) {
      const q = ap.get(p.t);
      ap.delete(p.t);
      if (!q) diffs.push(`${k} @${p.t}: missing in trimtab`);
      else if (p.h && q.h) compareHistogram(`${k} @${p.t}`, p.h, q.h, diffs);
      else if (p.v !== undefined && q.v !== undefined) {
        if (!floatsEqual(f(p.v), f(q.v))) diffs.push(`${k} @${p.t}: prometheus ${p.v}, trimtab ${q.v}`);
      } else diffs.push(`${k} @${p.t}: float in one engine, histogram in the other`);
    }
    for (const t of ap.keys()) diffs.push(`${k} @${t}: extra in trimtab`);
  }
  for (const k of am.keys()) diffs.push(`extra in trimtab: ${k}`);
  return diffs.slice(0, 10);
}

// --- tests -----------------------------------------------------------------------------------------

let prom: ReferencePrometheus | undefined;
const outcomes: Array<{ ok: boolean; nonEmpty: boolean; histograms: boolean }> = [];

beforeAll(async () => {
  prom = await startReferencePrometheus({ extraArgs: ['--enable-feature=native-histograms'] });
  await remoteWriteBytes(prom.url, request);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
});

describe('native-histogram reference data', () => {
  it('the histogram stale marker reached Prometheus and ends the series in both engines', async () => {
    const t = T0 + 41 * 60_000 + 123; // one minute after nh_stale's marker
    expect(await queryInstant(prom!.url, 'nh_stale', t)).toMatchObject({ status: 'success', data: { result: [] } });
    expect(await trimtab({ expr: 'nh_stale', kind: 'instant', time: t })).toMatchObject({ status: 'success', data: { result: [] } });
    // Without the marker the last histogram (a minute old) would still be returned.
    const before = await trimtab({ expr: 'nh_stale', kind: 'instant', time: t - 2 * 60_000 });
    expect(before).toMatchObject({ status: 'success', data: { result: [{ metric: { __name__: 'nh_stale' } }] } });
  });

  it('Prometheus holds every histogram series', async () => {
    const t = T0 + 10 * 60_000 + 123;
    const r = await queryInstant(prom!.url, 'count({__name__=~"nh_.*"})', t);
    expect(r).toMatchObject({ status: 'success', data: { result: [{ value: [t / 1000, String(SPECS.length)] }] } });
    const h = await queryInstant(prom!.url, 'nh_req', t);
    expect(h.status === 'success' && (h.data.result as Array<{ histogram?: unknown }>).every((s) => s.histogram !== undefined)).toBe(true);
  });
});

describe('native-histogram conformance with Prometheus 2.42', () => {
  for (const e of evaluations) {
    it(e.name, async () => {
      const expected = e.kind === 'instant' ? await queryInstant(prom!.url, e.expr, e.time) : await queryRange(prom!.url, e.expr, RANGE.start, RANGE.end, RANGE.step);
      const actual = await trimtab(e);
      const diffs = compare(expected, actual);
      const text = JSON.stringify(expected);
      const result = expected.status === 'success' ? (expected.data.result as unknown) : null;
      outcomes.push({ ok: diffs.length === 0, nonEmpty: Array.isArray(result) && result.length > 0, histograms: text.includes('"histogram') });
      expect(diffs, `${e.name}\n${diffs.join('\n')}`).toEqual([]);
    });
  }

  it('compares at least 150 evaluations, nearly all with data, many of them histograms', () => {
    expect(evaluations.length).toBeGreaterThanOrEqual(150);
    expect(outcomes.length).toBe(evaluations.length);
    expect(outcomes.filter((o) => o.ok).length).toBe(evaluations.length);
    expect(outcomes.filter((o) => o.nonEmpty).length / evaluations.length).toBeGreaterThan(0.9);
    expect(outcomes.filter((o) => o.histograms).length).toBeGreaterThan(60);
  });
});
