// npm run bench:ingest — end-to-end remote-write ingest against a receiver process on real PostgreSQL.
//
// A realistic Kubernetes series set (≥ 100k active series by default), Prometheus-shaped requests of 2,000
// samples (max_samples_per_send), strictly increasing timestamps per series, and C concurrent keep-alive
// senders, each owning a fixed shard of the series (so per-series order holds, as Prometheus's shards do).
// Every request body is built and snappy-compressed before the clock starts, so the sender costs little
// CPU during the measurement. Durable samples/s counts only samples acknowledged by 2xx, i.e. committed.
//
// Environment: BENCH_CONTAINERS (default 5300 → ~100k series), BENCH_ROUNDS (default 12), BENCH_CONCURRENCY
// (default 8), BENCH_SAMPLES_PER_REQUEST (default 2000), BENCH_RECEIVER_NODE_ARGS (e.g. --cpu-prof, for profiling
// the receiver), TRIMTAB_TEST_DATABASE_URL (admin URL).

import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { decodeWriteRequest, snappyDecode, snappyEncode } from '../../protocol/index.ts';
import { createTestDatabase } from '../support/databases.ts';
import { freePort } from '../support/prometheus.ts';
import { kubernetesSeries, type BenchSeries } from './k8s-series.ts';

const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 5300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PER_REQUEST = Number(process.env.BENCH_SAMPLES_PER_REQUEST ?? 2000);
const SCRAPE_INTERVAL_MS = 15_000;
const TOKEN = 'bench-token-0123456789abcdef';

// --- request building (protobuf by hand: this is the sender's side, kept cheap) ---------------------------

const enc = new TextEncoder();
function varint(out: number[], v: number): void {
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}
function labelBytes(series: BenchSeries): Uint8Array {
  const out: number[] = [];
  for (const l of series.labels) {
    const n = enc.encode(l.name);
    const v = enc.encode(l.value);
    const inner: number[] = [0x0a];
    varint(inner, n.length);
    inner.push(...n, 0x12);
    varint(inner, v.length);
    inner.push(...v);
    out.push(0x0a);
    varint(out, inner.length);
    out.push(...inner);
  }
  return Uint8Array.from(out);
}

function buildRequest(labels: Uint8Array[], series: BenchSeries[], from: number, to: number, round: number, ts: number): Buffer {
  const f64 = new Float64Array(1);
  const f64b = new Uint8Array(f64.buffer);
  const chunks: Uint8Array[] = [];
  for (let i = from; i < to; i++) {
    const s = series[i];
    const value = s.kind === 'counter' ? s.scale * round * 15 : s.scale * (1 + 0.1 * Math.sin(round + i));
    f64[0] = value;
    const sample: number[] = [0x09, ...f64b, 0x10];
    varint(sample, ts);
    const tsBody: number[] = [];
    tsBody.push(0x12);
    varint(tsBody, sample.length);
    tsBody.push(...sample);
    const header: number[] = [0x0a];
    varint(header, labels[i].length + tsBody.length);
    chunks.push(Uint8Array.from(header), labels[i], Uint8Array.from(tsBody));
  }
  return Buffer.from(snappyEncode(Buffer.concat(chunks)));
}

// --- process accounting from /proc ------------------------------------------------------------------------

const TICK = 100; // USER_HZ on Linux
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return 0;
  }
}
function pssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
function peakRss(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
function postgresPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
      } catch {
        return false;
      }
    });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;

// --- the run ----------------------------------------------------------------------------------------------

