// Leader election for the analyzer: one elector with client-go's LeaderElector semantics
// (k8s.io/client-go/tools/leaderelection) over a pluggable lock — a Kubernetes Lease (lock-kubernetes.ts)
// or a PostgreSQL row (lock-postgres.ts) — plus a fencing epoch, which client-go lacks.
//
// Semantics kept from client-go:
// - A candidate tries every retry period (jittered by up to 1.2 × the period, JitterUntil with sliding).
// - Expiry is judged on the candidate's OWN monotonic clock: a lease is valid until leaseDuration after the
//   moment this process last saw the record change (observedTime). Remote timestamps (renewTime) are never
//   compared with the local clock, so clock skew between replicas does not matter.
// - The holder of a valid lease is never preempted, whoever comes back; a holder that observes itself in the
//   record renews (fast path with the cached version, slow path re-reading on conflict).
// - leaseTransitions is incremented when the holder changes; acquireTime is kept across renewals.
// - On a graceful stop the leader releases (ReleaseOnCancel): holder cleared, leaseDuration 1 s,
//   acquire/renew time now, written with the cached version so a deposed leader cannot clobber the record.
// - onStartedLeading / onStoppedLeading / onNewLeader callbacks (and the same as events).
//
// Differences, all on the safe side:
// - The leader steps down when it has not renewed successfully for renewDeadline, counted from the START of
//   its last successful renew request (client-go counts from the start of a retry window, which may be a
//   retry period later). A follower cannot see that renewal before the request started, so it considers
//   the lease expired no earlier than start + leaseDuration > start + renewDeadline: the old leader has
//   stopped (by its own clock) before anyone else may take over, as long as clock RATES agree.
// - Every attempt is bounded by a timeout (what is left of the renew deadline for the leader), so a hung
//   request cannot keep a leader leading; a late answer from an abandoned attempt is ignored.
// - A leader that sees another holder in the record steps down at once instead of waiting for the deadline.
// - After losing the lease the elector becomes a candidate again (client-go's Run returns and the process
//   usually exits). Safe because every term has a new epoch.
//
// Fencing: every acquisition (a new term, even by the same identity) writes epoch = previous epoch + 1;
// renewals keep it. The epoch is the fencing token handed to onStartedLeading; writes made in that term go
// through analyzer/fencing.ts, which makes the database refuse them once a later epoch exists. Timing alone
// (the renew deadline) cannot stop a leader paused between its check and its write; the fence can.

import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrimtabError } from '../protocol/errors.ts';
import type { Logger } from '../lib/log.ts';
import { silentLogger } from '../lib/log.ts';
import type { LeaderMetrics } from './metrics.ts';

/** client-go's LeaderElectionRecord, in milliseconds, plus Trimtab's fencing epoch. */
export interface LeaderElectionRecord {
  /** '' when nobody holds the lease (released). */
  holderIdentity: string;
  leaseDurationMs: number;
  /** Wall-clock milliseconds; informational (never used to judge expiry). */
  acquireTimeMs: number | null;
  renewTimeMs: number | null;
  leaseTransitions: number;
  /** Fencing token: +1 on every acquisition. */
  epoch: number;
}

export interface VersionedRecord {
  record: LeaderElectionRecord;
  /** Opaque version for compare-and-swap (resourceVersion). */
  version: string;
}

/** The lock is held elsewhere or changed since `version` (Kubernetes 409 Conflict / AlreadyExists). */
export class LockConflictError extends TrimtabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('lock_conflict', message, options);
  }
}

/** A lease store with optimistic concurrency. Implementations: lock-postgres.ts, lock-kubernetes.ts. */
export interface LeaseLock {
  /** Lease name; also the name of its fencing row. */
  readonly name: string;
  /** For logs, e.g. "leases/trimtab/trimtab-analyzer". */
  describe(): string;
  /** The record and its version, or null when the lease does not exist (404). */
  get(): Promise<VersionedRecord | null>;
  /** Creates the lease; LockConflictError when it already exists. */
  create(record: LeaderElectionRecord): Promise<VersionedRecord>;
  /** Replaces the lease if it is still at `version`; LockConflictError otherwise (or when it is gone). */
  update(record: LeaderElectionRecord, version: string): Promise<VersionedRecord>;
}

