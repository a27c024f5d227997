// The scenario test's independent computation: what the default rule pack must recommend for the raw
// series of scenario-cluster.ts, computed in plain TypeScript from the generated values, following the
// definitions of rules/README.md (KRR "simple"):
//
//   - tier 1 every 5 minutes: per pod container the 5-minute CPU rate (Prometheus' extrapolated rate over
//     the left-open window (t-5m, t]), the working-set peak over (t-7m, t], OOM kills over (t-9m, t];
//     each only while the pod has a workload (kube-state-metrics seen in the 5-minute lookback);
//   - tier 2 every hour: p95 per pod (Prometheus' interpolating quantile), max across pods; points
//     summed over pods; memory: hourly max over (h-65m, h], then the max over 14 days;
//   - at the end: CPU = ceil(p95 × 1000 − 1e-6) / 1000, at least 0.01; memory = max(peak × 1.15,
//     OOM limit × 1.25) rounded up to whole MiB (− 1e-6 MiB), at least 100 MiB; ≥ 100 points; severity
//     bands; savings = Δ × replicas × price × 730 with OpenCost's average node price or the defaults.
//
// Nothing here calls the PromQL engine or the rule pack: the point is to compute the same numbers a
// second way. Where Prometheus' arithmetic is specified to the float (rate extrapolation, quantile
// interpolation), it is written out as Prometheus 3 does it.

import { GIB, HOUR, MIB, MIN, type RawSample, type RawSeries, type Scenario } from './scenario-cluster.ts';

// ---------------------------------------------------------------------------------------------------------
// The pack's constants (trimtab-config.yml defaults), restated.

export const CONFIG = {
  cpuQuantile: 0.95,
  cpuMinCores: 0.01,
  memoryHeadroom: 1.15,
  memoryOomBump: 1.25,
  memoryMinBytes: 100 * MIB,
  minDataPoints: 100,
  cpuBands: { ok: 0.1, warning: 0.25, critical: 0.5 },
  memoryBands: { ok: 100 * MIB, warning: 250 * MIB, critical: 500 * MIB },
  memoryLimitUsageRatio: 0.9,
  namespaceOverprovisionedRatio: 0.5,
  namespaceWasteMinCpu: 1,
  namespaceWasteMinMemory: 1 * GIB,
  defaultCpuPrice: 0.031611,
  defaultMemoryPrice: 0.004237,
  hoursPerMonth: 730,
} as const;

const LOOKBACK = 5 * MIN;

// ---------------------------------------------------------------------------------------------------------
// PromQL building blocks, restated from Prometheus 3.

/** Samples of a series in the left-open window (lo, hi], staleness markers excluded (as range selectors do). */
export function window(s: RawSeries, lo: number, hi: number): RawSample[] {
  const out: RawSample[] = [];
  for (const x of s.samples) if (x.t > lo && x.t <= hi && !x.stale) out.push(x);
  return out;
}

/** An instant selector: the latest sample in (t − 5m, t], absent when there is none or it is a staleness marker. */
export function instant(s: RawSeries, t: number): number | undefined {
  let last: RawSample | undefined;
  for (const x of s.samples) if (x.t > t - LOOKBACK && x.t <= t) last = x;
  return last && !last.stale ? last.v : undefined;
}

