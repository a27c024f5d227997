// /api/v1/rules, /api/v1/alerts and /api/v1/recommendations, served by the receiver from what the
// analyzer published (a RuleScheduler evaluates here over the same store), on both backends.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { decodeWriteRequestV1, DEFAULT_WRITE_LIMITS, encodeWriteRequestV1, type SeriesInput } from '../protocol/index.ts';
import { Engine } from '../promql/engine.ts';
import { createLogger } from '../lib/log.ts';
import { contractAssembler } from '../analyzer/recommendations.ts';
import { RuleScheduler } from '../analyzer/scheduler.ts';
import { goExponent } from '../receiver/rules-api.ts';
import { BACKENDS, startTestReceiver, type TestReceiver } from './support/receiver.ts';
import { alerting, group, recording } from './analyzer/support/rules.ts';

const MIN = 60_000;
const GiB = 2 ** 30;
const at = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;

function contract(name: string, labels: Record<string, string>, value: number): SeriesInput {
  return { labels: Object.entries({ __name__: name, ...labels }).map(([n, v]) => ({ name: n, value: v })), samples: [{ timestamp: at - 30_000, value }] };
}

const web = { cluster: 'prod', namespace: 'shop', workload: 'web', workload_kind: 'Deployment', container: 'app' };
const batch = { cluster: 'prod', namespace: 'jobs', workload: 'nightly', workload_kind: 'CronJob', container: 'run' };

