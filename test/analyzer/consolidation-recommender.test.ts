// Node consolidation as the analyzer runs it: inputs read from the tenant's kube-state-metrics series in
// the store, both packing rules planned, drainable nodes kept as recommendations (with history) and
// exported as gauges.

import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWriteRequestV1, DEFAULT_WRITE_LIMITS, encodeWriteRequestV1, type SeriesInput } from '../../protocol/index.ts';
import { Engine } from '../../promql/engine.ts';
import { StorageQueryable } from '../../promql/storage-queryable.ts';
import { createLogger } from '../../lib/log.ts';
import { consolidationRecommender, gatherConsolidationInputs } from '../../analyzer/consolidation-recommender.ts';
import { createAnalyzerMetrics } from '../../analyzer/export.ts';
import { RuleScheduler } from '../../analyzer/scheduler.ts';
import type { Tenant } from '../../storage/types.ts';
import { openTestStorage, uniqueName, type TestStorage } from '../support/storage.ts';

const MIN = 60_000;
const GiB = 1024 ** 3;
const at = Math.floor(Date.now() / MIN) * MIN - 5 * MIN;

function s(name: string, labels: Record<string, string>, value: number): SeriesInput {
  return { labels: Object.entries({ __name__: name, ...labels }).map(([n, v]) => ({ name: n, value: v })), samples: [{ timestamp: at - 30_000, value }] };
}

function node(cluster: string, name: string, cpu: number, memGiB: number): SeriesInput[] {
  return [
    s('kube_node_status_allocatable', { cluster, node: name, resource: 'cpu', unit: 'core', job: 'ksm' }, cpu),
    s('kube_node_status_allocatable', { cluster, node: name, resource: 'memory', unit: 'byte', job: 'ksm' }, memGiB * GiB),
    s('kube_node_spec_unschedulable', { cluster, node: name, job: 'ksm' }, 0),
  ];
}

function pod(cluster: string, ns: string, name: string, nodeName: string, owner: string | null, cpu: number, memGiB: number, job = 'ksm'): SeriesInput[] {
  const base = { cluster, namespace: ns, pod: name, job };
  return [
    s('kube_pod_info', { ...base, node: nodeName }, 1),
    s('kube_pod_status_phase', { ...base, phase: 'Running' }, 1),
    s('kube_pod_owner', { ...base, owner_kind: owner ?? '<none>', owner_name: owner ? `${name}-owner` : '<none>' }, 1),
    s('kube_pod_container_resource_requests', { ...base, container: 'main', resource: 'cpu', unit: 'core' }, cpu),
    s('kube_pod_container_resource_requests', { ...base, container: 'main', resource: 'memory', unit: 'byte' }, memGiB * GiB),
  ];
}

