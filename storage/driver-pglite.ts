// The embedded driver: PGlite (PostgreSQL compiled to WebAssembly) with its data directory on disk. It has
// exactly one connection, so every transaction owns it from BEGIN to COMMIT through a mutex, and so does
// every single statement outside a transaction (otherwise it could land inside someone's transaction).
// Binary COPY goes through PGlite's virtual file '/dev/blob'.

import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite, type Results } from '@electric-sql/pglite';
import type { Logger } from '../lib/log.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { beginSql, TenantRoleSwitch, Mutex, TENANT_ROLE, type Connection, type Driver, type OpenTx, type QueryResult, type Row, type TxScope } from './driver.ts';
import type { PoolStats } from './types.ts';

export interface PgliteDriverOptions {
  dataDir: string;
  logger?: Logger;
}

function result<R>(r: Results<R>): QueryResult<R> {
  return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
}

class PgliteTx implements OpenTx {
  readonly tenant: number | null;
  readonly #db: PGlite;
  readonly #unlock: () => void;
  #done = false;
  readonly #roles: TenantRoleSwitch;
  #failed: unknown = null;

  constructor(db: PGlite, unlock: () => void, scope: TxScope) {
    this.#db = db;
    this.#unlock = unlock;
    this.tenant = scope.tenant ?? null;
    this.#roles = new TenantRoleSwitch(this.tenant, (sql) => this.query(sql));
  }

  #check(): void {
    if (this.#done) throw new Error('transaction already finished');
  }

  async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    this.#check();
    await this.#roles.restore();
    try {
      return result(await this.#db.query<R>(sql, params as unknown[] | undefined));
    } catch (error) {
      this.#failed ??= error;
      throw error;
    }
  }

  async copyFrom(target: string, chunks: readonly Uint8Array[]): Promise<number> {
    this.#check();
    await this.#roles.restore();
    try {
      const r = await this.#db.query(`COPY ${target} FROM '/dev/blob' (FORMAT binary)`, [], { blob: new Blob(chunks as Uint8Array<ArrayBuffer>[]) });
      return r.affectedRows ?? 0;
    } catch (error) {
      this.#failed ??= error;
      throw error;
    }
  }

  async *copyTo(select: string): AsyncIterable<Uint8Array> {
    this.#check();
    await this.#roles.restore();
    let r: Results;
    try {
      r = await this.#db.query(`COPY (${select}) TO '/dev/blob' (FORMAT binary)`);
    } catch (error) {
      this.#failed ??= error;
      throw error;
    }
    if (!r.blob) throw new Error('PGlite returned no blob for COPY TO');
    yield new Uint8Array(await r.blob.arrayBuffer());
  }

  asOwner<T>(fn: () => Promise<T>): Promise<T> {
    return this.#roles.asOwner(fn);
  }

  async commit(): Promise<void> {
    this.#check();
    if (this.#failed) {
      await this.rollback();
      throw new Error('cannot commit: a statement in the transaction failed', { cause: this.#failed });
    }
    this.#done = true;
    try {
      await this.#db.exec('COMMIT');
    } catch (error) {
      await this.#db.exec('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      this.#unlock();
    }
  }

  async rollback(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    try {
      await this.#db.exec('ROLLBACK');
    } catch {
      // Nothing to roll back (closed database): the next BEGIN starts clean.
    } finally {
      this.#unlock();
    }
  }
}

export class PgliteDriver implements Driver {
  readonly kind = 'pglite' as const;
  readonly streamsCopyTo = false;
  readonly #db: PGlite;
  readonly #mutex = new Mutex();
  readonly #release: () => Promise<void>;

  private constructor(db: PGlite, release: () => Promise<void>) {
    this.#db = db;
    this.#release = release;
  }

  static async open(options: PgliteDriverOptions): Promise<PgliteDriver> {
    const dataDir = resolve(options.dataDir);
    await mkdir(dataDir, { recursive: true });
    const release = await lockDataDir(dataDir);
    try {
      const db = new PGlite({ dataDir });
      await db.waitReady;
      return new PgliteDriver(db, release);
    } catch (error) {
      await release();
      throw error;
    }
  }

  async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.#mutex.run(async () => result(await this.#db.query<R>(sql, params as unknown[] | undefined)));
  }

  async begin(scope: TxScope): Promise<OpenTx> {
    const unlock = await this.#mutex.lock();
    try {
      await this.#db.exec(beginSql(scope));
    } catch (error) {
      await this.#db.exec('ROLLBACK').catch(() => {});
      unlock();
      throw error;
    }
    return new PgliteTx(this.#db, unlock, scope);
  }

  async withConnection<T>(fn: (connection: Connection) => Promise<T>): Promise<T> {
    return this.#mutex.run(() =>
      fn({
        query: async <R extends object = Row>(sql: string, params?: readonly unknown[]) => result(await this.#db.query<R>(sql, params as unknown[] | undefined)),
        exec: async (sql: string) => {
          await this.#db.exec(sql);
        },
      }),
    );
  }

  async afterMigrate(connection: Connection): Promise<void> {
    // PGlite's binary COPY reads and writes the virtual file '/dev/blob', which PostgreSQL allows only to
    // roles with these built-in privileges. Granted here and only here: on a PostgreSQL server COPY uses
    // STDIN/STDOUT and the tenant role must not be able to touch server files.
    await connection.exec(`GRANT pg_read_server_files, pg_write_server_files TO ${TENANT_ROLE}`);
  }

  stats(): PoolStats {
    return { total: 1, idle: this.#mutex.locked ? 0 : 1, waiting: this.#mutex.waiting };
  }

  async close(): Promise<void> {
    await this.#mutex.run(async () => {
      if (!this.#db.closed) {
        await this.#db.close();
        await this.#release();
      }
    });
  }
}
