// Node consolidation: which nodes could be drained, and what that saves. A built-in recommender (no PromQL):
// the caller hands in node allocatable and pod requests (from kube-state-metrics:
// kube_node_status_allocatable, kube_pod_container_resource_requests, kube_pod_owner, kube_node_spec_unschedulable)
// and gets back a drain plan. Pure: no I/O, no clock, no randomness; the same input in any order gives the same plan.
//
// Model (the "Delete" action of Karpenter's consolidation and Cluster Autoscaler's scale-down, not its "Replace"):
// no node is added or resized. The nodes that stay keep their pods; a drained node's pods move into the free
// capacity of the nodes that stay.
// - A node can be drained only if every pod on it is movable, apart from DaemonSet pods. Pods that can't move
//   (bare pods, local storage, a PDB with no disruptions allowed, mirror/static pods: the caller decides and says
//   why in `reason`) pin their node. A pinned node stays, and its spare capacity can still receive pods.
// - DaemonSet pods are counted on every node as it stands, so their overhead is always part of "used". They are
//   never moved: they go away with a drained node.
// - Fit is multi-dimensional: CPU, memory and, when a node reports `allocatable.pods`, pod slots (EKS's
//   ENI-based limits are often what binds). A receiving node never goes over `maxUtilization` × allocatable.
//   Internally CPU is in whole millicores and memory in whole bytes, so the sums are exact.
// - Cordoned (`unschedulable`) nodes receive nothing. They can still be drained themselves.
// - Pods only move between nodes with the same values of `sameLabels` (by default kubernetes.io/arch and
//   kubernetes.io/os: an amd64 image is not assumed to run on arm64). Taints, affinity, node selectors and
//   topology spread are not modelled; the caller marks pods constrained that way as not movable, or narrows
//   the groups with `sameLabels` (a node-pool or instance-family label, say).
// - Every pod moves at most once. A node that has received a pod is no longer tried for draining (the plan
//   is one wave of `kubectl drain`, and no pod is moved twice).
//
// Procedure (CA's scale-down simulation, with a bin-packing rule for where each pod goes):
// 1. Drain order. Candidates are the unpinned nodes, tried one at a time. `drainOrder: 'utilization'` (the
//    default) tries the least utilised first: the dominant share of the requests that would have to move,
//    max(cpu/allocatable cpu, memory/allocatable memory); DaemonSet pods are left out as they vanish. Ties go to
//    the more expensive node, then to the one with fewer pods. This is what CA (utilization under 0.5) and the
//    kube-compactor pattern use and what Karpenter prefers (fewer pods): the least to evict per node removed,
//    and the most likely to fit. `drainOrder: 'cost'` tries first the node with the least load to move per
//    dollar it costs (normalised load / monthly cost): the same order when every node is the same type and
//    price, and it goes for on-demand before spot when they differ.
// 2. Bins. The nodes that stay and are schedulable form the pool a candidate's pods may go to (never the
//    candidate itself). FFD puts a pod in the first pool node that fits, in a fixed order: pinned nodes first
//    (they stay whatever happens, so filling them costs nothing), fullest first, then the other nodes in the
//    reverse of the drain order, so pods go to the nodes that would be tried last and the emptier nodes are
//    kept free to drain. BFD puts a pod in the pool node that it fits most tightly: the least free capacity,
//    measured as free cpu / mean node cpu + free memory / mean node memory (ties: FFD's order). Both try
//    a candidate's pods in decreasing order of dominant size: max(cpu / mean node cpu, memory / mean node
//    memory), the DRF measure.
// 3. A candidate is drained when all its pods found a node; otherwise every placement of that attempt is
//    undone and the node stays (reason `no-room`, with the first pod that did not fit).
//
// `maxUtilization` defaults to 1.0: the scheduler, CA's simulation and Karpenter's consolidation all admit a
// pod when its requests fit in allocatable (which already excludes kube- and system-reserved and the eviction
// threshold), so 1.0 gives the drains those tools would actually carry out. Headroom is a policy: pass Kubecost's
// profile targets (0.8 development, 0.65 production, 0.5 high availability) to keep room for surges and rollouts.
//
// Pricing: monthly cost = hourly cost × `hoursPerMonth` (730). A node without `hourlyCost` is priced from its
// allocatable at `prices` (default OpenCost's: $0.031611 per core-hour, $0.004237 per GiB-hour). The savings
// are the sum of the drained nodes' monthly costs.
//
// Cost. With N nodes and P pods: preparation sorts, O(N log N + P log k) for k pods per node. Then each pod of
// a candidate is placed at most once (and undone at most once), each placement a search and an update of the
// pool index. The index is, per label group, a treap of the pool nodes in the packing rule's order (FFD: the
// fixed rank; BFD: the free-capacity key, re-keyed on every placement), each subtree summarised by the
// skyline of its nodes' free (cpu, memory) (see TreeIndex). "The first node in order where the pod fits" is a
// descent that skips every subtree whose skyline has no point covering the pod: O(log N) while the skylines are
// exact, which they are for all but the largest subtrees. An update recomputes skylines up the path only as far
// as they change. A candidate whose movable load exceeds the pool's total free cpu or memory is refused in O(1).
// Overall O((N + P) log N) expected; measured on the benchmark's clusters, the work per pod is flat from 3,000 to
// 30,000 nodes (FFD: ~2 skyline updates and ~10 tree nodes visited per pod; BFD: ~5 and ~10), so wall time grows
// as N log N plus cache misses once the index outgrows the CPU cache. Memory: O(N + P) in typed arrays
// (the index: 2 × 16 float64 per node), plus the plan itself.
// `index: 'scan'` swaps the treap for a linear scan over the pool (O(N) per pod, O(N × P) in all); it gives
// the same plan and is there for tests and the benchmark's comparison.

export interface NodeInput {
  name: string;
  /** cpu in cores, memory in bytes, pods: the pod-slot limit (optional). */
  allocatable: { cpu: number; memory: number; pods?: number };
  /** $ per hour; when absent the node is priced from its allocatable at `prices`. */
  hourlyCost?: number;
  labels?: Record<string, string>;
  /** Cordoned: receives no pods (it can still be drained). */
  unschedulable?: boolean;
}

