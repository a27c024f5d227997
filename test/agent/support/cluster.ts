// A synthetic node for the agent tests and the benchmark: its pods as the API server returns them (with
// Deployment → ReplicaSet → Pod, CronJob → Job → Pod, StatefulSet, DaemonSet and bare-pod owner chains,
// init containers, OOM-killed containers), their ReplicaSets and Jobs, the Node object, and the text the
// kubelet serves for them on /metrics/cadvisor and /metrics/resource. The cAdvisor text follows what a
// containerd kubelet (1.28-1.31, cAdvisor 0.47+) exposes: every metric family with its HELP and TYPE,
// series for the root and system cgroups, the kubepods slices, each pod's cgroup (network series live
// there), the pause container and each container, label names sorted, explicit millisecond timestamps.
// Deterministic for a given seed.

import type { ContainerSpec, ContainerStatus, Node, OwnedObject, OwnerReference, Pod } from '../../../agent/ksm.ts';
import { rng } from '../../../protocol/fixtures.ts';


const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const alnum = (r: () => number, n: number) => Array.from({ length: n }, () => 'bcdfghjklmnpqrstvwxz2456789'[Math.floor(r() * 27)]).join('');
const uuid = (r: () => number) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;

export interface NodeWorkload {
  node: Node;
  pods: Pod[];
  replicaSets: OwnedObject[];
  jobs: OwnedObject[];
}

const NAMESPACES = ['payments', 'checkout', 'search', 'identity', 'ingest', 'ml-serving', 'monitoring', 'kube-system', 'web', 'batch'];
const APPS = ['api', 'worker', 'frontend', 'cache', 'gateway', 'scheduler', 'indexer', 'exporter', 'consumer', 'renderer'];
const CPU = ['50m', '100m', '250m', '500m', '1', '1500m', '2'];
const MEM = ['64Mi', '128Mi', '256Mi', '512Mi', '1Gi', '1.5Gi', '2Gi', '300M'];

const ctrl = (apiVersion: string, kind: string, name: string, r: () => number): OwnerReference & { uid: string; blockOwnerDeletion: boolean } => ({
  apiVersion,
  kind,
  name,
  uid: uuid(r),
  controller: true,
  blockOwnerDeletion: true,
});

/**
 * `pods` pods holding `containers` containers in total on node `nodeName`. Pod kinds cycle through
 * Deployment (most), StatefulSet, DaemonSet, CronJob/Job and bare pods; every seventh pod has an init
 * container; every eleventh container was OOM-killed once (lastState.terminated.reason = OOMKilled).
 */
