// Workload right-sizing: for one workload, each container's usage against its current and recommended
// requests and limits over time, with the throttling and OOM kills that argue for more.
//
// Everything comes through Trimtab ($datasource): the rule pack's contract series for the workload, the
// raw cAdvisor and kube-state-metrics series for usage, joined to the workload through the
// kubernetes-mixin identity namespace_workload_pod:kube_pod_owner:relabel.

import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  TRIMTAB_DS,
  TRIMTAB_DS_VARIABLE,
  UNIT,
  finish,
  labelVariable,
  lineStyleOverride,
  row,
  statPanel,
  tablePanel,
  thresholds,
  timeseriesPanel,
  trimtabDashboard,
  type Query,
} from './lib.ts';

export const UID = 'trimtab-workload';

/** The selected workload, as the contract series label it. */
const W = 'cluster="$cluster", namespace="$namespace", workload="$workload"';
/** One container of the selected workload (rows repeat per container). */
const WC = `${W}, container="$container"`;
/** Raw per-pod series of the selected container. */
const RAW = 'cluster="$cluster", namespace="$namespace", container="$container"';
const OWNER = `max by (cluster, namespace, pod) (namespace_workload_pod:kube_pod_owner:relabel{${W}})`;

/**
 * `inner` (series of the selected container) restricted to the selected workload's pods, one series per
 * pod. max, not sum: like the rule pack, a series scraped by two jobs must not count twice.
 */
function perPod(inner: string): string {
  return `max by (pod) (
  ${inner}
  * on (cluster, namespace, pod) group_left ()
  ${OWNER}
)`;
}

/** Usage across the workload's replicas (p50, p95, max) and the four request/limit lines of `resource`. */
function usageAgainstSizing(usagePerPod: string, resource: 'cpu' | 'memory'): Query[] {
  return [
    { expr: `quantile(0.5, ${usagePerPod})`, legend: 'usage p50 across replicas' },
    { expr: `quantile(0.95, ${usagePerPod})`, legend: 'usage p95 across replicas' },
    { expr: `max(${usagePerPod})`, legend: 'usage max' },
    { expr: `max(workload_container:trimtab_requests:current{${WC}, resource="${resource}"})`, legend: 'request (current)' },
    { expr: `max(workload_container:trimtab_limits:current{${WC}, resource="${resource}"})`, legend: 'limit (current)' },
    { expr: `max(workload_container:trimtab_requests:recommended{${WC}, resource="${resource}"})`, legend: 'request (recommended)' },
    { expr: `max(workload_container:trimtab_limits:recommended{${WC}, resource="${resource}"})`, legend: 'limit (recommended)' },
  ];
}

function sizingTable(resource: 'cpu' | 'memory', unit: string, title: string): ReturnType<typeof tablePanel> {
  const sel = `${W}, resource="${resource}"`;
  return tablePanel({
    title,
    description: `Per-replica ${resource} requests and limits of each container, as they are and as recommended, and the monthly savings of the change over all replicas (negative when it adds resources).`,
    unit,
    ds: TRIMTAB_DS,
    queries: [
      { expr: `max by (container) (workload_container:trimtab_requests:current{${sel}})`, instant: true, table: true },
      { expr: `max by (container) (workload_container:trimtab_requests:recommended{${sel}})`, instant: true, table: true },
      { expr: `max by (container) (workload_container:trimtab_limits:current{${sel}})`, instant: true, table: true },
      { expr: `max by (container) (workload_container:trimtab_limits:recommended{${sel}})`, instant: true, table: true },
      { expr: `sum by (container) (workload_container:trimtab_monthly_savings_dollars:recommended{${sel}})`, instant: true, table: true },
    ],
    merge: true,
    rename: {
      'Value #A': 'Request (current)',
      'Value #B': 'Request (recommended)',
      'Value #C': 'Limit (current)',
      'Value #D': 'Limit (recommended)',
      'Value #E': 'Monthly savings',
    },
    order: ['container', 'Value #A', 'Value #B', 'Value #C', 'Value #D', 'Value #E'],
    w: 12,
    h: 7,
  }).overrideByName('Monthly savings', [{ id: 'unit', value: UNIT.dollars }]);
}

