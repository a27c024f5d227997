// The synthetic cluster of the rule pack's scenario test (test/analyzer/scenario.test.ts): a dozen
// containers in two clusters over 9 hours of simulated time, as the raw cAdvisor, kube-state-metrics and
// OpenCost series a Prometheus would remote-write, one sample a minute.
//
// Everything here is plain data: the usage of every container is a deterministic function of the minute
// (seeded pseudo-random noise), and the series are built from it with the label sets the real exporters
// use (kube-state-metrics v2, see agent/ksm.ts; cAdvisor via the kubelet). The expected recommendations
// are computed from these same values by scenario-formulas.ts, never by the code under test.
//
// Cast (cluster c1 has OpenCost prices, cluster c2 has none):
//   c1/shop  Deployment web (ReplicaSet web-7d4), 2 replicas, containers app + envoy. Pod web-7d4-bq2xk
//            runs hot for 4.5 hours and is then evicted and replaced by web-7d4-m8n4p (new pod name).
//            Pod web-7d4-x9v2c is scraped by two cAdvisor jobs, and has pod-level and POD series.
//   c1/shop  StatefulSet db, pod db-0, containers postgres (OOM-killed at its 512Mi limit after 5 hours,
//            at 5 h: new cgroup series, restart count, last terminated reason, cAdvisor OOM event) + exporter
//            (no limits, idle: both floors).
//   c1/shop  CronJob report: Job report-29000000's pod ran 10 min - 3 h 47 min and Succeeded (kept by
//            KSM), Job report-29000260's pod runs from 4 h 20 min on: 44 + 56 = exactly 100 points.
//   c1/ops   bare pod debug-shell: no CPU request, no limits.
//   c2/platform  DaemonSet node-agent on 2 nodes (one counter reset, one pod scraped by two jobs).
//   c2/platform  Deployment api, 2 replicas, scaled by HPA api.
//   c2/platform  Deployment late: starts 5 hours before the end (60 five-minute points < 100).
// All kube-state-metrics series of c1 come from two kube-state-metrics replicas (duplicates).

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const MIB = 1_048_576;
export const GIB = 1_073_741_824;
/** Samples are scraped at :17 of every minute: no raw sample lies on a window boundary of the pack. */
export const SCRAPE_OFFSET_MS = 17_000;
/** Hours of simulated time: 108 five-minute slots, enough for 100 points of a single pod. */
export const HOURS = 9;
/** One-minute samples over the window. */
export const SAMPLE_COUNT = HOURS * 60;

export interface RawSample {
  t: number;
  v: number;
  /** A Prometheus staleness marker (sent with STALE_NAN's bits). */
  stale?: boolean;
}

export interface RawSeries {
  labels: Record<string, string>;
  samples: RawSample[];
}

export type OwnerKind = 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | '';

export interface ContainerSpec {
  name: string;
  requests: { cpu?: number; memory?: number };
  limits: { cpu?: number; memory?: number };
  /** Cores used during minute k (between samples k and k + 1). */
  cpu: (k: number) => number;
  /** Working set at sample k, bytes. */
  memory: (k: number) => number;
  /** Sample index at which the cAdvisor CPU counter resets (the same series starts again near 0). */
  counterResetAt?: number;
  /** OOM kill: the old cgroup's last sample is at `at - 1` (its OOM event counter is 1 there); from
   *  `at` on a new container (new cgroup series, new container_id) runs and KSM counts a restart. */
  oomKillAt?: number;
}

export interface PodSpec {
  cluster: string;
  namespace: string;
  name: string;
  uid: string;
  node: string;
  owner: { kind: OwnerKind; name: string };
  /** Sample indexes [start, end) during which the containers run (cAdvisor reports them). */
  run: [number, number];
  /** Sample indexes [start, end) during which kube-state-metrics reports the pod. When end < SAMPLE_COUNT
   *  the pod was deleted: every series of it gets a staleness marker at `end`. */
  ksm: [number, number];
  /** Phase reported after the run while KSM still lists the pod (a completed Job pod). */
  phaseAfterRun?: 'Succeeded' | 'Failed';
  containers: ContainerSpec[];
  /** cAdvisor scrape jobs (two = duplicated series). */
  cadvisorJobs: string[];
  /** Also expose the pod-level cgroup and the pause container (they must be ignored). */
  podLevelSeries?: boolean;
}

