// The rule pack's scenario test: a synthetic cluster of known usage (support/scenario-cluster.ts) is
// written through HTTP remote-write into a real receiver, the default pack (rules/*.yml) is evaluated by
// the analyzer's scheduler over 9 hours of simulated time, and what the receiver's API then serves
// (/api/v1/recommendations as JSON and YAML, /api/v1/alerts, the contract series through /api/v1/query)
// must equal the formulas computed independently from the generated usage (support/scenario-formulas.ts).
//
// Evaluation schedule (rules/README.md, group_eval_order of rules/tests): at each timestamp the due groups
// run in dependency order config → inventory → history → history.14d → recommendations → risks.
//   - every 5 minutes over the 9 hours: config, inventory, history (tier 1 reads the pod → workload
//     relabelling of the same slot: the 5-minute lookback is left-open, so the previous slot's is gone);
//   - every hour: history.14d (the memory rollup reads the last 65 minutes, so every hour is needed);
//   - at T − 15m, T − 10m, T − 5m and T: recommendations and risks (the three risk alerts need
//     `for: 15m`; their pending state lives in the evaluator between evaluations, and the inventory they
//     read runs at those 5-minute slots anyway). Evaluating them every minute would only repeat the same
//     state, at ~2-3 s a minute with inventory.

import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRuleFiles } from '../../analyzer/rule-file.ts';
import { contractAssembler } from '../../analyzer/recommendations.ts';
import { RuleScheduler, type Term } from '../../analyzer/scheduler.ts';
import type { RuleGroup } from '../../analyzer/rule-types.ts';
import { createLogger } from '../../lib/log.ts';
import { Engine } from '../../promql/engine.ts';
import { STALE_NAN, type SeriesInput } from '../../protocol/index.ts';
import { adminUrl } from '../support/databases.ts';
import { startTestReceiver, type TestReceiver } from '../support/receiver.ts';
import { encodeBody, postWrite } from '../support/write-client.ts';
import { buildScenario, HOUR, MIB, rawSeries, type RawSeries, type Scenario } from './support/scenario-cluster.ts';
import { computeExpectation, evaluationTimes, idKey, wcKey, type ContainerKey, type ExpectedAlert, type Expectation, type Resource } from './support/scenario-formulas.ts';
import type { RecommendationRecord } from '../../receiver/rules-api.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const GROUP_ORDER = ['trimtab.config', 'trimtab.inventory', 'trimtab.history', 'trimtab.history.14d', 'trimtab.recommendations', 'trimtab.risks'];

/** Equal, or within 1e-9 relative (the pack and this test may sum or multiply in a different order). */
function close(actual: number | null | undefined, expected: number | null | undefined): boolean {
  if (actual === null || actual === undefined || expected === null || expected === undefined) return (actual ?? null) === (expected ?? null);
  if (actual === expected) return true;
  return Math.abs(actual - expected) <= 1e-9 * Math.max(Math.abs(actual), Math.abs(expected));
}

type ApiRecord = RecommendationRecord;

type ExpectedRecord = Pick<ApiRecord, 'cluster' | 'namespace' | 'workload' | 'kind' | 'container' | 'resource' | 'type' | 'alertname' | 'severity' | 'current' | 'recommended' | 'replicas' | 'monthlySavings' | 'value' | 'labels'>;

const labelsKey = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** The record /api/v1/recommendations must serve for an expected alert (details joined from the contract). */
function expectedRecord(a: ExpectedAlert, exp: Expectation): ExpectedRecord {
  const l = a.labels;
  const sized = (l.resource ?? '') !== '' && (l.container ?? '') !== '';
  const c = sized
    ? exp.contract.get(idKey({ cluster: l.cluster!, namespace: l.namespace!, workload: l.workload!, workload_kind: l.workload_kind!, container: l.container! }, l.resource as Resource))
    : undefined;
  // A recommended request only where the pack recorded one: an HPA-managed workload is flagged, not
  // resized (what usage alone would suggest stays visible as the record's value).
  const recommendedRequest = c?.recommendedRequest ?? null;
  return {
    cluster: l.cluster ?? '',
    namespace: l.namespace ?? '',
    workload: l.workload ?? '',
    kind: l.workload_kind ?? '',
    container: l.container ?? '',
    resource: l.resource ?? '',
    type: l.trimtab_recommendation!,
    alertname: a.alertname,
    severity: l.severity!,
    current: { request: c?.currentRequest ?? null, limit: c?.currentLimit ?? null },
    recommended: { request: recommendedRequest, limit: c?.recommendedLimit ?? null },
    replicas: c?.replicas ?? null,
    monthlySavings: c?.monthlySavings ?? null,
    value: a.value,
    labels: l,
  };
}

