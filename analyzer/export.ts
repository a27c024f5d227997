// The analyzer's /metrics (besides leader election, metrics.ts): rule-evaluation metrics in the style
// of Prometheus' own (prometheus_rule_*), and the recommendations of the latest evaluation as trimtab_*
// gauges, so that any Prometheus can scrape them. Names, help and labels come from exported-metrics.ts.
// Recommendation gauges are rebuilt at scrape time from the latest evaluation of each tenant and group,
// so a resolved recommendation disappears instead of lingering at its last value.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { getLabel } from '../promql/labels.ts';
import type { RecommendationInput } from '../storage/analyzer-state.ts';
import type { Alert } from './alerting.ts';
import { RECOMMENDATION_METRICS, RULE_METRICS, type ExportedMetric } from './exported-metrics.ts';
import type { ConsolidationPlan } from './consolidation.ts';
import type { RecommendationDetails } from './recommendations.ts';
import type { RuleGroup } from './rule-types.ts';

export interface AnalyzerMetrics {
  setGroups(groups: readonly RuleGroup[]): void;
  reload(ok: boolean): void;
  iteration(group: RuleGroup): void;
  iterationsMissed(group: RuleGroup, n: number): void;
  ruleEvaluated(tenant: string, group: RuleGroup, ms: number, failed: boolean): void;
  groupEvaluated(tenant: string, group: RuleGroup, ms: number, ts: number): void;
  samplesWritten(tenant: string, n: number): void;
  setAlerts(tenant: string, group: RuleGroup, alerts: readonly Alert[]): void;
  setRecommendations(tenant: string, group: RuleGroup, recommendations: readonly RecommendationInput[]): void;
  /** The latest consolidation plans of a tenant, per cluster. */
  setConsolidation(tenant: string, plans: ReadonlyMap<string, { ffd: ConsolidationPlan; bfd: ConsolidationPlan; best: ConsolidationPlan }>): void;
  /** Drops per-tenant state (a new term starts from nothing). */
  clear(): void;
}

function groupLabel(g: RuleGroup): string {
  // Prometheus' rule_group label is "<file>;<group>".
  return `${g.position.file};${g.name}`;
}

