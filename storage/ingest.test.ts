import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WRITE_LIMITS, decodeHistogram, decodeWriteRequest, encodeWriteRequestV1, encodeWriteRequestV2, type HistogramInput, type WriteLimits } from '../protocol/index.ts';
import { bitsAt, bitsOf, decodedRequest, STALE_NAN_BITS, type SeriesSpec } from '../test/support/decoded.ts';
import { DRIVERS, openTestStorage, uniqueName, type TestStorage } from '../test/support/storage.ts';
import { StorageUnavailableError } from './errors.ts';
import { PgIngestWriter } from './ingest.ts';
import { PartitionManager } from './partitions.ts';
import type { SampleBlock, TenantId } from './types.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const LIMITS: WriteLimits = { ...DEFAULT_WRITE_LIMITS };

/** Every sample of the series, read back through the reader, as [ts, bits] per series id. */
async function readAll(t: TestStorage, tenant: TenantId, ids: number[], pageSamples?: number): Promise<Map<number, Array<[number, bigint]>>> {
  const out = new Map<number, Array<[number, bigint]>>();
  const blocks: SampleBlock[] = [];
  for await (const b of t.storage.reader.readSamples(tenant, ids, -Infinity, Infinity, pageSamples)) blocks.push(b);
  for (const b of blocks) {
    const list = out.get(b.seriesId) ?? [];
    for (let i = 0; i < b.timestamps.length; i++) list.push([b.timestamps[i], bitsAt(b.values, i)]);
    out.set(b.seriesId, list);
  }
  return out;
}

async function seriesIds(t: TestStorage, tenant: TenantId, metric: string): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for await (const s of t.storage.reader.selectSeries(tenant, [{ type: '=', name: '__name__', value: metric }], -Infinity, Infinity)) {
    m.set(s.labels.map((l) => `${l.name}=${l.value}`).join(','), s.id);
  }
  return m;
}

const histogram = (timestamp: number, extra: Partial<HistogramInput> = {}): HistogramInput => ({
  timestamp,
  count: 5,
  sum: 12.5,
  schema: 1,
  zeroThreshold: 0.001,
  zeroCount: 1,
  positiveSpans: [{ offset: 0, length: 2 }],
  positiveDeltas: [2, 0],
  ...extra,
});

