// The conformance dataset: deterministic (seeded) series covering counters with resets, gauges,
// staleness (stale markers, a series that stops, one that starts late, gaps), classic histograms,
// several jobs/instances, NaN and ±Inf values, epoch-second values for the date functions, and label
// sets for vector matching and the label functions.
//
// Timing is chosen so that Prometheus 2.42 (left-closed ranges and lookback) and Prometheus 3 /
// Trimtab (left-open) cannot differ: every sample timestamp has a millisecond part in {7, 107, 207,
// 307}, while every evaluation time used by the queries has a millisecond part of 123 or 456 and every
// range, offset, step and subquery step is a whole number of seconds. So no sample ever lies exactly on
// a range or lookback boundary, and no subquery step lies exactly on a window boundary.
//
// Values avoid ties where PromQL leaves the choice among equal values open (topk/bottomk): Prometheus
// 2.42 and 3 break such ties differently.

import { rng } from '../../protocol/fixtures.ts';
export type SampleValue = number | 'stale';

export interface DataSeries {
  labels: Record<string, string>;
  samples: Array<[number, SampleValue]>;
}

/** 2024-02-28T22:00:00Z: two hours of data cross midnight into the leap day. */
export const T0 = Date.UTC(2024, 1, 28, 22, 0, 0);
export const DURATION_MS = 2 * 3600_000;
export const SCRAPE_MS = 15_000;

/**
 * Scrape timestamps of one series: every `interval` from T0 plus a per-series phase (whole seconds
 * plus 7 ms) and a per-sample jitter of 0–300 ms in steps of 100 ms.
 */
function scrapeTimes(seriesIndex: number, interval = SCRAPE_MS, from = 0, to = DURATION_MS): number[] {
  const phase = ((seriesIndex * 7919) % (interval / 1000)) * 1000 + 7;
  const out: number[] = [];
  for (let i = 0; ; i++) {
    const base = i * interval + phase;
    if (base < from) continue;
    if (base >= to) break;
    out.push(T0 + base + 100 * ((i * 7 + seriesIndex) % 4));
  }
  return out;
}

