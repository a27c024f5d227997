// Observability of Trimtab itself (ServiceMonitors, the PrometheusRule with its alerts, the dashboards as
// ConfigMaps) and the NOTES printed after an install.

import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AGENT_ONLY, CHART, CONTROL_PLANE_ONLY, EVERYTHING, NAMESPACE, byKind, notes, one, render, type K8sObject } from './support.ts';

let everything: K8sObject[];
beforeAll(async () => {
  everything = await render(EVERYTHING);
});

function promtool(): string | undefined {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return 'promtool';
  } catch {
    return undefined;
  }
}

describe('ServiceMonitors', () => {
  it('none by default', async () => {
    const objects = await render();
    expect(byKind(objects, 'ServiceMonitor')).toEqual([]);
    expect(byKind(objects, 'PrometheusRule')).toEqual([]);
  });

  it('one per component, each selecting a Service of the release by a port that Service has', () => {
    const monitors = byKind(everything, 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['trimtab-agent', 'trimtab-analyzer', 'trimtab-receiver']);
    for (const m of monitors) {
      expect(m.apiVersion).toBe('monitoring.coreos.com/v1');
      expect(m.spec.namespaceSelector).toEqual({ matchNames: [NAMESPACE] });
      const services = byKind(everything, 'Service').filter((s) => Object.entries(m.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => s.metadata.labels?.[k] === v));
      expect(services.map((s) => s.metadata.name), m.metadata.name).toEqual([m.metadata.name]);
      for (const e of m.spec.endpoints as { port: string; path: string }[]) {
        expect(e.path).toBe('/metrics');
        expect((services[0].spec.ports as { name: string }[]).map((p) => p.name)).toContain(e.port);
      }
    }
  });

  it('agent only: just the agent', async () => {
    const objects = await render({ ...AGENT_ONLY, serviceMonitor: { enabled: true } });
    expect(byKind(objects, 'ServiceMonitor').map((m) => m.metadata.name)).toEqual(['trimtab-agent']);
  });
});