export interface PodInput {
  namespace: string;
  name: string;
  /** The node it runs on; a pod on no node or on a node not in the list is ignored (counted in `ignoredPods`). */
  node: string;
  /** cpu in cores, memory in bytes (the sum of the containers' requests, init containers as the scheduler counts them). */
  requests: { cpu: number; memory: number };
  daemonSet: boolean;
  /** Whether it may be evicted and rescheduled elsewhere. Ignored for DaemonSet pods (they vanish with their node). */
  movable: boolean;
  /** Why it can't move, e.g. 'bare pod', 'local storage', 'pdb blocks', 'mirror/static pod'. */
  reason?: string;
}

export type Algorithm = 'ffd' | 'bfd';
export type DrainOrder = 'utilization' | 'cost';

export interface Prices {
  /** $ per core-hour. */
  cpuCoreHour: number;
  /** $ per GiB-hour. */
  memoryGiBHour: number;
}

/** OpenCost's defaults (opencost configs/default.json, GCP us-central1 on-demand). */
export const DEFAULT_PRICES: Readonly<Prices> = Object.freeze({ cpuCoreHour: 0.031611, memoryGiBHour: 0.004237 });
export const HOURS_PER_MONTH = 730;
export const DEFAULT_SAME_LABELS: readonly string[] = Object.freeze(['kubernetes.io/arch', 'kubernetes.io/os']);

export interface ConsolidationOptions {
  algorithm: Algorithm;
  /** The most of a receiving node's allocatable cpu and memory requests may fill, in (0, 1]. Default 1. */
  maxUtilization?: number;
  /** Which nodes are tried first. Default 'utilization'. */
  drainOrder?: DrainOrder;
  prices?: Prices;
  hoursPerMonth?: number;
  /** Pods only move between nodes with equal values of these labels. Default arch and os. */
  sameLabels?: readonly string[];
  /** 'tree' (default) or the O(N × P) 'scan', which gives the same plan; for tests and benchmarks. */
  index?: 'tree' | 'scan';
}

export interface DrainableNode {
  node: string;
  monthlySavings: number;
  podsMoved: number;
  /** DaemonSet pods that go away with the node. */
  daemonSetPods: number;
  /** Requests moved, cores and bytes. */
  cpuMoved: number;
  memoryMoved: number;
}

export interface PodMove {
  /** namespace/name */
  pod: string;
  from: string;
  to: string;
}

export interface KeptNode {
  node: string;
  /**
   * pinned: a pod on it can't move (`pod`, and its `reason` in `detail`).
   * no-room: its pods don't all fit on the other nodes (`pod`: the first that found no node, in decreasing
   *   size; absent when the pool's total free capacity is already too small, see `detail`).
   * receiver: it took pods from a node drained before its turn.
   */
  reason: 'pinned' | 'no-room' | 'receiver';
  pod?: string;
  detail?: string;
  /** Pods it receives in this plan. */
  podsReceived: number;
}

export interface ConsolidationPlan {
  algorithm: Algorithm;
  drainOrder: DrainOrder;
  maxUtilization: number;
  nodesBefore: number;
  nodesAfter: number;
  monthlyCostBefore: number;
  monthlyCostAfter: number;
  monthlySavings: number;
  /** Cluster-wide requests / allocatable; after: without the drained nodes and their DaemonSet pods. */
  utilizationBefore: { cpu: number; memory: number };
  utilizationAfter: { cpu: number; memory: number };
  /** In the order they were drained. */
  drainable: DrainableNode[];
  /** Grouped by drained node, in drain order; within a node in decreasing size. */
  moves: PodMove[];
  /** Every node that stays, in name order. */
  kept: KeptNode[];
  /** Pods with no node or on a node not in the input. */
  ignoredPods: number;
}

const GIB = 1024 ** 3;
const NONE = -1;

// ---------------------------------------------------------------------------------------------------
// Pricing and validation (shared with verifyPlan)

/** Monthly cost of a node: hourlyCost, or its allocatable at `prices`, times `hoursPerMonth`. */
export function nodeMonthlyCost(node: NodeInput, prices: Prices = DEFAULT_PRICES, hoursPerMonth = HOURS_PER_MONTH): number {
  const hourly = node.hourlyCost ?? node.allocatable.cpu * prices.cpuCoreHour + (node.allocatable.memory / GIB) * prices.memoryGiBHour;
  return hourly * hoursPerMonth;
}

/** A finite number ≥ 0 (NaN fails `>= 0`). */
const isAmount = (value: unknown): value is number => typeof value === 'number' && value >= 0 && value < Infinity;

function badAmount(value: unknown, what: string): never {
  throw new RangeError(`consolidation: ${what} must be a finite number ≥ 0, got ${String(value)}`);
}

function amount(value: number, what: string): number {
  return isAmount(value) ? value : badAmount(value, what);
}

const millicores = (cores: number) => Math.round(cores * 1000);
const bytes = (b: number) => Math.round(b);
/** A receiving node's ceiling, in the same integer units. */
const ceilingOf = (allocatable: number, maxUtilization: number) => Math.floor(allocatable * maxUtilization + 1e-6);

