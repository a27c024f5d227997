// The database goes away under the receiver. A TCP proxy between the receiver and the real PostgreSQL cuts
// every connection (kinder than stopping the shared server): writes must get 503 (retryable, never 4xx or
// 500), readiness must fail, and once the database is back the retried requests land with nothing lost and
// nothing doubled — including writes cut mid-transaction, whose commit may or may not have happened.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReceiver, type TestReceiver } from './support/receiver.ts';
import { encodeBody, name, postWrite, readBack } from './support/write-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries like a remote-write sender: 5xx → back off and resend the same body; anything else is final. */
async function sendUntilAccepted(url: string, body: Uint8Array, token: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    const res = await postWrite(url, body, { token, version: 2 });
    statuses.push(res.status);
    if (res.status !== 204 && res.status !== 503) throw new Error(`unexpected ${res.status}: ${res.body}`);
    if (res.status < 500) return statuses;
    await sleep(100);
  }
  return statuses;
}

describe('database outage (pg through a TCP proxy)', () => {
  let r: TestReceiver;
  let token: string;
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 30 * 60_000;

  beforeAll(async () => {
    r = await startTestReceiver('pg', { viaProxy: true });
    token = r.tenants.alpha.token;
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('answers 503 with Retry-After while the database is unreachable, and the retried request lands', async () => {
    const body = encodeBody({ series: [{ labels: [{ name: '__name__', value: 'outage' }], samples: [{ value: 1, timestamp: t0 }, { value: 2, timestamp: t0 + 1000 }] }] }, 2);
    expect((await postWrite(r.url, encodeBody({ series: [] }, 2), { token, version: 2 })).status).toBe(204);
    expect(r.proxy!.accepted).toBeGreaterThan(0);

    r.proxy!.cut();
    const down = await postWrite(r.url, body, { token, version: 2 });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(down.written).toEqual({ samples: '0', histograms: '0', exemplars: '0' });
    expect((await fetch(`${r.url}/-/ready`)).status).toBe(503);
    expect((await fetch(`${r.url}/-/healthy`)).status).toBe(200);

    r.proxy!.restore();
    const statuses = await sendUntilAccepted(r.url, body, token);
    expect(statuses.at(-1)).toBe(204);
    expect(statuses.every((s) => s === 204 || s === 503)).toBe(true);
    const [s] = await readBack(r.storage, r.tenants.alpha.tenant.id, [name('outage')]);
    expect(s.samples.map((x) => x.v)).toEqual([1, 2]);
    expect((await fetch(`${r.url}/-/ready`)).status).toBe(200);
  });

  it('loses and doubles nothing when connections are cut in the middle of writes', async () => {
    // 40 requests of 500 series each, sent 4 at a time, while the proxy is cut at staggered moments.
    const series = 500;
    const requests = Array.from({ length: 40 }, (_, k) =>
      encodeBody(
        {
          series: Array.from({ length: series }, (_, i) => ({
            labels: [{ name: '__name__', value: 'midstream' }, { name: 'i', value: String(i) }],
            samples: [{ value: k * 1000 + i, timestamp: t0 + k * 15_000 }],
          })),
        },
        2,
      ),
    );
    const cutter = (async () => {
      for (let c = 0; c < 6; c++) {
        await sleep(40 + c * 23);
        r.proxy!.cut();
        await sleep(30);
        r.proxy!.restore();
      }
    })();
    const seen = new Set<number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < requests.length) {
          const k = next++;
          const statuses = await sendUntilAccepted(r.url, requests[k], token);
          statuses.forEach((s) => seen.add(s));
          expect(statuses.at(-1), `request ${k}: ${statuses.join(',')}`).toBe(204);
        }
      }),
    );
    await cutter;
    expect([...seen].every((s) => s === 204 || s === 503)).toBe(true);
    const stored = await readBack(r.storage, r.tenants.alpha.tenant.id, [name('midstream')]);
    expect(stored).toHaveLength(series);
    for (const s of stored) {
      const i = Number(s.labels.i);
      expect(s.samples.map((x) => x.t)).toEqual(requests.map((_, k) => t0 + k * 15_000));
      expect(s.samples.map((x) => x.v)).toEqual(requests.map((_, k) => k * 1000 + i));
    }
  });
});
