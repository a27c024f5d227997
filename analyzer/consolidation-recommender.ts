// Node consolidation as a built-in recommender: every few minutes, per tenant and cluster, it reads node
// allocatable and pod requests from the tenant's kube-state-metrics series (instant PromQL queries at the
// evaluation time), plans with both bin-packing rules (consolidation.ts), exports the result as gauges,
// and keeps one recommendation per drainable node (kind `consolidation`) with history, like the
// recommendations of the rule pack.
//
// Inputs and how pods are classed:
// - nodes: kube_node_status_allocatable{resource=cpu|memory|pods}; kube_node_spec_unschedulable (cordoned);
//   OpenCost's node_cpu_hourly_cost / node_ram_hourly_cost give a node's price when present (per core-hour
//   and per GiB-hour), else consolidation.ts prices its allocatable at OpenCost's defaults;
// - pods: Running pods (kube_pod_status_phase) placed by kube_pod_info{node}, with the sum of their
//   containers' requests (kube_pod_container_resource_requests, one value per container even when two scrape
//   jobs deliver it); kube_pod_owner decides: DaemonSet pods are overhead that vanishes with their node;
//   pods without a controller (bare pods) and static/mirror pods (owned by a Node) cannot move.
// Series without `cluster` form the cluster "".

import type { Engine } from '../promql/engine.ts';
import { getLabel } from '../promql/labels.ts';
import type { Queryable } from '../promql/queryable.ts';
import type { Sample } from '../promql/value.ts';
import type { RecommendationInput } from '../storage/analyzer-state.ts';
import { labelsHashHex } from '../storage/labels.ts';
import { bestPlan, type ConsolidationOptions, type ConsolidationPlan, type NodeInput, type PodInput } from './consolidation.ts';
import type { AnalyzerMetrics } from './export.ts';
import type { BuiltinRecommender } from './scheduler.ts';

export const CONSOLIDATION_ALERTNAME = 'TrimtabNodeDrainable';
export const DEFAULT_CONSOLIDATION_INTERVAL_MS = 5 * 60_000;
const GIB = 1024 ** 3;

export const CONSOLIDATION_QUERIES = {
  allocatable: 'max by (cluster, node, resource) (kube_node_status_allocatable{resource=~"cpu|memory|pods"})',
  unschedulable: 'max by (cluster, node) (kube_node_spec_unschedulable) > 0',
  cpuPrice: 'avg by (cluster, node) (node_cpu_hourly_cost)',
  ramPrice: 'avg by (cluster, node) (node_ram_hourly_cost)',
  running: 'max by (cluster, namespace, pod) (kube_pod_status_phase{phase="Running"}) > 0',
  placement: 'max by (cluster, namespace, pod, node) (kube_pod_info{node!=""})',
  requests:
    'sum by (cluster, namespace, pod, resource) (max by (cluster, namespace, pod, container, resource) (kube_pod_container_resource_requests{resource=~"cpu|memory"}))',
  owners: 'max by (cluster, namespace, pod, owner_kind) (kube_pod_owner)',
} as const;

export interface ClusterInputs {
  nodes: NodeInput[];
  pods: PodInput[];
}

async function vector(engine: Engine, queryable: Queryable, query: string, ts: number): Promise<Sample[]> {
  const { value } = await engine.instantQuery(queryable, query, ts);
  return value.resultType === 'vector' ? value.result : [];
}

