// End to end against a real Prometheus 2.42: the conformance dataset goes into Trimtab over remote write
// (HTTP, through the receiver and the store) and into Prometheus the same way; then Trimtab's HTTP query
// API and Prometheus's answer the same requests. Query answers are compared like the conformance suite
// compares them (compare.ts: same label sets and timestamps, floats within 1e-9 relative); series,
// label names and values must be equal as sets; format_query must print exactly what Prometheus prints.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareResponses } from './promql-conformance/compare.ts';
import { buildDataset, INSTANT_TIMES, RANGE, T0, DURATION_MS, type DataSeries } from './promql-conformance/data.ts';
import { encodeWriteRequest, remoteWrite, snappyLiteral, startReferencePrometheus, type ApiResponse, type ReferencePrometheus } from './promql-conformance/prometheus.ts';
import { CASES } from './promql-conformance/queries.ts';
import { startTestReceiver, type TestReceiver } from './support/receiver.ts';

const dataset = buildDataset();
/** Every 6th conformance query (a spread over every feature group) that both engines evaluate alike. */
const SAMPLE = CASES.filter((c, i) => i % 6 === 0 && !c.difference);

let prom: ReferencePrometheus | undefined;
let trimtab: TestReceiver | undefined;
let token = '';

async function get(base: string, path: string, params: Array<[string, string]>, auth = false): Promise<{ status: number; body: ApiResponse & { data?: unknown } }> {
  // /api/v1/label/<name>/values is GET only; everything else is sent as a POST form.
  const getOnly = path.startsWith('/api/v1/label/');
  const query = new URLSearchParams(params);
  const res = await fetch(getOnly ? `${base}${path}?${query}` : `${base}${path}`, {
    method: getOnly ? 'GET' : 'POST',
    headers: auth ? { Authorization: `Bearer ${token}` } : {},
    body: getOnly ? undefined : query,
  });
  return { status: res.status, body: (await res.json()) as ApiResponse };
}

const both = async (path: string, params: Array<[string, string]>) => ({
  expected: await get(prom!.url, path, params),
  actual: await get(trimtab!.url, path, params, true),
});

beforeAll(async () => {
  [prom, trimtab] = await Promise.all([startReferencePrometheus(), startTestReceiver('pg')]);
  token = trimtab.tenants.alpha!.token;
  await remoteWrite(prom.url, dataset);
  // The test receiver takes bodies of up to 1 MiB: send the series in slices.
  let slice: DataSeries[] = [];
  const flush = async (): Promise<void> => {
    if (slice.length === 0) return;
    const res = await fetch(`${trimtab!.url}/api/v1/write`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
      body: snappyLiteral(encodeWriteRequest(slice)),
    });
    expect(res.status, await res.text()).toBe(204);
    slice = [];
  };
  for (const s of dataset) {
    slice.push(s);
    if (slice.length === 20) await flush();
  }
  await flush();
}, 120_000);

afterAll(async () => {
  await Promise.all([prom?.stop(), trimtab?.stop()]);
});

describe('query API answers equal Prometheus 2.42\'s', () => {
  it('samples enough of the conformance queries', () => {
    expect(SAMPLE.length).toBeGreaterThanOrEqual(40);
  });

  for (const c of SAMPLE) {
    if (c.instant !== false) {
      it(`instant: ${c.expr}`, async () => {
        const time = INSTANT_TIMES[1]!;
        const { expected, actual } = await both('/api/v1/query', [['query', c.expr], ['time', (time / 1000).toFixed(3)]]);
        expect(actual.status).toBe(expected.status);
        const diffs = compareResponses(expected.body, actual.body, c.ordered ?? false);
        expect(diffs, diffs.join('\n')).toEqual([]);
      });
    }
    if (c.range !== false) {
      it(`range: ${c.expr}`, async () => {
        const { expected, actual } = await both('/api/v1/query_range', [
          ['query', c.expr],
          ['start', (RANGE.start / 1000).toFixed(3)],
          ['end', (RANGE.end / 1000).toFixed(3)],
          ['step', String(RANGE.step / 1000)],
        ]);
        expect(actual.status).toBe(expected.status);
        const diffs = compareResponses(expected.body, actual.body, false);
        expect(diffs, diffs.join('\n')).toEqual([]);
      });
    }
  }

  it('agrees on parameter errors', async () => {
    for (const params of [
      [['query', 'sum('], ['time', '1']],
      [['query', 'up'], ['time', 'yesterday']],
      [['query', 'no_such_function(up)']],
      [['query', 'up'], ['timeout', 'x']],
    ] as Array<Array<[string, string]>>) {
      const { expected, actual } = await both('/api/v1/query', params);
      expect(actual.status).toBe(expected.status);
      expect(actual.body).toEqual(expected.body);
    }
    for (const params of [
      [['query', 'up'], ['start', '0'], ['end', '11001'], ['step', '1']],
      [['query', 'up'], ['start', '10'], ['end', '5'], ['step', '1']],
      [['query', 'up'], ['start', '0'], ['end', '5'], ['step', '0']],
      [['query', 'up'], ['start', '0'], ['end', '5'], ['step', 'x']],
      [['query', 'up[5m]'], ['start', '0'], ['end', '5'], ['step', '1']],
      [['query', 'sum(up'], ['start', '0'], ['end', '5'], ['step', '1']],
      [['query', 'up'], ['start', 'x'], ['end', '5'], ['step', '1']],
      [['query', 'up'], ['end', '5'], ['step', '1']],
    ] as Array<Array<[string, string]>>) {
      const { expected, actual } = await both('/api/v1/query_range', params);
      expect(actual.status).toBe(expected.status);
      expect(actual.body).toEqual(expected.body);
    }
  });
});

