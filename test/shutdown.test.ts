// SIGTERM semantics of the receiver's server: stop accepting, let in-flight requests finish, then close.

import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startTestReceiver } from './support/receiver.ts';
import { encodeBody, name, readBack } from './support/write-client.ts';

describe('graceful shutdown', () => {
  it('finishes a request that is mid-upload, refuses new connections, then closes', async () => {
    const r = await startTestReceiver('pglite');
    const t = Math.floor(Date.now() / 1000) * 1000;
    const body = Buffer.from(encodeBody({ series: [{ labels: [{ name: '__name__', value: 'in_flight' }], samples: [{ value: 42, timestamp: t - 1000 }] }] }, 1));
    const port = r.server.address.port;
    const status = new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/api/v1/write', method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length, Authorization: `Bearer ${r.tenants.alpha.token}` } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, 5)); // the request is in flight: headers and part of the body sent
      setTimeout(() => req.end(body.subarray(5)), 300);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopping = r.server.shutdown(5_000);
    expect(r.receiver.lifecycle.shuttingDown).toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/-/healthy`)).rejects.toThrow();
    expect(await status).toBe(204);
    await stopping;
    const [s] = await readBack(r.storage, r.tenants.alpha.tenant.id, [name('in_flight')]);
    expect(s.samples.map((x) => x.v)).toEqual([42]);
    await r.stop();
  });
});
