// The PromQL engine over the store (promql/storage-queryable.ts), on PostgreSQL and on PGlite: data written
// through storage.writer, read back through the engine, compared with values computed by hand here.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WRITE_LIMITS } from '../protocol/index.ts';
import { Engine } from '../promql/engine.ts';
import { PromQLError } from '../promql/errors.ts';
import { StorageQueryable } from '../promql/storage-queryable.ts';
import type { Series } from '../promql/queryable.ts';
import { toApiData } from '../promql/value.ts';
import type { LabelMatcher, SeriesReader, TenantId } from '../storage/types.ts';
import { bitsAt, decodedRequest, STALE_NAN_BITS, type SeriesSpec } from './support/decoded.ts';
import { DRIVERS, openTestStorage, uniqueName, type TestStorage } from './support/storage.ts';

const NOW = Date.UTC(2026, 0, 20, 12, 0, 0);
const T0 = NOW - 2 * 3600_000; // two hours of data, crossing no day boundary
const STEP = 15_000;
const N = 480; // samples per series: 2h at 15s
const MANY = 1_234; // series of many_series: more than two batches of 500

const name = (v: string): LabelMatcher => ({ type: '=', name: '__name__', value: v });

/** counter value of series `k` at sample i: 10*k + i*(k+1), reset to i at i = 300 for k = 1. */
function counterValue(k: number, i: number): number {
  if (k === 1 && i >= 300) return i - 300;
  return 10 * k + i * (k + 1);
}

function specs(): SeriesSpec[] {
  const out: SeriesSpec[] = [];
  for (let k = 0; k < 2; k++) {
    out.push({
      labels: { __name__: 'requests_total', job: 'api', instance: `i${k}` },
      samples: Array.from({ length: N }, (_, i) => ({ ts: T0 + i * STEP + 7, value: counterValue(k, i) })),
    });
  }
  // A gauge that goes stale at sample 200 (and comes back at 240).
  out.push({
    labels: { __name__: 'temperature', job: 'api' },
    samples: Array.from({ length: N }, (_, i) =>
      i === 200 ? { ts: T0 + i * STEP + 7, value: { bits: STALE_NAN_BITS } } : i > 200 && i < 240 ? null : { ts: T0 + i * STEP + 7, value: 20 + (i % 10) },
    ).filter((s): s is NonNullable<typeof s> => s !== null),
  });
  for (let k = 0; k < MANY; k++) {
    out.push({ labels: { __name__: 'many_series', idx: String(k), parity: k % 2 ? 'odd' : 'even' }, samples: [0, 100, 200].map((i) => ({ ts: T0 + i * STEP + 7, value: k + i })) });
  }
  return out;
}

async function collect(it: AsyncIterable<Series>): Promise<Series[]> {
  const out: Series[] = [];
  for await (const s of it) out.push(s);
  return out;
}

