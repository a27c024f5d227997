// Optimization overview: what right-sizing would save, how efficiently the clusters use what they
// request, and the recommendations worth acting on first.
//
// Reads the rule pack's contract series and ALERTS through Trimtab ($datasource); the node-consolidation
// figure comes from the analyzer's gauges through $prometheus.

import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  PROMETHEUS_DS,
  PROMETHEUS_DS_VARIABLE,
  TRIMTAB_DS,
  TRIMTAB_DS_VARIABLE,
  UNIT,
  barGaugePanel,
  finish,
  labelVariable,
  row,
  statPanel,
  tablePanel,
  thresholds,
  timeseriesPanel,
  workloadDataLink,
  trimtabDashboard,
} from './lib.ts';

export const UID = 'trimtab-overview';

const F = 'cluster=~"$cluster", namespace=~"$namespace", workload=~"$workload"';
const SAVINGS = `workload_container:trimtab_monthly_savings_dollars:recommended{${F}}`;
const RECOMMENDATIONS = `ALERTS{alertstate="firing", trimtab_recommendation!="", ${F}}`;
const ID = 'cluster, namespace, workload, workload_kind';

/** Total of `resource` over every replica: per-replica amounts × the container's replicas (both per resource). */
function totalOverReplicas(metric: string, resource: string): string {
  return `sum(
  ${metric}{${F}, resource="${resource}"}
  * on (${ID}, container, resource)
  workload_container:trimtab_replicas:current{${F}, resource="${resource}"}
)`;
}

