// The analyzer's /metrics: names, help and labels in one place. The exporter (export.ts) registers
// exactly these, and the dashboards' metric catalog reads them from here, so a dashboard can never
// query a name the analyzer does not emit.
//
// Recommendation gauges carry `tenant` plus the workload identity the rule pack records
// (cluster, namespace, workload, workload_kind, container) so that any Prometheus can scrape the
// analyzer and join them with its own data.

export interface ExportedMetric {
  name: string;
  type: 'gauge' | 'counter' | 'histogram';
  help: string;
  labelNames: readonly string[];
}

const WORKLOAD = ['tenant', 'cluster', 'namespace', 'workload', 'workload_kind', 'container'] as const;

export const RULE_METRICS = {
  groupLastDuration: { name: 'trimtab_rule_group_last_duration_seconds', type: 'gauge', help: 'Duration of the last evaluation of the rule group for the tenant.', labelNames: ['tenant', 'rule_group'] },
  groupLastEvaluation: {
    name: 'trimtab_rule_group_last_evaluation_timestamp_seconds',
    type: 'gauge',
    help: 'Timestamp of the last evaluation of the rule group for the tenant.',
    labelNames: ['tenant', 'rule_group'],
  },
  groupInterval: { name: 'trimtab_rule_group_interval_seconds', type: 'gauge', help: 'The interval of a rule group.', labelNames: ['rule_group'] },
  groupRules: { name: 'trimtab_rule_group_rules', type: 'gauge', help: 'The number of rules in a rule group.', labelNames: ['rule_group'] },
  groupIterations: { name: 'trimtab_rule_group_iterations_total', type: 'counter', help: 'Scheduled evaluations of rule groups (all tenants together).', labelNames: ['rule_group'] },
  groupIterationsMissed: {
    name: 'trimtab_rule_group_iterations_missed_total',
    type: 'counter',
    help: 'Rule group evaluations missed because an evaluation took longer than the interval.',
    labelNames: ['rule_group'],
  },
  evaluations: { name: 'trimtab_rule_evaluations_total', type: 'counter', help: 'Rule evaluations, per tenant and group.', labelNames: ['tenant', 'rule_group'] },
  evaluationFailures: { name: 'trimtab_rule_evaluation_failures_total', type: 'counter', help: 'Rule evaluations that failed, per tenant and group.', labelNames: ['tenant', 'rule_group'] },
  evaluationDuration: {
    name: 'trimtab_rule_evaluation_duration_seconds',
    type: 'histogram',
    help: 'Duration of single rule evaluations.',
    labelNames: [],
  },
  resultWrites: { name: 'trimtab_rule_result_samples_written_total', type: 'counter', help: 'Samples written back to the store by rule evaluation.', labelNames: ['tenant'] },
  ruleFilesLoaded: { name: 'trimtab_rule_files_last_reload_successful', type: 'gauge', help: 'Whether the last rule-file (re)load succeeded (1) or was refused (0).', labelNames: [] },
  ruleFilesReloadTime: { name: 'trimtab_rule_files_last_reload_success_timestamp_seconds', type: 'gauge', help: 'Timestamp of the last successful rule-file load.', labelNames: [] },
  alerts: { name: 'trimtab_alerts', type: 'gauge', help: 'Active alerts by state, per tenant.', labelNames: ['tenant', 'alertname', 'state'] },
} as const satisfies Record<string, ExportedMetric>;

export const RECOMMENDATION_METRICS = {
  recommendation: {
    name: 'trimtab_recommendation',
    type: 'gauge',
    help: 'A firing recommendation (an alert of a rule labelled trimtab_recommendation); the value is the alert value.',
    labelNames: [...WORKLOAD, 'resource', 'alertname', 'trimtab_recommendation', 'severity'],
  },
  currentRequest: { name: 'trimtab_container_current_request', type: 'gauge', help: 'Current request of the container (cores or bytes).', labelNames: [...WORKLOAD, 'resource'] },
  currentLimit: { name: 'trimtab_container_current_limit', type: 'gauge', help: 'Current limit of the container (cores or bytes).', labelNames: [...WORKLOAD, 'resource'] },
  recommendedRequest: { name: 'trimtab_container_recommended_request', type: 'gauge', help: 'Recommended request of the container (cores or bytes).', labelNames: [...WORKLOAD, 'resource', 'severity'] },
  recommendedLimit: { name: 'trimtab_container_recommended_limit', type: 'gauge', help: 'Recommended limit of the container (cores or bytes).', labelNames: [...WORKLOAD, 'resource', 'severity'] },
  monthlySavings: {
    name: 'trimtab_container_monthly_savings_dollars',
    type: 'gauge',
    help: 'Monthly savings of applying the recommendation (negative when it adds resources).',
    labelNames: [...WORKLOAD, 'resource'],
  },
  recommendations: { name: 'trimtab_recommendations', type: 'gauge', help: 'Open recommendations by kind and severity.', labelNames: ['tenant', 'cluster', 'trimtab_recommendation', 'severity'] },
  drainableNodes: { name: 'trimtab_node_consolidation_drainable_nodes', type: 'gauge', help: 'Nodes that bin packing could drain.', labelNames: ['tenant', 'cluster', 'algorithm'] },
  nodeDrainable: { name: 'trimtab_node_drainable', type: 'gauge', help: '1 for each node the best packing drains.', labelNames: ['tenant', 'cluster', 'node'] },
  nodesBefore: { name: 'trimtab_node_consolidation_nodes_before', type: 'gauge', help: 'Nodes in use before consolidation.', labelNames: ['tenant', 'cluster'] },
  nodesAfter: { name: 'trimtab_node_consolidation_nodes_after', type: 'gauge', help: 'Nodes needed after consolidation.', labelNames: ['tenant', 'cluster', 'algorithm'] },
  consolidationSavings: {
    name: 'trimtab_node_consolidation_monthly_savings_dollars',
    type: 'gauge',
    help: 'Monthly cost of the nodes the best packing drains.',
    labelNames: ['tenant', 'cluster'],
  },
} as const satisfies Record<string, ExportedMetric>;

/** Every metric the analyzer exports besides the leader-election ones in metrics.ts. */
export const ANALYZER_METRICS: readonly ExportedMetric[] = [...Object.values(RULE_METRICS), ...Object.values(RECOMMENDATION_METRICS)];
