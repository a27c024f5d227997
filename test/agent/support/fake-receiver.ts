// A scripted remote-write receiver on 127.0.0.1 for the sender's protocol tests: it decodes every request
// (snappy, then 1.0 or 2.0 by Content-Type, with the protocol package's decoders), records it with its
// headers and arrival time, and answers what the test scripted (status, headers, body), by default 204.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { decodeWriteRequest, remoteWriteVersionFor, snappyDecode } from '../../../protocol/index.ts';

export interface ReceivedSample {
  labels: Record<string, string>;
  value: number;
  timestamp: number;
  /** The value's bits, to tell the stale marker from other NaNs. */
  bits: bigint;
}

export interface ReceivedRequest {
  at: number;
  headers: IncomingHttpHeaders;
  version: 1 | 2;
  samples: ReceivedSample[];
  metadata: Array<{ name: string; type: number; help: string }>;
  /** Per-series metadata (2.0), by metric name. */
  seriesTypes: Record<string, number>;
  /** The status this request was answered with. */
  status: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface FakeReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Replies used in order, one per request; when exhausted, `fallback` answers. */
  script: Reply[];
  fallback: (req: ReceivedRequest) => Reply;
  close(): Promise<void>;
}

export async function startFakeReceiver(options: { fallback?: (req: ReceivedRequest) => Reply } = {}): Promise<FakeReceiver> {
  const requests: ReceivedRequest[] = [];
  const self: FakeReceiver = {
    url: '',
    requests,
    script: [],
    fallback: options.fallback ?? ((r) => ({ status: 204, headers: r.version === 2 ? written(r.samples.length) : {} })),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = Buffer.concat(chunks);
      const version = remoteWriteVersionFor(req.headers['content-type']);
      const decoded = decodeWriteRequest(version, snappyDecode(body, 64 << 20));
      const bits = new BigUint64Array(decoded.samples.values.buffer, decoded.samples.values.byteOffset, decoded.samples.length);
      const samples: ReceivedSample[] = [];
      const seriesTypes: Record<string, number> = {};
      decoded.series.forEach((s, i) => {
        const labels = Object.fromEntries(decoded.labelsOf(i).map((l) => [l.name, l.value]));
        for (let j = s.sampleStart; j < s.sampleStart + s.sampleCount; j++) {
          samples.push({ labels, value: decoded.samples.values[j], timestamp: decoded.samples.timestamps[j], bits: bits[j] });
        }
      });
      const metadata = decoded.metadata.map((m) => ({ name: m.metricFamilyName, type: m.type, help: m.help }));
      if (version === 2) for (const m of decoded.metadata) seriesTypes[m.metricFamilyName] = m.type;
      const record: ReceivedRequest = { at, headers: req.headers, version, samples, metadata, seriesTypes, status: 0 };
      requests.push(record);
      const reply = self.script.shift() ?? self.fallback(record);
      record.status = reply.status;
      res.writeHead(reply.status, reply.headers ?? {}).end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/write`;
  return self;
}

export function written(samples: number): Record<string, string> {
  return {
    'X-Prometheus-Remote-Write-Samples-Written': String(samples),
    'X-Prometheus-Remote-Write-Histograms-Written': '0',
    'X-Prometheus-Remote-Write-Exemplars-Written': '0',
  };
}

export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
