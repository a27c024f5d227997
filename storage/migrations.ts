// Versioned migrations: storage/migrations/NNNN_name.sql, applied in order, each in its own transaction
// together with its row in schema_migrations. Processes starting at once (several receivers) serialise on
// a PostgreSQL advisory lock, so each migration runs exactly once; running migrate again applies nothing.

import { readdirSync, readFileSync } from 'node:fs';
import type { Connection, Driver } from './driver.ts';
import { SqlState, sqlStateOf, wrapDbError } from './errors.ts';

export interface Migration {
  /** File name without .sql, e.g. "0001_initial"; what schema_migrations records. */
  version: string;
  sql: string;
}

/** Key of the advisory lock that serialises migrations across processes ("trim" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x7472696d;

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

let cached: Migration[] | undefined;

/** The migrations shipped with this version, in order. */
export function knownMigrations(): Migration[] {
  if (!cached) {
    cached = readdirSync(MIGRATIONS_DIR)
      .filter((name) => /^\d{4}_[a-z0-9_]+\.sql$/.test(name))
      .sort()
      .map((name) => ({ version: name.slice(0, -'.sql'.length), sql: readFileSync(new URL(name, MIGRATIONS_DIR), 'utf8') }));
  }
  return cached;
}

const CREATE_SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

async function appliedVersions(connection: Connection): Promise<Set<string>> {
  const { rows } = await connection.query<{ version: string }>('SELECT version FROM schema_migrations');
  return new Set(rows.map((r) => r.version));
}

/** Applies every pending migration; returns the versions applied by this call. */
export async function migrate(driver: Driver, migrations: Migration[] = knownMigrations()): Promise<{ applied: string[] }> {
  try {
    return await driver.withConnection(async (connection) => {
      await connection.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        await connection.exec(CREATE_SCHEMA_MIGRATIONS);
        const done = await appliedVersions(connection);
        const applied: string[] = [];
        for (const migration of migrations) {
          if (done.has(migration.version)) continue;
          await connection.exec('BEGIN');
          try {
            await connection.exec(migration.sql);
            await connection.query('INSERT INTO schema_migrations (version) VALUES ($1)', [migration.version]);
            await connection.exec('COMMIT');
          } catch (error) {
            await connection.exec('ROLLBACK').catch(() => {});
            throw wrapDbError(error, `applying migration ${migration.version}`);
          }
          applied.push(migration.version);
        }
        await driver.afterMigrate(connection);
        return { applied };
      } finally {
        await connection.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
      }
    });
  } catch (error) {
    throw wrapDbError(error, 'migrating the schema');
  }
}

/** Which known migrations the database lacks (all of them when schema_migrations does not exist). */
export async function pendingMigrations(driver: Driver, migrations: Migration[] = knownMigrations()): Promise<string[]> {
  try {
    const { rows } = await driver.query<{ version: string }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    return migrations.map((m) => m.version).filter((v) => !done.has(v));
  } catch (error) {
    if (sqlStateOf(error) === SqlState.UNDEFINED_TABLE) return migrations.map((m) => m.version);
    throw wrapDbError(error, 'reading schema_migrations');
  }
}
