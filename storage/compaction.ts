// Compaction of closed days: the float samples of a UTC day move from their `samples_YYYYMMDD`
// partition into `sample_chunks`, one row per series (see migrations/0004_sample_chunks.sql for why).
//
// A day is compacted once it ended more than `graceMs` ago (late remote-write data, e.g. a sender
// replaying its buffer after an outage, has arrived by then). Data written for a compacted day afterwards
// lands in the partition again and the next pass compacts it into a chunk with the next seq: nothing is
// ever refused or lost, and readers merge (storage/read.ts). One statement per day moves the rows
// (DELETE … RETURNING feeding INSERT), so every snapshot sees each sample in exactly one place; an
// advisory lock keeps two processes from compacting the same day at once. Runs as the table owner
// (every tenant at once), outside row-level security.

import type { Logger } from '../lib/log.ts';
import { transaction, type Driver } from './driver.ts';
import { wrapDbError } from './errors.ts';
import { DAY_MS, partitionName } from './partitions.ts';

/**
 * Default time after the end of a UTC day before it is compacted: 1 hour. Later data is not refused
 * (it is compacted by a later pass), so the grace only trades how long yesterday is read row by row
 * against how often a day gets a second chunk.
 */
export const DEFAULT_COMPACTION_GRACE_MS = 3_600_000;
/** First key of the advisory lock taken per day ("tc"); the second is the day number. */
const COMPACTION_LOCK_KEY = 0x7463;

export interface CompactedDay {
  day: number;
  /** Samples moved into chunks. */
  samples: number;
  /** Chunks written (one per series with samples that day). */
  chunks: number;
  ms: number;
}

export class Compactor {
  readonly #driver: Driver;
  readonly #logger: Logger | undefined;

  constructor(driver: Driver, logger?: Logger) {
    this.#driver = driver;
    this.#logger = logger;
  }

  /** UTC days that have a samples partition, ascending. */
  async partitionDays(): Promise<number[]> {
    try {
      const { rows } = await this.#driver.query<{ bound: string }>(
        `SELECT pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'samples'::regclass`,
      );
      const days: number[] = [];
      for (const r of rows) {
        // FOR VALUES FROM ('1795219200000') TO ('1795305600000'): partitions.ts creates whole UTC days.
        const m = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(r.bound);
        if (!m) continue;
        const from = Number(m[1]);
        if (Number(m[2]) - from !== DAY_MS || from % DAY_MS !== 0) continue;
        days.push(from / DAY_MS);
      }
      return days.sort((a, b) => a - b);
    } catch (error) {
      throw wrapDbError(error, 'listing sample partitions');
    }
  }

  /** Compacts every day that ended at least graceMs before `now` and still has rows. */
  async compactClosedDays(now: number, graceMs: number = DEFAULT_COMPACTION_GRACE_MS): Promise<CompactedDay[]> {
    if (!(graceMs >= 0)) throw new RangeError(`compaction grace must be >= 0 ms, got ${graceMs}`);
    const done: CompactedDay[] = [];
    for (const day of await this.partitionDays()) {
      if ((day + 1) * DAY_MS + graceMs > now) continue;
      const result = await this.compactDay(day);
      if (result.samples > 0) done.push(result);
    }
    return done;
  }

  /** Moves the rows of one day's partition into sample_chunks (a no-op when it has none). */
  async compactDay(day: number): Promise<CompactedDay> {
    if (!Number.isSafeInteger(day)) throw new RangeError(`invalid day ${day}`);
    const partition = partitionName('samples', day);
    const started = performance.now();
    try {
      const moved = await transaction(this.#driver, {}, async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(${COMPACTION_LOCK_KEY}, ${day})`);
        const { rows: any } = await tx.query(`SELECT 1 FROM ${partition} LIMIT 1`);
        if (any.length === 0) return { samples: 0, chunks: 0 };
        const { rows } = await tx.query<{ samples: string | number | null; chunks: string | number }>(
          `WITH moved AS (
             DELETE FROM ${partition} RETURNING tenant_id, series_id, ts, value
           ), grouped AS (
             SELECT tenant_id, series_id, min(ts) AS min_ts, max(ts) AS max_ts, count(*) AS n,
                    string_agg(int8send(ts), ''::bytea ORDER BY ts) AS ts,
                    string_agg(float8send(value), ''::bytea ORDER BY ts) AS vals
               FROM moved GROUP BY tenant_id, series_id
           ), inserted AS (
             INSERT INTO sample_chunks (tenant_id, series_id, day, seq, min_ts, max_ts, n, ts, vals)
             SELECT g.tenant_id, g.series_id, ${day},
                    COALESCE((SELECT max(c.seq) + 1 FROM sample_chunks c
                               WHERE c.tenant_id = g.tenant_id AND c.series_id = g.series_id AND c.day = ${day}), 0),
                    g.min_ts, g.max_ts, g.n, g.ts, g.vals
               FROM grouped g
             RETURNING 1
           )
           SELECT (SELECT sum(n) FROM grouped) AS samples, (SELECT count(*) FROM inserted) AS chunks`,
        );
        return { samples: Number(rows[0]?.samples ?? 0), chunks: Number(rows[0]?.chunks ?? 0) };
      });
      const result = { day, ...moved, ms: performance.now() - started };
      if (result.samples > 0) this.#logger?.info('compacted a day of samples', { partition, samples: result.samples, chunks: result.chunks, ms: Math.round(result.ms) });
      return result;
    } catch (error) {
      throw wrapDbError(error, `compacting ${partition}`);
    }
  }
}
