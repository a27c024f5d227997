// Deterministic request builders for protocol's tests and the decode benchmark: a realistic cAdvisor
// request, and randomized requests that exercise every field (for cross-checks and fuzzing).

import type { BucketSpan, Label, MetricTypeValue } from './types.ts';
import type { HistogramInput } from './histogram.ts';
import type { ExemplarInput, SampleInput, SeriesInput, WriteRequestInput } from './encode.ts';
import { STALE_NAN } from './types.ts';

/** A small, fast, seedable PRNG (mulberry32). Returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CADVISOR_METRICS = [
  'container_cpu_usage_seconds_total',
  'container_cpu_cfs_throttled_periods_total',
  'container_memory_working_set_bytes',
  'container_memory_rss',
  'container_fs_writes_bytes_total',
  'container_network_receive_bytes_total',
  'container_spec_cpu_quota',
  'container_memory_cache',
];
const NAMESPACES = ['payments', 'checkout', 'search', 'identity', 'ingest', 'ml-serving', 'monitoring', 'kube-system'];
const APPS = ['api', 'worker', 'frontend', 'cache', 'gateway', 'scheduler', 'indexer', 'exporter'];

/**
 * `seriesCount` cAdvisor container_* series as the kubelet exposes them (14 labels: __name__, container,
 * cpu, endpoint, id (cgroup path), image, instance, job, metrics_path, name, namespace, node, pod,
 * service), labels sorted, `samplesPerSeries` samples 15 s apart, counter metadata on each series.
 */
