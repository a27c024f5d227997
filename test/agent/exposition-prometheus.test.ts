// The agent's exposition parser against Prometheus's own (model/textparse, in Debian's Prometheus 2.42):
// a target serves tricky expositions in the text format and in OpenMetrics; Prometheus scrapes them and
// remote-writes what it parsed to a recording receiver; the agent's parser must produce the same series,
// values (NaN and infinities included) and timestamps.

import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, type ExpositionFormat } from '../../agent/exposition.ts';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { startFakeReceiver, until, type FakeReceiver } from './support/fake-receiver.ts';

function textFixture(ts: number): string {
  return [
    '# HELP xt_requests_total Requests, with an \\\\ escaped backslash and a \\n newline in the help.',
    '# TYPE xt_requests_total counter',
    `xt_requests_total{method="post",code="200"} 1027 ${ts}`,
    `xt_requests_total{method="post",code="400"}    3 ${ts}`,
    'xt_escapes{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\"",tab="a\\tb"} 1.458255915e9',
    '# a plain comment',
    'xt_plain 12.47',
    'xt_specials{v="inf"} +Inf',
    'xt_specials{v="-inf"} -Inf',
    'xt_specials{v="nan"} NaN',
    'xt_specials{v="neg-zero"} -0',
    'xt_specials{v="exp"} 1e-7',
    'xt_empty{a="",b="x"} 1',
    '# TYPE xt_hist histogram',
    'xt_hist_bucket{le="0.05"} 24054',
    'xt_hist_bucket{le="+Inf"} 144320',
    'xt_hist_sum 53423',
    'xt_hist_count 144320',
    '# TYPE xt_sum summary',
    'xt_sum{quantile="0.5"} 4773',
    'xt_sum{quantile="0.99"} 76656',
    'xt_sum_sum 1.7560473e+07',
    'xt_sum_count 2693',
    '# TYPE xt_untyped untyped',
    'xt_untyped{unicode="grüße 👋"} 42',
    '',
  ].join('\n');
}

function omFixture(ts: number): string {
  return [
    '# TYPE xo_requests counter',
    '# HELP xo_requests Requests with an exemplar.',
    `xo_requests_total{path="/a"} 17.0 ${(ts / 1000).toFixed(3)} # {trace_id="KOO5S4vxi0o"} 0.67`,
    `xo_requests_created{path="/a"} 1520872607.123`,
    '# TYPE xo_latency_seconds histogram',
    '# UNIT xo_latency_seconds seconds',
    'xo_latency_seconds_bucket{le="0.1"} 8 # {trace_id="x"} 0.054',
    'xo_latency_seconds_bucket{le="+Inf"} 10',
    'xo_latency_seconds_count 10',
    'xo_latency_seconds_sum 1.5',
    '# TYPE xo_build info',
    'xo_build_info{version="1.0"} 1',
    '# TYPE xo_state stateset',
    'xo_state{xo_state="a"} 1',
    'xo_state{xo_state="b"} 0',
    '# TYPE xo_gauge gauge',
    'xo_gauge{escaped="q\\"uote"} NaN',
    '# TYPE xo_unknown unknown',
    'xo_unknown -Inf',
    '# EOF',
    '',
  ].join('\n');
}

let target: Server;
let prom: RunningPrometheus;
let receiver: FakeReceiver;
const served: Record<string, string> = {};

beforeAll(async () => {
  receiver = await startFakeReceiver();
  // One explicit timestamp for the whole run (every scrape serves the same text), taken at the first
  // scrape: Prometheus's remote-write skips samples older than its own start.
  let ts = 0;
  target = createServer((req, res) => {
    ts ||= Date.now();
    if (req.url === '/text') {
      served.text = textFixture(ts);
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(served.text);
    } else {
      served.om = omFixture(ts);
      res.writeHead(200, { 'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' }).end(served.om);
    }
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const port = (target.address() as { port: number }).port;
  prom = await startPrometheus(`
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: xt
    metrics_path: /text
    static_configs: [{ targets: ['127.0.0.1:${port}'] }]
  - job_name: xo
    metrics_path: /om
    static_configs: [{ targets: ['127.0.0.1:${port}'] }]
remote_write:
  - url: ${receiver.url}
    queue_config: { batch_send_deadline: 1s }
`);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await new Promise<void>((resolve) => target?.close(() => resolve()));
  await receiver?.close();
});

/** The first scrape of `job` as Prometheus remote-wrote it: name{labels} → [value, timestamp]. */
function fromPrometheus(job: string): Map<string, { value: number; t: number }> {
  const out = new Map<string, { value: number; t: number }>();
  for (const q of receiver.requests) {
    for (const s of q.samples) {
      if (s.labels.job !== job) continue;
      const { __name__, job: _j, instance: _i, ...rest } = s.labels;
      void _j;
      void _i;
      if (__name__ === 'up' || __name__.startsWith('scrape_')) continue;
      const key = `${__name__}${JSON.stringify(Object.entries(rest).sort())}`;
      if (!out.has(key)) out.set(key, { value: s.value, t: s.timestamp });
    }
  }
  return out;
}

function fromAgent(text: string, format: ExpositionFormat): Map<string, { value: number; t: number | null }> {
  const out = new Map<string, { value: number; t: number | null }>();
  for (const s of parseExposition(text, format).samples) {
    out.set(`${s.name}${JSON.stringify(s.labels.map((l) => [l.name, l.value]).sort())}`, { value: s.value, t: s.timestampMs });
  }
  return out;
}

function compare(job: string, format: ExpositionFormat) {
  const theirs = fromPrometheus(job);
  const ours = fromAgent(served[format === 'text' ? 'text' : 'om'], format);
  expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
  for (const [k, v] of ours) {
    const p = theirs.get(k)!;
    if (Number.isNaN(v.value)) expect(p.value).toBeNaN();
    else expect(Object.is(p.value, v.value) || p.value === v.value, `${k}: ${p.value} vs ${v.value}`).toBe(true);
    if (v.t !== null) expect(p.t, k).toBe(v.t);
  }
  return ours.size;
}

describe('the exposition parser agrees with Prometheus 2.42', () => {
  it('on the text format', async () => {
    await until('Prometheus to send the text scrape', () => fromPrometheus('xt').size > 0, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // the whole scrape, not a first batch of it
    expect(compare('xt', 'text')).toBe(19);
  }, 60_000);

  it('on OpenMetrics', async () => {
    await until('Prometheus to send the OpenMetrics scrape', () => fromPrometheus('xo').size > 0, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(compare('xo', 'openmetrics')).toBe(11);
  }, 60_000);
});