describe('PrometheusRule', () => {
  const rules = () => {
    const pr = one(everything, 'PrometheusRule', 'trimtab');
    expect(pr.apiVersion).toBe('monitoring.coreos.com/v1');
    return (pr.spec.groups as { rules: { alert?: string; expr: string; for?: string; labels?: Record<string, string> }[] }[]).flatMap((g) => g.rules);
  };
  const alert = (name: string) => rules().find((r) => r.alert === name)!;

  it('alerts on ingest errors, a missing leader, failing rules, a growing agent queue and dropped samples', () => {
    expect(rules().map((r) => r.alert)).toEqual(['TrimtabReceiverErrors', 'TrimtabAnalyzerNoLeader', 'TrimtabRuleEvaluationFailures', 'TrimtabAgentQueueGrowing', 'TrimtabAgentSamplesDropped']);
    expect(alert('TrimtabReceiverErrors').expr).toMatch(/trimtab_receiver_requests_total\{job="trimtab-receiver", namespace="trimtab-system", code=~"5\.\."\}/);
    expect(alert('TrimtabReceiverErrors').expr).toContain('> 0.05');
    expect(alert('TrimtabAnalyzerNoLeader').expr).toMatch(/max\(trimtab_analyzer_leader\{[^}]*\}\) == 0\s+or absent\(trimtab_analyzer_leader\{[^}]*\}\)/);
    expect(alert('TrimtabAnalyzerNoLeader').labels?.severity).toBe('critical');
    expect(alert('TrimtabRuleEvaluationFailures').expr).toContain('increase(trimtab_rule_evaluation_failures_total{');
    expect(alert('TrimtabAgentQueueGrowing').expr).toMatch(/deriv\(trimtab_agent_queue_samples\{[^}]*\}\[15m\]\) > 0\s+and trimtab_agent_queue_samples\{[^}]*\} > 100000/);
    for (const r of rules()) expect(r.labels?.severity, r.alert).toMatch(/^(warning|critical)$/);
  });

  it('the metric names are the ones the code exports', async () => {
    const { readFileSync } = await import('node:fs');
    const source = ['receiver/metrics.ts', 'analyzer/metrics.ts', 'analyzer/exported-metrics.ts', 'agent/metrics.ts'].map((f) => readFileSync(join(CHART, '..', '..', f), 'utf8')).join('\n');
    for (const name of ['trimtab_receiver_requests_total', 'trimtab_analyzer_leader', 'trimtab_rule_evaluation_failures_total', 'trimtab_agent_queue_samples', 'trimtab_agent_samples_dropped_total']) {
      expect(source, name).toContain(`'${name}'`);
    }
  });

  it('agent only: only the agent alerts; control plane only: no agent alerts', async () => {
    const agentRules = one(await render({ ...AGENT_ONLY, prometheusRule: { enabled: true } }), 'PrometheusRule', 'trimtab');
    expect(agentRules.spec.groups[0].rules.map((r: { alert: string }) => r.alert)).toEqual(['TrimtabAgentQueueGrowing', 'TrimtabAgentSamplesDropped']);
    const cpRules = one(await render({ ...CONTROL_PLANE_ONLY, prometheusRule: { enabled: true } }), 'PrometheusRule', 'trimtab');
    expect(cpRules.spec.groups[0].rules.map((r: { alert: string }) => r.alert)).toEqual(['TrimtabReceiverErrors', 'TrimtabAnalyzerNoLeader', 'TrimtabRuleEvaluationFailures']);
  });

  it.skipIf(!promtool())('promtool check rules accepts the rule group (skipped: promtool is not installed)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trimtab-rules-'));
    try {
      const file = join(dir, 'trimtab.yml');
      writeFileSync(file, stringify({ groups: one(everything, 'PrometheusRule', 'trimtab').spec.groups }));
      const out = execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(out).toContain('SUCCESS: 5 rules found');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dashboards as ConfigMaps', () => {
  let chartCopy: string;
  beforeAll(() => {
    chartCopy = mkdtempSync(join(tmpdir(), 'trimtab-chart-'));
    cpSync(CHART, chartCopy, { recursive: true });
    for (const f of readdirSync(join(chartCopy, 'dashboards'))) if (f.endsWith('.json')) rmSync(join(chartCopy, 'dashboards', f));
    writeFileSync(join(chartCopy, 'dashboards', 'Trimtab_Overview.json'), JSON.stringify({ title: 'Trimtab overview', panels: [{ id: 1, title: 'a "quoted" {{ braces }} title' }] }, null, 2) + '\n');
    writeFileSync(join(chartCopy, 'dashboards', 'workloads.json'), '{"title":"Workloads"}');
  });
  afterAll(() => rmSync(chartCopy, { recursive: true, force: true }));

  it('one ConfigMap per dashboards/*.json, labelled for the Grafana sidecar, content byte for byte', async () => {
    const objects = await render({ dashboards: { annotations: { grafana_folder: 'Trimtab' } } }, { chart: chartCopy });
    const maps = byKind(objects, 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard === '1');
    expect(maps.map((m) => m.metadata.name)).toEqual(['trimtab-dashboard-trimtab-overview', 'trimtab-dashboard-workloads']);
    expect(maps[0].metadata.annotations).toEqual({ grafana_folder: 'Trimtab' });
    const { readFileSync } = await import('node:fs');
    // A block scalar keeps the text; the final newline is the only thing `|-` may drop.
    expect(maps[0].data['Trimtab_Overview.json']).toBe(readFileSync(join(chartCopy, 'dashboards', 'Trimtab_Overview.json'), 'utf8').trimEnd());
    expect(JSON.parse(maps[1].data['workloads.json'])).toEqual({ title: 'Workloads' });
  });

  it('the label is configurable; nothing in agent-only mode or when disabled', async () => {
    const custom = await render({ dashboards: { label: 'grafana_dashboard_trimtab', labelValue: 'yes' } }, { chart: chartCopy });
    expect(byKind(custom, 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard_trimtab === 'yes')).toHaveLength(2);
    expect(byKind(await render(AGENT_ONLY, { chart: chartCopy }), 'ConfigMap')).toEqual([]);
    expect(byKind(await render({ dashboards: { enabled: false } }, { chart: chartCopy }), 'ConfigMap')).toEqual([]);
  });

  it('the real chart renders one ConfigMap per file it holds', async () => {
    const files = readdirSync(join(CHART, 'dashboards')).filter((f) => f.endsWith('.json'));
    const maps = byKind(await render(), 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard === '1');
    expect(maps).toHaveLength(files.length);
  });
});

describe('NOTES.txt', () => {
  it('control plane: the database Secret, tenant and token creation, the write URL, the Grafana data source', async () => {
    const text = await notes();
    expect(text).toContain(`kubectl -n ${NAMESPACE} create secret generic trimtab-database`);
    expect(text).toContain(`kubectl -n ${NAMESPACE} exec deploy/trimtab-receiver -- node bin/trimtab.ts tenant create team-a`);
    expect(text).toContain('token create');
    expect(text).toContain(`http://trimtab-receiver.${NAMESPACE}.svc:9201/api/v1/write`);
    expect(text).toMatch(/Grafana: add a Prometheus data source with\s+URL:\s+http:\/\/trimtab-receiver\.trimtab-system\.svc:9201\n/);
    expect(text).toContain('Authorization = Bearer <token>');
    expect(text).toContain('create secret generic trimtab-agent-token --from-literal=token=');
  });

  it('with an Ingress, the public URL', async () => {
    const text = await notes(EVERYTHING);
    expect(text).toContain('https://trimtab.example.com/api/v1/write');
    expect(text).not.toContain('create secret generic trimtab-agent-token');
  });

  it('agent only: the token Secret to create and where the agent sends', async () => {
    const text = await notes(AGENT_ONLY);
    expect(text).toContain('create secret generic trimtab-token --from-literal=token=<token>');
    expect(text).toContain('https://trimtab.example.com/api/v1/write');
    expect(text).toContain('"prod-eu-1"');
    expect(text).not.toContain('tenant create team-a');
  });
});