export function createAnalyzerMetrics(registry: Registry): AnalyzerMetrics {
  const registers = [registry];
  const gauge = (m: ExportedMetric, collect?: (this: Gauge) => void) =>
    new Gauge({ name: m.name, help: m.help, labelNames: [...m.labelNames], registers, ...(collect ? { collect } : {}) });
  const counter = (m: ExportedMetric) => new Counter({ name: m.name, help: m.help, labelNames: [...m.labelNames], registers });

  const lastDuration = gauge(RULE_METRICS.groupLastDuration);
  const lastEvaluation = gauge(RULE_METRICS.groupLastEvaluation);
  const interval = gauge(RULE_METRICS.groupInterval);
  const rules = gauge(RULE_METRICS.groupRules);
  const iterations = counter(RULE_METRICS.groupIterations);
  const missed = counter(RULE_METRICS.groupIterationsMissed);
  const evaluations = counter(RULE_METRICS.evaluations);
  const failures = counter(RULE_METRICS.evaluationFailures);
  const duration = new Histogram({
    name: RULE_METRICS.evaluationDuration.name,
    help: RULE_METRICS.evaluationDuration.help,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const written = counter(RULE_METRICS.resultWrites);
  const reloadOk = gauge(RULE_METRICS.ruleFilesLoaded);
  const reloadTime = gauge(RULE_METRICS.ruleFilesReloadTime);

  // Latest state per tenant and group, turned into gauges at scrape time.
  const alertsByGroup = new Map<string, { tenant: string; alerts: readonly Alert[] }>();
  const recsByGroup = new Map<string, { tenant: string; recs: readonly RecommendationInput[] }>();
  const key = (tenant: string, g: RuleGroup) => `${tenant}\u0000${groupLabel(g)}`;

  gauge(RULE_METRICS.alerts, function () {
    this.reset();
    const counts = new Map<string, { tenant: string; alertname: string; state: string; n: number }>();
    for (const { tenant, alerts } of alertsByGroup.values()) {
      for (const a of alerts) {
        const alertname = getLabel(a.labels, 'alertname');
        const k = `${tenant}\u0000${alertname}\u0000${a.state}`;
        const c = counts.get(k) ?? { tenant, alertname, state: a.state, n: 0 };
        c.n++;
        counts.set(k, c);
      }
    }
    for (const c of counts.values()) this.set({ tenant: c.tenant, alertname: c.alertname, state: c.state }, c.n);
  });

  const workload = (tenant: string, l: Record<string, string>) => ({
    tenant,
    cluster: l.cluster ?? '',
    namespace: l.namespace ?? '',
    workload: l.workload ?? '',
    workload_kind: l.workload_kind ?? '',
    container: l.container ?? '',
  });
  const eachRec = (fn: (tenant: string, r: RecommendationInput) => void) => {
    for (const { tenant, recs } of recsByGroup.values()) for (const r of recs) fn(tenant, r);
  };
  const detailsOf = (r: RecommendationInput): RecommendationDetails | null => (r.details as unknown as RecommendationDetails | null) ?? null;

  gauge(RECOMMENDATION_METRICS.recommendation, function () {
    this.reset();
    eachRec((tenant, r) =>
      this.set(
        { ...workload(tenant, r.labels), resource: r.labels.resource ?? '', alertname: r.alertname, trimtab_recommendation: r.kind, severity: r.severity },
        r.value,
      ),
    );
  });
  const detailGauge = (m: ExportedMetric, pick: (d: RecommendationDetails) => number | null, withSeverity: boolean) =>
    gauge(m, function () {
      this.reset();
      eachRec((tenant, r) => {
        const d = detailsOf(r);
        const v = d ? pick(d) : null;
        if (v === null) return;
        const labels: Record<string, string> = { ...workload(tenant, r.labels), resource: r.labels.resource ?? '' };
        if (withSeverity) labels.severity = r.severity;
        this.set(labels, v);
      });
    });
  detailGauge(RECOMMENDATION_METRICS.currentRequest, (d) => d.current.request, false);
  detailGauge(RECOMMENDATION_METRICS.currentLimit, (d) => d.current.limit, false);
  detailGauge(RECOMMENDATION_METRICS.recommendedRequest, (d) => d.recommended.request, true);
  detailGauge(RECOMMENDATION_METRICS.recommendedLimit, (d) => d.recommended.limit, true);
  detailGauge(RECOMMENDATION_METRICS.monthlySavings, (d) => d.monthlySavings, false);
  gauge(RECOMMENDATION_METRICS.recommendations, function () {
    this.reset();
    const counts = new Map<string, { labels: Record<string, string>; n: number }>();
    eachRec((tenant, r) => {
      const labels = { tenant, cluster: r.labels.cluster ?? '', trimtab_recommendation: r.kind, severity: r.severity };
      const k = JSON.stringify(labels);
      const c = counts.get(k) ?? { labels, n: 0 };
      c.n++;
      counts.set(k, c);
    });
    for (const c of counts.values()) this.set(c.labels, c.n);
  });

  const consolidation = new Map<string, ReadonlyMap<string, { ffd: ConsolidationPlan; bfd: ConsolidationPlan; best: ConsolidationPlan }>>();
  const eachPlan = (fn: (tenant: string, cluster: string, p: { ffd: ConsolidationPlan; bfd: ConsolidationPlan; best: ConsolidationPlan }) => void) => {
    for (const [tenant, plans] of consolidation) for (const [cluster, p] of plans) fn(tenant, cluster, p);
  };
  gauge(RECOMMENDATION_METRICS.drainableNodes, function () {
    this.reset();
    eachPlan((tenant, cluster, p) => {
      this.set({ tenant, cluster, algorithm: 'ffd' }, p.ffd.drainable.length);
      this.set({ tenant, cluster, algorithm: 'bfd' }, p.bfd.drainable.length);
    });
  });
  gauge(RECOMMENDATION_METRICS.nodeDrainable, function () {
    this.reset();
    eachPlan((tenant, cluster, p) => {
      for (const d of p.best.drainable) this.set({ tenant, cluster, node: d.node }, 1);
    });
  });
  gauge(RECOMMENDATION_METRICS.nodesBefore, function () {
    this.reset();
    eachPlan((tenant, cluster, p) => this.set({ tenant, cluster }, p.best.nodesBefore));
  });
  gauge(RECOMMENDATION_METRICS.nodesAfter, function () {
    this.reset();
    eachPlan((tenant, cluster, p) => {
      this.set({ tenant, cluster, algorithm: 'ffd' }, p.ffd.nodesAfter);
      this.set({ tenant, cluster, algorithm: 'bfd' }, p.bfd.nodesAfter);
    });
  });
  gauge(RECOMMENDATION_METRICS.consolidationSavings, function () {
    this.reset();
    eachPlan((tenant, cluster, p) => this.set({ tenant, cluster }, p.best.monthlySavings));
  });

  return {
    setConsolidation(tenant, plans) {
      consolidation.set(tenant, plans);
    },
    setGroups(groups) {
      interval.reset();
      rules.reset();
      for (const g of groups) {
        interval.set({ rule_group: groupLabel(g) }, g.intervalMs / 1000);
        rules.set({ rule_group: groupLabel(g) }, g.rules.length);
      }
      const live = new Set(groups.map(groupLabel));
      for (const [k] of alertsByGroup) if (!live.has(k.split('\u0000')[1]!)) alertsByGroup.delete(k);
      for (const [k] of recsByGroup) if (!live.has(k.split('\u0000')[1]!)) recsByGroup.delete(k);
    },
    reload(ok) {
      reloadOk.set(ok ? 1 : 0);
      if (ok) reloadTime.set(Date.now() / 1000);
    },
    iteration(g) {
      iterations.inc({ rule_group: groupLabel(g) });
    },
    iterationsMissed(g, n) {
      missed.inc({ rule_group: groupLabel(g) }, n);
    },
    ruleEvaluated(tenant, g, ms, failed) {
      evaluations.inc({ tenant, rule_group: groupLabel(g) });
      if (failed) failures.inc({ tenant, rule_group: groupLabel(g) });
      else failures.inc({ tenant, rule_group: groupLabel(g) }, 0);
      duration.observe(ms / 1000);
    },
    groupEvaluated(tenant, g, ms, ts) {
      lastDuration.set({ tenant, rule_group: groupLabel(g) }, ms / 1000);
      lastEvaluation.set({ tenant, rule_group: groupLabel(g) }, ts / 1000);
    },
    samplesWritten(tenant, n) {
      written.inc({ tenant }, n);
    },
    setAlerts(tenant, g, alerts) {
      alertsByGroup.set(key(tenant, g), { tenant, alerts: [...alerts] });
    },
    setRecommendations(tenant, g, recs) {
      recsByGroup.set(key(tenant, g), { tenant, recs: [...recs] });
    },
    clear() {
      alertsByGroup.clear();
      recsByGroup.clear();
      consolidation.clear();
    },
  };
}

