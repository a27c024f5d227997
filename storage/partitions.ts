// Daily partitions of samples, histograms and exemplars: <table>_YYYYMMDD covering one UTC day of `ts`
// (milliseconds), created on demand before the data transaction that needs them. Retention is then a
// DROP TABLE per table and day. Creation is idempotent and tolerates another process creating the same
// partition at the same moment.

import type { Logger } from '../lib/log.ts';
import type { Driver } from './driver.ts';
import { SqlState, sqlStateOf, wrapDbError } from './errors.ts';

export const DAY_MS = 86_400_000;
export const PARTITIONED_TABLES = ['samples', 'histograms', 'exemplars'] as const;

/** UTC day number (days since the epoch) of a millisecond timestamp. */
export function dayOf(ts: number): number {
  return Math.floor(ts / DAY_MS);
}

/** Partition name for a table and day: samples_20260101 (years outside 0..9999 use the day number). */
export function partitionName(table: string, day: number): string {
  const d = new Date(day * DAY_MS);
  const y = d.getUTCFullYear();
  if (!Number.isFinite(y) || y < 0 || y > 9999) return `${table}_d${day < 0 ? 'm' : ''}${Math.abs(day)}`;
  const ymd = `${String(y).padStart(4, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  return `${table}_${ymd}`;
}

/** SQLSTATEs that mean "someone else created it first". */
const ALREADY_THERE = new Set<string>([SqlState.DUPLICATE_TABLE, SqlState.UNIQUE_VIOLATION, SqlState.INVALID_OBJECT_DEFINITION]);

export class PartitionManager {
  readonly #driver: Driver;
  readonly #logger: Logger | undefined;
  readonly #known = new Set<number>();
  readonly #inflight = new Map<number, Promise<void>>();

  constructor(driver: Driver, logger?: Logger) {
    this.#driver = driver;
    this.#logger = logger;
  }

  /** Makes sure every table has a partition for each day; cached once created. */
  async ensure(days: Iterable<number>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const day of days) {
      if (this.#known.has(day)) continue;
      let p = this.#inflight.get(day);
      if (!p) {
        p = this.#create(day).finally(() => this.#inflight.delete(day));
        this.#inflight.set(day, p);
      }
      waits.push(p);
    }
    if (waits.length) await Promise.all(waits);
  }

  async #create(day: number): Promise<void> {
    const from = day * DAY_MS;
    const to = from + DAY_MS;
    for (const table of PARTITIONED_TABLES) {
      const name = partitionName(table, day);
      try {
        await this.#driver.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF ${table} FOR VALUES FROM (${from}) TO (${to})`);
      } catch (error) {
        // A concurrent CREATE from another receiver: 42P07 / 23505 (the catalogs' unique indexes), or
        // 42P17 when an operator created a differently named partition over the same range.
        if (!ALREADY_THERE.has(sqlStateOf(error) ?? '')) throw wrapDbError(error, `creating partition ${name}`);
      }
    }
    this.#known.add(day);
    this.#logger?.debug('partitions ready', { day, tables: PARTITIONED_TABLES.map((t) => partitionName(t, day)) });
  }

  /** Forgets the cache (after partitions were dropped by retention). */
  forget(day?: number): void {
    if (day === undefined) this.#known.clear();
    else this.#known.delete(day);
  }
}
