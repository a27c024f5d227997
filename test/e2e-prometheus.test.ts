// End to end with a real sender: Debian's Prometheus 2.42, started on loopback, scrapes a target served by
// this test and remote-writes to the receiver (on real PostgreSQL) with a bearer token. The samples must
// arrive with the right labels and values, metadata too, stale markers when the target goes away, and
// Prometheus must report nothing failed, retried or dropped.

import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricType } from '../protocol/types.ts';
import { startPrometheus, type RunningPrometheus } from './support/prometheus.ts';
import { startTestReceiver, type TestReceiver } from './support/receiver.ts';
import { name, readBack } from './support/write-client.ts';

const STALE_NAN_BITS = 0x7ff0000000000002n;

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('real Prometheus 2.42 remote-writing to the receiver', () => {
  let r: TestReceiver;
  let prometheus: RunningPrometheus;
  let target: Server;
  let targetPort: number;
  let scrapes = 0;
  const served: number[] = [];

  beforeAll(async () => {
    r = await startTestReceiver('pg');
    target = createServer((_req, res) => {
      scrapes++;
      const value = scrapes * 10;
      served.push(value);
      res.setHeader('Content-Type', 'text/plain; version=0.0.4');
      res.end(
        [
          '# HELP e2e_requests_total Requests handled.',
          '# TYPE e2e_requests_total counter',
          `e2e_requests_total{path="/api",code="200"} ${value}`,
          `e2e_requests_total{path="/api",code="500"} 3`,
          '# HELP e2e_temperature_celsius Room temperature.',
          '# TYPE e2e_temperature_celsius gauge',
          'e2e_temperature_celsius{room="lab"} 21.5',
          '',
        ].join('\n'),
      );
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetPort = (target.address() as { port: number }).port;

    prometheus = await startPrometheus(`
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  external_labels:
    cluster: e2e
scrape_configs:
  - job_name: target
    static_configs:
      - targets: ['127.0.0.1:${targetPort}']
        labels:
          env: test
remote_write:
  - url: ${r.url}/api/v1/write
    authorization:
      credentials: ${r.tenants.alpha.token}
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
    metadata_config:
      send_interval: 1s
`);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await new Promise((resolve) => target?.close(resolve));
    await r?.stop();
  });

  it('delivers the scraped samples with their labels, values and metadata, and reports no failures', async () => {
    const tenant = r.tenants.alpha.tenant.id;
    const series = await eventually('three samples of e2e_requests_total', async () => {
      const found = await readBack(r.storage, tenant, [name('e2e_requests_total')]);
      return found.length === 2 && found.every((s) => s.samples.length >= 3) ? found : undefined;
    });
    const ok = series.find((s) => s.labels.code === '200')!;
    expect(ok.labels).toEqual({ __name__: 'e2e_requests_total', cluster: 'e2e', code: '200', env: 'test', instance: `127.0.0.1:${targetPort}`, job: 'target', path: '/api' });
    // Every stored value is one the target served, in the order served, at increasing timestamps.
    const values = ok.samples.map((s) => s.v);
    expect(values.every((v) => served.includes(v))).toBe(true);
    expect([...values].sort((a, b) => a - b)).toEqual(values);
    const times = ok.samples.map((s) => s.t);
    expect(new Set(times).size).toBe(times.length);
    expect(series.find((s) => s.labels.code === '500')!.samples.every((s) => s.v === 3)).toBe(true);

    // `up` as Prometheus itself recorded it (a scrape can time out on a loaded machine, and then up is 0
    // in Prometheus too): every stored sample equals Prometheus' own at that timestamp.
    const [up] = await readBack(r.storage, tenant, [name('up'), { type: '=', name: 'job', value: 'target' }]);
    const last = up.samples.at(-1)!.t;
    const res = await fetch(`${prometheus.url}/api/v1/query?${new URLSearchParams({ query: 'up{job="target"}[10m]', time: String(last / 1000) })}`);
    const own = ((await res.json()) as { data: { result: Array<{ values: Array<[number, string]> }> } }).data.result[0]!.values;
    const recorded = new Map(own.map(([t, v]) => [Math.round(t * 1000), Number(v)]));
    expect(up.samples.length).toBeGreaterThan(0);
    for (const s of up.samples) expect(recorded.get(s.t), `up at ${s.t}`).toBe(s.v);

    const metadata = await eventually('metadata of e2e_requests_total', async () => {
      const m = await r.storage.reader.metadata(tenant, 'e2e_requests_total');
      return m.length ? m : undefined;
    });
    expect(metadata).toEqual([{ metricFamilyName: 'e2e_requests_total', type: MetricType.COUNTER, help: 'Requests handled.', unit: '' }]);

    const sent = await prometheus.metric('prometheus_remote_storage_samples_total');
    expect(sent).toBeGreaterThan(0);
    expect(await prometheus.metric('prometheus_remote_storage_samples_failed_total')).toBe(0);
    expect(await prometheus.metric('prometheus_remote_storage_samples_retried_total')).toBe(0);
    expect(await prometheus.metric('prometheus_remote_storage_samples_dropped_total')).toBe(0);
    expect(await prometheus.metric('prometheus_remote_storage_metadata_failed_total')).toBe(0);
    const receiverMetrics = await (await fetch(`${r.url}/metrics`)).text();
    expect(receiverMetrics).not.toMatch(/^trimtab_receiver_samples_rejected_total\{/m);
    expect(receiverMetrics).toMatch(/^trimtab_receiver_samples_ingested_total\{tenant="alpha"\} [1-9]/m);
  });

  it('stores the stale markers Prometheus sends when the target goes away', async () => {
    await new Promise((resolve) => target.close(resolve));
    target.closeAllConnections();
    const tenant = r.tenants.alpha.tenant.id;
    const [gauge] = await eventually('a stale marker for e2e_temperature_celsius', async () => {
      const found = await readBack(r.storage, tenant, [name('e2e_temperature_celsius')]);
      return found.length === 1 && found[0].samples.at(-1)?.bits === STALE_NAN_BITS ? found : undefined;
    });
    expect(gauge.samples.slice(0, -1).every((s) => s.v === 21.5)).toBe(true);
    const [up] = await eventually('up = 0', async () => {
      const found = await readBack(r.storage, tenant, [name('up'), { type: '=', name: 'job', value: 'target' }]);
      return found[0]?.samples.at(-1)?.v === 0 ? found : undefined;
    });
    expect(up.samples.at(-1)!.v).toBe(0);
    expect(await prometheus.metric('prometheus_remote_storage_samples_failed_total')).toBe(0);
  });
});
