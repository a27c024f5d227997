// Two analyzer replicas on one PostgreSQL, electing a leader over the lease row: only the leader
// evaluates; when it goes away the other takes over, resumes the `for` timers from ALERTS_FOR_STATE
// (Prometheus' restore semantics) and keeps the recommendation episodes open; /metrics tells them apart.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWriteRequestV1, DEFAULT_WRITE_LIMITS, encodeWriteRequestV1 } from '../../protocol/index.ts';
import { Engine } from '../../promql/engine.ts';
import { StorageQueryable } from '../../promql/storage-queryable.ts';
import { createLogger } from '../../lib/log.ts';
import { Analyzer } from '../../analyzer/analyzer.ts';
import type { Tenant } from '../../storage/types.ts';
import { openTestStorage, uniqueName, type TestStorage } from '../support/storage.ts';
import { waitFor } from './support/wait.ts';

const RULES = `groups:
- name: fast
  interval: 1s
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: Pending8s
    expr: up > 0
    for: 8s
    labels:
      trimtab_recommendation: risk
      severity: warning
    annotations:
      description: '{{ $labels.job }} is up'
`;

describe('analyzer failover (postgres lease)', () => {
  let ts: TestStorage;
  let dir: string;
  let tenant: Tenant;
  const silent = createLogger({ level: 'error', write: () => {} });
  const engine = new Engine();

  beforeAll(async () => {
    ts = await openTestStorage('pg');
    dir = await mkdtemp(join(tmpdir(), 'trimtab-rules-'));
    await writeFile(join(dir, 'fast.yml'), RULES);
    tenant = (await ts.storage.tenants.createTenant(uniqueName('f'))).tenant;
    const now = Date.now();
    const series = [{ labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: 'api' }], samples: [{ timestamp: now - 1000, value: 1 }] }];
    await ts.storage.writer.write(tenant.id, decodeWriteRequestV1(encodeWriteRequestV1({ series })), DEFAULT_WRITE_LIMITS, now);
  }, 60_000);
  afterAll(async () => {
    await ts?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const replica = async (identity: string) => {
    const storage = await ts.reopen();
    const registry = new Registry();
    const analyzer = new Analyzer({
      storage,
      driver: storage.db,
      logger: silent,
      registry,
      election: { mode: 'postgres', identity, leaseName: 'failover-test', leaseNamespace: 'default', leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 },
      ruleFiles: [join(dir, '*.yml')],
      evaluationIntervalMs: 1000,
      forGracePeriodMs: 2000,
      watch: false,
    });
    await analyzer.start();
    return { analyzer, registry };
  };
  const forState = async (): Promise<number[]> => {
    const { value } = await engine.instantQuery(new StorageQueryable(ts.storage.reader, tenant.id), 'ALERTS_FOR_STATE', Date.now());
    return value.resultType === 'vector' ? value.result.map((s) => s.v) : [];
  };
  /** When the last ALERTS_FOR_STATE sample was written (ms). */
  const forStateWrittenAt = async (): Promise<number> => {
    const { value } = await engine.instantQuery(new StorageQueryable(ts.storage.reader, tenant.id), 'timestamp(ALERTS_FOR_STATE)', Date.now());
    return value.resultType === 'vector' && value.result[0] ? value.result[0].v * 1000 : 0;
  };
  const alertState = async (): Promise<string[]> => {
    const { value } = await engine.instantQuery(new StorageQueryable(ts.storage.reader, tenant.id), 'ALERTS', Date.now());
    return value.resultType === 'vector' ? value.result.map((s) => s.metric.find((l) => l.name === 'alertstate')!.value) : [];
  };
  const eventually = async <T>(fn: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const leaderGauge = async (registry: Registry) => (await registry.getSingleMetricAsString('trimtab_analyzer_leader')).match(/trimtab_analyzer_leader\{[^}]*\} (\d)/)?.[1];

  it('one leader evaluates; the other takes over with the alert\'s timer and the open recommendation', async () => {
    const a = await replica('replica-a');
    const b = await replica('replica-b');
    try {
      const leader = await waitFor(() => (a.analyzer.leading ? a : b.analyzer.leading ? b : null), 'a leader', 10_000);
      const follower = leader === a ? b : a;
      expect(follower.analyzer.leading).toBe(false);
      expect(await leaderGauge(leader.registry)).toBe('1');
      expect(await leaderGauge(follower.registry)).toBe('0');

      // The leader writes ALERTS_FOR_STATE from its second evaluation on.
      const before = await eventually(async () => (await forState())[0], 'ALERTS_FOR_STATE of the first leader', 10_000);
      expect(await alertState()).toEqual(['pending']);
      const [rec] = await ts.storage.analyzerState.listRecommendations(tenant.id);
      expect(rec).toBeUndefined(); // pending, not firing: not a recommendation yet

      // The leader goes away (releasing the lease); the follower takes over.
      const stoppedAt = Date.now();
      await leader.analyzer.stop();
      await waitFor(() => follower.analyzer.leading, 'takeover', 10_000);
      expect(await leaderGauge(follower.registry)).toBe('1');

      // The new leader restores activeAt from the old ALERTS_FOR_STATE: shifted by the outage only (under
      // 3 s here), not restarted from now — so it fires about 8 s after the original activeAt plus the gap.
      const restored = await eventually(async () => ((await forStateWrittenAt()) > stoppedAt ? (await forState())[0] : undefined), 'ALERTS_FOR_STATE from the new leader', 10_000);
      expect(restored).toBeGreaterThanOrEqual(before);
      expect(restored - before).toBeLessThanOrEqual(4);
      expect(restored * 1000).toBeLessThan(stoppedAt);

      await eventually(async () => (await alertState())[0] === 'firing' || undefined, 'firing', 15_000);
      const open = await eventually(async () => (await ts.storage.analyzerState.listRecommendations(tenant.id))[0], 'the recommendation', 5000);
      expect(open).toMatchObject({ alertname: 'Pending8s', kind: 'risk', annotations: { description: 'api is up' } });
      expect(open!.activeAt.getTime()).toBe(restored * 1000);
      // The new leader exports it as a gauge for any Prometheus to scrape; the stopped one exports nothing.
      await eventually(async () => ((await follower.registry.getSingleMetricAsString('trimtab_recommendation')).includes('alertname="Pending8s"') ? true : undefined), 'the gauge', 5000);
      const gauge = await follower.registry.getSingleMetricAsString('trimtab_recommendation');
      expect(gauge).toContain(`tenant="${tenant.name}"`);
      expect(gauge).toMatch(/trimtab_recommendation="risk",severity="warning"\} 1/);
      expect(await leader.registry.getSingleMetricAsString('trimtab_recommendation')).not.toContain('Pending8s');
    } finally {
      await a.analyzer.stop();
      await b.analyzer.stop();
    }
  }, 60_000);
});
