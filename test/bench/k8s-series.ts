// A realistic Kubernetes series set: what kubelet/cAdvisor and kube-state-metrics expose for every
// container, with the label sets they really carry (long cgroup ids, image names, pod uids). Used by the
// ingest benchmark and, later, the query benchmark. Deterministic for a given seed.

import { rng } from '../../protocol/fixtures.ts';
import type { Label } from '../../protocol/types.ts';

export interface BenchSeries {
  labels: Label[]; // sorted by name
  kind: 'counter' | 'gauge';
  /** Per-sample increment (counters) or level (gauges). */
  scale: number;
}

const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');

const CADVISOR = [
  ['container_cpu_usage_seconds_total', 'counter', 0.05],
  ['container_cpu_user_seconds_total', 'counter', 0.03],
  ['container_cpu_system_seconds_total', 'counter', 0.02],
  ['container_cpu_cfs_periods_total', 'counter', 150],
  ['container_cpu_cfs_throttled_periods_total', 'counter', 3],
  ['container_cpu_cfs_throttled_seconds_total', 'counter', 0.01],
  ['container_memory_working_set_bytes', 'gauge', 2e8],
  ['container_memory_rss', 'gauge', 1.5e8],
  ['container_memory_cache', 'gauge', 5e7],
  ['container_memory_usage_bytes', 'gauge', 2.5e8],
  ['container_oom_events_total', 'counter', 0],
  ['container_fs_reads_bytes_total', 'counter', 4096],
  ['container_fs_writes_bytes_total', 'counter', 8192],
] as const;

const NAMESPACES = ['payments', 'checkout', 'search', 'identity', 'ingest', 'ml-serving', 'monitoring', 'kube-system', 'web', 'batch'];
const APPS = ['api', 'worker', 'frontend', 'cache', 'gateway', 'scheduler', 'indexer', 'exporter'];

/**
 * About `containers × 19` series: 13 cAdvisor series and 6 kube-state-metrics series per container.
 * `containers = 5,300` gives ≥ 100k series.
 */
export function kubernetesSeries(containers: number, options: { seed?: number; cluster?: string; nodes?: number } = {}): BenchSeries[] {
  const r = rng(options.seed ?? 42);
  const cluster = options.cluster ?? 'prod-eu-1';
  const nodes = options.nodes ?? Math.max(1, Math.ceil(containers / 110));
  const out: BenchSeries[] = [];
  const sortLabels = (o: Record<string, string>): Label[] =>
    Object.keys(o)
      .sort()
      .map((name) => ({ name, value: o[name] }));

  for (let c = 0; c < containers; c++) {
    const ns = NAMESPACES[c % NAMESPACES.length];
    const app = APPS[Math.floor(c / NAMESPACES.length) % APPS.length];
    const rs = hex(r, 10);
    const pod = `${app}-${rs}-${hex(r, 5)}`;
    const podUid = `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}`;
    const containerId = hex(r, 64);
    const node = `ip-10-0-${Math.floor(c / 110) % 256}-${(c % nodes) % 256}.eu-west-1.compute.internal`;
    const nodeIp = `10.0.${Math.floor(c / 110) % 256}.${(c % nodes) % 256}`;
    const container = c % 3 === 0 ? 'istio-proxy' : app;
    const image = container === 'istio-proxy' ? 'docker.io/istio/proxyv2:1.22.3' : `registry.example.com/${ns}/${app}:v1.${c % 40}.${c % 7}`;
    const cadvisor = {
      cluster,
      container,
      endpoint: 'https-metrics',
      id: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUid.replaceAll('-', '_')}.slice/cri-containerd-${containerId}.scope`,
      image,
      instance: `${nodeIp}:10250`,
      job: 'kubelet',
      metrics_path: '/metrics/cadvisor',
      name: containerId,
      namespace: ns,
      node,
      pod,
      service: 'kube-prometheus-stack-kubelet',
    };
    for (const [name, kind, scale] of CADVISOR) {
      out.push({ labels: sortLabels({ __name__: name, ...cadvisor }), kind, scale: scale * (0.5 + r()) });
    }
    const ksm = { cluster, container, instance: '10.0.200.7:8080', job: 'kube-state-metrics', namespace: ns, pod, uid: podUid, node };
    for (const [resource, unit, level] of [['cpu', 'core', 0.25], ['memory', 'byte', 5.36870912e8]] as const) {
      out.push({ labels: sortLabels({ __name__: 'kube_pod_container_resource_requests', ...ksm, resource, unit }), kind: 'gauge', scale: level });
      out.push({ labels: sortLabels({ __name__: 'kube_pod_container_resource_limits', ...ksm, resource, unit }), kind: 'gauge', scale: level * 2 });
    }
    out.push({ labels: sortLabels({ __name__: 'kube_pod_container_info', ...ksm, image, image_id: `${image}@sha256:${hex(r, 64)}`, container_id: `containerd://${containerId}` }), kind: 'gauge', scale: 1 });
    out.push({ labels: sortLabels({ __name__: 'kube_pod_container_status_restarts_total', ...ksm }), kind: 'counter', scale: 0 });
  }
  return out;
}
