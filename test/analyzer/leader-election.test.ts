// The elector's decisions against an in-memory lock: deterministic ones with an injected clock (calling
// tryAcquireOrRenew directly), and the running loop with short real timings.

import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { LeaderElector, validateTimings, type Clock, type Leadership } from '../../analyzer/leader-election.ts';
import { createLeaderMetrics } from '../../analyzer/metrics.ts';
import { MemoryLeaseLock, MemoryLeaseStore } from './support/memory-lock.ts';
import { FaultLock } from './support/fault-lock.ts';
import { holdsFor, SCHEDULING_SLACK_MS, waitFor } from './support/wait.ts';

const FAST = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 };

class ManualClock implements Clock {
  mono = 1000;
  wallMs = Date.parse('2026-01-01T00:00:00Z');
  now(): number {
    return this.mono;
  }
  wall(): number {
    return this.wallMs;
  }
  advance(ms: number): void {
    this.mono += ms;
    this.wallMs += ms;
  }
}

describe('validateTimings', () => {
  it('accepts the defaults and requires lease > renew deadline > 1.2 × retry period', () => {
    expect(() => validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).not.toThrow();
    expect(() => validateTimings({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toThrow(/lease duration/);
    expect(() => validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 })).toThrow(/1.2/);
    expect(() => validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0 })).toThrow(/positive/);
  });
});

describe('tryAcquireOrRenew (injected clock)', () => {
  const make = (store: MemoryLeaseStore, identity: string, clock: Clock) =>
    new LeaderElector({ lock: new MemoryLeaseLock(store), identity, clock, ...FAST });

  it('creates the lease with epoch 1 and no transitions', async () => {
    const store = new MemoryLeaseStore();
    const clock = new ManualClock();
    expect(await make(store, 'a', clock).tryAcquireOrRenew()).toBe(true);
    expect(store.record).toMatchObject({ holderIdentity: 'a', leaseTransitions: 0, epoch: 1, leaseDurationMs: 1500, renewTimeMs: clock.wallMs });
  });

  it('judges expiry on its own clock from when it saw the record change, never by remote timestamps', async () => {
    const store = new MemoryLeaseStore();
    const clock = new ManualClock();
    // The holder's renewTime is an hour old by the wall clock: a follower comparing timestamps would take over.
    store.record = { holderIdentity: 'a', leaseDurationMs: 1500, acquireTimeMs: 0, renewTimeMs: clock.wallMs - 3_600_000, leaseTransitions: 0, epoch: 1 };
    store.version = 1;
    const b = make(store, 'b', clock);
    expect(await b.tryAcquireOrRenew()).toBe(false); // first sight starts b's own timer
    clock.advance(1499);
    expect(await b.tryAcquireOrRenew()).toBe(false); // unchanged record, still within b's lease duration
    // The holder renews (the record changes): b's timer restarts although renewTime is in the far future.
    store.record = { ...store.record, renewTimeMs: clock.wallMs + 3_600_000 };
    store.version++;
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock.advance(1499);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock.advance(2);
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(store.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1, epoch: 2, acquireTimeMs: clock.wallMs });
  });

  it('takes a released lease at once, counting a transition and a new epoch', async () => {
    const store = new MemoryLeaseStore();
    const clock = new ManualClock();
    store.record = { holderIdentity: '', leaseDurationMs: 1000, acquireTimeMs: clock.wallMs, renewTimeMs: clock.wallMs, leaseTransitions: 4, epoch: 7 };
    store.version = 3;
    expect(await make(store, 'b', clock).tryAcquireOrRenew()).toBe(true);
    expect(store.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 5, epoch: 8 });
  });

  it('a returning former leader does not preempt the valid holder', async () => {
    const store = new MemoryLeaseStore();
    const clock = new ManualClock();
    const a = make(store, 'a', clock);
    const b = make(store, 'b', clock);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock.advance(1600); // a is gone for longer than the lease
    expect(await b.tryAcquireOrRenew()).toBe(true);
    // a comes back: its cached view says it holds the lease, but the record changed under it.
    expect(await a.tryAcquireOrRenew()).toBe(false);
    clock.advance(1000);
    expect(await a.tryAcquireOrRenew()).toBe(false);
    expect(store.record).toMatchObject({ holderIdentity: 'b', epoch: 2, leaseTransitions: 1 });
  });
});