/** Differences between a served record and the expected one, as readable lines. */
function recordDiff(actual: ApiRecord, expected: ExpectedRecord, skip: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const where = `${expected.alertname} ${expected.cluster}/${expected.namespace}/${expected.workload}/${expected.container}/${expected.resource}`;
  for (const f of ['cluster', 'namespace', 'workload', 'kind', 'container', 'resource', 'type', 'alertname', 'severity'] as const) {
    if (actual[f] !== expected[f]) out.push(`${where}: ${f} is ${JSON.stringify(actual[f])}, the formula says ${JSON.stringify(expected[f])}`);
  }
  const nums: Array<[string, number | null, number | null]> = [
    ['current.request', actual.current.request, expected.current.request],
    ['current.limit', actual.current.limit, expected.current.limit],
    ['recommended.request', actual.recommended.request, expected.recommended.request],
    ['recommended.limit', actual.recommended.limit, expected.recommended.limit],
    ['replicas', actual.replicas, expected.replicas],
    ['monthlySavings', actual.monthlySavings, expected.monthlySavings],
    ['value', actual.value, expected.value],
  ];
  for (const [f, a, e] of nums) if (!skip.has(f) && !close(a, e)) out.push(`${where}: ${f} is ${a}, the formula says ${e}`);
  if (labelsKey(actual.labels) !== labelsKey(expected.labels)) out.push(`${where}: labels ${labelsKey(actual.labels)}, the formula says ${labelsKey(expected.labels)}`);
  return out;
}

