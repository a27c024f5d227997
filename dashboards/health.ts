// Trimtab health: is data getting in (ingest rate, errors, write latency, rejected samples), is the
// analyzer leading and evaluating its rules, is the database pool keeping up, are the agents sending.
//
// Everything here is Trimtab's own /metrics, read through the Prometheus that scrapes it ($prometheus).

import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import {
  PROMETHEUS_DS,
  PROMETHEUS_DS_VARIABLE,
  UNIT,
  finish,
  labelVariable,
  row,
  statPanel,
  thresholds,
  timeseriesPanel,
  tooltipAll,
  trimtabDashboard,
  withQueries,
} from './lib.ts';

export const UID = 'trimtab-health';

/** Receiver, analyzer and all-in-one processes (they register trimtab_build_info). */
const I = 'instance=~"$instance"';
/** Agents (they register trimtab_agent_build_info). */
const A = 'instance=~"$agent"';
const WRITE = `handler="/api/v1/write", ${I}`;

function quantiles(bucket: string, by: string, qs: readonly number[], legendPrefix: string): Array<{ expr: string; legend: string }> {
  return qs.map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${['le', by].filter(Boolean).join(', ')}) (rate(${bucket}[$__rate_interval])))`,
    legend: `${legendPrefix}p${Math.round(q * 100)}`,
  }));
}

export function healthDashboard(): dashboard.Dashboard {
  const b = trimtabDashboard(UID, 'Trimtab / Health', "Trimtab's own health: ingest, write latency and rejections, analyzer leadership and rule evaluation, database pool, agents.")
    .withVariable(PROMETHEUS_DS_VARIABLE())
    .withVariable(labelVariable({ name: 'instance', label: 'Instance', selector: 'trimtab_build_info', ds: PROMETHEUS_DS, multi: true }))
    .withVariable(labelVariable({ name: 'agent', label: 'Agent', selector: 'trimtab_agent_build_info', labelName: 'instance', ds: PROMETHEUS_DS, multi: true }));

  b.withPanel(
    statPanel({
      title: 'Ingest rate',
      description: 'Float samples committed to the store per second, all tenants.',
      unit: UNIT.perSecond,
      ds: PROMETHEUS_DS,
      queries: [{ expr: `sum(rate(trimtab_receiver_samples_ingested_total{${I}}[$__rate_interval]))` }],
      noValue: '0',
      w: 4,
    }),
  )
    .withPanel(
      statPanel({
        title: 'Write errors',
        description: 'Share of remote-write requests answered with a non-2xx status.',
        unit: UNIT.ratio,
        ds: PROMETHEUS_DS,
        queries: [
          {
            expr: `sum(rate(trimtab_receiver_requests_total{${WRITE}, code!~"2.."}[$__rate_interval]))