export interface ClusterSpec {
  name: string;
  ksmInstances: string[];
  /** OpenCost node prices: node -> [$ per core-hour, $ per GiB-hour], and nodes scraped twice. */
  opencost?: { nodes: Record<string, [number, number]>; duplicatedNodes: string[] };
}

export interface ObjectOwnerSpec {
  cluster: string;
  namespace: string;
  /** kube_replicaset_owner or kube_job_owner. */
  kind: 'ReplicaSet' | 'Job';
  name: string;
  owner: { kind: string; name: string };
  /** Sample indexes [start, end) during which KSM reports the object. */
  ksm: [number, number];
}

export interface HpaSpec {
  cluster: string;
  namespace: string;
  name: string;
  target: { kind: string; name: string };
}

export interface Scenario {
  /** Start of the data (aligned to the hour); the first sample is at t0 + SCRAPE_OFFSET_MS. */
  t0: number;
  /** End of the simulated window: t0 + HOURS, the time of the final evaluation. */
  end: number;
  clusters: ClusterSpec[];
  pods: PodSpec[];
  owners: ObjectOwnerSpec[];
  hpas: HpaSpec[];
}

export function sampleTime(s: Scenario, k: number): number {
  return s.t0 + k * MIN + SCRAPE_OFFSET_MS;
}

/** mulberry32: a small seeded PRNG, so the scenario is the same at every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A per-minute series of values base + spread × noise, fixed once drawn. */
function noisy(seed: number, base: number, spread: number): (k: number) => number {
  const r = prng(seed);
  const values = Array.from({ length: SAMPLE_COUNT + 1 }, () => base + spread * r());
  return (k) => values[k]!;
}

/** Working set in whole 4 KiB pages, base + spread × noise. */
function noisyBytes(seed: number, base: number, spread: number): (k: number) => number {
  const f = noisy(seed, base, spread);
  return (k) => Math.round(f(k) / 4096) * 4096;
}

/** Occasional bursts on top of a noisy baseline (every `every` minutes, `width` minutes long). */
function bursty(seed: number, base: number, spread: number, burst: number, every: number, width: number): (k: number) => number {
  const f = noisy(seed, base, spread);
  return (k) => f(k) + (k % every < width ? burst : 0);
}

