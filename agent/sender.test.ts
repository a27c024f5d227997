// The sender against a scripted receiver on 127.0.0.1: headers, retries and their timing, 4xx handling,
// 2.0 → 1.0 fallback, per-series order across shards, the spill buffer, shutdown and recovery.

import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../lib/log.ts';
import { MetricType, STALE_NAN, STALE_NAN_BITS } from '../protocol/types.ts';
import { startFakeReceiver, until, written, type FakeReceiver } from '../test/agent/support/fake-receiver.ts';
import { Endpoint } from './http.ts';
import { createAgentMetrics, type AgentMetrics } from './metrics.ts';
import { parseRetryAfter, RemoteWriteSender, type SenderOptions } from './sender.ts';
import { SeriesRegistry, type SeriesRef } from './series.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Harness {
  sender: RemoteWriteSender;
  metrics: AgentMetrics;
  logs: Array<Record<string, unknown>>;
  registry: SeriesRegistry;
  ref(name: string, labels?: Record<string, string>): SeriesRef;
}

async function harness(url: string, opts: Partial<SenderOptions> = {}): Promise<Harness> {
  const logs: Array<Record<string, unknown>> = [];
  const logger: Logger = createLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line)) });
  const metrics = createAgentMetrics('test', { defaultMetrics: false });
  const shards = opts.shards ?? 1;
  const sender = new RemoteWriteSender({
    endpoint: new Endpoint(url, { maxSockets: shards }),
    version: 1,
    shards,
    maxSamplesPerSend: 500,
    batchDeadlineMs: 50,
    minBackoffMs: 50,
    maxBackoffMs: 1000,
    retryOn429: true,
    maxRetryAfterMs: 60_000,
    timeoutMs: 5000,
    buffer: { memoryBytes: 8 << 20, maxBytes: 64 << 20 },
    metrics,
    logger,
    userAgent: 'Trimtab-Agent/test',
    ...opts,
  });
  await sender.start();
  const registry = new SeriesRegistry(shards, [{ name: 'cluster', value: 'test-cluster' }]);
  cleanups.push(async () => {
    await sender.stop(200);
  });
  return {
    sender,
    metrics,
    logs,
    registry,
    ref: (name, labels = {}) =>
      registry.ref([{ name: '__name__', value: name }, ...Object.entries(labels).map(([n, v]) => ({ name: n, value: v }))], { name, type: 'gauge', help: `help of ${name}`, unit: '' })!,
  };
}

async function receiver(opts: Parameters<typeof startFakeReceiver>[0] = {}): Promise<FakeReceiver> {
  const r = await startFakeReceiver(opts);
  cleanups.push(() => r.close());
  return r;
}

async function counter(m: AgentMetrics, name: keyof AgentMetrics, labels?: Record<string, string>): Promise<number> {
  const metric = (await (m[name] as { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number> }> }> }).get()).values;
  return metric.filter((v) => !labels || Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x)).reduce((a, v) => a + v.value, 0);
}

