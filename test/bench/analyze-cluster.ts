// The synthetic cluster of the analyzer benchmark (analyze.bench.ts): nodes, workloads of every kind the
// default rule pack knows, pods and containers with requests, limits and a usage profile, and the series
// the pack reads, generated as storage's DecodedWriteRequest columns:
//
//   - raw kube-state-metrics (every 60 s) and cAdvisor (every 30 s) for the last hour before `ts`,
//     including the pod-level cgroup (container="") and the pause container (container="POD") that the
//     rules must filter out, CFS throttling counters, OOM events and restarts, OpenCost node prices;
//   - tier 1 as if the analyzer had been running for `days`: the series trimtab.history records every
//     5 minutes per pod container (CPU rate, memory peak, activity, OOM kills) and per PDB;
//   - the tier-2 rollups that trimtab.history.14d reads back over 14 days (hourly memory peak and hourly
//     workload activity).
//
// Deterministic: the structure comes from protocol/fixtures.ts's rng(seed); every usage value is a pure
// function of (container, 5-minute bucket) through a hash, so the same value is produced whatever order the
// series are written in, and the benchmark can recompute the expected recommendation of any container.
//
// Usage is piecewise constant per 5-minute bucket b = [b·5m, (b+1)·5m): the raw CPU counter grows by
// cpuAt(c, b) × 30 s per 30-second scrape, so rate(...[5m]) at an aligned T is exactly cpuAt(c, T/5m − 1),
// the value tier 1 holds at T. Raw memory samples are memAt(c, b) × (1 − ≤1 %), and tier 1's 7-minute
// peak at T is max(memAt(b−1), memAt(b−2)).

import { rng } from '../../protocol/fixtures.ts';
import type { DecodedWriteRequest, Label } from '../../protocol/types.ts';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const FIVE_MINUTES = 5 * MINUTE;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Scrape grids of the raw hour, as offsets from `ts` (ms): every sample time t has t ≡ offset (mod interval). */
export const CADVISOR_INTERVAL = 30 * SECOND;
export const CADVISOR_OFFSET = 10 * SECOND; // samples at ts − 10 s − k·30 s
export const KSM_INTERVAL = 60 * SECOND;
export const KSM_OFFSET = 20 * SECOND; // samples at ts − 20 s − k·60 s
export const RAW_WINDOW = HOUR;

export interface ClusterOptions {
  /** Containers of the pods kube-state-metrics lists at ts (DaemonSets, completed CronJob pods and Pending pods included). */
  containers: number;
  nodes: number;
  /** Days of tier-1 history before ts. */
  days: number;
  /** Evaluation time, aligned to the hour. */
  ts: number;
  seed: number;
  cluster: string;
}

export type Sizing = 'over' | 'right' | 'under' | 'none' | 'idle' | 'sidecar';

export interface ContainerSpec {
  /** Unique per cluster; seeds the usage hash. */
  id: number;
  name: string;
  image: string;
  cpuBase: number;
  cpuAmp: number;
  phase: number;
  memBase: number;
  /** Fraction the working set grows over the week. */
  memGrowth: number;
  cpuRequest: number | null;
  memRequest: number | null;
  cpuLimit: number | null;
  memLimit: number | null;
  sizing: Sizing;
  /** Throttled share of CFS periods (only with a CPU limit). */
  throttleRatio: number;
  /** An OOM kill recorded in tier 1 at this time (5-minute aligned), or a kill in the raw hour (see oomRecent). */
  oomAt: number | null;
  /** Killed 3 minutes before ts: restarts_total and container_oom_events_total rise in the raw hour. */
  oomRecent: boolean;
}

export interface PodSpec {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  nodeIp: string;
  /** The controller in kube_pod_owner ('' for a bare pod). */
  ownerKind: string;
  ownerName: string;
  workload: WorkloadSpec;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  /** Listed by kube-state-metrics at ts. */
  inKsm: boolean;
  /** The containers ran (cAdvisor, tier 1) in [from, to). */
  from: number;
  to: number;
  containers: ContainerSpec[];
}

export interface WorkloadSpec {
  namespace: string;
  name: string;
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob' | 'Job' | 'Pod' | 'ReplicaSet' | 'Rollout';
  hpa: string | null;
  pdb: { name: string; expected: number; blockedSince: number | null } | null;
  /** kube_replicaset_owner entries (current and old ReplicaSets). */
  replicaSets: Array<{ name: string; ownerKind: string; ownerName: string }>;
  /** kube_job_owner entries. */
  jobs: Array<{ name: string; ownerKind: string; ownerName: string }>;
  createdAt: number;
  idle: boolean;
  rolledOutAt: number | null;
  pods: PodSpec[];
}

export interface NodeSpec {
  name: string;
  ip: string;
  type: string;
  cpu: number;
  memory: number;
  pods: number;
  cpuHourly: number | null;
  ramHourly: number | null;
}

export interface Cluster {
  options: ClusterOptions;
  start: number;
  nodes: NodeSpec[];
  workloads: WorkloadSpec[];
  pods: PodSpec[];
  /** Containers of pods listed by KSM at ts (the cluster's size). */
  ksmContainers: number;
}

// ---------------------------------------------------------------------------------------------------
// Deterministic per-point noise: a 32-bit integer hash of (a, b) → [0, 1).

