// The PostgreSQL driver: a node-postgres pool; binary COPY through pg-copy-streams.

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFromStream, to as copyToStream } from 'pg-copy-streams';
import type { Logger } from '../lib/log.ts';
import { beginSql, TenantRoleSwitch, type Connection, type Driver, type OpenTx, type QueryResult, type Row, type TxScope } from './driver.ts';
import { isUnavailable } from './errors.ts';
import type { PoolStats } from './types.ts';

export interface PgDriverOptions {
  databaseUrl: string;
  poolMax: number;
  logger?: Logger;
  /** How long to wait for a free connection or a new one before failing as unavailable. */
  connectTimeoutMs?: number;
}

function result<R>(r: pg.QueryResult): QueryResult<R> {
  return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
}

class PgTx implements OpenTx {
  readonly tenant: number | null;
  readonly #client: pg.PoolClient;
  #done = false;
  readonly #roles: TenantRoleSwitch;
  /** A statement failed: the transaction is aborted and COMMIT would silently roll back. */
  #failed: unknown = null;
  /** The connection's protocol state is unknown (a COPY abandoned mid-stream, a socket error). */
  #broken: unknown = null;

  constructor(client: pg.PoolClient, scope: TxScope) {
    this.#client = client;
    this.tenant = scope.tenant ?? null;
    this.#roles = new TenantRoleSwitch(this.tenant, (sql) => this.query(sql));
  }

  #check(): void {
    if (this.#done) throw new Error('transaction already finished');
  }

  #fail(error: unknown): never {
    this.#failed ??= error;
    if (isUnavailable(error)) this.#broken ??= error;
    throw error;
  }

  async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    this.#check();
    await this.#roles.restore();
    try {
      return result<R>(await this.#client.query(sql, params as unknown[] | undefined));
    } catch (error) {
      this.#fail(error);
    }
  }

  async copyFrom(target: string, chunks: readonly Uint8Array[]): Promise<number> {
    this.#check();
    await this.#roles.restore();
    const stream = this.#client.query(copyFromStream(`COPY ${target} FROM STDIN (FORMAT binary)`));
    try {
      await pipeline(Readable.from(chunks, { objectMode: false }), stream);
      return stream.rowCount;
    } catch (error) {
      this.#fail(error);
    }
  }

  async *copyTo(select: string): AsyncIterable<Uint8Array> {
    this.#check();
    await this.#roles.restore();
    const stream = this.#client.query(copyToStream(`COPY (${select}) TO STDOUT (FORMAT binary)`));
    let finished = false;
    try {
      for await (const chunk of stream) yield chunk as Uint8Array;
      finished = true;
    } catch (error) {
      finished = true;
      this.#fail(error);
    } finally {
      if (!finished) {
        // The consumer stopped early: the server is still sending CopyData on this connection, so it
        // cannot be reused. Destroy it when the transaction ends.
        this.#broken ??= new Error('COPY TO abandoned before its end');
        this.#failed ??= this.#broken;
        stream.destroy();
      }
    }
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
    let r: pg.QueryResult;
    try {
      r = await this.#client.query('COMMIT');
    } catch (error) {
      this.#done = true;
      this.#client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    this.#done = true;
    this.#client.release();
    if (r.command === 'ROLLBACK') throw new Error('COMMIT rolled back the transaction');
  }

  async rollback(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    if (this.#broken) {
      this.#client.release(this.#broken instanceof Error ? this.#broken : new Error(String(this.#broken)));
      return;
    }
    try {
      await this.#client.query('ROLLBACK');
      this.#client.release();
    } catch (error) {
      this.#client.release(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

export class PgDriver implements Driver {
  readonly kind = 'pg' as const;
  readonly streamsCopyTo = true;
  readonly #pool: pg.Pool;

  constructor(options: PgDriverOptions) {
    this.#pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolMax,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      application_name: 'trimtab',
      // JIT compilation cost PostgreSQL 1-2 s of CPU per statement over many partitions (bench:analyze's
      // 14-day reads: 1.9 s of a 2.3 s statement) and never paid back on these plans. A startup option, so
      // it holds from the first statement; `options` in the database URL replaces it.
      options: '-c jit=off',
    });
    // An idle connection that dies (server restart) is reported here; without a listener it would crash
    // the process. The next checkout simply opens a new connection.
    this.#pool.on('error', (error) => options.logger?.warn('idle database connection failed', { error }));
    // A checked-out connection that dies emits 'error' on its client too (the pool only listens while it is
    // idle); the statement in flight already fails with the same error, so this only has to keep the
    // event from being unhandled, which would crash the process.
    this.#pool.on('connect', (client) => {
      client.on('error', (error) => options.logger?.debug('database connection failed while in use', { error }));
    });
  }

  async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    return result<R>(await this.#pool.query(sql, params as unknown[] | undefined));
  }

  async begin(scope: TxScope): Promise<OpenTx> {
    const client = await this.#pool.connect();
    try {
      await client.query(beginSql(scope));
    } catch (error) {
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    return new PgTx(client, scope);
  }

  async withConnection<T>(fn: (connection: Connection) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let failure: Error | undefined;
    try {
      return await fn({
        query: async <R extends object = Row>(sql: string, params?: readonly unknown[]) => result<R>(await client.query(sql, params as unknown[] | undefined)),
        exec: async (sql: string) => {
          await client.query(sql);
        },
      });
    } catch (error) {
      if (isUnavailable(error)) failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(failure);
    }
  }

  async afterMigrate(): Promise<void> {
    // Nothing: COPY uses STDIN/STDOUT, which needs no file privileges.
  }

  stats(): PoolStats {
    return { total: this.#pool.totalCount, idle: this.#pool.idleCount, waiting: this.#pool.waitingCount };
  }

  async close(): Promise<void> {
    if (!this.#pool.ended) await this.#pool.end();
  }
}
