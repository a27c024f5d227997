// Leader election through a coordination.k8s.io/v1 Lease with @kubernetes/client-node, against
// support/lease-server.ts — a stand-in for kube-apiserver (which cannot run on these machines) that
// implements exactly the Lease endpoints used, with resourceVersion conflicts. Each elector reaches the
// server through its own TCP proxy, so one elector's API connection can be cut while the others keep theirs.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { LeaderElector, LockConflictError, type Leadership } from '../../analyzer/leader-election.ts';
import { KubernetesLeaseLock, EPOCH_ANNOTATION } from '../../analyzer/lock-kubernetes.ts';
import { FencedError, fencedTransaction, postgresFenceMirror, readFence, tokenOf } from '../../analyzer/fencing.ts';
import { openStorage, type OpenStorage } from '../../storage/open.ts';
import { createTestDatabase, type TestDatabase } from '../support/databases.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { startLeaseServer, type LeaseServer } from './support/lease-server.ts';
import { holdsFor, SCHEDULING_SLACK_MS, waitFor } from './support/wait.ts';

// Short enough to keep the test quick, long enough that a renewal delayed by a busy shared 2-core CI host
// (seconds of CPU steal were seen with a 1 s deadline) does not depose a healthy leader.
const FAST = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 250 };
const NS = 'trimtab';
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function kubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server, skipTLSVerify: true }],
    users: [{ name: 'test', token: 'test-token' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test', namespace: NS }],
    currentContext: 'test',
  });
  return kc;
}

