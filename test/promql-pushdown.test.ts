// Aggregate pushdown (Queryable.selectAggregated): max/min/count/quantile_over_time of a range selector
// evaluated at one time, computed by the StorageQueryable as the series stream in, must equal the engine
// over the raw samples
// bit for bit (NaN, ±Inf, ±0, stale markers, the window's edges, several day partitions, histograms),
// on PostgreSQL and on PGlite.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WRITE_LIMITS } from '../protocol/index.ts';
import { Engine, type QueryResult } from '../promql/engine.ts';
import { StorageQueryable } from '../promql/storage-queryable.ts';
import type { SeriesReader, TenantId } from '../storage/types.ts';
import { decodedRequest, STALE_NAN_BITS, type SeriesSpec } from './support/decoded.ts';
import { DRIVERS, openTestStorage, uniqueName, type TestStorage } from './support/storage.ts';

const DAY = 86_400_000;
const D = Date.UTC(2026, 0, 20); // a UTC day boundary
const NOW = D + DAY;
const STEP = 10 * 60_000;
const START = D - DAY - 2 * 3600_000; // three day partitions: D-2d.., D-1d.., D..
const N = Math.floor((D + DAY / 2 - START) / STEP); // up to D + 12h
const NAN_A = 0x7ff8000000000001n; // ordinary NaNs with payloads
const NAN_B = 0xfff8000000000000n;
const NEG_ZERO = 0x8000000000000000n;

const ts = (i: number): number => START + i * STEP;

function specs(): SeriesSpec[] {
  const out: SeriesSpec[] = [];
  // A gauge with NaN, ±Inf, stale markers and a gap, over three days.
  out.push({
    labels: { __name__: 'g', kind: 'mixed' },
    samples: Array.from({ length: N }, (_, i) => {
      if (i % 37 === 5) return { ts: ts(i), value: { bits: STALE_NAN_BITS } };
      if (i % 53 === 3) return { ts: ts(i), value: { bits: NAN_A } };
      if (i === 100) return { ts: ts(i), value: Infinity };
      if (i === 250) return { ts: ts(i), value: -Infinity };
      if (i > 150 && i < 170) return null;
      return { ts: ts(i), value: Math.sin(i / 7) * 1e6 + (i % 11) };
    }).filter((s) => s !== null),
  });
  // Only NaNs (two payloads) and stale markers.
  out.push({
    labels: { __name__: 'g', kind: 'nan' },
    samples: Array.from({ length: N }, (_, i) => ({ ts: ts(i), value: { bits: i % 5 === 0 ? STALE_NAN_BITS : i % 2 ? NAN_A : NAN_B } })),
  });
  // Only stale markers: no samples at all.
  out.push({ labels: { __name__: 'g', kind: 'stale' }, samples: Array.from({ length: N }, (_, i) => ({ ts: ts(i), value: { bits: STALE_NAN_BITS } })) });
  // Zeros: the sign of the first zero wins when the extreme is zero.
  out.push({
    labels: { __name__: 'g', kind: 'negzero-first' },
    samples: Array.from({ length: N }, (_, i) => ({ ts: ts(i), value: i % 3 === 0 ? { bits: i % 2 ? NEG_ZERO : 0n } : i % 3 === 1 ? -1 - i : 1 + i })),
  });
  out.push({
    labels: { __name__: 'g', kind: 'zeros' },
    samples: Array.from({ length: N }, (_, i) => ({ ts: ts(i), value: i % 4 === 3 ? { bits: NAN_A } : { bits: (i * 7919) % 5 < 2 ? NEG_ZERO : 0n } })),
  });
  out.push({
    labels: { __name__: 'g', kind: 'inf' },
    samples: Array.from({ length: N }, (_, i) => ({ ts: ts(i), value: i % 3 === 0 ? Infinity : i % 3 === 1 ? -Infinity : { bits: NAN_B } })),
  });
  // Extremes exactly on the window edges of the evaluation times below (EDGE_T - 1h excluded, EDGE_T included).
  out.push({
    labels: { __name__: 'g', kind: 'edges' },
    samples: [
      { ts: EDGE_T - 3600_000 - 1, value: 5 },
      { ts: EDGE_T - 3600_000, value: 1000 },
      { ts: EDGE_T - 3600_000 + 1, value: 7 },
      { ts: EDGE_T - 1, value: 6 },
      { ts: EDGE_T, value: -1000 },
      { ts: EDGE_T + 1, value: 2000 },
    ],
  });
  // Samples only long before the windows.
  out.push({ labels: { __name__: 'g', kind: 'old' }, samples: [{ ts: START, value: 1 }, { ts: START + 1, value: 2 }] });
  // Native histograms: alone, and mixed with floats.
  const hist = (t: number, count: number) => ({ timestamp: t, count, sum: count * 1.5, schema: 0, zeroCount: 0, positiveSpans: [{ offset: 0, length: 1 }], positiveDeltas: [count] });
  out.push({ labels: { __name__: 'h', kind: 'hist' }, histograms: Array.from({ length: 40 }, (_, i) => hist(D + 2 * 3600_000 + i * STEP, i + 1)) });
  // (written as two series: a remote-write series carries samples or histograms, not both)
  out.push({ labels: { __name__: 'h', kind: 'mixed' }, samples: Array.from({ length: 20 }, (_, i) => ({ ts: D + 2 * 3600_000 + i * STEP + 1, value: i })) });
  out.push({ labels: { __name__: 'h', kind: 'mixed' }, histograms: Array.from({ length: 20 }, (_, i) => hist(D + 2 * 3600_000 + (20 + i) * STEP + 1, i + 1)) });
  // Enough small series for several batches.
  for (let k = 0; k < 25; k++) {
    out.push({ labels: { __name__: 'many', idx: String(k) }, samples: Array.from({ length: 30 }, (_, i) => ({ ts: D - 3600_000 + i * 240_000 + k, value: ((k * 31 + i * 17) % 23) - 11 })) });
  }
  return out;
}