function groupKey(node: NodeInput, sameLabels: readonly string[]): string {
  if (sameLabels.length === 0) return '';
  return sameLabels.map((l) => node.labels?.[l] ?? '').join('\u0000');
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const podKey = (p: PodInput) => `${p.namespace}/${p.name}`;

interface Resolved {
  algorithm: Algorithm;
  maxUtilization: number;
  drainOrder: DrainOrder;
  prices: Prices;
  hoursPerMonth: number;
  sameLabels: readonly string[];
  index: 'tree' | 'scan';
}

function resolve(options: Partial<ConsolidationOptions>): Resolved {
  const maxUtilization = options.maxUtilization ?? 1;
  if (!(maxUtilization > 0 && maxUtilization <= 1)) throw new RangeError(`consolidation: maxUtilization must be in (0, 1], got ${maxUtilization}`);
  const prices = options.prices ?? DEFAULT_PRICES;
  amount(prices.cpuCoreHour, 'prices.cpuCoreHour');
  amount(prices.memoryGiBHour, 'prices.memoryGiBHour');
  const hoursPerMonth = amount(options.hoursPerMonth ?? HOURS_PER_MONTH, 'hoursPerMonth');
  const algorithm = options.algorithm ?? 'ffd';
  if (algorithm !== 'ffd' && algorithm !== 'bfd') throw new RangeError(`consolidation: unknown algorithm ${String(algorithm)}`);
  const drainOrder = options.drainOrder ?? 'utilization';
  if (drainOrder !== 'utilization' && drainOrder !== 'cost') throw new RangeError(`consolidation: unknown drainOrder ${String(drainOrder)}`);
  const index = options.index ?? 'tree';
  if (index !== 'tree' && index !== 'scan') throw new RangeError(`consolidation: unknown index ${String(index)}`);
  return { algorithm, maxUtilization, drainOrder, prices, hoursPerMonth, sameLabels: options.sameLabels ?? DEFAULT_SAME_LABELS, index };
}

// ---------------------------------------------------------------------------------------------------
// Preparation: everything that does not depend on the packing rule, shared by the FFD and BFD runs.

interface Prepared {
  opts: Resolved;
  n: number;
  nodes: NodeInput[]; // sorted by name; node index = position
  pods: PodInput[]; // as given
  group: Int32Array;
  groups: number;
  schedulable: Uint8Array;
  cost: Float64Array; // monthly
  allocCpu: Float64Array; // millicores
  allocMem: Float64Array; // bytes
  /** Free capacity before any move: ceiling − requests of every pod on the node (negative when over). */
  freeCpu: Float64Array;
  freeMem: Float64Array;
  freePods: Float64Array; // Infinity when the node reports no pod limit
  usedCpu: Float64Array; // all pods, DaemonSets included
  usedMem: Float64Array;
  dsCount: Int32Array;
  /** Non-DaemonSet pods per node (CSR): podIdx[podStart[x] .. podStart[x + 1]), decreasing size. */
  podStart: Int32Array;
  podIdx: Int32Array;
  podCpu: Float64Array; // per input pod, millicores
  podMem: Float64Array;
  /** Movable load per node (non-DaemonSet requests). */
  loadCpu: Float64Array;
  loadMem: Float64Array;
  /** The first unmovable non-DaemonSet pod on the node (decreasing size), or NONE. */
  pinnedBy: Int32Array;
  /** Candidates, in the order they are tried. */
  drainSequence: Int32Array;
  /** Position of each node in FFD's fill order (also BFD's tie-break). */
  rank: Int32Array;
  cpuRef: number;
  memRef: number;
  ignoredPods: number;
}

/** Points kept per subtree skyline in the tree index. */
const SKYLINE = 16;

function prepare(nodesIn: readonly NodeInput[], podsIn: readonly PodInput[], opts: Resolved): Prepared {
  const nodes = [...nodesIn].sort((a, b) => compareStrings(a.name, b.name));
  const n = nodes.length;
  const byName = new Map<string, number>();
  const group = new Int32Array(n);
  const groupIds = new Map<string, number>();
  const schedulable = new Uint8Array(n);
  const cost = new Float64Array(n);
  const allocCpu = new Float64Array(n);
  const allocMem = new Float64Array(n);
  const podCap = new Float64Array(n);
  let sumAllocCpu = 0;
  let sumAllocMem = 0;
  for (let x = 0; x < n; x++) {
    const node = nodes[x];
    if (typeof node.name !== 'string' || node.name === '') throw new RangeError('consolidation: a node has no name');
    if (byName.has(node.name)) throw new RangeError(`consolidation: node ${node.name} appears twice`);
    byName.set(node.name, x);
    const { cpu, memory, pods } = node.allocatable;
    if (!isAmount(cpu)) badAmount(cpu, `node ${node.name} allocatable.cpu`);
    if (!isAmount(memory)) badAmount(memory, `node ${node.name} allocatable.memory`);
    if (pods !== undefined && !isAmount(pods)) badAmount(pods, `node ${node.name} allocatable.pods`);
    if (node.hourlyCost !== undefined && !isAmount(node.hourlyCost)) badAmount(node.hourlyCost, `node ${node.name} hourlyCost`);
    allocCpu[x] = millicores(cpu);
    allocMem[x] = bytes(memory);
    podCap[x] = pods === undefined ? Infinity : Math.floor(pods);
    cost[x] = nodeMonthlyCost(node, opts.prices, opts.hoursPerMonth);
    schedulable[x] = node.unschedulable ? 0 : 1;
    const key = groupKey(node, opts.sameLabels);
    let g = groupIds.get(key);
    if (g === undefined) groupIds.set(key, (g = groupIds.size));
    group[x] = g;
    sumAllocCpu += allocCpu[x];
    sumAllocMem += allocMem[x];
  }
  // Reference sizes for "dominant share" and the BFD key: the mean node.
  const cpuRef = n > 0 && sumAllocCpu > 0 ? sumAllocCpu / n : 1;
  const memRef = n > 0 && sumAllocMem > 0 ? sumAllocMem / n : 1;

  const P = podsIn.length;
  const podNode = new Int32Array(P);
  const podCpu = new Float64Array(P);
  const podMem = new Float64Array(P);
  const usedCpu = new Float64Array(n);
  const usedMem = new Float64Array(n);
  const usedPods = new Float64Array(n);
  const dsCount = new Int32Array(n);
  const loadCpu = new Float64Array(n);
  const loadMem = new Float64Array(n);
  const podStart = new Int32Array(n + 1);
  let ignoredPods = 0;
  for (let i = 0; i < P; i++) {
    const pod = podsIn[i];
    const { cpu, memory } = pod.requests;
    if (!isAmount(cpu)) badAmount(cpu, `pod ${pod.namespace}/${pod.name} requests.cpu`);
    if (!isAmount(memory)) badAmount(memory, `pod ${pod.namespace}/${pod.name} requests.memory`);
    const c = millicores(cpu);
    const m = bytes(memory);
    podCpu[i] = c;
    podMem[i] = m;
    const x = pod.node ? byName.get(pod.node) : undefined;
    if (x === undefined) {
      podNode[i] = NONE;
      ignoredPods++;
      continue;
    }
    podNode[i] = x;
    usedCpu[x] += c;
    usedMem[x] += m;
    usedPods[x]++;
    if (pod.daemonSet) {
      dsCount[x]++;
    } else {
      loadCpu[x] += c;
      loadMem[x] += m;
      podStart[x + 1]++;
    }
  }
  for (let x = 0; x < n; x++) podStart[x + 1] += podStart[x];
  const podIdx = new Int32Array(podStart[n]);
  const fill = podStart.slice(0, n);
  for (let i = 0; i < P; i++) {
    const x = podNode[i];
    if (x !== NONE && !podsIn[i].daemonSet) podIdx[fill[x]++] = i;
  }
  // Decreasing dominant size, then the other dimension, then name: the order a node's pods are placed in.
  const big = new Float64Array(P);
  const small = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    const a = podCpu[i] / cpuRef;
    const b = podMem[i] / memRef;
    big[i] = a > b ? a : b;
    small[i] = a > b ? b : a;
  }
  const bySize = (i: number, j: number) =>
    big[j] - big[i] || small[j] - small[i] || podCpu[j] - podCpu[i] || compareStrings(podKey(podsIn[i]), podKey(podsIn[j]));
  const pinnedBy = new Int32Array(n).fill(NONE);
  for (let x = 0; x < n; x++) {
    const s = podStart[x];
    const e = podStart[x + 1];
    if (e - s > 1) podIdx.subarray(s, e).sort(bySize);
    for (let k = s; k < e; k++) {
      if (!podsIn[podIdx[k]].movable) {
        pinnedBy[x] = podIdx[k];
        break;
      }
    }
  }

  const freeCpu = new Float64Array(n);
  const freeMem = new Float64Array(n);
  const freePods = new Float64Array(n);
  for (let x = 0; x < n; x++) {
    freeCpu[x] = ceilingOf(allocCpu[x], opts.maxUtilization) - usedCpu[x];
    freeMem[x] = ceilingOf(allocMem[x], opts.maxUtilization) - usedMem[x];
    freePods[x] = podCap[x] - usedPods[x];
  }

  // Drain order over the unpinned nodes.
  const share = (used: number, alloc: number) => (alloc > 0 ? used / alloc : used > 0 ? Infinity : 0);
  const drainKey = new Float64Array(n);
  const podsOn = (x: number) => podStart[x + 1] - podStart[x];
  for (let x = 0; x < n; x++) {
    if (opts.drainOrder === 'utilization') {
      drainKey[x] = Math.max(share(loadCpu[x], allocCpu[x]), share(loadMem[x], allocMem[x]));
    } else {
      const load = loadCpu[x] / cpuRef + loadMem[x] / memRef;
      drainKey[x] = load === 0 ? 0 : cost[x] > 0 ? load / cost[x] : Infinity;
    }
  }
  const candidates: number[] = [];
  const pinned: number[] = [];
  for (let x = 0; x < n; x++) (pinnedBy[x] === NONE ? candidates : pinned).push(x);
  candidates.sort((a, b) => drainKey[a] - drainKey[b] || cost[b] - cost[a] || podsOn(a) - podsOn(b) || a - b);
  const drainSequence = Int32Array.from(candidates);

  // FFD's fill order: pinned nodes, fullest first; then the candidates in the reverse of the drain order.
  const fullness = new Float64Array(n);
  for (const x of pinned) fullness[x] = Math.max(share(usedCpu[x], allocCpu[x]), share(usedMem[x], allocMem[x]));
  pinned.sort((a, b) => fullness[b] - fullness[a] || a - b);
  const rank = new Int32Array(n);
  let r = 0;
  for (const x of pinned) rank[x] = r++;
  for (let k = drainSequence.length - 1; k >= 0; k--) rank[drainSequence[k]] = r++;

  return {
    opts,
    n,
    nodes,
    pods: podsIn as PodInput[],
    group,
    groups: groupIds.size,
    schedulable,
    cost,
    allocCpu,
    allocMem,
    freeCpu,
    freeMem,
    freePods,
    usedCpu,
    usedMem,
    dsCount,
    podStart,
    podIdx,
    podCpu,
    podMem,
    loadCpu,
    loadMem,
    pinnedBy,
    drainSequence,
    rank,
    cpuRef,
    memRef,
    ignoredPods,
  };
}