describe('remote-write 1.0 requests', () => {
  it('carry the reserved headers, sorted labels with the cluster label, metadata, and exact values', async () => {
    const r = await receiver();
    const h = await harness(r.url);
    const a = h.ref('agent_test_gauge', { zone: 'b', app: 'x' });
    h.sender.append(a, 1.5, 1_700_000_000_000);
    h.sender.append(a, -0, 1_700_000_001_000);
    h.sender.append(h.ref('agent_test_gauge', { zone: 'a' }), Infinity, 1_700_000_000_000);
    h.sender.append(a, STALE_NAN, 1_700_000_002_000);
    h.sender.flush();
    await until('one request', () => r.requests.length === 1);
    const req = r.requests[0];
    expect(req.headers['content-type']).toBe('application/x-protobuf');
    expect(req.headers['content-encoding']).toBe('snappy');
    expect(req.headers['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(req.headers['user-agent']).toBe('Trimtab-Agent/test');
    expect(req.version).toBe(1);
    // One TimeSeries per sample, in the order appended (as Prometheus' queue manager sends them).
    expect(req.samples.map((s) => [s.labels, s.value, s.timestamp])).toEqual([
      [{ __name__: 'agent_test_gauge', app: 'x', cluster: 'test-cluster', zone: 'b' }, 1.5, 1_700_000_000_000],
      [{ __name__: 'agent_test_gauge', app: 'x', cluster: 'test-cluster', zone: 'b' }, -0, 1_700_000_001_000],
      [{ __name__: 'agent_test_gauge', cluster: 'test-cluster', zone: 'a' }, Infinity, 1_700_000_000_000],
      [{ __name__: 'agent_test_gauge', app: 'x', cluster: 'test-cluster', zone: 'b' }, NaN, 1_700_000_002_000],
    ]);
    expect(Object.is(req.samples[1].value, -0)).toBe(true);
    expect(req.samples[3].bits).toBe(STALE_NAN_BITS);
    expect(req.metadata).toEqual([{ name: 'agent_test_gauge', type: MetricType.GAUGE, help: 'help of agent_test_gauge' }]);
    await until('sent counter', async () => (await counter(h.metrics, 'samplesSent')) === 4);
  });

  it('never sends an empty request, and seals a partial batch at the batch deadline', async () => {
    const r = await receiver();
    const h = await harness(r.url, { batchDeadlineMs: 150 });
    h.sender.flush();
    await new Promise((res) => setTimeout(res, 300));
    expect(r.requests).toHaveLength(0);
    const t0 = performance.now();
    h.sender.append(h.ref('x'), 1, 1000);
    await until('the deadline batch', () => r.requests.length === 1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('splits batches at max-samples-per-send', async () => {
    const r = await receiver();
    const h = await harness(r.url, { maxSamplesPerSend: 100 });
    const refs = Array.from({ length: 250 }, (_, i) => h.ref('many', { i: String(i) }));
    for (const ref of refs) h.sender.append(ref, 1, 1000);
    h.sender.flush();
    await until('three requests', () => r.requests.length === 3);
    expect(r.requests.map((q) => q.samples.length)).toEqual([100, 100, 50]);
  });
});

describe('retries', () => {
  it('does not retry a 400: the samples are counted as failed and the body logged verbatim', async () => {
    const r = await receiver();
    const body = 'series {__name__="x"}: label "bad" is invalid\nsecond line \u2603';
    r.script.push({ status: 400, body });
    const h = await harness(r.url);
    h.sender.append(h.ref('x'), 1, 1000);
    h.sender.append(h.ref('y'), 2, 1000);
    h.sender.flush();
    await until('the 400', () => r.requests.length === 1);
    h.sender.append(h.ref('x'), 3, 2000);
    h.sender.flush();
    await until('the next block', () => r.requests.length === 2);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.requests).toHaveLength(2); // the refused block was not sent again
    expect(r.requests[1].samples.map((s) => s.value)).toEqual([3]);
    expect(await counter(h.metrics, 'samplesFailed', { code: '400' })).toBe(2);
    expect(await counter(h.metrics, 'samplesRetried')).toBe(0);
    const logged = h.logs.find((l) => l.msg === 'remote write refused; dropping the request (not retried)');
    expect(logged).toMatchObject({ level: 'error', status: 400, body, samples: 2 });
  });

  it.each([401, 404, 413])('does not retry a %d either', async (status) => {
    const r = await receiver();
    r.script.push({ status, body: 'no' });
    const h = await harness(r.url);
    h.sender.append(h.ref('x'), 1, 1000);
    h.sender.flush();
    await until('the refusal', () => r.requests.length === 1);
    await new Promise((res) => setTimeout(res, 400));
    expect(r.requests).toHaveLength(1);
    expect(await counter(h.metrics, 'samplesFailed', { code: String(status) })).toBe(1);
  });

  it('honours Retry-After on a 429 (seconds), then delivers', async () => {
    const r = await receiver();
    r.script.push({ status: 429, headers: { 'Retry-After': '2' }, body: 'slow down' });
    const h = await harness(r.url, { minBackoffMs: 10, maxBackoffMs: 50 });
    h.sender.append(h.ref('x'), 1, 1000);
    h.sender.flush();
    await until('the retry', () => r.requests.length === 2, 10_000);
    const waited = r.requests[1].at - r.requests[0].at;
    expect(waited).toBeGreaterThanOrEqual(1990);
    expect(waited).toBeLessThan(3000);
    expect(r.requests[1].samples).toEqual(r.requests[0].samples);
    expect(await counter(h.metrics, 'samplesRetried')).toBe(1);
    await until('sent', async () => (await counter(h.metrics, 'samplesSent')) === 1);
  });

  it('honours an HTTP-date Retry-After, and backs off without one', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });

  it('retries a 500 with exponentially growing backoff, capped, until it succeeds', async () => {
    const r = await receiver();
    for (let i = 0; i < 6; i++) r.script.push({ status: 500, body: 'db down' });
    // random() = 1: no jitter, so the delays are exactly 100, 200, 400, 800, 1000 (cap), 1000 ms.
    const h = await harness(r.url, { minBackoffMs: 100, maxBackoffMs: 1000, random: () => 1 });
    h.sender.append(h.ref('x'), 1, 1000);
    h.sender.flush();
    await until('delivery after six 500s', () => r.requests.length === 7, 15_000);
    const gaps = r.requests.slice(1).map((q, i) => q.at - r.requests[i].at);
    const expected = [100, 200, 400, 800, 1000, 1000];
    gaps.forEach((g, i) => {
      expect(g).toBeGreaterThanOrEqual(expected[i] - 5);
      expect(g).toBeLessThan(expected[i] + 250);
    });
    expect(await counter(h.metrics, 'samplesRetried')).toBe(6);
    expect(await counter(h.metrics, 'requests', { code: '500' })).toBe(6);
    expect(h.logs.filter((l) => l.msg === 'remote write failed; retrying' && l.status === 500)).toHaveLength(6);
  });

  it('adds jitter: each delay lies in [base/2, base] and the delays still grow', async () => {
    const r = await receiver();
    for (let i = 0; i < 4; i++) r.script.push({ status: 503 });
    const h = await harness(r.url, { minBackoffMs: 200, maxBackoffMs: 10_000 });
    h.sender.append(h.ref('x'), 1, 1000);
    h.sender.flush();
    await until('delivery', () => r.requests.length === 5, 15_000);
    const gaps = r.requests.slice(1).map((q, i) => q.at - r.requests[i].at);
    const bases = [200, 400, 800, 1600];
    gaps.forEach((g, i) => {
      expect(g).toBeGreaterThanOrEqual(bases[i] / 2 - 5);
      expect(g).toBeLessThan(bases[i] + 250);
    });
    // Two doublings always outgrow the jitter.
    expect(gaps[2]).toBeGreaterThan(gaps[0]);
    expect(gaps[3]).toBeGreaterThan(gaps[1]);
  });

  it('retries network errors (connection refused) until the receiver is back', async () => {
    const r = await receiver();
    const port = Number(new URL(r.url).port);
    await r.close();
    cleanups.pop();
    const h = await harness(`http://127.0.0.1:${port}/api/v1/write`, { minBackoffMs: 50, maxBackoffMs: 200 });
    h.sender.append(h.ref('x'), 1, 1000);
    h.sender.flush();
    await until('network errors', async () => (await counter(h.metrics, 'requests', { code: 'error' })) >= 3);
    const { createServer } = await import('node:http');
    let got = 0;
    const back = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        got++;
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => back.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => (back.closeAllConnections(), back.close(() => resolve()))));
    await until('delivery', () => got === 1);
    await until('sent', async () => (await counter(h.metrics, 'samplesSent')) === 1);
  });

  it('keeps per-series order across shards while some requests fail', async () => {
    let n = 0;
    const r = await receiver({ fallback: () => (++n % 3 === 0 ? { status: 503 } : { status: 204 }) });
    const h = await harness(r.url, { shards: 4, minBackoffMs: 5, maxBackoffMs: 20, maxSamplesPerSend: 37 });
    const refs = Array.from({ length: 60 }, (_, i) => h.ref('ordered', { s: String(i) }));
    for (let t = 1; t <= 20; t++) {
      for (const ref of refs) h.sender.append(ref, t, t * 1000);
      h.sender.flush();
      await new Promise((res) => setTimeout(res, 2));
    }
    await until('everything delivered', async () => (await counter(h.metrics, 'samplesSent')) === 60 * 20, 20_000);
    const bySeries = new Map<string, number[]>();
    for (const q of r.requests) {
      if (q.status !== 204) continue;
      for (const s of q.samples) {
        const list = bySeries.get(s.labels.s) ?? [];
        list.push(s.timestamp);
        bySeries.set(s.labels.s, list);
      }
    }
    expect(bySeries.size).toBe(60);
    for (const list of bySeries.values()) expect(list).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 1000));
    // The series really were spread over the shards.
    expect(new Set(refs.map((x) => x.shard)).size).toBe(4);
  });
});