/** Prometheus' extrapolatedRate (promql/functions.go): rate() when isRate, increase() otherwise. */
export function extrapolatedRate(samples: RawSample[], rangeStart: number, rangeEnd: number, isRate: boolean): number | undefined {
  if (samples.length < 2) return undefined;
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  let result = last.v - first.v;
  let prev = first.v;
  for (const x of samples.slice(1)) {
    if (x.v < prev) result += prev; // counter reset
    prev = x.v;
  }
  let durationToStart = (first.t - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - last.t) / 1000;
  const sampledInterval = (last.t - first.t) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (samples.length - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  // A counter cannot go below zero: no extrapolation past its zero point.
  let durationToZero = durationToStart;
  if (result > 0 && first.v >= 0) durationToZero = sampledInterval * (first.v / result);
  if (durationToZero < durationToStart) durationToStart = durationToZero;
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= (rangeEnd - rangeStart) / 1000;
  return result * factor;
}

/** Prometheus' quantile (φ-quantile with linear interpolation between the closest ranks). */
export function quantile(q: number, values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

// ---------------------------------------------------------------------------------------------------------
// Identities.

export type Resource = 'cpu' | 'memory';

export interface WorkloadRef {
  workload: string;
  kind: string;
}

export interface ContainerKey {
  cluster: string;
  namespace: string;
  workload: string;
  workload_kind: string;
  container: string;
}

export const wcKey = (k: ContainerKey): string => [k.cluster, k.namespace, k.workload, k.workload_kind, k.container].join('|');
export const idKey = (k: ContainerKey, resource: Resource): string => `${wcKey(k)}|${resource}`;
const podKey = (cluster: string, namespace: string, pod: string): string => [cluster, namespace, pod].join('|');
const podContainerKey = (cluster: string, namespace: string, pod: string, container: string): string => [cluster, namespace, pod, container].join('|');

export interface ContractValues {
  key: ContainerKey;
  resource: Resource;
  currentRequest?: number;
  currentLimit?: number;
  /** trimtab_requests:computed (before the HPA rule). */
  computed?: number;
  recommendedRequest?: number;
  recommendedLimit?: number;
  monthlySavings?: number;
  replicas?: number;
}

export interface ExpectedAlert {
  alertname: string;
  /** Every label of the alert (without __name__), including alertname, severity and trimtab_recommendation. */
  labels: Record<string, string>;
  value: number;
  /** For the `for: 15m` risks: when they became active. */
  activeAt?: number;
}

export interface WorkloadStats {
  key: ContainerKey;
  /** 5-minute CPU points per pod. */
  pointsByPod: Map<string, number[]>;
  /** p95 per pod. */
  quantileByPod: Map<string, number>;
  quantile: number;
  points: number;
  memoryPeak: number;
  oomLimit?: number;
}

export interface Expectation {
  contract: Map<string, ContractValues>;
  alerts: ExpectedAlert[];
  efficiency: Map<string, number>;
  prices: Map<string, { cpu: number; memory: number; source: string }>;
  stats: Map<string, WorkloadStats>;
}

// ---------------------------------------------------------------------------------------------------------

class RawIndex {
  readonly byName = new Map<string, RawSeries[]>();
  constructor(series: readonly RawSeries[]) {
    for (const s of series) {
      const name = s.labels.__name__!;
      const list = this.byName.get(name) ?? [];
      list.push(s);
      this.byName.set(name, list);
    }
  }
  /** Series of a metric whose labels satisfy every matcher (an absent label is ""). */
  select(name: string, match: Record<string, string | ((v: string) => boolean)> = {}): RawSeries[] {
    return (this.byName.get(name) ?? []).filter((s) =>
      Object.entries(match).every(([k, m]) => (typeof m === 'string' ? (s.labels[k] ?? '') === m : m(s.labels[k] ?? ''))),
    );
  }
}

const realContainer = (c: string): boolean => c !== '' && c !== 'POD';
const lbl = (s: RawSeries, name: string): string => s.labels[name] ?? '';
const maxOf = (values: Array<number | undefined>): number | undefined => {
  let m: number | undefined;
  for (const v of values) if (v !== undefined && (m === undefined || v > m)) m = v;
  return m;
};

/**
 * The times the scenario test evaluates each group at, aligned to the group's interval as the scheduler
 * does: tier 1 (with config and inventory, which it reads at the same slot) every 5 minutes, tier 2 every
 * hour, and the 1-minute groups recommendations and risks at the last four 5-minute slots: enough for the
 * `for: 15m` risks (an alert's pending state lives in the evaluator between evaluations) while keeping
 * the test fast. Config and inventory run at every one of those slots too.
 */
export function evaluationTimes(s: Scenario): { fiveMinute: number[]; hourly: number[]; final: number[] } {
  const fiveMinute: number[] = [];
  for (let t = s.t0 + 5 * MIN; t <= s.end; t += 5 * MIN) fiveMinute.push(t);
  const hourly: number[] = [];
  for (let t = s.t0 + HOUR; t <= s.end; t += HOUR) hourly.push(t);
  const final: number[] = [];
  for (let t = s.end - 15 * MIN; t <= s.end; t += 5 * MIN) final.push(t);
  return { fiveMinute, hourly, final };
}

export function computeExpectation(s: Scenario, series: readonly RawSeries[]): Expectation {
  const raw = new RawIndex(series);
  const T = s.end;
  const times = evaluationTimes(s);

  // ---- Pod -> workload at time t (trimtab.inventory's relabel), from the owner series.
  const pods = new Map<string, { cluster: string; namespace: string; pod: string }>();
  for (const x of raw.select('kube_pod_owner')) pods.set(podKey(lbl(x, 'cluster'), lbl(x, 'namespace'), lbl(x, 'pod')), { cluster: lbl(x, 'cluster'), namespace: lbl(x, 'namespace'), pod: lbl(x, 'pod') });

  const ownerAt = (metric: string, objectLabel: string, cluster: string, namespace: string, name: string, t: number): { kind: string; name: string } | null | undefined => {
    const owners = new Map<string, { kind: string; name: string }>();
    for (const x of raw.select(metric, { cluster, namespace, [objectLabel]: name, owner_is_controller: (v) => v !== 'false' })) {
      if (instant(x, t) === undefined) continue;
      owners.set(`${lbl(x, 'owner_kind')}/${lbl(x, 'owner_name')}`, { kind: lbl(x, 'owner_kind'), name: lbl(x, 'owner_name') });
    }
    if (owners.size > 1) throw new Error(`scenario: ${name} has two owners at ${t}`);
    return owners.size === 0 ? null : [...owners.values()][0];
  };
  const relabelCache = new Map<string, WorkloadRef | null>();
  const workloadAt = (cluster: string, namespace: string, pod: string, t: number): WorkloadRef | null => {
    const ck = `${podKey(cluster, namespace, pod)}@${t}`;
    const cached = relabelCache.get(ck);
    if (cached !== undefined) return cached;
    let result: WorkloadRef | null = null;
    const owner = ownerAt('kube_pod_owner', 'pod', cluster, namespace, pod, t);
    if (owner) {
      if (owner.kind === 'ReplicaSet') {
        const rs = ownerAt('kube_replicaset_owner', 'replicaset', cluster, namespace, owner.name, t);
        if (rs && rs.kind === 'Deployment') result = { workload: rs.name, kind: 'Deployment' };
        else if (rs && (rs.kind === '' || rs.kind === '<none>')) result = { workload: owner.name, kind: 'ReplicaSet' };
        else if (rs) result = { workload: rs.name, kind: rs.kind };
      } else if (owner.kind === 'Job') {
        const job = ownerAt('kube_job_owner', 'job_name', cluster, namespace, owner.name, t);
        if (job && job.kind === 'CronJob') result = { workload: job.name, kind: 'CronJob' };
        else if (job && (job.kind === '' || job.kind === '<none>')) result = { workload: owner.name, kind: 'Job' };
        else if (job) result = { workload: job.name, kind: job.kind };
      } else if (owner.kind === '' || owner.kind === '<none>' || owner.kind === 'Node') {
        result = { workload: pod, kind: 'Pod' };
      } else {
        result = { workload: owner.name, kind: owner.kind };
      }
    }
    relabelCache.set(ck, result);
    return result;
  };

  // ---- Tier 1, every 5 minutes: per pod container.
  interface PodContainer {
    cluster: string;
    namespace: string;
    pod: string;
    container: string;
    cpu: RawSeries[];
    memory: RawSeries[];
    oomEvents: RawSeries[];
    restarts: RawSeries[];
    oomReason: RawSeries[];
    memoryLimit: RawSeries[];
  }
  const podContainers = new Map<string, PodContainer>();
  const pcOf = (x: RawSeries): PodContainer => {
    const k = podContainerKey(lbl(x, 'cluster'), lbl(x, 'namespace'), lbl(x, 'pod'), lbl(x, 'container'));
    let pc = podContainers.get(k);
    if (!pc) {
      pc = { cluster: lbl(x, 'cluster'), namespace: lbl(x, 'namespace'), pod: lbl(x, 'pod'), container: lbl(x, 'container'), cpu: [], memory: [], oomEvents: [], restarts: [], oomReason: [], memoryLimit: [] };
      podContainers.set(k, pc);
    }
    return pc;
  };
  for (const x of raw.select('container_cpu_usage_seconds_total', { container: realContainer })) pcOf(x).cpu.push(x);
  for (const x of raw.select('container_memory_working_set_bytes', { container: realContainer })) pcOf(x).memory.push(x);
  for (const x of raw.select('container_oom_events_total', { container: realContainer })) pcOf(x).oomEvents.push(x);
  for (const x of raw.select('kube_pod_container_status_restarts_total')) pcOf(x).restarts.push(x);
  for (const x of raw.select('kube_pod_container_status_last_terminated_reason', { reason: 'OOMKilled' })) pcOf(x).oomReason.push(x);
  for (const x of raw.select('kube_pod_container_resource_limits', { resource: 'memory' })) pcOf(x).memoryLimit.push(x);

  interface Tier1Point {
    t: number;
    workload: WorkloadRef;
  }
  /** Per pod container: recorded CPU rates, memory peaks, OOM-kill limits (value, time, workload). */
  const cpuPoints = new Map<string, Array<Tier1Point & { v: number }>>();
  const memoryPoints = new Map<string, Array<Tier1Point & { v: number }>>();
  const oomPoints = new Map<string, Array<Tier1Point & { v: number }>>();
  const push = (m: Map<string, Array<Tier1Point & { v: number }>>, k: string, p: Tier1Point & { v: number }) => {
    const list = m.get(k) ?? [];
    list.push(p);
    m.set(k, list);
  };
  for (const t of times.fiveMinute) {
    for (const [k, pc] of podContainers) {
      const workload = workloadAt(pc.cluster, pc.namespace, pc.pod, t);
      if (!workload) continue;
      const rate = maxOf(pc.cpu.map((x) => extrapolatedRate(window(x, t - 5 * MIN, t), t - 5 * MIN, t, true)));
      if (rate !== undefined) push(cpuPoints, k, { t, workload, v: rate });
      const peak = maxOf(pc.memory.flatMap((x) => window(x, t - 7 * MIN, t).map((y) => y.v)));
      if (peak !== undefined) push(memoryPoints, k, { t, workload, v: peak });
      // OOM kill in (t - 9m, t]: restarts rose while the last termination was OOMKilled, or cAdvisor's
      // OOM event counter rose.
      const restartIncrease = maxOf(pc.restarts.map((x) => extrapolatedRate(window(x, t - 9 * MIN, t), t - 9 * MIN, t, false)));
      const oomReason = maxOf(pc.oomReason.map((x) => instant(x, t)));
      const oomIncrease = maxOf(pc.oomEvents.map((x) => extrapolatedRate(window(x, t - 9 * MIN, t), t - 9 * MIN, t, false)));
      const killed = (restartIncrease !== undefined && restartIncrease > 0 && oomReason === 1) || (oomIncrease !== undefined && oomIncrease > 0);
      if (killed) push(oomPoints, k, { t, workload, v: maxOf(pc.memoryLimit.map((x) => instant(x, t))) ?? 0 });
    }
  }

  // ---- Tier 2, at the end (CPU, points, OOM), and hourly (memory rollup).
  const stats = new Map<string, WorkloadStats>();
  const statsOf = (pc: PodContainer, w: WorkloadRef): WorkloadStats => {
    const key: ContainerKey = { cluster: pc.cluster, namespace: pc.namespace, workload: w.workload, workload_kind: w.kind, container: pc.container };
    let st = stats.get(wcKey(key));
    if (!st) {
      st = { key, pointsByPod: new Map(), quantileByPod: new Map(), quantile: -Infinity, points: 0, memoryPeak: -Infinity };
      stats.set(wcKey(key), st);
    }
    return st;
  };
  const inWindow = (t: number, lo: number, hi: number) => t > lo && t <= hi;
  for (const [k, pc] of podContainers) {
    // A recorded series per (pod container, workload): a pod never changes workload in this scenario.
    for (const p of (cpuPoints.get(k) ?? []).filter((p) => inWindow(p.t, T - 14 * 24 * HOUR, T))) {
      const st = statsOf(pc, p.workload);
      const list = st.pointsByPod.get(pc.pod) ?? [];
      list.push(p.v);
      st.pointsByPod.set(pc.pod, list);
    }
  }
  for (const st of stats.values()) {
    for (const [pod, values] of st.pointsByPod) {
      const q = quantile(CONFIG.cpuQuantile, values);
      st.quantileByPod.set(pod, q);
      st.quantile = Math.max(st.quantile, q);
      st.points += values.length;
    }
  }
  // Memory: max1h at every hourly evaluation over (h − 65m, h], max across the workload's pods; then
  // the max over 14 days of those.
  for (const h of times.hourly) {
    const hourly = new Map<string, { pc: PodContainer; w: WorkloadRef; v: number }>();
    for (const [k, pc] of podContainers) {
      for (const p of memoryPoints.get(k) ?? []) {
        if (!inWindow(p.t, h - 65 * MIN, h)) continue;
        const wk = `${pc.cluster}|${pc.namespace}|${p.workload.workload}|${p.workload.kind}|${pc.container}`;
        const cur = hourly.get(wk);
        if (!cur || p.v > cur.v) hourly.set(wk, { pc, w: p.workload, v: p.v });
      }
    }
    if (!inWindow(h, T - 14 * 24 * HOUR, T)) continue;
    for (const { pc, w, v } of hourly.values()) {
      const st = statsOf(pc, w);
      st.memoryPeak = Math.max(st.memoryPeak, v);
    }
  }
  for (const [k, pc] of podContainers) {
    for (const p of (oomPoints.get(k) ?? []).filter((p) => inWindow(p.t, T - 14 * 24 * HOUR, T))) {
      const st = statsOf(pc, p.workload);
      st.oomLimit = Math.max(st.oomLimit ?? -Infinity, p.v);
    }
  }

  // ---- Inventory at T: current requests / limits, replicas, prices.
  const phaseAt = (cluster: string, namespace: string, pod: string, phases: string[], t: number): boolean =>
    maxOf(raw.select('kube_pod_status_phase', { cluster, namespace, pod, phase: (v) => phases.includes(v) }).map((x) => instant(x, t))) === 1;

  const contract = new Map<string, ContractValues>();
  const contractOf = (key: ContainerKey, resource: Resource): ContractValues => {
    const k = idKey(key, resource);
    let c = contract.get(k);
    if (!c) {
      c = { key, resource };
      contract.set(k, c);
    }
    return c;
  };
  // Containers of known pods (kube_pod_container_info), with their pod's workload at T.
  const containersAtT = new Map<string, { pc: { cluster: string; namespace: string; pod: string; container: string }; w: WorkloadRef }>();
  for (const x of raw.select('kube_pod_container_info')) {
    if (instant(x, T) === undefined) continue;
    const w = workloadAt(lbl(x, 'cluster'), lbl(x, 'namespace'), lbl(x, 'pod'), T);
    if (!w) continue;
    containersAtT.set(podContainerKey(lbl(x, 'cluster'), lbl(x, 'namespace'), lbl(x, 'pod'), lbl(x, 'container')), {
      pc: { cluster: lbl(x, 'cluster'), namespace: lbl(x, 'namespace'), pod: lbl(x, 'pod'), container: lbl(x, 'container') },
      w,
    });
  }
  const keyOf = (pc: { cluster: string; namespace: string; container: string }, w: WorkloadRef): ContainerKey => ({
    cluster: pc.cluster, namespace: pc.namespace, workload: w.workload, workload_kind: w.kind, container: pc.container,
  });
  // Replicas: Running pods that have the container; 0 while none runs.
  const running = new Map<string, number>();
  for (const { pc, w } of containersAtT.values()) {
    const k = wcKey(keyOf(pc, w));
    running.set(k, (running.get(k) ?? 0) + (phaseAt(pc.cluster, pc.namespace, pc.pod, ['Running'], T) ? 1 : 0));
  }
  for (const { pc, w } of containersAtT.values()) {
    for (const resource of ['cpu', 'memory'] as const) contractOf(keyOf(pc, w), resource).replicas = running.get(wcKey(keyOf(pc, w)));
  }
  // Current requests / limits: max across Pending/Running pods, else across the other known pods.
  for (const [metric, field] of [['kube_pod_container_resource_requests', 'currentRequest'], ['kube_pod_container_resource_limits', 'currentLimit']] as const) {
    const active = new Map<string, number>();
    const anyPod = new Map<string, number>();
    for (const x of raw.select(metric, { resource: (v) => v === 'cpu' || v === 'memory' })) {
      const v = instant(x, T);
      if (v === undefined) continue;
      const w = workloadAt(lbl(x, 'cluster'), lbl(x, 'namespace'), lbl(x, 'pod'), T);
      if (!w) continue;
      const key = idKey(keyOf({ cluster: lbl(x, 'cluster'), namespace: lbl(x, 'namespace'), container: lbl(x, 'container') }, w), lbl(x, 'resource') as Resource);
      anyPod.set(key, Math.max(anyPod.get(key) ?? -Infinity, v));
      if (phaseAt(lbl(x, 'cluster'), lbl(x, 'namespace'), lbl(x, 'pod'), ['Pending', 'Running'], T)) active.set(key, Math.max(active.get(key) ?? -Infinity, v));
    }
    for (const [key, v] of anyPod) {
      const [cluster, namespace, workload, workload_kind, container, resource] = key.split('|') as [string, string, string, string, string, Resource];
      // `A or B`: the Pending/Running pods' maximum where there is one, else every known pod's.
      contractOf({ cluster, namespace, workload, workload_kind, container }, resource)[field] = active.get(key) ?? v;
    }
  }

  // Prices: OpenCost's average node price (max per node, nodes with a price > 0), else the defaults for
  // every cluster that has workloads.
  const prices = new Map<string, { cpu: number; memory: number; source: string }>();
  const clustersWithWorkloads = new Set([...pods.values()].filter((p) => workloadAt(p.cluster, p.namespace, p.pod, T)).map((p) => p.cluster));
  const avgNodePrice = (metric: string, cluster: string): number | undefined => {
    const byNode = new Map<string, number>();
    for (const x of raw.select(metric, { cluster })) {
      const v = instant(x, T);
      if (v !== undefined) byNode.set(lbl(x, 'node'), Math.max(byNode.get(lbl(x, 'node')) ?? -Infinity, v));
    }
    const positive = [...byNode.values()].filter((v) => v > 0);
    return positive.length ? positive.reduce((a, b) => a + b, 0) / positive.length : undefined;
  };
  for (const cluster of clustersWithWorkloads) {
    const cpu = avgNodePrice('node_cpu_hourly_cost', cluster);
    const memory = avgNodePrice('node_ram_hourly_cost', cluster);
    prices.set(cluster, { cpu: cpu ?? CONFIG.defaultCpuPrice, memory: memory ?? CONFIG.defaultMemoryPrice, source: cpu !== undefined ? 'opencost' : 'default' });
  }

  // ---- HPA targets.
  const hpaOf = new Map<string, string>();
  for (const x of raw.select('kube_horizontalpodautoscaler_info')) {
    if (instant(x, T) === undefined) continue;
    hpaOf.set([lbl(x, 'cluster'), lbl(x, 'namespace'), lbl(x, 'scaletargetref_name'), lbl(x, 'scaletargetref_kind')].join('|'), lbl(x, 'horizontalpodautoscaler'));
  }
  const hpaFor = (k: ContainerKey) => hpaOf.get([k.cluster, k.namespace, k.workload, k.workload_kind].join('|'));

  // ---- Recommendations at T.
  const alerts: ExpectedAlert[] = [];
  const alert = (alertname: string, labels: Record<string, string>, value: number, activeAt?: number) =>
    alerts.push({ alertname, labels: { ...labels, alertname }, value, activeAt });
  const six = (k: ContainerKey, resource: Resource) => ({ ...k, resource });

  for (const c of contract.values()) {
    if (c.replicas === undefined) continue; // the workload container no longer exists
    const st = stats.get(wcKey(c.key));
    if (!st || st.points < CONFIG.minDataPoints) continue;
    if (c.resource === 'cpu') {
      c.computed = Math.max(Math.ceil(st.quantile * 1000 - 1e-6) / 1000, CONFIG.cpuMinCores);
    } else {
      const basis = Math.max(st.memoryPeak * CONFIG.memoryHeadroom, st.oomLimit !== undefined ? st.oomLimit * CONFIG.memoryOomBump : -Infinity);
      c.computed = Math.max(Math.ceil(basis / MIB - 1e-6) * MIB, CONFIG.memoryMinBytes);
    }
    if (hpaFor(c.key) === undefined) {
      c.recommendedRequest = c.computed;
      if (c.resource === 'memory') c.recommendedLimit = c.computed;
      const price = prices.get(c.key.cluster)!;
      const delta = (c.currentRequest ?? 0) - c.recommendedRequest;
      c.monthlySavings = c.resource === 'cpu' ? delta * c.replicas * price.cpu * CONFIG.hoursPerMonth : (delta / GIB) * c.replicas * price.memory * CONFIG.hoursPerMonth;
    }
  }

  for (const c of contract.values()) {
    if (c.replicas === undefined) continue;
    const st = stats.get(wcKey(c.key));
    const labels = six(c.key, c.resource);
    // Not enough data (for both resources, counted on CPU points).
    if (!st || st.points < CONFIG.minDataPoints) {
      alert('TrimtabInsufficientData', { ...labels, trimtab_recommendation: 'insufficient_data', severity: 'ok' }, st ? st.points : 0);
    }
    const hpa = hpaFor(c.key);
    if (c.computed !== undefined && hpa !== undefined) {
      alert('TrimtabHPAManaged', { ...labels, horizontalpodautoscaler: hpa, trimtab_recommendation: 'risk', severity: 'ok' }, c.computed);
    }
    if (c.recommendedRequest === undefined) continue;
    const bands = c.resource === 'cpu' ? CONFIG.cpuBands : CONFIG.memoryBands;
    let severity: string | null = null;
    if (c.currentRequest === undefined) severity = 'warning';
    else {
      const change = Math.abs(c.recommendedRequest - c.currentRequest);
      if (change >= bands.critical) severity = 'critical';
      else if (change >= bands.warning) severity = 'warning';
      else if (change >= bands.ok) severity = 'ok';
    }
    if (severity) alert(c.resource === 'cpu' ? 'TrimtabRightsizeCPU' : 'TrimtabRightsizeMemory', { ...labels, trimtab_recommendation: 'rightsize', severity }, c.recommendedRequest);
  }

  // OOM kills within a day: the limit at the kill.
  const oomByWorkload = new Map<string, { key: ContainerKey; v: number }>();
  for (const [k, pc] of podContainers) {
    for (const p of (oomPoints.get(k) ?? []).filter((p) => inWindow(p.t, T - 24 * HOUR, T))) {
      const key = keyOf(pc, p.workload);
      const cur = oomByWorkload.get(wcKey(key));
      if (!cur || p.v > cur.v) oomByWorkload.set(wcKey(key), { key, v: p.v });
    }
  }
  for (const { key, v } of oomByWorkload.values()) alert('TrimtabOOMKilled', { ...key, trimtab_recommendation: 'risk', severity: 'critical' }, v);

  // Over-provisioned namespaces, over the containers that have both a current and a recommended request.
  const nsSums = new Map<string, { cluster: string; namespace: string; resource: Resource; rec: number; cur: number }>();
  for (const c of contract.values()) {
    if (c.recommendedRequest === undefined || c.currentRequest === undefined || c.replicas === undefined) continue;
    const k = `${c.key.cluster}|${c.key.namespace}|${c.resource}`;
    const sum = nsSums.get(k) ?? { cluster: c.key.cluster, namespace: c.key.namespace, resource: c.resource, rec: 0, cur: 0 };
    sum.rec += c.recommendedRequest * c.replicas;
    sum.cur += c.currentRequest * c.replicas;
    nsSums.set(k, sum);
  }
  for (const n of nsSums.values()) {
    const ratio = n.rec / n.cur;
    const waste = n.cur - n.rec;
    const min = n.resource === 'cpu' ? CONFIG.namespaceWasteMinCpu : CONFIG.namespaceWasteMinMemory;
    if (ratio < CONFIG.namespaceOverprovisionedRatio && waste >= min) {
      alert('TrimtabNamespaceOverprovisioned', { cluster: n.cluster, namespace: n.namespace, resource: n.resource, trimtab_recommendation: 'waste', severity: 'warning' }, ratio);
    }
  }

  // ---- Risks (trimtab.risks, `for: 15m`), evaluated at T − 15m, T − 10m, T − 5m and T: an alert fires
  // at T when its condition held at every evaluation since T − 15m.
  const riskAt = (t: number): Map<string, ExpectedAlert> => {
    const out = new Map<string, ExpectedAlert>();
    const add = (a: ExpectedAlert) => {
      const k = JSON.stringify(Object.entries(a.labels).sort());
      const cur = out.get(k);
      if (!cur || a.value > cur.value) out.set(k, a);
    };
    const info = new Map<string, { cluster: string; namespace: string; pod: string; container: string }>();
    for (const x of raw.select('kube_pod_container_info')) {
      if (instant(x, t) === undefined) continue;
      info.set(podContainerKey(lbl(x, 'cluster'), lbl(x, 'namespace'), lbl(x, 'pod'), lbl(x, 'container')), { cluster: lbl(x, 'cluster'), namespace: lbl(x, 'namespace'), pod: lbl(x, 'pod'), container: lbl(x, 'container') });
    }
    const has = (metric: string, pc: { cluster: string; namespace: string; pod: string; container: string }, resource: string) =>
      raw.select(metric, { cluster: pc.cluster, namespace: pc.namespace, pod: pc.pod, container: pc.container, resource }).some((x) => instant(x, t) !== undefined);
    for (const pc of info.values()) {
      if (!phaseAt(pc.cluster, pc.namespace, pc.pod, ['Running'], t)) continue;
      const w = workloadAt(pc.cluster, pc.namespace, pc.pod, t);
      if (!w) continue;
      const five = keyOf(pc, w);
      for (const resource of ['cpu', 'memory'] as const) {
        if (!has('kube_pod_container_resource_requests', pc, resource)) {
          add({ alertname: 'TrimtabMissingRequest', labels: { ...five, resource, alertname: 'TrimtabMissingRequest', trimtab_recommendation: 'risk', severity: 'warning' }, value: 1 });
        }
      }
      if (!has('kube_pod_container_resource_limits', pc, 'memory')) {
        add({ alertname: 'TrimtabMissingMemoryLimit', labels: { ...five, alertname: 'TrimtabMissingMemoryLimit', trimtab_recommendation: 'risk', severity: 'warning' }, value: 1 });
      }
    }
    // Memory near the limit: working set / memory limit, max across the workload's pods.
    for (const [k, pc] of podContainers) {
      const w = workloadAt(pc.cluster, pc.namespace, pc.pod, t);
      if (!w) continue;
      const ws = maxOf(pc.memory.map((x) => instant(x, t)));
      const limit = maxOf(podContainers.get(k)!.memoryLimit.map((x) => instant(x, t)));
      if (ws === undefined || limit === undefined) continue;
      const ratio = ws / limit;
      if (ratio > CONFIG.memoryLimitUsageRatio) {
        add({ alertname: 'TrimtabMemoryNearLimit', labels: { ...keyOf(pc, w), alertname: 'TrimtabMemoryNearLimit', trimtab_recommendation: 'risk', severity: 'warning' }, value: ratio });
      }
    }
    // CPU throttling needs container_cpu_cfs_* series: the scenario has none, so it cannot fire.
    return out;
  };
  const perMinute = times.final.map((t) => ({ t, risks: riskAt(t) }));
  const last = perMinute[perMinute.length - 1]!;
  for (const [k, a] of last.risks) {
    let activeAt = last.t;
    for (let i = perMinute.length - 1; i >= 0 && perMinute[i]!.risks.has(k); i--) activeAt = perMinute[i]!.t;
    if (T - activeAt >= 15 * MIN) alert(a.alertname, a.labels, a.value, activeAt);
  }

  // ---- Efficiency per cluster: last hour's average of the recorded usage over the requests of Running pods.
  const efficiency = new Map<string, number>();
  for (const resource of ['cpu', 'memory'] as const) {
    const points = resource === 'cpu' ? cpuPoints : memoryPoints;
    const usage = new Map<string, number>();
    const requests = new Map<string, number>();
    for (const [k, pc] of podContainers) {
      const inHour = (points.get(k) ?? []).filter((p) => inWindow(p.t, T - HOUR, T));
      if (inHour.length === 0) continue;
      if (!phaseAt(pc.cluster, pc.namespace, pc.pod, ['Running'], T)) continue;
      const req = maxOf(raw.select('kube_pod_container_resource_requests', { cluster: pc.cluster, namespace: pc.namespace, pod: pc.pod, container: pc.container, resource }).map((x) => instant(x, T)));
      if (req === undefined) continue;
      usage.set(pc.cluster, (usage.get(pc.cluster) ?? 0) + inHour.reduce((a, p) => a + p.v, 0) / inHour.length);
      requests.set(pc.cluster, (requests.get(pc.cluster) ?? 0) + req);
    }
    for (const [cluster, u] of usage) efficiency.set(`${cluster}|${resource}`, u / requests.get(cluster)!);
  }

  return { contract, alerts, efficiency, prices, stats };
}