// ---------------------------------------------------------------------------------------------------
// The pool index: which schedulable, staying node a pod goes to.

interface BinIndex {
  insert(x: number): void;
  remove(x: number): void;
  /** x (in the pool) had its free capacity changed. */
  changed(x: number): void;
  /** The pool node of group g where (cpu, mem, 1 pod) fits, by the packing rule; NONE if there is none. */
  find(g: number, cpu: number, mem: number): number;
}

/**
 * One treap per group over the arrays of the run: in-order = (key, rank) ascending, where key is the rank
 * itself (FFD) or the free-capacity measure (BFD). Priorities are a fixed hash of the index, so the shape
 * (and the cost) is deterministic too; the answers don't depend on the shape.
 *
 * Each treap node summarises its subtree by the skyline of its nodes' free (cpu, memory): the points no other
 * node beats on both, sorted by cpu ascending (so memory descending), counting only nodes with a free pod
 * slot. A subtree has a node where a pod (c, m) fits exactly when its first skyline point with cpu ≥ c has
 * memory ≥ m. A skyline is kept to at most SKYLINE points: a longer one is cut into SKYLINE runs of
 * neighbours, each replaced by the corner (largest cpu, largest memory) of its run, which can only claim
 * too much, never too little, so a search may visit a subtree in vain but never skips a fit.
 * Plain per-dimension maxima are fooled by every subtree whose free cpu and free memory sit in different nodes,
 * which is what a filling cluster is full of. Tree nodes visited per search on the benchmark's clusters at
 * 3,000 / 10,000 / 30,000 nodes (FFD): per-dimension maxima 370 at 3,000 (a third of the pool; the search
 * dominated the profile at 10,000); a fixed staircase of 16 cpu-request quantiles 29 / 60 / 131 (~N^0.7);
 * skylines of 16 points 19 / 24 / 25 (BFD: 19 / 22 / 35).
 */