export function cadvisorRequest(seriesCount: number, samplesPerSeries: number, seed = 7): WriteRequestInput {
  const r = rng(seed);
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
  const series: SeriesInput[] = [];
  const now = 1_760_000_000_000;
  for (let c = 0; series.length < seriesCount; c++) {
    const ns = NAMESPACES[c % NAMESPACES.length];
    const app = APPS[(c >> 3) % APPS.length];
    const podUid = `${hex(8)}_${hex(4)}_${hex(4)}_${hex(4)}_${hex(12)}`;
    const containerId = hex(64);
    const nodeIp = `10.0.${(c >> 6) & 255}.${c & 63}`;
    const pod = `${app}-${hex(10)}-${hex(5)}`;
    for (const metric of CADVISOR_METRICS) {
      if (series.length >= seriesCount) break;
      const o: Record<string, string> = {
        __name__: metric,
        container: app,
        cpu: 'total',
        endpoint: 'https-metrics',
        id: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUid}.slice/cri-containerd-${containerId}.scope`,
        image: `registry.example.com/${ns}/${app}:v1.${c % 40}.${c % 7}`,
        instance: `${nodeIp}:10250`,
        job: 'kubelet',
        metrics_path: '/metrics/cadvisor',
        name: containerId,
        namespace: ns,
        node: `ip-${nodeIp.replaceAll('.', '-')}.eu-west-1.compute.internal`,
        pod,
        service: 'kube-prometheus-stack-kubelet',
      };
      const labels: Label[] = Object.keys(o)
        .sort()
        .map((name) => ({ name, value: o[name] }));
      const samples: SampleInput[] = [];
      for (let i = 0; i < samplesPerSeries; i++) samples.push({ value: Math.round(r() * 1e9) / 1e3, timestamp: now + i * 15_000 });
      series.push({ labels, samples, metadata: { type: 1, help: `cAdvisor metric ${metric}.`, unit: '' } });
    }
  }
  return { series };
}

// ---------------------------------------------------------------------------------------------------
// Random requests

const NAME_POOL = ['__name__', 'job', 'instance', 'le', 'pod', 'namespace', 'http.method', 'with space', 'ünïcødé', '名前', 'a', 'zz', '😀emoji'];
const VALUE_POOL = ['', 'x', 'value with spaces', 'multi\nline', 'quote"back\\slash', 'ünïcødé', '日本語', '😀', '\u{FEFF}bom', 'a'.repeat(300)];

export interface RandomRequestOptions {
  /** Include 2.0-only data (start timestamps). */
  v2?: boolean;
  maxSeries?: number;
}

/** Random doubles with unusual bit patterns mixed in: NaNs with payloads (incl. stale), ±Inf, -0, subnormals. */
export function randomDouble(r: () => number): number {
  const k = r();
  if (k < 0.05) return STALE_NAN;
  if (k < 0.08) return Number.NaN;
  if (k < 0.1) return r() < 0.5 ? Infinity : -Infinity;
  if (k < 0.12) return -0;
  if (k < 0.14) return 5e-324 * Math.floor(r() * 1000);
  if (k < 0.3) {
    // Any 64 bits, NaN payloads included: read from a Float64Array so the payload is kept.
    const u = new Uint32Array([Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 32)]);
    return new Float64Array(u.buffer)[0];
  }
  if (k < 0.5) return Math.floor(r() * 1e6);
  return (r() - 0.5) * 10 ** Math.floor(r() * 20 - 10);
}

function randomTimestamp(r: () => number): number {
  const k = r();
  if (k < 0.05) return 0;
  if (k < 0.1) return -Math.floor(r() * 1e12); // before the epoch: 10-byte varints
  if (k < 0.15) return Number.MAX_SAFE_INTEGER - Math.floor(r() * 10);
  if (k < 0.2) return -Number.MAX_SAFE_INTEGER + Math.floor(r() * 10);
  return 1_700_000_000_000 + Math.floor(r() * 1e10);
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function randomLabels(r: () => number, max: number): Label[] {
  const n = Math.floor(r() * max);
  const labels: Label[] = [];
  for (let i = 0; i < n; i++) labels.push({ name: pick(r, NAME_POOL), value: pick(r, VALUE_POOL) + (r() < 0.5 ? String(i) : '') });
  return labels;
}

function randomSpans(r: () => number, custom: boolean): { spans: BucketSpan[]; buckets: number } {
  const spans: BucketSpan[] = [];
  let buckets = 0;
  const n = Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const length = Math.floor(r() * 4);
    const offset = i === 0 && !custom ? Math.floor(r() * 20) - 10 : Math.floor(r() * 3);
    spans.push({ offset, length });
    buckets += length;
  }
  return { spans, buckets };
}

/** A random native histogram (integer, float or custom-bucket); not necessarily valid by Validate(). */
export function randomHistogram(r: () => number, v2: boolean): HistogramInput {
  const isFloat = r() < 0.4;
  const custom = r() < 0.25;
  const pos = randomSpans(r, custom);
  const neg = custom ? { spans: [], buckets: 0 } : randomSpans(r, false);
  const counts = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 100) / (isFloat ? 4 : 1));
  const deltas = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 200) - 50);
  return {
    timestamp: randomTimestamp(r),
    startTimestamp: v2 && r() < 0.5 ? randomTimestamp(r) : 0,
    isFloat,
    count: isFloat ? Math.floor(r() * 1000) / 8 : Math.floor(r() * 1e6),
    sum: r() < 0.1 ? Number.NaN : (r() - 0.3) * 1e4,
    schema: custom ? -53 : Math.floor(r() * 13) - 4,
    zeroThreshold: custom ? 0 : r() < 0.5 ? 0 : 1e-128,
    zeroCount: custom ? 0 : isFloat ? Math.floor(r() * 10) / 2 : Math.floor(r() * 10),
    negativeSpans: neg.spans,
    negativeDeltas: isFloat ? [] : deltas(neg.buckets),
    negativeCounts: isFloat ? counts(neg.buckets) : [],
    positiveSpans: pos.spans,
    positiveDeltas: isFloat ? [] : deltas(pos.buckets),
    positiveCounts: isFloat ? counts(pos.buckets) : [],
    resetHint: Math.floor(r() * 4),
    customValues: custom ? Array.from({ length: pos.buckets + 1 }, (_, i) => i * 0.5 + 0.1) : [],
  };
}

/** A random request using every field. Label sets may be unsorted or contain duplicates: it is wire data, not valid data. */
export function randomRequest(r: () => number, options: RandomRequestOptions = {}): WriteRequestInput {
  const v2 = options.v2 ?? false;
  const nSeries = Math.floor(r() * (options.maxSeries ?? 12));
  const series: SeriesInput[] = [];
  for (let i = 0; i < nSeries; i++) {
    const labels = randomLabels(r, 7);
    if (r() < 0.8) labels.unshift({ name: '__name__', value: pick(r, ['up', 'http_requests_total', 'metric.with.dots', 'metric with spaces', 'ünïcødé_metric']) + (r() < 0.5 ? String(i % 3) : '') });
    const s: SeriesInput = { labels };
    const k = r();
    if (k < 0.6) {
      s.samples = Array.from({ length: Math.floor(r() * 5) }, () => {
        const x: SampleInput = { value: randomDouble(r), timestamp: randomTimestamp(r) };
        if (v2 && r() < 0.5) x.startTimestamp = randomTimestamp(r);
        return x;
      });
    } else if (k < 0.9) {
      s.histograms = Array.from({ length: 1 + Math.floor(r() * 2) }, () => randomHistogram(r, v2));
    }
    if (r() < 0.3) {
      s.exemplars = Array.from({ length: 1 + Math.floor(r() * 2) }, (): ExemplarInput => ({
        labels: randomLabels(r, 3),
        value: randomDouble(r),
        timestamp: randomTimestamp(r),
      }));
    }
    if (r() < 0.5) {
      s.metadata = {
        type: Math.floor(r() * 8) as MetricTypeValue,
        help: r() < 0.7 ? pick(r, VALUE_POOL) : '',
        unit: r() < 0.3 ? pick(r, ['seconds', 'bytes', '']) : '',
      };
    }
    series.push(s);
  }
  return { series };
}
