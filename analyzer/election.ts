// Wires a LeaderElector from a resolved configuration (config.ts): the lock backend for the mode, the
// fence mirror for Kubernetes, metrics and logger. Mode 'none' returns null: the caller is the only
// replica (e.g. `trimtab all` on the embedded store) and works without a term — and without fencing.

import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/log.ts';
import type { Driver } from '../storage/driver.ts';
import type { LeaderElectionConfig } from './config.ts';
import { postgresFenceMirror } from './fencing.ts';
import { LeaderElector, type LeaderCallbacks } from './leader-election.ts';
import { KubernetesLeaseLock } from './lock-kubernetes.ts';
import { PostgresLeaseLock } from './lock-postgres.ts';
import { createLeaderMetrics } from './metrics.ts';

export interface CreateElectorDeps {
  /** The database the analyzer writes to: the PostgreSQL lock, and the fence in every mode. */
  driver: Driver;
  callbacks?: LeaderCallbacks;
  logger?: Logger;
  registry?: Registry;
  /** Kubernetes mode: defaults to in-cluster config (or the default kubeconfig outside a pod). */
  kubeConfig?: KubeConfig;
}

export function createLeaderElector(config: LeaderElectionConfig, deps: CreateElectorDeps): LeaderElector | null {
  if (config.mode === 'none') return null;
  const common = {
    identity: config.identity,
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs,
    callbacks: deps.callbacks,
    logger: deps.logger,
    metrics: deps.registry ? createLeaderMetrics(deps.registry) : undefined,
  };
  if (config.mode === 'postgres') {
    return new LeaderElector({ ...common, lock: new PostgresLeaseLock({ driver: deps.driver, name: config.leaseName }) });
  }
  return new LeaderElector({
    ...common,
    lock: KubernetesLeaseLock.fromKubeConfig({ namespace: config.leaseNamespace, name: config.leaseName, kubeConfig: deps.kubeConfig }),
    fenceMirror: postgresFenceMirror(deps.driver),
  });
}