class TreeIndex implements BinIndex {
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly priority: Uint32Array;
  private readonly key: Float64Array;
  /** Skyline points of each subtree, cpu and memory interleaved: node x's point i is at 2 × (x × SKYLINE + i). */
  private readonly sky: Float64Array;
  private readonly skyCount: Uint8Array;
  private readonly tmpCpu = new Float64Array(2 * SKYLINE + 1);
  private readonly tmpMem = new Float64Array(2 * SKYLINE + 1);
  private readonly roots: Int32Array;
  private splitLeft = NONE;
  private splitRight = NONE;
  private readonly fc: Float64Array;
  private readonly fm: Float64Array;
  private readonly fp: Float64Array;
  private readonly rank: Int32Array;
  private readonly group: Int32Array;
  private readonly bestFit: boolean;
  private readonly cpuRef: number;
  private readonly memRef: number;

  constructor(prep: Prepared, fc: Float64Array, fm: Float64Array, fp: Float64Array, bestFit: boolean) {
    const n = prep.n;
    this.left = new Int32Array(n).fill(NONE);
    this.right = new Int32Array(n).fill(NONE);
    this.priority = new Uint32Array(n);
    for (let x = 0; x < n; x++) {
      let h = Math.imul(x + 1, 0x9e3779b1);
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      this.priority[x] = h >>> 0;
    }
    this.key = new Float64Array(n);
    this.sky = new Float64Array(2 * n * SKYLINE);
    this.skyCount = new Uint8Array(n);
    this.roots = new Int32Array(prep.groups).fill(NONE);
    this.fc = fc;
    this.fm = fm;
    this.fp = fp;
    this.rank = prep.rank;
    this.group = prep.group;
    this.bestFit = bestFit;
    this.cpuRef = prep.cpuRef;
    this.memRef = prep.memRef;
  }

  private keyOf(x: number): number {
    return this.bestFit ? this.fc[x] / this.cpuRef + this.fm[x] / this.memRef : this.rank[x];
  }

  private less(a: number, b: number): boolean {
    const ka = this.key[a];
    const kb = this.key[b];
    return ka < kb || (ka === kb && this.rank[a] < this.rank[b]);
  }

  /** Recomputes x's skyline from its children's and its own free capacity; whether it changed. */
  private pull(x: number): boolean {
    const S = SKYLINE;
    const { sky, tmpCpu, tmpMem } = this;
    const l = this.left[x];
    const r = this.right[x];
    const lb = 2 * l * S;
    const rb = 2 * r * S;
    let ia = l === NONE ? -1 : this.skyCount[l] - 1;
    let ib = r === NONE ? -1 : this.skyCount[r] - 1;
    const ownCpu = this.fc[x];
    const ownMem = this.fm[x];
    let own = this.fp[x] >= 1 && ownCpu >= 0 && ownMem >= 0;
    // Merge by cpu descending (ties: memory descending), keeping each point with more memory than all before.
    let t = 0;
    let maxMem = -1;
    for (;;) {
      let pc = 0;
      let pm = 0;
      let from = 0;
      if (ia >= 0) {
        pc = sky[lb + 2 * ia];
        pm = sky[lb + 2 * ia + 1];
        from = 1;
      }
      if (ib >= 0) {
        const bc = sky[rb + 2 * ib];
        const bm = sky[rb + 2 * ib + 1];
        if (from === 0 || bc > pc || (bc === pc && bm > pm)) {
          pc = bc;
          pm = bm;
          from = 2;
        }
      }
      if (own && (from === 0 || ownCpu > pc || (ownCpu === pc && ownMem > pm))) {
        pc = ownCpu;
        pm = ownMem;
        from = 3;
      }
      if (from === 0) break;
      if (from === 1) ia--;
      else if (from === 2) ib--;
      else own = false;
      if (pm > maxMem) {
        tmpCpu[t] = pc;
        tmpMem[t] = pm;
        t++;
        maxMem = pm;
      }
    }
    // tmp holds cpu descending; store cpu ascending, cut into S runs if longer.
    const base = 2 * x * S;
    const count = t <= S ? t : S;
    let same = this.skyCount[x] === count;
    for (let g = 0; g < count; g++) {
      let c: number;
      let m: number;
      if (t <= S) {
        c = tmpCpu[t - 1 - g];
        m = tmpMem[t - 1 - g];
      } else {
        const first = Math.floor((g * t) / S); // ascending positions first..last
        const last = Math.floor(((g + 1) * t) / S) - 1;
        c = tmpCpu[t - 1 - last]; // the run's largest cpu
        m = tmpMem[t - 1 - first]; // and largest memory
      }
      const at = base + 2 * g;
      if (same && (sky[at] !== c || sky[at + 1] !== m)) same = false;
      sky[at] = c;
      sky[at + 1] = m;
    }
    this.skyCount[x] = count;
    return !same;
  }

  /** Splits t into the nodes before x (splitLeft) and the rest (splitRight). */
  private split(t: number, x: number): void {
    if (t === NONE) {
      this.splitLeft = this.splitRight = NONE;
    } else if (this.less(t, x)) {
      this.split(this.right[t], x);
      this.right[t] = this.splitLeft;
      this.pull(t);
      this.splitLeft = t;
    } else {
      this.split(this.left[t], x);
      this.left[t] = this.splitRight;
      this.pull(t);
      this.splitRight = t;
    }
  }

  private merge(a: number, b: number): number {
    if (a === NONE) return b;
    if (b === NONE) return a;
    if (this.priority[a] > this.priority[b]) {
      this.right[a] = this.merge(this.right[a], b);
      this.pull(a);
      return a;
    }
    this.left[b] = this.merge(a, this.left[b]);
    this.pull(b);
    return b;
  }

