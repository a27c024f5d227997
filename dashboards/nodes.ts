// Node consolidation: the nodes the analyzer's bin packing could drain, how many nodes the clusters
// need before and after, and how tightly the nodes are packed now and after right-sizing.
//
// The consolidation results are the analyzer's gauges (trimtab_node_*), read through $prometheus; the
// packing is computed from kube-state-metrics and the rule pack's series in Trimtab ($datasource).

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
  trimtabDashboard,
} from './lib.ts';

export const UID = 'trimtab-nodes';

const C = 'cluster=~"$cluster"';
/** Best packing per cluster: the algorithm that needs the fewest nodes. */
const NODES_AFTER = `min by (tenant, cluster) (trimtab_node_consolidation_nodes_after{${C}})`;

/**
 * Requests of running and pending pods, summed `by` the given labels. Raw series are first collapsed
 * per object with max, as the rule pack does, so one scraped by two jobs does not count twice.
 */
function activeRequests(resource: 'cpu' | 'memory', by: string): string {
  return `sum by (${by}) (
  max by (cluster, namespace, pod, container, node) (kube_pod_container_resource_requests{${C}, resource="${resource}"})
  * on (cluster, namespace, pod) group_left ()
  (max by (cluster, namespace, pod) (kube_pod_status_phase{${C}, phase=~"Pending|Running"}) == 1)
)`;
}

function allocatable(resource: 'cpu' | 'memory', by: string): string {
  return `sum by (${by}) (max by (cluster, node) (kube_node_status_allocatable{${C}, resource="${resource}"}))`;
}

/** Recommended requests over all replicas, per cluster: what the pods would request after right-sizing. */
function recommendedRequests(resource: 'cpu' | 'memory'): string {
  return `sum by (cluster) (
  workload_container:trimtab_requests:recommended{${C}, resource="${resource}"}
  * on (cluster, namespace, workload, workload_kind, container, resource)
  workload_container:trimtab_replicas:current{${C}, resource="${resource}"}
)`;
}

function packingByNode(resource: 'cpu' | 'memory', title: string): ReturnType<typeof barGaugePanel> {
  return barGaugePanel({
    title,
    description: `Requests of running and pending pods over allocatable ${resource}, per node (kube-state-metrics). Nodes near the bottom are the candidates to drain.`,
    unit: UNIT.ratio,
    ds: TRIMTAB_DS,
    queries: [
      {
        expr: `sort_desc(
  ${activeRequests(resource, 'cluster, node')}
  / on (cluster, node)
  ${allocatable(resource, 'cluster, node')}
)`,
        legend: '{{cluster}} / {{node}}',
        instant: true,
      },
    ],
    min: 0,
    max: 1,
    thresholds: thresholds([null, 'blue'], [0.5, 'green'], [0.9, 'orange']),
    w: 12,
    h: 10,
  });
}

function packingOverTime(resource: 'cpu' | 'memory', title: string): ReturnType<typeof timeseriesPanel> {
  return timeseriesPanel({
    title,
    description: `Cluster ${resource} requests over allocatable: as requested now, and as it would be with the recommended requests on the same nodes. Draining nodes raises the second towards the first.`,
    unit: UNIT.ratio,
    ds: TRIMTAB_DS,
    queries: [
      { expr: `${activeRequests(resource, 'cluster')}\n/ on (cluster)\n${allocatable(resource, 'cluster')}`, legend: '{{cluster}} requested' },
      { expr: `${recommendedRequests(resource)}\n/ on (cluster)\n${allocatable(resource, 'cluster')}`, legend: '{{cluster}} after right-sizing' },
    ],
    min: 0,
    w: 12,
  });
}

export function nodesDashboard(): dashboard.Dashboard {
  const b = trimtabDashboard(UID, 'Trimtab / Node consolidation', 'Nodes the bin packing could drain, node counts before and after consolidation, and how tightly the nodes are packed.')
    .withVariable(TRIMTAB_DS_VARIABLE())
    .withVariable(PROMETHEUS_DS_VARIABLE())
    .withVariable(labelVariable({ name: 'cluster', label: 'Cluster', selector: 'trimtab_node_consolidation_nodes_before', ds: PROMETHEUS_DS, multi: true }));

  b.withPanel(
    statPanel({
      title: 'Nodes in use',
      description: 'Nodes in use before consolidation (trimtab_node_consolidation_nodes_before).',
      unit: UNIT.count,
      ds: PROMETHEUS_DS,
      queries: [{ expr: `sum(trimtab_node_consolidation_nodes_before{${C}})` }],
      w: 6,
    }),
  )
    .withPanel(
      statPanel({
        title: 'Nodes needed after consolidation',
        description: 'Nodes the best packing algorithm needs, per cluster, summed.',
        unit: UNIT.count,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `sum(${NODES_AFTER})` }],
        w: 6,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Drainable nodes',
        description: 'Nodes the best packing drains (trimtab_node_drainable).',
        unit: UNIT.count,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `sum(trimtab_node_drainable{${C}})` }],
        thresholds: thresholds([null, 'text'], [1, 'green']),
        noValue: '0',
        w: 6,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Monthly savings from draining',
        description: 'Monthly cost of the nodes the best packing drains (trimtab_node_consolidation_monthly_savings_dollars).',
        unit: UNIT.dollars,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `sum(trimtab_node_consolidation_monthly_savings_dollars{${C}})` }],
        thresholds: thresholds([null, 'green']),
        noValue: '0',
        w: 6,
      }),
    );

  b.withRow(row('Consolidation'))
    .withPanel(
      tablePanel({
        title: 'Drainable nodes',
        description: 'The nodes the best packing drains: their pods fit on the remaining nodes.',
        unit: UNIT.none,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `max by (cluster, node) (trimtab_node_drainable{${C}}) == 1`, instant: true, table: true }],
        hide: ['Value'],
        order: ['cluster', 'node'],
        w: 8,
        h: 9,
      }),
    )
    .withPanel(
      barGaugePanel({
        title: 'Nodes before and after, by algorithm',
        description: 'Nodes in use now, and the nodes each packing algorithm needs.',
        unit: UNIT.count,
        ds: PROMETHEUS_DS,
        queries: [
          { expr: `max by (cluster) (trimtab_node_consolidation_nodes_before{${C}})`, legend: '{{cluster}} now', instant: true },
          { expr: `min by (cluster, algorithm) (trimtab_node_consolidation_nodes_after{${C}})`, legend: '{{cluster}} {{algorithm}}', instant: true },
        ],
        w: 8,
        h: 9,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Nodes before and after over time',
        description: 'Nodes in use and nodes needed by the best packing, per cluster.',
        unit: UNIT.count,
        ds: PROMETHEUS_DS,
        queries: [
          { expr: `sum by (cluster) (trimtab_node_consolidation_nodes_before{${C}})`, legend: '{{cluster}} in use' },
          { expr: `sum by (cluster) (${NODES_AFTER})`, legend: '{{cluster}} after consolidation' },
          { expr: `sum by (cluster, algorithm) (trimtab_node_consolidation_drainable_nodes{${C}})`, legend: '{{cluster}} drainable ({{algorithm}})' },
        ],
        min: 0,
        w: 8,
        h: 9,
      }),
    );

  b.withRow(row('Packing'))
    .withPanel(packingByNode('cpu', 'CPU requested / allocatable by node'))
    .withPanel(packingByNode('memory', 'Memory requested / allocatable by node'))
    .withPanel(packingOverTime('cpu', 'CPU packing: now vs after right-sizing'))
    .withPanel(packingOverTime('memory', 'Memory packing: now vs after right-sizing'));

  return finish(b);
}