/**
 * Optional: mirrors the epoch into the database fence when the lock itself is not the fence (Kubernetes).
 * `advance` must fail (throw) when the fence is already at a later epoch.
 */
export interface FenceMirror {
  advance(leaseName: string, epoch: number, identity: string): Promise<void>;
  release(leaseName: string, epoch: number, identity: string): Promise<void>;
}

export interface Clock {
  /** Monotonic milliseconds (performance.now()): expiry and deadlines. */
  now(): number;
  /** Wall-clock milliseconds (Date.now()): only for acquireTime/renewTime in the record. */
  wall(): number;
}

export const systemClock: Clock = { now: () => performance.now(), wall: () => Date.now() };

/** What the leader gets: its fencing token and a signal that fires when the term ends. */
export interface Leadership {
  identity: string;
  leaseName: string;
  epoch: number;
  /** Aborted when this term ends (lost, deadline passed, or stop()). */
  signal: AbortSignal;
  /** True while the term lasts and the renew deadline has not passed (check before side effects). */
  isValid(): boolean;
}

export interface LeaderCallbacks {
  /** Called when this elector becomes leader; runs concurrently with renewal (not awaited). */
  onStartedLeading?(leadership: Leadership): void | Promise<void>;
  /** Called when a term of this elector ends. */
  onStoppedLeading?(): void;
  /** Called when the observed holder changes to a (non-empty) identity, this elector's included. */
  onNewLeader?(identity: string): void;
}

export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
/** client-go's JitterFactor. */
export const JITTER_FACTOR = 1.2;

export interface ElectionTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface LeaderElectorOptions extends Partial<ElectionTimings> {
  lock: LeaseLock;
  identity: string;
  callbacks?: LeaderCallbacks;
  /** Release the lease on stop() (client-go ReleaseOnCancel); default true. */
  releaseOnCancel?: boolean;
  /** Jitter of the candidate's retry period (default 1.2, client-go's; 0 for none). */
  jitterFactor?: number;
  fenceMirror?: FenceMirror;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  metrics?: LeaderMetrics;
}

/** Which timing is wrong, as the keys of the configuration name it. */
export type TimingField = keyof ElectionTimings;

export class InvalidTimingsError extends TrimtabError {
  readonly field: TimingField;
  constructor(field: TimingField, message: string) {
    super('invalid_leader_election_timings', message);
    this.field = field;
  }
}

/** client-go's NewLeaderElector checks: lease > renew deadline > JitterFactor × retry period, all > 0. */
export function validateTimings(t: ElectionTimings): void {
  for (const field of ['leaseDurationMs', 'renewDeadlineMs', 'retryPeriodMs'] as const) {
    if (!Number.isFinite(t[field]) || t[field] <= 0) throw new InvalidTimingsError(field, `${field} must be a positive duration`);
  }
  if (t.leaseDurationMs <= t.renewDeadlineMs) {
    throw new InvalidTimingsError('leaseDurationMs', `lease duration (${t.leaseDurationMs} ms) must be greater than the renew deadline (${t.renewDeadlineMs} ms)`);
  }
  if (t.renewDeadlineMs <= JITTER_FACTOR * t.retryPeriodMs) {
    throw new InvalidTimingsError('renewDeadlineMs', `renew deadline (${t.renewDeadlineMs} ms) must be greater than ${JITTER_FACTOR} × the retry period (${t.retryPeriodMs} ms)`);
  }
}

function sameRecord(a: LeaderElectionRecord | null, b: LeaderElectionRecord | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationMs === b.leaseDurationMs &&
    a.acquireTimeMs === b.acquireTimeMs &&
    a.renewTimeMs === b.renewTimeMs &&
    a.leaseTransitions === b.leaseTransitions &&
    a.epoch === b.epoch
  );
}

/** Marks one try; an abandoned (timed-out) try must not change the elector's state when it finally answers. */
interface Attempt {
  live: boolean;
}