describe.each(DRIVERS)('ingest on %s', (kind) => {
  let t: TestStorage;
  let tenant: TenantId;
  beforeAll(async () => {
    t = await openTestStorage(kind);
  });
  afterAll(async () => {
    await t?.close();
  });
  const newTenant = async () => (tenant = (await t.storage.tenants.createTenant(uniqueName())).tenant.id);

  it('stores values bit for bit: stale marker, other NaN payloads, ±Inf, -0, extremes', async () => {
    await newTenant();
    const bits = [STALE_NAN_BITS, 0x7ff8000000000000n, 0xfff8000000000001n, 0x7ff4000000000abcn, 0x7ff0000000000000n, 0xfff0000000000000n, 0x8000000000000000n, 0n, 1n, 0x7fefffffffffffffn, bitsOf(Math.PI)];
    const req = decodedRequest([{ labels: { __name__: 'bits', job: 'x' }, samples: bits.map((b, i) => ({ ts: NOW - 60_000 + i * 1000, value: { bits: b } })) }]);
    const result = await t.storage.writer.write(tenant, req, LIMITS, NOW);
    expect(result).toEqual({ written: { samples: bits.length, histograms: 0, exemplars: 0 }, rejected: [], duplicates: 0, seriesCreated: 1 });
    const [id] = (await seriesIds(t, tenant, 'bits')).values();
    const back = await readAll(t, tenant, [id]);
    expect(back.get(id)).toEqual(bits.map((b, i) => [NOW - 60_000 + i * 1000, b]));
  });

  it('takes labels in any order, sorts them, drops empty values, and reuses the series', async () => {
    await newTenant();
    const a = decodedRequest([{ labels: [{ name: 'zone', value: 'b' }, { name: '__name__', value: 'm' }, { name: 'empty', value: '' }, { name: 'app', value: 'x' }], samples: [{ ts: NOW - 2000, value: 1 }] }]);
    const r1 = await t.storage.writer.write(tenant, a, LIMITS, NOW);
    expect(r1.seriesCreated).toBe(1);
    // Same label set in another order (another cache key) is the same series.
    const b = decodedRequest([{ labels: [{ name: 'app', value: 'x' }, { name: 'zone', value: 'b' }, { name: '__name__', value: 'm' }], samples: [{ ts: NOW - 1000, value: 2 }] }]);
    const r2 = await t.storage.writer.write(tenant, b, LIMITS, NOW);
    expect(r2.seriesCreated).toBe(0);
    const series = [];
    for await (const s of t.storage.reader.selectSeries(tenant, [{ type: '=', name: '__name__', value: 'm' }], -Infinity, Infinity)) series.push(s);
    expect(series).toHaveLength(1);
    expect(series[0].labels).toEqual([
      { name: '__name__', value: 'm' },
      { name: 'app', value: 'x' },
      { name: 'zone', value: 'b' },
    ]);
    expect((await readAll(t, tenant, [series[0].id])).get(series[0].id)?.map((x) => x[0])).toEqual([NOW - 2000, NOW - 1000]);

    // A writer with empty caches (another receiver) finds the same ids.
    const other = new PgIngestWriter(t.storage.db, { partitions: new PartitionManager(t.storage.db) });
    const r3 = await other.write(tenant, decodedRequest([{ labels: { __name__: 'm', app: 'x', zone: 'b' }, samples: [{ ts: NOW, value: 3 }] }]), LIMITS, NOW);
    expect(r3.seriesCreated).toBe(0);
    expect((await readAll(t, tenant, [series[0].id])).get(series[0].id)).toHaveLength(3);
  });

  it('makes a resend idempotent: every sample once, duplicates counted, written counts unchanged', async () => {
    await newTenant();
    const specs: SeriesSpec[] = Array.from({ length: 50 }, (_, i) => ({
      labels: { __name__: 'resend', i: String(i) },
      samples: [
        { ts: NOW - 30_000, value: i },
        { ts: NOW - 15_000, value: { bits: STALE_NAN_BITS } },
      ],
    }));
    const first = await t.storage.writer.write(tenant, decodedRequest(specs), LIMITS, NOW);
    expect(first.written.samples).toBe(100);
    expect(first.duplicates).toBe(0);
    const again = await t.storage.writer.write(tenant, decodedRequest(specs), LIMITS, NOW);
    expect(again).toEqual({ written: { samples: 100, histograms: 0, exemplars: 0 }, rejected: [], duplicates: 100, seriesCreated: 0 });
    // A resend with new samples appended: the old ones are duplicates, the new ones stored.
    const more = specs.map((s) => ({ ...s, samples: [...s.samples!, { ts: NOW, value: 7 }] }));
    const third = await t.storage.writer.write(tenant, decodedRequest(more), LIMITS, NOW);
    expect(third.written.samples).toBe(150);
    expect(third.duplicates).toBe(100);
    const ids = [...(await seriesIds(t, tenant, 'resend')).values()];
    expect(ids).toHaveLength(50);
    const back = await readAll(t, tenant, ids);
    for (const id of ids) {
      const samples = back.get(id)!;
      expect(samples.map((s) => s[0])).toEqual([NOW - 30_000, NOW - 15_000, NOW]);
      expect(samples[1][1]).toBe(STALE_NAN_BITS);
    }
  });

  it('rejects a different value at a stored timestamp (first value kept), and one repeated in a request', async () => {
    await newTenant();
    const labels = { __name__: 'conflict', a: '1' };
    await t.storage.writer.write(tenant, decodedRequest([{ labels, samples: [{ ts: NOW - 1000, value: 1 }, { ts: NOW - 500, value: 0 }] }]), LIMITS, NOW);
    const r = await t.storage.writer.write(
      tenant,
      decodedRequest([
        { labels, samples: [{ ts: NOW - 1000, value: 2 }, { ts: NOW - 500, value: -0 }, { ts: NOW, value: 3 }] },
        { labels: { __name__: 'conflict', a: '2' }, samples: [{ ts: NOW, value: 5 }, { ts: NOW, value: 6 }, { ts: NOW, value: 5 }] },
      ]),
      LIMITS,
      NOW,
    );
    // Series 1: NOW-1000 conflicts, -0 at NOW-500 differs from the stored 0 in its bits, NOW is new.
    // Series 2: 5 stored, 6 conflicts with it, the second 5 is a bit-identical duplicate.
    expect(r.written.samples).toBe(3);
    expect(r.duplicates).toBe(1);
    expect(r.rejected).toHaveLength(1);
    expect(r.rejected[0]).toMatchObject({ reason: 'duplicate_sample_conflict', series: 2, samples: 3, histograms: 0, exemplars: 0 });
    expect(r.rejected[0].example).toMatch(/conflict/);
    const ids = await seriesIds(t, tenant, 'conflict');
    const back = await readAll(t, tenant, [...ids.values()]);
    expect(back.get(ids.get('__name__=conflict,a=1')!)).toEqual([
      [NOW - 1000, bitsOf(1)],
      [NOW - 500, 0n],
      [NOW, bitsOf(3)],
    ]);
    expect(back.get(ids.get('__name__=conflict,a=2')!)).toEqual([[NOW, bitsOf(5)]]);
  });

  it('reports what it refuses per reason and writes the valid rest', async () => {
    await newTenant();
    const limits: WriteLimits = { ...LIMITS, maxFutureMs: 60_000, maxAgeMs: DAY };
    const req = decodedRequest([
      { labels: { __name__: 'ok', i: '1' }, samples: [{ ts: NOW, value: 1 }, { ts: NOW + 120_000, value: 2 }, { ts: NOW - 2 * DAY, value: 3 }] },
      { labels: { job: 'no-name' }, samples: [{ ts: NOW, value: 1 }] },
      { labels: { __name__: 'x' }, error: { reason: 'invalid_label_ref', message: 'series #2: label ref 99 out of range' }, samples: [{ ts: NOW, value: 1 }], exemplars: [{ labels: {}, value: 1, timestamp: NOW }] },
      { labels: { __name__: 'empty' } },
      { labels: { __name__: 'both' }, samples: [{ ts: NOW, value: 1 }], histograms: [histogram(NOW)] },
      { labels: { __name__: 'nul', v: 'a\u0000b' }, samples: [{ ts: NOW, value: 1 }] },
      { labels: { __name__: 'bad-utf8' }, unreadable: true, samples: [{ ts: NOW, value: 1 }, { ts: NOW - 1, value: 1 }] },
      { labels: { __name__: 'ok', i: '2' }, samples: [{ ts: NOW - 10, value: 1 }] },
    ]);
    const r = await t.storage.writer.write(tenant, req, limits, NOW);
    expect(r.written).toEqual({ samples: 2, histograms: 0, exemplars: 0 });
    expect(r.seriesCreated).toBe(2);
    const by = new Map(r.rejected.map((x) => [x.reason, x]));
    expect(by.get('too_far_in_future')).toMatchObject({ series: 1, samples: 1 });
    expect(by.get('too_far_in_future')!.example).toContain('ok');
    expect(by.get('too_old')).toMatchObject({ series: 1, samples: 1 });
    expect(by.get('missing_metric_name')).toMatchObject({ series: 1, samples: 1 });
    expect(by.get('invalid_label_ref')).toMatchObject({ series: 1, samples: 1, exemplars: 1, example: 'series #2: label ref 99 out of range' });
    expect(by.get('no_samples')).toMatchObject({ series: 1, samples: 0 });
    expect(by.get('samples_and_histograms')).toMatchObject({ series: 1, samples: 1, histograms: 1 });
    expect(by.get('invalid_utf8')).toMatchObject({ series: 2, samples: 3 });
    expect([...by.keys()].sort()).toEqual(['invalid_label_ref', 'invalid_utf8', 'missing_metric_name', 'no_samples', 'samples_and_histograms', 'too_far_in_future', 'too_old']);
    expect([...(await seriesIds(t, tenant, 'ok')).keys()].sort()).toEqual(['__name__=ok,i=1', '__name__=ok,i=2']);
    expect((await seriesIds(t, tenant, 'nul')).size).toBe(0);
  });

  it('skips an empty 1.0 series without refusing the request', async () => {
    await newTenant();
    const r = await t.storage.writer.write(tenant, decodedRequest([{ labels: { __name__: 'nothing' } }, { labels: { __name__: 'something' }, samples: [{ ts: NOW, value: 1 }] }], { version: 1 }), LIMITS, NOW);
    expect(r).toEqual({ written: { samples: 1, histograms: 0, exemplars: 0 }, rejected: [], duplicates: 0, seriesCreated: 1 });
  });

  it('stores native histograms as received, idempotently, and refuses invalid or conflicting ones', async () => {
    await newTenant();
    const labels = { __name__: 'latency_seconds', job: 'api' };
    const h1 = histogram(NOW - 2000, { startTimestamp: NOW - 100_000 });
    const h2 = histogram(NOW - 1000, { startTimestamp: NOW - 100_000, count: 6, positiveDeltas: [2, 1] });
    const bad = histogram(NOW, { count: 99 }); // buckets add up to 5
    const req = decodedRequest([{ labels, histograms: [h1, h2, bad, h1] }]);
    const r = await t.storage.writer.write(tenant, req, LIMITS, NOW);
    expect(r.written.histograms).toBe(3); // h1, h2, and h1 again (a duplicate inside the request)
    expect(r.duplicates).toBe(1);
    expect(r.rejected).toEqual([expect.objectContaining({ reason: 'invalid_histogram', histograms: 1, series: 1 })]);
    const [id] = (await seriesIds(t, tenant, 'latency_seconds')).values();
    const stored = [];
    for await (const h of t.storage.reader.readHistograms(tenant, [id], -Infinity, Infinity)) stored.push(h);
    expect(stored.map((h) => [h.timestamp, h.startTimestamp])).toEqual([
      [NOW - 2000, NOW - 100_000],
      [NOW - 1000, NOW - 100_000],
    ]);
    expect(Buffer.from(stored[0].raw).equals(Buffer.from(req.histograms[0].raw))).toBe(true);
    expect(decodeHistogram(stored[1].raw)).toMatchObject({ count: 6, positiveDeltas: [2, 1], schema: 1 });

    // Resend: duplicates; a changed histogram at a stored timestamp: a conflict, the first one stays.
    const resend = await t.storage.writer.write(tenant, decodedRequest([{ labels, histograms: [h1, { ...h2, sum: 99 }] }]), LIMITS, NOW);
    expect(resend.written.histograms).toBe(1);
    expect(resend.duplicates).toBe(1);
    expect(resend.rejected).toEqual([expect.objectContaining({ reason: 'duplicate_sample_conflict', histograms: 1 })]);
    const again = [];
    for await (const h of t.storage.reader.readHistograms(tenant, [id], -Infinity, Infinity)) again.push(h);
    expect(again).toHaveLength(2);
    expect(decodeHistogram(again[1].raw).sum).toBe(12.5);
  });

  it('stores exemplars once and reads them back', async () => {
    await newTenant();
    const spec: SeriesSpec = {
      labels: { __name__: 'requests_total' },
      samples: [{ ts: NOW - 1000, value: 10 }],
      exemplars: [
        { labels: { trace_id: 'abc', span_id: 'def' }, value: 1.5, timestamp: NOW - 1000 },
        { labels: {}, value: -0, timestamp: NOW - 900 },
        { labels: { trace_id: 'ünï' }, value: Infinity, timestamp: NOW - 800 },
        { labels: { trace_id: 'x' }, value: 1, timestamp: 0 }, // no timestamp: invalid
        { labels: { trace_id: 'nul\u0000' }, value: 1, timestamp: NOW - 700 },
      ],
    };
    const r = await t.storage.writer.write(tenant, decodedRequest([spec]), LIMITS, NOW);
    expect(r.written.exemplars).toBe(3);
    expect(r.rejected).toEqual([expect.objectContaining({ reason: 'invalid_exemplar', exemplars: 2 })]);
    const again = await t.storage.writer.write(tenant, decodedRequest([spec]), LIMITS, NOW);
    expect(again.written.exemplars).toBe(3);
    const [id] = (await seriesIds(t, tenant, 'requests_total')).values();
    const back = [];
    for await (const e of t.storage.reader.readExemplars(tenant, [id], -Infinity, Infinity)) back.push(e);
    expect(back).toHaveLength(3);
    expect(back[0]).toEqual({ seriesId: id, timestamp: NOW - 1000, value: 1.5, labels: [{ name: 'span_id', value: 'def' }, { name: 'trace_id', value: 'abc' }] });
    expect(Object.is(back[1].value, -0)).toBe(true);
    expect(back[1].labels).toEqual([]);
    expect(back[2]).toMatchObject({ value: Infinity, labels: [{ name: 'trace_id', value: 'ünï' }] });
  });

  it('upserts metadata, last one wins', async () => {
    await newTenant();
    const m = (help: string, type: 1 | 2 = 1) => ({ metricFamilyName: 'http_requests_total', type, help, unit: '' });
    const series: SeriesSpec[] = [{ labels: { __name__: 'http_requests_total' }, samples: [{ ts: NOW, value: 1 }] }];
    await t.storage.writer.write(tenant, decodedRequest(series, { metadata: [m('first'), m('second'), { metricFamilyName: 'temp_celsius', type: 2, help: 'Temperature', unit: 'celsius' }] }), LIMITS, NOW);
    expect(await t.storage.reader.metadata(tenant)).toEqual([
      { metricFamilyName: 'http_requests_total', type: 1, help: 'second', unit: '' },
      { metricFamilyName: 'temp_celsius', type: 2, help: 'Temperature', unit: 'celsius' },
    ]);
    // Metadata alone is written too; unchanged metadata is skipped by the cache (and would be a no-op).
    const r = await t.storage.writer.write(tenant, decodedRequest([], { metadata: [m('third', 2), m('third', 2)] }), LIMITS, NOW);
    expect(r.rejected).toEqual([]);
    expect(await t.storage.reader.metadata(tenant, 'http_requests_total')).toEqual([{ metricFamilyName: 'http_requests_total', type: 2, help: 'third', unit: '' }]);
  });

  it('keeps the distinct start timestamps of a series with the first time each was seen', async () => {
    await newTenant();
    const labels = { __name__: 'c_total' };
    const s = (ts: number, st: number) => ({ ts, value: ts, startTs: st });
    await t.storage.writer.write(tenant, decodedRequest([{ labels, samples: [s(NOW - 4000, NOW - 10_000), s(NOW - 3000, NOW - 10_000), s(NOW - 2000, NOW - 2500), s(NOW - 1000, NOW - 2500)] }]), LIMITS, NOW);
    await t.storage.writer.write(tenant, decodedRequest([{ labels, samples: [s(NOW, NOW - 2500), s(NOW + 1000, 0)] }]), LIMITS, NOW + 1000);
    const tx = await t.storage.db.begin({ tenant });
    try {
      const { rows } = await tx.query<{ start_ts: string | number; first_seen_ts: string | number }>('SELECT start_ts, first_seen_ts FROM series_start_timestamps ORDER BY start_ts');
      expect(rows.map((r) => [Number(r.start_ts), Number(r.first_seen_ts)])).toEqual([
        [NOW - 10_000, NOW - 4000],
        [NOW - 2500, NOW - 2000],
      ]);
    } finally {
      await tx.rollback();
    }
  });

  it('creates one partition per UTC day and records series activity per day', async () => {
    await newTenant();
    const d0 = Date.UTC(2025, 2, 1, 23, 59, 59, 999);
    const r = await t.storage.writer.write(
      tenant,
      decodedRequest([{ labels: { __name__: 'days' }, samples: [{ ts: d0, value: 1 }, { ts: d0 + 1, value: 2 }, { ts: d0 + 1 + DAY, value: 3 }] }]),
      LIMITS,
      NOW,
    );
    expect(r.written.samples).toBe(3);
    const parts = await t.storage.db.query<{ child: string; parent: string }>(
      `SELECT c.relname AS child, p.relname AS parent FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE c.relname LIKE '%\\_2025030_' ORDER BY 1`,
    );
    expect(parts.rows.map((x) => x.child)).toEqual(['exemplars_20250301', 'exemplars_20250302', 'exemplars_20250303', 'histograms_20250301', 'histograms_20250302', 'histograms_20250303', 'samples_20250301', 'samples_20250302', 'samples_20250303']);
    expect(new Set(parts.rows.map((x) => x.parent))).toEqual(new Set(['samples', 'histograms', 'exemplars']));
    const counts = await t.storage.db.query<{ n: number; p: string }>(
      `SELECT tableoid::regclass::text AS p, count(*)::int AS n FROM samples WHERE tenant_id = $1 GROUP BY 1 ORDER BY 1`,
      [tenant],
    );
    expect(counts.rows).toEqual([
      { p: 'samples_20250301', n: 1 },
      { p: 'samples_20250302', n: 1 },
      { p: 'samples_20250303', n: 1 },
    ]);
    const [id] = (await seriesIds(t, tenant, 'days')).values();
    const activity = await t.storage.db.query<{ day: number }>('SELECT day FROM series_activity WHERE tenant_id = $1 AND series_id = $2 ORDER BY day', [tenant, id]);
    expect(activity.rows.map((x) => x.day)).toEqual([0, 1, 2].map((k) => Math.floor(d0 / DAY) + k));
  });

  it('lets concurrent writers create the same new series and day, and absorbs a concurrent resend', async () => {
    await newTenant();
    const day = Date.UTC(2025, 5, 10, 12);
    const specs: SeriesSpec[] = Array.from({ length: 200 }, (_, i) => ({
      labels: { __name__: 'race', i: String(i) },
      samples: [{ ts: day, value: i }, { ts: day + 1000, value: { bits: STALE_NAN_BITS } }],
    }));
    const writers = [t.storage.writer, new PgIngestWriter(t.storage.db, { partitions: new PartitionManager(t.storage.db) })];
    if (kind === 'pg') writers.push((await t.reopen()).writer); // another receiver process, its own pool
    // The same request from every writer, one of them in reverse series order.
    const results = await Promise.all(writers.map((w, k) => w.write(tenant, decodedRequest(k === 1 ? [...specs].reverse() : specs), LIMITS, NOW)));
    for (const r of results) {
      expect(r.rejected).toEqual([]);
      expect(r.written.samples).toBe(400);
    }
    expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(400 * (writers.length - 1));
    expect(results.reduce((n, r) => n + r.seriesCreated, 0)).toBe(200);
    const ids = [...(await seriesIds(t, tenant, 'race')).values()];
    expect(ids).toHaveLength(200);
    const back = await readAll(t, tenant, ids);
    expect([...back.values()].every((x) => x.length === 2 && x[1][1] === STALE_NAN_BITS)).toBe(true);
  });

  it('recreates a cached partition that retention dropped', async () => {
    await newTenant();
    const day = Date.UTC(2024, 6, 1, 6);
    const labels = { __name__: 'retained' };
    await t.storage.writer.write(tenant, decodedRequest([{ labels, samples: [{ ts: day, value: 1 }] }]), LIMITS, NOW);
    for (const table of ['samples', 'histograms', 'exemplars']) await t.storage.db.query(`DROP TABLE ${table}_20240701`);
    const r = await t.storage.writer.write(tenant, decodedRequest([{ labels, samples: [{ ts: day + 1000, value: 2 }] }]), LIMITS, NOW);
    expect(r.written.samples).toBe(1);
    const [id] = (await seriesIds(t, tenant, 'retained')).values();
    expect((await readAll(t, tenant, [id])).get(id)).toEqual([[day + 1000, bitsOf(2)]]);
  });

  it('writes what the protocol decoders produce (1.0 and 2.0)', async () => {
    await newTenant();
    const stale = new Float64Array(new BigUint64Array([STALE_NAN_BITS]).buffer)[0];
    const input = {
      series: [
        { labels: [{ name: '__name__', value: 'wire' }, { name: 'v', value: '1' }], samples: [{ value: 1.25, timestamp: NOW - 1000 }, { value: stale, timestamp: NOW }] },
        { labels: [{ name: '__name__', value: 'wire_hist' }], histograms: [histogram(NOW - 1000)], metadata: { type: 3 as const, help: 'h' } },
      ],
    };
    const v1 = await t.storage.writer.write(tenant, decodeWriteRequest(1, encodeWriteRequestV1(input)), LIMITS, NOW);
    expect(v1.written).toEqual({ samples: 2, histograms: 1, exemplars: 0 });
    const v2 = await t.storage.writer.write(tenant, decodeWriteRequest(2, encodeWriteRequestV2(input)), LIMITS, NOW);
    expect(v2.written).toEqual({ samples: 2, histograms: 1, exemplars: 0 });
    expect(v2.duplicates).toBe(3);
    const [id] = (await seriesIds(t, tenant, 'wire')).values();
    expect((await readAll(t, tenant, [id])).get(id)).toEqual([
      [NOW - 1000, bitsOf(1.25)],
      [NOW, STALE_NAN_BITS],
    ]);
  });
});