export function buildDataset(): DataSeries[] {
  const rnd = rng(20240229);
  const out: DataSeries[] = [];
  let idx = 0;
  const add = (labels: Record<string, string>, times: number[], value: (i: number, t: number) => SampleValue): void => {
    out.push({ labels, samples: times.map((t, i) => [t, value(i, t)]) });
    idx++;
  };

  // Counters with resets. Start values are large, so that extrapolation towards the counter's zero
  // point never changes the result (where Prometheus 2.42 and 3 order that rule differently).
  for (const job of ['api', 'web']) {
    for (const instance of ['10.0.0.1:9100', '10.0.0.2:9100', '10.0.0.3:9100']) {
      for (const method of ['GET', 'POST']) {
        for (const code of ['200', '500']) {
          const times = scrapeTimes(idx);
          const scale = (job === 'api' ? 40 : 15) * (method === 'GET' ? 3 : 1) * (code === '200' ? 10 : 1);
          let v = 10_000 + Math.floor(rnd() * 50_000);
          const resetAt = idx % 5 === 0 ? 100 + Math.floor(rnd() * 300) : -1;
          const values = times.map((_, i) => {
            if (i === resetAt) v = Math.floor(rnd() * 5);
            else if (i > 0) v += Math.floor(rnd() * scale);
            return v;
          });
          add({ __name__: 'http_requests_total', job, instance, method, code }, times, (i) => values[i]!);
        }
      }
    }
  }

  // Float counters.
  for (const instance of ['host-a', 'host-b']) {
    for (const cpu of ['0', '1']) {
      for (const mode of ['idle', 'user', 'system']) {
        const times = scrapeTimes(idx);
        let v = 100_000 + rnd() * 1000;
        const per = mode === 'idle' ? 12 : mode === 'user' ? 2.5 : 0.5;
        const values = times.map(() => (v += per * (0.5 + rnd())));
        add({ __name__: 'node_cpu_seconds_total', instance, cpu, mode, job: 'node' }, times, (i) => values[i]!);
      }
    }
  }

  // Gauges.
  for (const instance of ['host-a', 'host-b', 'host-c']) {
    const times = scrapeTimes(idx);
    let v = 2e9 + Math.floor(rnd() * 1e9);
    const values = times.map(() => (v += Math.floor((rnd() - 0.5) * 5e7)));
    add({ __name__: 'node_memory_available_bytes', instance, job: 'node' }, times, (i) => values[i]!);
  }
  for (const [sensor, room, base] of [
    ['s1', 'kitchen', 21],
    ['s2', 'kitchen', 23],
    ['s3', 'cellar', 12],
    ['s4', 'outside', -1.5],
  ] as const) {
    const times = scrapeTimes(idx);
    let v = base;
    const values = times.map(() => Math.round((v += (rnd() - 0.5) * 0.8) * 1000) / 1000);
    add({ __name__: 'temperature_celsius', sensor, room, job: 'sensors' }, times, (i) => values[i]!);
  }
  for (const job of ['api', 'web', 'node']) {
    for (const instance of ['i1', 'i2']) {
      const times = scrapeTimes(idx);
      const downFrom = job === 'web' && instance === 'i2' ? 200 : -1;
      add({ __name__: 'up', job, instance }, times, (i) => (downFrom >= 0 && i >= downFrom && i < downFrom + 30 ? 0 : 1));
    }
  }
  for (const queue of ['q1', 'q2', 'q3', 'q4', 'q5']) {
    const times = scrapeTimes(idx);
    const values = times.map(() => Math.floor(rnd() * 4));
    add({ __name__: 'queue_length', queue, job: 'worker' }, times, (i) => values[i]!);
  }
  // A slow target (60 s interval).
  {
    const times = scrapeTimes(idx, 60_000);
    let v = 500;
    const values = times.map(() => (v += Math.floor(rnd() * 100) - 40));
    add({ __name__: 'slow_gauge', job: 'slow' }, times, (i) => values[i]!);
  }

  // NaN and ±Inf.
  {
    const times = scrapeTimes(idx);
    add({ __name__: 'weird_values', kind: 'nan' }, times, (i) => (i % 7 === 3 ? NaN : (i % 11) + 0.1));
  }
  {
    const times = scrapeTimes(idx);
    add({ __name__: 'weird_values', kind: 'inf' }, times, (i) => (i % 13 === 5 ? Infinity : (i % 5) + 0.5));
  }
  {
    const times = scrapeTimes(idx);
    add({ __name__: 'weird_values', kind: 'neginf' }, times, (i) => (i % 17 === 2 ? -Infinity : -(i % 3) - 0.25));
  }
  {
    const times = scrapeTimes(idx);
    add({ __name__: 'weird_values', kind: 'allnan' }, times, () => NaN);
  }

  // Staleness: a stale marker at 40m, back at 50m, stale again at 100m and never back.
  {
    const times = scrapeTimes(idx).filter((t) => t - T0 < 40 * 60_000 || (t - T0 >= 50 * 60_000 && t - T0 < 100 * 60_000));
    const firstAfterGap = times.findIndex((t) => t - T0 >= 50 * 60_000);
    const samples: Array<[number, SampleValue]> = times.map((t, i) => [t, 100 + (i % 20)]);
    samples.splice(firstAfterGap, 0, [T0 + 40 * 60_000 + 7, 'stale']);
    samples.push([T0 + 100 * 60_000 + 7, 'stale']);
    out.push({ labels: { __name__: 'flappy_gauge', instance: 'x', job: 'flappy' }, samples });
    idx++;
  }
  // A series that stops at 60m without a stale marker (ages out after the lookback delta).
  {
    const times = scrapeTimes(idx).filter((t) => t - T0 < 60 * 60_000);
    add({ __name__: 'stopped_gauge', instance: 'y', job: 'flappy' }, times, (i) => 5 + (i % 9));
  }
  // A series that starts at 30m.
  {
    const times = scrapeTimes(idx).filter((t) => t - T0 >= 30 * 60_000);
    add({ __name__: 'late_gauge', instance: 'z', job: 'flappy' }, times, (i) => i * 2);
  }
  // Gaps of 3 minutes (shorter than the lookback) and 7 minutes (longer).
  {
    const times = scrapeTimes(idx).filter((t) => {
      const m = (t - T0) / 60_000;
      return !(m >= 20 && m < 23) && !(m >= 70 && m < 77);
    });
    add({ __name__: 'gappy_gauge', instance: 'w', job: 'flappy' }, times, (i) => (i * 37) % 23);
  }

  // Classic histograms.
  const bounds = ['0.1', '0.5', '1', '2.5', '+Inf'];
  for (const job of ['api', 'web']) {
    for (const instance of ['a', 'b']) {
      const times = scrapeTimes(idx);
      // Counts start from an earlier history (see the counters above for why they are not 0).
      const base = 1000 + Math.floor(rnd() * 1000);
      const counts = [base, 3 * base, 5 * base, 6 * base, 6 * base + 17];
      let sum = 4 * base;
      const snapshots = times.map(() => {
        const n = Math.floor(rnd() * 20);
        for (let k = 0; k < n; k++) {
          const x = -Math.log(1 - rnd()) * (job === 'api' ? 0.4 : 0.9);
          sum += x;
          for (let b = 0; b < bounds.length; b++) if (b === bounds.length - 1 || x <= Number(bounds[b])) counts[b]!++;
        }
        return { counts: [...counts], sum };
      });
      for (let b = 0; b < bounds.length; b++) {
        out.push({
          labels: { __name__: 'http_request_duration_seconds_bucket', job, instance, le: bounds[b]! },
          samples: times.map((t, i) => [t, snapshots[i]!.counts[b]!]),
        });
      }
      out.push({ labels: { __name__: 'http_request_duration_seconds_sum', job, instance }, samples: times.map((t, i) => [t, snapshots[i]!.sum]) });
      out.push({ labels: { __name__: 'http_request_duration_seconds_count', job, instance }, samples: times.map((t, i) => [t, snapshots[i]!.counts[4]!]) });
      idx++;
    }
  }

  // Epoch seconds for the date functions (leap day, before 1970, far future, fractions).
  for (const [instance, v] of [
    ['leap', 951782400.5],
    ['eve', 1709251199.999],
    ['past', -31557600.25],
    ['neg-frac', -1.5],
    ['future', 4133980799],
    ['dec31', 1703980800 + 86399],
  ] as const) {
    const times = scrapeTimes(idx, 60_000);
    add({ __name__: 'boot_time_seconds', instance }, times, () => v);
  }

  // Label sets for vector matching and label functions.
  const pods = [
    ['web-1', 'node-1', 'default'],
    ['web-2', 'node-2', 'default'],
    ['db-1', 'node-1', 'data'],
    ['db-2', 'node-3', 'data'],
  ] as const;
  for (const [pod, node, namespace] of pods) {
    add({ __name__: 'kube_pod_info', pod, node, namespace }, scrapeTimes(idx, 30_000), () => 1);
    for (const container of ['app', 'sidecar']) {
      const times = scrapeTimes(idx);
      let v = 1e8 + Math.floor(rnd() * 4e8);
      const values = times.map(() => (v += Math.floor((rnd() - 0.45) * 1e6)));
      add({ __name__: 'container_memory_bytes', pod, namespace, container }, times, (i) => values[i]!);
    }
  }
  for (const [node, cap] of [
    ['node-1', 8e9],
    ['node-2', 16e9],
    ['node-3', 32e9],
  ] as const) {
    add({ __name__: 'node_capacity_bytes', node }, scrapeTimes(idx, 30_000), () => cap);
  }
  add({ __name__: 'build_info', version: '1.2.3', revision: 'abc123', goversion: 'go1.21.5', job: 'api' }, scrapeTimes(idx, 30_000), () => 1);
  add({ __name__: 'build_info', version: '2.0.0-rc.1', revision: 'def456', goversion: 'go1.22.0', job: 'web' }, scrapeTimes(idx, 30_000), () => 1);
  // Two metrics with the same labels, for "same labelset" errors once __name__ is dropped.
  add({ __name__: 'dup_a_total', x: '1' }, scrapeTimes(idx), (i) => i * 3);
  add({ __name__: 'dup_b_total', x: '1' }, scrapeTimes(idx), (i) => i * 5);
  return out;
}

/** Evaluation times (ms parts 123/456, see above). */
export const INSTANT_TIMES = [
  T0 + 47 * 60_000 + 123,
  // 76m: gappy_gauge's 7-minute gap has outlived the lookback delta, stopped_gauge is gone.
  T0 + 76 * 60_000 + 123,
  // 101m: just after flappy_gauge's last stale marker.
  T0 + 101 * 60_000 + 456,
];
export const RANGE = { start: T0 + 3 * 60_000 + 123, end: T0 + 118 * 60_000 + 123, step: 75_000 };
