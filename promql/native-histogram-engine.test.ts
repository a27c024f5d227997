// Native histograms through the engine (MemoryQueryable) with hand-computed expectations, including the
// Prometheus 3 behaviour the 2.42 conformance suite cannot check (see test/promql-conformance/DIFFERENCES.md),
// and through storage: histograms written with storage.writer, read by StorageQueryable (PGlite).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WRITE_LIMITS, type HistogramInput } from '../protocol/index.ts';
import type { TenantId } from '../storage/types.ts';
import { decodedRequest } from '../test/support/decoded.ts';
import { openTestStorage, uniqueName, type TestStorage } from '../test/support/storage.ts';
import { Engine } from './engine.ts';
import { PromQLError } from './errors.ts';
import { MemoryQueryable } from './memory-queryable.ts';
import type { FloatHistogram } from './native-histogram.ts';
import { StorageQueryable } from './storage-queryable.ts';
import { toApiData, type QueryValue } from './value.ts';

function h(over: Partial<FloatHistogram>): FloatHistogram {
  return {
    schema: 0, zeroThreshold: 0.001, zeroCount: 0, count: 0, sum: 0, positiveSpans: [], positiveBuckets: [], negativeSpans: [], negativeBuckets: [],
    counterResetHint: 0, ...over,
  };
}

// Buckets (0.5,1], (1,2], (2,4] at schema 0.
const pos = (a: number, b: number, c: number, extra: Partial<FloatHistogram> = {}): FloatHistogram =>
  h({ count: a + b + c, sum: a * 0.75 + b * 1.5 + c * 3, positiveSpans: [{ offset: 0, length: 3 }], positiveBuckets: [a, b, c], ...extra });

const T = 1_700_000_000_000;
const engine = new Engine({ nativeHistograms: true });
const q = new MemoryQueryable()
  // A counter: +1 in every bucket per 10 s, reset after 60 s.
  .addHistograms({ __name__: 'lat', job: 'a' }, [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => [T + i * 10_000, i < 6 ? pos(i + 1, i + 1, i + 1) : pos(i - 5, i - 5, i - 5)]))
  .addHistograms({ __name__: 'lat', job: 'b' }, [[T + 80_000, pos(1, 0, 3)]])
  .add({ __name__: 'flt', job: 'a' }, [[T + 80_000, 5]]);

async function instant(expr: string, t = T + 80_000): Promise<QueryValue> {
  return (await engine.instantQuery(q, expr, t)).value;
}

async function errorOf(p: Promise<unknown>): Promise<PromQLError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PromQLError) return e;
    throw e;
  }
  throw new Error('no error');
}

function firstHistogram(v: QueryValue): FloatHistogram {
  if (v.resultType !== 'vector' || !v.result[0]?.h) throw new Error(`no histogram in ${JSON.stringify(v)}`);
  return v.result[0].h;
}