describe('ingest when PostgreSQL goes away', () => {
  let t: TestStorage;
  beforeAll(async () => {
    t = await openTestStorage('pg');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('throws StorageUnavailableError mid-transaction and commits nothing; a retry then writes once', async () => {
    const { tenant } = await t.storage.tenants.createTenant(uniqueName());
    const specs: SeriesSpec[] = Array.from({ length: 20 }, (_, i) => ({ labels: { __name__: 'cut', i: String(i) }, samples: [{ ts: NOW - 1000, value: i }, { ts: NOW, value: i + 1 }] }));
    const meta = [{ metricFamilyName: 'cut', type: 2 as const, help: 'x', unit: '' }];
    // Warm the day's partitions, so the only thing left to do is the data transaction.
    await t.storage.writer.write(tenant.id, decodedRequest([{ labels: { __name__: 'warm' }, samples: [{ ts: NOW - 5000, value: 0 }] }]), LIMITS, NOW);

    // Hold metric_metadata locked so the transaction stops after its COPY; then kill its connection.
    const admin = await t.reopen({ poolMax: 2 });
    const lock = await admin.db.begin({});
    let error: unknown = null;
    try {
      await lock.query('LOCK TABLE metric_metadata IN ACCESS EXCLUSIVE MODE');
      const writing = t.storage.writer.write(tenant.id, decodedRequest(specs, { metadata: meta }), LIMITS, NOW).then(
        () => null,
        (e: unknown) => e,
      );
      let pid: number | undefined;
      for (let i = 0; i < 100 && pid === undefined; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const { rows } = await admin.db.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO metric_metadata%'`,
        );
        pid = rows[0]?.pid;
      }
      expect(pid).toBeDefined();
      await admin.db.query('SELECT pg_terminate_backend($1)', [pid]);
      error = await writing;
    } finally {
      await lock.rollback();
    }
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect((error as StorageUnavailableError).code).toBe('storage_unavailable');

    // The series rows were committed before the data transaction (harmless: without activity rows they are
    // invisible to selectSeries); no sample, activity or metadata row was.
    const series = await t.storage.db.query<{ id: string }>(`SELECT id FROM series WHERE tenant_id = $1 AND metric_name = 'cut'`, [tenant.id]);
    const ids = series.rows.map((r) => Number(r.id));
    expect(ids).toHaveLength(20);
    expect((await seriesIds(t, tenant.id, 'cut')).size).toBe(0);
    expect((await readAll(t, tenant.id, ids)).size).toBe(0);
    expect(await t.storage.reader.metadata(tenant.id)).toEqual([]);

    const retry = await t.storage.writer.write(tenant.id, decodedRequest(specs, { metadata: meta }), LIMITS, NOW);
    expect(retry.written.samples).toBe(40);
    expect(retry.duplicates).toBe(0);
    const back = await readAll(t, tenant.id, ids);
    expect([...back.values()].every((s) => s.length === 2)).toBe(true);
  });

  it('throws StorageUnavailableError when the server cannot be reached', async () => {
    const { tenant } = await t.storage.tenants.createTenant(uniqueName());
    const url = new URL(t.database!.url);
    url.port = '1'; // nothing listens there
    const { openStorage } = await import('./open.ts');
    const gone = await openStorage({ databaseUrl: url.toString(), dataDir: t.dataDir.path });
    try {
      await expect(gone.writer.write(tenant.id, decodedRequest([{ labels: { __name__: 'x' }, samples: [{ ts: NOW, value: 1 }] }]), LIMITS, NOW)).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(gone.tenants.authenticate('tt_whatever')).rejects.toMatchObject({ code: 'storage_unavailable' });
      const ready = await gone.ready();
      expect(ready.ok).toBe(false);
    } finally {
      await gone.close();
    }
  });
});