const EDGE_T = D + 5 * 3600_000 + 30_000;

/** The function calls over a matrix argument `m`; quantile_over_time at the edges of q too. */
const FUNCS: Array<(m: string) => string> = [
  (m) => `max_over_time(${m})`,
  (m) => `min_over_time(${m})`,
  (m) => `count_over_time(${m})`,
  ...[0, 0.25, 0.95, 'NaN', 'scalar(vector(-0.5))'].map((q) => (m: string) => `quantile_over_time(${q}, ${m})`),
];
const SELECTORS = ['g', 'g{kind="mixed"}', 'g{kind=~"nan|stale|zeros|inf"}', 'many', '{__name__=~"g|many"}', 'h', 'h{kind="mixed"}', 'nothing'];
const RANGES = ['1h', '1d', '5d'];
const TIMES = [D, D - DAY, D + 3600_000, D + 5 * 3600_000, EDGE_T, EDGE_T - 1, ts(120), ts(121) - 1, D + 12 * 3600_000, D + 40 * 3600_000, START - 1];

/** The result with every value as its bit pattern (so NaN payload and -0 are compared too), or the error. */
function canonical(r: QueryResult | Error): unknown {
  if (r instanceof Error) return { error: r.message };
  const f64 = new Float64Array(1);
  const bits = (v: number) => {
    f64[0] = v;
    return Number.isNaN(v) ? 'NaN' : new BigUint64Array(f64.buffer)[0]!.toString(16);
  };
  return {
    value: JSON.parse(JSON.stringify(r.value, (k, x) => (typeof x === 'number' && k === 'v' ? bits(x) : x))),
    warnings: r.warnings,
    infos: r.infos,
    peak: r.stats.peakSamples,
  };
}

async function run(p: Promise<QueryResult>): Promise<QueryResult | Error> {
  try {
    return await p;
  } catch (err) {
    return err as Error;
  }
}