export function buildScenario(now: number): Scenario {
  const t0 = Math.floor((now - HOURS * HOUR) / HOUR) * HOUR;
  const end = t0 + HOURS * HOUR;
  const N = SAMPLE_COUNT;
  const all: [number, number] = [0, N];

  const webApp = (seed: number, base: number, spread: number): ContainerSpec => ({
    name: 'app',
    requests: { cpu: 2, memory: 512 * MIB },
    limits: { memory: 1 * GIB },
    cpu: bursty(seed, base, spread, 0.15, 97, 6),
    memory: noisyBytes(seed + 1, 300 * MIB, 90 * MIB),
  });
  const envoy = (seed: number): ContainerSpec => ({
    name: 'envoy',
    requests: { cpu: 0.2, memory: 128 * MIB },
    limits: { memory: 256 * MIB },
    cpu: noisy(seed, 0.03, 0.03),
    memory: noisyBytes(seed + 1, 40 * MIB, 20 * MIB),
  });
  const reportContainer = (seed: number, cpuRequest: number): ContainerSpec => ({
    name: 'report',
    requests: { cpu: cpuRequest, memory: 4 * GIB },
    limits: { memory: 4 * GIB },
    cpu: noisy(seed, 0.85, 0.35),
    memory: noisyBytes(seed + 1, 1.2 * GIB, 0.3 * GIB),
  });
  const nodeAgent = (seed: number, reset?: number): ContainerSpec => ({
    name: 'agent',
    requests: { cpu: 0.1, memory: 320 * MIB },
    limits: { memory: 320 * MIB },
    cpu: noisy(seed, 0.08, 0.045),
    memory: noisyBytes(seed + 1, 130 * MIB, 20 * MIB),
    counterResetAt: reset,
  });
  const apiContainer = (seed: number): ContainerSpec => ({
    name: 'api',
    requests: { cpu: 1, memory: 1 * GIB },
    limits: { memory: 1 * GIB },
    cpu: noisy(seed, 0.25, 0.1),
    memory: noisyBytes(seed + 1, 380 * MIB, 40 * MIB),
  });

  // Postgres grows from 200Mi towards its 512Mi limit and is OOM-killed at minute 301; the new
  // container restarts at ~150Mi.
  const kill = 301;
  const pgNoise = noisy(31, 0, 8 * MIB);
  const postgresMemory = (k: number) =>
    k < kill ? Math.round((200 * MIB + (310 * MIB * k) / (kill - 1) + (k === kill - 1 ? 0 : -pgNoise(k))) / 4096) * 4096 : Math.round((150 * MIB + (k - kill) * 0.25 * MIB + pgNoise(k)) / 4096) * 4096;

  const pods: PodSpec[] = [
    // ---- c1/shop: Deployment web, two replicas; bq2xk is evicted after 4.5 h and replaced by m8n4p.
    {
      cluster: 'c1', namespace: 'shop', name: 'web-7d4-x9v2c', uid: 'u-web-1', node: 'n1',
      owner: { kind: 'ReplicaSet', name: 'web-7d4' }, run: all, ksm: all,
      containers: [webApp(11, 0.2, 0.12), envoy(13)], cadvisorJobs: ['kubelet', 'cadvisor'], podLevelSeries: true,
    },
    {
      cluster: 'c1', namespace: 'shop', name: 'web-7d4-bq2xk', uid: 'u-web-2', node: 'n2',
      owner: { kind: 'ReplicaSet', name: 'web-7d4' }, run: [0, 270], ksm: [0, 270],
      containers: [webApp(17, 0.45, 0.16), envoy(19)], cadvisorJobs: ['kubelet'],
    },
    {
      cluster: 'c1', namespace: 'shop', name: 'web-7d4-m8n4p', uid: 'u-web-3', node: 'n3',
      owner: { kind: 'ReplicaSet', name: 'web-7d4' }, run: [271, N], ksm: [271, N],
      containers: [webApp(23, 0.2, 0.1), envoy(29)], cadvisorJobs: ['kubelet'],
    },
    // ---- c1/shop: StatefulSet db.
    {
      cluster: 'c1', namespace: 'shop', name: 'db-0', uid: 'u-db-0', node: 'n1',
      owner: { kind: 'StatefulSet', name: 'db' }, run: all, ksm: all,
      containers: [
        { name: 'postgres', requests: { cpu: 0.1, memory: 256 * MIB }, limits: { memory: 512 * MIB }, cpu: noisy(37, 0.3, 0.16), memory: postgresMemory, oomKillAt: kill },
        { name: 'exporter', requests: { cpu: 0.05, memory: 64 * MIB }, limits: {}, cpu: noisy(41, 0.002, 0.002), memory: noisyBytes(43, 15 * MIB, 10 * MIB) },
      ],
      cadvisorJobs: ['kubelet'],
    },
    // ---- c1/shop: CronJob report. The first run's pod completed (Succeeded) and is still listed; its last
    // 5-minute window holds only two samples (an extrapolated partial rate).
    {
      cluster: 'c1', namespace: 'shop', name: 'report-29000000-h7k2p', uid: 'u-rep-1', node: 'n2',
      owner: { kind: 'Job', name: 'report-29000000' }, run: [10, 227], ksm: [10, N], phaseAfterRun: 'Succeeded',
      containers: [reportContainer(47, 3)], cadvisorJobs: ['kubelet'],
    },
    {
      cluster: 'c1', namespace: 'shop', name: 'report-29000260-q4r8s', uid: 'u-rep-2', node: 'n3',
      owner: { kind: 'Job', name: 'report-29000260' }, run: [260, N], ksm: [260, N],
      containers: [reportContainer(53, 2)], cadvisorJobs: ['kubelet'],
    },
    // ---- c1/ops: a bare pod without a CPU request and without limits.
    {
      cluster: 'c1', namespace: 'ops', name: 'debug-shell', uid: 'u-dbg', node: 'n1',
      owner: { kind: '', name: '' }, run: all, ksm: all,
      containers: [{ name: 'shell', requests: { memory: 64 * MIB }, limits: {}, cpu: noisy(59, 0.04, 0.03), memory: noisyBytes(61, 100 * MIB, 20 * MIB) }],
      cadvisorJobs: ['kubelet'],
    },
    // ---- c2/platform: DaemonSet node-agent.
    {
      cluster: 'c2', namespace: 'platform', name: 'node-agent-5zt7w', uid: 'u-na-1', node: 'm1',
      owner: { kind: 'DaemonSet', name: 'node-agent' }, run: all, ksm: all,
      containers: [nodeAgent(67, 200)], cadvisorJobs: ['kubelet'],
    },
    {
      cluster: 'c2', namespace: 'platform', name: 'node-agent-r2d6j', uid: 'u-na-2', node: 'm2',
      owner: { kind: 'DaemonSet', name: 'node-agent' }, run: all, ksm: all,
      containers: [nodeAgent(71)], cadvisorJobs: ['kubelet', 'cadvisor'],
    },
    // ---- c2/platform: Deployment api, scaled by an HPA.
    {
      cluster: 'c2', namespace: 'platform', name: 'api-6f9-k2j4h', uid: 'u-api-1', node: 'm1',
      owner: { kind: 'ReplicaSet', name: 'api-6f9' }, run: all, ksm: all,
      containers: [apiContainer(73)], cadvisorJobs: ['kubelet'],
    },
    {
      cluster: 'c2', namespace: 'platform', name: 'api-6f9-p7w3z', uid: 'u-api-2', node: 'm2',
      owner: { kind: 'ReplicaSet', name: 'api-6f9' }, run: all, ksm: all,
      containers: [apiContainer(79)], cadvisorJobs: ['kubelet'],
    },
    // ---- c2/platform: Deployment late, 5 hours of data.
    {
      cluster: 'c2', namespace: 'platform', name: 'late-5c8-w2x9q', uid: 'u-late', node: 'm1',
      owner: { kind: 'ReplicaSet', name: 'late-5c8' }, run: [240, N], ksm: [240, N],
      containers: [{ name: 'worker', requests: { cpu: 0.5, memory: 256 * MIB }, limits: { memory: 512 * MIB }, cpu: noisy(83, 0.1, 0.05), memory: noisyBytes(89, 100 * MIB, 10 * MIB) }],
      cadvisorJobs: ['kubelet'],
    },
  ];

  const owners: ObjectOwnerSpec[] = [
    { cluster: 'c1', namespace: 'shop', kind: 'ReplicaSet', name: 'web-7d4', owner: { kind: 'Deployment', name: 'web' }, ksm: all },
    { cluster: 'c1', namespace: 'shop', kind: 'Job', name: 'report-29000000', owner: { kind: 'CronJob', name: 'report' }, ksm: [10, N] },
    { cluster: 'c1', namespace: 'shop', kind: 'Job', name: 'report-29000260', owner: { kind: 'CronJob', name: 'report' }, ksm: [260, N] },
    { cluster: 'c2', namespace: 'platform', kind: 'ReplicaSet', name: 'api-6f9', owner: { kind: 'Deployment', name: 'api' }, ksm: all },
    { cluster: 'c2', namespace: 'platform', kind: 'ReplicaSet', name: 'late-5c8', owner: { kind: 'Deployment', name: 'late' }, ksm: [240, N] },
  ];

  return {
    t0,
    end,
    clusters: [
      {
        name: 'c1',
        ksmInstances: ['10.0.0.21:8080', '10.0.0.22:8080'],
        // n3 reports a price of 0 (a node OpenCost could not price): it must not pull the average down.
        opencost: { nodes: { n1: [0.04, 0.005], n2: [0.05, 0.006], n3: [0, 0] }, duplicatedNodes: ['n2'] },
      },
      { name: 'c2', ksmInstances: ['10.1.0.21:8080'] },
    ],
    pods,
    owners,
    hpas: [{ cluster: 'c2', namespace: 'platform', name: 'api', target: { kind: 'Deployment', name: 'api' } }],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Raw series, as Prometheus would remote-write them.

const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;

/** Samples at the given indexes (value per index), plus a staleness marker at `staleAt` when given. */
function seriesOver(s: Scenario, labels: Record<string, string>, from: number, to: number, value: (k: number) => number, staleAt: number | null): RawSeries {
  const samples: RawSample[] = [];
  for (let k = from; k < to; k++) samples.push({ t: sampleTime(s, k), v: value(k) });
  if (staleAt !== null && staleAt < SAMPLE_COUNT) samples.push({ t: sampleTime(s, staleAt), v: Number.NaN, stale: true });
  return { labels, samples };
}

/** Drops empty label values, as Prometheus does on the wire. */
function wire(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (v !== '') out[k] = v;
  return out;
}

function containerId(pod: PodSpec, c: ContainerSpec, generation: number): string {
  return `containerd://${pod.uid}-${c.name}-${generation}`;
}

/** Every raw series of the scenario. */
export function rawSeries(s: Scenario): RawSeries[] {
  const out: RawSeries[] = [];
  const N = SAMPLE_COUNT;
  const clusterOf = new Map(s.clusters.map((c) => [c.name, c]));

  for (const pod of s.pods) {
    const cluster = clusterOf.get(pod.cluster)!;
    const [runFrom, runTo] = pod.run;
    const [ksmFrom, ksmTo] = pod.ksm;
    const ksmStale = ksmTo < N ? ksmTo : null;
    const runStale = runTo < N ? runTo : null;

    // ---- kube-state-metrics, from every KSM replica.
    for (const instance of cluster.ksmInstances) {
      const ksm = (name: string, extra: Record<string, string>) =>
        wire({ __name__: name, cluster: pod.cluster, namespace: pod.namespace, pod: pod.name, uid: pod.uid, ...extra, job: 'kube-state-metrics', instance });
      const ownerController = pod.owner.kind === '' ? '' : 'true';
      out.push(seriesOver(s, ksm('kube_pod_owner', { owner_kind: pod.owner.kind, owner_name: pod.owner.name, owner_is_controller: ownerController }), ksmFrom, ksmTo, () => 1, ksmStale));
      for (const phase of PHASES) {
        const value = (k: number) => {
          const current = k < runTo ? 'Running' : (pod.phaseAfterRun ?? 'Running');
          return current === phase ? 1 : 0;
        };
        out.push(seriesOver(s, ksm('kube_pod_status_phase', { phase }), ksmFrom, ksmTo, value, ksmStale));
      }
      for (const c of pod.containers) {
        const image = `registry.example/${c.name}:1.0`;
        const base = { container: c.name };
        if (c.oomKillAt !== undefined) {
          const at = c.oomKillAt;
          out.push(seriesOver(s, ksm('kube_pod_container_info', { ...base, image, image_id: `${image}@sha256:1`, container_id: containerId(pod, c, 0) }), ksmFrom, at, () => 1, at));
          out.push(seriesOver(s, ksm('kube_pod_container_info', { ...base, image, image_id: `${image}@sha256:1`, container_id: containerId(pod, c, 1) }), at, ksmTo, () => 1, ksmStale));
          out.push(seriesOver(s, ksm('kube_pod_container_status_restarts_total', base), ksmFrom, ksmTo, (k) => (k < at ? 0 : 1), ksmStale));
          out.push(seriesOver(s, ksm('kube_pod_container_status_last_terminated_reason', { ...base, reason: 'OOMKilled' }), at, ksmTo, () => 1, ksmStale));
        } else {
          out.push(seriesOver(s, ksm('kube_pod_container_info', { ...base, image, image_id: `${image}@sha256:1`, container_id: containerId(pod, c, 0) }), ksmFrom, ksmTo, () => 1, ksmStale));
          out.push(seriesOver(s, ksm('kube_pod_container_status_restarts_total', base), ksmFrom, ksmTo, () => 0, ksmStale));
        }
        for (const [kind, values] of [['kube_pod_container_resource_requests', c.requests], ['kube_pod_container_resource_limits', c.limits]] as const) {
          if (values.cpu !== undefined) out.push(seriesOver(s, ksm(kind, { ...base, node: pod.node, resource: 'cpu', unit: 'core' }), ksmFrom, ksmTo, () => values.cpu!, ksmStale));
          if (values.memory !== undefined) out.push(seriesOver(s, ksm(kind, { ...base, node: pod.node, resource: 'memory', unit: 'byte' }), ksmFrom, ksmTo, () => values.memory!, ksmStale));
        }
      }
    }

    // ---- cAdvisor, from every scrape job.
    for (const job of pod.cadvisorJobs) {
      const instance = job === 'kubelet' ? `${pod.node}:10250` : `cadvisor-${pod.node}:8080`;
      const cad = (name: string, container: string, id: string, extra: Record<string, string> = {}) =>
        wire({ __name__: name, cluster: pod.cluster, namespace: pod.namespace, pod: pod.name, container, id, image: container ? `registry.example/${container}:1.0` : '', ...extra, job, instance, metrics_path: '/metrics/cadvisor' });
      const cgroup = `/kubepods/burstable/pod${pod.uid}`;
      for (const c of pod.containers) {
        // One cgroup per container generation: before and after an OOM kill.
        const generations: Array<[number, number, number | null]> =
          c.oomKillAt !== undefined ? [[runFrom, c.oomKillAt, c.oomKillAt], [c.oomKillAt, runTo, runStale]] : [[runFrom, runTo, runStale]];
        generations.forEach(([from, to, staleAt], generation) => {
          const id = `${cgroup}/${containerId(pod, c, generation)}`;
          // CPU counter: starts with a few seconds of start-up time, then the minute's usage × 60.
          const counter: number[] = [];
          let value = 0.25 + 0.5 * c.cpu(from);
          for (let k = from; k < to; k++) {
            if (k === c.counterResetAt) value = 0.5;
            counter[k] = value;
            value += c.cpu(k) * 60;
          }
          out.push(seriesOver(s, cad('container_cpu_usage_seconds_total', c.name, id, { cpu: 'total' }), from, to, (k) => counter[k]!, staleAt));
          out.push(seriesOver(s, cad('container_memory_working_set_bytes', c.name, id), from, to, (k) => c.memory(k), staleAt));
          const oom = (k: number) => (c.oomKillAt !== undefined && generation === 0 && k === c.oomKillAt - 1 ? 1 : 0);
          out.push(seriesOver(s, cad('container_oom_events_total', c.name, id), from, to, oom, staleAt));
        });
      }
      if (pod.podLevelSeries) {
        // The pod-level cgroup (no container label) and the pause container: far above the containers.
        out.push(seriesOver(s, cad('container_cpu_usage_seconds_total', '', cgroup, { cpu: 'total' }), runFrom, runTo, (k) => 1000 + k * 300, runStale));
        out.push(seriesOver(s, cad('container_memory_working_set_bytes', '', cgroup), runFrom, runTo, () => 8 * GIB, runStale));
        out.push(seriesOver(s, cad('container_cpu_usage_seconds_total', 'POD', `${cgroup}/pause`, { cpu: 'total' }), runFrom, runTo, (k) => 500 + k * 240, runStale));
        out.push(seriesOver(s, cad('container_memory_working_set_bytes', 'POD', `${cgroup}/pause`), runFrom, runTo, () => 4 * GIB, runStale));
        out.push(seriesOver(s, cad('container_oom_events_total', 'POD', `${cgroup}/pause`), runFrom, runTo, (k) => k, runStale));
      }
    }
  }

  // ---- ReplicaSet / Job owners.
  for (const o of s.owners) {
    const cluster = clusterOf.get(o.cluster)!;
    for (const instance of cluster.ksmInstances) {
      const labels: Record<string, string> =
        o.kind === 'ReplicaSet'
          ? { __name__: 'kube_replicaset_owner', cluster: o.cluster, namespace: o.namespace, replicaset: o.name }
          : { __name__: 'kube_job_owner', cluster: o.cluster, namespace: o.namespace, job_name: o.name };
      out.push(seriesOver(s, wire({ ...labels, owner_kind: o.owner.kind, owner_name: o.owner.name, owner_is_controller: 'true', job: 'kube-state-metrics', instance }), o.ksm[0], o.ksm[1], () => 1, o.ksm[1] < N ? o.ksm[1] : null));
    }
  }

  // ---- HPAs.
  for (const h of s.hpas) {
    for (const instance of clusterOf.get(h.cluster)!.ksmInstances) {
      out.push(
        seriesOver(
          s,
          wire({
            __name__: 'kube_horizontalpodautoscaler_info', cluster: h.cluster, namespace: h.namespace, horizontalpodautoscaler: h.name,
            scaletargetref_api_version: 'apps/v1', scaletargetref_kind: h.target.kind, scaletargetref_name: h.target.name, job: 'kube-state-metrics', instance,
          }),
          0, N, () => 1, null,
        ),
      );
    }
  }

  // ---- OpenCost.
  for (const c of s.clusters) {
    if (!c.opencost) continue;
    for (const [node, [cpu, ram]] of Object.entries(c.opencost.nodes)) {
      const instances = c.opencost.duplicatedNodes.includes(node) ? ['opencost-a:9003', 'opencost-b:9003'] : ['opencost-a:9003'];
      for (const instance of instances) {
        const labels = { cluster: c.name, node, instance, job: 'opencost', instance_type: 'e2-standard-4', region: 'us-central1' };
        out.push(seriesOver(s, { __name__: 'node_cpu_hourly_cost', ...labels }, 0, N, () => cpu, null));
        out.push(seriesOver(s, { __name__: 'node_ram_hourly_cost', ...labels }, 0, N, () => ram, null));
      }
    }
  }
  return out;
}
