// An in-memory LeaseLock for unit tests of the elector (wrap it in FaultLock for faults).

import { LockConflictError, type LeaderElectionRecord, type LeaseLock, type VersionedRecord } from '../../../analyzer/leader-election.ts';

export class MemoryLeaseStore {
  record: LeaderElectionRecord | null = null;
  version = 0;
}

export class MemoryLeaseLock implements LeaseLock {
  readonly name: string;
  readonly store: MemoryLeaseStore;
  updates = 0;

  constructor(store: MemoryLeaseStore, name = 'test-lease') {
    this.store = store;
    this.name = name;
  }

  describe(): string {
    return `memory/${this.name}`;
  }

  async get(): Promise<VersionedRecord | null> {
    const s = this.store;
    return s.record ? { record: { ...s.record }, version: String(s.version) } : null;
  }

  async create(record: LeaderElectionRecord): Promise<VersionedRecord> {
    if (this.store.record) throw new LockConflictError('exists');
    this.store.record = { ...record };
    this.store.version++;
    return { record: { ...record }, version: String(this.store.version) };
  }

  async update(record: LeaderElectionRecord, version: string): Promise<VersionedRecord> {
    this.updates++;
    if (!this.store.record || String(this.store.version) !== version) throw new LockConflictError('conflict');
    this.store.record = { ...record };
    this.store.version++;
    return { record: { ...record }, version: String(this.store.version) };
  }
}
