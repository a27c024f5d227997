// Wraps any LeaseLock with fault switches, to cut ONE elector off from the lock while the others (and its
// database connection for fenced writes) keep working: `fail()` rejects every call (connection refused),
// `hang()` holds every call until `heal()` (a partition or a long stop-the-world pause).

import type { LeaderElectionRecord, LeaseLock, VersionedRecord } from '../../../analyzer/leader-election.ts';

export class FaultLock implements LeaseLock {
  readonly name: string;
  readonly #inner: LeaseLock;
  #failing = false;
  #hang: { promise: Promise<void>; resolve: () => void } | null = null;

  constructor(inner: LeaseLock) {
    this.#inner = inner;
    this.name = inner.name;
  }

  describe(): string {
    return this.#inner.describe();
  }

  fail(): void {
    this.#failing = true;
  }

  hang(): void {
    if (this.#hang) return;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#hang = { promise, resolve };
  }

  heal(): void {
    this.#failing = false;
    this.#hang?.resolve();
    this.#hang = null;
  }

  async #gate(): Promise<void> {
    while (this.#hang) await this.#hang.promise;
    if (this.#failing) throw new Error('connection refused (test fault)');
  }

  async get(): Promise<VersionedRecord | null> {
    await this.#gate();
    return this.#inner.get();
  }

  async create(record: LeaderElectionRecord): Promise<VersionedRecord> {
    await this.#gate();
    return this.#inner.create(record);
  }

  async update(record: LeaderElectionRecord, version: string): Promise<VersionedRecord> {
    await this.#gate();
    return this.#inner.update(record, version);
  }
}