export function buildNodeWorkload(nodeName: string, pods: number, containers: number, seed = 7): NodeWorkload {
  const r = rng(seed);
  const out: NodeWorkload = {
    node: {
      metadata: { name: nodeName, uid: uuid(r), resourceVersion: '1' },
      spec: { providerID: `aws:///eu-west-1a/i-${hex(r, 17)}`, podCIDR: '10.244.3.0/24' },
      status: {
        allocatable: { cpu: '7910m', memory: '31214540Ki', pods: '110', 'ephemeral-storage': '95551679124', 'hugepages-2Mi': '0', 'nvidia.com/gpu': '1' },
        capacity: { cpu: '8', memory: '32408972Ki', pods: '110', 'ephemeral-storage': '104845292Ki', 'hugepages-2Mi': '0', 'nvidia.com/gpu': '1' },
        addresses: [
          { type: 'InternalIP', address: '10.0.3.17' },
          { type: 'Hostname', address: nodeName },
        ],
        nodeInfo: {
          kernelVersion: '6.1.0-18-cloud-amd64',
          osImage: 'Debian GNU/Linux 12 (bookworm)',
          containerRuntimeVersion: 'containerd://1.7.13',
          kubeletVersion: 'v1.30.2',
          kubeProxyVersion: 'v1.30.2',
          systemUUID: uuid(r),
        },
      },
    },
    pods: [],
    replicaSets: [],
    jobs: [],
  };
  const perPod = Array.from({ length: pods }, () => 1);
  for (let i = pods; i < containers; i++) perPod[Math.floor(r() * pods)]++;
  const rsByApp = new Map<string, OwnedObject>();
  let containerNo = 0;
  for (let p = 0; p < pods; p++) {
    const ns = NAMESPACES[p % NAMESPACES.length];
    const app = `${APPS[(p * 7) % APPS.length]}-${Math.floor(p / APPS.length)}`;
    const kind = p % 10 === 9 ? 'bare' : p % 10 === 8 ? 'cronjob' : p % 10 === 7 ? 'daemonset' : p % 10 === 6 ? 'statefulset' : 'deployment';
    let name: string;
    let owners: OwnerReference[] | undefined;
    if (kind === 'deployment') {
      let rs = rsByApp.get(`${ns}/${app}`);
      if (!rs) {
        rs = { metadata: { name: `${app}-${alnum(r, 10)}`, namespace: ns, uid: uuid(r), ownerReferences: [ctrl('apps/v1', 'Deployment', app, r)] } };
        rsByApp.set(`${ns}/${app}`, rs);
        out.replicaSets.push(rs);
      }
      name = `${rs.metadata.name}-${alnum(r, 5)}`;
      owners = [ctrl('apps/v1', 'ReplicaSet', rs.metadata.name, r)];
    } else if (kind === 'statefulset') {
      name = `${app}-0`;
      owners = [ctrl('apps/v1', 'StatefulSet', app, r)];
    } else if (kind === 'daemonset') {
      name = `${app}-${alnum(r, 5)}`;
      owners = [ctrl('apps/v1', 'DaemonSet', app, r)];
    } else if (kind === 'cronjob') {
      const job: OwnedObject = { metadata: { name: `${app}-2897${String(p).padStart(4, '0')}`, namespace: ns, uid: uuid(r), ownerReferences: [ctrl('batch/v1', 'CronJob', app, r)] } };
      out.jobs.push(job);
      name = `${job.metadata.name}-${alnum(r, 5)}`;
      owners = [ctrl('batch/v1', 'Job', job.metadata.name, r)];
    } else {
      name = `${app}-debug`;
      owners = undefined;
    }
    const specs: ContainerSpec[] = [];
    const statuses: ContainerStatus[] = [];
    for (let c = 0; c < perPod[p]; c++) {
      const cname = c === 0 ? 'app' : c === 1 ? 'istio-proxy' : `sidecar-${c}`;
      const image = c === 1 ? 'docker.io/istio/proxyv2:1.22.1' : `registry.example.com/${ns}/${app.replace(/-\d+$/, '')}:v1.${p % 9}.${c}`;
      const noLimits = containerNo % 13 === 5;
      specs.push({
        name: cname,
        image,
        resources: noLimits
          ? { requests: { cpu: CPU[containerNo % CPU.length] } }
          : { requests: { cpu: CPU[containerNo % CPU.length], memory: MEM[containerNo % MEM.length] }, limits: { cpu: CPU[(containerNo + 2) % CPU.length], memory: MEM[(containerNo + 1) % MEM.length] } },
      });
      const oom = containerNo % 11 === 3;
      statuses.push({
        name: cname,
        image,
        imageID: `${image.split(':')[0]}@sha256:${hex(r, 64)}`,
        containerID: `containerd://${hex(r, 64)}`,
        restartCount: oom ? 2 + (containerNo % 3) : 0,
        ready: true,
        state: { running: { startedAt: '2026-08-20T10:00:00Z' } },
        lastState: oom ? { terminated: { reason: 'OOMKilled', exitCode: 137 } } : {},
      } as ContainerStatus);
      containerNo++;
    }
    const init = p % 7 === 3;
    const pod: Pod & { metadata: { labels: Record<string, string>; creationTimestamp: string } } = {
      metadata: { name, namespace: ns, uid: uuid(r), resourceVersion: '1', ownerReferences: owners, labels: { app }, creationTimestamp: '2026-08-20T09:59:00Z' },
      spec: {
        nodeName,
        containers: specs,
        initContainers: init ? [{ name: 'migrate', image: `registry.example.com/${ns}/migrate:v3`, resources: { requests: { cpu: '200m', memory: '64Mi' }, limits: { memory: '128Mi' } } }] : undefined,
        priorityClassName: ns === 'kube-system' ? 'system-node-critical' : undefined,
        hostNetwork: kind === 'daemonset' && p % 20 === 7,
      },
      status: {
        phase: 'Running',
        hostIP: '10.0.3.17',
        podIP: `10.244.3.${(p % 250) + 2}`,
        qosClass: 'Burstable',
        containerStatuses: statuses,
        initContainerStatuses: init
          ? [{ name: 'migrate', image: `registry.example.com/${ns}/migrate:v3`, imageID: `registry.example.com/${ns}/migrate@sha256:${hex(r, 64)}`, containerID: `containerd://${hex(r, 64)}`, restartCount: 0, ready: false, state: { terminated: { reason: 'Completed', exitCode: 0 } } }]
          : undefined,
      },
    };
    out.pods.push(pod);
  }
  return out;
}

