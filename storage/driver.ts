// The small interface both database drivers implement: `pg` (a pool of PostgreSQL connections) and PGlite
// (PostgreSQL in WebAssembly, one connection in process). Everything above this file is driver-neutral.
//
// Tenant scope: a transaction opened with `{ tenant }` first runs
//   SET LOCAL ROLE trimtab_tenant; SELECT set_config('trimtab.tenant_id', '<id>', true)
// so row-level security (policy `tenant_id = trimtab.tenant_id` on every customer table) applies to every
// statement in it; the session user is a superuser or the tables' owner, both of which RLS would skip.

import type { PoolStats } from './types.ts';

export const TENANT_ROLE = 'trimtab_tenant';
export const TENANT_SETTING = 'trimtab.tenant_id';

export type Row = Record<string, unknown>;

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  /** One statement with $n parameters. */
  query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

/** A connection held for session-level work (advisory locks, migrations). */
export interface Connection extends Queryable {
  /** Several statements separated by semicolons, no parameters. */
  exec(sql: string): Promise<void>;
}

export interface Tx extends Queryable {
  readonly tenant: number | null;
  /** `COPY <target> FROM STDIN (FORMAT binary)` with the given bytes; returns the row count. */
  copyFrom(target: string, chunks: readonly Uint8Array[]): Promise<number>;
  /**
   * `COPY (<select>) TO STDOUT (FORMAT binary)`. pg streams chunks as they arrive (the consumer's pace
   * is the backpressure); PGlite returns the whole result as one chunk, so callers bound the select.
   * The select cannot take parameters (COPY has none): callers inline only validated integers.
   */
  copyTo(select: string): AsyncIterable<Uint8Array>;
  /**
   * Runs `fn` as the session user instead of the tenant role. PostgreSQL refuses COPY FROM into a table
   * with row-level security ("COPY FROM not supported with row-level security"), so the ingest writer's
   * one COPY into `samples` runs here, with rows it encoded itself for the authenticated tenant.
   */
  asOwner<T>(fn: () => Promise<T>): Promise<T>;
}

export interface OpenTx extends Tx {
  commit(): Promise<void>;
  /** Rolls back and releases the connection; never throws. */
  rollback(): Promise<void>;
}

export interface TxScope {
  /** Scope the transaction to this tenant: role trimtab_tenant plus trimtab.tenant_id. */
  tenant?: number;
  /**
   * Plan the transaction's reads with indexes only (SET LOCAL enable_seqscan = off). For reads of the
   * samples of given series: PostgreSQL misjudges `series_id = ANY (thousands of ids) AND ts BETWEEN …`
   * on a day partition and scans all of it (bench:analyze, a 2-hour window of 5,000 series in a
   * 15.6 M-row partition: 2.8 s as a sequential scan, 0.13 s through the primary key).
   */
  indexReads?: boolean;
}

export interface Driver {
  readonly kind: 'pg' | 'pglite';
  /** Whether copyTo delivers incrementally (pg) or as one chunk (PGlite). */
  readonly streamsCopyTo: boolean;
  /** One statement in its own implicit transaction, as the session user. */
  query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Opens a transaction; the caller must commit or roll back. */
  begin(scope: TxScope): Promise<OpenTx>;
  /** Holds one connection for `fn` (PGlite: the connection, exclusively). */
  withConnection<T>(fn: (connection: Connection) => Promise<T>): Promise<T>;
  /** Driver-specific grants after migrations, on the migrating connection. */
  afterMigrate(connection: Connection): Promise<void>;
  stats(): PoolStats;
  close(): Promise<void>;
}

/**
 * The tenant role around Tx.asOwner, shared by both drivers: asOwner leaves the role for `fn`, and the
 * role is set again lazily, before the transaction's next statement (often COMMIT is all that follows,
 * and then no extra round trip is spent).
 */
export class TenantRoleSwitch {
  readonly #tenant: number | null;
  readonly #exec: (sql: string) => Promise<unknown>;
  /** Inside asOwner: statements run as the session user. */
  #ownerMode = false;
  /** asOwner ended: the tenant role must be set again before the next statement. */
  #roleReset = false;

  constructor(tenant: number | null, exec: (sql: string) => Promise<unknown>) {
    this.#tenant = tenant;
    this.#exec = exec;
  }

  async asOwner<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#tenant === null) return fn();
    await this.#exec('SET LOCAL ROLE NONE');
    this.#ownerMode = true;
    try {
      return await fn();
    } finally {
      this.#ownerMode = false;
      this.#roleReset = true;
    }
  }

  /** Call before every statement of the transaction. */
  async restore(): Promise<void> {
    if (!this.#roleReset || this.#ownerMode) return;
    this.#roleReset = false;
    await this.#exec(`SET LOCAL ROLE ${TENANT_ROLE}`);
  }
}

/** Runs `fn` in a transaction: commit on success, rollback on any error (which is rethrown). */
export async function transaction<T>(driver: Driver, scope: TxScope, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const tx = await driver.begin(scope);
  let result: T;
  try {
    result = await fn(tx);
  } catch (error) {
    await tx.rollback();
    throw error;
  }
  await tx.commit();
  return result;
}

/** Validates a tenant id before it is inlined into SQL. */
export function tenantLiteral(tenant: number): string {
  if (!Number.isSafeInteger(tenant) || tenant <= 0 || tenant > 0x7fffffff) throw new RangeError(`invalid tenant id ${tenant}`);
  return String(tenant);
}

/** The statements that open a transaction for a scope (one round trip, simple query protocol). */
export function beginSql(scope: TxScope): string {
  const indexes = scope.indexReads ? '; SET LOCAL enable_seqscan = off' : '';
  if (scope.tenant === undefined) return `BEGIN${indexes}`;
  return `BEGIN${indexes}; SET LOCAL ROLE ${TENANT_ROLE}; SELECT set_config('${TENANT_SETTING}', '${tenantLiteral(scope.tenant)}', true)`;
}

/** A FIFO mutex (PGlite has one connection; a transaction must own it from BEGIN to COMMIT). */
export class Mutex {
  #locked = false;
  #queue: Array<() => void> = [];

  get locked(): boolean {
    return this.#locked;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  async lock(): Promise<() => void> {
    if (this.#locked) await new Promise<void>((resolve) => this.#queue.push(resolve));
    this.#locked = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) next();
      else this.#locked = false;
    };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const unlock = await this.lock();
    try {
      return await fn();
    } finally {
      unlock();
    }
  }
}
