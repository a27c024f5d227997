// The receiver over real HTTP, on real PostgreSQL and on PGlite: every status code of the write endpoint,
// hostile input, idempotent resends, tenant isolation, health and metrics.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snappyEncode, encodeWriteRequestV1 } from '../protocol/index.ts';
import { MetricType } from '../protocol/types.ts';
import { BACKENDS, startTestReceiver, type TestReceiver } from './support/receiver.ts';
import { encodeBody, name, postWrite, readBack } from './support/write-client.ts';

const STALE_NAN_BITS = 0x7ff0000000000002n;
const now = () => Math.floor(Date.now() / 1000) * 1000;

function staleNaN(): number {
  const b = new BigUint64Array([STALE_NAN_BITS]);
  return new Float64Array(b.buffer)[0];
}

describe.each(BACKENDS)('receiver over HTTP (%s)', (backend) => {
  let r: TestReceiver;
  let alpha: string;
  let beta: string;

  beforeAll(async () => {
    r = await startTestReceiver(backend);
    alpha = r.tenants.alpha.token;
    beta = r.tenants.beta.token;
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('accepts remote-write 1.0 with 204, no Written headers, and stores exact values', async () => {
    const t = now();
    const body = encodeBody(
      {
        series: [
          { labels: [{ name: '__name__', value: 'v1_metric' }, { name: 'job', value: 'a' }], samples: [{ value: 1.5, timestamp: t - 2000 }, { value: staleNaN(), timestamp: t - 1000 }] },
          { labels: [{ name: 'job', value: 'b' }, { name: '__name__', value: 'v1_metric' }], samples: [{ value: -Infinity, timestamp: t - 1000 }] },
        ],
      },
      1,
    );
    const res = await postWrite(r.url, body, { token: alpha, version: 1 });
    expect(res.status, res.body).toBe(204);
    expect(res.written.samples).toBeNull();
    const stored = await readBack(r.storage, r.tenants.alpha.tenant.id, [name('v1_metric')]);
    const a = stored.find((s) => s.labels.job === 'a')!;
    expect(a.samples.map((s) => s.v)[0]).toBe(1.5);
    expect(a.samples[1].bits).toBe(STALE_NAN_BITS);
    // Labels were sent unsorted for job=b; the store holds them sorted.
    const b = stored.find((s) => s.labels.job === 'b')!;
    expect(Object.keys(b.labels)).toEqual(['__name__', 'job']);
    expect(b.samples[0].v).toBe(-Infinity);
  });

  it('accepts remote-write 2.0 with exact Written headers, histograms, exemplars and metadata', async () => {
    const t = now();
    const body = encodeBody(
      {
        series: [
          {
            labels: [{ name: '__name__', value: 'http_requests_total' }, { name: 'code', value: '200' }],
            samples: [{ value: 10, timestamp: t - 3000, startTimestamp: t - 60_000 }, { value: 12, timestamp: t - 2000, startTimestamp: t - 60_000 }],
            exemplars: [{ labels: [{ name: 'trace_id', value: 'abc123' }], value: 12, timestamp: t - 2000 }],
            metadata: { type: MetricType.COUNTER, help: 'Requests served.', unit: '' },
          },
          {
            labels: [{ name: '__name__', value: 'request_duration_seconds' }],
            histograms: [
              { timestamp: t - 2000, count: 5, sum: 1.25, schema: 0, zeroThreshold: 1e-128, zeroCount: 1, positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [2, 0] },
            ],
            metadata: { type: MetricType.HISTOGRAM, help: 'Latency.', unit: 'seconds' },
          },
        ],
      },
      2,
    );
    const res = await postWrite(r.url, body, { token: alpha, version: 2 });
    expect(res.status, res.body).toBe(204);
    expect(res.written).toEqual({ samples: '2', histograms: '1', exemplars: '1' });
    const tenant = r.tenants.alpha.tenant.id;
    const [counter] = await readBack(r.storage, tenant, [name('http_requests_total')]);
    expect(counter.samples.map((s) => s.v)).toEqual([10, 12]);
    const [hist] = [...(await readBack(r.storage, tenant, [name('request_duration_seconds')]))];
    expect(hist).toBeDefined();
    const histIds: number[] = [];
    for await (const ref of r.storage.reader.selectSeries(tenant, [name('request_duration_seconds')], 0, 8.64e15)) histIds.push(ref.id);
    const histograms = [];
    for await (const h of r.storage.reader.readHistograms(tenant, histIds, 0, 8.64e15)) histograms.push(h);
    expect(histograms).toHaveLength(1);
    const exemplarIds: number[] = [];
    for await (const ref of r.storage.reader.selectSeries(tenant, [name('http_requests_total')], 0, 8.64e15)) exemplarIds.push(ref.id);
    const exemplars = [];
    for await (const e of r.storage.reader.readExemplars(tenant, exemplarIds, 0, 8.64e15)) exemplars.push(e);
    expect(exemplars).toEqual([expect.objectContaining({ value: 12, labels: [{ name: 'trace_id', value: 'abc123' }] })]);
    const metadata = await r.storage.reader.metadata(tenant, 'request_duration_seconds');
    expect(metadata).toEqual([{ metricFamilyName: 'request_duration_seconds', type: MetricType.HISTOGRAM, help: 'Latency.', unit: 'seconds' }]);
  });

  it('answers an empty request with 204', async () => {
    const res = await postWrite(r.url, encodeBody({ series: [] }, 2), { token: alpha, version: 2 });
    expect(res.status).toBe(204);
    expect(res.written).toEqual({ samples: '0', histograms: '0', exemplars: '0' });
  });

  it('never doubles a value when the same request is sent again', async () => {
    const t = now();
    const body = encodeBody({ series: [{ labels: [{ name: '__name__', value: 'resent' }], samples: [{ value: 1, timestamp: t - 2000 }, { value: 2, timestamp: t - 1000 }] }] }, 2);
    for (let i = 0; i < 3; i++) {
      const res = await postWrite(r.url, body, { token: alpha, version: 2 });
      expect(res.status, res.body).toBe(204);
      expect(res.written.samples).toBe('2');
    }
    const [s] = await readBack(r.storage, r.tenants.alpha.tenant.id, [name('resent')]);
    expect(s.samples.map((x) => x.v)).toEqual([1, 2]);
  });

  it('keeps tenants apart: the token alone decides, and one tenant never reads the other', async () => {
    const t = now();
    const series = (v: number) => encodeBody({ series: [{ labels: [{ name: '__name__', value: 'shared_name' }], samples: [{ value: v, timestamp: t - 1000 }] }] }, 1);
    expect((await postWrite(r.url, series(1), { token: alpha })).status).toBe(204);
    expect((await postWrite(r.url, series(2), { token: beta })).status).toBe(204);
    const a = await readBack(r.storage, r.tenants.alpha.tenant.id, [name('shared_name')]);
    const b = await readBack(r.storage, r.tenants.beta.tenant.id, [name('shared_name')]);
    expect(a.map((s) => s.samples.map((x) => x.v))).toEqual([[1]]);
    expect(b.map((s) => s.samples.map((x) => x.v))).toEqual([[2]]);
    // Tenant beta has never written v1_metric, which alpha has.
    expect(await readBack(r.storage, r.tenants.beta.tenant.id, [name('v1_metric')])).toEqual([]);
  });

  it('401 without a valid token; basic auth carries the token as password', async () => {
    const body = encodeBody({ series: [] }, 1);
    expect((await postWrite(r.url, body, { token: null })).status).toBe(401);
    expect((await postWrite(r.url, body, { token: 'tt_not-a-real-token' })).status).toBe(401);
    const basic = `Basic ${Buffer.from(`prometheus:${alpha}`).toString('base64')}`;
    expect((await postWrite(r.url, body, { headers: { Authorization: basic } })).status).toBe(204);
    const res = await postWrite(r.url, body, { token: null, version: 2 });
    expect(res.status).toBe(401);
    expect(res.written).toEqual({ samples: '0', histograms: '0', exemplars: '0' });
  });

  it('405 for other methods, with Allow', async () => {
    const res = await fetch(`${r.url}/api/v1/write`, { method: 'GET', headers: { Authorization: `Bearer ${alpha}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await fetch(`${r.url}/api/v1/write`, { method: 'PUT', body: 'x' })).status).toBe(405);
  });

  it('415 for an unsupported Content-Type or Content-Encoding; a missing encoding means snappy', async () => {
    const body = encodeBody({ series: [] }, 1);
    for (const contentType of ['application/json', 'image/png', 'application/x-protobuf;proto=io.prometheus.write.v3.Request']) {
      const res = await postWrite(r.url, body, { token: alpha, headers: { 'Content-Type': contentType } });
      expect(res.status, contentType).toBe(415);
    }
    for (const encoding of ['gzip', 'deflate', 'zstd']) {
      const res = await postWrite(r.url, body, { token: alpha, version: 2, headers: { 'Content-Encoding': encoding } });
      expect(res.status, encoding).toBe(415);
      expect(res.written.samples).toBe('0');
    }
    const t = now();
    const noEncoding = snappyEncode(encodeWriteRequestV1({ series: [{ labels: [{ name: '__name__', value: 'no_encoding_header' }], samples: [{ value: 3, timestamp: t - 1000 }] }] }));
    const plain = await fetch(`${r.url}/api/v1/write`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', Authorization: `Bearer ${alpha}` }, body: noEncoding });
    expect(plain.status).toBe(204);
    // No Content-Type at all is remote-write 1.0, as Prometheus's own receiver treats it.
    const none = await fetch(`${r.url}/api/v1/write`, { method: 'POST', headers: { Authorization: `Bearer ${alpha}` }, body: noEncoding });
    expect(none.status).toBe(204);
  });

  it('400 for data that can never succeed, committing the valid rest with exact counts', async () => {
    const t = now();
    const body = encodeBody(
      {
        series: [
          { labels: [{ name: '__name__', value: 'partial_ok' }], samples: [{ value: 1, timestamp: t - 1000 }] },
          { labels: [{ name: 'job', value: 'no-name' }], samples: [{ value: 1, timestamp: t - 1000 }] },
          { labels: [{ name: '__name__', value: 'dup' }, { name: 'a', value: '1' }, { name: 'a', value: '2' }], samples: [{ value: 1, timestamp: t - 1000 }] },
          { labels: [{ name: '__name__', value: 'future' }], samples: [{ value: 1, timestamp: t + 11 * 60_000 }, { value: 2, timestamp: t - 1000 }] },
          // count 99 but buckets sum to 27: the compliance suite's bad_count_histogram.
          { labels: [{ name: '__name__', value: 'bad_hist' }], histograms: [{ timestamp: t - 1000, count: 99, sum: 1, schema: 0, zeroCount: 0, positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [13, 1] }] },
        ],
      },
      2,
    );
    const res = await postWrite(r.url, body, { token: alpha, version: 2 });
    expect(res.status).toBe(400);
    expect(res.written).toEqual({ samples: '2', histograms: '0', exemplars: '0' });
    expect(res.body).toMatch(/missing_metric_name/);
    expect(res.body).toMatch(/duplicate_label_name/);
    expect(res.body).toMatch(/too_far_in_future/);
    expect(res.body).toMatch(/invalid_histogram/);
    const [ok] = await readBack(r.storage, r.tenants.alpha.tenant.id, [name('partial_ok')]);
    expect(ok.samples.map((s) => s.v)).toEqual([1]);
    const [future] = await readBack(r.storage, r.tenants.alpha.tenant.id, [name('future')]);
    expect(future.samples.map((s) => s.v)).toEqual([2]);
  });

  it('400 for corrupt snappy, truncated protobuf and a snappy header declaring gigabytes; the server keeps serving', async () => {
    const valid = encodeWriteRequestV1({ series: [{ labels: [{ name: '__name__', value: 'x' }], samples: [{ value: 1, timestamp: now() }] }] });
    const before = process.memoryUsage().arrayBuffers;
    const hostile: Array<[string, Uint8Array]> = [
      ['corrupt snappy', Uint8Array.from([0x20, 0xff, 0xff, 0xff, 0x01, 0x02])],
      ['truncated protobuf', snappyEncode(valid.subarray(0, valid.length - 3))],
      // varint 0xffffffff0f = 4 GiB declared, followed by a few bytes.
      ['snappy bomb', Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x41])],
      ['random bytes', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)],
    ];
    for (const [what, body] of hostile) {
      const res = await postWrite(r.url, body, { token: alpha });
      expect(res.status, `${what}: ${res.body}`).toBe(400);
    }
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    expect((await fetch(`${r.url}/-/healthy`)).status).toBe(200);
    expect((await postWrite(r.url, snappyEncode(valid), { token: alpha })).status).toBe(204);
  });

  it('413 for a body over the limit, declared or streamed', async () => {
    const huge = new Uint8Array((1 << 20) + 1);
    const declared = await postWrite(r.url, huge, { token: alpha });
    expect(declared.status).toBe(413);
    // Chunked, without Content-Length: the limit is enforced while reading.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(64 * 1024));
        controller.close();
      },
    });
    const res = await fetch(`${r.url}/api/v1/write`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf', Authorization: `Bearer ${alpha}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect((await fetch(`${r.url}/-/healthy`)).status).toBe(200);
  });

  it('serves health, readiness and metrics', async () => {
    expect((await fetch(`${r.url}/-/healthy`)).status).toBe(200);
    expect((await fetch(`${r.url}/-/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${r.url}/metrics`)).text();
    expect(metrics).toMatch(/trimtab_receiver_requests_total\{handler="\/api\/v1\/write",code="204"\} \d+/);
    expect(metrics).toMatch(/trimtab_receiver_samples_ingested_total\{tenant="alpha"\} \d+/);
    expect(metrics).toMatch(/trimtab_receiver_samples_rejected_total\{tenant="alpha",reason="too_far_in_future"\} 1/);
    expect(metrics).toMatch(/trimtab_receiver_histograms_rejected_total\{tenant="alpha",reason="invalid_histogram"\} 1/);
    expect(metrics).toMatch(/trimtab_receiver_request_duration_seconds_bucket/);
    expect(metrics).toMatch(new RegExp(`trimtab_build_info\\{.*store="${backend}"`));
    expect(metrics).toMatch(/trimtab_db_pool_connections\{state="total"\}/);
    expect(metrics).not.toContain(alpha);
  });
});

describe('receiver limits (pglite)', () => {
  it('429 with Retry-After when a tenant exceeds its ingestion rate, while another tenant goes on', async () => {
    const r = await startTestReceiver('pglite', { receiver: { ingestionRate: 10, ingestionBurst: 10 } });
    try {
      const t = now();
      const body = encodeBody({ series: [{ labels: [{ name: '__name__', value: 'limited' }], samples: Array.from({ length: 20 }, (_, i) => ({ value: i, timestamp: t - 60_000 + i * 1000 })) }] }, 2);
      expect((await postWrite(r.url, body, { token: r.tenants.alpha.token, version: 2 })).status).toBe(204);
      const limited = await postWrite(r.url, body, { token: r.tenants.alpha.token, version: 2 });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(limited.written.samples).toBe('0');
      expect((await postWrite(r.url, body, { token: r.tenants.beta.token, version: 2 })).status).toBe(204);
    } finally {
      await r.stop();
    }
  });

  it('400 for series over the label limits', async () => {
    const r = await startTestReceiver('pglite', { limits: { maxLabelsPerSeries: 3, maxLabelValueLength: 8 } });
    try {
      const t = now();
      const body = encodeBody(
        {
          series: [
            { labels: [{ name: '__name__', value: 'many' }, { name: 'a', value: '1' }, { name: 'b', value: '2' }, { name: 'c', value: '3' }], samples: [{ value: 1, timestamp: t - 1000 }] },
            { labels: [{ name: '__name__', value: 'long' }, { name: 'a', value: 'much-too-long' }], samples: [{ value: 1, timestamp: t - 1000 }] },
          ],
        },
        1,
      );
      const res = await postWrite(r.url, body, { token: r.tenants.alpha.token });
      expect(res.status).toBe(400);
      expect(res.body).toMatch(/too_many_labels/);
      expect(res.body).toMatch(/label_value_too_long/);
    } finally {
      await r.stop();
    }
  });
});
