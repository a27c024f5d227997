import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWriteRequest, encodeWriteRequestV1 } from '../protocol/index.ts';
import { DEFAULT_WRITE_LIMITS } from '../protocol/types.ts';
import { tempDataDir } from '../test/support/databases.ts';
import { openStorage } from './open.ts';

describe('series cache budget', () => {
  // Opening and migrating PGlite takes seconds, many on a loaded machine: a hook, not the test's time.
  let dir: Awaited<ReturnType<typeof tempDataDir>>;
  let storage: Awaited<ReturnType<typeof openStorage>>;
  beforeAll(async () => {
    dir = await tempDataDir();
    storage = await openStorage({ dataDir: dir.path, seriesCacheSize: 8 });
    await storage.migrate();
  });
  afterAll(async () => {
    await storage?.close();
    await dir?.remove();
  });

  it('keeps one budget for all tenants, evicting the tenant that wrote longest ago, and stays correct', async () => {
    const a = (await storage.tenants.createTenant('a')).tenant.id;
    const b = (await storage.tenants.createTenant('b')).tenant.id;
    const t = Date.now() - 60_000;
    const request = (k: number) =>
      decodeWriteRequest(1, encodeWriteRequestV1({ series: Array.from({ length: 3 }, (_, i) => ({ labels: [{ name: '__name__', value: `m${i}` }], samples: [{ value: k, timestamp: t + k * 1000 }] })) }));
    const writer = storage.writer as typeof storage.writer & { cachedTenants: number[] };
    expect((await storage.writer.write(a, request(1), DEFAULT_WRITE_LIMITS, Date.now())).seriesCreated).toBe(3);
    expect((await storage.writer.write(b, request(1), DEFAULT_WRITE_LIMITS, Date.now())).seriesCreated).toBe(3);
    expect(writer.cachedTenants).toEqual([a, b]); // 6 of 8: both kept
    // A third tenant's three series take the total over 8: the tenant that wrote longest ago (a) goes.
    const c = (await storage.tenants.createTenant('c')).tenant.id;
    await storage.writer.write(c, request(1), DEFAULT_WRITE_LIMITS, Date.now());
    expect(writer.cachedTenants).toEqual([b, c]);
    // a writes again: its series resolve from the database, none is created twice.
    const again = await storage.writer.write(a, request(2), DEFAULT_WRITE_LIMITS, Date.now());
    expect(again.seriesCreated).toBe(0);
    expect(again.written.samples).toBe(3);
    expect(writer.cachedTenants.at(-1)).toBe(a);
  });
});
