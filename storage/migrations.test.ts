import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIVERS, openTestStorage, type TestStorage } from '../test/support/storage.ts';
import { knownMigrations } from './migrations.ts';

const CUSTOMER_TABLES = ['series', 'samples', 'histograms', 'exemplars', 'series_activity', 'metric_metadata', 'series_start_timestamps'];

describe.each(DRIVERS)('migrations on %s', (kind) => {
  let t: TestStorage;
  beforeAll(async () => {
    t = await openTestStorage(kind, { migrate: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is not ready before migrating, applies every migration once, and is idempotent', async () => {
    const before = await t.storage.ready();
    expect(before.ok).toBe(false);
    if (!before.ok) expect(before.reason).toMatch(/0001_initial/);

    const first = await t.storage.migrate();
    expect(first.applied).toEqual(knownMigrations().map((m) => m.version));
    expect(first.applied[0]).toBe('0001_initial');
    const second = await t.storage.migrate();
    expect(second.applied).toEqual([]);
    expect(await t.storage.ready()).toEqual({ ok: true });

    const { rows } = await t.storage.db.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(knownMigrations().map((m) => m.version));
  });

  it('puts row-level security on every customer table and keeps the tenant role off tenants and tokens', async () => {
    const { rows } = await t.storage.db.query<{ relname: string; relrowsecurity: boolean }>(
      `SELECT relname, relrowsecurity FROM pg_class WHERE relname = ANY ($1::text[]) AND relkind IN ('r', 'p')`,
      [CUSTOMER_TABLES],
    );
    expect(rows.map((r) => r.relname).sort()).toEqual([...CUSTOMER_TABLES].sort());
    for (const r of rows) expect(r.relrowsecurity, r.relname).toBe(true);

    const privileges = await t.storage.db.query<{ t: string; sel: boolean; ins: boolean }>(
      `SELECT t, has_table_privilege('trimtab_tenant', t, 'SELECT') AS sel, has_table_privilege('trimtab_tenant', t, 'INSERT') AS ins
         FROM unnest($1::text[]) AS t`,
      [[...CUSTOMER_TABLES, 'tenants', 'api_tokens', 'schema_migrations']],
    );
    for (const p of privileges.rows) {
      const customer = CUSTOMER_TABLES.includes(p.t);
      expect(p.sel, `SELECT on ${p.t}`).toBe(customer);
      expect(p.ins, `INSERT on ${p.t}`).toBe(customer);
    }
    const role = await t.storage.db.query<{ rolcanlogin: boolean }>(`SELECT rolcanlogin FROM pg_roles WHERE rolname = 'trimtab_tenant'`);
    expect(role.rows).toEqual([{ rolcanlogin: false }]);
  });

  it.runIf(kind === 'pg')('serialises concurrent migrations from several processes', async () => {
    // A second, fresh database migrated by three openers at once: each migration applies exactly once.
    const fresh = await openTestStorage('pg', { migrate: false });
    try {
      const others = await Promise.all([fresh.reopen(), fresh.reopen()]);
      const results = await Promise.all([fresh.storage.migrate(), ...others.map((s) => s.migrate())]);
      const applied = results.flatMap((r) => r.applied);
      expect(applied.sort()).toEqual(knownMigrations().map((m) => m.version));
      const { rows } = await fresh.storage.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows[0].n).toBe(knownMigrations().length);
      for (const s of others) expect(await s.ready()).toEqual({ ok: true });
    } finally {
      await fresh.close();
    }
  });
});
