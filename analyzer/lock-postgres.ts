// The PostgreSQL lock backend: one row of leader_leases (storage/migrations/0002_leader_lease.sql) per
// lease name, read and written with compare-and-swap on resource_version — the same optimistic concurrency
// as metadata.resourceVersion on a Kubernetes Lease. A trigger moves the fence (leader_fences) in the same
// transaction as an acquisition, so with this backend no FenceMirror is needed.
//
// Timestamps are stored for people and tools; electors never compare them with their own clocks.

import type { Driver } from '../storage/driver.ts';
import { SqlState, sqlStateOf, wrapDbError } from '../storage/errors.ts';
import { LockConflictError, type LeaderElectionRecord, type LeaseLock, type VersionedRecord } from './leader-election.ts';

interface LeaseRow {
  holder_identity: string;
  lease_duration_ms: number;
  acquire_ms: number | string | null;
  renew_ms: number | string | null;
  lease_transitions: number;
  epoch: string | number;
  resource_version: string | number;
}

const COLUMNS = `holder_identity, lease_duration_ms,
  (extract(epoch FROM acquire_time) * 1000)::float8 AS acquire_ms,
  (extract(epoch FROM renew_time) * 1000)::float8 AS renew_ms,
  lease_transitions, epoch::text AS epoch, resource_version::text AS resource_version`;

function toVersioned(row: LeaseRow): VersionedRecord {
  return {
    record: {
      holderIdentity: row.holder_identity,
      leaseDurationMs: Number(row.lease_duration_ms),
      acquireTimeMs: row.acquire_ms === null ? null : Math.round(Number(row.acquire_ms)),
      renewTimeMs: row.renew_ms === null ? null : Math.round(Number(row.renew_ms)),
      leaseTransitions: Number(row.lease_transitions),
      epoch: Number(row.epoch),
    },
    version: String(row.resource_version),
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function params(record: LeaderElectionRecord): unknown[] {
  return [
    record.holderIdentity,
    Math.max(1, Math.round(record.leaseDurationMs)),
    iso(record.acquireTimeMs),
    iso(record.renewTimeMs),
    record.leaseTransitions,
    String(record.epoch),
  ];
}

export interface PostgresLeaseLockOptions {
  driver: Driver;
  /** Lease name (default "trimtab-analyzer"). */
  name?: string;
}

export class PostgresLeaseLock implements LeaseLock {
  readonly name: string;
  readonly #driver: Driver;

  constructor(options: PostgresLeaseLockOptions) {
    this.#driver = options.driver;
    this.name = options.name ?? 'trimtab-analyzer';
  }

  describe(): string {
    return `postgres leader_leases/${this.name}`;
  }

  async get(): Promise<VersionedRecord | null> {
    try {
      const { rows } = await this.#driver.query<LeaseRow>(`SELECT ${COLUMNS} FROM leader_leases WHERE name = $1`, [this.name]);
      return rows.length === 0 ? null : toVersioned(rows[0]);
    } catch (error) {
      throw wrapDbError(error, `reading lease ${this.name}`);
    }
  }

  async create(record: LeaderElectionRecord): Promise<VersionedRecord> {
    let rows: LeaseRow[];
    try {
      ({ rows } = await this.#driver.query<LeaseRow>(
        `INSERT INTO leader_leases (name, holder_identity, lease_duration_ms, acquire_time, renew_time, lease_transitions, epoch, resource_version)
         VALUES ($1, $2, $3, $4::timestamptz, $5::timestamptz, $6, $7::bigint, 1)
         ON CONFLICT (name) DO NOTHING
         RETURNING ${COLUMNS}`,
        [this.name, ...params(record)],
      ));
    } catch (error) {
      if (sqlStateOf(error) === SqlState.SERIALIZATION_FAILURE) throw new LockConflictError(`lease ${this.name}: epoch behind its fence`, { cause: error });
      throw wrapDbError(error, `creating lease ${this.name}`);
    }
    if (rows.length === 0) throw new LockConflictError(`lease ${this.name} already exists`);
    return toVersioned(rows[0]);
  }

  async update(record: LeaderElectionRecord, version: string): Promise<VersionedRecord> {
    let rows: LeaseRow[];
    try {
      ({ rows } = await this.#driver.query<LeaseRow>(
        `UPDATE leader_leases SET holder_identity = $2, lease_duration_ms = $3, acquire_time = $4::timestamptz, renew_time = $5::timestamptz,
           lease_transitions = $6, epoch = $7::bigint, resource_version = resource_version + 1
         WHERE name = $1 AND resource_version = $8::bigint
         RETURNING ${COLUMNS}`,
        [this.name, ...params(record), version],
      ));
    } catch (error) {
      if (sqlStateOf(error) === SqlState.SERIALIZATION_FAILURE) throw new LockConflictError(`lease ${this.name}: epoch behind its fence`, { cause: error });
      throw wrapDbError(error, `updating lease ${this.name}`);
    }
    if (rows.length === 0) throw new LockConflictError(`lease ${this.name} changed since version ${version} (or is gone)`);
    return toVersioned(rows[0]);
  }
}