describe('LeaderElector loop (memory lock, 1.5 s / 1 s / 200 ms)', () => {
  it('elects exactly one of three, fails over after a hang, the old leader steps down first and stays follower', async () => {
    const store = new MemoryLeaseStore();
    const locks = ['a', 'b', 'c'].map(() => new FaultLock(new MemoryLeaseLock(store)));
    const started: Array<{ id: string; epoch: number; at: number }> = [];
    const stopped: Array<{ id: string; at: number }> = [];
    const electors = ['a', 'b', 'c'].map(
      (id, i) =>
        new LeaderElector({
          lock: locks[i],
          identity: id,
          ...FAST,
          callbacks: {
            onStartedLeading: (l) => void started.push({ id, epoch: l.epoch, at: performance.now() }),
            onStoppedLeading: () => void stopped.push({ id, at: performance.now() }),
          },
        }),
    );
    try {
      for (const e of electors) e.start();
      const first = await waitFor(() => electors.find((e) => e.isLeader()), 'a leader');
      await holdsFor(() => electors.filter((e) => e.isLeader()).length === 1 && first.isLeader(), 'exactly one leader', 1000);
      expect(started).toHaveLength(1);
      expect(started[0]).toMatchObject({ id: first.identity, epoch: 1 });

      const i = electors.indexOf(first);
      locks[i].hang();
      const cut = performance.now();
      const second = await waitFor(() => electors.find((e) => e !== first && e.isLeader()), 'a new leader', 5000);
      const took = performance.now() - cut;
      expect(first.isLeader()).toBe(false);
      const stoppedFirst = stopped.find((s) => s.id === first.identity)!;
      const startedSecond = started.find((s) => s.id === second.identity)!;
      expect(stoppedFirst.at).toBeLessThan(startedSecond.at); // the old leader stepped down before the takeover
      expect(stoppedFirst.at - cut).toBeLessThanOrEqual(FAST.renewDeadlineMs + SCHEDULING_SLACK_MS);
      expect(startedSecond.epoch).toBe(2);
      expect(took).toBeLessThanOrEqual(FAST.leaseDurationMs + 2 * (1 + 1.2) * FAST.retryPeriodMs + SCHEDULING_SLACK_MS);

      locks[i].heal();
      await holdsFor(() => second.isLeader() && !first.isLeader(), 'the new leader keeps leading', FAST.leaseDurationMs + 500);
      expect(started).toHaveLength(2);
    } finally {
      await Promise.all(electors.map((e) => e.stop()));
    }
    expect(store.record?.holderIdentity).toBe(''); // released on stop
  });

  it('releases on stop so a follower takes over without waiting for expiry', async () => {
    const store = new MemoryLeaseStore();
    const a = new LeaderElector({ lock: new MemoryLeaseLock(store), identity: 'a', ...FAST });
    const b = new LeaderElector({ lock: new MemoryLeaseLock(store), identity: 'b', ...FAST, jitterFactor: 0 });
    a.start();
    await waitFor(() => a.isLeader(), 'a leads');
    b.start();
    await holdsFor(() => !b.isLeader(), 'b follows', 500);
    expect(b.observedLeader).toBe('a');
    const t0 = performance.now();
    await a.stop();
    expect(store.record).toMatchObject({ holderIdentity: '', leaseDurationMs: 1000, epoch: 1 });
    await waitFor(() => b.isLeader(), 'b leads', 2000);
    expect(performance.now() - t0).toBeLessThan(FAST.leaseDurationMs); // no waiting out the lease
    expect(b.epoch).toBe(2);
    await b.stop();
  });

  it('steps down by the renew deadline when renewals fail, aborts the term signal, and re-acquires with a new epoch', async () => {
    const store = new MemoryLeaseStore();
    const lock = new FaultLock(new MemoryLeaseLock(store));
    const terms: Leadership[] = [];
    const registry = new Registry();
    const a = new LeaderElector({ lock, identity: 'a', ...FAST, metrics: createLeaderMetrics(registry), callbacks: { onStartedLeading: (l) => void terms.push(l) } });
    a.start();
    try {
      await waitFor(() => a.isLeader(), 'a leads');
      expect((await registry.getSingleMetricAsString('trimtab_analyzer_leader'))).toMatch(/trimtab_analyzer_leader\{lease="test-lease"\} 1/);
      lock.fail();
      const t0 = performance.now();
      await waitFor(() => terms[0].signal.aborted, 'term aborted', 3000);
      expect(performance.now() - t0).toBeLessThanOrEqual(FAST.renewDeadlineMs + SCHEDULING_SLACK_MS);
      expect(terms[0].isValid()).toBe(false);
      expect(await registry.getSingleMetricAsString('trimtab_analyzer_leader')).toMatch(/\} 0/);
      lock.heal();
      // Nobody else took the lease: a re-acquires it (the record still names it), but as a new term.
      await waitFor(() => a.isLeader(), 'a leads again', 3000);
      expect(terms).toHaveLength(2);
      expect(terms[1].epoch).toBe(terms[0].epoch + 1);
      expect(await registry.getSingleMetricAsString('trimtab_analyzer_leader_transitions_total')).toMatch(/\} 3/);
    } finally {
      await a.stop();
    }
  });
});