export function workloadDashboard(): dashboard.Dashboard {
  const b = trimtabDashboard(
    UID,
    'Trimtab / Workload right-sizing',
    "One workload's containers: usage percentiles against current and recommended requests and limits, CPU throttling and OOM kills.",
  )
    .withVariable(TRIMTAB_DS_VARIABLE())
    .withVariable(labelVariable({ name: 'cluster', label: 'Cluster', selector: 'workload_container:trimtab_requests:current', ds: TRIMTAB_DS }))
    .withVariable(labelVariable({ name: 'namespace', label: 'Namespace', selector: 'workload_container:trimtab_requests:current{cluster="$cluster"}', ds: TRIMTAB_DS }))
    .withVariable(
      labelVariable({ name: 'workload', label: 'Workload', selector: 'workload_container:trimtab_requests:current{cluster="$cluster", namespace="$namespace"}', ds: TRIMTAB_DS }),
    )
    .withVariable(labelVariable({ name: 'container', label: 'Container', selector: `workload_container:trimtab_requests:current{${W}}`, ds: TRIMTAB_DS, multi: true }));

  b.withPanel(
    statPanel({
      title: 'Monthly savings',
      description: "Monthly savings of applying this workload's recommendations, over all its containers and resources (negative: the recommendations add resources).",
      unit: UNIT.dollars,
      ds: TRIMTAB_DS,
      queries: [{ expr: `sum(workload_container:trimtab_monthly_savings_dollars:recommended{${W}})` }],
      thresholds: thresholds([null, 'orange'], [0, 'green']),
      noValue: '0',
      w: 8,
    }),
  )
    .withPanel(
      statPanel({
        title: 'Replicas',
        description: 'Current replicas of the workload (workload_container:trimtab_replicas:current).',
        unit: UNIT.count,
        ds: TRIMTAB_DS,
        queries: [{ expr: `max(workload_container:trimtab_replicas:current{${W}})` }],
        w: 8,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Open recommendations',
        description: 'Firing recommendation alerts for this workload.',
        unit: UNIT.count,
        ds: TRIMTAB_DS,
        queries: [{ expr: `count(ALERTS{alertstate="firing", trimtab_recommendation!="", ${W}})` }],
        noValue: '0',
        w: 8,
      }),
    );

  b.withRow(row('Recommendations, requests and limits'))
    .withPanel(
      tablePanel({
        title: 'Recommendations',
        description: 'Firing recommendation alerts for this workload: kind (rightsize, risk, waste, insufficient_data) and severity, per container and resource.',
        unit: UNIT.none,
        ds: TRIMTAB_DS,
        queries: [
          {
            expr: `max by (container, resource, alertname, trimtab_recommendation, severity) (ALERTS{alertstate="firing", trimtab_recommendation!="", ${W}})`,
            instant: true,
            table: true,
          },
        ],
        hide: ['Value'],
        rename: { trimtab_recommendation: 'recommendation' },
        order: ['container', 'resource', 'trimtab_recommendation', 'severity', 'alertname'],
        w: 24,
        h: 6,
      }),
    )
    .withPanel(sizingTable('cpu', UNIT.cores, 'CPU per replica (cores): current vs recommended'))
    .withPanel(sizingTable('memory', UNIT.bytes, 'Memory per replica: current vs recommended'))
    .withPanel(
      timeseriesPanel({
        title: 'Replicas',
        description: 'Replicas of the workload over time: recommendations are per replica.',
        unit: UNIT.count,
        ds: TRIMTAB_DS,
        queries: [{ expr: `max(workload_container:trimtab_replicas:current{${W}})`, legend: 'replicas' }],
        min: 0,
        w: 12,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Monthly savings over time',
        description: 'Monthly savings of the recommendation per container and resource over time.',
        unit: UNIT.dollars,
        ds: TRIMTAB_DS,
        queries: [{ expr: `sum by (container, resource) (workload_container:trimtab_monthly_savings_dollars:recommended{${W}})`, legend: '{{container}} {{resource}}' }],
        w: 12,
      }),
    );

  const cpuPerPod = perPod(`rate(container_cpu_usage_seconds_total{${RAW}}[$__rate_interval])`);
  const memoryPerPod = perPod(`container_memory_working_set_bytes{${RAW}}`);
  const sizingOverrides = (p: ReturnType<typeof timeseriesPanel>) =>
    p
      .overrideByName('request (current)', lineStyleOverride('dash', 'blue'))
      .overrideByName('limit (current)', lineStyleOverride('dash', 'red'))
      .overrideByName('request (recommended)', lineStyleOverride('dot', 'green'))
      .overrideByName('limit (recommended)', lineStyleOverride('dot', 'orange'));

  b.withRow(row('Container: $container').repeat('container'))
    .withPanel(
      sizingOverrides(
        timeseriesPanel({
          title: 'CPU usage vs requests and limits: $container',
          description:
            'CPU usage of the container across the workload\'s replicas (p50, p95 and max of the per-pod rate) against the current (dashed) and recommended (dotted) request and limit, per replica.',
          unit: UNIT.cores,
          ds: TRIMTAB_DS,
          queries: usageAgainstSizing(cpuPerPod, 'cpu'),
          min: 0,
          w: 12,
          h: 9,
        }),
      ),
    )
    .withPanel(
      sizingOverrides(
        timeseriesPanel({
          title: 'Memory working set vs requests and limits: $container',
          description:
            'Working-set memory of the container across the workload\'s replicas (p50, p95 and max per pod) against the current (dashed) and recommended (dotted) request and limit, per replica.',
          unit: UNIT.bytes,
          ds: TRIMTAB_DS,
          queries: usageAgainstSizing(memoryPerPod, 'memory'),
          min: 0,
          w: 12,
          h: 9,
        }),
      ),
    )
    .withPanel(
      timeseriesPanel({
        title: 'CPU throttling: $container',
        description: 'Share of CFS periods in which the container was throttled, per pod. Sustained throttling argues for a higher CPU limit (or none).',
        unit: UNIT.ratio,
        ds: TRIMTAB_DS,
        queries: [
          {
            expr: `${perPod(`rate(container_cpu_cfs_throttled_periods_total{${RAW}}[$__rate_interval])`)}
/
${perPod(`rate(container_cpu_cfs_periods_total{${RAW}}[$__rate_interval])`)}`,
            legend: '{{pod}}',
          },
        ],
        min: 0,
        max: 1,
        w: 12,
      }).thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed)).thresholds(thresholds([null, 'transparent'], [0.25, 'red'])),
    )
    .withPanel(
      timeseriesPanel({
        title: 'OOM kills and restarts: $container',
        description:
          'OOM events cAdvisor counted for the container, replicas whose last termination was OOMKilled (kube-state-metrics), and restarts, over the workload\'s pods.',
        unit: UNIT.count,
        ds: TRIMTAB_DS,
        queries: [
          { expr: `sum(${perPod(`increase(container_oom_events_total{${RAW}}[$__rate_interval])`)})`, legend: 'OOM events' },
          { expr: `sum(${perPod(`kube_pod_container_status_last_terminated_reason{${RAW}, reason="OOMKilled"}`)})`, legend: 'replicas last terminated by OOMKilled' },
          { expr: `sum(${perPod(`increase(kube_pod_container_status_restarts_total{${RAW}}[$__rate_interval])`)})`, legend: 'restarts' },
        ],
        bars: true,
        min: 0,
        w: 12,
      }),
    );

  return finish(b);
}