describe('native histograms in the engine', () => {
  it('selects histograms and formats them like Prometheus\' API', async () => {
    const v = await instant('lat{job="b"}');
    expect(toApiData(v)).toEqual({
      resultType: 'vector',
      result: [{ metric: { __name__: 'lat', job: 'b' }, histogram: [(T + 80_000) / 1000, { count: '4', sum: '9.75', buckets: [[0, '0.5', '1', '1'], [0, '2', '4', '3']] }] }],
    });
    const m = await instant('lat{job="b"}[1m]');
    expect(toApiData(m)).toEqual({
      resultType: 'matrix',
      result: [{ metric: { __name__: 'lat', job: 'b' }, histograms: [[(T + 80_000) / 1000, { count: '4', sum: '9.75', buckets: [[0, '0.5', '1', '1'], [0, '2', '4', '3']] }]] }],
    });
  });

  it('computes increase over a counter reset', async () => {
    // Window (20 s, 80 s]: samples at 30..80 s: 4,5,6 then reset to 1,2,3 per bucket.
    // Raw increase: (3 - 4) + 6 (before the reset) = 5 per bucket over 50 s; extrapolated to 60 s
    // (10 s to the start < 1.1 × 10 s, end 0 s): factor 60/50.
    const v = firstHistogram(await instant('increase(lat{job="a"}[60s])'));
    expect(v.positiveBuckets).toEqual([6, 6, 6].map((x) => x * 1));
    expect(v.count).toBeCloseTo(18, 12);
    const r = firstHistogram(await instant('rate(lat{job="a"}[60s])'));
    expect(r.count).toBeCloseTo(18 / 60, 12);
  });

  it('evaluates histogram_count, histogram_sum, histogram_avg, histogram_fraction and histogram_quantile', async () => {
    const at = (expr: string) => instant(expr).then((v) => (v.resultType === 'vector' ? v.result.map((s) => s.v) : []));
    expect(await at('histogram_count(lat{job="b"})')).toEqual([4]);
    expect(await at('histogram_sum(lat{job="b"})')).toEqual([9.75]);
    expect(await at('histogram_avg(lat{job="b"})')).toEqual([9.75 / 4]);
    expect(await at('histogram_fraction(0, 1, lat{job="b"})')).toEqual([0.25]);
    expect(await at('histogram_quantile(0.5, lat{job="b"})')).toEqual([2 + 2 * (1 / 3)]);
    // Floats are ignored by the histogram functions.
    expect(await at('histogram_count({job="a"})')).toEqual([3 * 3]);
  });

  it('aggregates with sum, avg and count; a group mixing floats and histograms has no sum', async () => {
    const s = firstHistogram(await instant('sum(lat)'));
    expect(s.positiveBuckets).toEqual([4, 3, 6]);
    const a = firstHistogram(await instant('avg(lat)'));
    expect(a.positiveBuckets).toEqual([2, 1.5, 3]);
    expect(a.count).toBe(6.5);
    expect(await instant('count({job="a"})')).toMatchObject({ result: [{ v: 2 }] });
    const r = await engine.instantQuery(q, 'sum by (job) ({job="a"})', T + 80_000);
    expect(r.value).toMatchObject({ result: [] });
    expect(r.warnings).toEqual(['PromQL warning: encountered a mix of histograms and floats for aggregation (1:1)']);
  });

  it('applies + - * / with Prometheus 3 semantics', async () => {
    const b = 'lat{job="b"}';
    expect(firstHistogram(await instant(`${b} * 2`)).positiveBuckets).toEqual([2, 0, 6]);
    expect(firstHistogram(await instant(`2 * ${b}`)).count).toBe(8);
    expect(firstHistogram(await instant(`${b} / 2`)).sum).toBe(9.75 / 2);
    const d = firstHistogram(await instant(`lat{job="a"} - ignoring(job) ${b}`));
    expect(d.positiveBuckets).toEqual([2, 3, 0].filter((x) => x !== 0));
    expect(d.positiveSpans).toEqual([{ offset: 0, length: 2 }]);
    expect(await instant(`${b} + 1`)).toMatchObject({ result: [] }); // incompatible: no result
    expect(await instant(`${b} > 0`)).toMatchObject({ result: [] });
  });

  it('keeps histograms through label_replace and last_over_time, and counts them', async () => {
    expect(firstHistogram(await instant('label_replace(lat{job="b"}, "x", "y", "", "")')).count).toBe(4);
    expect(firstHistogram(await instant('last_over_time(lat{job="a"}[1m])')).count).toBe(9);
    expect(await instant('count_over_time(lat{job="a"}[1m])')).toMatchObject({ result: [{ v: 6 }] });
  });

  it('names what it does not evaluate on native histograms', async () => {
    for (const [expr, msg] of [
      ['max(lat)', 'aggregation "max" is not supported on native histograms'],
      ['abs(lat)', 'function "abs" is not supported on native histograms'],
      ['-lat', 'unary minus is not supported on native histograms'],
      ['sum_over_time(lat[1m])', 'function "sum_over_time" is not supported on native histograms'],
      ['lat == lat', 'binary operator "==" is not supported on native histograms'],
      ['histogram_stddev(lat)', 'function "histogram_stddev" is not supported: Trimtab does not evaluate this native-histogram function yet'],
    ] as const) {
      const e = await errorOf(engine.instantQuery(q, expr, T + 80_000));
      expect(e.message, expr).toBe(msg);
      expect(e.errorType).toBe('execution');
    }
  });

  it('leaves float-only queries as they were', async () => {
    expect(await instant('flt * 2')).toMatchObject({ resultType: 'vector', result: [{ v: 10 }] });
    expect(toApiData(await instant('flt'))).toEqual({ resultType: 'vector', result: [{ metric: { __name__: 'flt', job: 'a' }, value: [(T + 80_000) / 1000, '5'] }] });
  });
});