interface Cgroup {
  id: string;
  name: string;
  image: string;
  namespace: string;
  pod: string;
  container: string;
  /** Kind: system cgroup, pod cgroup, pause container, app container. */
  kind: 'system' | 'pod' | 'pause' | 'container';
  seed: number;
}

function cgroupsOf(pods: Pod[]): Cgroup[] {
  const out: Cgroup[] = [];
  for (const id of ['/', '/kubepods.slice', '/kubepods.slice/kubepods-besteffort.slice', '/kubepods.slice/kubepods-burstable.slice', '/system.slice', '/system.slice/containerd.service', '/system.slice/kubelet.service', '/system.slice/systemd-journald.service', '/user.slice']) {
    out.push({ id, name: '', image: '', namespace: '', pod: '', container: '', kind: 'system', seed: out.length });
  }
  for (const pod of pods) {
    const uid = (pod.metadata.uid ?? '').replace(/-/g, '_');
    const podId = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid}.slice`;
    const base = { namespace: pod.metadata.namespace ?? '', pod: pod.metadata.name };
    out.push({ id: podId, name: '', image: '', container: '', kind: 'pod', seed: out.length, ...base });
    const sandbox = (pod.metadata.uid ?? '').replace(/-/g, '').padEnd(64, '0').slice(0, 64);
    out.push({ id: `${podId}/cri-containerd-${sandbox}.scope`, name: sandbox, image: 'registry.k8s.io/pause:3.9', container: '', kind: 'pause', seed: out.length, ...base });
    for (const cs of pod.status?.containerStatuses ?? []) {
      const cid = (cs.containerID ?? '').replace('containerd://', '');
      out.push({ id: `${podId}/cri-containerd-${cid}.scope`, name: cid, image: cs.image ?? '', container: cs.name, kind: 'container', seed: out.length, ...base });
    }
  }
  return out;
}

type Fam = [name: string, type: 'counter' | 'gauge', help: string, kinds: Cgroup['kind'][] | 'all', value: (c: Cgroup, t: number) => number, variants?: Array<Record<string, string>>];

const ALL = 'all' as const;
const fsDevices = [{ device: '/dev/nvme0n1p1' }, { device: '/dev/shm' }];
const rate = (c: Cgroup, t: number, per: number) => Math.round((1000 + c.seed * 37 + (t / 1000) * per * (1 + (c.seed % 5))) * 1000) / 1000;
const level = (c: Cgroup, base: number) => base * (1 + (c.seed % 17)) + (c.seed % 3) * 4096;

const FAMILIES: Fam[] = [
  ['container_blkio_device_usage_total', 'counter', 'Blkio Device bytes usage', ALL, (c, t) => rate(c, t, 4096), [{ device: '/dev/nvme0n1', major: '259', minor: '0', operation: 'Read' }, { device: '/dev/nvme0n1', major: '259', minor: '0', operation: 'Write' }]],
  ['container_cpu_cfs_periods_total', 'counter', 'Number of elapsed enforcement period intervals.', ['container'], (c, t) => Math.floor(rate(c, t, 10))],
  ['container_cpu_cfs_throttled_periods_total', 'counter', 'Number of throttled period intervals.', ['container'], (c, t) => Math.floor(rate(c, t, 0.3))],
  ['container_cpu_cfs_throttled_seconds_total', 'counter', 'Total time duration the container has been throttled.', ['container'], (c, t) => rate(c, t, 0.01)],
  ['container_cpu_load_average_10s', 'gauge', 'Value of container cpu load average over the last 10 seconds.', ALL, () => 0],
  ['container_cpu_system_seconds_total', 'counter', 'Cumulative system cpu time consumed in seconds.', ALL, (c, t) => rate(c, t, 0.02)],
  ['container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed in seconds.', ALL, (c, t) => rate(c, t, 0.05), [{ cpu: 'total' }]],
  ['container_cpu_user_seconds_total', 'counter', 'Cumulative user cpu time consumed in seconds.', ALL, (c, t) => rate(c, t, 0.03)],
  ['container_file_descriptors', 'gauge', 'Number of open file descriptors for the container.', ALL, (c) => 10 + (c.seed % 50)],
  ['container_fs_inodes_free', 'gauge', 'Number of available Inodes', ['container', 'pause'], () => 6.1e6, fsDevices],
  ['container_fs_inodes_total', 'gauge', 'Number of Inodes', ['container', 'pause'], () => 6.5e6, fsDevices],
  ['container_fs_io_current', 'gauge', 'Number of I/Os currently in progress', ['container', 'pause'], () => 0, fsDevices],
  ['container_fs_io_time_seconds_total', 'counter', 'Cumulative count of seconds spent doing I/Os', ['container', 'pause'], (c, t) => rate(c, t, 0.001), fsDevices],
  ['container_fs_io_time_weighted_seconds_total', 'counter', 'Cumulative weighted I/O time in seconds', ['container', 'pause'], (c, t) => rate(c, t, 0.002), fsDevices],
  ['container_fs_limit_bytes', 'gauge', 'Number of bytes that can be consumed by the container on this filesystem.', ['container', 'pause'], () => 1.0431e11, fsDevices],
  ['container_fs_read_seconds_total', 'counter', 'Cumulative count of seconds spent reading', ['container', 'pause'], (c, t) => rate(c, t, 0.001), fsDevices],
  ['container_fs_reads_bytes_total', 'counter', 'Cumulative count of bytes read', ALL, (c, t) => rate(c, t, 1024), fsDevices],
  ['container_fs_reads_merged_total', 'counter', 'Cumulative count of reads merged', ['container', 'pause'], (c, t) => rate(c, t, 1), fsDevices],
  ['container_fs_reads_total', 'counter', 'Cumulative count of reads completed', ALL, (c, t) => rate(c, t, 3), fsDevices],
  ['container_fs_sector_reads_total', 'counter', 'Cumulative count of sector reads completed', ['container', 'pause'], (c, t) => rate(c, t, 8), fsDevices],
  ['container_fs_sector_writes_total', 'counter', 'Cumulative count of sector writes completed', ['container', 'pause'], (c, t) => rate(c, t, 16), fsDevices],
  ['container_fs_usage_bytes', 'gauge', 'Number of bytes that are consumed by the container on this filesystem.', ['container', 'pause'], (c) => level(c, 4096 * 1024), fsDevices],
  ['container_fs_write_seconds_total', 'counter', 'Cumulative count of seconds spent writing', ['container', 'pause'], (c, t) => rate(c, t, 0.002), fsDevices],
  ['container_fs_writes_bytes_total', 'counter', 'Cumulative count of bytes written', ALL, (c, t) => rate(c, t, 2048), fsDevices],
  ['container_fs_writes_merged_total', 'counter', 'Cumulative count of writes merged', ['container', 'pause'], (c, t) => rate(c, t, 1), fsDevices],
  ['container_fs_writes_total', 'counter', 'Cumulative count of writes completed', ALL, (c, t) => rate(c, t, 5), fsDevices],
  ['container_last_seen', 'gauge', 'Last time a container was seen by the exporter', ALL, (_c, t) => Math.floor(t / 1000)],
  ['container_memory_cache', 'gauge', 'Number of bytes of page cache memory.', ALL, (c) => level(c, 12e6)],
  ['container_memory_failcnt', 'counter', 'Number of memory usage hits limits', ALL, () => 0],
  ['container_memory_failures_total', 'counter', 'Cumulative count of memory allocation failures.', ALL, (c, t) => Math.floor(rate(c, t, 20)), [{ failure_type: 'pgfault', scope: 'container' }, { failure_type: 'pgfault', scope: 'hierarchy' }, { failure_type: 'pgmajfault', scope: 'container' }, { failure_type: 'pgmajfault', scope: 'hierarchy' }]],
  ['container_memory_kernel_usage', 'gauge', 'Size of kernel memory allocated in bytes.', ALL, () => 0],
  ['container_memory_mapped_file', 'gauge', 'Size of memory mapped files in bytes.', ALL, (c) => level(c, 1e6)],
  ['container_memory_max_usage_bytes', 'gauge', 'Maximum memory usage recorded in bytes', ALL, (c) => level(c, 80e6)],
  ['container_memory_rss', 'gauge', 'Size of RSS in bytes.', ALL, (c) => level(c, 40e6)],
  ['container_memory_swap', 'gauge', 'Container swap usage in bytes.', ALL, () => 0],
  ['container_memory_usage_bytes', 'gauge', 'Current memory usage in bytes, including all memory regardless of when it was accessed', ALL, (c) => level(c, 60e6)],
  ['container_memory_working_set_bytes', 'gauge', 'Current working set in bytes.', ALL, (c, t) => level(c, 50e6) + (Math.floor(t / 15000) % 7) * 65536],
  ['container_network_receive_bytes_total', 'counter', 'Cumulative count of bytes received', ['pod', 'system'], (c, t) => rate(c, t, 20000), [{ interface: 'eth0' }]],
  ['container_network_receive_errors_total', 'counter', 'Cumulative count of errors encountered while receiving', ['pod', 'system'], () => 0, [{ interface: 'eth0' }]],
  ['container_network_receive_packets_dropped_total', 'counter', 'Cumulative count of packets dropped while receiving', ['pod', 'system'], () => 0, [{ interface: 'eth0' }]],
  ['container_network_receive_packets_total', 'counter', 'Cumulative count of packets received', ['pod', 'system'], (c, t) => rate(c, t, 30), [{ interface: 'eth0' }]],
  ['container_network_transmit_bytes_total', 'counter', 'Cumulative count of bytes transmitted', ['pod', 'system'], (c, t) => rate(c, t, 15000), [{ interface: 'eth0' }]],
  ['container_network_transmit_errors_total', 'counter', 'Cumulative count of errors encountered while transmitting', ['pod', 'system'], () => 0, [{ interface: 'eth0' }]],
  ['container_network_transmit_packets_dropped_total', 'counter', 'Cumulative count of packets dropped while transmitting', ['pod', 'system'], () => 0, [{ interface: 'eth0' }]],
  ['container_network_transmit_packets_total', 'counter', 'Cumulative count of packets transmitted', ['pod', 'system'], (c, t) => rate(c, t, 25), [{ interface: 'eth0' }]],
  ['container_oom_events_total', 'counter', 'Count of out of memory events observed for the container', ALL, (c) => (c.kind === 'container' && c.seed % 11 === 3 ? 2 : 0)],
  ['container_processes', 'gauge', 'Number of processes running inside the container.', ALL, (c) => 1 + (c.seed % 4)],
  ['container_scrape_error', 'gauge', '1 if there was an error while getting container metrics, 0 otherwise', [], () => 0],
  ['container_sockets', 'gauge', 'Number of open sockets for the container.', ALL, (c) => c.seed % 30],
  ['container_spec_cpu_period', 'gauge', 'CPU period of the container.', ['container', 'pause', 'pod'], () => 100000],
  ['container_spec_cpu_quota', 'gauge', 'CPU quota of the container.', ['container'], (c) => 50000 * (1 + (c.seed % 4))],
  ['container_spec_cpu_shares', 'gauge', 'CPU share of the container.', ALL, (c) => 102 * (1 + (c.seed % 10))],
  ['container_spec_memory_limit_bytes', 'gauge', 'Memory limit for the container.', ALL, (c) => (c.kind === 'container' ? 536870912 : 0)],
  ['container_spec_memory_reservation_limit_bytes', 'gauge', 'Memory reservation limit for the container.', ALL, () => 0],
  ['container_spec_memory_swap_limit_bytes', 'gauge', 'Memory swap limit for the container.', ALL, (c) => (c.kind === 'container' ? 536870912 : 0)],
  ['container_start_time_seconds', 'gauge', 'Start time of the container since unix epoch in seconds.', ALL, () => 1787220000],
  ['container_tasks_state', 'gauge', 'Number of tasks in given state', ALL, (c) => c.seed % 3, [{ state: 'iowaiting' }, { state: 'running' }, { state: 'sleeping' }, { state: 'stopped' }, { state: 'uninterruptible' }]],
  ['container_threads', 'gauge', 'Number of threads running inside the container', ALL, (c) => 4 + (c.seed % 40)],
  ['container_threads_max', 'gauge', 'Maximum number of threads allowed inside the container, infinity if value is zero', ALL, () => 4194304],
  ['container_ulimits_soft', 'gauge', 'Soft ulimit values for the container root process. Unlimited if -1, except priority and nice', ['container', 'pause'], () => 1048576, [{ ulimit: 'max_open_files' }]],
];

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Go's strconv.FormatFloat(v, 'g', -1, 64), which the Prometheus Go client uses for sample values. */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mant, expStr] = v.toExponential().split('e');
  const x = Number(expStr);
  if (x < -4 || x >= 21 || x >= 6) return `${mant}e${x < 0 ? '-' : '+'}${String(Math.abs(x)).padStart(2, '0')}`;
  return String(v);
}

/**
 * The /metrics/cadvisor text for `pods` at time `nowMs`. Counters grow with time, so successive scrapes
 * look like a live kubelet's.
 */
export function cadvisorText(pods: Pod[], nowMs: number, machine: { cores: number; memoryBytes: number } = { cores: 8, memoryBytes: 33186787328 }): string {
  const cgroups = cgroupsOf(pods);
  const parts: string[] = [];
  parts.push(
    "# HELP cadvisor_version_info A metric with a constant '1' value labeled by kernel version, OS version, docker version, cadvisor version & cadvisor revision.",
    '# TYPE cadvisor_version_info gauge',
    'cadvisor_version_info{cadvisorRevision="",cadvisorVersion="",dockerVersion="",kernelVersion="6.1.0-18-cloud-amd64",osVersion="Debian GNU/Linux 12 (bookworm)"} 1',
  );
  const ts = Math.floor(nowMs / 1000) * 1000 - 3127;
  for (const [name, type, help, kinds, value, variants] of FAMILIES) {
    parts.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const c of cgroups) {
      if (kinds !== ALL && !kinds.includes(c.kind)) continue;
      for (const extra of variants ?? [{}]) {
        const labels: Record<string, string> = { container: c.container, id: c.id, image: c.image, name: c.name, namespace: c.namespace, pod: c.pod, ...extra };
        const body = Object.keys(labels)
          .sort()
          .map((k) => `${k}="${esc(labels[k])}"`)
          .join(',');
        parts.push(`${name}{${body}} ${goFloat(value(c, nowMs))} ${ts}`);
      }
    }
  }
  parts.push(
    '# HELP machine_cpu_cores Number of logical CPU cores.',
    '# TYPE machine_cpu_cores gauge',
    `machine_cpu_cores{boot_id="3f9c1e2a-7b7d-4a4e-9d0a-5b8c2f1e6d77",machine_id="5e3c1f0b2a7d4c6e8f9a0b1c2d3e4f50",system_uuid="ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8"} ${machine.cores}`,
    '# HELP machine_cpu_physical_cores Number of physical CPU cores.',
    '# TYPE machine_cpu_physical_cores gauge',
    `machine_cpu_physical_cores{boot_id="3f9c1e2a-7b7d-4a4e-9d0a-5b8c2f1e6d77",machine_id="5e3c1f0b2a7d4c6e8f9a0b1c2d3e4f50",system_uuid="ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8"} ${machine.cores / 2}`,
    '# HELP machine_cpu_sockets Number of CPU sockets.',
    '# TYPE machine_cpu_sockets gauge',
    'machine_cpu_sockets{boot_id="3f9c1e2a-7b7d-4a4e-9d0a-5b8c2f1e6d77",machine_id="5e3c1f0b2a7d4c6e8f9a0b1c2d3e4f50",system_uuid="ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8"} 1',
    '# HELP machine_memory_bytes Amount of memory installed on the machine.',
    '# TYPE machine_memory_bytes gauge',
    `machine_memory_bytes{boot_id="3f9c1e2a-7b7d-4a4e-9d0a-5b8c2f1e6d77",machine_id="5e3c1f0b2a7d4c6e8f9a0b1c2d3e4f50",system_uuid="ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8"} ${machine.memoryBytes}`,
    '# HELP machine_nvm_avg_power_budget_watts NVM power budget.',
    '# TYPE machine_nvm_avg_power_budget_watts gauge',
    'machine_nvm_avg_power_budget_watts{boot_id="3f9c1e2a-7b7d-4a4e-9d0a-5b8c2f1e6d77",machine_id="5e3c1f0b2a7d4c6e8f9a0b1c2d3e4f50",system_uuid="ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8"} 0',
    '# HELP machine_scrape_error 1 if there was an error while getting machine metrics, 0 otherwise.',
    '# TYPE machine_scrape_error gauge',
    'machine_scrape_error 0',
    '# HELP machine_swap_bytes Amount of swap memory available on the machine.',
    '# TYPE machine_swap_bytes gauge',
    'machine_swap_bytes{boot_id="3f9c1e2a-7b7d-4a4e-9d0a-5b8c2f1e6d77",machine_id="5e3c1f0b2a7d4c6e8f9a0b1c2d3e4f50",system_uuid="ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8"} 0',
    '',
  );
  return parts.join('\n');
}

/** The /metrics/resource text (kubelet's resource metrics endpoint). */
export function resourceText(pods: Pod[], nowMs: number): string {
  const ts = Math.floor(nowMs / 1000) * 1000 - 1211;
  const lines: string[] = [];
  const containers: Array<{ ns: string; pod: string; c: string; seed: number }> = [];
  let seed = 0;
  for (const p of pods) for (const cs of p.status?.containerStatuses ?? []) containers.push({ ns: p.metadata.namespace ?? '', pod: p.metadata.name, c: cs.name, seed: seed++ });
  const fake = (s: number): Cgroup => ({ id: '', name: '', image: '', namespace: '', pod: '', container: '', kind: 'container', seed: s });
  lines.push('# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds', '# TYPE container_cpu_usage_seconds_total counter');
  for (const x of containers) lines.push(`container_cpu_usage_seconds_total{container="${x.c}",namespace="${x.ns}",pod="${x.pod}"} ${goFloat(rate(fake(x.seed), nowMs, 0.05))} ${ts}`);
  lines.push('# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes', '# TYPE container_memory_working_set_bytes gauge');
  for (const x of containers) lines.push(`container_memory_working_set_bytes{container="${x.c}",namespace="${x.ns}",pod="${x.pod}"} ${goFloat(level(fake(x.seed), 50e6))} ${ts}`);
  lines.push('# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds', '# TYPE container_start_time_seconds gauge');
  for (const x of containers) lines.push(`container_start_time_seconds{container="${x.c}",namespace="${x.ns}",pod="${x.pod}"} 1.78722e+09 ${ts}`);
  lines.push('# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds', '# TYPE node_cpu_usage_seconds_total counter', `node_cpu_usage_seconds_total ${goFloat((nowMs / 1000) * 2.5)} ${ts}`);
  lines.push('# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes', '# TYPE node_memory_working_set_bytes gauge', `node_memory_working_set_bytes 1.2712e+10 ${ts}`);
  lines.push('# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds', '# TYPE pod_cpu_usage_seconds_total counter');
  for (const p of pods) lines.push(`pod_cpu_usage_seconds_total{namespace="${p.metadata.namespace}",pod="${p.metadata.name}"} ${goFloat((nowMs / 1000) * 0.01)} ${ts}`);
  lines.push('# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes', '# TYPE pod_memory_working_set_bytes gauge');
  for (const p of pods) lines.push(`pod_memory_working_set_bytes{namespace="${p.metadata.namespace}",pod="${p.metadata.name}"} 1.048576e+08 ${ts}`);
  lines.push('# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise', '# TYPE resource_scrape_error gauge', 'resource_scrape_error 0', '');
  return lines.join('\n');
}
