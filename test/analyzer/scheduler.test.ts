// The rule scheduler over a real store (PostgreSQL and PGlite): recording results written back as the
// tenant's own series and chained, tenants isolated, alert state and recommendations published,
// fencing, and Prometheus' restore of `for` timers when a new evaluator takes over.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWriteRequestV1, DEFAULT_WRITE_LIMITS, encodeWriteRequestV1, type SeriesInput } from '../../protocol/index.ts';
import { Engine } from '../../promql/engine.ts';
import { labelsToRecord } from '../../promql/labels.ts';
import { StorageQueryable } from '../../promql/storage-queryable.ts';
import { createLogger } from '../../lib/log.ts';
import { FencedError, assertFence } from '../../analyzer/fencing.ts';
import { contractAssembler } from '../../analyzer/recommendations.ts';
import { RuleScheduler, type Term } from '../../analyzer/scheduler.ts';
import type { Tenant } from '../../storage/types.ts';
import { DRIVERS, openTestStorage, uniqueName, type TestStorage } from '../support/storage.ts';
import { alerting, group, recording } from './support/rules.ts';

const MIN = 60_000;
const silent = createLogger({ level: 'error', write: () => {} });
const t0 = Math.floor(Date.now() / MIN) * MIN - 90 * MIN;

function term(epoch = 0, prelude?: Term['prelude']): Term {
  return { epoch, prelude, signal: new AbortController().signal };
}