export function overviewDashboard(): dashboard.Dashboard {
  const b = trimtabDashboard(UID, 'Trimtab / Optimization overview', 'Monthly savings available from right-sizing, efficiency, and the recommendations with the most savings, by cluster and namespace.')
    .withVariable(TRIMTAB_DS_VARIABLE())
    .withVariable(PROMETHEUS_DS_VARIABLE())
    .withVariable(labelVariable({ name: 'cluster', label: 'Cluster', selector: 'workload_container:trimtab_requests:current', ds: TRIMTAB_DS, multi: true }))
    .withVariable(
      labelVariable({ name: 'namespace', label: 'Namespace', selector: 'workload_container:trimtab_requests:current{cluster=~"$cluster"}', ds: TRIMTAB_DS, multi: true }),
    )
    .withVariable(
      labelVariable({
        name: 'workload',
        label: 'Workload',
        selector: 'workload_container:trimtab_requests:current{cluster=~"$cluster", namespace=~"$namespace"}',
        ds: TRIMTAB_DS,
        multi: true,
      }),
    );

  b.withPanel(
    statPanel({
      title: 'Monthly savings available',
      description:
        'Sum of the positive monthly savings of every container and resource whose recommendation would free resources (workload_container:trimtab_monthly_savings_dollars:recommended), at the prices the rule pack uses.',
      unit: UNIT.dollars,
      ds: TRIMTAB_DS,
      queries: [{ expr: `sum(clamp_min(${SAVINGS}, 0))` }],
      thresholds: thresholds([null, 'green']),
      noValue: '0',
      w: 4,
    }),
  )
    .withPanel(
      statPanel({
        title: 'Monthly cost of under-provisioning',
        description: 'What applying the recommendations that add resources (risk: throttling, OOM kills) would cost per month: the negative savings, as a positive amount.',
        unit: UNIT.dollars,
        ds: TRIMTAB_DS,
        queries: [{ expr: `-sum(clamp_max(${SAVINGS}, 0))` }],
        thresholds: thresholds([null, 'orange']),
        noValue: '0',
        w: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Efficiency score',
        description: 'Usage over requests per cluster and resource (cluster:trimtab_efficiency:ratio), averaged over the selected clusters. Namespace and workload filters do not apply.',
        unit: UNIT.ratio,
        ds: TRIMTAB_DS,
        queries: [{ expr: 'avg by (resource) (cluster:trimtab_efficiency:ratio{cluster=~"$cluster"})', legend: '{{resource}}' }],
        thresholds: thresholds([null, 'red'], [0.3, 'orange'], [0.6, 'green']),
        decimals: 0,
        w: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Open recommendations',
        description: 'Firing recommendation alerts (ALERTS with a trimtab_recommendation label) of the selected workloads.',
        unit: UNIT.count,
        ds: TRIMTAB_DS,
        queries: [{ expr: `count(${RECOMMENDATIONS})` }],
        noValue: '0',
        w: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Node consolidation savings',
        description: "Monthly cost of the nodes the analyzer's best bin packing would drain (trimtab_node_consolidation_monthly_savings_dollars), from the Prometheus that scrapes the analyzer.",
        unit: UNIT.dollars,
        ds: PROMETHEUS_DS,
        queries: [{ expr: 'sum(trimtab_node_consolidation_monthly_savings_dollars{cluster=~"$cluster"})' }],
        thresholds: thresholds([null, 'green']),
        noValue: '0',
        w: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Containers analysed',
        description: 'Workload containers with current requests recorded by the rule pack.',
        unit: UNIT.count,
        ds: TRIMTAB_DS,
        queries: [{ expr: `count(count by (cluster, namespace, workload, container) (workload_container:trimtab_requests:current{${F}}))` }],
        noValue: '0',
        w: 4,
      }),
    );

  b.withRow(row('Top recommendations')).withPanel(
    tablePanel({
      title: 'Top recommendations by monthly savings',
      description:
        'The 25 firing recommendations with the largest monthly savings, one row per container and resource. Recommendations without a savings figure (insufficient_data) are not listed here. The workload column links to its right-sizing dashboard.',
      unit: UNIT.dollars,
      ds: TRIMTAB_DS,
      queries: [
        {
          expr: `topk(25,
  max by (${ID}, container, resource, alertname, trimtab_recommendation, severity) (${RECOMMENDATIONS})
  * on (cluster, namespace, workload, container, resource) group_left ()
  sum by (cluster, namespace, workload, container, resource) (${SAVINGS})
)`,
          instant: true,
          table: true,
        },
      ],
      rename: { Value: 'Monthly savings', trimtab_recommendation: 'recommendation', workload_kind: 'kind' },
      order: ['cluster', 'namespace', 'workload_kind', 'workload', 'container', 'resource', 'trimtab_recommendation', 'severity', 'alertname', 'Value'],
      sortBy: { column: 'Monthly savings', desc: true },
      w: 24,
      h: 10,
    }).overrideByName('workload', [{ id: 'links', value: [workloadDataLink()] }]),
  );

  b.withRow(row('Savings by cluster and namespace'))
    .withPanel(
      barGaugePanel({
        title: 'Monthly savings by cluster',
        description: 'Positive monthly savings of the selected workloads, per cluster.',
        unit: UNIT.dollars,
        ds: TRIMTAB_DS,
        queries: [{ expr: `sort_desc(sum by (cluster) (clamp_min(${SAVINGS}, 0)))`, legend: '{{cluster}}', instant: true }],
        w: 12,
      }),
    )
    .withPanel(
      barGaugePanel({
        title: 'Monthly savings by namespace (top 15)',
        description: 'Positive monthly savings of the selected workloads, for the 15 namespaces with the most.',
        unit: UNIT.dollars,
        ds: TRIMTAB_DS,
        queries: [{ expr: `sort_desc(topk(15, sum by (cluster, namespace) (clamp_min(${SAVINGS}, 0))))`, legend: '{{cluster}} / {{namespace}}', instant: true }],
        w: 12,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Monthly savings available over time',
        description: 'Positive monthly savings per cluster over time: falling as recommendations are applied, rising as workloads drift from their requests.',
        unit: UNIT.dollars,
        ds: TRIMTAB_DS,
        queries: [{ expr: `sum by (cluster) (clamp_min(${SAVINGS}, 0))`, legend: '{{cluster}}' }],
        w: 12,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Efficiency over time',
        description: 'Usage over requests per cluster and resource (cluster:trimtab_efficiency:ratio).',
        unit: UNIT.ratio,
        ds: TRIMTAB_DS,
        queries: [{ expr: 'cluster:trimtab_efficiency:ratio{cluster=~"$cluster"}', legend: '{{cluster}} {{resource}}' }],
        min: 0,
        w: 12,
      }),
    );

  b.withRow(row('Requests and recommendations'))
    .withPanel(
      barGaugePanel({
        title: 'Open recommendations by kind and severity',
        description: 'Firing recommendation alerts by trimtab_recommendation (rightsize, risk, waste, insufficient_data) and severity.',
        unit: UNIT.count,
        ds: TRIMTAB_DS,
        queries: [{ expr: `sort_desc(count by (trimtab_recommendation, severity) (${RECOMMENDATIONS}))`, legend: '{{trimtab_recommendation}} ({{severity}})', instant: true }],
        w: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'CPU requested vs recommended',
        description: 'CPU requests of the selected workloads over all their replicas, as they are and as recommended (cores).',
        unit: UNIT.cores,
        ds: TRIMTAB_DS,
        queries: [
          { expr: totalOverReplicas('workload_container:trimtab_requests:current', 'cpu'), legend: 'requested' },
          { expr: totalOverReplicas('workload_container:trimtab_requests:recommended', 'cpu'), legend: 'recommended' },
        ],
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Memory requested vs recommended',
        description: 'Memory requests of the selected workloads over all their replicas, as they are and as recommended.',
        unit: UNIT.bytes,
        ds: TRIMTAB_DS,
        queries: [
          { expr: totalOverReplicas('workload_container:trimtab_requests:current', 'memory'), legend: 'requested' },
          { expr: totalOverReplicas('workload_container:trimtab_requests:recommended', 'memory'), legend: 'recommended' },
        ],
        min: 0,
        w: 8,
      }),
    );

  return finish(b);
}