describe('metadata endpoints agree with Prometheus 2.42', () => {
  // The whole dataset's span (Trimtab selects series by day of activity; Prometheus by block): both
  // return every series with data in the range.
  const span: Array<[string, string]> = [
    ['start', ((T0 - 60_000) / 1000).toFixed(3)],
    ['end', ((T0 + DURATION_MS + 60_000) / 1000).toFixed(3)],
  ];
  const asSet = (data: unknown): string[] => (data as unknown[]).map((x) => JSON.stringify(typeof x === 'object' ? Object.entries(x as object).sort() : x)).sort();

  for (const matches of [['http_requests_total'], ['{job="api"}', 'flappy_gauge'], ['{__name__=~"http_.*", code!="200"}']]) {
    it(`series for ${matches.join(', ')}`, async () => {
      const { expected, actual } = await both('/api/v1/series', [...matches.map((m): [string, string] => ['match[]', m]), ...span]);
      expect(expected.body.status).toBe('success');
      expect((expected.body.data as unknown[]).length).toBeGreaterThan(0);
      expect(asSet(actual.body.data)).toEqual(asSet(expected.body.data));
    });
  }

  it('label names and values', async () => {
    for (const [path, params] of [
      ['/api/v1/labels', span],
      ['/api/v1/labels', [['match[]', 'http_requests_total'], ...span]],
      ['/api/v1/label/job/values', span],
      ['/api/v1/label/__name__/values', span],
      ['/api/v1/label/code/values', [['match[]', '{job="web"}'], ...span]],
    ] as Array<[string, Array<[string, string]>]>) {
      const { expected, actual } = await both(path, params);
      expect(expected.body.status).toBe('success');
      expect((expected.body.data as unknown[]).length).toBeGreaterThan(0);
      expect(actual.body.data, path).toEqual(expected.body.data); // both sorted
    }
  });
});

describe('format_query prints what Prometheus 2.42 prints', () => {
  const QUERIES = [
    'sum(rate(http_requests_total{job="api",code=~"5.."}[5m]))by(job)',
    'topk(3, sum without(instance)(rate(x[1m] offset 5m)))',
    'a + on(job) group_left(instance) b',
    'a / ignoring(code) b > bool 0.5',
    'count_values("value", up)',
    'x @ 1609746000 offset -1h30m',
    'rate(x[5m] @ end())[1h:1m] offset 1d',
    'max_over_time(deriv(x[5m])[1h:])',
    '-(1 + 2) * 3 ^ 2 ^ 2',
    '1e6 + 0.0001 + 0.00001 + 123456789 + 100000',
    '{__name__="up", job!~"a|b"}',
    'label_replace(up, "dst", "$1", "src", "(.*)")',
    'histogram_quantile(0.9, sum by (le, job, instance, namespace, pod, container) (rate(http_request_duration_seconds_bucket{job="api", namespace="payments"}[5m])))',
    'sum by (namespace) (rate(container_cpu_usage_seconds_total{namespace="payments", container!=""}[5m])) / sum by (namespace) (kube_pod_container_resource_requests{resource="cpu", namespace="payments"}) > 0.5',
    'quantile_over_time(0.95, rate(container_cpu_usage_seconds_total{namespace="payments",container!="",pod=~"api-.*"}[15m])[14d:5m])',
    '"a\\nstring"',
  ];
  for (const q of QUERIES) {
    it(q, async () => {
      const { expected, actual } = await both('/api/v1/format_query', [['query', q]]);
      expect(expected.body.status).toBe('success');
      expect(actual.body).toEqual(expected.body);
    });
  }
});
