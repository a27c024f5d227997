// The reference engine: Debian's real Prometheus (2.42) started on 127.0.0.1 by the test, loaded with
// the conformance dataset through its own remote-write receiver (--web.enable-remote-write-receiver).
//
// Why remote write and not `promtool tsdb create-blocks-from openmetrics`: remote write is how Trimtab
// itself ingests data, it carries float bit patterns exactly (so Prometheus' stale-marker NaN reaches
// the TSDB as a real stale marker, which OpenMetrics text cannot express), and it needs no block
// compaction or retention settings: everything stays in the head block, which Prometheus queries like
// any other data. All samples go in one request, in time order per series, starting with the
// earliest timestamp, so that the head accepts them (a fresh head takes samples from its first sample's
// time minus half a chunk range onwards).
//
// The request is encoded here by hand (the remote-write 1.0 protobuf is four small messages) and
// "compressed" as a literal-only snappy block (valid snappy that any decoder accepts), so the suite does
// not depend on protocol/.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSeries } from './data.ts';
import { stopProcess } from '../support/process.ts';

export interface ReferencePrometheus {
  url: string;
  logs(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `extraArgs` are added to the command line, e.g. `--enable-feature=native-histograms`. */
export async function startReferencePrometheus(options: { extraArgs?: string[] } = {}): Promise<ReferencePrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'trimtab-promql-conformance-'));
  const config = join(dir, 'prometheus.yml');
  // evaluation_interval is the step of subqueries written without one (x[10m:]).
  await writeFile(config, 'global:\n  scrape_interval: 1h\n  evaluation_interval: 1m\n');
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--storage.tsdb.retention.time=100y',
      '--query.lookback-delta=5m',
      '--log.level=warn',
      ...(options.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}:\n${output}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 30s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, logs: () => output, stop };
}

// --- remote-write 1.0 encoding -------------------------------------------------------------------

class ProtoWriter {
  private buf = new Uint8Array(1 << 16);
  len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  varint(v: number): void {
    this.ensure(10);
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** A length-delimited field. */
  message(field: number, body: Uint8Array): void {
    this.varint((field << 3) | 2);
    this.varint(body.length);
    this.bytes(body);
  }
  string(field: number, s: string): void {
    this.message(field, new TextEncoder().encode(s));
  }
  /** A double field from 8 raw little-endian bytes (bit pattern preserved). */
  fixed64(field: number, raw: Uint8Array): void {
    this.varint((field << 3) | 1);
    this.bytes(raw);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const STALE_NAN_BYTES = new Uint8Array([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);

export function encodeWriteRequest(series: DataSeries[]): Uint8Array {
  const req = new ProtoWriter();
  const f64 = new Float64Array(1);
  const raw = new Uint8Array(f64.buffer);
  for (const s of series) {
    const ts = new ProtoWriter();
    for (const [name, value] of Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const l = new ProtoWriter();
      l.string(1, name);
      l.string(2, value);
      ts.message(1, l.finish());
    }
    for (const [t, v] of s.samples) {
      const sample = new ProtoWriter();
      if (v === 'stale') sample.fixed64(1, STALE_NAN_BYTES);
      else {
        f64[0] = v;
        sample.fixed64(1, raw);
      }
      sample.varint((2 << 3) | 0);
      sample.varint(t);
      ts.message(2, sample.finish());
    }
    req.message(1, ts.finish());
  }
  return req.finish();
}

/** Snappy block format with literal chunks only: valid input for any snappy decoder. */
export function snappyLiteral(data: Uint8Array): Uint8Array {
  const w = new ProtoWriter();
  w.varint(data.length);
  for (let off = 0; off < data.length; off += 65536) {
    const chunk = data.subarray(off, Math.min(off + 65536, data.length));
    const n = chunk.length - 1;
    w.bytes(new Uint8Array([61 << 2, n & 0xff, n >> 8]));
    w.bytes(chunk);
  }
  return w.finish();
}

export async function remoteWrite(url: string, series: DataSeries[]): Promise<void> {
  await remoteWriteBytes(url, encodeWriteRequest(series));
}

/** Sends an already encoded (uncompressed) remote-write 1.0 request. */
export async function remoteWriteBytes(url: string, request: Uint8Array): Promise<void> {
  const body = snappyLiteral(request);
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    },
    body,
  });
  if (res.status !== 204 && res.status !== 200) throw new Error(`remote write failed: ${res.status} ${await res.text()}`);
}

// --- query API -------------------------------------------------------------------------------------

export type ApiResponse =
  | { status: 'success'; data: { resultType: string; result: unknown }; warnings?: string[] }
  | { status: 'error'; errorType: string; error: string };

export async function queryInstant(url: string, query: string, timeMs: number): Promise<ApiResponse> {
  const params = new URLSearchParams({ query, time: (timeMs / 1000).toFixed(3) });
  const res = await fetch(`${url}/api/v1/query`, { method: 'POST', body: params });
  return (await res.json()) as ApiResponse;
}

export async function queryRange(url: string, query: string, start: number, end: number, step: number): Promise<ApiResponse> {
  const params = new URLSearchParams({
    query,
    start: (start / 1000).toFixed(3),
    end: (end / 1000).toFixed(3),
    step: (step / 1000).toString(),
  });
  const res = await fetch(`${url}/api/v1/query_range`, { method: 'POST', body: params });
  return (await res.json()) as ApiResponse;
}
