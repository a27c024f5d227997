// openStorage: PostgreSQL through a `pg` pool when a database URL is given, else embedded PGlite with its
// data directory on disk. Opening does not migrate: call migrate() (the CLI and server roles do).

import type { Logger } from '../lib/log.ts';
import { PgAnalyzerState } from './analyzer-state.ts';
import { Compactor } from './compaction.ts';
import type { Driver } from './driver.ts';
import { PgDriver } from './driver-pg.ts';
import { PgliteDriver } from './driver-pglite.ts';
import { wrapDbError } from './errors.ts';
import { PgIngestWriter } from './ingest.ts';
import { knownMigrations, migrate, pendingMigrations } from './migrations.ts';
import { PartitionManager } from './partitions.ts';
import { PgSeriesReader } from './read.ts';
import { PgTenantStore } from './tenants.ts';
import type { PoolStats, Storage } from './types.ts';

export interface OpenStorageOptions {
  /** postgres:// URL of a PostgreSQL 15+ database; when absent, PGlite under dataDir is used. */
  databaseUrl?: string;
  /** PGlite's data directory (created if missing); ignored with databaseUrl. */
  dataDir: string;
  /** Maximum pg connections (default 8). PGlite always has exactly one. */
  poolMax?: number;
  logger?: Logger;
  /** Series ids the ingest writer caches, all tenants together (default 500,000). */
  seriesCacheSize?: number;
}

class OpenedStorage implements Storage {
  readonly driver: 'pg' | 'pglite';
  readonly tenants: PgTenantStore;
  readonly writer: PgIngestWriter;
  readonly reader: PgSeriesReader;
  readonly analyzerState: PgAnalyzerState;
  readonly compactor: Compactor;
  readonly #db: Driver;
  readonly #partitions: PartitionManager;
  #closed = false;

  constructor(db: Driver, options: OpenStorageOptions) {
    this.#db = db;
    this.driver = db.kind;
    this.#partitions = new PartitionManager(db, options.logger);
    this.tenants = new PgTenantStore(db);
    this.writer = new PgIngestWriter(db, { partitions: this.#partitions, seriesCacheSize: options.seriesCacheSize, logger: options.logger });
    this.reader = new PgSeriesReader(db);
    this.analyzerState = new PgAnalyzerState(db);
    this.compactor = new Compactor(db, options.logger);
  }

  /** The underlying driver (tests, tools). */
  get db(): Driver {
    return this.#db;
  }

  async migrate(): Promise<{ applied: string[] }> {
    return migrate(this.#db);
  }

  async ready(): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (this.#closed) return { ok: false, reason: 'storage is closed' };
    try {
      const pending = await pendingMigrations(this.#db, knownMigrations());
      if (pending.length > 0) return { ok: false, reason: `migrations not applied: ${pending.join(', ')}` };
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: wrapDbError(error, 'checking readiness').message };
    }
  }

  poolStats(): PoolStats {
    return this.#db.stats();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#db.close();
  }
}

export type OpenStorage = OpenedStorage;

export async function openStorage(options: OpenStorageOptions): Promise<OpenedStorage> {
  let db: Driver;
  if (options.databaseUrl) {
    db = new PgDriver({ databaseUrl: options.databaseUrl, poolMax: options.poolMax ?? 8, logger: options.logger });
  } else {
    try {
      db = await PgliteDriver.open({ dataDir: options.dataDir, logger: options.logger });
    } catch (error) {
      throw wrapDbError(error, `opening the embedded database in ${options.dataDir}`);
    }
  }
  return new OpenedStorage(db, options);
}
