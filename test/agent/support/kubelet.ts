// A test kubelet on 127.0.0.1: HTTPS with a certificate from the test CA, bearer-token authentication as
// the kubelet's webhook authenticator would demand, serving /metrics/cadvisor and /metrics/resource for
// the pods it is given (cluster.ts renders the text; counters move with the clock), gzip when asked.

import { createServer } from 'node:https';
import { gzipSync } from 'node:zlib';
import type { Pod } from '../../../agent/ksm.ts';
import { cadvisorText, resourceText } from './cluster.ts';

export interface TestKubelet {
  url: string;
  token: string;
  requests: Array<{ path: string; gzip: boolean; bytes: number; status: number }>;
  /** The pods the kubelet reports; replace to simulate containers coming and going. */
  pods: Pod[];
  /** When set, every response gets this status (simulates a failing kubelet). */
  failWith: number | null;
  close(): Promise<void>;
}

export async function startTestKubelet(tls: { cert: Buffer; key: Buffer }, pods: Pod[], options: { token?: string; now?: () => number } = {}): Promise<TestKubelet> {
  const token = options.token ?? 'kubelet-token-' + Math.random().toString(36).slice(2);
  const now = options.now ?? Date.now;
  const self: TestKubelet = {
    url: '',
    token,
    requests: [],
    pods,
    failWith: null,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const record = { path, gzip, bytes: 0, status: 200 };
    self.requests.push(record);
    const send = (status: number, body: string | Buffer, headers: Record<string, string> = {}) => {
      record.status = status;
      record.bytes = Buffer.byteLength(body);
      res.writeHead(status, headers).end(body);
    };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, 'Unauthorized\n');
    if (self.failWith !== null) return send(self.failWith, 'kubelet failure\n');
    let text: string;
    if (path === '/metrics/cadvisor') text = cadvisorText(self.pods, now());
    else if (path === '/metrics/resource') text = resourceText(self.pods, now());
    else return send(404, '404 page not found\n');
    const headers = { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' };
    if (gzip) send(200, gzipSync(text, { level: 1 }), { ...headers, 'Content-Encoding': 'gzip' });
    else send(200, text, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self.url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  return self;
}