describe('scenario: a synthetic cluster written through remote-write, the default pack, the formulas', () => {
  let r: TestReceiver;
  let scenario: Scenario;
  let series: RawSeries[];
  let exp: Expectation;
  let token: string;
  const timings: Record<string, number> = {};
  let records: ApiRecord[] = [];

  const get = async (path: string): Promise<{ status: number; text: string; json: any }> => {
    const res = await fetch(`${r.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // YAML
    }
    return { status: res.status, text, json };
  };
  const query = async (q: string, t: number): Promise<Array<{ metric: Record<string, string>; value: number }>> => {
    const { status, json } = await get(`/api/v1/query?query=${encodeURIComponent(q)}&time=${t / 1000}`);
    expect(status, q).toBe(200);
    expect(json.data.resultType).toBe('vector');
    return (json.data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
  };
  const keyOfMetric = (m: Record<string, string>): ContainerKey => ({ cluster: m.cluster!, namespace: m.namespace!, workload: m.workload!, workload_kind: m.workload_kind!, container: m.container! });

  beforeAll(async () => {
    const started = performance.now();
    // The throwaway database commits without waiting for the WAL flush: the pack writes one transaction
    // per rule and evaluation (~2,000 here), and durability is no part of what this test checks.
    const previousUrl = process.env.TRIMTAB_TEST_DATABASE_URL;
    const admin = new URL(adminUrl());
    admin.searchParams.set('options', `${admin.searchParams.get('options') ?? ''} -c synchronous_commit=off`.trim());
    process.env.TRIMTAB_TEST_DATABASE_URL = admin.toString();
    try {
      r = await startTestReceiver('pg', { tenants: ['alpha'] });
    } finally {
      if (previousUrl === undefined) delete process.env.TRIMTAB_TEST_DATABASE_URL;
      else process.env.TRIMTAB_TEST_DATABASE_URL = previousUrl;
    }
    token = r.tenants.alpha!.token;
    const tenant = r.tenants.alpha!.tenant;
    scenario = buildScenario(Date.now());
    series = rawSeries(scenario);
    exp = computeExpectation(scenario, series);
    timings.generateAndComputeMs = performance.now() - started;

    // ---- Remote-write in time order: one hour of data at a time, 100 series a request (RW 1.0, snappy).
    let t = performance.now();
    let samples = 0;
    for (let from = scenario.t0; from < scenario.end; from += HOUR) {
      const batch: SeriesInput[] = [];
      for (const s of series) {
        const inHour = s.samples.filter((x) => x.t >= from && x.t < from + HOUR);
        if (inHour.length === 0) continue;
        batch.push({
          labels: Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => ({ name, value })),
          samples: inHour.map((x) => ({ timestamp: x.t, value: x.stale ? STALE_NAN : x.v })),
        });
        samples += inHour.length;
      }
      for (let i = 0; i < batch.length; i += 100) {
        const res = await postWrite(r.url, encodeBody({ series: batch.slice(i, i + 100) }, 1), { token });
        expect(res.status, res.body).toBe(204);
      }
    }
    timings.remoteWriteMs = performance.now() - t;
    timings.series = series.length;
    timings.samples = samples;

    // ---- The default pack, evaluated as the analyzer would over the simulated time.
    t = performance.now();
    const files = await loadRuleFiles([join(ROOT, 'rules/*.yml')]);
    const scheduler = new RuleScheduler({ storage: r.storage, engine: new Engine(), logger: createLogger({ level: 'error', write: () => {} }), assembler: contractAssembler });
    scheduler.setRules(files);
    const groups = new Map<string, RuleGroup>(scheduler.groups.map((g) => [g.name, g]));
    expect([...groups.keys()].sort()).toEqual([...GROUP_ORDER].sort());
    const term: Term = { epoch: 0, signal: new AbortController().signal };
    const times = evaluationTimes(scenario);
    const due = new Map<string, Set<number>>([
      ['trimtab.config', new Set(times.fiveMinute)],
      ['trimtab.inventory', new Set(times.fiveMinute)],
      ['trimtab.history', new Set(times.fiveMinute)],
      ['trimtab.history.14d', new Set(times.hourly)],
      ['trimtab.recommendations', new Set(times.final)],
      ['trimtab.risks', new Set(times.final)],
    ]);
    // Every slot is a multiple of its group's interval, as the scheduler aligns them.
    for (const [name, ts] of due) for (const x of ts) expect(x % groups.get(name)!.intervalMs, name).toBe(0);
    const all = [...new Set([...due.values()].flatMap((s) => [...s]))].sort((a, b) => a - b);
    let evaluations = 0;
    for (const ts of all) {
      for (const name of GROUP_ORDER) {
        if (!due.get(name)!.has(ts)) continue;
        const began = performance.now();
        await scheduler.evaluateTenant(groups.get(name)!, tenant, ts, term);
        timings[`${name}Ms`] = (timings[`${name}Ms`] ?? 0) + Math.round(performance.now() - began);
        evaluations++;
      }
    }
    timings.evaluations = evaluations;
    timings.evaluateMs = performance.now() - t;

    // No rule of the pack may fail on this data.
    const states = await r.storage.analyzerState.listGroupStates(tenant.id);
    const failing = states.flatMap((s) => (s.state as { rules: Array<{ name: string; health: string; lastError?: string }> }).rules.filter((x) => x.health !== 'ok').map((x) => `${s.groupName}/${x.name}: ${x.lastError}`));
    expect(failing).toEqual([]);

    records = (await get('/api/v1/recommendations')).json.data.recommendations;
    timings.totalMs = performance.now() - started;
    for (const k of Object.keys(timings)) timings[k] = Math.round(timings[k]!);
    console.log(`scenario: ${JSON.stringify(timings)}`);
  }, 300_000);

  afterAll(async () => {
    await r?.stop();
  });

  it('the scenario covers what it is meant to (checked on the independent computation)', () => {
    const c = (workload: string, container: string, resource: Resource) => [...exp.contract.values()].find((x) => x.key.workload === workload && x.key.container === container && x.resource === resource)!;
    const sev = (alertname: string, workload: string, container: string, resource: string) =>
      exp.alerts.find((a) => a.alertname === alertname && a.labels.workload === workload && a.labels.container === container && a.labels.resource === resource)?.labels.severity ?? null;
    // Every band is exercised, plus changes below the smallest band.
    expect(sev('TrimtabRightsizeCPU', 'web', 'app', 'cpu')).toBe('critical');
    expect(sev('TrimtabRightsizeCPU', 'web', 'envoy', 'cpu')).toBe('ok');
    expect(sev('TrimtabRightsizeCPU', 'db', 'postgres', 'cpu')).toBe('warning');
    expect(sev('TrimtabRightsizeCPU', 'db', 'exporter', 'cpu')).toBeNull();
    expect(sev('TrimtabRightsizeCPU', 'report', 'report', 'cpu')).toBe('critical');
    expect(sev('TrimtabRightsizeCPU', 'debug-shell', 'shell', 'cpu')).toBe('warning'); // no CPU request
    expect(sev('TrimtabRightsizeCPU', 'node-agent', 'agent', 'cpu')).toBeNull();
    expect(sev('TrimtabRightsizeMemory', 'report', 'report', 'memory')).toBe('critical');
    expect(sev('TrimtabRightsizeMemory', 'db', 'postgres', 'memory')).toBe('warning');
    expect(sev('TrimtabRightsizeMemory', 'node-agent', 'agent', 'memory')).toBe('ok');
    expect(sev('TrimtabRightsizeMemory', 'web', 'app', 'memory')).toBeNull();
    // Floors: the exporter is idle.
    expect(c('db', 'exporter', 'cpu').recommendedRequest).toBe(0.01);
    expect(c('db', 'exporter', 'memory').recommendedRequest).toBe(100 * MIB);
    expect(c('web', 'envoy', 'memory').recommendedRequest).toBe(100 * MIB);
    // OOM: the bump (512Mi × 1.25 = 640Mi) is above the peak × 1.15.
    const pg = exp.stats.get(wcKey(c('db', 'postgres', 'memory').key))!;
    expect(pg.oomLimit).toBe(512 * MIB);
    expect(pg.memoryPeak * 1.15).toBeLessThan(640 * MIB);
    expect(c('db', 'postgres', 'memory').recommendedRequest).toBe(640 * MIB);
    // The replaced web pod's history still counts, and its p95 is the max across pods.
    const web = exp.stats.get(wcKey(c('web', 'app', 'cpu').key))!;
    expect([...web.pointsByPod.keys()].sort()).toEqual(['web-7d4-bq2xk', 'web-7d4-m8n4p', 'web-7d4-x9v2c']);
    expect(web.quantile).toBe(web.quantileByPod.get('web-7d4-bq2xk'));
    expect(web.pointsByPod.get('web-7d4-bq2xk')!.length).toBe(54);
    // Both runs of the CronJob count, exactly 100 points (the gate is ≥ 100); the current request is the
    // running pod's.
    const report = exp.stats.get(wcKey(c('report', 'report', 'cpu').key))!;
    expect(report.pointsByPod.size).toBe(2);
    expect(report.points).toBe(100);
    expect(c('report', 'report', 'cpu').currentRequest).toBe(2);
    expect(c('report', 'report', 'cpu').replicas).toBe(1);
    // Not enough data: 5 hours of one pod.
    expect(exp.stats.get(wcKey(c('late', 'worker', 'cpu').key))!.points).toBe(60);
    expect(c('late', 'worker', 'cpu').recommendedRequest).toBeUndefined();
    // HPA: computed, not recommended.
    expect(c('api', 'api', 'cpu').computed).toBeGreaterThan(0);
    expect(c('api', 'api', 'cpu').recommendedRequest).toBeUndefined();
    // Prices: OpenCost in c1 (n3's price of 0 left out), defaults in c2.
    expect(exp.prices.get('c1')).toEqual({ cpu: (0.04 + 0.05) / 2, memory: (0.005 + 0.006) / 2, source: 'opencost' });
    expect(exp.prices.get('c2')).toEqual({ cpu: 0.031611, memory: 0.004237, source: 'default' });
    // Every rounded value is exact or far from a rounding boundary, so the comparison cannot flip on a
    // float ulp of a different summation order.
    const safe = (x: number) => Number.isInteger(x) || Math.abs(x - Math.round(x)) > 1e-5;
    for (const st of exp.stats.values()) {
      expect(safe(st.quantile * 1000), `${wcKey(st.key)} p95 ${st.quantile}`).toBe(true);
      expect(safe(Math.max(st.memoryPeak * 1.15, (st.oomLimit ?? 0) * 1.25) / MIB), `${wcKey(st.key)} memory`).toBe(true);
    }
  });

  it('the contract series equal the formulas (GET /api/v1/query at the end)', async () => {
    const T = scenario.end;
    const mismatches: string[] = [];
    const fields = [
      ['workload_container:trimtab_requests:current', 'currentRequest'],
      ['workload_container:trimtab_limits:current', 'currentLimit'],
      ['workload_container:trimtab_requests:computed', 'computed'],
      ['workload_container:trimtab_requests:recommended', 'recommendedRequest'],
      ['workload_container:trimtab_limits:recommended', 'recommendedLimit'],
      ['workload_container:trimtab_monthly_savings_dollars:recommended', 'monthlySavings'],
      ['workload_container:trimtab_replicas:current', 'replicas'],
    ] as const;
    for (const [metric, field] of fields) {
      const got = new Map<string, number>();
      for (const s of await query(metric, T)) got.set(idKey(keyOfMetric(s.metric), s.metric.resource as Resource), s.value);
      for (const c of exp.contract.values()) {
        const k = idKey(c.key, c.resource);
        const want = c[field];
        const have = got.get(k);
        if (!close(have, want)) mismatches.push(`${metric} ${k}: Trimtab ${have}, formula ${want}`);
        got.delete(k);
      }
      for (const [k, v] of got) mismatches.push(`${metric} ${k}: Trimtab ${v}, the formula has no such series`);
    }
    // Tier 2, the inputs of the recommendation (rules/README.md "How the recommendation is computed").
    const tier2 = [
      ['workload_container:trimtab_cpu_usage:request_quantile14d', (k: string) => exp.stats.get(k)?.quantile],
      ['workload_container:trimtab_cpu_usage:count14d', (k: string) => exp.stats.get(k)?.points],
      ['workload_container:trimtab_memory_working_set_bytes:max14d', (k: string) => exp.stats.get(k)?.memoryPeak],
      ['workload_container:trimtab_memory_limit_bytes:oom_killed_max14d', (k: string) => exp.stats.get(k)?.oomLimit],
    ] as const;
    for (const [metric, want] of tier2) {
      const got = new Map<string, number>();
      for (const s of await query(metric, T)) got.set(wcKey(keyOfMetric(s.metric)), s.value);
      const keys = new Set([...got.keys(), ...[...exp.stats.keys()].filter((k) => want(k) !== undefined)]);
      for (const k of keys) if (!close(got.get(k), want(k))) mismatches.push(`${metric} ${k}: Trimtab ${got.get(k)}, formula ${want(k)}`);
    }
    // Prices.
    for (const s of await query('cluster:trimtab_hourly_price_dollars:avg', T)) {
      const p = exp.prices.get(s.metric.cluster!);
      const want = s.metric.resource === 'cpu' ? p?.cpu : p?.memory;
      if (!close(s.value, want) || s.metric.price_source !== p?.source) mismatches.push(`price ${JSON.stringify(s.metric)}: Trimtab ${s.value}, formula ${want} (${p?.source})`);
    }
    expect((await query('cluster:trimtab_hourly_price_dollars:avg', T)).length).toBe(2 * exp.prices.size);
    expect(mismatches).toEqual([]);
  });

  it('cluster efficiency equals usage / requests over the last hour', async () => {
    const got = new Map<string, number>();
    for (const s of await query('cluster:trimtab_efficiency:ratio', scenario.end)) got.set(`${s.metric.cluster}|${s.metric.resource}`, s.value);
    const mismatches: string[] = [];
    for (const k of new Set([...got.keys(), ...exp.efficiency.keys()])) if (!close(got.get(k), exp.efficiency.get(k))) mismatches.push(`${k}: Trimtab ${got.get(k)}, formula ${exp.efficiency.get(k)}`);
    expect(mismatches).toEqual([]);
  });

  it('GET /api/v1/recommendations serves exactly the recommendations of the formulas', () => {
    const mismatches: string[] = [];
    const expected = new Map(exp.alerts.map((a) => [labelsKey(a.labels), expectedRecord(a, exp)]));
    const served = new Map(records.map((x) => [labelsKey(x.labels), x]));
    for (const [k, e] of expected) {
      const a = served.get(k);
      if (!a) {
        mismatches.push(`missing: ${e.alertname} ${k} (value ${e.value})`);
        continue;
      }
      // recommended.request of an insufficient_data record: see the dedicated test below.
      mismatches.push(...recordDiff(a, e, e.type === 'insufficient_data' ? new Set(['recommended.request']) : new Set()));
    }
    for (const [k, a] of served) if (!expected.has(k)) mismatches.push(`unexpected: ${a.alertname} ${k} (value ${a.value})`);
    expect(mismatches).toEqual([]);
    // Every record explains itself.
    for (const x of records) expect(x.reason, x.alertname).not.toBe('');
  });

  it('the cases of the issue, one by one', () => {
    const find = (alertname: string, workload: string, resource?: string) => records.filter((x) => x.alertname === alertname && x.workload === workload && (resource === undefined || x.resource === resource));
    const contract = (workload: string, container: string, resource: Resource) => [...exp.contract.values()].find((x) => x.key.workload === workload && x.key.container === container && x.resource === resource)!;
    // Replaced pod: the Deployment's CPU recommendation is the evicted pod's p95, rounded up to millicores.
    const web = find('TrimtabRightsizeCPU', 'web').find((x) => x.container === 'app')!;
    const webStats = exp.stats.get(wcKey(contract('web', 'app', 'cpu').key))!;
    expect(web.recommended.request).toBe(Math.ceil(webStats.quantileByPod.get('web-7d4-bq2xk')! * 1000 - 1e-6) / 1000);
    expect(web.replicas).toBe(2);
    expect(close(web.monthlySavings, (2 - web.recommended.request!) * 2 * 0.045 * 730)).toBe(true);
    // OOM: memory request = limit = 640Mi, and the OOM risk with the limit at the kill.
    const pg = find('TrimtabRightsizeMemory', 'db', 'memory')[0]!;
    expect(pg.recommended).toEqual({ request: 640 * MIB, limit: 640 * MIB });
    expect(pg.severity).toBe('warning');
    expect(find('TrimtabOOMKilled', 'db').map((x) => [x.container, x.value, x.severity, x.type])).toEqual([['postgres', 512 * MIB, 'critical', 'risk']]);
    // HPA: no rightsize, a risk for both resources instead.
    expect(records.filter((x) => x.workload === 'api' && x.type === 'rightsize')).toEqual([]);
    expect(find('TrimtabHPAManaged', 'api').map((x) => [x.resource, x.labels.horizontalpodautoscaler, x.type, x.severity]).sort()).toEqual([
      ['cpu', 'api', 'risk', 'ok'],
      ['memory', 'api', 'risk', 'ok'],
    ]);
    // Not enough data: both resources, the point count as value, no rightsize.
    expect(find('TrimtabInsufficientData', 'late').map((x) => [x.resource, x.value, x.type]).sort()).toEqual([
      ['cpu', 60, 'insufficient_data'],
      ['memory', 60, 'insufficient_data'],
    ]);
    expect(records.filter((x) => x.workload === 'late' && x.type === 'rightsize')).toEqual([]);
    // Bare pod: its own workload, kind Pod; no CPU request → warning and a negative saving.
    const shell = find('TrimtabRightsizeCPU', 'debug-shell')[0]!;
    expect([shell.kind, shell.severity, shell.current.request]).toEqual(['Pod', 'warning', null]);
    expect(shell.monthlySavings!).toBeLessThan(0);
    expect(close(shell.monthlySavings, -shell.recommended.request! * 1 * 0.045 * 730)).toBe(true);
    // Default prices in the cluster without OpenCost.
    const agent = find('TrimtabRightsizeMemory', 'node-agent')[0]!;
    expect(close(agent.monthlySavings, ((320 * MIB - agent.recommended.request!) / 2 ** 30) * 2 * 0.004237 * 730)).toBe(true);
  });

  it('an insufficient_data record carries no recommended request (no recommendation without 100 points)', () => {
    const late = records.filter((x) => x.type === 'insufficient_data');
    expect(late.length).toBeGreaterThan(0);
    expect(late.map((x) => [x.workload, x.resource, x.recommended.request])).toEqual(late.map((x) => [x.workload, x.resource, null]));
  });

  /** The rightsize records of the formulas by workload, as the YAML patches group them. */
  const rightsizeByWorkload = (): Map<string, ExpectedRecord[]> => {
    const byWorkload = new Map<string, ExpectedRecord[]>();
    for (const a of exp.alerts.filter((x) => x.labels.trimtab_recommendation === 'rightsize')) {
      const x = expectedRecord(a, exp);
      const k = `${x.kind} ${x.namespace}/${x.workload}`;
      byWorkload.set(k, [...(byWorkload.get(k) ?? []), x]);
    }
    return byWorkload;
  };

  it('?format=yaml gives the rightsize patches of the formulas, one per workload', async () => {
    const { status, text } = await get('/api/v1/recommendations?format=yaml');
    expect(status).toBe(200);
    const byWorkload = rightsizeByWorkload();
    // One section per workload, each starting with its header comment.
    const sections = text.split(/^(?=# cluster )/m).filter((x) => x.trim() !== '');
    expect(sections.map((x) => x.split('\n')[0]).length, text).toBe(byWorkload.size);
    const PATH: Record<string, string[]> = { Deployment: ['spec', 'template', 'spec'], StatefulSet: ['spec', 'template', 'spec'], DaemonSet: ['spec', 'template', 'spec'], CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] };
    const API: Record<string, string> = { Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1', CronJob: 'batch/v1' };
    for (const [k, list] of byWorkload) {
      const first = list[0]!;
      const savings = list.reduce((sum, x) => sum + (x.monthlySavings ?? 0), 0);
      const header = `# cluster ${first.cluster}: ${k}, ${savings >= 0 ? 'saves' : 'costs'} $${Math.abs(savings).toFixed(2)} per month`;
      const section = sections.find((d) => d.startsWith(`${header}\n`));
      expect(section, `${header}\n---\n${text}`).toBeDefined();
      const containers = new Map<string, { requests?: Record<string, string>; limits?: Record<string, string> }>();
      for (const x of list) {
        const res = containers.get(x.container) ?? {};
        const q = (v: number) => (x.resource === 'cpu' ? `${Math.round(v * 1000)}m` : `${Math.round(v / MIB)}Mi`);
        (res.requests ??= {})[x.resource] = q(x.recommended.request!);
        if (x.recommended.limit !== null) (res.limits ??= {})[x.resource] = q(x.recommended.limit);
        containers.set(x.container, res);
      }
      const want = [...containers].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, resources]) => ({ name, resources }));
      if (first.kind === 'Pod') {
        // A bare pod cannot be patched: the resources are given as a comment.
        const body = section!.split('\n').filter((l) => l.startsWith('#   ')).map((l) => l.slice(4)).join('\n');
        expect(parseAllDocuments(body)[0]!.toJSON()).toEqual(want);
        continue;
      }
      let spec: Record<string, unknown> = { containers: want };
      for (const part of [...PATH[first.kind]!].reverse()) spec = { [part]: spec };
      expect(parseAllDocuments(section!)[0]!.toJSON()).toEqual({ apiVersion: API[first.kind], kind: first.kind, metadata: { name: first.workload, namespace: first.namespace }, ...spec });
    }
  });

  it('?format=yaml separates the workloads\' documents with a "---" line (also after a bare pod\'s commented patch)', async () => {
    const { text } = await get('/api/v1/recommendations?format=yaml');
    const documents = text.split(/^---\n/m);
    expect(documents.map((d) => d.split('\n')[0]), text).toHaveLength(rightsizeByWorkload().size);
    for (const d of documents) expect(d, text).toMatch(/^# cluster /);
  });

  it('GET /api/v1/alerts lists exactly the alerts of the formulas, firing, with their values', async () => {
    const { status, json } = await get('/api/v1/alerts');
    expect(status).toBe(200);
    const served = json.data.alerts as Array<{ labels: Record<string, string>; state: string; activeAt: string; value: string }>;
    const mismatches: string[] = [];
    const expected = new Map(exp.alerts.map((a) => [labelsKey(a.labels), a]));
    const seen = new Set<string>();
    for (const a of served) {
      const k = labelsKey(a.labels);
      seen.add(k);
      const e = expected.get(k);
      if (!e) {
        mismatches.push(`unexpected ${a.state} alert ${k} = ${a.value}`);
        continue;
      }
      if (a.state !== 'firing') mismatches.push(`${k}: state ${a.state}`);
      if (!close(Number(a.value), e.value)) mismatches.push(`${k}: value ${a.value}, formula ${e.value}`);
      if (e.activeAt !== undefined && new Date(a.activeAt).getTime() !== e.activeAt) mismatches.push(`${k}: activeAt ${a.activeAt}, formula ${new Date(e.activeAt).toISOString()}`);
    }
    for (const k of expected.keys()) if (!seen.has(k)) mismatches.push(`missing alert ${k}`);
    expect(mismatches).toEqual([]);
  });
});
