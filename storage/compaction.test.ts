// Compaction of closed days (compaction.ts) and reading compacted data back (read.ts): what readSamples
// returns must not change, bit for bit, when days move into sample_chunks — whole ranges and ranges cut
// inside a day, NaN payloads, stale markers, -0 — on PostgreSQL and PGlite (whose reader pages by keyset
// through chunk rows). A write arriving for a compacted day is stored and read in time order; a resend of
// a compacted sample keeps the first value, as ingest's ON CONFLICT DO NOTHING does for raw rows.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WRITE_LIMITS } from '../protocol/index.ts';
import { decodedRequest, STALE_NAN_BITS, type SampleSpec, type SeriesSpec } from '../test/support/decoded.ts';
import { DRIVERS, openTestStorage, uniqueName, type TestStorage } from '../test/support/storage.ts';
import { DAY_MS } from './partitions.ts';
import { PgSeriesReader } from './read.ts';
import type { SeriesReader } from './types.ts';

const D0 = Date.UTC(2026, 2, 1) / DAY_MS; // first day
const day = (d: number, ms = 0): number => (D0 + d) * DAY_MS + ms;
const STEP = 7 * 60_000;
const NAN_PAYLOAD = 0x7ff8000000000abcn;
const NEG_ZERO = 0x8000000000000000n;

/** Three days of a gauge with every special value, a one-day series, and a series that starts late. */
function specs(): SeriesSpec[] {
  const n = Math.floor((3 * DAY_MS) / STEP);
  const gauge: SampleSpec[] = [];
  for (let i = 0; i < n; i++) {
    const ts = day(0, i * STEP + 1234);
    if (i % 41 === 7) gauge.push({ ts, value: { bits: STALE_NAN_BITS } });
    else if (i % 29 === 3) gauge.push({ ts, value: { bits: NAN_PAYLOAD } });
    else if (i % 31 === 5) gauge.push({ ts, value: { bits: NEG_ZERO } });
    else if (i === 100) gauge.push({ ts, value: Infinity });
    else gauge.push({ ts, value: Math.cos(i) * 1e9 + i });
  }
  return [
    { labels: { __name__: 'g', kind: 'special' }, samples: gauge },
    { labels: { __name__: 'g', kind: 'one-day' }, samples: Array.from({ length: 50 }, (_, i) => ({ ts: day(1, i * 60_000), value: i })) },
    { labels: { __name__: 'g', kind: 'late' }, samples: Array.from({ length: 30 }, (_, i) => ({ ts: day(2, 3_600_000 + i * 60_000), value: -i })) },
  ];
}

/** Every sample of the tenant's `g` series in [minT, maxT]: per series id, "ts:bits" strings. */
async function snapshot(reader: SeriesReader, tenant: number, minT: number, maxT: number): Promise<Record<number, string[]>> {
  const ids: number[] = [];
  for await (const r of reader.selectSeries(tenant, [{ type: '=', name: '__name__', value: 'g' }], minT, maxT)) ids.push(r.id);
  const out: Record<number, string[]> = {};
  for await (const b of reader.readSamples(tenant, ids, minT, maxT, 64)) {
    const bits = new BigUint64Array(b.values.buffer, b.values.byteOffset, b.values.length);
    const list = (out[b.seriesId] ??= []);
    for (let i = 0; i < b.timestamps.length; i++) list.push(`${b.timestamps[i]}:${bits[i]!.toString(16)}`);
  }
  return out;
}

const RANGES: Array<[number, number]> = [
  [day(-1), day(4)],
  [day(0, 1234), day(0, 1234)],
  [day(0, 5 * 3_600_000 + 1), day(1, 2 * 3_600_000)],
  [day(1, 30 * 60_000), day(1, 31 * 60_000)],
  [day(2, -1), day(2, 3_600_000 + 5 * 60_000)],
  [day(2, 12 * 3_600_000), day(3, 1)],
];