describe('node consolidation recommender', () => {
  let ts: TestStorage;
  let tenant: Tenant;
  const engine = new Engine();

  beforeAll(async () => {
    ts = await openTestStorage('pg');
    tenant = (await ts.storage.tenants.createTenant(uniqueName('c'))).tenant;
    const series: SeriesInput[] = [
      // c1: three 4-core / 16 GiB nodes. n1 and n2 run one 1-core replica each; n3 runs a bare pod (it can't
      // move, so n3 stays and can receive). Every node runs a DaemonSet pod.
      ...node('c1', 'n1', 4, 16),
      ...node('c1', 'n2', 4, 16),
      ...node('c1', 'n3', 4, 16),
      ...pod('c1', 'shop', 'web-1', 'n1', 'ReplicaSet', 1, 2),
      // The same pod's facts from a second kube-state-metrics job: must not double its requests.
      ...pod('c1', 'shop', 'web-1', 'n1', 'ReplicaSet', 1, 2, 'ksm-2'),
      ...pod('c1', 'shop', 'web-2', 'n2', 'ReplicaSet', 1, 2),
      ...pod('c1', 'tools', 'debug', 'n3', null, 0.5, 1),
      ...['n1', 'n2', 'n3'].flatMap((n) => pod('c1', 'kube-system', `agent-${n}`, n, 'DaemonSet', 0.1, 0.125)),
      // c2: OpenCost prices; two nodes, both busy: nothing to drain.
      ...node('c2', 'm1', 2, 8),
      ...node('c2', 'm2', 2, 8),
      s('node_cpu_hourly_cost', { cluster: 'c2', node: 'm1' }, 0.05),
      s('node_ram_hourly_cost', { cluster: 'c2', node: 'm1' }, 0.01),
      ...pod('c2', 'db', 'pg-0', 'm1', 'StatefulSet', 1.5, 6),
      ...pod('c2', 'db', 'pg-1', 'm2', 'StatefulSet', 1.5, 6),
    ];
    const result = await ts.storage.writer.write(tenant.id, decodeWriteRequestV1(encodeWriteRequestV1({ series })), DEFAULT_WRITE_LIMITS, Date.now());
    expect(result.rejected).toEqual([]);
  }, 60_000);
  afterAll(async () => ts?.close());

  it('reads nodes and pods per cluster from the store', async () => {
    const inputs = await gatherConsolidationInputs(engine, new StorageQueryable(ts.storage.reader, tenant.id), at);
    const c1 = inputs.get('c1')!;
    expect(c1.nodes.map((n) => [n.name, n.allocatable.cpu, n.allocatable.memory, n.unschedulable ?? false]).sort()).toEqual([
      ['n1', 4, 16 * GiB, false],
      ['n2', 4, 16 * GiB, false],
      ['n3', 4, 16 * GiB, false],
    ]);
    const web1 = c1.pods.find((p) => p.name === 'web-1')!;
    expect(web1).toMatchObject({ node: 'n1', requests: { cpu: 1, memory: 2 * GiB }, daemonSet: false, movable: true });
    expect(c1.pods.find((p) => p.name === 'debug')).toMatchObject({ movable: false, reason: 'bare pod' });
    expect(c1.pods.filter((p) => p.daemonSet).map((p) => p.node).sort()).toEqual(['n1', 'n2', 'n3']);
    const m1 = inputs.get('c2')!.nodes.find((n) => n.name === 'm1')!;
    expect(m1.hourlyCost).toBeCloseTo(0.05 * 2 + 0.01 * 8, 12);
    expect(inputs.get('c2')!.nodes.find((n) => n.name === 'm2')!.hourlyCost).toBeUndefined();
  });

  it('keeps drainable nodes as recommendations and exports the plan', async () => {
    const registry = new Registry();
    const metrics = createAnalyzerMetrics(registry);
    const builtin = consolidationRecommender({ metrics });
    const scheduler = new RuleScheduler({ storage: ts.storage, engine, logger: createLogger({ level: 'error', write: () => {} }) });
    const term = { epoch: 0, signal: new AbortController().signal };
    await scheduler.runBuiltin(builtin, tenant, at, term);

    const recs = await ts.storage.analyzerState.listRecommendations(tenant.id);
    // n3 is pinned by the bare pod; n1's and n2's replicas both fit elsewhere: two drains, one node left.
    expect(recs.map((r) => [r.cluster, r.labels.node, r.kind]).sort()).toEqual([
      ['c1', 'n1', 'consolidation'],
      ['c1', 'n2', 'consolidation'],
    ]);
    // OpenCost's default prices: (4 × 0.031611 + 16 × 0.004237) $/h × 730 h per node.
    const nodeMonthly = (4 * 0.031611 + 16 * 0.004237) * 730;
    for (const r of recs) expect(r.value).toBeCloseTo(nodeMonthly, 9);
    const text = await registry.metrics();
    expect(text).toMatch(new RegExp(`trimtab_node_consolidation_drainable_nodes\\{tenant="${tenant.name}",cluster="c1",algorithm="ffd"\\} 2`));
    expect(text).toMatch(new RegExp(`trimtab_node_consolidation_nodes_before\\{tenant="${tenant.name}",cluster="c1"\\} 3`));
    // Best fit puts web-1 on n2 (the tighter fit), which then must stay: FFD's plan is the better one.
    expect(text).toMatch(new RegExp(`trimtab_node_consolidation_nodes_after\\{tenant="${tenant.name}",cluster="c1",algorithm="ffd"\\} 1`));
    expect(text).toMatch(new RegExp(`trimtab_node_consolidation_nodes_after\\{tenant="${tenant.name}",cluster="c1",algorithm="bfd"\\} 2`));
    expect(text).toMatch(new RegExp(`trimtab_node_consolidation_monthly_savings_dollars\\{tenant="${tenant.name}",cluster="c1"\\} ${(2 * nodeMonthly).toFixed(6).slice(0, 8)}`));
    expect(text).toMatch(new RegExp(`trimtab_node_consolidation_drainable_nodes\\{tenant="${tenant.name}",cluster="c2",algorithm="ffd"\\} 0`));

    // The next run sees the same cluster: the episodes stay open (same rows); if the bare pod goes away…
    const before = recs.map((r) => r.id).sort();
    await scheduler.runBuiltin(builtin, tenant, at + MIN, term);
    expect((await ts.storage.analyzerState.listRecommendations(tenant.id)).map((r) => r.id).sort()).toEqual(before);
  });
});