describe.each(BACKENDS)('rules, alerts and recommendations API on %s', (backend) => {
  let r: TestReceiver;
  const get = async (path: string, tenant = 'alpha') => {
    const res = await fetch(r.url + path, { headers: { authorization: `Bearer ${r.tenants[tenant]!.token}` } });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null };
  };

  beforeAll(async () => {
    r = await startTestReceiver(backend);
    const alpha = r.tenants.alpha!.tenant;
    const series = [
      contract('workload_container:trimtab_requests:current', { ...web, resource: 'cpu' }, 2),
      contract('workload_container:trimtab_limits:current', { ...web, resource: 'cpu' }, 4),
      contract('workload_container:trimtab_requests:recommended', { ...web, resource: 'cpu' }, 0.25),
      contract('workload_container:trimtab_replicas:current', { ...web, resource: 'cpu' }, 3),
      contract('workload_container:trimtab_monthly_savings_dollars:recommended', { ...web, resource: 'cpu' }, 123.5),
      contract('workload_container:trimtab_requests:current', { ...web, resource: 'memory' }, 4 * GiB),
      contract('workload_container:trimtab_requests:recommended', { ...web, resource: 'memory' }, 1.5 * GiB),
      contract('workload_container:trimtab_limits:recommended', { ...web, resource: 'memory' }, 1.5 * GiB),
      contract('workload_container:trimtab_requests:current', { ...batch, resource: 'memory' }, GiB),
      contract('workload_container:trimtab_requests:recommended', { ...batch, resource: 'memory' }, 0.5 * GiB),
    ];
    const result = await r.storage.writer.write(alpha.id, decodeWriteRequestV1(encodeWriteRequestV1({ series })), DEFAULT_WRITE_LIMITS, Date.now());
    expect(result.rejected).toEqual([]);

    const g = group('trimtab.recommendations', [
      recording('trimtab:recommendations:count', 'count(workload_container:trimtab_requests:recommended)'),
      alerting('TrimtabRightsize', 'workload_container:trimtab_requests:recommended', {
        labels: { trimtab_recommendation: 'rightsize', severity: '{{ if eq $labels.namespace "shop" }}critical{{ else }}warning{{ end }}' },
        annotations: { description: 'set the {{ $labels.resource }} request of {{ $labels.container }} to {{ $value }}' },
      }),
    ], { file: 'rules/recs.yml' });
    const scheduler = new RuleScheduler({ storage: r.storage, engine: new Engine(), logger: createLogger({ level: 'error', write: () => {} }), assembler: contractAssembler });
    scheduler.setRules([{ file: 'rules/recs.yml', groups: [g] }]);
    await scheduler.evaluateTenant(g, alpha, at, { epoch: 0, signal: new AbortController().signal });
  }, 60_000);
  afterAll(async () => r?.stop());

  it('GET /api/v1/rules answers in Prometheus\' shape, with filters', async () => {
    const { status, json } = await get('/api/v1/rules');
    expect(status).toBe(200);
    expect(json.status).toBe('success');
    const [g] = json.data.groups;
    expect(g).toMatchObject({ name: 'trimtab.recommendations', file: 'rules/recs.yml', interval: 60, limit: 0 });
    expect(g.rules.map((x: { name: string; type: string; health: string }) => [x.name, x.type, x.health])).toEqual([
      ['trimtab:recommendations:count', 'recording', 'ok'],
      ['TrimtabRightsize', 'alerting', 'ok'],
    ]);
    const alert = g.rules[1];
    expect(alert).toMatchObject({ state: 'firing', duration: 0, keepFiringFor: 0, query: 'workload_container:trimtab_requests:recommended' });
    expect(alert.alerts).toHaveLength(3);
    expect(alert.alerts.find((a: { labels: Record<string, string> }) => a.labels.resource === 'cpu')).toMatchObject({ state: 'firing', value: '2.5e-01', activeAt: new Date(at).toISOString() });

    const records = await get('/api/v1/rules?type=record');
    expect(records.json.data.groups[0].rules.map((x: { name: string }) => x.name)).toEqual(['trimtab:recommendations:count']);
    const none = await get('/api/v1/rules?rule_name[]=Nope');
    expect(none.json.data.groups).toEqual([]);
    const noAlerts = await get('/api/v1/rules?exclude_alerts=true');
    expect(noAlerts.json.data.groups[0].rules[1].alerts).toBeUndefined();
    const bad = await get('/api/v1/rules?type=bogus');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });

  it('GET /api/v1/alerts lists the active alerts', async () => {
    const { json } = await get('/api/v1/alerts');
    expect(json.data.alerts).toHaveLength(3);
    expect(new Set(json.data.alerts.map((a: { labels: { alertname: string } }) => a.labels.alertname))).toEqual(new Set(['TrimtabRightsize']));
  });

  it('GET /api/v1/recommendations joins current and recommended values, filters, and keeps tenants apart', async () => {
    const { json } = await get('/api/v1/recommendations');
    const recs = json.data.recommendations as Array<Record<string, unknown>>;
    expect(recs).toHaveLength(3);
    const cpu = recs.find((x) => x.workload === 'web' && x.resource === 'cpu')!;
    expect(cpu).toMatchObject({
      cluster: 'prod',
      namespace: 'shop',
      workload: 'web',
      kind: 'Deployment',
      container: 'app',
      resource: 'cpu',
      type: 'rightsize',
      severity: 'critical',
      current: { request: 2, limit: 4 },
      recommended: { request: 0.25, limit: null },
      replicas: 3,
      monthlySavings: 123.5,
      reason: 'set the cpu request of app to 0.25',
      resolvedAt: null,
    });
    expect((await get('/api/v1/recommendations?namespace=jobs')).json.data.recommendations.map((x: { workload: string }) => x.workload)).toEqual(['nightly']);
    expect((await get('/api/v1/recommendations?severity=warning')).json.data.recommendations).toHaveLength(1);
    expect((await get('/api/v1/recommendations?severity=warning,critical&cluster=prod')).json.data.recommendations).toHaveLength(3);
    expect((await get('/api/v1/recommendations?cluster=dev')).json.data.recommendations).toEqual([]);
    expect((await get('/api/v1/recommendations?limit=1')).json.data.recommendations).toHaveLength(1);
    expect((await get('/api/v1/recommendations', 'beta')).json.data.recommendations).toEqual([]);
    expect((await get('/api/v1/rules', 'beta')).json.data.groups).toEqual([]);
    for (const q of ['format=xml', 'limit=-1', 'history=maybe']) {
      const bad = await get(`/api/v1/recommendations?${q}`);
      expect(bad.status, q).toBe(400);
      expect(bad.json.errorType).toBe('bad_data');
    }
    const anon = await fetch(`${r.url}/api/v1/recommendations`);
    expect(anon.status).toBe(401);
  });

  it('?format=yaml gives one apply-ready patch per workload', async () => {
    const { status, type, text } = await get('/api/v1/recommendations?format=yaml');
    expect(status).toBe(200);
    expect(type).toContain('yaml');
    const docs = parseAllDocuments(text).map((d) => d.toJSON());
    const deployment = docs.find((d) => d?.kind === 'Deployment');
    expect(deployment).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { template: { spec: { containers: [{ name: 'app', resources: { requests: { cpu: '250m', memory: '1536Mi' }, limits: { memory: '1536Mi' } } }] } } },
    });
    const cron = docs.find((d) => d?.kind === 'CronJob');
    expect(cron.spec.jobTemplate.spec.template.spec.containers).toEqual([{ name: 'run', resources: { requests: { memory: '512Mi' } } }]);
    expect(text).toContain('# cluster prod: Deployment shop/web, saves $123.50 per month');
    expect(parseYaml(text.split('---\n')[0]!)).toBeTruthy();
  });
});

describe('goExponent (Go strconv.FormatFloat(v, \'e\', -1, 64))', () => {
  it.each([
    [1, '1e+00'],
    [0.25, '2.5e-01'],
    [123456789, '1.23456789e+08'],
    [1e-7, '1e-07'],
    [1e100, '1e+100'],
    [0, '0e+00'],
    [-2.5, '-2.5e+00'],
    [Infinity, '+Inf'],
    [NaN, 'NaN'],
  ])('%d → %s', (v, s) => expect(goExponent(v)).toBe(s));
});