export interface LeaderElectorEvents {
  startedLeading: [Leadership];
  stoppedLeading: [];
  newLeader: [string];
}

export class LeaderElector extends EventEmitter<LeaderElectorEvents> {
  readonly identity: string;
  readonly timings: ElectionTimings;
  readonly #lock: LeaseLock;
  readonly #callbacks: LeaderCallbacks;
  readonly #releaseOnCancel: boolean;
  readonly #jitterFactor: number;
  readonly #fenceMirror: FenceMirror | undefined;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #metrics: LeaderMetrics | undefined;

  #observed: LeaderElectionRecord | null = null;
  #observedVersion: string | null = null;
  /** Monotonic time at which #observed last changed. */
  #observedTime = 0;
  #reportedLeader = '';

  /** The current term, if leading. */
  #term: { epoch: number; controller: AbortController; lastRenewStart: number } | null = null;
  #stop = new AbortController();
  #running: Promise<void> | null = null;

  constructor(options: LeaderElectorOptions) {
    super();
    if (!options.identity) throw new TrimtabError('invalid_identity', 'leader election identity must not be empty');
    this.identity = options.identity;
    this.timings = {
      leaseDurationMs: options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
      renewDeadlineMs: options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS,
      retryPeriodMs: options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS,
    };
    validateTimings(this.timings);
    this.#lock = options.lock;
    this.#callbacks = options.callbacks ?? {};
    this.#releaseOnCancel = options.releaseOnCancel ?? true;
    this.#jitterFactor = options.jitterFactor ?? JITTER_FACTOR;
    this.#fenceMirror = options.fenceMirror;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#log = (options.logger ?? silentLogger).child({ component: 'leader-election', lease: options.lock.describe(), identity: options.identity });
    this.#metrics = options.metrics;
    this.#metrics?.setLeader(options.lock.name, false);
  }

  /** Whether this elector leads now: in a term, and the renew deadline not passed on the local clock. */
  isLeader(): boolean {
    const term = this.#term;
    return term !== null && !term.controller.signal.aborted && this.#clock.now() < term.lastRenewStart + this.timings.renewDeadlineMs;
  }

  /** The epoch of the current term, or null when not leading. */
  get epoch(): number | null {
    return this.isLeader() ? this.#term!.epoch : null;
  }

  /** The holder this elector last observed ('' when released or unknown). */
  get observedLeader(): string {
    return this.#observed?.holderIdentity ?? '';
  }

