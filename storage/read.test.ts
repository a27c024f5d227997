import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WRITE_LIMITS } from '../protocol/index.ts';
import { bitsAt, bitsOf, decodedRequest, type SeriesSpec } from '../test/support/decoded.ts';
import { DRIVERS, openTestStorage, uniqueName, type TestStorage } from '../test/support/storage.ts';
import { SqlState, sqlStateOf } from './errors.ts';
import { anchoredRegex, literalAlternatives, PgSeriesReader } from './read.ts';
import type { LabelMatcher, SampleBlock, TenantId } from './types.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 0, 20, 12, 0, 0);

const SERIES: Record<string, Record<string, string>> = {
  get200: { __name__: 'http_requests_total', job: 'api', method: 'GET', code: '200' },
  post500: { __name__: 'http_requests_total', job: 'api', method: 'POST', code: '500' },
  webGet: { __name__: 'http_requests_total', job: 'web', method: 'GET' },
  cpu: { __name__: 'process_cpu_seconds_total', job: 'api' },
  up: { __name__: 'Up', job: 'node', instance: 'a\nb' }, // only has data three days ago
};

describe('regex helpers', () => {
  it('anchors like Prometheus and keeps embedded options first', () => {
    expect(anchoredRegex('a|b')).toBe('^(?:a|b)$');
    expect(anchoredRegex('(?i)up')).toBe('(?i)^(?:up)$');
    expect(literalAlternatives('GET|POST')).toEqual(['GET', 'POST']);
    expect(literalAlternatives('')).toEqual(['']);
    expect(literalAlternatives('G.T')).toBeNull();
    expect(literalAlternatives('a\\|b')).toBeNull();
  });
});

