// Throwaway databases for tests: a fresh, uniquely named database on the local PostgreSQL server per test
// file (so files run in parallel without sharing rows), and temporary directories for PGlite.
//
// The admin URL is TRIMTAB_TEST_DATABASE_URL when set, else postgres://postgres@127.0.0.1:5432/postgres
// (trust auth on the local test server). Databases are created from template0 and dropped WITH (FORCE).

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function adminUrl(): string {
  return process.env.TRIMTAB_TEST_DATABASE_URL || DEFAULT_ADMIN_URL;
}

export interface TestDatabase {
  /** URL of the new database (the admin URL with its database name replaced). */
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl(), application_name: 'trimtab-tests' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `trimtab_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE template0`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

export interface TempDir {
  path: string;
  remove(): Promise<void>;
}

/** A new empty directory under the system temp dir (for a PGlite data directory). */
export async function tempDataDir(prefix = 'trimtab-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    remove: () => rm(path, { recursive: true, force: true }),
  };
}
