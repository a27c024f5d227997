// The analyzer leader compacts closed days of samples at its interval (storage/compaction.ts), and the
// data reads back unchanged through the query path.

import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Analyzer } from '../../analyzer/analyzer.ts';
import { createLogger } from '../../lib/log.ts';
import { DEFAULT_WRITE_LIMITS } from '../../protocol/index.ts';
import { Engine } from '../../promql/engine.ts';
import { StorageQueryable } from '../../promql/storage-queryable.ts';
import { DAY_MS } from '../../storage/partitions.ts';
import { decodedRequest } from '../support/decoded.ts';
import { openTestStorage, uniqueName, type TestStorage } from '../support/storage.ts';

describe('analyzer storage compaction', () => {
  let ts: TestStorage;
  let analyzer: Analyzer;
  const lines: string[] = [];

  beforeAll(async () => {
    ts = await openTestStorage('pglite');
  }, 60_000);
  afterAll(async () => {
    await analyzer?.stop();
    await ts?.close();
  });

  it('moves days that ended before the grace into chunks while leading', async () => {
    const tenant = (await ts.storage.tenants.createTenant(uniqueName('compaction'))).tenant.id;
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const start = today - 2 * DAY_MS;
    const samples = Array.from({ length: 200 }, (_, i) => ({ ts: start + i * 15 * 60_000, value: i }));
    const written = await ts.storage.writer.write(tenant, decodedRequest([{ labels: { __name__: 'u', job: 'x' }, samples }]), DEFAULT_WRITE_LIMITS, Date.now());
    expect(written.rejected).toEqual([]);
    const query = `sum_over_time(u[3d])`;
    const at = Date.now();
    const expected = (await new Engine().instantQuery(new StorageQueryable(ts.storage.reader, tenant), query, at)).value;
    expect(expected).toMatchObject({ result: [{ v: (199 * 200) / 2 }] });

    analyzer = new Analyzer({
      storage: ts.storage,
      driver: ts.storage.db,
      logger: createLogger({ level: 'info', write: (l) => lines.push(l) }),
      registry: new Registry(),
      election: { mode: 'none', identity: 'x', leaseName: 'x', leaseNamespace: 'default', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      ruleFiles: [],
      evaluationIntervalMs: 60_000,
      compactionIntervalMs: 100,
      compactionGraceMs: 0,
    });
    await analyzer.start();
    const deadline = Date.now() + 20_000;
    while (!lines.some((l) => l.includes('storage compaction done'))) {
      if (Date.now() > deadline) throw new Error(`no compaction logged: ${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const chunks = await ts.storage.db.query<{ n: string | number }>('SELECT count(*) AS n FROM sample_chunks');
    expect(Number(chunks.rows[0]!.n)).toBe(2); // the two closed days; today stays raw
    const raw = await ts.storage.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM samples WHERE ts < ${today}`);
    expect(Number(raw.rows[0]!.n)).toBe(0);
    const after = (await new Engine().instantQuery(new StorageQueryable(ts.storage.reader, tenant), query, at)).value;
    expect(after).toEqual(expected);
  }, 60_000);
});
