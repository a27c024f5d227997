// The Prometheus HTTP query API over real HTTP, on PostgreSQL and on PGlite: the exact JSON shapes
// Grafana's Prometheus data source reads, Prometheus's error types and status codes, parameter parsing,
// and tenant isolation. Data goes in through remote write, like a customer's.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricType } from '../protocol/types.ts';
import type { Label } from '../protocol/types.ts';
import { BACKENDS, startTestReceiver, type TestReceiver } from './support/receiver.ts';
import { encodeBody, postWrite } from './support/write-client.ts';

/** 2025-06-01T10:00:00Z; an hour of data at 15 s, samples at +7 ms (off every boundary a query uses). */
const T0 = Date.UTC(2025, 5, 1, 10, 0, 0);
const STEP = 15_000;
const N = 240;
const sec = (ms: number): number => ms / 1000;

const labels = (o: Record<string, string>): Label[] =>
  Object.keys(o)
    .sort()
    .map((name) => ({ name, value: o[name]! }));

function samples(f: (i: number) => number, n = N): Array<{ value: number; timestamp: number }> {
  return Array.from({ length: n }, (_, i) => ({ value: f(i), timestamp: T0 + i * STEP + 7 }));
}

interface Api {
  status: number;
  body: {
    status: 'success' | 'error';
    data?: unknown;
    errorType?: string;
    error?: string;
    warnings?: string[];
    infos?: string[];
  };
  headers: Headers;
}