describe.each(DRIVERS)('aggregate pushdown on %s', (kind) => {
  let t: TestStorage;
  let tenant: TenantId;
  let calls = 0;
  /** Counts selectAggregated calls, to prove the pushdown path ran. */
  const counted = (q: StorageQueryable): StorageQueryable => {
    const inner = q.selectAggregated!;
    q.selectAggregated = (...args) => {
      calls++;
      return inner(...args);
    };
    return q;
  };
  let reader: SeriesReader;

  beforeAll(async () => {
    t = await openTestStorage(kind);
    tenant = (await t.storage.tenants.createTenant(uniqueName('pushdown'))).tenant.id;
    const all = specs();
    const mixedHistograms = all.findIndex((x) => !Array.isArray(x.labels) && x.labels.kind === 'mixed' && x.histograms);
    for (const part of [all.filter((_, i) => i !== mixedHistograms), [all[mixedHistograms]!]]) {
      const r = await t.storage.writer.write(tenant, decodedRequest(part), DEFAULT_WRITE_LIMITS, NOW);
      expect(r.rejected).toEqual([]);
    }
    reader = t.storage.reader;
    // Days before D are compacted (storage/compaction.ts): the windows read chunks and raw rows together.
    const compacted = await t.storage.compactor.compactClosedDays(D, 0);
    expect(compacted.map((c) => c.day)).toEqual([D / DAY - 2, D / DAY - 1]);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  for (const nativeHistograms of [false, true]) {
    it(`equals the engine over raw samples, bit for bit (native histograms ${nativeHistograms ? 'on' : 'off'})`, async () => {
      const pushed = new Engine({ nativeHistograms });
      const raw = new Engine({ nativeHistograms, aggregatePushdown: false });
      const q = counted(new StorageQueryable(reader, tenant, { seriesBatch: 4 }));
      let compared = 0;
      let nonEmpty = 0;
      const before = calls;
      for (const fn of FUNCS) {
        for (const sel of SELECTORS) {
          for (const range of RANGES) {
            for (const time of TIMES) {
              const query = fn(`${sel}[${range}]`);
              const a = await run(pushed.instantQuery(q, query, time));
              const b = await run(raw.instantQuery(q, query, time));
              expect(canonical(a), `${query} at ${time}`).toEqual(canonical(b));
              compared++;
              if (!(a instanceof Error) && a.value.resultType === 'vector' && a.value.result.length > 0) nonEmpty++;
            }
          }
        }
      }
      expect(compared).toBe(FUNCS.length * SELECTORS.length * RANGES.length * TIMES.length);
      expect(nonEmpty).toBeGreaterThan(compared / 3);
      // Every query with a result went through the pushdown (the raw engine never calls it).
      expect(calls - before).toBeGreaterThanOrEqual(nonEmpty);
    }, 300_000);
  }

  it('handles the window edges: (t - range, t]', async () => {
    const q = new StorageQueryable(reader, tenant);
    const engine = new Engine();
    const value = async (query: string) => {
      const r = await engine.instantQuery(q, query, EDGE_T);
      if (r.value.resultType !== 'vector') throw new Error('not a vector');
      return r.value.result.map((s) => s.v);
    };
    expect(await value('max_over_time(g{kind="edges"}[1h])')).toEqual([7]);
    expect(await value('min_over_time(g{kind="edges"}[1h])')).toEqual([-1000]);
    expect(await value('count_over_time(g{kind="edges"}[1h])')).toEqual([3]);
    expect(await value('quantile_over_time(0.5, g{kind="edges"}[1h])')).toEqual([6]);
    expect(await value('quantile_over_time(0.75, g{kind="edges"}[1h])')).toEqual([6.5]);
  });

  it('pushes down with offset and @, repeated over a range query', async () => {
    const pushed = new Engine();
    const raw = new Engine({ aggregatePushdown: false });
    const q = counted(new StorageQueryable(reader, tenant, { seriesBatch: 7 }));
    for (const query of [
      `max_over_time(g[1d] @ ${EDGE_T / 1000})`,
      `min_over_time(g[1d] offset 3h)`,
      `count_over_time({__name__=~"g|many"}[2d] @ ${D / 1000} offset 1h)`,
      `max_over_time(many[30m]) > 5`,
      `sum(min_over_time(many[1h]))`,
      `quantile_over_time(0.9, g[1d] @ ${EDGE_T / 1000})`,
    ]) {
      for (const time of [D, EDGE_T]) {
        expect(canonical(await run(pushed.instantQuery(q, query, time))), query).toEqual(canonical(await run(raw.instantQuery(q, query, time))));
      }
      const before = calls;
      const a = await run(pushed.rangeQuery(q, query, D - 3600_000, EDGE_T, 1800_000));
      // Pushed down at every step when @ fixes the window, except quantile_over_time, whose q may differ.
      if (query.includes('@') && !query.startsWith('quantile')) expect(calls).toBeGreaterThan(before);
      expect(canonical(a), query).toEqual(canonical(await run(raw.rangeQuery(q, query, D - 3600_000, EDGE_T, 1800_000))));
    }
  });

  it('keeps the sample limit as without pushdown', async () => {
    const q = new StorageQueryable(reader, tenant);
    for (const maxSamples of [10, 100, 400, 1000]) {
      const a = await run(new Engine({ maxSamples }).instantQuery(q, 'max_over_time(g[2d])', D + 3600_000));
      const b = await run(new Engine({ maxSamples, aggregatePushdown: false }).instantQuery(q, 'max_over_time(g[2d])', D + 3600_000));
      expect(canonical(a), String(maxSamples)).toEqual(canonical(b));
    }
  });

  it('answers count/max/min over a window already aggregated from memory, until its metric is written', async () => {
    let reads = 0;
    let selects = 0;
    const spy: SeriesReader = {
      selectSeries: (...a) => {
        selects++;
        return reader.selectSeries(...a);
      },
      readSamples: (...a) => {
        reads++;
        return reader.readSamples(...a);
      },
      readHistograms: (...a) => reader.readHistograms(...a),
      readExemplars: (...a) => reader.readExemplars(...a),
      labelNames: (...a) => reader.labelNames(...a),
      labelValues: (...a) => reader.labelValues(...a),
      metadata: (...a) => reader.metadata(...a),
    };
    const memo = new StorageQueryable(spy, tenant, { memoizeWindows: true });
    const plain = new StorageQueryable(reader, tenant);
    const engine = new Engine();
    const at = D + 3600_000;
    const same = async (query: string) => expect(canonical(await run(engine.instantQuery(memo, query, at))), query).toEqual(canonical(await run(engine.instantQuery(plain, query, at))));
    await same('quantile_over_time(0.9, g[2d])');
    const afterFirst = reads;
    expect(afterFirst).toBeGreaterThan(0);
    for (const query of ['count_over_time(g[2d])', 'max_over_time(g[2d])', 'min_over_time(g[2d])', 'sum(count_over_time(g[2d]))']) await same(query);
    expect(reads).toBe(afterFirst);
    // Another window, or a quantile (its q is not remembered), reads again.
    await same('count_over_time(g[1d])');
    await same('quantile_over_time(0.5, g[2d])');
    const afterMore = reads;
    expect(afterMore).toBeGreaterThan(afterFirst);
    memo.forgetMetrics(['other']);
    await same('count_over_time(g[2d])');
    expect(reads).toBe(afterMore);
    memo.forgetMetrics(['g']);
    await same('count_over_time(g[2d])');
    expect(reads).toBeGreaterThan(afterMore);
    // The series a selector selects are remembered per range of UTC days: another window within the
    // same days reads samples without selecting series again, until the metric is written.
    const selectsBefore = selects;
    await same('sum_over_time(g[2d])');
    await same('sum_over_time(g[2d] offset 1m)');
    expect(selects).toBe(selectsBefore);
    await same('sum_over_time(g[4d])');
    expect(selects).toBe(selectsBefore + 1);
    memo.forgetMetrics(['g']);
    await same('sum_over_time(g[2d])');
    expect(selects).toBe(selectsBefore + 2);
  });

  it('can be switched off in the queryable', () => {
    expect(new StorageQueryable(t.storage.reader, tenant, { aggregatePushdown: false }).selectAggregated).toBeUndefined();
    expect(typeof new StorageQueryable(t.storage.reader, tenant).selectAggregated).toBe('function');
  });
});
