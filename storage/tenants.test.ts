import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIVERS, openTestStorage, uniqueName, type TestStorage } from '../test/support/storage.ts';
import { StorageError } from './errors.ts';

async function* files(dir: string): AsyncIterable<string> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.isFile()) yield p;
  }
}

describe.each(DRIVERS)('tenants and tokens on %s', (kind) => {
  let t: TestStorage;
  beforeAll(async () => {
    t = await openTestStorage(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a tenant with a tt_ token that authenticates, stored only as its SHA-256', async () => {
    const name = uniqueName();
    const { tenant, token } = await t.storage.tenants.createTenant(name);
    expect(tenant.name).toBe(name);
    expect(tenant.id).toBeGreaterThan(0);
    expect(token).toMatch(/^tt_[A-Za-z0-9_-]{43}$/);
    expect(await t.storage.tenants.authenticate(token)).toEqual(tenant);
    expect(await t.storage.tenants.authenticate(token + 'x')).toBeNull();
    expect(await t.storage.tenants.authenticate('')).toBeNull();

    const stored = await t.storage.db.query<{ h: string; prefix: string }>(
      `SELECT encode(k.token_hash, 'hex') AS h, k.prefix FROM api_tokens k WHERE k.tenant_id = $1`,
      [tenant.id],
    );
    expect(stored.rows).toEqual([{ h: createHash('sha256').update(token).digest('hex'), prefix: token.slice(0, 9) }]);

    // The clear token appears in no row of any table, as text or as hex bytes.
    const secret = token.slice(3); // past the public "tt_"
    const tables = await t.storage.db.query<{ relname: string }>(`SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')`);
    expect(tables.rows.length).toBeGreaterThan(5);
    for (const { relname } of tables.rows) {
      const { rows } = await t.storage.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${relname} x WHERE strpos(x::text, $1) > 0 OR strpos(x::text, $2) > 0`, [
        secret.slice(0, 20),
        Buffer.from(secret.slice(0, 20)).toString('hex'),
      ]);
      expect(rows[0].n, relname).toBe(0);
    }

    if (kind === 'pglite') {
      // Stronger: after a checkpoint, no file of the data directory (heap, WAL) holds the token's bytes.
      await t.storage.db.query('CHECKPOINT');
      const needle = Buffer.from(secret.slice(0, 20));
      let scanned = 0;
      for await (const f of files(t.dataDir.path)) {
        const bytes = await readFile(f);
        scanned += bytes.length;
        expect(bytes.includes(needle), f).toBe(false);
      }
      expect(scanned).toBeGreaterThan(1_000_000);
    }
  });

  it('accepts a supplied token and refuses a malformed one or a duplicate name', async () => {
    const name = uniqueName();
    const supplied = `bootstrap-${uniqueName()}-0123456789`;
    const { tenant } = await t.storage.tenants.createTenant(name, supplied);
    expect((await t.storage.tenants.authenticate(supplied))?.id).toBe(tenant.id);
    await expect(t.storage.tenants.createTenant(uniqueName(), 'short')).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(t.storage.tenants.createTenant(uniqueName(), 'has a space in it 123456')).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(t.storage.tenants.createTenant(name)).rejects.toMatchObject({ code: 'tenant_exists' });
    await expect(t.storage.tenants.createTenant(uniqueName(), supplied)).rejects.toBeInstanceOf(StorageError);
    // Nothing half-created by the failures.
    expect((await t.storage.tenants.listTenants()).filter((x) => x.name === name)).toHaveLength(1);
  });

  it('rotates and revokes tokens by id and by prefix; a revoked token stops authenticating', async () => {
    const name = uniqueName();
    const { tenant, token: first } = await t.storage.tenants.createTenant(name);
    const { token: second, info } = await t.storage.tenants.createToken(name);
    expect(info).toMatchObject({ tenantId: tenant.id, tenantName: name, revokedAt: null, prefix: second.slice(0, 9) });
    expect((await t.storage.tenants.authenticate(second))?.id).toBe(tenant.id);

    const listed = await t.storage.tenants.listTokens(name);
    expect(listed.map((x) => x.prefix).sort()).toEqual([first.slice(0, 9), second.slice(0, 9)].sort());
    expect(JSON.stringify(listed)).not.toContain(first.slice(9));
    expect((await t.storage.tenants.listTenants()).find((x) => x.name === name)?.activeTokens).toBe(2);

    expect(await t.storage.tenants.revokeToken(String(info.id))).toBe(1);
    expect(await t.storage.tenants.authenticate(second)).toBeNull();
    expect(await t.storage.tenants.revokeToken(String(info.id))).toBe(0); // already revoked
    expect((await t.storage.tenants.authenticate(first))?.id).toBe(tenant.id);

    expect(await t.storage.tenants.revokeToken(first.slice(0, 9))).toBe(1);
    expect(await t.storage.tenants.authenticate(first)).toBeNull();
    const after = await t.storage.tenants.listTokens(name);
    expect(after.every((x) => x.revokedAt instanceof Date)).toBe(true);
    expect((await t.storage.tenants.listTenants()).find((x) => x.name === name)?.activeTokens).toBe(0);

    await expect(t.storage.tenants.createToken(uniqueName())).rejects.toMatchObject({ code: 'tenant_not_found' });
    expect(await t.storage.tenants.revokeToken('tt_nothing')).toBe(0);
  });

  it('counts and lists tenants', async () => {
    const before = await t.storage.tenants.countTenants();
    await t.storage.tenants.createTenant(uniqueName());
    expect(await t.storage.tenants.countTenants()).toBe(before + 1);
    const all = await t.storage.tenants.listTenants();
    expect(all).toHaveLength(before + 1);
    expect(all.map((x) => x.name)).toEqual([...all.map((x) => x.name)].sort());
  });
});