describe.each(DRIVERS)('StorageQueryable on %s', (kind) => {
  let t: TestStorage;
  let alpha: TenantId;
  let beta: TenantId;
  const engine = new Engine();

  beforeAll(async () => {
    t = await openTestStorage(kind);
    alpha = (await t.storage.tenants.createTenant(uniqueName('alpha'))).tenant.id;
    beta = (await t.storage.tenants.createTenant(uniqueName('beta'))).tenant.id;
    const r = await t.storage.writer.write(alpha, decodedRequest(specs()), DEFAULT_WRITE_LIMITS, NOW);
    expect(r.rejected).toEqual([]);
    // beta has one series with labels identical to one of alpha's, with other values.
    await t.storage.writer.write(beta, decodedRequest([{ labels: { __name__: 'requests_total', job: 'api', instance: 'i0' }, samples: [{ ts: T0 + 7, value: 1e9 }] }]), DEFAULT_WRITE_LIMITS, NOW);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('selects with matchers and the time range pushed down, pages merged into one series', async () => {
    // pageSamples 7 cuts each series into many pages; the queryable must give one series per label set.
    const q = new StorageQueryable(t.storage.reader, alpha, { pageSamples: 7, seriesBatch: 1 });
    const got = await collect(q.select([name('requests_total'), { type: '=~', name: 'instance', value: 'i[01]' }], T0 + 100 * STEP, T0 + 199 * STEP + 7));
    expect(got.map((s) => s.labels)).toEqual([0, 1].map((k) => [{ name: '__name__', value: 'requests_total' }, { name: 'instance', value: `i${k}` }, { name: 'job', value: 'api' }]));
    for (const s of got) {
      const k = Number(s.labels[1]!.value.slice(1));
      // [T0+100*STEP, T0+199*STEP+7]: samples 100..199 (sample 100 is at +7ms, inside the range).
      expect(s.timestamps.length).toBe(100);
      expect(Array.from(s.timestamps)).toEqual(Array.from({ length: 100 }, (_, j) => T0 + (100 + j) * STEP + 7));
      expect(Array.from(s.values)).toEqual(Array.from({ length: 100 }, (_, j) => counterValue(k, 100 + j)));
    }
  });

  it('keeps the stale marker bits', async () => {
    const q = new StorageQueryable(t.storage.reader, alpha, { pageSamples: 3 });
    const [s] = await collect(q.select([name('temperature')], T0 + 199 * STEP, T0 + 241 * STEP));
    expect(s).toBeDefined();
    expect(Array.from(s!.timestamps)).toEqual([199, 200, 240].map((i) => T0 + i * STEP + 7));
    expect(bitsAt(s!.values, 1)).toBe(STALE_NAN_BITS);
    expect(s!.values[0]).toBe(29);
    expect(s!.values[2]).toBe(20);
  });

  it('reads many series in batches, each exactly once', async () => {
    const q = new StorageQueryable(t.storage.reader, alpha);
    const got = await collect(q.select([name('many_series')], T0, T0 + 150 * STEP));
    expect(got.length).toBe(MANY);
    expect(new Set(got.map((s) => s.labels.find((l) => l.name === 'idx')!.value)).size).toBe(MANY);
    for (const s of got) {
      const k = Number(s.labels.find((l) => l.name === 'idx')!.value);
      expect(Array.from(s.values)).toEqual([k, k + 100]);
    }
  });

  it('answers instant queries with hand-computed values', async () => {
    const q = new StorageQueryable(t.storage.reader, alpha);
    // At T0 + 100*STEP + 1000: the newest sample of each counter is sample 100.
    const at = T0 + 100 * STEP + 1000;
    const r = await engine.instantQuery(q, 'requests_total', at);
    expect(toApiData(r.value)).toEqual({
      resultType: 'vector',
      result: [0, 1].map((k) => ({ metric: { __name__: 'requests_total', instance: `i${k}`, job: 'api' }, value: [at / 1000, String(counterValue(k, 100))] })),
    });
    // sum over 1,234 series of (k + 200) at the time of sample 200.
    const sum = await engine.instantQuery(q, 'sum(many_series)', T0 + 200 * STEP + 1000);
    let expected = 0;
    for (let k = 0; k < MANY; k++) expected += k + 200;
    expect(toApiData(sum.value)).toMatchObject({ resultType: 'vector', result: [{ metric: {}, value: [expect.any(Number), String(expected)] }] });
    const byParity = await engine.instantQuery(q, 'count by (parity) (many_series)', T0 + 200 * STEP + 1000);
    expect(toApiData(byParity.value)).toEqual({
      resultType: 'vector',
      result: expect.arrayContaining([
        { metric: { parity: 'even' }, value: [expect.any(Number), String(Math.ceil(MANY / 2))] },
        { metric: { parity: 'odd' }, value: [expect.any(Number), String(Math.floor(MANY / 2))] },
      ]),
    });
  });

  it('computes rate() across pages and a counter reset', async () => {
    const q = new StorageQueryable(t.storage.reader, alpha, { pageSamples: 5 });
    // Window (t-5m, t] with t = T0 + 310*STEP + 1000 holds samples 291..310 (20 samples, 285 s apart
    // first to last); instance i1 resets at sample 300.
    const at = T0 + 310 * STEP + 1000;
    const r = await engine.instantQuery(q, 'rate(requests_total[5m])', at);
    const data = toApiData(r.value);
    expect(data.resultType).toBe('vector');
    const byInstance = Object.fromEntries((data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((s) => [s.metric.instance, Number(s.value[1])]));
    for (const k of [0, 1]) {
      const first = counterValue(k, 291);
      let increase = 0;
      for (let i = 292; i <= 310; i++) {
        const prev = counterValue(k, i - 1);
        const cur = counterValue(k, i);
        increase += cur >= prev ? cur - prev : cur;
      }
      // Prometheus's extrapolation: sampled interval 285 s; the window starts 1000-7=993 ms... before the
      // first sample by (291*STEP + 7) - (310*STEP + 1000 - 300000) = 14 007 ms, ends 993 ms after the last.
      const sampled = 285;
      const durToStart = 14.007;
      const durToEnd = 0.993;
      const avg = sampled / 19;
      let extStart = durToStart;
      let extEnd = durToEnd;
      const threshold = avg * 1.1;
      if (extStart >= threshold) extStart = avg / 2;
      // the counter would reach zero: cap the start extrapolation
      if (increase > 0 && first >= 0) {
        const toZero = sampled * (first / increase);
        if (toZero < extStart) extStart = toZero;
      }
      if (extEnd >= threshold) extEnd = avg / 2;
      const expected = (increase * ((sampled + extStart + extEnd) / sampled)) / 300;
      expect(byInstance[`i${k}`]).toBeCloseTo(expected, 9);
    }
  });

  it('ends a series at its stale marker and resumes when samples come back', async () => {
    const q = new StorageQueryable(t.storage.reader, alpha);
    const result = await engine.rangeQuery(q, 'temperature', T0 + 199 * STEP + 1000, T0 + 241 * STEP + 1000, STEP);
    const data = toApiData(result.value);
    expect(data.resultType).toBe('matrix');
    const values = (data.result as Array<{ values: Array<[number, string]> }>)[0]!.values;
    // Step 199 sees sample 199 (value 29); steps 200..239 see the stale marker or nothing newer than it;
    // step 240 sees sample 240 again.
    expect(values).toEqual([
      [(T0 + 199 * STEP + 1000) / 1000, '29'],
      [(T0 + 240 * STEP + 1000) / 1000, '20'],
      [(T0 + 241 * STEP + 1000) / 1000, '21'],
    ]);
  });

  it('sees only its own tenant', async () => {
    const q = new StorageQueryable(t.storage.reader, beta);
    const r = await engine.instantQuery(q, 'requests_total or temperature or many_series', T0 + 1000);
    expect(toApiData(r.value)).toEqual({ resultType: 'vector', result: [{ metric: { __name__: 'requests_total', instance: 'i0', job: 'api' }, value: [(T0 + 1000) / 1000, '1000000000'] }] });
  });

  it('stops at the sample limit with Prometheus\'s error', async () => {
    const q = new StorageQueryable(t.storage.reader, alpha);
    const small = new Engine({ maxSamples: 400 });
    const err = await small.instantQuery(q, 'count_over_time(requests_total[3h])', NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PromQLError);
    expect((err as PromQLError).errorType).toBe('execution');
    expect((err as PromQLError).message).toBe('query processing would load too many samples into memory in query execution');
    // Within the limit the same query works: 480 samples per series.
    const ok = await new Engine({ maxSamples: 2000 }).instantQuery(q, 'count_over_time(requests_total[3h])', NOW);
    expect((toApiData(ok.value).result as Array<{ value: [number, string] }>).map((s) => s.value[1])).toEqual(['480', '480']);
  });

  it('honours the abort signal', async () => {
    const q = new StorageQueryable(t.storage.reader, alpha);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(collect(q.select([name('many_series')], T0, NOW, { signal: controller.signal }))).rejects.toThrow('stop');
    // Aborting in the middle: the iteration ends with the reason, before all series were read.
    const c2 = new AbortController();
    let seen = 0;
    const err = await (async () => {
      for await (const _ of q.select([name('many_series')], T0, NOW, { signal: c2.signal })) {
        if (++seen === 10) c2.abort(new Error('enough'));
      }
    })().catch((e: unknown) => e);
    expect((err as Error).message).toBe('enough');
    expect(seen).toBe(10);
    // Through the engine: the query fails as canceled; the storage is usable afterwards.
    const c3 = new AbortController();
    const pending = engine.instantQuery(q, 'sum(many_series)', T0 + 1000, { signal: c3.signal });
    c3.abort();
    const e3 = await pending.catch((e: unknown) => e);
    expect((e3 as PromQLError).errorType).toBe('canceled');
    const after = await engine.instantQuery(q, 'count(many_series)', T0 + 1000);
    expect((toApiData(after.value).result as Array<{ value: [number, string] }>)[0]!.value[1]).toBe(String(MANY));
  });

  it('closes the storage read when the engine stops early', async () => {
    // A reader that records whether readSamples' iterator was closed.
    let closed = 0;
    const reader = t.storage.reader;
    const spy: SeriesReader = {
      selectSeries: reader.selectSeries.bind(reader),
      readHistograms: reader.readHistograms.bind(reader),
      readExemplars: reader.readExemplars.bind(reader),
      labelNames: reader.labelNames.bind(reader),
      labelValues: reader.labelValues.bind(reader),
      metadata: reader.metadata.bind(reader),
      readSamples: async function* (tenant, ids, minT, maxT, page) {
        try {
          yield* reader.readSamples(tenant, ids, minT, maxT, page);
        } finally {
          closed++;
        }
      },
    };
    const q = new StorageQueryable(spy, alpha);
    const small = new Engine({ maxSamples: 50 });
    await expect(small.instantQuery(q, 'count_over_time(many_series[3h])', NOW)).rejects.toThrow(/too many samples/);
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBeGreaterThan(0);
  });
});
