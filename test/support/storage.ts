// A migrated Storage on a throwaway database: a fresh PostgreSQL database on the local server, or PGlite
// in a fresh temp directory. For tests that run the same cases on both drivers (describe.each(DRIVERS)).

import { randomBytes } from 'node:crypto';
import { openStorage, type OpenStorage, type OpenStorageOptions } from '../../storage/open.ts';
import { createTestDatabase, tempDataDir, type TempDir, type TestDatabase } from './databases.ts';

export const DRIVERS = ['pg', 'pglite'] as const;
export type DriverKind = (typeof DRIVERS)[number];

export interface TestStorage {
  kind: DriverKind;
  storage: OpenStorage;
  /** The PostgreSQL database (pg only). */
  database: TestDatabase | null;
  dataDir: TempDir;
  /** Opens another Storage on the same database (pg) — PGlite allows one opener per directory. */
  reopen(options?: Partial<OpenStorageOptions>): Promise<OpenStorage>;
  close(): Promise<void>;
}

export async function openTestStorage(kind: DriverKind, options: Partial<OpenStorageOptions> & { migrate?: boolean } = {}): Promise<TestStorage> {
  const database = kind === 'pg' ? await createTestDatabase() : null;
  const dataDir = await tempDataDir();
  const base: OpenStorageOptions = { databaseUrl: database?.url, dataDir: dataDir.path, poolMax: 4, ...options };
  const storage = await openStorage(base);
  if (options.migrate !== false) await storage.migrate();
  const others: OpenStorage[] = [];
  return {
    kind,
    storage,
    database,
    dataDir,
    async reopen(more = {}) {
      if (kind !== 'pg') throw new Error('PGlite has a single opener per data directory');
      const s = await openStorage({ ...base, ...more });
      others.push(s);
      return s;
    },
    async close() {
      for (const s of others) await s.close().catch(() => {});
      await storage.close().catch(() => {});
      await database?.drop();
      await dataDir.remove();
    },
  };
}

/** A tenant name unique within the run. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}
