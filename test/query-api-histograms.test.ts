// Native histograms through the whole path: remote-written to the receiver, stored, and answered by the
// query API in Prometheus' JSON (`histogram` / `histograms`) and through the histogram_* functions.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestReceiver, type TestReceiver } from './support/receiver.ts';
import { encodeBody, postWrite } from './support/write-client.ts';

const MIN = 60_000;
const t0 = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;

describe.each(BACKENDS)('native histograms in the query API on %s', (backend) => {
  let r: TestReceiver;
  const query = async (q: string, time: number) => {
    const res = await fetch(`${r.url}/api/v1/query?${new URLSearchParams({ query: q, time: String(time / 1000) })}`, {
      headers: { authorization: `Bearer ${r.tenants.alpha!.token}` },
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    r = await startTestReceiver(backend);
    // Schema 0 (bucket boundaries at powers of 2): buckets (0.5,1], (1,2], (2,4] with counts 1, 2, 3.
    const histograms = [0, 1, 2].map((i) => ({
      timestamp: t0 + i * MIN,
      count: 6 * (i + 1),
      sum: 12 * (i + 1),
      schema: 0,
      zeroThreshold: 0.001,
      zeroCount: 0,
      positiveSpans: [{ offset: 0, length: 3 }],
      positiveDeltas: [1 * (i + 1), 1 * (i + 1), 1 * (i + 1)],
    }));
    const body = encodeBody({ series: [{ labels: [{ name: '__name__', value: 'req_seconds' }, { name: 'job', value: 'api' }], histograms }] }, 1);
    const res = await postWrite(r.url, body, { token: r.tenants.alpha!.token });
    expect(res.status).toBe(204);
  }, 60_000);
  afterAll(async () => r?.stop());

  it('returns the histogram itself in Prometheus\' shape', async () => {
    const { status, body } = await query('req_seconds', t0 + 2 * MIN);
    expect(status).toBe(200);
    const [sample] = body.data.result;
    expect(sample.metric).toEqual({ __name__: 'req_seconds', job: 'api' });
    expect(sample.value).toBeUndefined();
    expect(sample.histogram[0]).toBe((t0 + 2 * MIN) / 1000);
    expect(sample.histogram[1]).toMatchObject({ count: '18', sum: '36' });
    expect(sample.histogram[1].buckets).toEqual([
      [0, '0.5', '1', '3'],
      [0, '1', '2', '6'],
      [0, '2', '4', '9'],
    ]);
  });

  it('answers histogram_count, histogram_sum, histogram_quantile and rate', async () => {
    const at = t0 + 2 * MIN;
    const scalar = async (q: string) => Number((await query(q, at)).body.data.result[0].value[1]);
    expect(await scalar('histogram_count(req_seconds)')).toBe(18);
    expect(await scalar('histogram_sum(req_seconds)')).toBe(36);
    // The median of 18 observations is the 9th: the last one of the (1,2] bucket (3 + 6 = 9).
    expect(await scalar('histogram_quantile(0.5, req_seconds)')).toBe(2);
    // Counts grow by 6 per minute; rate over 2m (with extrapolation kept off the window's edges).
    expect(await scalar('histogram_count(rate(req_seconds[150s]))')).toBeCloseTo(0.1, 12);
  });

  it('is visible only to its tenant', async () => {
    const res = await fetch(`${r.url}/api/v1/query?query=req_seconds&time=${(t0 + 2 * MIN) / 1000}`, { headers: { authorization: `Bearer ${r.tenants.beta!.token}` } });
    expect(((await res.json()) as { data: { result: unknown[] } }).data.result).toEqual([]);
  });
});
