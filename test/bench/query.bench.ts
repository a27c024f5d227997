// npm run bench:query — PromQL right-sizing queries over 14 days of container metrics, Trimtab on the real
// PostgreSQL (127.0.0.1:5432) against Prometheus 2.42 holding the same data, in the same run.
//
// Data: BENCH_CONTAINERS containers (default 5,000) of the realistic cAdvisor label sets of k8s-series.ts,
// keeping the metrics in BENCH_METRICS (default container_cpu_usage_seconds_total and
// container_memory_working_set_bytes: 10,000 series), BENCH_DAYS days (14) of samples every 5 minutes:
// 10,000 × 4,032 = 40.3 M samples. BENCH_METRICS=all keeps all 19 series kinds per container.
//
// Loading: the same remote-write 1.0 bodies (4 hours of every series per request) go to a Trimtab
// receiver over HTTP (decode → storage.writer → binary COPY, i.e. the real ingest path with all its
// invariants: series index, activity days, partitions, idempotence) and to Prometheus's remote-write
// receiver. Not `promtool tsdb create-blocks-from openmetrics`: OpenMetrics text repeats the ~450-byte
// label set on every sample line, ~18 GB for this data set; remote write sends it once per request.
//
// After the load the database is ANALYZEd (a bulk load outruns autovacuum; see the note in main()), and
// the closed days are compacted as the analyzer would have done (storage/compaction.ts).
// Then every query runs RUNS times (default 3) against each: the first run is reported separately
// (cold caches), the median of the others as the time. Each query gets a fresh Trimtab receiver process,
// so its peak RSS (VmHWM) is that query's; Prometheus's RSS is shown before and after. Results of the two
// are compared (same series, values within 1e-9 relative) so both do the same work. Last, the subquery
// (the query that holds the most samples) runs with a limit of BENCH_LIMIT_SAMPLES (1 M): it must fail
// with Prometheus's "too many samples" error, early and with a small peak RSS.
//
// Environment: BENCH_CONTAINERS, BENCH_METRICS, BENCH_DAYS, BENCH_RUNS, BENCH_PROMETHEUS=0 (skip
// Prometheus), BENCH_MAX_SAMPLES (engine limit, default 50 M), BENCH_LIMIT_SAMPLES,
// TRIMTAB_TEST_DATABASE_URL (admin URL of the PostgreSQL server).

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../lib/log.ts';
import { snappyEncode } from '../../protocol/index.ts';
import { DEFAULT_WRITE_LIMITS } from '../../protocol/types.ts';
import { createReceiver } from '../../receiver/app.ts';
import { startServer } from '../../receiver/server.ts';
import { openStorage } from '../../storage/open.ts';
import { compareResponses } from '../promql-conformance/compare.ts';
import type { ApiResponse } from '../promql-conformance/prometheus.ts';
import { createTestDatabase } from '../support/databases.ts';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { kubernetesSeries, type BenchSeries } from './k8s-series.ts';
import { rng } from '../../protocol/fixtures.ts';

const env = process.env;
const CONTAINERS = Number(env.BENCH_CONTAINERS ?? 5000);
const METRICS = env.BENCH_METRICS ?? 'container_cpu_usage_seconds_total,container_memory_working_set_bytes';
const DAYS = Number(env.BENCH_DAYS ?? 14);
const RUNS = Math.max(2, Number(env.BENCH_RUNS ?? 3));
const WITH_PROMETHEUS = env.BENCH_PROMETHEUS !== '0';
const MAX_SAMPLES = Number(env.BENCH_MAX_SAMPLES ?? 50_000_000);
const LIMIT_SAMPLES = Number(env.BENCH_LIMIT_SAMPLES ?? 1_000_000);
const INTERVAL_MS = 5 * 60_000;
const SLICE_STEPS = 48; // 4 hours per request
const TIMEOUT_MS = 10 * 60_000;

// --- serve mode: a receiver with the query API over the bench database, in its own process ----------------

