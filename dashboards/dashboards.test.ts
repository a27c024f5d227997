import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_KEEP_METRICS } from '../agent/keep.ts';
import { FACT_FAMILIES } from '../agent/ksm.ts';
import { ANALYZER_METRICS } from '../analyzer/exported-metrics.ts';
import { parse } from '../promql/index.ts';
import { buildCatalog, readRulePack, type MetricCatalog } from './catalog.ts';
import { compare } from './generate.ts';
import { DASHBOARDS, renderAll } from './index.ts';
import { allPanels, checkDashboards, findQueries, substituteVariables, type JsonDashboard } from './queries.ts';

/** The dashboards as Grafana receives them: the committed JSON's form. */
const built: Array<JsonDashboard & Record<string, any>> = [...renderAll().values()].map((text) => JSON.parse(text));
const byUid = new Map(built.map((d) => [d.uid as string, d]));

let catalog: MetricCatalog;
beforeAll(async () => {
  catalog = await buildCatalog();
});

describe('generated JSON', () => {
  it('is what is committed in dashboards/*.json (run `node dashboards/generate.ts` after changing a dashboard)', async () => {
    expect(await compare()).toEqual([]);
  });

  it('is the same on every build (no timestamps, random ids or map-order effects)', () => {
    expect([...renderAll()]).toEqual([...renderAll()]);
  });

  it('has a schemaVersion Grafana 11+ loads', () => {
    for (const d of built) expect(d.schemaVersion, d.uid).toBeGreaterThanOrEqual(39);
  });
});

describe('UIDs', () => {
  it('are the stable, documented ones, one per file', () => {
    expect(DASHBOARDS.map((d) => [d.uid, d.file])).toEqual([
      ['trimtab-overview', 'trimtab-overview.json'],
      ['trimtab-workload', 'trimtab-workload.json'],
      ['trimtab-nodes', 'trimtab-nodes.json'],
      ['trimtab-health', 'trimtab-health.json'],
    ]);
    expect(built.map((d) => d.uid)).toEqual(DASHBOARDS.map((d) => d.uid));
  });

  it('are unique and fit Grafana (at most 40 characters of [a-zA-Z0-9_-])', () => {
    const uids = built.map((d) => d.uid as string);
    expect(new Set(uids).size).toBe(uids.length);
    for (const u of uids) expect(u).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
  });

  it('of the workload dashboard is the one the overview links to', () => {
    const overview = JSON.stringify(byUid.get('trimtab-overview'));
    expect(overview).toContain('/d/trimtab-workload/');
  });
});