describe.each(DRIVERS)('compaction on %s', (kind) => {
  let t: TestStorage;
  let tenant: number;
  let other: number;
  let readers: SeriesReader[];
  const before: Array<Record<number, string[]>> = [];

  beforeAll(async () => {
    t = await openTestStorage(kind);
    tenant = (await t.storage.tenants.createTenant(uniqueName('compact'))).tenant.id;
    other = (await t.storage.tenants.createTenant(uniqueName('compact-other'))).tenant.id;
    const r = await t.storage.writer.write(tenant, decodedRequest(specs()), DEFAULT_WRITE_LIMITS, day(3));
    expect(r.rejected).toEqual([]);
    await t.storage.writer.write(other, decodedRequest([{ labels: { __name__: 'g', kind: 'other' }, samples: [{ ts: day(0, 5), value: 1 }] }]), DEFAULT_WRITE_LIMITS, day(3));
    // The default reader, and one paging every 3 rows (PGlite pages by keyset; pg streams either way).
    readers = [t.storage.reader, new PgSeriesReader(t.storage.db, { batchRows: 3 })];
    for (const [lo, hi] of RANGES) before.push(await snapshot(t.storage.reader, tenant, lo, hi));
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('moves closed days only, and reads back exactly what was there', async () => {
    // Day 2 ended at day(3); with the default hour of grace, at day(3) + 30 min it is not closed yet.
    const done = await t.storage.compactor.compactClosedDays(day(3, 30 * 60_000));
    expect(done.map((d) => d.day)).toEqual([D0, D0 + 1]);
    const specials = Math.floor(DAY_MS / STEP) + 1;
    expect(done[0]!.chunks).toBe(2); // two tenants' series on day 0
    expect(done[0]!.samples).toBeGreaterThanOrEqual(specials);
    expect(done[1]!.chunks).toBe(2);
    const rows = await t.storage.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM samples WHERE ts < ${day(2)}`);
    expect(Number(rows.rows[0]!.n)).toBe(0);
    for (const reader of readers) {
      for (let i = 0; i < RANGES.length; i++) expect(await snapshot(reader, tenant, ...RANGES[i]!), `range ${i}`).toEqual(before[i]);
    }
    // Nothing left to do; the other tenant sees only its own sample.
    expect(await t.storage.compactor.compactClosedDays(day(3, 30 * 60_000))).toEqual([]);
    const mine = await snapshot(t.storage.reader, other, day(-1), day(4));
    expect(Object.values(mine)).toEqual([[`${day(0, 5)}:3ff0000000000000`]]);
    // Series ids of one tenant read under another yield nothing.
    const ids = Object.keys(before[0]!).map(Number);
    const leaked: number[] = [];
    for await (const b of t.storage.reader.readSamples(other, ids, day(-1), day(4))) leaked.push(b.seriesId);
    expect(leaked).toEqual([]);
  });

  it('stores a late write to a compacted day, keeps the first value of a resend, and compacts it again', async () => {
    const [lo, hi] = RANGES[0]!;
    const first = await snapshot(t.storage.reader, tenant, lo, hi);
    const oneDayId = Number(Object.keys(first).find((id) => first[Number(id)]!.length === 50));
    const late = decodedRequest([
      {
        labels: { __name__: 'g', kind: 'one-day' },
        samples: [
          { ts: day(1, 30_000), value: 0.5 }, // new, between two compacted samples
          { ts: day(1, 60_000), value: 999 }, // a resend with another value: the first one stays
        ],
      },
    ]);
    const r = await t.storage.writer.write(tenant, late, DEFAULT_WRITE_LIMITS, day(3));
    expect(r.rejected).toEqual([]);
    const expected = { ...first };
    const list = [...first[oneDayId]!];
    list.splice(1, 0, `${day(1, 30_000)}:3fe0000000000000`);
    expected[oneDayId] = list;
    for (const reader of readers) expect(await snapshot(reader, tenant, lo, hi)).toEqual(expected);

    const again = await t.storage.compactor.compactClosedDays(day(3, 30 * 60_000));
    expect(again.map((d) => [d.day, d.samples, d.chunks])).toEqual([[D0 + 1, 2, 1]]);
    const seqs = await t.storage.db.query<{ seq: number }>(`SELECT seq FROM sample_chunks WHERE series_id = ${oneDayId} ORDER BY seq`);
    expect(seqs.rows.map((x) => x.seq)).toEqual([0, 1]);
    for (const reader of readers) {
      expect(await snapshot(reader, tenant, lo, hi)).toEqual(expected);
      expect(await snapshot(reader, tenant, day(1, 30_000), day(1, 60_000))).toEqual({ [oneDayId]: [`${day(1, 30_000)}:3fe0000000000000`, `${day(1, 60_000)}:3ff0000000000000`] });
    }
  });

  it('reads without PostgreSQL JIT (it cost more than whole reads)', async () => {
    if (kind !== 'pg') return; // PGlite has no JIT
    const { rows } = await t.storage.db.query<{ jit: string }>('SHOW jit');
    expect(rows[0]!.jit).toBe('off');
  });

  it('refuses a nonsensical grace', async () => {
    await expect(t.storage.compactor.compactClosedDays(day(3), -1)).rejects.toThrow(/grace/);
  });
});