  // insertAt, removeAt and touch leave in `dirty` whether the skyline of the subtree they return changed;
  // an ancestor of an unchanged subtree (same root, same skyline) has nothing to recompute. Most updates stop
  // a few levels above the node: a node that lost capacity is rarely on the skyline of a large subtree.
  private dirty = false;

  private insertAt(t: number, x: number): number {
    if (t === NONE) {
      this.dirty = true;
      return x;
    }
    if (this.priority[x] > this.priority[t]) {
      this.split(t, x);
      this.left[x] = this.splitLeft;
      this.right[x] = this.splitRight;
      this.pull(x);
      this.dirty = true;
      return x;
    }
    if (this.less(x, t)) this.left[t] = this.insertAt(this.left[t], x);
    else this.right[t] = this.insertAt(this.right[t], x);
    if (this.dirty) this.dirty = this.pull(t);
    return t;
  }

  private removeAt(t: number, x: number): number {
    if (t === NONE) throw new Error(`consolidation: node index ${x} is not in the pool`);
    if (t === x) {
      this.dirty = true;
      return this.merge(this.left[t], this.right[t]);
    }
    if (this.less(x, t)) this.left[t] = this.removeAt(this.left[t], x);
    else this.right[t] = this.removeAt(this.right[t], x);
    if (this.dirty) this.dirty = this.pull(t);
    return t;
  }

  /** Recomputes the skylines on the path to x (its key unchanged). */
  private touch(t: number, x: number): void {
    if (t === NONE) throw new Error(`consolidation: node index ${x} is not in the pool`);
    if (t === x) {
      this.dirty = this.pull(t);
      return;
    }
    this.touch(this.less(x, t) ? this.left[t] : this.right[t], x);
    if (this.dirty) this.dirty = this.pull(t);
  }

  insert(x: number): void {
    this.key[x] = this.keyOf(x);
    this.left[x] = this.right[x] = NONE;
    this.pull(x);
    const g = this.group[x];
    this.roots[g] = this.insertAt(this.roots[g], x);
  }

  remove(x: number): void {
    const g = this.group[x];
    this.roots[g] = this.removeAt(this.roots[g], x);
  }

  changed(x: number): void {
    if (this.keyOf(x) === this.key[x]) {
      this.touch(this.roots[this.group[x]], x);
    } else {
      this.remove(x);
      this.insert(x);
    }
  }

  find(g: number, cpu: number, mem: number): number {
    return this.first(this.roots[g], cpu, mem);
  }

  /** Whether t's skyline says some node of its subtree has room for (cpu, mem, a pod). */
  private covers(t: number, cpu: number, mem: number): boolean {
    const sky = this.sky;
    const base = 2 * t * SKYLINE;
    const end = base + 2 * this.skyCount[t];
    for (let i = base; i < end; i += 2) if (sky[i] >= cpu) return sky[i + 1] >= mem;
    return false;
  }

  /** The leftmost node of t where the pod fits, skipping the subtrees whose skyline says none does. */
  private first(t: number, cpu: number, mem: number): number {
    if (t === NONE || !this.covers(t, cpu, mem)) return NONE;
    const l = this.first(this.left[t], cpu, mem);
    if (l !== NONE) return l;
    if (this.fc[t] >= cpu && this.fm[t] >= mem && this.fp[t] >= 1) return t;
    return this.first(this.right[t], cpu, mem);
  }
}

/** The reference: a linear scan over the group's pool in FFD rank order. */
class ScanIndex implements BinIndex {
  private readonly members: Int32Array[];
  private readonly inPool: Uint8Array;
  private readonly fc: Float64Array;
  private readonly fm: Float64Array;
  private readonly fp: Float64Array;
  private readonly rank: Int32Array;
  private readonly bestFit: boolean;
  private readonly cpuRef: number;
  private readonly memRef: number;

  constructor(prep: Prepared, fc: Float64Array, fm: Float64Array, fp: Float64Array, bestFit: boolean) {
    const lists: number[][] = Array.from({ length: prep.groups }, () => []);
    for (let x = 0; x < prep.n; x++) lists[prep.group[x]].push(x);
    this.members = lists.map((l) => Int32Array.from(l.sort((a, b) => prep.rank[a] - prep.rank[b])));
    this.inPool = new Uint8Array(prep.n);
    this.fc = fc;
    this.fm = fm;
    this.fp = fp;
    this.rank = prep.rank;
    this.bestFit = bestFit;
    this.cpuRef = prep.cpuRef;
    this.memRef = prep.memRef;
  }

  insert(x: number): void {
    this.inPool[x] = 1;
  }

  remove(x: number): void {
    this.inPool[x] = 0;
  }

  changed(): void {}

  find(g: number, cpu: number, mem: number): number {
    let best = NONE;
    let bestKey = Infinity;
    for (const x of this.members[g]) {
      if (!this.inPool[x] || this.fc[x] < cpu || this.fm[x] < mem || this.fp[x] < 1) continue;
      if (!this.bestFit) return x;
      const k = this.fc[x] / this.cpuRef + this.fm[x] / this.memRef;
      if (best === NONE || k < bestKey) {
        best = x; // members are in rank order, so the first of equal keys wins
        bestKey = k;
      }
    }
    return best;
  }
}

// ---------------------------------------------------------------------------------------------------
// The run