async function serve(): Promise<void> {
  const storage = await openStorage({ databaseUrl: env.DATABASE_URL, dataDir: '', poolMax: 4 });
  const receiver = createReceiver({
    storage,
    logger: silentLogger,
    version: 'bench',
    limits: DEFAULT_WRITE_LIMITS,
    maxBodyBytes: 64 << 20,
    maxDecodedBytes: 256 << 20,
    ingestionRate: 0,
    ingestionBurst: 1,
    query: { maxSamples: Number(env.SERVE_MAX_SAMPLES ?? MAX_SAMPLES), timeoutMs: TIMEOUT_MS },
  });
  const server = await startServer(receiver.app, { host: '127.0.0.1', port: 0 }, receiver.lifecycle, silentLogger);
  process.stdout.write(`LISTENING ${server.address.port}\n`);
  process.once('SIGTERM', () => {
    void server
      .shutdown(1000)
      .then(() => storage.close())
      .finally(() => process.exit(0));
  });
}

interface Worker {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startWorker(databaseUrl: string, maxSamples = MAX_SAMPLES): Promise<Worker> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve'], {
    env: { ...env, DATABASE_URL: databaseUrl, SERVE_MAX_SAMPLES: String(maxSamples) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`bench receiver exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

// --- measurement helpers ----------------------------------------------------------------------------------

function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MiB`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// --- data -------------------------------------------------------------------------------------------------


/** Protobuf writer for prometheus.WriteRequest (1.0), enough for labels and float samples. */
class Pb {
  buf = Buffer.allocUnsafe(1 << 20);
  len = 0;
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  varint(v: number): void {
    this.ensure(10);
    while (v > 0x7f) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** The encoded Label fields (field 1 of TimeSeries) of a series. */
function labelField(series: BenchSeries): Buffer {
  const w = new Pb();
  for (const l of series.labels) {
    const n = Buffer.from(l.name);
    const v = Buffer.from(l.value);
    const inner = 1 + varintSize(n.length) + n.length + 1 + varintSize(v.length) + v.length;
    w.varint(0x0a);
    w.varint(inner);
    w.varint(0x0a);
    w.varint(n.length);
    w.bytes(n);
    w.varint(0x12);
    w.varint(v.length);
    w.bytes(v);
  }
  return Buffer.from(w.buf.subarray(0, w.len));
}

interface Dataset {
  series: BenchSeries[];
  labels: Buffer[];
  /** Per series: the last counter value, and per-series randomness. */
  counters: Float64Array;
  phase: Float64Array;
  start: number;
  steps: number;
}

/** The snappy-compressed WriteRequest holding steps [from, to) of every series. */
function sliceBody(d: Dataset, from: number, to: number, r: () => number): Buffer {
  const w = new Pb();
  const f64 = new Float64Array(1);
  const f64b = new Uint8Array(f64.buffer);
  const n = to - from;
  for (let i = 0; i < d.series.length; i++) {
    const s = d.series[i]!;
    const labels = d.labels[i]!;
    const samples: Array<[number, number]> = [];
    for (let k = from; k < to; k++) {
      let v: number;
      if (s.kind === 'counter') {
        d.counters[i] = d.counters[i]! + s.scale * 300 * (0.5 + r());
        v = d.counters[i]!;
      } else {
        v = Math.round(s.scale * (1 + 0.25 * Math.sin((2 * Math.PI * k) / 288 + d.phase[i]!) + 0.05 * r()));
      }
      samples.push([d.start + k * INTERVAL_MS, v]);
    }
    let body = labels.length;
    const sampleSizes = samples.map(([t]) => 1 + 8 + 1 + varintSize(t));
    for (const sz of sampleSizes) body += 1 + varintSize(sz) + sz;
    w.varint(0x0a);
    w.varint(body);
    w.bytes(labels);
    for (let j = 0; j < n; j++) {
      const [t, v] = samples[j]!;
      w.varint(0x12);
      w.varint(sampleSizes[j]!);
      f64[0] = v;
      w.varint(0x09);
      w.bytes(f64b);
      w.varint(0x10);
      w.varint(t);
    }
  }
  return Buffer.from(snappyEncode(w.buf.subarray(0, w.len)));
}

async function post(url: string, body: Buffer, token?: string): Promise<void> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-protobuf',
    'Content-Encoding': 'snappy',
    'X-Prometheus-Remote-Write-Version': '0.1.0',
  };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${url}/api/v1/write`, { method: 'POST', headers, body });
  if (res.status !== 204 && res.status !== 200) throw new Error(`write to ${url}: HTTP ${res.status} ${await res.text()}`);
}

async function query(url: string, path: string, params: Record<string, string>, token?: string): Promise<{ ms: number; body: ApiResponse & { data?: { stats?: { samples?: { peakSamples?: number; totalQueryableSamples?: number } } } } }> {
  const t0 = performance.now();
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    body: new URLSearchParams(params),
  });
  const body = (await res.json()) as ApiResponse;
  return { ms: performance.now() - t0, body: body as never };
}

// --- the run ----------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const runStart = performance.now();
  const cpus = os.cpus();
  console.log(`machine: ${cpus[0]?.model ?? 'unknown cpu'} × ${cpus.length}, ${mib(os.totalmem())} RAM, ${os.type()} ${os.release()}, node ${process.version}`);

  const keep = METRICS === 'all' ? null : new Set(METRICS.split(','));
  const series = kubernetesSeries(CONTAINERS).filter((s) => keep === null || keep.has(s.labels.find((l) => l.name === '__name__')!.value));
  const steps = Math.round((DAYS * 86_400_000) / INTERVAL_MS);
  const last = Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS - INTERVAL_MS + 7; // every sample at +7 ms: off every boundary
  const start = last - (steps - 1) * INTERVAL_MS;
  const evalTime = last + 60_116;
  const r = rng(7);
  const dataset: Dataset = {
    series,
    labels: series.map(labelField),
    counters: Float64Array.from(series, () => 1000 * r()),
    phase: Float64Array.from(series, () => 2 * Math.PI * r()),
    start,
    steps,
  };
  const total = series.length * steps;
  console.log(`data: ${series.length} series (${CONTAINERS} containers; ${METRICS}), ${DAYS} days at 5 min = ${steps} samples each, ${(total / 1e6).toFixed(1)} M samples`);

  const db = await createTestDatabase();
  let worker: Worker | null = null;
  let prom: RunningPrometheus | null = null;
  try {
    const setup = await openStorage({ databaseUrl: db.url, dataDir: '', poolMax: 2 });
    await setup.migrate();
    const { token } = await setup.tenants.createTenant('bench');
    await setup.close();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const pgVersion = (await client.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v;
    await client.end();
    console.log(`postgresql: ${pgVersion ?? 'unknown'}`);

    worker = await startWorker(db.url);
    if (WITH_PROMETHEUS) {
      prom = await startPrometheus('global:\n  scrape_interval: 1h\n  evaluation_interval: 1m\n', [
        '--web.enable-remote-write-receiver',
        '--storage.tsdb.retention.time=100y',
        `--query.max-samples=${MAX_SAMPLES}`,
        '--query.timeout=10m',
      ]);
      const v = await (await fetch(`${prom.url}/api/v1/status/buildinfo`)).json() as { data: { version: string } };
      console.log(`prometheus: ${v.data.version}`);
    }

    // Load: slices in time order; Prometheus gets them one after the other (its head needs time order per
    // series), Trimtab two at a time once the first slice has created the series.
    const slices = Math.ceil(steps / SLICE_STEPS);
    let trimtabMs = 0;
    let promMs = 0;
    let bytes = 0;
    const tLoad = performance.now();
    for (let s = 0; s < slices; ) {
      const group = s === 0 ? 1 : Math.min(2, slices - s);
      const bodies: Buffer[] = [];
      for (let g = 0; g < group; g++) bodies.push(sliceBody(dataset, (s + g) * SLICE_STEPS, Math.min(steps, (s + g + 1) * SLICE_STEPS), r));
      for (const b of bodies) bytes += b.length;
      const trimtabDone = (async () => {
        const t = performance.now();
        await Promise.all(bodies.map((b) => post(worker!.url, b, token)));
        trimtabMs += performance.now() - t;
      })();
      const promDone = (async () => {
        if (!prom) return;
        const t = performance.now();
        for (const b of bodies) await post(prom.url, b);
        promMs += performance.now() - t;
      })();
      await Promise.all([trimtabDone, promDone]);
      s += group;
      if (s % 24 === 0 || s === slices) process.stdout.write(`\rloading: ${s}/${slices} requests of ${SLICE_STEPS} steps × ${series.length} series`);
    }
    const loadWall = performance.now() - tLoad;
    console.log(`\nloaded ${(total / 1e6).toFixed(1)} M samples in ${secs(loadWall)} wall (${(bytes / 1024 / 1024).toFixed(0)} MiB compressed); busy time: trimtab ${secs(trimtabMs)} (${(total / (trimtabMs / 1000) / 1e3).toFixed(0)} k samples/s)${prom ? `, prometheus ${secs(promMs)}` : ''} (loads ran side by side on the same cores)`);
    await worker.stop();
    worker = null;
    // A bulk load outruns autovacuum: without statistics on the fresh partitions PostgreSQL plans the
    // samples read as a scan of the whole time range per statement. A database in steady state has them.
    {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const t = performance.now();
      await client.query('ANALYZE');
      await client.end();
      console.log(`ANALYZE after the bulk load: ${secs(performance.now() - t)}`);
    }
    // What the running analyzer does to closed days (storage/compaction.ts, default grace): their
    // samples become one row per series and day. Then VACUUM ANALYZE, as autovacuum would after the move.
    {
      const storage = await openStorage({ databaseUrl: db.url, dataDir: '', poolMax: 2 });
      const t = performance.now();
      const days = await storage.compactor.compactClosedDays(evalTime);
      await storage.close();
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const tv = performance.now();
      await client.query('VACUUM ANALYZE');
      await client.end();
      const moved = days.reduce((n, d) => n + d.samples, 0);
      console.log(`compacted ${days.length} closed days (${(moved / 1e6).toFixed(1)} M samples) in ${secs(tv - t)}; VACUUM ANALYZE ${secs(performance.now() - tv)}`);
    }

    // Both hold every sample: count them.
    const names = [...new Set(series.map((x) => x.labels.find((l) => l.name === '__name__')!.value))];
    const check = names.map((n) => `sum(count_over_time(${n}[${DAYS + 1}d]))`).join(' + ');
    {
      const w = await startWorker(db.url);
      const got = await query(w.url, '/api/v1/query', { query: check, time: String(evalTime / 1000) }, token);
      await w.stop();
      const value = (b: ApiResponse): string => (b.status === 'success' ? ((b.data.result as Array<{ value: [number, string] }>)[0]?.value[1] ?? 'none') : `${b.errorType}: ${b.error}`);
      const line = [`trimtab ${value(got.body)}`];
      if (prom) line.push(`prometheus ${value((await query(prom.url, '/api/v1/query', { query: check, time: String(evalTime / 1000) })).body)}`);
      console.log(`samples stored (expected ${total}): ${line.join(', ')}`);
    }

    const QUERIES: Array<{ name: string; path: string; params: Record<string, string> }> = [
      {
        name: 'p95 of CPU rate over 14d (subquery)',
        path: '/api/v1/query',
        params: { query: `quantile_over_time(0.95, rate(container_cpu_usage_seconds_total[15m])[${DAYS}d:5m])`, time: String(evalTime / 1000) },
      },
      {
        name: 'max memory over 14d',
        path: '/api/v1/query',
        params: { query: `max_over_time(container_memory_working_set_bytes[${DAYS}d])`, time: String(evalTime / 1000) },
      },
      {
        name: 'sum by namespace, 1h range, 15s step',
        path: '/api/v1/query_range',
        params: { query: 'sum by (namespace) (rate(container_cpu_usage_seconds_total[15m]))', start: String((evalTime - 3600_000) / 1000), end: String(evalTime / 1000), step: '15' },
      },
    ];

    const rows: string[][] = [];
    let allOk = true;
    for (const q of QUERIES) {
      const w = await startWorker(db.url);
      worker = w;
      const baseRss = procStatus(w.pid, 'VmRSS');
      const tt: number[] = [];
      let first = 0;
      let stats: { peakSamples?: number; totalQueryableSamples?: number } | undefined;
      let trimtabBody: ApiResponse | null = null;
      for (let i = 0; i < RUNS; i++) {
        const res = await query(w.url, q.path, i === 0 ? { ...q.params, stats: 'all' } : q.params, token);
        if (res.body.status !== 'success') throw new Error(`trimtab ${q.name}: ${res.body.errorType}: ${res.body.error}`);
        if (i === 0) {
          first = res.ms;
          stats = res.body.data?.stats?.samples;
          trimtabBody = res.body;
        } else tt.push(res.ms);
      }
      const peak = procStatus(w.pid, 'VmHWM');
      await w.stop();
      worker = null;

      let promFirst = NaN;
      let promMedian = NaN;
      let promRss = '';
      let agree = 'n/a';
      if (prom) {
        const pid = prom.process.pid!;
        const before = procStatus(pid, 'VmRSS');
        const pt: number[] = [];
        let promBody: ApiResponse | null = null;
        for (let i = 0; i < RUNS; i++) {
          const res = await query(prom.url, q.path, q.params);
          if (res.body.status !== 'success') throw new Error(`prometheus ${q.name}: ${res.body.errorType}: ${res.body.error}`);
          if (i === 0) {
            promFirst = res.ms;
            promBody = res.body;
          } else pt.push(res.ms);
        }
        promMedian = median(pt);
        promRss = `${mib(before)} → ${mib(procStatus(pid, 'VmRSS'))}`;
        const diffs = compareResponses(promBody!, trimtabBody!, false);
        agree = diffs.length === 0 ? `yes (${(trimtabBody!.status === 'success' ? (trimtabBody!.data.result as unknown[]).length : 0)} series)` : `NO: ${diffs.slice(0, 2).join('; ')}`;
      }
      const tm = median(tt);
      const ratio = prom ? tm / promMedian : NaN;
      const ok = tm <= 10_000 && (!prom || ratio <= 2);
      allOk &&= ok;
      rows.push([
        q.name,
        `${secs(first)} / ${secs(tm)}`,
        `${mib(peak)} (idle ${mib(baseRss)})`,
        stats ? `${((stats.totalQueryableSamples ?? 0) / 1e6).toFixed(1)} M / ${((stats.peakSamples ?? 0) / 1e6).toFixed(2)} M` : '?',
        prom ? `${secs(promFirst)} / ${secs(promMedian)}` : '-',
        prom ? promRss : '-',
        prom ? `${ratio.toFixed(1)}×` : '-',
        agree,
        ok ? 'met' : 'MISSED',
      ]);
    }
    const header = ['query', 'trimtab first / median', 'trimtab peak RSS', 'samples loaded / peak in memory', 'prometheus first / median', 'prometheus RSS before → after', 'ratio', 'same answer', 'target (≤10 s, ≤2× prometheus)'];
    console.log('');
    for (const row of [header, ...rows]) console.log(row.join(' | '));

    // The sample limit bounds what a query may hold: the subquery (which holds every point of its inner
    // evaluation, ~20 M here) with a limit far below that fails early instead of growing.
    {
      const w = await startWorker(db.url, LIMIT_SAMPLES);
      const q = QUERIES[0]!;
      const res = await query(w.url, q.path, q.params, token);
      const peak = procStatus(w.pid, 'VmHWM');
      await w.stop();
      console.log(`\nwith a limit of ${(LIMIT_SAMPLES / 1e6).toFixed(1)} M samples, "${q.params.query}": ${res.body.status === 'error' ? `${res.body.errorType} (${res.body.error})` : 'success'} after ${secs(res.ms)}, peak RSS ${mib(peak)}`);
    }
    console.log(`\ntargets ${allOk ? 'met' : 'NOT met'}${prom ? '' : ' (only ≤10 s checked: Prometheus skipped)'}; total bench time ${secs(performance.now() - runStart)}`);
  } finally {
    await worker?.stop();
    await prom?.stop();
    await db.drop();
  }
}

if (process.argv[2] === 'serve') await serve();
else await main();