export function hash01(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** CPU usage (cores) of container c during 5-minute bucket b. */
export function cpuAt(c: ContainerSpec, b: number): number {
  const day = ((b * FIVE_MINUTES) % DAY) / DAY;
  const wave = 1 + c.cpuAmp * Math.sin(2 * Math.PI * day + c.phase);
  const noise = 0.8 + 0.4 * hash01(c.id, b);
  const spike = hash01(c.id ^ 0x5bd1e995, b) < 0.01 ? 2.5 : 1;
  return c.cpuBase * wave * noise * spike;
}

/** Working-set level (bytes) of container c during bucket b; raw samples are at most 1 % below it. */
export function memAt(c: ContainerSpec, b: number, start: number, span: number): number {
  const frac = Math.min(1, Math.max(0, (b * FIVE_MINUTES - start) / span));
  const day = ((b * FIVE_MINUTES) % DAY) / DAY;
  return Math.round(c.memBase * (1 + c.memGrowth * frac) * (1 + 0.08 * Math.sin(2 * Math.PI * day + c.phase)) * (0.97 + 0.06 * hash01(c.id + 7919, b)));
}

/** Tier 1's 7-minute peak at an aligned time T. */
export function memPeak7m(c: ContainerSpec, T: number, start: number, span: number): number {
  const b = T / FIVE_MINUTES;
  return Math.max(memAt(c, b - 1, start, span), memAt(c, b - 2, start, span));
}

// ---------------------------------------------------------------------------------------------------
// The cluster

const TEAMS = ['payments', 'checkout', 'search', 'identity', 'ingest', 'ml-serving', 'web', 'batch', 'orders', 'catalog', 'billing', 'fraud', 'notifications', 'recs', 'growth', 'platform', 'data', 'auth', 'media', 'support'];
const ENVS = ['prod', 'staging', 'canary'];
const APPS = ['api', 'worker', 'frontend', 'cache', 'gateway', 'scheduler', 'indexer', 'exporter', 'consumer', 'processor', 'sync', 'admin', 'reporter', 'proxy', 'webhook'];
const SHAPES = [
  { type: 'm5.xlarge', cpu: 4, mem: 16, pods: 58, price: 0.192 },
  { type: 'm5.2xlarge', cpu: 8, mem: 32, pods: 58, price: 0.384 },
  { type: 'c5.2xlarge', cpu: 8, mem: 16, pods: 58, price: 0.34 },
  { type: 'r5.xlarge', cpu: 4, mem: 32, pods: 58, price: 0.252 },
  { type: 'm5.4xlarge', cpu: 16, mem: 64, pods: 234, price: 0.768 },
];
const DAEMONSETS = [
  { ns: 'kube-system', name: 'kube-proxy', containers: ['kube-proxy'] },
  { ns: 'kube-system', name: 'cilium', containers: ['cilium-agent', 'cilium-envoy'] },
  { ns: 'monitoring', name: 'node-exporter', containers: ['node-exporter'] },
  { ns: 'logging', name: 'fluent-bit', containers: ['fluent-bit'] },
];
const ALNUM = 'bcdfghjklmnpqrstvwxz2456789';

/** Builds the cluster. Pure: the same options give the same cluster. */
export function buildCluster(options: ClusterOptions): Cluster {
  // The one PRNG stream of the structure. A CronJob's runs (their number depends on ts) draw from a stream of
  // their own, so that the cluster is the same whatever hour ts is.
  let r = rng(options.seed);
  const { ts } = options;
  const start = ts - options.days * DAY;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const word = (n: number) => Array.from({ length: n }, () => ALNUM[Math.floor(r() * ALNUM.length)]).join('');
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
  const uid = () => `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  const at5m = (t: number) => Math.floor(t / FIVE_MINUTES) * FIVE_MINUTES;
  let nextId = 1;

  const nodes: NodeSpec[] = [];
  for (let i = 0; i < options.nodes; i++) {
    const s = pick(SHAPES);
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const priced = r() < 0.8;
    nodes.push({
      name: `ip-${ip.replaceAll('.', '-')}.eu-west-1.compute.internal`,
      ip,
      type: s.type,
      cpu: s.cpu - 0.08,
      memory: Math.floor(s.mem * 0.92 * GiB),
      pods: s.pods,
      cpuHourly: priced ? (s.price * 0.65) / s.cpu : null,
      ramHourly: priced ? (s.price * 0.35) / s.mem : null,
    });
  }
  const namespaces = TEAMS.flatMap((t) => ENVS.map((e) => `${t}-${e}`));
  const mesh = new Set(namespaces.filter((_, i) => i % 3 === 0));

  const workloads: WorkloadSpec[] = [];
  const pods: PodSpec[] = [];
  let ksmContainers = 0;

  const container = (name: string, image: string, sizing: Sizing, tpl?: ContainerSpec): ContainerSpec => {
    const id = nextId++;
    if (tpl) {
      // Another pod of the same workload: same requests and limits, its own usage.
      const f = 0.85 + 0.3 * r();
      return { ...tpl, id, cpuBase: tpl.cpuBase * f, memBase: Math.round(tpl.memBase * (0.9 + 0.2 * r())), phase: tpl.phase + r() * 0.3 };
    }
    let cpuBase: number;
    let memBase: number;
    if (sizing === 'sidecar') {
      cpuBase = 0.01 + 0.03 * r();
      memBase = (64 + 64 * r()) * MiB;
    } else if (sizing === 'idle') {
      // At most 0.0013 × 1.2 (noise) × 2.5 (spike) = 0.0039 cores: below idle_cpu_cores (0.005) in every window.
      cpuBase = 0.0005 + 0.0008 * r();
      memBase = (80 + 200 * r()) * MiB;
    } else {
      cpuBase = 0.02 * 100 ** r();
      memBase = 64 * MiB * 48 ** r();
    }
    const cpuAmp = sizing === 'idle' ? 0 : 0.2 + 0.5 * r();
    const p95 = cpuBase * (1 + cpuAmp) * 1.15;
    const peak = memBase * 1.25;
    const cores = (x: number) => Math.max(0.01, Math.round(x * 100) / 100);
    const mib = (x: number) => Math.max(32, Math.round(x / MiB)) * MiB;
    let cpuRequest: number | null = null;
    let memRequest: number | null = null;
    switch (sizing) {
      case 'over':
      case 'idle':
        cpuRequest = cores(Math.max(p95 * (3 + 7 * r()), p95 + 0.6 + r()));
        memRequest = mib(Math.max(peak * (2.5 + r()), peak + 700 * MiB));
        break;
      case 'right':
        cpuRequest = cores(p95 * (1 + 0.25 * r()));
        memRequest = mib(peak * (1.15 + 0.25 * r()));
        break;
      case 'under':
        cpuRequest = cores(p95 * 0.4);
        memRequest = mib(peak * 0.7);
        break;
      case 'sidecar':
        cpuRequest = 0.1;
        memRequest = 128 * MiB;
        break;
      case 'none':
        break;
    }
    let cpuLimit: number | null = null;
    let memLimit: number | null = null;
    let throttleRatio = 0;
    if (sizing === 'sidecar') {
      cpuLimit = 2;
      memLimit = GiB;
      throttleRatio = 0.01;
    } else if (memRequest !== null) {
      if (r() < 0.85) memLimit = r() < 0.5 ? memRequest : mib(memRequest * 1.5);
      if (r() < 0.4) {
        const throttled = r() < 0.08;
        cpuLimit = throttled ? cores(p95 * 0.9) : cores(cpuRequest! * 2);
        throttleRatio = throttled ? 0.3 + 0.3 * r() : 0.02 * r();
      }
      // 3 % of the 'under' class sit near their memory limit (working set > 90 % of it).
      if (sizing === 'under' && memLimit !== null && r() < 0.3) memBase = memLimit * 0.93 / 1.1;
    }
    return {
      id,
      name,
      image,
      cpuBase,
      cpuAmp,
      phase: r() * 2 * Math.PI,
      memBase,
      memGrowth: sizing === 'sidecar' ? 0.02 : 0.1 * r(),
      cpuRequest,
      memRequest,
      cpuLimit,
      memLimit,
      sizing,
      throttleRatio,
      oomAt: null,
      oomRecent: false,
    };
  };

  const sizingFor = (idle: boolean): Sizing => {
    if (idle) return 'idle';
    const x = r();
    return x < 0.3 ? 'over' : x < 0.8 ? 'right' : x < 0.93 ? 'under' : 'none';
  };

  /** Container templates of a workload: the app, maybe a second container, the mesh sidecar. */
  const templates = (ns: string, app: string, idle: boolean, noSidecar = false): Array<{ name: string; image: string; sizing: Sizing }> => {
    const out = [{ name: app, image: `registry.example.com/${ns}/${app}:v1.${Math.floor(r() * 40)}.${Math.floor(r() * 9)}`, sizing: sizingFor(idle) }];
    if (r() < 0.15) out.push({ name: 'log-shipper', image: 'docker.io/fluent/fluent-bit:3.1.4', sizing: idle ? 'idle' : 'sidecar' });
    if (mesh.has(ns) && !noSidecar) out.push({ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.22.3', sizing: idle ? 'idle' : 'sidecar' });
    return out;
  };

  const addPod = (
    w: WorkloadSpec,
    name: string,
    ownerKind: string,
    ownerName: string,
    tpls: Array<{ name: string; image: string; sizing: Sizing }>,
    first: ContainerSpec[] | null,
    spec: Partial<Pick<PodSpec, 'phase' | 'inKsm' | 'from' | 'to' | 'node'>> = {},
  ): PodSpec => {
    const node = spec.node ? nodes.find((n) => n.name === spec.node)! : pick(nodes);
    const p: PodSpec = {
      namespace: w.namespace,
      name,
      uid: uid(),
      node: node.name,
      nodeIp: node.ip,
      ownerKind,
      ownerName,
      workload: w,
      phase: spec.phase ?? 'Running',
      inKsm: spec.inKsm ?? true,
      from: spec.from ?? -Infinity,
      to: spec.to ?? Infinity,
      containers: tpls.map((t, i) => container(t.name, t.image, t.sizing, first?.[i])),
    };
    w.pods.push(p);
    pods.push(p);
    if (p.inKsm) ksmContainers += p.containers.length;
    return p;
  };

  const newWorkload = (namespace: string, name: string, kind: WorkloadSpec['kind']): WorkloadSpec => {
    const w: WorkloadSpec = { namespace, name, kind, hpa: null, pdb: null, replicaSets: [], jobs: [], createdAt: -Infinity, idle: false, rolledOutAt: null, pods: [] };
    workloads.push(w);
    return w;
  };

  // DaemonSets: one pod per node.
  for (const ds of DAEMONSETS) {
    const w = newWorkload(ds.ns, ds.name, 'DaemonSet');
    const tpls = ds.containers.map((c) => ({ name: c, image: `registry.k8s.io/${c}:v1.30.2`, sizing: (r() < 0.5 ? 'right' : 'over') as Sizing }));
    let first: ContainerSpec[] | null = null;
    for (const n of nodes) {
      const p = addPod(w, `${ds.name}-${word(5)}`, 'DaemonSet', ds.name, tpls, first, { node: n.name });
      first ??= p.containers;
    }
  }

  // Everything else, until the container count is reached.
  const used = new Map<string, number>();
  const uniqueName = (ns: string, base: string) => {
    const k = `${ns}/${base}`;
    const n = (used.get(k) ?? 0) + 1;
    used.set(k, n);
    return n === 1 ? base : `${base}-${n}`;
  };
  while (ksmContainers < options.containers) {
    const ns = pick(namespaces);
    const app = pick(APPS);
    const x = r();
    const kind: WorkloadSpec['kind'] = x < 0.8 ? 'Deployment' : x < 0.87 ? 'StatefulSet' : x < 0.9 ? 'CronJob' : x < 0.92 ? 'Job' : x < 0.95 ? 'Pod' : x < 0.97 ? 'ReplicaSet' : 'Rollout';
    const name = uniqueName(ns, kind === 'CronJob' ? `${app}-cron` : kind === 'Job' ? `${app}-migrate` : app);
    const w = newWorkload(ns, name, kind);
    w.idle = (kind === 'Deployment' || kind === 'StatefulSet') && r() < 0.03;
    const tpls = templates(ns, app, w.idle, kind === 'CronJob' || kind === 'Job');
    const y = r();
    const replicas = kind === 'Deployment' || kind === 'Rollout' ? (y < 0.62 ? 1 : y < 0.87 ? 2 : y < 0.95 ? 3 : 4 + Math.floor(r() * 3)) : kind === 'StatefulSet' ? 1 + Math.floor(r() * 3) : 1;
    if (kind === 'Deployment' || kind === 'Rollout' || kind === 'ReplicaSet') {
      // Old ReplicaSets stay listed (revisionHistoryLimit) with 0 replicas.
      const owner = kind === 'ReplicaSet' ? { ownerKind: '', ownerName: '' } : { ownerKind: kind, ownerName: name };
      const rsName = kind === 'ReplicaSet' ? name : `${name}-${word(10)}`;
      const oldRs = kind === 'ReplicaSet' ? 0 : Math.floor(r() * 6);
      for (let i = 0; i < oldRs; i++) w.replicaSets.push({ name: `${name}-${word(10)}`, ...owner });
      w.replicaSets.push({ name: rsName, ...owner });
      if (kind === 'Deployment' && r() < 0.01) w.createdAt = at5m(ts - 3 * HOUR - r() * 3 * HOUR);
      else if (kind === 'Deployment' && r() < 0.15 && options.days >= 1) {
        // A rollout during the history window: the old pods' tier-1 series end then.
        const at = at5m(start + r() * (options.days * DAY - 2 * HOUR));
        w.rolledOutAt = at;
        const old = w.replicaSets[w.replicaSets.length - 2] ?? { name: `${name}-${word(10)}`, ...owner };
        if (!w.replicaSets.includes(old)) w.replicaSets.unshift(old);
        let first: ContainerSpec[] | null = null;
        for (let i = 0; i < replicas; i++) {
          const p = addPod(w, `${old.name}-${word(5)}`, 'ReplicaSet', old.name, tpls, first, { inKsm: false, to: at });
          first ??= p.containers;
        }
      }
      const from = w.rolledOutAt ?? w.createdAt;
      let first: ContainerSpec[] | null = w.pods[0]?.containers ?? null;
      for (let i = 0; i < replicas; i++) {
        const pending = kind === 'Deployment' && r() < 0.01;
        const p = addPod(w, `${rsName}-${word(5)}`, 'ReplicaSet', rsName, tpls, first, { from: pending ? Infinity : from, phase: pending ? 'Pending' : 'Running' });
        first ??= p.containers;
      }
      if (kind === 'Deployment' && replicas >= 2 && r() < 0.15) w.hpa = `${name}-hpa`;
    } else if (kind === 'StatefulSet') {
      let first: ContainerSpec[] | null = null;
      for (let i = 0; i < replicas; i++) {
        const p = addPod(w, `${name}-${i}`, 'StatefulSet', name, tpls, first);
        first ??= p.containers;
      }
    } else if (kind === 'Pod') {
      addPod(w, name, '', '', tpls, null);
    } else if (kind === 'Job') {
      const done = r() < 0.6;
      const jobStart = at5m(ts - (done ? 2 * DAY : 4 * HOUR) - r() * 6 * HOUR);
      w.jobs.push({ name, ownerKind: '', ownerName: '' });
      addPod(w, `${name}-${word(5)}`, 'Job', name, tpls, null, { phase: done ? 'Succeeded' : 'Running', from: jobStart, to: done ? jobStart + 30 * MINUTE : Infinity });
    } else if (kind === 'CronJob') {
      // Runs on a schedule; every run is a new Job and pod. KSM keeps the last three runs (successfulJobsHistoryLimit).
      const z = r();
      const period = z < 0.15 ? HOUR : z < 0.6 ? 6 * HOUR : DAY;
      const offset = Math.floor(r() * (period / FIVE_MINUTES)) * FIVE_MINUTES;
      const duration = (2 + Math.floor(r() * 4)) * FIVE_MINUTES;
      const runs: number[] = [];
      for (let t = Math.floor((start - DAY) / period) * period + offset; t < ts; t += period) if (t + duration > start - DAY) runs.push(t);
      const structure = r;
      r = rng((options.seed ^ Math.imul(workloads.length, 0x9e3779b1)) >>> 0);
      let first: ContainerSpec[] | null = null;
      runs.forEach((t, i) => {
        const job = `${name}-${Math.floor(t / MINUTE)}`;
        const listed = i >= runs.length - 3 || t + duration > ts;
        const running = t + duration > ts;
        if (listed) w.jobs.push({ name: job, ownerKind: 'CronJob', ownerName: name });
        const p = addPod(w, `${job}-${word(5)}`, 'Job', job, tpls, first, { phase: running ? 'Running' : 'Succeeded', inKsm: listed, from: t, to: t + duration });
        first ??= p.containers;
      });
      r = structure;
    }
    if ((kind === 'Deployment' || kind === 'StatefulSet') && replicas >= 2 && r() < 0.15) {
      const blocked = r() < 0.15;
      w.pdb = { name: `${name}-pdb`, expected: replicas, blockedSince: blocked ? at5m(ts - (2 + r() * 30) * HOUR) : null };
    }
  }

  // The last workload may overshoot by a container or two: drop sidecars from its last pods.
  for (let i = pods.length - 1; i >= 0 && ksmContainers > options.containers; i--) {
    const p = pods[i]!;
    if (p.inKsm && p.containers.length > 1) {
      p.containers.pop();
      ksmContainers--;
      i++;
    }
  }

  // OOM kills: 0.5 % of the app containers once during the week, a few in the last minutes.
  const appContainers = pods.filter((p) => p.workload.kind !== 'DaemonSet' && p.phase === 'Running' && p.inKsm && p.from === -Infinity).flatMap((p) => p.containers.filter((c) => c.sizing !== 'sidecar' && c.sizing !== 'idle'));
  for (const c of appContainers) {
    const x = r();
    if (x < 0.005 && options.days >= 1) c.oomAt = at5m(start + HOUR + r() * (options.days * DAY - 3 * HOUR));
    else if (x < 0.0065) c.oomRecent = true;
  }
  return { options, start, nodes, workloads, pods, ksmContainers };
}

// ---------------------------------------------------------------------------------------------------
// Series

export interface GenSeries {
  labels: Label[];
  timestamps: Float64Array;
  values: Float64Array;
}

function sorted(o: Record<string, string>): Label[] {
  const out: Label[] = [];
  for (const name of Object.keys(o).sort()) if (o[name] !== '') out.push({ name, value: o[name]! });
  return out;
}

function grid(from: number, to: number, interval: number): Float64Array {
  const first = Math.ceil(from / interval) * interval;
  const n = Math.max(0, Math.floor((to - first) / interval) + 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = first + i * interval;
  return out;
}

/** Sample times of a raw scrape grid within (ts − RAW_WINDOW, ts), restricted to [from, to). */
function rawTimes(ts: number, interval: number, offset: number, from = -Infinity, to = Infinity): Float64Array {
  const out: number[] = [];
  for (let t = ts - offset - Math.floor((RAW_WINDOW - offset - 1) / interval) * interval; t < ts; t += interval) if (t >= from && t < to) out.push(t);
  return Float64Array.from(out);
}

function constant(times: Float64Array, v: number): GenSeries['values'] {
  return new Float64Array(times.length).fill(v);
}

/** Raw kube-state-metrics, cAdvisor and OpenCost series of the last hour before ts. */
export function* rawSeries(cl: Cluster): Generator<GenSeries> {
  const { ts, cluster } = cl.options;
  const ksmBase = { cluster, instance: '10.0.200.7:8080', job: 'kube-state-metrics', service: 'kube-state-metrics' };
  const ksmT = rawTimes(ts, KSM_INTERVAL, KSM_OFFSET);
  const gauge = (o: Record<string, string>, v: number): GenSeries => ({ labels: sorted(o), timestamps: ksmT, values: constant(ksmT, v) });

  for (const n of cl.nodes) {
    const node = { ...ksmBase, node: n.name };
    yield gauge({ ...node, __name__: 'kube_node_status_allocatable', resource: 'cpu', unit: 'core' }, n.cpu);
    yield gauge({ ...node, __name__: 'kube_node_status_allocatable', resource: 'memory', unit: 'byte' }, n.memory);
    yield gauge({ ...node, __name__: 'kube_node_status_allocatable', resource: 'pods', unit: 'integer' }, n.pods);
    yield gauge({ ...node, __name__: 'kube_node_spec_unschedulable' }, 0);
    if (n.cpuHourly !== null) {
      const oc = { cluster, instance: '10.0.201.3:9003', job: 'opencost', node: n.name, instance_type: n.type, region: 'eu-west-1', arch: 'amd64' };
      yield gauge({ ...oc, __name__: 'node_cpu_hourly_cost' }, n.cpuHourly);
      yield gauge({ ...oc, __name__: 'node_ram_hourly_cost' }, n.ramHourly!);
    }
  }

  for (const w of cl.workloads) {
    const ns = { ...ksmBase, namespace: w.namespace };
    for (const rs of w.replicaSets) {
      yield gauge({ ...ns, __name__: 'kube_replicaset_owner', replicaset: rs.name, owner_kind: rs.ownerKind, owner_name: rs.ownerName, owner_is_controller: rs.ownerKind ? 'true' : '' }, 1);
    }
    for (const j of w.jobs) {
      yield gauge({ ...ns, __name__: 'kube_job_owner', job_name: j.name, owner_kind: j.ownerKind, owner_name: j.ownerName, owner_is_controller: j.ownerKind ? 'true' : '' }, 1);
    }
    if (w.hpa) {
      yield gauge({ ...ns, __name__: 'kube_horizontalpodautoscaler_info', horizontalpodautoscaler: w.hpa, scaletargetref_kind: w.kind, scaletargetref_name: w.name, scaletargetref_api_version: 'apps/v1' }, 1);
    }
    if (w.pdb) {
      const blocked = w.pdb.blockedSince !== null;
      yield gauge({ ...ns, __name__: 'kube_poddisruptionbudget_status_pod_disruptions_allowed', poddisruptionbudget: w.pdb.name }, blocked ? 0 : 1);
      yield gauge({ ...ns, __name__: 'kube_poddisruptionbudget_status_expected_pods', poddisruptionbudget: w.pdb.name }, w.pdb.expected);
    }
  }

  const cadT = rawTimes(ts, CADVISOR_INTERVAL, CADVISOR_OFFSET);
  const span = ts - cl.start;
  for (const p of cl.pods) {
    if (!p.inKsm) continue;
    const pod = { ...ksmBase, namespace: p.namespace, pod: p.name, uid: p.uid };
    yield gauge({ ...pod, __name__: 'kube_pod_owner', owner_kind: p.ownerKind, owner_name: p.ownerName, owner_is_controller: p.ownerKind ? 'true' : '' }, 1);
    const podIp = `100.64.${parseInt(p.uid.slice(0, 2), 16)}.${parseInt(p.uid.slice(2, 4), 16)}`;
    yield gauge({ ...pod, __name__: 'kube_pod_info', node: p.node, host_ip: p.nodeIp, pod_ip: podIp, created_by_kind: p.ownerKind, created_by_name: p.ownerName }, 1);
    for (const phase of ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']) yield gauge({ ...pod, __name__: 'kube_pod_status_phase', phase }, phase === p.phase ? 1 : 0);
    for (const c of p.containers) {
      const ctr = { ...pod, container: c.name };
      const containerId = `${p.uid.replaceAll('-', '')}${c.id.toString(16).padStart(8, '0')}`.padEnd(64, '0');
      yield gauge({ ...ctr, __name__: 'kube_pod_container_info', image: c.image, image_spec: c.image, image_id: `${c.image}@sha256:${containerId}`, container_id: `containerd://${containerId}` }, 1);
      const res = { ...ctr, node: p.node };
      if (c.cpuRequest !== null) yield gauge({ ...res, __name__: 'kube_pod_container_resource_requests', resource: 'cpu', unit: 'core' }, c.cpuRequest);
      if (c.memRequest !== null) yield gauge({ ...res, __name__: 'kube_pod_container_resource_requests', resource: 'memory', unit: 'byte' }, c.memRequest);
      if (c.cpuLimit !== null) yield gauge({ ...res, __name__: 'kube_pod_container_resource_limits', resource: 'cpu', unit: 'core' }, c.cpuLimit);
      if (c.memLimit !== null) yield gauge({ ...res, __name__: 'kube_pod_container_resource_limits', resource: 'memory', unit: 'byte' }, c.memLimit);
      // Restarts: an OOM kill 3 minutes before ts (restart count 2 → 3), or an old one (count 1).
      const restarts = { labels: sorted({ ...ctr, __name__: 'kube_pod_container_status_restarts_total' }), timestamps: ksmT, values: new Float64Array(ksmT.length) };
      for (let i = 0; i < ksmT.length; i++) restarts.values[i] = c.oomRecent ? (ksmT[i]! >= ts - 3 * MINUTE ? 3 : 2) : c.oomAt !== null ? 1 : 0;
      yield restarts;
      if (c.oomRecent || c.oomAt !== null) yield gauge({ ...ctr, __name__: 'kube_pod_container_status_last_terminated_reason', reason: 'OOMKilled' }, 1);
    }

    // cAdvisor: only for pods whose containers run now.
    if (p.phase !== 'Running') continue;
    const times = rawTimes(ts, CADVISOR_INTERVAL, CADVISOR_OFFSET, p.from, p.to);
    if (times.length === 0) continue;
    const podCgroup = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${p.uid.replaceAll('-', '_')}.slice`;
    const cad = { cluster, endpoint: 'https-metrics', instance: `${p.nodeIp}:10250`, job: 'kubelet', metrics_path: '/metrics/cadvisor', namespace: p.namespace, node: p.node, pod: p.name, service: 'kube-prometheus-stack-kubelet' };
    const podCpu = new Float64Array(times.length);
    const podMem = new Float64Array(times.length);
    for (const c of p.containers) {
      const name = `${p.uid.replaceAll('-', '')}${c.id.toString(16).padStart(8, '0')}`.padEnd(64, '0');
      const ctr = { ...cad, container: c.name, id: `${podCgroup}/cri-containerd-${name}.scope`, image: c.image, name };
      const cpu = new Float64Array(times.length);
      const mem = new Float64Array(times.length);
      const periods = new Float64Array(times.length);
      const throttled = new Float64Array(times.length);
      const oom = new Float64Array(times.length);
      let acc = c.cpuBase * 86_400; // the counter's value at the start of the window: about a day of usage
      let per = 1e6;
      let thr = per * c.throttleRatio;
      for (let i = 0; i < times.length; i++) {
        const t = times[i]!;
        const b = Math.floor(t / FIVE_MINUTES);
        acc += cpuAt(c, b) * (CADVISOR_INTERVAL / SECOND);
        per += 300;
        thr += 300 * c.throttleRatio;
        cpu[i] = acc;
        mem[i] = Math.round(memAt(c, b, cl.start, span) * (1 - 0.01 * hash01(c.id, t / CADVISOR_INTERVAL)));
        periods[i] = per;
        throttled[i] = Math.round(thr);
        oom[i] = c.oomRecent && t >= ts - 3 * MINUTE ? 1 : 0;
        podCpu[i] += acc;
        podMem[i] += mem[i]!;
      }
      yield { labels: sorted({ ...ctr, __name__: 'container_cpu_usage_seconds_total', cpu: 'total' }), timestamps: times, values: cpu };
      yield { labels: sorted({ ...ctr, __name__: 'container_memory_working_set_bytes' }), timestamps: times, values: mem };
      yield { labels: sorted({ ...ctr, __name__: 'container_oom_events_total' }), timestamps: times, values: oom };
      if (c.cpuLimit !== null) {
        yield { labels: sorted({ ...ctr, __name__: 'container_cpu_cfs_periods_total' }), timestamps: times, values: periods };
        yield { labels: sorted({ ...ctr, __name__: 'container_cpu_cfs_throttled_periods_total' }), timestamps: times, values: throttled };
      }
    }
    // The pod-level cgroup (no container label) and the pause container: the rules must ignore both.
    const pause = { ...cad, container: 'POD', id: `${podCgroup}/cri-containerd-${p.uid.replaceAll('-', '')}pause.scope`, image: 'registry.k8s.io/pause:3.9', name: `${p.uid.replaceAll('-', '')}pause` };
    yield { labels: sorted({ ...cad, __name__: 'container_cpu_usage_seconds_total', cpu: 'total', id: podCgroup }), timestamps: times, values: podCpu };
    yield { labels: sorted({ ...cad, __name__: 'container_memory_working_set_bytes', id: podCgroup }), timestamps: times, values: podMem };
    yield { labels: sorted({ ...pause, __name__: 'container_cpu_usage_seconds_total', cpu: 'total' }), timestamps: times, values: Float64Array.from(times, (_, i) => 0.001 * i) };
    yield { labels: sorted({ ...pause, __name__: 'container_memory_working_set_bytes' }), timestamps: times, values: constant(times, 400 * 1024) };
  }
}

/** Where tier 1 has points for a pod: aligned T in [from, to] ∩ [start, end]. */
function tier1Times(p: PodSpec, start: number, end: number): Float64Array {
  const lo = Math.max(start, Math.ceil((p.from + 1) / FIVE_MINUTES) * FIVE_MINUTES);
  const hi = Math.min(end, Math.ceil(p.to / FIVE_MINUTES) * FIVE_MINUTES);
  if (p.phase === 'Pending' || hi < lo) return new Float64Array(0);
  return grid(lo, hi, FIVE_MINUTES);
}

export interface HistoryRange {
  /** Inclusive bounds of the 5-minute points to produce (default: cluster start … ts − 5 min). */
  from: number;
  to: number;
}

/**
 * Tier-1 series (what trimtab.history records every 5 minutes) for points in [range.from, range.to], and
 * the tier-2 hourly rollups that trimtab.history.14d reads back (max1h of memory, workload activity).
 */
export function* historySeries(cl: Cluster, range: HistoryRange): Generator<GenSeries> {
  const { cluster } = cl.options;
  const span = cl.options.ts - cl.start;
  const idle = 0.005;
  for (const p of cl.pods) {
    const times = tier1Times(p, Math.max(cl.start, range.from), range.to);
    if (times.length === 0) continue;
    const base = { cluster, namespace: p.namespace, pod: p.name, workload: p.workload.name, workload_kind: p.workload.kind };
    for (const c of p.containers) {
      const id = { ...base, container: c.name };
      const rate = new Float64Array(times.length);
      const mem = new Float64Array(times.length);
      const active = new Float64Array(times.length);
      for (let i = 0; i < times.length; i++) {
        const T = times[i]!;
        rate[i] = cpuAt(c, T / FIVE_MINUTES - 1);
        mem[i] = memPeak7m(c, T, cl.start, span);
        active[i] = (rate[i]! > idle ? 1 : -1) * (T / 1000);
      }
      yield { labels: sorted({ ...id, __name__: 'namespace_workload_pod_container:trimtab_cpu_usage:rate5m' }), timestamps: times, values: rate };
      yield { labels: sorted({ ...id, __name__: 'namespace_workload_pod_container:trimtab_memory_working_set_bytes:max7m' }), timestamps: times, values: mem };
      yield { labels: sorted({ ...id, __name__: 'namespace_workload_pod_container:trimtab_cpu_active:signed_timestamp' }), timestamps: times, values: active };
      if (c.oomAt !== null && c.oomAt >= range.from && c.oomAt <= range.to) {
        const kill = Float64Array.from([c.oomAt, c.oomAt + FIVE_MINUTES].filter((t) => t <= range.to && t < cl.options.ts));
        yield { labels: sorted({ cluster, namespace: p.namespace, pod: p.name, container: c.name, __name__: 'namespace_pod_container:trimtab_oom_kill:recent9m' }), timestamps: kill, values: constant(kill, 1) };
        yield { labels: sorted({ ...id, __name__: 'namespace_workload_pod_container:trimtab_memory_limit_bytes:oom_killed' }), timestamps: kill, values: constant(kill, c.memLimit ?? 0) };
      }
    }
  }
  // PDB state, every 5 minutes.
  for (const w of cl.workloads) {
    if (!w.pdb) continue;
    const times = grid(Math.max(cl.start, range.from), range.to, FIVE_MINUTES);
    const v = Float64Array.from(times, (T) => (w.pdb!.blockedSince !== null && T >= w.pdb!.blockedSince ? -1 : 1) * (T / 1000));
    yield { labels: sorted({ cluster, namespace: w.namespace, poddisruptionbudget: w.pdb.name, __name__: 'namespace_poddisruptionbudget:trimtab_pdb_unblocked:signed_timestamp' }), timestamps: times, values: v };
  }
  // Tier-2 hourly rollups, at every full hour H in the range: max over (H − 65m, H] of the tier-1 points.
  const hours = grid(Math.max(cl.start + HOUR, range.from), range.to, HOUR);
  if (hours.length === 0) return;
  for (const w of cl.workloads) {
    const memByContainer = new Map<string, Float64Array>();
    const act = new Float64Array(hours.length).fill(-Infinity);
    for (const p of w.pods) {
      if (p.phase === 'Pending') continue;
      for (let h = 0; h < hours.length; h++) {
        const H = hours[h]!;
        const lo = Math.max(cl.start, H - 65 * MINUTE + 1, Math.ceil((p.from + 1) / FIVE_MINUTES) * FIVE_MINUTES);
        const hi = Math.min(H, Math.ceil(p.to / FIVE_MINUTES) * FIVE_MINUTES);
        for (const c of p.containers) {
          let m = memByContainer.get(c.name);
          if (!m) memByContainer.set(c.name, (m = new Float64Array(hours.length).fill(-Infinity)));
          for (let T = Math.ceil(lo / FIVE_MINUTES) * FIVE_MINUTES; T <= hi; T += FIVE_MINUTES) {
            const mv = memPeak7m(c, T, cl.start, span);
            if (mv > m[h]!) m[h] = mv;
            const a = (cpuAt(c, T / FIVE_MINUTES - 1) > idle ? 1 : -1) * (T / 1000);
            if (a > act[h]!) act[h] = a;
          }
        }
      }
    }
    const keep = (values: Float64Array) => {
      const idx: number[] = [];
      for (let i = 0; i < values.length; i++) if (values[i] !== -Infinity) idx.push(i);
      return { timestamps: Float64Array.from(idx, (i) => hours[i]!), values: Float64Array.from(idx, (i) => values[i]!) };
    };
    const wl = { cluster, namespace: w.namespace, workload: w.name, workload_kind: w.kind };
    for (const [name, m] of memByContainer) {
      const k = keep(m);
      if (k.timestamps.length > 0) yield { labels: sorted({ ...wl, container: name, __name__: 'workload_container:trimtab_memory_working_set_bytes:max1h' }), ...k };
    }
    const k = keep(act);
    if (k.timestamps.length > 0) yield { labels: sorted({ ...wl, __name__: 'workload:trimtab_cpu_active:signed_timestamp_max1h' }), ...k };
  }
}

// ---------------------------------------------------------------------------------------------------
// Requests: series → DecodedWriteRequest columns, written in batches with a few writes in flight.

export function decodedRequest(series: readonly GenSeries[]): DecodedWriteRequest {
  let total = 0;
  for (const s of series) total += s.timestamps.length;
  const timestamps = new Float64Array(total);
  const values = new Float64Array(total);
  const seriesOf = new Uint32Array(total);
  let j = 0;
  const out = series.map((s, i) => {
    const sampleStart = j;
    timestamps.set(s.timestamps, j);
    values.set(s.values, j);
    seriesOf.fill(i, j, j + s.timestamps.length);
    j += s.timestamps.length;
    let key = '';
    for (const l of s.labels) key += `${l.name}\u0000${l.value}\u0000`;
    return { key, sampleStart, sampleCount: s.timestamps.length, histogramCount: 0, exemplarCount: 0, error: null };
  });
  return {
    version: 1,
    series: out,
    samples: { length: total, timestamps, values, startTimestamps: new Float64Array(total), series: seriesOf },
    histograms: [],
    exemplars: [],
    metadata: [],
    labelsOf: (index: number) => series[index]!.labels.map((l) => ({ ...l })),
  };
}

export class BatchWriter {
  readonly #write: (req: DecodedWriteRequest, samples: number) => Promise<void>;
  readonly #maxSamples: number;
  readonly #maxSeries: number;
  readonly #concurrency: number;
  #pending: GenSeries[] = [];
  #pendingSamples = 0;
  #inFlight = new Set<Promise<void>>();
  #error: unknown = null;
  samples = 0;
  series = 0;

  constructor(write: (req: DecodedWriteRequest, samples: number) => Promise<void>, options: { maxSamples: number; maxSeries: number; concurrency: number }) {
    this.#write = write;
    this.#maxSamples = options.maxSamples;
    this.#maxSeries = options.maxSeries;
    this.#concurrency = options.concurrency;
  }

  async add(s: GenSeries): Promise<void> {
    if (s.timestamps.length === 0) return;
    this.#pending.push(s);
    this.#pendingSamples += s.timestamps.length;
    if (this.#pendingSamples >= this.#maxSamples || this.#pending.length >= this.#maxSeries) await this.#flush();
  }

  async #flush(): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#pending.length === 0) return;
    const req = decodedRequest(this.#pending);
    const n = this.#pendingSamples;
    this.samples += n;
    this.series += this.#pending.length;
    this.#pending = [];
    this.#pendingSamples = 0;
    const p: Promise<void> = this.#write(req, n)
      .catch((e) => {
        this.#error ??= e;
      })
      .finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
    while (this.#inFlight.size >= this.#concurrency) await Promise.race(this.#inFlight);
  }

  async end(): Promise<void> {
    await this.#flush();
    await Promise.all(this.#inFlight);
    if (this.#error) throw this.#error;
  }
}