describe('Kubernetes Lease lock', () => {
  let server: LeaseServer;
  const proxies: TcpProxy[] = [];
  const electors: LeaderElector[] = [];

  const lockVia = async (name: string, direct = false) => {
    let url = server.url;
    let proxy: TcpProxy | undefined;
    if (!direct) {
      proxy = await startTcpProxy({ host: '127.0.0.1', port: server.port });
      proxies.push(proxy);
      url = `http://127.0.0.1:${proxy.port}`;
    }
    return { lock: KubernetesLeaseLock.fromKubeConfig({ namespace: NS, name, kubeConfig: kubeConfig(url) }), proxy };
  };

  beforeAll(async () => {
    server = await startLeaseServer();
  });
  afterEach(async () => {
    for (const p of proxies) p.restore();
    await Promise.all(electors.splice(0).map((e) => e.stop()));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('get 404 → create; a second create gets 409 AlreadyExists; a stale update gets 409 Conflict; fields as the API server stores them', async () => {
    const { lock: a } = await lockVia('direct', true);
    const { lock: b } = await lockVia('direct', true);
    expect(await a.get()).toBeNull();
    const record = { holderIdentity: 'a', leaseDurationMs: 1500, acquireTimeMs: Date.parse('2026-03-01T10:00:00.123Z'), renewTimeMs: Date.parse('2026-03-01T10:00:00.456Z'), leaseTransitions: 0, epoch: 1 };
    const created = await a.create(record);
    expect(created.record).toEqual({ ...record, leaseDurationMs: 2000 }); // whole seconds, rounded up
    await expect(b.create({ ...record, holderIdentity: 'b' })).rejects.toBeInstanceOf(LockConflictError);

    const stored = server.lease(NS, 'direct')!;
    expect(stored.spec).toEqual({ holderIdentity: 'a', leaseDurationSeconds: 2, acquireTime: '2026-03-01T10:00:00.123000Z', renewTime: '2026-03-01T10:00:00.456000Z', leaseTransitions: 0 });
    expect(stored.metadata.annotations).toEqual({ [EPOCH_ANNOTATION]: '1' });

    const seenByB = (await b.get())!;
    const renewed = await a.update({ ...record, renewTimeMs: record.renewTimeMs + 1000 }, created.version);
    expect(Number(renewed.version)).toBeGreaterThan(Number(created.version));
    await expect(b.update({ ...seenByB.record, holderIdentity: 'b' }, seenByB.version)).rejects.toBeInstanceOf(LockConflictError);
    expect(server.lease(NS, 'direct')!.spec.holderIdentity).toBe('a');
    expect(server.lease(NS, 'direct')!.spec.renewTime).toMatch(MICRO_TIME);
  });

  it('one leader among three; a renewal that hits 409 re-reads and renews; takeover after the leader loses its API connection', async () => {
    const db: TestDatabase = await createTestDatabase();
    const storages: OpenStorage[] = [];
    try {
      const storage = await openStorage({ databaseUrl: db.url, dataDir: '/nonexistent', poolMax: 3 });
      storages.push(storage);
      await storage.migrate();
      const mirror = postgresFenceMirror(storage.db);
      const terms = new Map<string, Leadership>();
      const log: string[] = [];
      const made = await Promise.all(['a', 'b', 'c'].map((id) => lockVia('analyzer')));
      made.forEach(({ lock }, i) => {
        const id = ['a', 'b', 'c'][i];
        electors.push(
          new LeaderElector({
            lock,
            identity: id,
            ...FAST,
            fenceMirror: mirror,
            callbacks: { onStartedLeading: (l) => void (terms.set(id, l), log.push(`${id} started`)), onStoppedLeading: () => void log.push(`${id} stopped`) },
          }),
        );
      });
      for (const e of electors) e.start();
      const leader = await waitFor(() => electors.find((e) => e.isLeader()), 'a leader');
      await holdsFor(() => electors.filter((e) => e.isLeader()).length === 1 && leader.isLeader(), 'exactly one leader', 1000);
      expect(terms.size).toBe(1);
      const first = terms.get(leader.identity)!;
      expect(await readFence(storage.db, 'analyzer')).toEqual({ epoch: first.epoch, holderIdentity: leader.identity });

      // Another client changes the Lease (say, a label): the leader's cached resourceVersion is stale.
      const conflictsBefore = server.stats.conflicts;
      server.mutate(NS, 'analyzer', (l) => void (l.metadata.labels = { touched: 'yes' }));
      await waitFor(() => server.stats.conflicts > conflictsBefore, 'a 409 Conflict on renew', 2000);
      await holdsFor(() => leader.isLeader(), 'the leader renews after re-reading', 1200);
      expect(server.lease(NS, 'analyzer')!.metadata.labels).toEqual({ touched: 'yes' }); // kept on replace

      // The leader's API connection goes away: it must stop by its renew deadline; another takes over.
      const i = electors.indexOf(leader);
      made[i].proxy!.cut();
      const cutAt = performance.now();
      await waitFor(() => !leader.isLeader(), 'the old leader steps down', FAST.renewDeadlineMs + 2000);
      expect(performance.now() - cutAt).toBeLessThanOrEqual(FAST.renewDeadlineMs + SCHEDULING_SLACK_MS);
      const next = await waitFor(() => electors.find((e) => e !== leader && e.isLeader()), 'a new leader', 2 * FAST.leaseDurationMs + 1000);
      expect(log.indexOf(`${leader.identity} stopped`)).toBeLessThan(log.indexOf(`${next.identity} started`));
      const second = terms.get(next.identity)!;
      expect(second.epoch).toBe(first.epoch + 1);
      const lease = server.lease(NS, 'analyzer')!;
      expect(lease.spec).toMatchObject({ holderIdentity: next.identity, leaseTransitions: 1, leaseDurationSeconds: 3 });
      expect(lease.metadata.annotations).toMatchObject({ [EPOCH_ANNOTATION]: String(second.epoch) });

      // The fence followed the Lease: the deposed leader's writes are refused by the database.
      await expect(fencedTransaction(storage.db, tokenOf(first), (tx) => tx.query('SELECT 1'))).rejects.toBeInstanceOf(FencedError);
      await fencedTransaction(storage.db, tokenOf(second), (tx) => tx.query('SELECT 1'));

      // Its connection is back: it stays a follower.
      made[i].proxy!.restore();
      await holdsFor(() => next.isLeader() && !leader.isLeader(), 'the new leader keeps leading', FAST.leaseDurationMs + 500);
      expect(leader.observedLeader).toBe(next.identity);

      // Release on stop: the holder is cleared and a follower takes over without waiting out the lease.
      const t0 = performance.now();
      const writesBefore = server.writes.length;
      await next.stop();
      // A follower may take the released lease within one retry period, before this line runs, so check
      // what was written rather than what is stored now: a write that cleared the holder.
      const release = server.writes.slice(writesBefore).find((w) => w.name === 'analyzer' && w.spec.holderIdentity === '');
      expect(release?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
      expect(await readFence(storage.db, 'analyzer')).toMatchObject({ epoch: second.epoch });
      const third = await waitFor(() => electors.find((e) => e !== next && e.isLeader()), 'a leader after release', FAST.leaseDurationMs + 1000);
      expect(performance.now() - t0).toBeLessThan(FAST.leaseDurationMs);
      expect(terms.get(third.identity)!.epoch).toBe(second.epoch + 1);
      expect(server.lease(NS, 'analyzer')!.spec.leaseTransitions).toBe(2);
    } finally {
      await Promise.all(electors.splice(0).map((e) => e.stop()));
      for (const s of storages) await s.close();
      await db.drop();
    }
  });

  it('works with a plain CoordinationV1Api client (the object-parameter API of client-node 2.x)', async () => {
    const api = kubeConfig(server.url).makeApiClient(CoordinationV1Api);
    const lock = new KubernetesLeaseLock({ api, namespace: NS, name: 'plain' });
    const e = new LeaderElector({ lock, identity: 'solo', ...FAST });
    electors.push(e);
    e.start();
    await waitFor(() => e.isLeader(), 'solo leads');
    const lease = await api.readNamespacedLease({ name: 'plain', namespace: NS });
    expect(lease.spec?.holderIdentity).toBe('solo');
  });
});