/
sum(rate(trimtab_receiver_requests_total{${WRITE}}[$__rate_interval]))`,
          },
        ],
        thresholds: thresholds([null, 'green'], [0.01, 'orange'], [0.05, 'red']),
        noValue: '0',
        w: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Write latency p99',
        description: '99th percentile of remote-write request latency.',
        unit: UNIT.seconds,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `histogram_quantile(0.99, sum by (le) (rate(trimtab_receiver_request_duration_seconds_bucket{${WRITE}}[$__rate_interval])))` }],
        thresholds: thresholds([null, 'green'], [0.5, 'orange'], [2, 'red']),
        w: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Analyzer leaders',
        description: 'Analyzer replicas leading now, per lease: exactly 1 is healthy; 0 means no rule evaluation.',
        unit: UNIT.none,
        ds: PROMETHEUS_DS,
        queries: [{ expr: 'sum by (lease) (trimtab_analyzer_leader)', legend: '{{lease}}' }],
        thresholds: thresholds([null, 'red'], [1, 'green'], [2, 'red']),
        noValue: '0',
        w: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Rule evaluation failures',
        description: 'Rule evaluations failing per second, all tenants and groups.',
        unit: UNIT.perSecond,
        ds: PROMETHEUS_DS,
        queries: [{ expr: 'sum(rate(trimtab_rule_evaluation_failures_total[$__rate_interval]))' }],
        thresholds: thresholds([null, 'green'], [0.000001, 'red']),
        noValue: '0',
        w: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Clients waiting for a connection',
        description: 'Queries waiting for a database connection from the pool, all instances.',
        unit: UNIT.count,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `sum(trimtab_db_pool_connections{${I}, state="waiting"})` }],
        thresholds: thresholds([null, 'green'], [1, 'orange'], [10, 'red']),
        noValue: '0',
        w: 4,
      }),
    );

  b.withRow(row('Ingest'))
    .withPanel(
      timeseriesPanel({
        title: 'Ingest rate by tenant',
        description: 'Float samples, native histogram samples and exemplars committed to the store per second.',
        unit: UNIT.perSecond,
        ds: PROMETHEUS_DS,
        queries: [
          { expr: `sum by (tenant) (rate(trimtab_receiver_samples_ingested_total{${I}}[$__rate_interval]))`, legend: '{{tenant}} samples' },
          { expr: `sum by (tenant) (rate(trimtab_receiver_histograms_ingested_total{${I}}[$__rate_interval]))`, legend: '{{tenant}} histograms' },
          { expr: `sum by (tenant) (rate(trimtab_receiver_exemplars_ingested_total{${I}}[$__rate_interval]))`, legend: '{{tenant}} exemplars' },
        ],
        min: 0,
        w: 12,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Errors by handler and code',
        description: 'Requests answered with a non-2xx status per second. 4xx on the write path is data a sender must fix (it will not retry); 429 is rate limiting; 5xx are retried.',
        unit: UNIT.requestsPerSecond,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `sum by (handler, code) (rate(trimtab_receiver_requests_total{${I}, code!~"2.."}[$__rate_interval]))`, legend: '{{handler}} {{code}}' }],
        min: 0,
        w: 12,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Write latency',
        description: 'Remote-write request latency, from first byte to response.',
        unit: UNIT.seconds,
        ds: PROMETHEUS_DS,
        queries: quantiles(`trimtab_receiver_request_duration_seconds_bucket{${WRITE}}`, '', [0.5, 0.9, 0.99], ''),
        min: 0,
        w: 12,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Rejected samples by reason',
        description: 'Samples, histograms and exemplars refused per second, by reason (rate_limited, invalid labels, too old or too far in the future…).',
        unit: UNIT.perSecond,
        ds: PROMETHEUS_DS,
        queries: [
          { expr: `sum by (reason) (rate(trimtab_receiver_samples_rejected_total{${I}}[$__rate_interval]))`, legend: 'samples: {{reason}}' },
          { expr: `sum by (reason) (rate(trimtab_receiver_histograms_rejected_total{${I}}[$__rate_interval]))`, legend: 'histograms: {{reason}}' },
          { expr: `sum by (reason) (rate(trimtab_receiver_exemplars_rejected_total{${I}}[$__rate_interval]))`, legend: 'exemplars: {{reason}}' },
        ],
        min: 0,
        w: 12,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Requests by handler',
        description: 'Requests per second by handler and status code.',
        unit: UNIT.requestsPerSecond,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `sum by (handler, code) (rate(trimtab_receiver_requests_total{${I}}[$__rate_interval]))`, legend: '{{handler}} {{code}}' }],
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Query latency p99',
        description: '99th percentile latency of the Prometheus query API, by handler.',
        unit: UNIT.seconds,
        ds: PROMETHEUS_DS,
        queries: quantiles(`trimtab_receiver_request_duration_seconds_bucket{handler=~"/api/v1/(query|query_range|series|labels|label/.*)", ${I}}`, 'handler', [0.99], '{{handler}} '),
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Duplicates, new series, in-flight requests',
        description: 'Resent samples accepted without being stored twice, new series added to the index (per second), and requests being served.',
        unit: UNIT.perSecond,
        ds: PROMETHEUS_DS,
        queries: [
          { expr: `sum(rate(trimtab_receiver_samples_duplicate_total{${I}}[$__rate_interval]))`, legend: 'duplicate samples/s' },
          { expr: `sum(rate(trimtab_receiver_series_created_total{${I}}[$__rate_interval]))`, legend: 'new series/s' },
          { expr: `sum(trimtab_receiver_inflight_requests{${I}})`, legend: 'in-flight requests' },
        ],
        min: 0,
        w: 8,
      }).overrideByName('in-flight requests', [{ id: 'unit', value: UNIT.count }]),
    );

  const leader = withQueries(
    new statetimeline.PanelBuilder()
      .title('Analyzer leader')
      .description('Which analyzer replica holds each lease over time (trimtab_analyzer_leader).')
      .unit(UNIT.none)
      .span(12)
      .height(8)
      .showValue(common.VisibilityMode.Never)
      .mergeValues(true)
      .legend(new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true))
      .tooltip(tooltipAll())
      .mappings([
        {
          type: dashboard.MappingType.ValueToText,
          options: { '0': { text: 'follower', color: 'blue', index: 0 }, '1': { text: 'leader', color: 'green', index: 1 } },
        },
      ])
      .thresholds(thresholds([null, 'blue'])),
    PROMETHEUS_DS,
    [{ expr: 'max by (instance, lease) (trimtab_analyzer_leader)', legend: '{{instance}} {{lease}}' }],
  );

  b.withRow(row('Analyzer'))
    .withPanel(leader)
    .withPanel(
      timeseriesPanel({
        title: 'Leader transitions',
        description: 'Times a replica became leader or stopped leading. Frequent transitions mean lease renewals are failing (database or API server latency, clock skew).',
        unit: UNIT.count,
        ds: PROMETHEUS_DS,
        queries: [{ expr: 'sum by (instance, lease) (increase(trimtab_analyzer_leader_transitions_total[$__rate_interval]))', legend: '{{instance}} {{lease}}' }],
        bars: true,
        min: 0,
        w: 12,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Rule evaluation duration',
        description: 'Single rule evaluations (percentiles) and the last evaluation of each rule group, against the group interval.',
        unit: UNIT.seconds,
        ds: PROMETHEUS_DS,
        queries: [
          ...quantiles('trimtab_rule_evaluation_duration_seconds_bucket', '', [0.5, 0.99], 'rule '),
          { expr: 'max by (rule_group) (trimtab_rule_group_last_duration_seconds)', legend: '{{rule_group}} last group evaluation' },
          { expr: 'max by (rule_group) (trimtab_rule_group_interval_seconds)', legend: '{{rule_group}} interval' },
        ],
        min: 0,
        w: 12,
      }).overrideByRegexp('.* interval$', [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }]),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Rule evaluations and failures',
        description: 'Rule evaluations and failed evaluations per second by rule group, and group iterations missed because an evaluation outran the interval.',
        unit: UNIT.perSecond,
        ds: PROMETHEUS_DS,
        queries: [
          { expr: 'sum by (rule_group) (rate(trimtab_rule_evaluations_total[$__rate_interval]))', legend: '{{rule_group}} evaluations' },
          { expr: 'sum by (rule_group) (rate(trimtab_rule_evaluation_failures_total[$__rate_interval]))', legend: '{{rule_group}} failures' },
          { expr: 'sum by (rule_group) (rate(trimtab_rule_group_iterations_missed_total[$__rate_interval]))', legend: '{{rule_group}} missed iterations' },
        ],
        min: 0,
        w: 12,
      }).overrideByRegexp('.* (failures|missed iterations)$', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }]),
    )
    .withPanel(
      statPanel({
        title: 'Rule files loaded',
        description: 'Whether the last rule-file (re)load succeeded. A refused reload keeps the previous rules running.',
        unit: UNIT.bool,
        ds: PROMETHEUS_DS,
        queries: [{ expr: 'min(trimtab_rule_files_last_reload_successful)' }],
        mappings: [
          {
            type: dashboard.MappingType.ValueToText,
            options: { '0': { text: 'refused', color: 'red', index: 0 }, '1': { text: 'ok', color: 'green', index: 1 } },
          },
        ],
        w: 6,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Samples written by rules',
        description: 'Samples recording rules and alert state write back to the store per second, by tenant.',
        unit: UNIT.perSecond,
        ds: PROMETHEUS_DS,
        queries: [{ expr: 'sum by (tenant) (rate(trimtab_rule_result_samples_written_total[$__rate_interval]))', legend: '{{tenant}}' }],
        min: 0,
        w: 9,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Active alerts by state',
        description: 'Pending and firing alerts (recommendations included), all tenants.',
        unit: UNIT.count,
        ds: PROMETHEUS_DS,
        queries: [{ expr: 'sum by (state) (trimtab_alerts)', legend: '{{state}}' }],
        min: 0,
        w: 9,
      }),
    );

  b.withRow(row('Database and processes'))
    .withPanel(
      timeseriesPanel({
        title: 'Database pool',
        description: 'Database connections of each process: total, idle, and clients waiting for one.',
        unit: UNIT.count,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `sum by (instance, state) (trimtab_db_pool_connections{${I}})`, legend: '{{instance}} {{state}}' }],
        min: 0,
        w: 12,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Process CPU',
        description: 'CPU used by each Trimtab process (cores).',
        unit: UNIT.cores,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `sum by (instance) (rate(process_cpu_seconds_total{${I}}[$__rate_interval]))`, legend: '{{instance}}' }],
        min: 0,
        w: 6,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Process memory',
        description: 'Resident memory and used V8 heap of each Trimtab process.',
        unit: UNIT.bytes,
        ds: PROMETHEUS_DS,
        queries: [
          { expr: `sum by (instance) (process_resident_memory_bytes{${I}})`, legend: '{{instance}} resident' },
          { expr: `sum by (instance) (nodejs_heap_size_used_bytes{${I}})`, legend: '{{instance}} heap used' },
        ],
        min: 0,
        w: 6,
      }),
    );

  b.withRow(row('Agents'))
    .withPanel(
      timeseriesPanel({
        title: 'Agent samples',
        description: 'Samples the agents scraped, sent (accepted by the receiver), retried, refused for good and dropped, per second.',
        unit: UNIT.perSecond,
        ds: PROMETHEUS_DS,
        queries: [
          { expr: `sum(rate(trimtab_agent_samples_scraped_total{${A}}[$__rate_interval]))`, legend: 'scraped' },
          { expr: `sum(rate(trimtab_agent_samples_sent_total{${A}}[$__rate_interval]))`, legend: 'sent' },
          { expr: `sum(rate(trimtab_agent_samples_retried_total{${A}}[$__rate_interval]))`, legend: 'retried' },
          { expr: `sum by (code) (rate(trimtab_agent_samples_failed_total{${A}}[$__rate_interval]))`, legend: 'failed {{code}}' },
          { expr: `sum by (reason) (rate(trimtab_agent_samples_dropped_total{${A}}[$__rate_interval]))`, legend: 'dropped {{reason}}' },
        ],
        min: 0,
        w: 12,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Agent remote-write requests by code',
        description: 'Remote-write requests per second by status code ("error" for network errors).',
        unit: UNIT.requestsPerSecond,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `sum by (code) (rate(trimtab_agent_remote_write_requests_total{${A}}[$__rate_interval]))`, legend: '{{code}}' }],
        min: 0,
        w: 6,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Agent remote-write latency',
        description: 'Latency of one remote-write request from the agents.',
        unit: UNIT.seconds,
        ds: PROMETHEUS_DS,
        queries: quantiles(`trimtab_agent_remote_write_duration_seconds_bucket{${A}}`, '', [0.5, 0.99], ''),
        min: 0,
        w: 6,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Agent queue',
        description: 'Samples waiting to be sent, per agent.',
        unit: UNIT.count,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `sum by (instance) (trimtab_agent_queue_samples{${A}})`, legend: '{{instance}}' }],
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Agent buffer',
        description: 'Bytes of encoded blocks waiting to be sent, in memory and spilled to disk.',
        unit: UNIT.bytes,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `sum by (instance, location) (trimtab_agent_queue_bytes{${A}})`, legend: '{{instance}} {{location}}' }],
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Agent scrapes',
        description: 'Scrapes per second by job and result.',
        unit: UNIT.perSecond,
        ds: PROMETHEUS_DS,
        queries: [{ expr: `sum by (job, result) (rate(trimtab_agent_scrapes_total{${A}}[$__rate_interval]))`, legend: '{{job}} {{result}}' }],
        min: 0,
        w: 8,
      }),
    );

  return finish(b);
}