  /** Starts campaigning in the background. An elector runs once: after stop() make a new one. */
  start(): void {
    if (this.#running) return;
    this.#running = this.#run().catch((error: unknown) => {
      this.#log.error('leader election loop failed', { err: error });
    });
  }

  /** Stops campaigning; if leading, ends the term and (by default) releases the lease. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  // ---- the loop ---------------------------------------------------------------------------------------

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      if (!(await this.#acquire())) return;
      await this.#lead();
    }
  }

  async #acquire(): Promise<boolean> {
    this.#log.debug('attempting to acquire the lease');
    while (!this.#stop.signal.aborted) {
      const started = this.#clock.now();
      const ok = await this.#bounded(this.timings.renewDeadlineMs);
      if (ok && this.#stop.signal.aborted) {
        // stop() came while this attempt was acquiring: give the lease back without starting a term.
        await this.#release();
        return false;
      }
      if (ok) {
        const epoch = this.#observed!.epoch;
        if (this.#fenceMirror) {
          try {
            await this.#fenceMirror.advance(this.#lock.name, epoch, this.identity);
          } catch (error) {
            this.#log.warn('acquired the lease but could not move the fence; releasing', { err: error, epoch });
            await this.#release();
            if (!(await this.#pause(this.#jittered()))) return false;
            continue;
          }
        }
        this.#term = { epoch, controller: new AbortController(), lastRenewStart: started };
        return true;
      }
      if (!(await this.#pause(this.#jittered()))) return false;
    }
    return false;
  }

  async #lead(): Promise<void> {
    const term = this.#term!;
    this.#log.info('became leader', { epoch: term.epoch });
    this.#metrics?.setLeader(this.#lock.name, true);
    const leadership: Leadership = {
      identity: this.identity,
      leaseName: this.#lock.name,
      epoch: term.epoch,
      signal: term.controller.signal,
      isValid: () => this.#term === term && this.isLeader(),
    };
    this.#notify(() => this.#callbacks.onStartedLeading?.(leadership), 'onStartedLeading');
    this.emit('startedLeading', leadership);

    let reason = 'stopped';
    while (true) {
      if (!(await this.#pause(this.timings.retryPeriodMs))) break;
      const remaining = term.lastRenewStart + this.timings.renewDeadlineMs - this.#clock.now();
      if (remaining <= 0) {
        reason = 'renew deadline passed';
        break;
      }
      const started = this.#clock.now();
      const ok = await this.#bounded(remaining);
      if (ok && this.#clock.now() < term.lastRenewStart + this.timings.renewDeadlineMs) {
        term.lastRenewStart = started;
        continue;
      }
      if (this.#observed && (this.#observed.holderIdentity !== this.identity || this.#observed.epoch !== term.epoch)) {
        reason = `lease taken by ${this.#observed.holderIdentity || 'nobody (released)'} (epoch ${this.#observed.epoch})`;
        break;
      }
      if (this.#clock.now() >= term.lastRenewStart + this.timings.renewDeadlineMs) {
        reason = 'renew deadline passed';
        break;
      }
    }

    term.controller.abort();
    this.#metrics?.setLeader(this.#lock.name, false);
    if (this.#stop.signal.aborted && this.#releaseOnCancel) await this.#release();
    this.#term = null;
    this.#log.info('stopped leading', { epoch: term.epoch, reason });
    this.#notify(() => this.#callbacks.onStoppedLeading?.(), 'onStoppedLeading');
    this.emit('stoppedLeading');
  }

  /** One tryAcquireOrRenew bounded by `timeoutMs`; false on timeout, failure or a valid foreign holder. */
  async #bounded(timeoutMs: number): Promise<boolean> {
    const attempt: Attempt = { live: true };
    const timer = new AbortController();
    try {
      return await Promise.race([
        this.#tryAcquireOrRenew(attempt),
        sleep(Math.max(1, timeoutMs), false, { signal: timer.signal }).catch(() => false),
      ]);
    } finally {
      attempt.live = false;
      timer.abort();
    }
  }

  /** Sleeps unless stopped; false when stop() was called. */
  async #pause(ms: number): Promise<boolean> {
    if (this.#stop.signal.aborted) return false;
    try {
      await sleep(ms, undefined, { signal: this.#stop.signal });
      return true;
    } catch {
      return false;
    }
  }

  /** wait.Jitter(retryPeriod, jitterFactor). */
  #jittered(): number {
    const base = this.timings.retryPeriodMs;
    return this.#jitterFactor > 0 ? base + this.#random() * this.#jitterFactor * base : base;
  }

  #setObserved(record: LeaderElectionRecord, version: string): void {
    if (!sameRecord(this.#observed, record)) this.#observedTime = this.#clock.now();
    this.#observed = record;
    this.#observedVersion = version;
    if (record.holderIdentity !== '' && record.holderIdentity !== this.#reportedLeader) {
      this.#reportedLeader = record.holderIdentity;
      const leader = record.holderIdentity;
      this.#notify(() => this.#callbacks.onNewLeader?.(leader), 'onNewLeader');
      this.emit('newLeader', leader);
    }
  }

  #leaseValid(now: number): boolean {
    return this.#observedTime + this.timings.leaseDurationMs > now;
  }

  /** client-go's tryAcquireOrRenew. Exposed for deterministic tests with an injected clock. */
  async tryAcquireOrRenew(): Promise<boolean> {
    return this.#tryAcquireOrRenew({ live: true });
  }

  async #tryAcquireOrRenew(attempt: Attempt): Promise<boolean> {
    const now = this.#clock.now();
    const wall = this.#clock.wall();
    const renewing = this.#term !== null;
    const mine = this.#observed?.holderIdentity === this.identity;
    const desired: LeaderElectionRecord = {
      holderIdentity: this.identity,
      leaseDurationMs: this.timings.leaseDurationMs,
      acquireTimeMs: wall,
      renewTimeMs: wall,
      leaseTransitions: 0,
      epoch: 1,
    };

    // Fast path: the leader renews with its cached version, no read.
    if (renewing && mine && this.#observed!.epoch === this.#term!.epoch && this.#leaseValid(now) && this.#observedVersion !== null) {
      const old = this.#observed!;
      const record = { ...desired, acquireTimeMs: old.acquireTimeMs, leaseTransitions: old.leaseTransitions, epoch: old.epoch };
      try {
        const written = await this.#lock.update(record, this.#observedVersion);
        if (!attempt.live) return false;
        this.#setObserved(written.record, written.version);
        return true;
      } catch (error) {
        if (!attempt.live) return false;
        this.#log.debug('optimistic renew failed, falling back to the slow path', { err: error });
      }
    }

    // 1. Get or create.
    let current: VersionedRecord | null;
    try {
      current = await this.#lock.get();
    } catch (error) {
      if (attempt.live) this.#log.warn('error retrieving the lease', { err: error });
      return false;
    }
    if (!attempt.live) return false;
    if (current === null) {
      try {
        const created = await this.#lock.create(desired);
        if (!attempt.live) return false;
        this.#setObserved(created.record, created.version);
        return true;
      } catch (error) {
        if (attempt.live) this.#log.debug('error creating the lease', { err: error });
        return false;
      }
    }

    // 2. Observe; a valid foreign holder is never preempted.
    this.#setObserved(current.record, current.version);
    const old = current.record;
    const holderIsMe = old.holderIdentity === this.identity;
    if (old.holderIdentity !== '' && this.#leaseValid(now) && !holderIsMe) return false;

    // 3. Update: renew (same term) or acquire (new term, new epoch).
    // Our term is over (another holder, or — with a duplicated identity — another term); #lead steps down.
    if (renewing && (!holderIsMe || old.epoch !== this.#term!.epoch)) return false;
    const record: LeaderElectionRecord = { ...desired };
    if (holderIsMe) {
      record.acquireTimeMs = old.acquireTimeMs;
      record.leaseTransitions = old.leaseTransitions;
    } else {
      record.leaseTransitions = old.leaseTransitions + 1;
    }
    record.epoch = renewing ? old.epoch : old.epoch + 1;
    try {
      const written = await this.#lock.update(record, current.version);
      if (!attempt.live) return false;
      this.#setObserved(written.record, written.version);
      return true;
    } catch (error) {
      if (attempt.live) this.#log.debug('error updating the lease', { err: error });
      return false;
    }
  }

  /** client-go's release: clear the holder, with the cached version (never clobbers a newer holder). */
  async #release(): Promise<void> {
    const observed = this.#observed;
    const version = this.#observedVersion;
    if (!observed || version === null || observed.holderIdentity !== this.identity) return;
    const wall = this.#clock.wall();
    const record: LeaderElectionRecord = {
      holderIdentity: '',
      leaseDurationMs: 1000,
      acquireTimeMs: wall,
      renewTimeMs: wall,
      leaseTransitions: observed.leaseTransitions,
      epoch: observed.epoch,
    };
    try {
      const released = await Promise.race([
        this.#lock.update(record, version),
        sleep(this.timings.renewDeadlineMs, null),
      ]);
      if (released === null) throw new Error('timed out');
      this.#setObserved(released.record, released.version);
      this.#log.info('released the lease', { epoch: observed.epoch });
    } catch (error) {
      this.#log.warn('failed to release the lease', { err: error });
    }
    if (this.#fenceMirror) {
      await this.#fenceMirror.release(this.#lock.name, observed.epoch, this.identity).catch((error: unknown) => {
        this.#log.warn('failed to release the fence', { err: error });
      });
    }
  }

  #notify(fn: () => unknown, name: string): void {
    try {
      const result = fn();
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).catch((error: unknown) => this.#log.error(`${name} failed`, { err: error }));
      }
    } catch (error) {
      this.#log.error(`${name} failed`, { err: error });
    }
  }
}