function run(prep: Prepared, algorithm: Algorithm): ConsolidationPlan {
  const { n, group, schedulable, podStart, podIdx, podCpu, podMem } = prep;
  const fc = prep.freeCpu.slice();
  const fm = prep.freeMem.slice();
  const fp = prep.freePods.slice();
  const bestFit = algorithm === 'bfd';
  const index: BinIndex = prep.opts.index === 'scan' ? new ScanIndex(prep, fc, fm, fp, bestFit) : new TreeIndex(prep, fc, fm, fp, bestFit);
  // Each group's total free cpu/memory in the pool (negative free counts as none).
  const poolCpu = new Float64Array(prep.groups);
  const poolMem = new Float64Array(prep.groups);
  for (let x = 0; x < n; x++) {
    if (!schedulable[x]) continue;
    index.insert(x);
    poolCpu[group[x]] += Math.max(0, fc[x]);
    poolMem[group[x]] += Math.max(0, fm[x]);
  }

  const received = new Int32Array(n);
  const drained = new Uint8Array(n);
  const dest = new Int32Array(podIdx.length).fill(NONE); // per CSR slot: where the pod went
  const failedPod = new Int32Array(n).fill(NONE);
  const failedOnTotals = new Uint8Array(n);
  const drainedOrder: number[] = [];

  for (let s = 0; s < prep.drainSequence.length; s++) {
    const x = prep.drainSequence[s];
    if (received[x] > 0) continue; // kept as a receiver
    const g = group[x];
    const inPool = schedulable[x] === 1;
    if (inPool) {
      index.remove(x);
      poolCpu[g] -= Math.max(0, fc[x]);
      poolMem[g] -= Math.max(0, fm[x]);
    }
    const start = podStart[x];
    const end = podStart[x + 1];
    let ok = true;
    if (prep.loadCpu[x] > poolCpu[g] || prep.loadMem[x] > poolMem[g]) {
      ok = false;
      failedOnTotals[x] = 1;
    } else {
      for (let k = start; k < end; k++) {
        const p = podIdx[k];
        const c = podCpu[p];
        const m = podMem[p];
        const b = index.find(g, c, m);
        if (b === NONE) {
          ok = false;
          failedPod[x] = p;
          for (let j = k - 1; j >= start; j--) {
            // Undo this attempt's placements, last first.
            const back = dest[j];
            const q = podIdx[j];
            fc[back] += podCpu[q];
            fm[back] += podMem[q];
            fp[back] += 1;
            poolCpu[g] += podCpu[q];
            poolMem[g] += podMem[q];
            received[back]--;
            dest[j] = NONE;
            index.changed(back);
          }
          break;
        }
        fc[b] -= c;
        fm[b] -= m;
        fp[b] -= 1;
        poolCpu[g] -= c;
        poolMem[g] -= m;
        received[b]++;
        dest[k] = b;
        index.changed(b);
      }
    }
    if (ok) {
      drained[x] = 1;
      drainedOrder.push(x);
    } else if (inPool) {
      index.insert(x);
      poolCpu[g] += Math.max(0, fc[x]);
      poolMem[g] += Math.max(0, fm[x]);
    }
  }

  // The plan.
  const { nodes, pods, cost, opts } = prep;
  const drainable: DrainableNode[] = [];
  const moves: PodMove[] = [];
  let savings = 0;
  let removedCpu = 0; // requests that leave the cluster with drained nodes (their DaemonSet pods)
  let removedMem = 0;
  for (const x of drainedOrder) {
    const from = nodes[x].name;
    for (let k = podStart[x]; k < podStart[x + 1]; k++) moves.push({ pod: podKey(pods[podIdx[k]]), from, to: nodes[dest[k]].name });
    drainable.push({
      node: from,
      monthlySavings: cost[x],
      podsMoved: podStart[x + 1] - podStart[x],
      daemonSetPods: prep.dsCount[x],
      cpuMoved: prep.loadCpu[x] / 1000,
      memoryMoved: prep.loadMem[x],
    });
    savings += cost[x];
    removedCpu += prep.usedCpu[x] - prep.loadCpu[x];
    removedMem += prep.usedMem[x] - prep.loadMem[x];
  }
  const kept: KeptNode[] = [];
  let costBefore = 0;
  let allocCpuBefore = 0;
  let allocMemBefore = 0;
  let allocCpuAfter = 0;
  let allocMemAfter = 0;
  let requestedCpu = 0;
  let requestedMem = 0;
  for (let x = 0; x < n; x++) {
    costBefore += cost[x];
    allocCpuBefore += prep.allocCpu[x];
    allocMemBefore += prep.allocMem[x];
    requestedCpu += prep.usedCpu[x];
    requestedMem += prep.usedMem[x];
    if (drained[x]) continue;
    allocCpuAfter += prep.allocCpu[x];
    allocMemAfter += prep.allocMem[x];
    const node = nodes[x].name;
    if (prep.pinnedBy[x] !== NONE) {
      const pod = pods[prep.pinnedBy[x]];
      kept.push({ node, reason: 'pinned', pod: podKey(pod), detail: pod.reason ?? 'not movable', podsReceived: received[x] });
    } else if (failedPod[x] !== NONE) {
      kept.push({ node, reason: 'no-room', pod: podKey(pods[failedPod[x]]), podsReceived: received[x] });
    } else if (failedOnTotals[x]) {
      kept.push({ node, reason: 'no-room', detail: 'its pods need more than the free capacity of all the other nodes together', podsReceived: received[x] });
    } else {
      kept.push({ node, reason: 'receiver', podsReceived: received[x] });
    }
  }
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
  return {
    algorithm,
    drainOrder: opts.drainOrder,
    maxUtilization: opts.maxUtilization,
    nodesBefore: n,
    nodesAfter: n - drainedOrder.length,
    monthlyCostBefore: costBefore,
    monthlyCostAfter: costBefore - savings,
    monthlySavings: savings,
    utilizationBefore: { cpu: ratio(requestedCpu, allocCpuBefore), memory: ratio(requestedMem, allocMemBefore) },
    utilizationAfter: { cpu: ratio(requestedCpu - removedCpu, allocCpuAfter), memory: ratio(requestedMem - removedMem, allocMemAfter) },
    drainable,
    moves,
    kept,
    ignoredPods: prep.ignoredPods,
  };
}

/** The drain plan for one packing rule. */
export function planConsolidation(nodes: readonly NodeInput[], pods: readonly PodInput[], options: ConsolidationOptions): ConsolidationPlan {
  const opts = resolve(options);
  return run(prepare(nodes, pods, opts), opts.algorithm);
}

/**
 * Both rules over one preparation, and the better plan: the larger saving (to the cent), then fewer moves,
 * then FFD.
 */