describe('remote-write 2.0', () => {
  it('sends 2.0 with per-series metadata and exact stale-marker bits when the receiver confirms', async () => {
    const r = await receiver();
    const h = await harness(r.url, { version: 2 });
    h.sender.append(h.ref('v2_metric', { a: '1' }), 42, 1000);
    h.sender.append(h.ref('v2_metric', { a: '2' }), STALE_NAN, 1000);
    h.sender.flush();
    await until('a request', () => r.requests.length === 1);
    const q = r.requests[0];
    expect(q.version).toBe(2);
    expect(q.headers['content-type']).toBe('application/x-protobuf;proto=io.prometheus.write.v2.Request');
    expect(q.headers['x-prometheus-remote-write-version']).toBe('2.0.0');
    expect(q.samples.map((s) => [s.labels.a, s.value, s.timestamp])).toEqual([
      ['1', 42, 1000],
      ['2', NaN, 1000],
    ]);
    expect(q.samples[1].bits).toBe(STALE_NAN_BITS);
    expect(q.seriesTypes).toEqual({ v2_metric: MetricType.GAUGE });
    expect(h.sender.version).toBe(2);
  });

  it('falls back to 1.0 on 415, resends the same samples, and remembers the choice', async () => {
    const r = await receiver();
    r.script.push({ status: 415, body: 'unsupported' });
    const h = await harness(r.url, { version: 2 });
    h.sender.append(h.ref('fb', { a: '1' }), 1, 1000);
    h.sender.flush();
    await until('the resend', () => r.requests.length === 2);
    expect(r.requests.map((q) => q.version)).toEqual([2, 1]);
    expect(r.requests[1].samples).toEqual(r.requests[0].samples);
    h.sender.append(h.ref('fb', { a: '1' }), 2, 2000);
    h.sender.flush();
    await until('the next block', () => r.requests.length === 3);
    expect(r.requests[2].version).toBe(1);
    expect(r.requests[2].headers['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(h.sender.version).toBe(1);
    expect(h.logs.some((l) => l.msg === 'the receiver does not accept remote-write 2.0; falling back to 1.0 for good')).toBe(true);
  });

  it('treats a 2xx without Written headers as a 1.0-only receiver and resends as 1.0', async () => {
    const r = await receiver({ fallback: () => ({ status: 204 }) }); // never sends Written headers
    const h = await harness(r.url, { version: 2 });
    h.sender.append(h.ref('fb2'), 1, 1000);
    h.sender.flush();
    await until('the resend', () => r.requests.length === 2);
    expect(r.requests.map((q) => q.version)).toEqual([2, 1]);
    expect(h.sender.version).toBe(1);
    expect(await counter(h.metrics, 'samplesSent')).toBe(1);
  });

  it('a 415 on 1.0 is final', async () => {
    const r = await receiver();
    r.script.push({ status: 415, body: 'nope' });
    const h = await harness(r.url, { version: 1 });
    h.sender.append(h.ref('x'), 1, 1000);
    h.sender.flush();
    await until('the refusal', () => r.requests.length === 1);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.requests).toHaveLength(1);
    expect(await counter(h.metrics, 'samplesFailed', { code: '415' })).toBe(1);
    void written;
  });
});

describe('the buffer', () => {
  it('spills to the directory beyond its memory bound and drops the oldest beyond its total bound, counted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trimtab-spill-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    let up = false;
    const r = await receiver({ fallback: () => (up ? { status: 204 } : { status: 503 }) });
    const h = await harness(r.url, { minBackoffMs: 20, maxBackoffMs: 40, maxSamplesPerSend: 50, buffer: { dir, memoryBytes: 4_000, maxBytes: 40_000 } });
    const refs = Array.from({ length: 50 }, (_, i) => h.ref('spill_metric', { i: String(i), padding: randomBytes(24).toString('hex') }));
    for (let t = 1; t <= 60; t++) {
      for (const ref of refs) h.sender.append(ref, t, t * 1000);
      h.sender.flush();
    }
    await until('files in the directory', async () => (await readdir(dir)).filter((f) => f.endsWith('.blk')).length > 3);
    // Once the writes land, memory holds at most its bound plus the block in flight (≈3 kB here).
    await until('spill writes done', () => h.sender.buffer.memBytes <= 4_000 + 4_000);
    expect(h.sender.buffer.memBytes + h.sender.buffer.diskBytes).toBeLessThanOrEqual(40_000);
    const dropped = await counter(h.metrics, 'samplesDropped', { reason: 'buffer_full' });
    expect(dropped).toBeGreaterThan(0);
    up = true;
    await until('the buffer drained', () => h.sender.pendingSamples === 0 && r.requests.at(-1)?.status === 204, 20_000);
    const delivered = await counter(h.metrics, 'samplesSent');
    expect(delivered + dropped).toBe(50 * 60);
    // What survived is the newest data (oldest dropped first), every series in order.
    const ts = new Set<number>();
    for (const q of r.requests) if (q.status === 204) for (const s of q.samples) ts.add(s.timestamp);
    const kept = [...ts].sort((a, b) => a - b);
    expect(kept.at(-1)).toBe(60_000);
    const firstKept = kept.find((t) => t > 1000)!;
    expect(kept.filter((t) => t >= firstKept)).toEqual(Array.from({ length: (60_000 - firstKept) / 1000 + 1 }, (_, i) => firstKept + i * 1000));
    await until('files removed', async () => (await readdir(dir)).length === 0);
  });

  it('persists what it could not deliver at shutdown; the next run sends it first, in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trimtab-spill-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const down = await receiver({ fallback: () => ({ status: 503 }) });
    const h1 = await harness(down.url, { minBackoffMs: 20, maxBackoffMs: 40, buffer: { dir, memoryBytes: 1 << 20, maxBytes: 8 << 20 } });
    const ref = h1.ref('persisted', { a: '1' });
    for (let t = 1; t <= 5; t++) {
      h1.sender.append(ref, t, t * 1000);
      h1.sender.flush();
    }
    await until('retries', () => down.requests.length >= 2);
    const result = await h1.sender.stop(300);
    expect(result).toMatchObject({ delivered: false, persisted: 5, dropped: 0 });
    expect((await readdir(dir)).filter((f) => f.endsWith('.blk'))).toHaveLength(5);

    const r = await receiver();
    const h2 = await harness(r.url, { buffer: { dir, memoryBytes: 1 << 20, maxBytes: 8 << 20 } });
    await until('recovered blocks delivered', () => r.requests.length === 5);
    h2.sender.append(h2.ref('persisted', { a: '1' }), 6, 6000);
    h2.sender.flush();
    await until('the new block', () => r.requests.length === 6);
    expect(r.requests.flatMap((q) => q.samples.map((s) => s.value))).toEqual([1, 2, 3, 4, 5, 6]);
    await until('directory empty', async () => (await readdir(dir)).length === 0);
  });

  it('without a directory, shutdown counts what it could not deliver as dropped', async () => {
    const down = await receiver({ fallback: () => ({ status: 503 }) });
    const h = await harness(down.url, { minBackoffMs: 20, maxBackoffMs: 40 });
    h.sender.append(h.ref('lost'), 1, 1000);
    h.sender.flush();
    await until('a retry', () => down.requests.length >= 2);
    const result = await h.sender.stop(200);
    expect(result).toMatchObject({ delivered: false, persisted: 0, dropped: 1 });
    expect(await counter(h.metrics, 'samplesDropped', { reason: 'shutdown' })).toBe(1);
  });
});