describe.each(DRIVERS)('rule scheduler on %s', (kind) => {
  let ts: TestStorage;
  let a: Tenant;
  let b: Tenant;
  const engine = new Engine();

  const write = async (tenant: Tenant, series: SeriesInput[]) => {
    const result = await ts.storage.writer.write(tenant.id, decodeWriteRequestV1(encodeWriteRequestV1({ series })), DEFAULT_WRITE_LIMITS, Date.now());
    expect(result.rejected).toEqual([]);
  };
  const query = async (tenant: Tenant, q: string, t: number) => {
    const { value } = await engine.instantQuery(new StorageQueryable(ts.storage.reader, tenant.id), q, t);
    if (value.resultType !== 'vector') throw new Error('expected a vector');
    return value.result.map((s) => ({ labels: labelsToRecord(s.metric), value: s.v })).sort((x, y) => JSON.stringify(x.labels).localeCompare(JSON.stringify(y.labels)));
  };
  const scheduler = () => new RuleScheduler({ storage: ts.storage, engine, logger: silent, assembler: contractAssembler });

  beforeAll(async () => {
    ts = await openTestStorage(kind);
    a = (await ts.storage.tenants.createTenant(uniqueName('a'))).tenant;
    b = (await ts.storage.tenants.createTenant(uniqueName('b'))).tenant;
    const samples = (v: (i: number) => number) => Array.from({ length: 31 }, (_, i) => ({ timestamp: t0 + i * MIN, value: v(i) }));
    await write(a, [
      { labels: [{ name: '__name__', value: 'cpu_seconds_total' }, { name: 'pod', value: 'p1' }], samples: samples((i) => i * 60) },
      { labels: [{ name: '__name__', value: 'cpu_seconds_total' }, { name: 'pod', value: 'p2' }], samples: samples((i) => i * 30) },
    ]);
    await write(b, [{ labels: [{ name: '__name__', value: 'cpu_seconds_total' }, { name: 'pod', value: 'other' }], samples: samples((i) => i * 6) }]);
  }, 60_000);
  afterAll(async () => ts?.close());

  it('writes recording results back as the tenant\'s series, chains rules in a group, and keeps tenants apart', async () => {
    const g = group('usage', [
      recording('pod:cpu:rate2m', 'rate(cpu_seconds_total[2m])'),
      recording('cluster:cpu:sum', 'sum(pod:cpu:rate2m)', { source: 'rules' }),
    ]);
    const s = scheduler();
    s.setRules([{ file: 'test.yml', groups: [g] }]);
    const at = t0 + 10 * MIN + 30_000;
    await s.evaluateTenant(g, a, at, term());
    await s.evaluateTenant(g, b, at, term());
    expect(await query(a, 'pod:cpu:rate2m', at)).toEqual([
      { labels: { __name__: 'pod:cpu:rate2m', pod: 'p1' }, value: 1 },
      { labels: { __name__: 'pod:cpu:rate2m', pod: 'p2' }, value: 0.5 },
    ]);
    // The second rule saw the first one's results at the same timestamp.
    expect(await query(a, 'cluster:cpu:sum', at)).toEqual([{ labels: { __name__: 'cluster:cpu:sum', source: 'rules' }, value: 1.5 }]);
    expect(await query(b, 'cluster:cpu:sum', at)).toEqual([{ labels: { __name__: 'cluster:cpu:sum', source: 'rules' }, value: 0.1 }]);
    expect(await query(b, 'pod:cpu:rate2m', at)).toEqual([{ labels: { __name__: 'pod:cpu:rate2m', pod: 'other' }, value: 0.1 }]);

    const [doc] = await ts.storage.analyzerState.listGroupStates(a.id);
    expect(doc).toMatchObject({ file: 'test.yml', groupName: 'usage', epoch: 0 });
    expect((doc!.state as { rules: Array<{ name: string; health: string; type: string }> }).rules.map((r) => [r.name, r.health, r.type])).toEqual([
      ['pod:cpu:rate2m', 'ok', 'recording'],
      ['cluster:cpu:sum', 'ok', 'recording'],
    ]);
  });

  it('marks a series stale when a rule stops producing it, and records a failing rule without stopping the group', async () => {
    const g = group('stale', [
      recording('pod:busy', 'rate(cpu_seconds_total[2m]) > 0.75'),
      recording('bad', 'label_replace(cpu_seconds_total, "x", "$1", "pod", "(.*)") + on() group_left cpu_seconds_total'),
      recording('after_bad', 'count(cpu_seconds_total)'),
    ]);
    const s = scheduler();
    s.setRules([{ file: 'test.yml', groups: [g] }]);
    const at = t0 + 12 * MIN + 30_000;
    await s.evaluateTenant(g, a, at, term());
    expect(await query(a, 'pod:busy', at)).toEqual([{ labels: { __name__: 'pod:busy', pod: 'p1' }, value: 1 }]);
    // Same data, but the threshold rule now sees nothing above 2: the old series gets a stale marker
    // and disappears at once instead of lingering for the 5m lookback.
    const g2 = group('stale', [recording('pod:busy', 'rate(cpu_seconds_total[2m]) > 2'), g.rules[1]!, g.rules[2]!]);
    s.setRules([{ file: 'test.yml', groups: [g2] }]);
    await s.evaluateTenant(g2, a, at + MIN, term());
    expect(await query(a, 'pod:busy', at + MIN)).toEqual([]);
    expect(await query(a, 'pod:busy', at + MIN - 1)).toHaveLength(1);
    const [doc] = (await ts.storage.analyzerState.listGroupStates(a.id)).filter((d) => d.groupName === 'stale');
    const rules = (doc!.state as { rules: Array<{ name: string; health: string; lastError?: string }> }).rules;
    expect(rules[1]).toMatchObject({ name: 'bad', health: 'err' });
    expect(rules[1]!.lastError).toMatch(/many-to-many|multiple matches/);
    expect(rules[2]).toMatchObject({ name: 'after_bad', health: 'ok' });
    expect(await query(a, 'after_bad', at + MIN)).toEqual([{ labels: { __name__: 'after_bad' }, value: 2 }]);
  });

  it('publishes alerts and keeps recommendation history: opened, updated, resolved, reopened', async () => {
    const g = group('recs', [
      alerting('BusyPod', 'rate(cpu_seconds_total[2m]) > 0.75', {
        labels: { trimtab_recommendation: 'risk', severity: 'warning' },
        annotations: { description: 'pod {{ $labels.pod }} uses {{ $value }} cores' },
      }),
      alerting('SlowToFire', 'rate(cpu_seconds_total[2m]) > 0', { forMs: 10 * MIN }),
    ]);
    const s = scheduler();
    s.setRules([{ file: 'recs.yml', groups: [g] }]);
    const at = t0 + 14 * MIN + 30_000;
    await s.evaluateTenant(g, a, at, term(3));
    let recs = await ts.storage.analyzerState.listRecommendations(a.id);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      alertname: 'BusyPod',
      kind: 'risk',
      severity: 'warning',
      labels: { alertname: 'BusyPod', pod: 'p1', severity: 'warning', trimtab_recommendation: 'risk' },
      annotations: { description: 'pod p1 uses 1 cores' },
      value: 1,
      resolvedAt: null,
    });
    expect(recs[0]!.firstSeen.getTime()).toBe(at);
    const firstId = recs[0]!.id;
    // Nothing for tenant b (its pod is idle) — and b cannot see a's.
    expect(await ts.storage.analyzerState.listRecommendations(b.id)).toEqual([]);

    await s.evaluateTenant(g, a, at + MIN, term(3));
    recs = await ts.storage.analyzerState.listRecommendations(a.id);
    expect(recs.map((r) => [r.id, r.lastSeen.getTime()])).toEqual([[firstId, at + MIN]]);

    // The alert's rule changes so it no longer fires: the episode is resolved, and kept as history.
    const quiet = group('recs', [alerting('BusyPod', 'rate(cpu_seconds_total[2m]) > 5', { labels: { trimtab_recommendation: 'risk', severity: 'warning' } }), g.rules[1]!]);
    s.setRules([{ file: 'recs.yml', groups: [quiet] }]);
    await s.evaluateTenant(quiet, a, at + 2 * MIN, term(3));
    expect(await ts.storage.analyzerState.listRecommendations(a.id)).toEqual([]);
    const history = await ts.storage.analyzerState.listRecommendations(a.id, { includeResolved: true });
    expect(history.map((r) => [r.id, r.resolvedAt?.getTime()])).toEqual([[firstId, at + 2 * MIN]]);

    s.setRules([{ file: 'recs.yml', groups: [g] }]);
    await s.evaluateTenant(g, a, at + 3 * MIN, term(3));
    const reopened = await ts.storage.analyzerState.listRecommendations(a.id, { includeResolved: true });
    expect(reopened).toHaveLength(2);
    expect(reopened.find((r) => r.resolvedAt === null)!.id).not.toBe(firstId);

    // The group document carries the alerting rules' alerts in Prometheus' shape.
    const doc = (await ts.storage.analyzerState.listGroupStates(a.id)).find((d) => d.groupName === 'recs')!;
    const slow = (doc.state as { rules: Array<{ name: string; state: string; duration: number; alerts: Array<{ state: string; labels: Record<string, string> }> }> }).rules[1]!;
    expect(slow).toMatchObject({ name: 'SlowToFire', state: 'pending', duration: 600 });
    expect(slow.alerts.map((x) => x.labels.pod).sort()).toEqual(['p1', 'p2']);
  });

  it('refuses every write of a deposed leader', async () => {
    await ts.storage.db.query("INSERT INTO leader_fences (name, epoch, holder_identity) VALUES ('sched-test', 2, 'new-leader') ON CONFLICT (name) DO UPDATE SET epoch = 2, holder_identity = 'new-leader'");
    const g = group('fenced', [recording('fenced:cpu', 'sum(cpu_seconds_total)')]);
    const s = scheduler();
    s.setRules([{ file: 'test.yml', groups: [g] }]);
    const at = t0 + 20 * MIN + 30_000;
    const deposed = term(1, (tx) => assertFence(tx, { leaseName: 'sched-test', epoch: 1, identity: 'old-leader' }));
    // The rule's result write is refused inside the evaluation (the rule is marked failed), and
    // publishing the group state is refused outright.
    await expect(s.evaluateTenant(g, a, at, deposed)).rejects.toBeInstanceOf(FencedError);
    await expect(s.evaluateTenant(g, a, at + MIN, deposed)).rejects.toBeInstanceOf(FencedError);
    expect(await query(a, 'fenced:cpu', at)).toEqual([]);
    expect(await query(a, 'fenced:cpu', at + MIN)).toEqual([]);
    expect((await ts.storage.analyzerState.listGroupStates(a.id)).find((d) => d.groupName === 'fenced')).toBeUndefined();
    const current = term(2, (tx) => assertFence(tx, { leaseName: 'sched-test', epoch: 2, identity: 'new-leader' }));
    await s.evaluateTenant(g, a, at + 2 * MIN, current);
    expect(await query(a, 'fenced:cpu', at + 2 * MIN)).toHaveLength(1);
  });

  it('a new evaluator resumes `for` timers from ALERTS_FOR_STATE as Prometheus does after a restart', async () => {
    // `for` 20m (above the 10m grace period). The first leader sees the alert from T (pending), writes
    // ALERTS_FOR_STATE = T until T+5m, and is gone. The next one starts at T+7m.
    const g = group('restore', [alerting('LongPending', 'cpu_seconds_total{pod="p1"} > 0', { forMs: 20 * MIN })]);
    const T = t0 + 2 * MIN;
    const first = scheduler();
    first.setRules([{ file: 'test.yml', groups: [g] }]);
    for (let t = T; t <= T + 5 * MIN; t += MIN) await first.evaluateTenant(g, a, t, term());
    const forState = async (t: number) => (await query(a, 'ALERTS_FOR_STATE{alertname="LongPending"}', t)).map((x) => x.value);
    // The first evaluation of a new evaluator writes no ALERTS (not restored yet), the next ones do.
    expect(await forState(T)).toEqual([]);
    expect(await forState(T + 5 * MIN)).toEqual([T / 1000]);

    const second = scheduler();
    second.setRules([{ file: 'test.yml', groups: [g] }]);
    const resume = T + 7 * MIN;
    await second.evaluateTenant(g, a, resume, term());
    // 5m were spent pending, 15m remain (more than the grace period): activeAt moves by the 2m outage.
    await second.evaluateTenant(g, a, resume + MIN, term());
    expect(await forState(resume + MIN)).toEqual([(T + 2 * MIN) / 1000]);
    const alertState = async (t: number) => (await query(a, 'ALERTS{alertname="LongPending"}', t)).map((x) => x.labels.alertstate);
    for (let t = resume + 2 * MIN; t < T + 22 * MIN; t += MIN) await second.evaluateTenant(g, a, t, term());
    expect(await alertState(T + 21 * MIN)).toEqual(['pending']);
    await second.evaluateTenant(g, a, T + 22 * MIN, term());
    expect(await alertState(T + 22 * MIN)).toEqual(['firing']);
  }, 60_000);
});