async function main() {
  const series = kubernetesSeries(CONTAINERS);
  const labels = series.map(labelBytes);
  const batches = Math.ceil(series.length / PER_REQUEST);
  const start = Date.now() - (ROUNDS + 1) * SCRAPE_INTERVAL_MS;
  console.log(`series: ${series.length}, requests/round: ${batches}, rounds: ${ROUNDS} (+1 warm-up that creates the series), concurrency: ${CONCURRENCY}`);

  process.stdout.write('building and compressing request bodies… ');
  const t0 = performance.now();
  // bodies[round][batch]
  const bodies: Buffer[][] = [];
  const counts: number[] = [];
  for (let b = 0; b < batches; b++) counts.push(Math.min(series.length, (b + 1) * PER_REQUEST) - b * PER_REQUEST);
  for (let r = 0; r <= ROUNDS; r++) {
    const row: Buffer[] = [];
    for (let b = 0; b < batches; b++) row.push(buildRequest(labels, series, b * PER_REQUEST, b * PER_REQUEST + counts[b], r, start + r * SCRAPE_INTERVAL_MS));
    bodies.push(row);
  }
  const rawBytes = bodies[1].reduce((a, b) => a + b.length, 0) / batches;
  console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s; ${(rawBytes / 1024).toFixed(0)} KiB per compressed request`);

  // Decode-only figures, one core, over the same bodies: with snappy decompression (what the receiver
  // does per request) and protobuf → columns alone (the hand-written decoder).
  {
    const rate = (fn: (n: number) => number) => {
      let samples = 0;
      let n = 0;
      const t = performance.now();
      while (performance.now() - t < 3000) samples += fn(n++);
      return samples / ((performance.now() - t) / 1000) / 1e6;
    };
    const body = (n: number) => bodies[1 + (n % ROUNDS)][n % batches];
    const raw = bodies.slice(1, 4).map((row) => row.map((b) => snappyDecode(b, 64 << 20)));
    const withSnappy = rate((n) => decodeWriteRequest(1, snappyDecode(body(n), 64 << 20)).samples.length);
    const protobufOnly = rate((n) => decodeWriteRequest(1, raw[n % raw.length][n % batches]).samples.length);
    console.log(`decode only, 1 core: ${withSnappy.toFixed(2)} M samples/s with snappy; ${protobufOnly.toFixed(2)} M samples/s protobuf → columns alone`);
  }

  const db = await createTestDatabase();
  const port = await freePort();
  const receiver = spawn(process.execPath, [...(process.env.BENCH_RECEIVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), fileURLToPath(new URL('../../bin/trimtab.ts', import.meta.url)), 'receiver', `--listen=127.0.0.1:${port}`], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      TRIMTAB_BOOTSTRAP_TOKEN: TOKEN,
      TRIMTAB_INGESTION_RATE: '0',
      TRIMTAB_LOG_LEVEL: 'warn',
      TRIMTAB_DB_POOL_MAX: process.env.TRIMTAB_DB_POOL_MAX ?? String(CONCURRENCY),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/-/ready`)).ok) break;
      } catch {}
      if (i > 300) throw new Error('receiver did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }

    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const post = (body: Buffer) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          `${base}/api/v1/write`,
          {
            method: 'POST',
            agent,
            headers: {
              'Content-Type': 'application/x-protobuf',
              'Content-Encoding': 'snappy',
              'X-Prometheus-Remote-Write-Version': '0.1.0',
              Authorization: `Bearer ${TOKEN}`,
              'Content-Length': body.length,
            },
          },
          (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => (res.statusCode === 204 ? resolve(res.statusCode) : reject(new Error(`HTTP ${res.statusCode}: ${text}`))));
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    // Shard w owns batches b ≡ w (mod C) and sends them round by round: per-series order is kept.
    const runRounds = async (rounds: number[]) => {
      const latencies: number[] = [];
      let durable = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, w) => {
          for (const r of rounds) {
            for (let b = w; b < batches; b += CONCURRENCY) {
              const t = performance.now();
              await post(bodies[r][b]);
              latencies.push(performance.now() - t);
              durable += counts[b];
            }
          }
        }),
      );
      return { latencies, durable };
    };

    const tw = performance.now();
    const warm = await runRounds([0]);
    const warmSecs = (performance.now() - tw) / 1000;
    console.log(`warm-up round (creates ${series.length} series): ${(warm.durable / warmSecs / 1000).toFixed(0)}k samples/s`);

    const pgPids = postgresPids();
    const cpu0 = { receiver: cpuSeconds(receiver.pid!), pg: pgPids.reduce((a, p) => a + cpuSeconds(p), 0), self: process.cpuUsage() };
    let pgPeakPss = 0;
    const sampler = setInterval(() => {
      pgPeakPss = Math.max(pgPeakPss, postgresPids().reduce((a, p) => a + pssBytes(p), 0));
    }, 250);
    const tm = performance.now();
    const run = await runRounds(Array.from({ length: ROUNDS }, (_, i) => i + 1));
    const secs = (performance.now() - tm) / 1000;
    clearInterval(sampler);
    const selfCpu = process.cpuUsage(cpu0.self);
    const receiverCpu = cpuSeconds(receiver.pid!) - cpu0.receiver;
    const pgCpu = postgresPids().reduce((a, p) => a + cpuSeconds(p), 0) - cpu0.pg;
    const lat = run.latencies.sort((a, b) => a - b);

    const rate = run.durable / secs;
    console.log('');
    console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores, ${mib(os.totalmem())}; node ${process.version}; ${new Date().toISOString()}`);
    console.log(`| measure | value |`);
    console.log(`|---|---|`);
    console.log(`| durable samples/s (2xx = committed) | ${Math.round(rate).toLocaleString('en')} |`);
    console.log(`| samples committed / wall time | ${run.durable.toLocaleString('en')} / ${secs.toFixed(1)} s |`);
    console.log(`| request latency p50 / p99 | ${percentile(lat, 50).toFixed(1)} ms / ${percentile(lat, 99).toFixed(1)} ms |`);
    console.log(`| receiver CPU | ${(receiverCpu / secs).toFixed(2)} cores (${Math.round(run.durable / receiverCpu).toLocaleString('en')} samples per CPU-second) |`);
    console.log(`| receiver peak RSS | ${mib(peakRss(receiver.pid!))} |`);
    console.log(`| PostgreSQL CPU (all its processes) | ${(pgCpu / secs).toFixed(2)} cores (${Math.round(run.durable / pgCpu).toLocaleString('en')} samples per CPU-second) |`);
    console.log(`| PostgreSQL peak memory (sum of PSS) | ${mib(pgPeakPss)} |`);
    console.log(`| load generator CPU | ${((selfCpu.user + selfCpu.system) / 1e6 / secs).toFixed(2)} cores |`);
  } finally {
    receiver.kill('SIGTERM');
    await new Promise((r) => receiver.once('exit', r));
    await db.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