describe('panels', () => {
  it('have a unit, except rows and text', () => {
    const missing: string[] = [];
    for (const d of built) {
      for (const p of allPanels(d)) {
        if (p.type === 'row' || p.type === 'text') continue;
        const unit = (p as any).fieldConfig?.defaults?.unit;
        if (typeof unit !== 'string' || unit === '') missing.push(`${d.uid}: ${p.title}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('have unique ids, a title, queries with unique refIds and a data source, and stay on the grid', () => {
    for (const d of built) {
      const panels = allPanels(d) as any[];
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size, d.uid).toBe(ids.length);
      for (const p of panels) {
        expect(p.title, `${d.uid} panel ${p.id}`).toBeTruthy();
        expect(p.gridPos.x + p.gridPos.w, `${d.uid}: ${p.title}`).toBeLessThanOrEqual(24);
        if (p.type === 'row') continue;
        expect(p.targets?.length, `${d.uid}: ${p.title} has no query`).toBeGreaterThan(0);
        const refIds = p.targets.map((t: any) => t.refId);
        expect(new Set(refIds).size, `${d.uid}: ${p.title}`).toBe(refIds.length);
        for (const t of p.targets) {
          expect(t.refId).toMatch(/^[A-Z]$/);
          expect(t.datasource, `${d.uid}: ${p.title} ${t.refId}`).toEqual(p.datasource);
          expect(t.datasource.type).toBe('prometheus');
        }
      }
    }
  });

  it('do not overlap', () => {
    for (const d of built) {
      const boxes = allPanels(d).map((p: any) => ({ title: p.title, ...p.gridPos }));
      for (const [i, a] of boxes.entries()) {
        for (const b of boxes.slice(i + 1)) {
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect(overlap, `${d.uid}: ${a.title} overlaps ${b.title}`).toBe(false);
        }
      }
    }
  });

  it('are the required ones', () => {
    const titles = (uid: string) => allPanels(byUid.get(uid)!).map((p) => p.title);
    expect(titles('trimtab-overview')).toEqual(
      expect.arrayContaining(['Monthly savings available', 'Efficiency score', 'Top recommendations by monthly savings', 'Monthly savings by cluster', 'Monthly savings by namespace (top 15)']),
    );
    expect(titles('trimtab-workload')).toEqual(
      expect.arrayContaining([
        'CPU usage vs requests and limits: $container',
        'Memory working set vs requests and limits: $container',
        'CPU throttling: $container',
        'OOM kills and restarts: $container',
      ]),
    );
    expect(titles('trimtab-nodes')).toEqual(expect.arrayContaining(['Drainable nodes', 'Nodes before and after, by algorithm', 'CPU requested / allocatable by node']));
    expect(titles('trimtab-health')).toEqual(
      expect.arrayContaining([
        'Ingest rate by tenant',
        'Errors by handler and code',
        'Write latency',
        'Rejected samples by reason',
        'Analyzer leader',
        'Leader transitions',
        'Rule evaluation duration',
        'Rule evaluations and failures',
        'Database pool',
      ]),
    );
  });

  it('of the workload dashboard repeat per container', () => {
    const rows = allPanels(byUid.get('trimtab-workload')!).filter((p) => p.type === 'row') as any[];
    expect(rows.some((r) => r.repeat === 'container')).toBe(true);
  });
});

describe('template variables', () => {
  const vars = (uid: string) => (byUid.get(uid)!.templating?.list ?? []) as any[];

  it('are the data sources and the Kubernetes identity each dashboard needs', () => {
    const names = (uid: string) => vars(uid).map((v) => v.name);
    expect(names('trimtab-overview')).toEqual(['datasource', 'prometheus', 'cluster', 'namespace', 'workload']);
    expect(names('trimtab-workload')).toEqual(['datasource', 'cluster', 'namespace', 'workload', 'container']);
    expect(names('trimtab-nodes')).toEqual(['datasource', 'prometheus', 'cluster']);
    expect(names('trimtab-health')).toEqual(['prometheus', 'instance', 'agent']);
  });

  it('pick Prometheus data sources and list label values through one', () => {
    for (const d of built) {
      for (const v of vars(d.uid!)) {
        if (v.type === 'datasource') expect(v.query, `${d.uid} $${v.name}`).toBe('prometheus');
        else {
          expect(v.type, `${d.uid} $${v.name}`).toBe('query');
          expect(v.query).toMatch(/^label_values\(/);
          expect(['${datasource}', '${prometheus}']).toContain(v.datasource.uid);
        }
      }
    }
  });
});

describe('queries', () => {
  const all = built.flatMap((d) => findQueries(d).map((q) => ({ q, variables: new Set((d.templating?.list ?? []).map((v) => v.name)) })));

  it('are found in every panel target and query variable', () => {
    const targets = built.flatMap((d) => allPanels(d).flatMap((p) => p.targets ?? []));
    const queryVariables = built.flatMap((d) => (d.templating?.list ?? []).filter((v) => v.type === 'query'));
    expect(all.length).toBe(targets.length + queryVariables.length);
    expect(all.length).toBeGreaterThan(80);
  });

  it.each(all.map(({ q, variables }) => [`${q.dashboard} ${q.where}`, q, variables] as const))('parse: %s', (_name, q, variables) => {
    expect(() => parse(substituteVariables(q.promql, variables))).not.toThrow();
  });

  it('read only metrics Trimtab emits or ingests, through the data source that serves them', () => {
    const { problems } = checkDashboards(built, catalog);
    expect(problems.map((p) => `${p.dashboard} ${p.where}: ${p.problem}`)).toEqual([]);
  });

  it('read the rule pack contract series', () => {
    const read = new Set(checkDashboards(built, catalog).queries.flatMap((q) => q.metrics));
    for (const name of [
      'workload_container:trimtab_requests:current',
      'workload_container:trimtab_limits:current',
      'workload_container:trimtab_requests:recommended',
      'workload_container:trimtab_limits:recommended',
      'workload_container:trimtab_monthly_savings_dollars:recommended',
      'workload_container:trimtab_replicas:current',
      'cluster:trimtab_efficiency:ratio',
      'namespace_workload_pod:kube_pod_owner:relabel',
      'ALERTS',
      'container_cpu_usage_seconds_total',
      'container_memory_working_set_bytes',
      'container_cpu_cfs_throttled_periods_total',
      'kube_pod_container_status_last_terminated_reason',
      'container_oom_events_total',
    ]) {
      expect(read.has(name), name).toBe(true);
    }
  });
});

describe('the metric checker', () => {
  const dashboard = (expr: string, ds = '${datasource}', variables = ['datasource', 'prometheus', 'cluster']): JsonDashboard => ({
    uid: 'test',
    panels: [{ id: 1, type: 'timeseries', title: 't', datasource: { type: 'prometheus', uid: ds }, targets: [{ refId: 'A', expr, datasource: { type: 'prometheus', uid: ds } }] }],
    templating: { list: variables.map((name) => ({ name, type: name === 'cluster' ? 'custom' : 'datasource' })) },
  });
  const problems = (d: JsonDashboard) => checkDashboards([d], catalog).problems.map((p) => p.problem);

  it('accepts a known metric on its data source', () => {
    expect(problems(dashboard('sum by (pod) (rate(container_cpu_usage_seconds_total{cluster=~"$cluster"}[$__rate_interval]))'))).toEqual([]);
    expect(problems(dashboard('sum(rate(trimtab_receiver_samples_ingested_total[5m]))', '${prometheus}'))).toEqual([]);
  });

  it('catches a metric no component emits or ingests', () => {
    expect(problems(dashboard('sum(rate(container_cpu_usage_seconds_total[5m])) / sum(trimtab_made_up_metric)'))).toEqual([
      'reads trimtab_made_up_metric, which no Trimtab component emits or ingests',
    ]);
  });

  it('catches a misspelt recording rule', () => {
    expect(problems(dashboard('workload_container:trimtab_request:current'))).toEqual(['reads workload_container:trimtab_request:current, which no Trimtab component emits or ingests']);
  });

  it('catches a metric read through the wrong data source', () => {
    expect(problems(dashboard('trimtab_receiver_inflight_requests'))[0]).toMatch(/reads trimtab_receiver_inflight_requests .* through \$datasource, but it is served by \$prometheus/);
    expect(problems(dashboard('container_memory_working_set_bytes', '${prometheus}'))[0]).toMatch(/served by \$datasource/);
  });

  it('catches a query that does not parse, an unknown variable and a selector without a metric name', () => {
    expect(problems(dashboard('sum(rate(container_cpu_usage_seconds_total[5m])'))[0]).toMatch(/parse error/);
    expect(problems(dashboard('container_memory_working_set_bytes{namespace="$namespace"}'))).toEqual([
      'unknown variable $namespace in "container_memory_working_set_bytes{namespace=\\"$namespace\\"}"',
    ]);
    expect(problems(dashboard('{cluster="a"}'))[0]).toMatch(/does not name its metric/);
  });

  it('checks template-variable queries too', () => {
    const d = dashboard('container_memory_working_set_bytes');
    d.templating!.list!.push({ name: 'ns', type: 'query', query: 'label_values(not_a_trimtab_metric{cluster=~"$cluster"}, namespace)', datasource: { type: 'prometheus', uid: '${datasource}' } });
    expect(problems(d)).toEqual(['reads not_a_trimtab_metric, which no Trimtab component emits or ingests']);
  });
});

describe('the catalog', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trimtab-catalog-'));
    await writeFile(
      join(dir, 'pack.yml'),
      `groups:
  - name: g
    rules:
      - record: ns:my_usage:sum
        expr: sum by (namespace) (rate(some_exporter_metric_total[5m]))
      - alert: Big
        expr: ns:my_usage:sum > 1
`,
    );
    await mkdir(join(dir, 'tests'));
    await writeFile(join(dir, 'pack_test.yml'), 'rule_files: [pack.yml]\ntests: []\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the receiver, agent and analyzer metrics from their code, histograms as their series', () => {
    const has = (name: string, source: string) => expect([...catalog.sourcesOf(name)], name).toContain(source);
    has('trimtab_receiver_request_duration_seconds_bucket', 'receiver');
    has('trimtab_receiver_request_duration_seconds_count', 'receiver');
    has('trimtab_receiver_samples_rejected_total', 'receiver');
    has('trimtab_db_pool_connections', 'receiver');
    has('process_cpu_seconds_total', 'receiver');
    has('trimtab_agent_remote_write_duration_seconds_bucket', 'agent');
    has('trimtab_analyzer_leader', 'analyzer');
    has('trimtab_analyzer_leader_transitions_total', 'analyzer');
    has('trimtab_rule_evaluation_duration_seconds_bucket', 'analyzer');
    for (const m of ANALYZER_METRICS) if (m.type !== 'histogram') has(m.name, 'analyzer');
    has('ALERTS', 'alerts');
    has('ALERTS_FOR_STATE', 'alerts');
    expect(catalog.sourcesOf('trimtab_receiver_request_duration_seconds').size).toBe(0);
  });

  it('holds what the agent ingests: the default keep-list (patterns too) and its kube-state-metrics families', () => {
    for (const m of DEFAULT_KEEP_METRICS) if (!m.includes('*')) expect([...catalog.sourcesOf(m)], m).toContain('ingested');
    for (const m of FACT_FAMILIES.keys()) expect([...catalog.sourcesOf(m)], m).toContain('ingested');
    expect([...catalog.sourcesOf('kube_horizontalpodautoscaler_spec_max_replicas')]).toContain('ingested');
  });

  it('reads record names and the metrics expressions read from the rule files, skipping promtool test files', async () => {
    const c = await buildCatalog({ rulesDir: dir });
    expect([...c.sourcesOf('ns:my_usage:sum')]).toEqual(['recorded']);
    expect([...c.sourcesOf('some_exporter_metric_total')]).toEqual(['ingested']);
    expect(c.ruleFiles).toEqual(['rules/pack.yml']);
    expect([...c.alertNames]).toEqual(['Big']);
    const pack = await readRulePack(dir);
    expect(pack.recorded).toEqual(new Set(['ns:my_usage:sum']));
  });

  it('is empty of recording rules without a rules directory', async () => {
    const c = await buildCatalog({ rulesDir: join(dir, 'absent') });
    expect(c.ruleFiles).toEqual([]);
    expect(c.sourcesOf('ns:my_usage:sum').size).toBe(0);
  });
});