describe('native histograms off (the default)', () => {
  const off = new Engine();
  it('hides histogram samples, tells the queryable not to read them, and names the functions', async () => {
    const seen: Array<boolean | undefined> = [];
    const spy = { select: (...a: Parameters<MemoryQueryable['select']>) => (seen.push(a[3]?.histograms), q.select(...a)) };
    expect((await off.instantQuery(spy, '{job="a"}', T + 80_000)).value).toMatchObject({ result: [{ metric: [{ name: '__name__', value: 'flt' }, { name: 'job', value: 'a' }], v: 5 }] });
    expect(seen).toEqual([false]);
    expect((await off.instantQuery(q, 'count(lat)', T + 80_000)).value).toMatchObject({ result: [] });
    const e = await errorOf(off.instantQuery(q, 'histogram_sum(lat)', T + 80_000));
    expect(e.message).toBe('function "histogram_sum" is not supported: native histograms are not enabled in this Trimtab engine');
  });
});

describe('native histograms from storage (PGlite)', () => {
  let t: TestStorage;
  let tenant: TenantId;
  const NOW = Date.UTC(2026, 0, 20, 12, 0, 0);
  const T0 = NOW - 3600_000;
  const hist = (i: number): HistogramInput => ({
    timestamp: T0 + i * 15_000 + 7,
    count: 3 * (i + 1),
    sum: 2 * (i + 1),
    schema: 1,
    zeroThreshold: 0.001,
    zeroCount: i + 1,
    positiveSpans: [{ offset: 0, length: 1 }],
    positiveDeltas: [i + 1],
    negativeSpans: [{ offset: 2, length: 1 }],
    negativeDeltas: [i + 1],
  });

  beforeAll(async () => {
    t = await openTestStorage('pglite');
    tenant = (await t.storage.tenants.createTenant(uniqueName('nh'))).tenant.id;
    const r = await t.storage.writer.write(
      tenant,
      decodedRequest([
        { labels: { __name__: 'rpc_seconds', job: 'api' }, histograms: Array.from({ length: 20 }, (_, i) => hist(i)) },
        { labels: { __name__: 'rpc_total', job: 'api' }, samples: Array.from({ length: 20 }, (_, i) => ({ ts: T0 + i * 15_000 + 7, value: i })) },
      ]),
      DEFAULT_WRITE_LIMITS,
      NOW,
    );
    expect(r.rejected).toEqual([]);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('reads histograms of the selected series, alone and next to float series', async () => {
    const sq = new StorageQueryable(t.storage.reader, tenant, { seriesBatch: 1 });
    const at = T0 + 19 * 15_000 + 100;
    const v = (await engine.instantQuery(sq, '{job="api"}', at)).value;
    const api = toApiData(v);
    expect(api.result).toEqual([
      { metric: { __name__: 'rpc_seconds', job: 'api' }, histogram: [at / 1000, { count: '60', sum: '40', buckets: [[1, '-2', '-1.414213562373095', '20'], [3, '-0.001', '0.001', '20'], [0, '0.7071067811865475', '1', '20']] }] },
      { metric: { __name__: 'rpc_total', job: 'api' }, value: [at / 1000, '19'] },
    ]);
    const r = (await engine.instantQuery(sq, 'histogram_count(increase(rpc_seconds[1m]))', at)).value;
    // 4 samples 15 s apart in the window (16..19): raw increase 3 * 3 over 45 s; the first sample is
    // 14.907 s after the window start and the last 0.093 s before its end, both under 1.1 × 15 s: the
    // whole 60 s.
    expect(r).toMatchObject({ resultType: 'vector', result: [{ v: expect.closeTo(9 * (60 / 45), 9) }] });
  });

  it('reads no histograms for an engine with native histograms off', async () => {
    const sq = new StorageQueryable(t.storage.reader, tenant);
    const series = [];
    for await (const s of sq.select([{ type: '=', name: 'job', value: 'api' }], T0, NOW, { histograms: false })) series.push(s);
    expect(series.map((s) => [s.labels[0]!.value, s.histograms?.length])).toEqual([['rpc_total', undefined]]);
    const v = (await new Engine().instantQuery(sq, '{job="api"}', T0 + 19 * 15_000 + 100)).value;
    expect(v).toMatchObject({ resultType: 'vector', result: [{ v: 19 }] });
    expect(v.resultType === 'vector' && v.result.length).toBe(1);
  });
});