export function bestPlan(
  nodes: readonly NodeInput[],
  pods: readonly PodInput[],
  options: Omit<ConsolidationOptions, 'algorithm'> = {},
): { ffd: ConsolidationPlan; bfd: ConsolidationPlan; best: ConsolidationPlan } {
  const prep = prepare(nodes, pods, resolve({ ...options, algorithm: 'ffd' }));
  const ffd = run(prep, 'ffd');
  const bfd = run(prep, 'bfd');
  const cents = (p: ConsolidationPlan) => Math.round(p.monthlySavings * 100);
  const best = cents(bfd) > cents(ffd) || (cents(bfd) === cents(ffd) && bfd.moves.length < ffd.moves.length) ? bfd : ffd;
  return { ffd, bfd, best };
}

// ---------------------------------------------------------------------------------------------------
// An independent check of a plan against its input (plain maps, none of the code above but the pricing and
// the unit conversion). Returns the violations found, at most `limit`; [] for a valid plan.

export function verifyPlan(
  nodes: readonly NodeInput[],
  pods: readonly PodInput[],
  plan: ConsolidationPlan,
  options: Omit<ConsolidationOptions, 'algorithm'> = {},
  limit = 20,
): string[] {
  const opts = resolve({ ...options, algorithm: 'ffd' });
  const out: string[] = [];
  const fail = (msg: string) => {
    if (out.length < limit) out.push(msg);
  };
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const drained = new Set<string>();
  for (const d of plan.drainable) {
    const node = byName.get(d.node);
    if (!node) fail(`drained node ${d.node} does not exist`);
    else if (drained.has(d.node)) fail(`node ${d.node} drained twice`);
    else if (Math.abs(d.monthlySavings - nodeMonthlyCost(node, opts.prices, opts.hoursPerMonth)) > 1e-6) fail(`node ${d.node}: saving ${d.monthlySavings} is not its cost`);
    drained.add(d.node);
  }
  const total = plan.drainable.reduce((s, d) => s + d.monthlySavings, 0);
  if (Math.abs(total - plan.monthlySavings) > 1e-6 * Math.max(1, total)) fail(`monthlySavings ${plan.monthlySavings} ≠ sum over drained nodes ${total}`);
  if (plan.nodesAfter !== nodes.length - drained.size || plan.nodesBefore !== nodes.length) fail(`node counts ${plan.nodesBefore} → ${plan.nodesAfter} don't match ${nodes.length} − ${drained.size}`);
  const keptNames = new Set(plan.kept.map((k) => k.node));
  if (keptNames.size !== plan.kept.length) fail('a node is listed twice in kept');
  for (const name of byName.keys()) if (drained.has(name) === keptNames.has(name)) fail(`node ${name} must be in exactly one of drainable and kept`);

  const podByKey = new Map<string, PodInput>();
  for (const p of pods) podByKey.set(podKey(p), p);
  const moved = new Map<string, string>();
  for (const mv of plan.moves) {
    const pod = podByKey.get(mv.pod);
    if (!pod) {
      fail(`moved pod ${mv.pod} does not exist`);
      continue;
    }
    if (moved.has(mv.pod)) fail(`pod ${mv.pod} moved twice`);
    moved.set(mv.pod, mv.to);
    if (pod.node !== mv.from) fail(`pod ${mv.pod} moved from ${mv.from} but runs on ${pod.node}`);
    if (!drained.has(mv.from)) fail(`pod ${mv.pod} moved off ${mv.from}, which is not drained`);
    if (pod.daemonSet) fail(`DaemonSet pod ${mv.pod} moved`);
    if (!pod.movable) fail(`unmovable pod ${mv.pod} moved`);
    const to = byName.get(mv.to);
    if (!to) fail(`pod ${mv.pod} moved to unknown node ${mv.to}`);
    else {
      if (drained.has(mv.to)) fail(`pod ${mv.pod} moved to drained node ${mv.to}`);
      if (to.unschedulable) fail(`pod ${mv.pod} moved to cordoned node ${mv.to}`);
      const from = byName.get(mv.from);
      if (from && groupKey(from, opts.sameLabels) !== groupKey(to, opts.sameLabels)) fail(`pod ${mv.pod} moved across ${opts.sameLabels.join(',')}: ${mv.from} → ${mv.to}`);
    }
  }
  // Load of every node after the moves; DaemonSet pods of drained nodes are gone.
  const load = new Map<string, { cpu: number; mem: number; pods: number; received: number }>();
  for (const name of byName.keys()) load.set(name, { cpu: 0, mem: 0, pods: 0, received: 0 });
  for (const p of pods) {
    if (!byName.has(p.node)) continue;
    const key = podKey(p);
    let at = p.node;
    if (drained.has(p.node)) {
      if (p.daemonSet) continue;
      const to = moved.get(key);
      if (to === undefined) {
        fail(`pod ${key} on drained node ${p.node} is not moved`);
        continue;
      }
      if (!p.movable) fail(`drained node ${p.node} holds unmovable pod ${key}`);
      at = to;
    }
    const l = load.get(at);
    if (!l) continue;
    l.cpu += millicores(p.requests.cpu);
    l.mem += bytes(p.requests.memory);
    l.pods++;
    if (at !== p.node) l.received++;
  }
  for (const [name, l] of load) {
    if (drained.has(name) || l.received === 0) continue; // a node that took nothing may already be over the ceiling
    const node = byName.get(name)!;
    const cpuCap = ceilingOf(millicores(node.allocatable.cpu), opts.maxUtilization);
    const memCap = ceilingOf(bytes(node.allocatable.memory), opts.maxUtilization);
    if (l.cpu > cpuCap) fail(`node ${name} over cpu after moves: ${l.cpu}m > ${cpuCap}m`);
    if (l.mem > memCap) fail(`node ${name} over memory after moves: ${l.mem} > ${memCap} bytes`);
    if (node.allocatable.pods !== undefined && l.pods > node.allocatable.pods) fail(`node ${name} over its pod limit after moves: ${l.pods} > ${node.allocatable.pods}`);
  }
  for (const k of plan.kept) {
    const l = load.get(k.node);
    if (l && k.podsReceived !== l.received) fail(`node ${k.node}: podsReceived ${k.podsReceived}, but moves bring ${l.received}`);
  }
  return out;
}
