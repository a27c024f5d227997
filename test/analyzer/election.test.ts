// createLeaderElector wires the backend the configuration names (PGlite store; the Kubernetes mode
// against support/lease-server.ts, the stand-in for kube-apiserver).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { resolveLeaderElectionConfig } from '../../analyzer/config.ts';
import { createLeaderElector } from '../../analyzer/election.ts';
import { readFence } from '../../analyzer/fencing.ts';
import { openTestStorage, type TestStorage } from '../support/storage.ts';
import { startLeaseServer, type LeaseServer } from './support/lease-server.ts';
import { waitFor } from './support/wait.ts';

const env = { TRIMTAB_LEASE_DURATION: '1500ms', TRIMTAB_RENEW_DEADLINE: '1s', TRIMTAB_RETRY_PERIOD: '200ms', TRIMTAB_IDENTITY: 'solo', TRIMTAB_LEASE_NAMESPACE: 'ns' };

describe('createLeaderElector', () => {
  let t: TestStorage;
  let server: LeaseServer;
  beforeAll(async () => {
    t = await openTestStorage('pglite');
    server = await startLeaseServer();
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  it("mode 'none' needs no elector", () => {
    expect(createLeaderElector(resolveLeaderElectionConfig({ ...env, TRIMTAB_LEADER_ELECTION: 'none' }), { driver: t.storage.db })).toBeNull();
  });

  it("mode 'postgres' leads through leader_leases and exports the metrics", async () => {
    const registry = new Registry();
    const e = createLeaderElector(resolveLeaderElectionConfig({ ...env, TRIMTAB_LEADER_ELECTION: 'postgres', TRIMTAB_LEASE_NAME: 'pg-mode' }), { driver: t.storage.db, registry })!;
    e.start();
    try {
      await waitFor(() => e.isLeader(), 'leads');
      expect(await readFence(t.storage.db, 'pg-mode')).toEqual({ epoch: 1, holderIdentity: 'solo' });
      const text = await registry.metrics();
      expect(text).toContain('trimtab_analyzer_leader{lease="pg-mode"} 1');
      expect(text).toContain('trimtab_analyzer_leader_transitions_total{lease="pg-mode"} 1');
    } finally {
      await e.stop();
    }
  });

  it("mode 'kubernetes' leads through a Lease and mirrors the epoch into the fence", async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: server.url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const e = createLeaderElector(resolveLeaderElectionConfig({ ...env, TRIMTAB_LEADER_ELECTION: 'kubernetes', TRIMTAB_LEASE_NAME: 'k8s-mode' }), { driver: t.storage.db, kubeConfig })!;
    e.start();
    try {
      await waitFor(() => e.isLeader(), 'leads');
      expect(server.lease('ns', 'k8s-mode')?.spec.holderIdentity).toBe('solo');
      expect(await readFence(t.storage.db, 'k8s-mode')).toEqual({ epoch: 1, holderIdentity: 'solo' });
    } finally {
      await e.stop();
    }
    expect(server.lease('ns', 'k8s-mode')?.spec.holderIdentity).toBe('');
    expect(await readFence(t.storage.db, 'k8s-mode')).toEqual({ epoch: 1, holderIdentity: '' });
  });
});