describe.each(BACKENDS)('Prometheus query API (%s)', (backend) => {
  let r: TestReceiver;
  let alpha: string;
  let beta: string;

  async function api(path: string, params: Record<string, string | string[]> = {}, options: { token?: string | null; method?: string } = {}): Promise<Api> {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) search.append(k, x);
    const method = options.method ?? 'GET';
    const token = options.token === undefined ? alpha : options.token;
    const headers: Record<string, string> = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    const url = method === 'GET' ? `${r.url}${path}${search.size ? `?${search}` : ''}` : `${r.url}${path}`;
    const res = await fetch(url, { method, headers, body: method === 'POST' ? search : undefined });
    const text = await res.text();
    let body: Api['body'];
    try {
      body = JSON.parse(text) as Api['body'];
    } catch {
      body = { status: 'error', error: text };
    }
    return { status: res.status, body, headers: res.headers };
  }

  beforeAll(async () => {
    r = await startTestReceiver(backend, { receiver: { query: { maxSamples: 1_000_000 } } });
    alpha = r.tenants.alpha!.token;
    beta = r.tenants.beta!.token;
    const alphaData = encodeBody(
      {
        series: [
          { labels: labels({ __name__: 'http_requests_total', job: 'api', instance: 'a', code: '200' }), samples: samples((i) => i * 10) },
          { labels: labels({ __name__: 'http_requests_total', job: 'api', instance: 'a', code: '500' }), samples: samples((i) => i) },
          { labels: labels({ __name__: 'temperature_celsius', room: 'lab' }), samples: samples((i) => 20 + (i % 4) * 0.5) },
        ],
        metadata: [
          { metricFamilyName: 'http_requests_total', type: MetricType.COUNTER, help: 'Requests served.' },
          { metricFamilyName: 'temperature_celsius', type: MetricType.GAUGE, help: 'Room temperature.', unit: 'celsius' },
        ],
      },
      1,
    );
    expect((await postWrite(r.url, alphaData, { token: alpha })).status).toBe(204);
    const betaData = encodeBody({ series: [{ labels: labels({ __name__: 'secret_total', job: 'beta-only' }), samples: samples((i) => i, 10) }] }, 1);
    expect((await postWrite(r.url, betaData, { token: beta })).status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await r?.stop();
  });

  // --- /api/v1/query --------------------------------------------------------------------------------------

  it('answers an instant query with a vector in Prometheus\'s exact shape', async () => {
    const t = T0 + 100 * STEP + 1000;
    const res = await api('/api/v1/query', { query: 'http_requests_total', time: String(sec(t)) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    // An instant vector has no defined order (Prometheus gives storage order): compare sorted.
    (res.body.data as { result: Array<{ metric: { code: string } }> }).result.sort((x, y) => x.metric.code.localeCompare(y.metric.code));
    expect(res.body).toEqual({
      status: 'success',
      data: {
        resultType: 'vector',
        result: [
          { metric: { __name__: 'http_requests_total', code: '200', instance: 'a', job: 'api' }, value: [sec(t), '1000'] },
          { metric: { __name__: 'http_requests_total', code: '500', instance: 'a', job: 'api' }, value: [sec(t), '100'] },
        ],
      },
    });
  });

  it('answers scalars and strings', async () => {
    const t = T0 + 123_456;
    expect((await api('/api/v1/query', { query: '1 / 8 + 1e21', time: String(sec(t)) })).body).toEqual({ status: 'success', data: { resultType: 'scalar', result: [sec(t), '1000000000000000000000'] } });
    expect((await api('/api/v1/query', { query: '-1/0', time: String(sec(t)) })).body).toEqual({ status: 'success', data: { resultType: 'scalar', result: [sec(t), '-Inf'] } });
    expect((await api('/api/v1/query', { query: '"hello"', time: String(sec(t)) })).body).toEqual({ status: 'success', data: { resultType: 'string', result: [sec(t), 'hello'] } });
  });

  it('parses time as unix seconds with decimals or RFC 3339, and defaults it to now', async () => {
    const t = T0 + 100 * STEP + 500;
    const iso = new Date(t).toISOString(); // 2025-06-01T10:25:00.500Z
    const a = await api('/api/v1/query', { query: 'sum(http_requests_total)', time: String(sec(t)) });
    const b = await api('/api/v1/query', { query: 'sum(http_requests_total)', time: iso });
    const c = await api('/api/v1/query', { query: 'sum(http_requests_total)', time: iso.replace('Z', '+00:00').replace('10:', '12:').replace('+00:00', '+02:00') });
    expect(a.body).toEqual({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [sec(t), '1100'] }] } });
    expect(b.body).toEqual(a.body);
    expect(c.body).toEqual(a.body);
    // No time: evaluated now, long after the data (beyond the lookback), so empty; the timestamp is now.
    const before = Date.now() / 1000;
    const d = await api('/api/v1/query', { query: 'time()' });
    const [ts, v] = (d.body.data as { result: [number, string] }).result;
    expect(ts).toBeGreaterThanOrEqual(Math.floor(before));
    expect(Number(v)).toBe(ts);
    expect((await api('/api/v1/query', { query: 'http_requests_total' })).body).toEqual({ status: 'success', data: { resultType: 'vector', result: [] } });
  });

  it('takes POST form bodies, merged with URL parameters, body first', async () => {
    const t = T0 + 100 * STEP + 1000;
    const post = await api('/api/v1/query', { query: 'http_requests_total{code="500"}', time: String(sec(t)) }, { method: 'POST' });
    const get = await api('/api/v1/query', { query: 'http_requests_total{code="500"}', time: String(sec(t)) });
    expect(post.status).toBe(200);
    expect(post.body).toEqual(get.body);
    const res = await fetch(`${r.url}/api/v1/query?query=1&time=${sec(t)}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alpha}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'query=2',
    });
    expect(await res.json()).toEqual({ status: 'success', data: { resultType: 'scalar', result: [sec(t), '2'] } });
  });

  it('reports annotations as infos and warnings, and truncates to limit with a warning', async () => {
    const t = T0 + 100 * STEP + 1000;
    const info = await api('/api/v1/query', { query: 'rate(temperature_celsius[5m])', time: String(sec(t)) });
    expect(info.status).toBe(200);
    expect(info.body.infos).toEqual(['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "temperature_celsius" (1:6)']);
    expect(info.body.warnings).toBeUndefined();
    const limited = await api('/api/v1/query', { query: 'http_requests_total', time: String(sec(t)), limit: '1' });
    expect((limited.body.data as { result: unknown[] }).result).toHaveLength(1);
    expect(limited.body.warnings).toEqual(['results truncated due to limit']);
    expect((await api('/api/v1/query', { query: '1', limit: '-1' })).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "limit": limit must be non-negative' });
  });

  it('includes stats when asked', async () => {
    const t = T0 + 100 * STEP + 1000;
    const res = await api('/api/v1/query', { query: 'sum(http_requests_total)', time: String(sec(t)), stats: 'all' });
    const stats = (res.body.data as { stats: { samples: { totalQueryableSamples: number; peakSamples: number }; timings: Record<string, number> } }).stats;
    // The lookback window (t-5m, t] holds 20 samples of each of the two series.
    expect(stats.samples.totalQueryableSamples).toBe(40);
    expect(stats.samples.peakSamples).toBeGreaterThan(0);
    expect(typeof stats.timings.evalTotalTime).toBe('number');
  });

  // --- /api/v1/query_range --------------------------------------------------------------------------------

  it('answers a range query with a matrix in Prometheus\'s exact shape', async () => {
    const start = T0 + 100 * STEP + 1000;
    const end = start + 2 * 30_000;
    const expected = {
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [
          {
            metric: { code: '500', instance: 'a', job: 'api' },
            // Samples 97..100 (values 97..100) in (t-1m, t]: increase 3 over 45 s, extrapolated by
            // 14.007 s to the start and 0.993 s to the end of the window, per second of the 1m range.
            values: [0, 1, 2].map((k) => [sec(start + k * 30_000), String(3 * ((45 + 14.007 + 0.993) / 45 / 60))]),
          },
        ],
      },
    };
    const params = { query: 'rate(http_requests_total{code="500"}[1m])', start: String(sec(start)), end: String(sec(end)) };
    const a = await api('/api/v1/query_range', { ...params, step: '30s' });
    expect(a.status).toBe(200);
    expect(a.body).toEqual(expected);
    expect((await api('/api/v1/query_range', { ...params, step: '30' })).body).toEqual(expected);
    expect((await api('/api/v1/query_range', { ...params, step: '30.0' }, { method: 'POST' })).body).toEqual(expected);
    const iso = await api('/api/v1/query_range', { ...params, start: new Date(start).toISOString(), end: new Date(end).toISOString(), step: '30s' });
    expect(iso.body).toEqual(expected);
  });

  it('answers a regular expression the database cannot compile with 400 bad_data, not 500', async () => {
    // RE2 allows repetition counts up to 1000; PostgreSQL's regex engine stops at 255.
    const res = await api('/api/v1/query', { query: 'http_requests_total{code=~"5{300}"}' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });

  it('refuses more than 11,000 points per series and bad ranges, as Prometheus does', async () => {
    const over = await api('/api/v1/query_range', { query: 'up', start: '0', end: '11001', step: '1' });
    expect(over.status).toBe(400);
    expect(over.body).toEqual({ status: 'error', errorType: 'bad_data', error: 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)' });
    expect((await api('/api/v1/query_range', { query: 'up', start: '0', end: '11000', step: '1' })).status).toBe(200);
    expect((await api('/api/v1/query_range', { query: 'up', start: '10', end: '5', step: '1' })).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "end": end timestamp must not be before start time' });
    expect((await api('/api/v1/query_range', { query: 'up', start: '0', end: '5', step: '0' })).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer' });
    expect((await api('/api/v1/query_range', { query: 'up', start: '0', end: '5', step: 'x' })).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "step": cannot parse "x" to a valid duration' });
    expect((await api('/api/v1/query_range', { query: 'up', end: '5', step: '1' })).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "start": cannot parse "" to a valid timestamp' });
    const matrix = await api('/api/v1/query_range', { query: 'up[5m]', start: '0', end: '5', step: '1' });
    expect(matrix.status).toBe(400);
    expect(matrix.body).toEqual({ status: 'error', errorType: 'bad_data', error: 'invalid expression type "range vector" for range query, must be Scalar or instant Vector' });
  });

  // --- errors --------------------------------------------------------------------------------------------

  it('answers a bad query with 400 bad_data and the position', async () => {
    const res = await api('/api/v1/query', { query: 'sum(rate(http_requests_total[5m])' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:34: parse error: unclosed left parenthesis' });
    const unknown = await api('/api/v1/query_range', { query: 'no_such_function(up)', start: '0', end: '60', step: '15' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ status: 'error', errorType: 'bad_data', error: '1:1: parse error: unknown function with name "no_such_function"' });
    expect((await api('/api/v1/query', { query: 'up', time: 'yesterday' })).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "time": Invalid time value for \'time\': cannot parse "yesterday" to a valid timestamp' });
    expect((await api('/api/v1/query', { query: 'up', timeout: 'soon' })).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "timeout": cannot parse "soon" to a valid duration' });
  });

  it('answers a query over the sample limit with 422 execution', async () => {
    // 2 series × 240 samples are well under the limit of 1,000,000; a subquery at 1 ms steps over 20
    // minutes (1.2 million points per series) is not.
    const ok = await api('/api/v1/query', { query: 'count_over_time(http_requests_total[2h])', time: String(sec(T0 + 3600_000)) });
    expect(ok.status).toBe(200);
    expect((ok.body.data as { result: Array<{ value: [number, string] }> }).result.map((s) => s.value[1])).toEqual(['240', '240']);
    const res = await api('/api/v1/query_range', { query: 'max_over_time(http_requests_total[20m:1ms])', start: String(sec(T0 + 3600_000)), end: String(sec(T0 + 3600_000)), step: '60' });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ status: 'error', errorType: 'execution', error: 'query processing would load too many samples into memory in query execution' });
  });

  it('answers a query past its timeout with 503 timeout', async () => {
    // Half a million subquery steps take far longer than 5 ms.
    const res = await api('/api/v1/query', { query: 'count_over_time(vector(1)[500s:1ms])', timeout: '5ms' });
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('error');
    expect(res.body.errorType).toBe('timeout');
    expect(res.body.error).toMatch(/^query timed out in /);
  });

  it('needs a token, and refuses other methods with 405', async () => {
    expect((await api('/api/v1/query', { query: '1' }, { token: null })).status).toBe(401);
    expect((await api('/api/v1/query', { query: '1' }, { token: 'tt_wrong' })).status).toBe(401);
    const del = await api('/api/v1/query', { query: '1' }, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, POST');
    const post = await api('/api/v1/label/job/values', {}, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  // --- metadata endpoints ---------------------------------------------------------------------------------

  it('lists series for match[] (repeatable), sorted, de-duplicated', async () => {
    const res = await api('/api/v1/series', { 'match[]': ['http_requests_total{code="500"}', 'temperature_celsius', '{job="api"}'], start: String(sec(T0)), end: String(sec(T0 + 3600_000)) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'success',
      data: [
        { __name__: 'http_requests_total', code: '200', instance: 'a', job: 'api' },
        { __name__: 'http_requests_total', code: '500', instance: 'a', job: 'api' },
        { __name__: 'temperature_celsius', room: 'lab' },
      ],
    });
    const post = await api('/api/v1/series', { 'match[]': ['temperature_celsius'] }, { method: 'POST' });
    expect(post.body).toEqual({ status: 'success', data: [{ __name__: 'temperature_celsius', room: 'lab' }] });
    const limited = await api('/api/v1/series', { 'match[]': ['{job="api"}'], limit: '1' });
    expect(limited.body).toEqual({ status: 'success', data: [{ __name__: 'http_requests_total', code: '200', instance: 'a', job: 'api' }], warnings: ['results truncated due to limit'] });
    // Long before the data: nothing (an empty list, not null).
    expect((await api('/api/v1/series', { 'match[]': ['{job="api"}'], start: '0', end: '100' })).body).toEqual({ status: 'success', data: [] });
  });

  it('refuses series requests without a usable match[]', async () => {
    expect((await api('/api/v1/series')).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'no match[] parameter provided' });
    const empty = await api('/api/v1/series', { 'match[]': '{job=~".*"}' });
    expect(empty.status).toBe(400);
    expect(empty.body).toEqual({ status: 'error', errorType: 'bad_data', error: 'match[] must contain at least one non-empty matcher' });
    const bad = await api('/api/v1/series', { 'match[]': 'up{' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^invalid parameter "match\[\]": 1:\d+: parse error: /);
  });

  it('lists label names and label values', async () => {
    expect((await api('/api/v1/labels')).body).toEqual({ status: 'success', data: ['__name__', 'code', 'instance', 'job', 'room'] });
    expect((await api('/api/v1/labels', { 'match[]': 'temperature_celsius' }, { method: 'POST' })).body).toEqual({ status: 'success', data: ['__name__', 'room'] });
    expect((await api('/api/v1/labels', { limit: '2' })).body).toEqual({ status: 'success', data: ['__name__', 'code'], warnings: ['results truncated due to limit'] });
    expect((await api('/api/v1/label/__name__/values')).body).toEqual({ status: 'success', data: ['http_requests_total', 'temperature_celsius'] });
    expect((await api('/api/v1/label/code/values')).body).toEqual({ status: 'success', data: ['200', '500'] });
    expect((await api('/api/v1/label/code/values', { 'match[]': 'http_requests_total{code!="200"}' })).body).toEqual({ status: 'success', data: ['500'] });
    expect((await api('/api/v1/label/nope/values')).body).toEqual({ status: 'success', data: [] });
    // Prometheus 3's escaped names: U__ then _<hex>_ for a code point ("jo" + 0x62 "b").
    expect((await api('/api/v1/label/U__jo_62_/values')).body).toEqual({ status: 'success', data: ['api'] });
    expect((await api('/api/v1/labels', { start: '0', end: '100' })).body).toEqual({ status: 'success', data: [] });
  });

  it('returns metric metadata', async () => {
    expect((await api('/api/v1/metadata')).body).toEqual({
      status: 'success',
      data: {
        http_requests_total: [{ type: 'counter', help: 'Requests served.', unit: '' }],
        temperature_celsius: [{ type: 'gauge', help: 'Room temperature.', unit: 'celsius' }],
      },
    });
    expect((await api('/api/v1/metadata', { metric: 'temperature_celsius' })).body).toEqual({ status: 'success', data: { temperature_celsius: [{ type: 'gauge', help: 'Room temperature.', unit: 'celsius' }] } });
    expect((await api('/api/v1/metadata', { limit: '1' })).body).toEqual({ status: 'success', data: { http_requests_total: [{ type: 'counter', help: 'Requests served.', unit: '' }] } });
    expect((await api('/api/v1/metadata', { metric: 'nope' })).body).toEqual({ status: 'success', data: {} });
    expect((await api('/api/v1/metadata', { limit: 'x' })).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'limit must be a number' });
  });

  it('returns build information', async () => {
    const res = await api('/api/v1/status/buildinfo');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('success');
    const data = res.body.data as Record<string, string>;
    for (const key of ['version', 'revision', 'branch', 'buildUser', 'buildDate', 'goVersion']) expect(typeof data[key]).toBe('string');
    expect(data.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(data.trimtabVersion).toBe('test');
  });

  it('formats queries', async () => {
    expect((await api('/api/v1/format_query', { query: 'sum(rate(foo{job="a",code=~"5.."}[5m]))by(job)' })).body).toEqual({ status: 'success', data: 'sum by (job) (rate(foo{code=~"5..",job="a"}[5m]))' });
    expect((await api('/api/v1/format_query', { query: 'foo +' })).body).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });

  // --- tenants --------------------------------------------------------------------------------------------

  it('shows a tenant only its own series', async () => {
    const t = T0 + 100 * STEP + 1000;
    const asBeta = { token: beta };
    expect((await api('/api/v1/query', { query: 'http_requests_total', time: String(sec(t)) }, asBeta)).body).toEqual({ status: 'success', data: { resultType: 'vector', result: [] } });
    expect((await api('/api/v1/query_range', { query: 'sum(http_requests_total)', start: String(sec(T0)), end: String(sec(T0 + 3600_000)), step: '60' }, asBeta)).body).toEqual({ status: 'success', data: { resultType: 'matrix', result: [] } });
    expect((await api('/api/v1/series', { 'match[]': 'http_requests_total' }, asBeta)).body).toEqual({ status: 'success', data: [] });
    expect((await api('/api/v1/labels', {}, asBeta)).body).toEqual({ status: 'success', data: ['__name__', 'job'] });
    expect((await api('/api/v1/label/__name__/values', {}, asBeta)).body).toEqual({ status: 'success', data: ['secret_total'] });
    expect((await api('/api/v1/metadata', {}, asBeta)).body).toEqual({ status: 'success', data: {} });
    // And alpha does not see beta's series.
    expect((await api('/api/v1/query', { query: 'secret_total', time: String(sec(T0 + 60_000)) })).body).toEqual({ status: 'success', data: { resultType: 'vector', result: [] } });
    expect((await api('/api/v1/query', { query: 'secret_total', time: String(sec(T0 + 60_000)) }, asBeta)).body).toMatchObject({ status: 'success', data: { result: [{ metric: { __name__: 'secret_total', job: 'beta-only' } }] } });
  });
});