describe.each(DRIVERS)('reading on %s', (kind) => {
  let t: TestStorage;
  let tenant: TenantId;
  let other: TenantId;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    t = await openTestStorage(kind);
    tenant = (await t.storage.tenants.createTenant(uniqueName())).tenant.id;
    other = (await t.storage.tenants.createTenant(uniqueName())).tenant.id;
    const specs: SeriesSpec[] = Object.entries(SERIES).map(([name, labels]) => ({
      labels,
      key: name,
      samples: name === 'up' ? [{ ts: NOW - 3 * DAY, value: 1 }] : [{ ts: NOW - 60_000, value: 1 }, { ts: NOW, value: 2 }],
    }));
    await t.storage.writer.write(tenant, decodedRequest(specs), DEFAULT_WRITE_LIMITS, NOW);
    // The other tenant has a series with identical labels, and more.
    await t.storage.writer.write(other, decodedRequest([{ labels: SERIES.get200, samples: [{ ts: NOW, value: 99 }] }, { labels: { __name__: 'secret_metric', job: 'api' }, samples: [{ ts: NOW, value: 42 }] }]), DEFAULT_WRITE_LIMITS, NOW);
    for await (const s of t.storage.reader.selectSeries(tenant, [], -Infinity, Infinity)) {
      const name = Object.entries(SERIES).find(([, labels]) => JSON.stringify(Object.fromEntries(s.labels.map((l) => [l.name, l.value]))) === JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)))))?.[0];
      if (name) ids[name] = s.id;
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  async function select(matchers: LabelMatcher[], minT = -Infinity, maxT = Infinity, who = tenant): Promise<string[]> {
    const out: string[] = [];
    for await (const s of t.storage.reader.selectSeries(who, matchers, minT, maxT)) {
      const name = Object.entries(ids).find(([, id]) => id === s.id)?.[0] ?? `other:${s.labels.find((l) => l.name === '__name__')?.value}`;
      out.push(name);
    }
    return out.sort();
  }
  const m = (name: string, type: LabelMatcher['type'], value: string): LabelMatcher => ({ name, type, value });

  it('returns series with sorted labels', async () => {
    expect(Object.keys(ids).sort()).toEqual(Object.keys(SERIES).sort());
    const all = [];
    for await (const s of t.storage.reader.selectSeries(tenant, [m('__name__', '=', 'Up')], -Infinity, Infinity)) all.push(s);
    expect(all).toEqual([{ id: ids.up, labels: [{ name: '__name__', value: 'Up' }, { name: 'instance', value: 'a\nb' }, { name: 'job', value: 'node' }] }]);
  });

  it('matches equality, inequality and empty values as PromQL does', async () => {
    expect(await select([m('__name__', '=', 'http_requests_total')])).toEqual(['get200', 'post500', 'webGet']);
    expect(await select([m('__name__', '=', 'http_requests_total'), m('code', '=', '')])).toEqual(['webGet']);
    expect(await select([m('code', '!=', '')])).toEqual(['get200', 'post500']);
    expect(await select([m('__name__', '=', 'http_requests_total'), m('code', '!=', '200')])).toEqual(['post500', 'webGet']);
    expect(await select([m('job', '=', 'api'), m('method', '=', 'GET')])).toEqual(['get200']);
    expect(await select([m('job', '=', 'api'), m('job', '=', 'web')])).toEqual([]);
    expect(await select([m('__name__', '!=', 'http_requests_total')])).toEqual(['cpu', 'up']);
    expect(await select([m('__name__', '=', '')])).toEqual([]);
    expect(await select([m('nonexistent', '=', '')])).toEqual(['cpu', 'get200', 'post500', 'up', 'webGet']);
  });

  it('matches anchored regular expressions, literal alternations and the empty string', async () => {
    expect(await select([m('method', '=~', 'G.*')])).toEqual(['get200', 'webGet']);
    expect(await select([m('method', '=~', 'GET|POST')])).toEqual(['get200', 'post500', 'webGet']);
    expect(await select([m('method', '!~', 'GET')])).toEqual(['cpu', 'post500', 'up']);
    expect(await select([m('job', '=~', 'ap')])).toEqual([]); // anchored: no partial match
    expect(await select([m('job', '=~', 'a.*|w.b')])).toEqual(['cpu', 'get200', 'post500', 'webGet']);
    expect(await select([m('code', '=~', '')])).toEqual(['cpu', 'up', 'webGet']);
    expect(await select([m('code', '=~', '2..|')])).toEqual(['cpu', 'get200', 'up', 'webGet']);
    expect(await select([m('code', '=~', '.*')])).toEqual(['cpu', 'get200', 'post500', 'up', 'webGet']);
    expect(await select([m('code', '=~', '.+')])).toEqual(['get200', 'post500']);
    expect(await select([m('code', '!~', '.+')])).toEqual(['cpu', 'up', 'webGet']);
    expect(await select([m('code', '!~', '.*')])).toEqual([]);
    expect(await select([m('__name__', '=~', 'http_.*')])).toEqual(['get200', 'post500', 'webGet']);
    expect(await select([m('__name__', '!~', 'http_.*|process_.+')])).toEqual(['up']);
    expect(await select([m('__name__', '=~', '(?i)up')])).toEqual(['up']);
    expect(await select([m('__name__', '=~', 'up')])).toEqual([]);
    expect(await select([m('instance', '=~', 'a.b')])).toEqual(['up']); // '.' matches a newline, as in Prometheus (?s)
    expect(await select([m('code', '=~', '[0-9]{3}'), m('code', '!~', '5\\d\\d')])).toEqual(['get200']);
  });

  it('refuses a regex PostgreSQL cannot compile, or an unknown matcher type, with invalid_matcher', async () => {
    await expect(select([m('job', '=~', '((')])).rejects.toMatchObject({ code: 'invalid_matcher' });
    await expect(select([{ name: 'job', type: '==' as LabelMatcher['type'], value: 'x' }])).rejects.toMatchObject({ code: 'invalid_matcher' });
  });

  it('selects by time range through the days series had data, without scanning samples', async () => {
    expect(await select([], NOW - HOUR, NOW)).toEqual(['cpu', 'get200', 'post500', 'webGet']);
    expect(await select([], NOW - 3 * DAY - HOUR, NOW - 3 * DAY + HOUR)).toEqual(['up']);
    expect(await select([], NOW - 3 * DAY, NOW)).toEqual(['cpu', 'get200', 'post500', 'up', 'webGet']);
    expect(await select([], NOW + DAY, NOW + 2 * DAY)).toEqual([]);
  });

  it('lists label names and values under matchers and time range', async () => {
    expect(await t.storage.reader.labelNames(tenant, [], -Infinity, Infinity)).toEqual(['__name__', 'code', 'instance', 'job', 'method']);
    expect(await t.storage.reader.labelNames(tenant, [m('job', '=', 'web')], -Infinity, Infinity)).toEqual(['__name__', 'job', 'method']);
    expect(await t.storage.reader.labelNames(tenant, [], NOW - HOUR, NOW)).toEqual(['__name__', 'code', 'job', 'method']);
    expect(await t.storage.reader.labelValues(tenant, 'method', [], -Infinity, Infinity)).toEqual(['GET', 'POST']);
    expect(await t.storage.reader.labelValues(tenant, '__name__', [m('job', '=', 'api')], -Infinity, Infinity)).toEqual(['http_requests_total', 'process_cpu_seconds_total']);
    expect(await t.storage.reader.labelValues(tenant, '__name__', [], -Infinity, Infinity)).toEqual(['Up', 'http_requests_total', 'process_cpu_seconds_total']); // byte order
    expect(await t.storage.reader.labelValues(tenant, 'nope', [], -Infinity, Infinity)).toEqual([]);
  });

  it('reads samples in [minT, maxT] inclusive', async () => {
    const read = async (minT: number, maxT: number) => {
      const out: Array<[number, number]> = [];
      for await (const b of t.storage.reader.readSamples(tenant, [ids.get200], minT, maxT)) for (let i = 0; i < b.timestamps.length; i++) out.push([b.timestamps[i], b.values[i]]);
      return out;
    };
    expect(await read(NOW - 60_000, NOW)).toEqual([[NOW - 60_000, 1], [NOW, 2]]);
    expect(await read(NOW - 59_999, NOW)).toEqual([[NOW, 2]]);
    expect(await read(NOW - 60_000, NOW - 1)).toEqual([[NOW - 60_000, 1]]);
    expect(await read(NOW + 1, Infinity)).toEqual([]);
    expect(await read(NOW, NOW - 1)).toEqual([]);
  });

  it('streams bounded pages: at most pageSamples per block, series in order, nothing lost', async () => {
    const paging = (await t.storage.tenants.createTenant(uniqueName())).tenant.id;
    const perSeries = [1000, 3, 257, 0];
    const specs: SeriesSpec[] = perSeries.map((n, s) => ({
      labels: { __name__: 'paged', s: String(s) },
      samples: Array.from({ length: n }, (_, i) => ({ ts: NOW - 2 * DAY + i * 15_000 + s, value: i % 7 === 0 ? { bits: 0x7ff0000000000002n } : i * 0.5 + s })),
    }));
    const written = await t.storage.writer.write(paging, decodedRequest(specs.filter((x) => x.samples!.length > 0)), DEFAULT_WRITE_LIMITS, NOW);
    expect(written.written.samples).toBe(1260);
    const byLabel = new Map<string, number>();
    for await (const s of t.storage.reader.selectSeries(paging, [m('__name__', '=', 'paged')], -Infinity, Infinity)) byLabel.set(s.labels[1].value, s.id);
    const seriesIdsInOrder = [0, 1, 2].map((s) => byLabel.get(String(s))!);

    // The default reader, and one that pages its queries every 100 rows (PGlite's path, forced small).
    for (const reader of [t.storage.reader, new PgSeriesReader(t.storage.db, { batchRows: 100 })]) {
      for (const pageSamples of [1, 64, 256, 10_000]) {
        const blocks: SampleBlock[] = [];
        for await (const b of reader.readSamples(paging, [...seriesIdsInOrder].reverse(), -Infinity, Infinity, pageSamples)) blocks.push(b);
        for (const b of blocks) {
          expect(b.timestamps.length).toBeLessThanOrEqual(pageSamples);
          expect(b.timestamps.length).toBeGreaterThan(0);
          expect(b.values.length).toBe(b.timestamps.length);
        }
        // Ascending series ids, each series' blocks contiguous and in timestamp order, values exact.
        const order = blocks.map((b) => b.seriesId).filter((id, i, a) => i === 0 || a[i - 1] !== id);
        expect(order).toEqual([...seriesIdsInOrder].sort((a, b) => a - b));
        for (const [s, id] of seriesIdsInOrder.entries()) {
          const mine = blocks.filter((b) => b.seriesId === id);
          const ts = mine.flatMap((b) => [...b.timestamps]);
          const bits = mine.flatMap((b) => Array.from({ length: b.values.length }, (_, i) => bitsAt(b.values, i)));
          expect(ts).toEqual(Array.from({ length: perSeries[s] }, (_, i) => NOW - 2 * DAY + i * 15_000 + s));
          expect(bits).toEqual(Array.from({ length: perSeries[s] }, (_, i) => (i % 7 === 0 ? 0x7ff0000000000002n : bitsOf(i * 0.5 + s))));
          if (pageSamples === 64 && s === 0) expect(mine.length).toBe(Math.ceil(1000 / 64));
        }
      }
    }
  });

  it('stops cleanly when the consumer stops early, and the connection is usable afterwards', async () => {
    let n = 0;
    for await (const b of t.storage.reader.readSamples(tenant, Object.values(ids), -Infinity, Infinity, 1)) {
      n += b.timestamps.length;
      if (n >= 2) break;
    }
    expect(n).toBe(2);
    expect(await t.storage.reader.labelValues(tenant, 'job', [], -Infinity, Infinity)).toEqual(['api', 'node', 'web']);
  });

  it('never shows one tenant the series or samples of another', async () => {
    expect(await select([])).toEqual(['cpu', 'get200', 'post500', 'up', 'webGet']);
    expect(await select([], -Infinity, Infinity, other)).toEqual(['other:http_requests_total', 'other:secret_metric']);
    // Asking for the other tenant's series ids by number yields nothing.
    const theirs: number[] = [];
    for await (const s of t.storage.reader.selectSeries(other, [], -Infinity, Infinity)) theirs.push(s.id);
    expect(theirs.some((id) => Object.values(ids).includes(id))).toBe(false);
    const leaked: SampleBlock[] = [];
    for await (const b of t.storage.reader.readSamples(tenant, theirs, -Infinity, Infinity)) leaked.push(b);
    expect(leaked).toEqual([]);
    expect(await t.storage.reader.labelValues(tenant, '__name__', [], -Infinity, Infinity)).not.toContain('secret_metric');
    expect(await t.storage.reader.metadata(other)).toEqual([]);
  });

  it('enforces isolation in SQL: row-level security bites under the tenant role', async () => {
    const count = async (scope: { tenant?: number }, sql: string, params: unknown[] = []) => {
      const tx = await t.storage.db.begin(scope);
      try {
        const { rows } = await tx.query<{ n: number }>(sql, params);
        return rows[0].n;
      } finally {
        await tx.rollback();
      }
    };
    const total = await count({}, 'SELECT count(*)::int AS n FROM samples');
    const mine = await count({}, 'SELECT count(*)::int AS n FROM samples WHERE tenant_id = $1', [tenant]);
    const theirs = await count({}, 'SELECT count(*)::int AS n FROM samples WHERE tenant_id = $1', [other]);
    expect(mine).toBe(9);
    expect(theirs).toBe(2);
    expect(total).toBeGreaterThanOrEqual(mine + theirs);

    // Under the role, a bare SELECT sees only the scoped tenant's rows, whatever the WHERE says.
    expect(await count({ tenant }, 'SELECT count(*)::int AS n FROM samples')).toBe(mine);
    expect(await count({ tenant: other }, 'SELECT count(*)::int AS n FROM samples')).toBe(theirs);
    expect(await count({ tenant }, 'SELECT count(*)::int AS n FROM samples WHERE tenant_id = $1', [other])).toBe(0);
    expect(await count({ tenant }, 'SELECT count(*)::int AS n FROM series WHERE tenant_id = $1', [other])).toBe(0);
    expect(await count({ tenant: 999_999 }, 'SELECT count(*)::int AS n FROM series')).toBe(0);

    // The role switch is what makes it bite: the session user (superuser/owner) bypasses RLS even with the setting.
    const bypass = await t.storage.db.begin({});
    try {
      await bypass.query(`SELECT set_config('trimtab.tenant_id', $1, true)`, [String(tenant)]);
      const { rows } = await bypass.query<{ n: number }>('SELECT count(*)::int AS n FROM samples');
      expect(rows[0].n).toBe(total);
    } finally {
      await bypass.rollback();
    }

    // Tx.asOwner (the ingest COPY's escape hatch) is confined to its callback: the role comes back after it.
    const scoped = await t.storage.db.begin({ tenant });
    try {
      const countIn = async () => (await scoped.query<{ n: number }>('SELECT count(*)::int AS n FROM samples')).rows[0].n;
      expect(await scoped.asOwner(countIn)).toBe(total);
      expect(await countIn()).toBe(mine);
    } finally {
      await scoped.rollback();
    }

    // Writing another tenant's rows, or reading tokens, is refused.
    const denied = async (sql: string, params: unknown[] = []) => {
      const tx = await t.storage.db.begin({ tenant });
      try {
        await tx.query(sql, params);
        return null;
      } catch (error) {
        return sqlStateOf(error);
      } finally {
        await tx.rollback();
      }
    };
    expect(await denied('INSERT INTO series_activity (tenant_id, series_id, day) VALUES ($1, 1, 1)', [other])).toBe('42501');
    expect(await denied(`INSERT INTO series (tenant_id, labels_hash, metric_name, labels) VALUES ($1, '\\x00', 'x', '{}')`, [other])).toBe('42501');
    expect(await denied('SELECT count(*) FROM api_tokens')).toBe('42501');
    expect(await denied('SELECT count(*) FROM tenants')).toBe('42501');
    expect(await denied('UPDATE series SET metric_name = metric_name')).toBe('42501');
    expect(SqlState.UNDEFINED_TABLE).toBe('42P01');
  });
});