/** Reads the consolidation inputs of every cluster of a tenant at ts. */
export async function gatherConsolidationInputs(engine: Engine, queryable: Queryable, ts: number): Promise<Map<string, ClusterInputs>> {
  const q = CONSOLIDATION_QUERIES;
  const [allocatable, unschedulable, cpuPrice, ramPrice, running, placement, requests, owners] = await Promise.all(
    [q.allocatable, q.unschedulable, q.cpuPrice, q.ramPrice, q.running, q.placement, q.requests, q.owners].map((query) => vector(engine, queryable, query, ts)),
  );
  const nodeKey = (s: Sample) => `${getLabel(s.metric, 'cluster')}\u0000${getLabel(s.metric, 'node')}`;
  const podKey = (s: Sample) => `${getLabel(s.metric, 'cluster')}\u0000${getLabel(s.metric, 'namespace')}\u0000${getLabel(s.metric, 'pod')}`;

  const nodes = new Map<string, { cluster: string; input: NodeInput }>();
  for (const s of allocatable) {
    const key = nodeKey(s);
    let n = nodes.get(key);
    if (!n) {
      n = { cluster: getLabel(s.metric, 'cluster'), input: { name: getLabel(s.metric, 'node'), allocatable: { cpu: 0, memory: 0 } } };
      nodes.set(key, n);
    }
    const resource = getLabel(s.metric, 'resource');
    if (resource === 'cpu') n.input.allocatable.cpu = s.v;
    else if (resource === 'memory') n.input.allocatable.memory = s.v;
    else if (resource === 'pods') n.input.allocatable.pods = s.v;
  }
  for (const s of unschedulable) {
    const n = nodes.get(nodeKey(s));
    if (n) n.input.unschedulable = true;
  }
  const cpuPrices = new Map(cpuPrice.map((s) => [nodeKey(s), s.v]));
  const ramPrices = new Map(ramPrice.map((s) => [nodeKey(s), s.v]));
  for (const [key, n] of nodes) {
    const c = cpuPrices.get(key);
    const r = ramPrices.get(key);
    if (c !== undefined && r !== undefined && Number.isFinite(c) && Number.isFinite(r)) {
      n.input.hourlyCost = c * n.input.allocatable.cpu + (r * n.input.allocatable.memory) / GIB;
    }
  }

  const runningPods = new Set(running.map(podKey));
  const nodeOf = new Map(placement.map((s) => [podKey(s), getLabel(s.metric, 'node')]));
  const req = new Map<string, { cpu: number; memory: number }>();
  for (const s of requests) {
    const key = podKey(s);
    const r = req.get(key) ?? { cpu: 0, memory: 0 };
    if (getLabel(s.metric, 'resource') === 'cpu') r.cpu = s.v;
    else r.memory = s.v;
    req.set(key, r);
  }
  const ownerKinds = new Map<string, Set<string>>();
  for (const s of owners) {
    const key = podKey(s);
    const set = ownerKinds.get(key) ?? new Set<string>();
    set.add(getLabel(s.metric, 'owner_kind'));
    ownerKinds.set(key, set);
  }

  const out = new Map<string, ClusterInputs>();
  const clusterOf = (cluster: string) => {
    let c = out.get(cluster);
    if (!c) {
      c = { nodes: [], pods: [] };
      out.set(cluster, c);
    }
    return c;
  };
  for (const n of nodes.values()) clusterOf(n.cluster).nodes.push(n.input);
  for (const key of runningPods) {
    const node = nodeOf.get(key);
    if (!node) continue;
    const [cluster, namespace, name] = key.split('\u0000') as [string, string, string];
    const kinds = ownerKinds.get(key) ?? new Set<string>();
    const daemonSet = kinds.has('DaemonSet');
    const controlled = [...kinds].some((k) => k !== '' && k !== '<none>' && k !== 'Node');
    const reason = kinds.has('Node') ? 'mirror/static pod' : controlled || daemonSet ? undefined : 'bare pod';
    clusterOf(cluster).pods.push({ namespace, name, node, requests: req.get(key) ?? { cpu: 0, memory: 0 }, daemonSet, movable: reason === undefined, reason });
  }
  return out;
}

export interface ConsolidationRecommenderOptions extends Omit<ConsolidationOptions, 'algorithm'> {
  intervalMs?: number;
  metrics?: AnalyzerMetrics;
}

/** The recommendation of one drainable node of the best plan. */
export function drainRecommendations(cluster: string, plan: ConsolidationPlan, activeAt: number): RecommendationInput[] {
  return plan.drainable.map((d) => {
    const labels: Record<string, string> = { alertname: CONSOLIDATION_ALERTNAME, cluster, node: d.node, trimtab_recommendation: 'consolidation', severity: 'ok' };
    const sorted = Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => ({ name, value }));
    return {
      fingerprint: labelsHashHex(sorted),
      alertname: CONSOLIDATION_ALERTNAME,
      kind: 'consolidation',
      severity: 'ok',
      labels,
      annotations: {
        summary: `Node ${d.node} can be drained`,
        description: `Drain ${d.node}: its ${d.podsMoved} movable pods (${d.cpuMoved.toFixed(3)} cores, ${(d.memoryMoved / GIB).toFixed(2)} GiB requested) fit on the other nodes (${plan.algorithm.toUpperCase()} packing), saving $${d.monthlySavings.toFixed(2)} per month.`,
      },
      value: d.monthlySavings,
      details: { monthlySavings: d.monthlySavings, podsMoved: d.podsMoved, daemonSetPods: d.daemonSetPods, cpuMoved: d.cpuMoved, memoryMoved: d.memoryMoved, algorithm: plan.algorithm },
      activeAt,
    };
  });
}

export function consolidationRecommender(options: ConsolidationRecommenderOptions = {}): BuiltinRecommender {
  const { intervalMs, metrics, ...planOptions } = options;
  return {
    name: 'node-consolidation',
    intervalMs: intervalMs ?? DEFAULT_CONSOLIDATION_INTERVAL_MS,
    async run({ tenant, ts, term, storage, engine, queryable }) {
      const clusters = await gatherConsolidationInputs(engine, queryable, ts);
      const recs: RecommendationInput[] = [];
      const plans = new Map<string, { ffd: ConsolidationPlan; bfd: ConsolidationPlan; best: ConsolidationPlan }>();
      for (const [cluster, { nodes, pods }] of clusters) {
        if (nodes.length === 0) continue;
        const result = bestPlan(nodes, pods, planOptions);
        plans.set(cluster, result);
        recs.push(...drainRecommendations(cluster, result.best, ts));
      }
      metrics?.setConsolidation(tenant.name, plans);
      await storage.analyzerState.syncRecommendations(tenant.id, [CONSOLIDATION_ALERTNAME], recs, ts, term.epoch, term.prelude);
    },
  };
}
