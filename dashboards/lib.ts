// Shared pieces of the dashboards: the two data sources, template variables, units, query helpers and
// the final pass that numbers panels and checks the layout.
//
// Two Prometheus data sources, because Trimtab's data lives in two places:
//   $datasource  Trimtab's own Prometheus-compatible query API (http://<receiver>:9201). It holds what
//                was remote-written (cAdvisor, kube-state-metrics, node-exporter…), the rule pack's
//                recording series and the ALERTS / ALERTS_FOR_STATE series rule evaluation writes back.
//   $prometheus  A Prometheus that scrapes Trimtab's /metrics endpoints: the receiver's and agent's
//                self-metrics and the analyzer's trimtab_* gauges (node consolidation, rule evaluation,
//                leader election). Those are never remote-written into Trimtab's store.
// A query may only read metrics the catalog places behind its data source (catalog.ts, checked by the
// tests), so a panel pointed at the wrong data source fails the build, not the user.

import * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

export const TRIMTAB_DS: dashboard.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
export const PROMETHEUS_DS: dashboard.DataSourceRef = { type: 'prometheus', uid: '${prometheus}' };

/** Grafana unit ids. Grafana has no "cores" unit: CPU amounts use `short` (SI-scaled plain numbers). */
export const UNIT = {
  cores: 'short',
  bytes: 'bytes',
  dollars: 'currencyUSD',
  ratio: 'percentunit',
  seconds: 's',
  requestsPerSecond: 'reqps',
  /** Samples, evaluations, scrapes… per second. */
  perSecond: 'cps',
  count: 'short',
  none: 'none',
  bool: 'bool',
} as const;

/** Tag shared by every Trimtab dashboard; the dashboards link to each other through it. */
export const TAG = 'trimtab';

export function datasourceVariable(name: 'datasource' | 'prometheus', label: string, description: string): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder(name).label(label).description(description).type('prometheus');
}

export const TRIMTAB_DS_VARIABLE = () =>
  datasourceVariable('datasource', 'Trimtab', "Trimtab's Prometheus-compatible query API (http://<receiver>:9201): ingested data, recording rules and ALERTS.");
export const PROMETHEUS_DS_VARIABLE = () =>
  datasourceVariable('prometheus', 'Prometheus (Trimtab metrics)', "A Prometheus that scrapes Trimtab's /metrics (receiver, agent, analyzer).");

export interface LabelVariable {
  name: string;
  label: string;
  /** The selector label_values() reads, e.g. `metric{cluster=~"$cluster"}`. */
  selector: string;
  /** The label whose values are listed (defaults to `name`). */
  labelName?: string;
  ds: dashboard.DataSourceRef;
  /** Several values and an "All" option; queries then match with `=~`. */
  multi?: boolean;
}

export function labelVariable(v: LabelVariable): dashboard.QueryVariableBuilder {
  const b = new dashboard.QueryVariableBuilder(v.name)
    .label(v.label)
    .datasource(v.ds)
    .query(`label_values(${v.selector}, ${v.labelName ?? v.name})`)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
  if (v.multi) b.multi(true).includeAll(true).allValue('.*');
  return b;
}

export interface Query {
  expr: string;
  legend?: string;
  /** Evaluate once at the end of the range (tables, stats of current state). */
  instant?: boolean;
  /** Return a table frame (labels as columns). */
  table?: boolean;
}

/** Panel builders that take targets and a data source (all the SDK's panel builders do). */
interface QueryPanel<T> {
  datasource(ds: dashboard.DataSourceRef): T;
  withTarget(target: cog.Builder<cog.Dataquery>): T;
}

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Adds the queries to a panel, each with a refId (A, B, …) and the panel's data source. */
export function withQueries<T extends QueryPanel<T>>(panel: T, ds: dashboard.DataSourceRef, queries: readonly Query[]): T {
  panel.datasource(ds);
  queries.forEach((q, i) => {
    const t = new prometheus.DataqueryBuilder()
      .datasource(ds)
      .refId(REF_IDS[i])
      .expr(q.expr)
      .editorMode(prometheus.QueryEditorMode.Code)
      .legendFormat(q.legend ?? '__auto');
    if (q.instant) t.instant();
    else t.range();
    if (q.table) t.format(prometheus.PromQueryFormat.Table);
    panel.withTarget(t);
  });
  return panel;
}

/** A reduce-to-last-value option block for stat and bar gauge panels. */
export function lastValue(): common.ReduceDataOptionsBuilder {
  return new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('').values(false);
}

export function legendTable(...calcs: string[]): common.VizLegendOptionsBuilder {
  return new common.VizLegendOptionsBuilder()
    .displayMode(common.LegendDisplayMode.Table)
    .placement(common.LegendPlacement.Bottom)
    .showLegend(true)
    .calcs(calcs);
}

export function tooltipAll(): common.VizTooltipOptionsBuilder {
  return new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending);
}

export function thresholds(...steps: Array<[number | null, string]>): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps.map(([value, color]) => ({ value, color })));
}

/** The override that draws one named series as a dashed (current) or dotted (recommended) line. */
export function lineStyleOverride(fill: 'dash' | 'dot', color?: string): dashboard.DynamicConfigValue[] {
  const props: dashboard.DynamicConfigValue[] = [
    { id: 'custom.lineStyle', value: fill === 'dash' ? { fill: 'dash', dash: [10, 10] } : { fill: 'dot', dash: [0, 10] } },
    { id: 'custom.lineWidth', value: 2 },
    { id: 'custom.fillOpacity', value: 0 },
  ];
  if (color) props.push({ id: 'color', value: { mode: 'fixed', fixedColor: color } });
  return props;
}

/** Grafana's built-in "Annotations & Alerts" entry, which exported dashboards always carry. */
export function builtInAnnotation(): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder()
    .name('Annotations & Alerts')
    .datasource({ type: 'grafana', uid: '-- Grafana --' })
    .builtIn(1)
    .enable(true)
    .hide(true)
    .iconColor('rgba(0, 211, 255, 1)')
    .type('dashboard');
}

/** A dashboard with the settings all Trimtab dashboards share. */
export function trimtabDashboard(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags([TAG])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-24h', to: 'now' })
    .timezone('browser')
    .refresh('1m')
    .annotation(builtInAnnotation())
    .link(
      new dashboard.DashboardLinkBuilder('Trimtab')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags([TAG])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true)
        .icon('external link')
        .tooltip('')
        .targetBlank(false),
    );
}

/** A data link to the workload dashboard, for a table with cluster, namespace and workload columns. */
export function workloadDataLink(): { title: string; url: string; targetBlank: boolean } {
  return {
    title: 'Right-size ${__data.fields.workload}',
    url: '/d/trimtab-workload/trimtab-workload-right-sizing?${datasource:queryparam}&var-cluster=${__data.fields.cluster}&var-namespace=${__data.fields.namespace}&var-workload=${__data.fields.workload}&${__url_time_range}',
    targetBlank: false,
  };
}

type JsonPanel = { id?: number; type: string; gridPos?: dashboard.GridPos; panels?: JsonPanel[] } & Record<string, unknown>;

/**
 * Builds the dashboard and numbers its panels 1, 2, … in layout order (Grafana needs unique ids for
 * links and repeats; fixed ids keep the generated JSON stable). Throws when a panel leaves the
 * 24-column grid.
 */
export function finish(builder: dashboard.DashboardBuilder): dashboard.Dashboard {
  const d = builder.build();
  let next = 1;
  const visit = (panels: JsonPanel[] | undefined) => {
    for (const p of panels ?? []) {
      p.id = next++;
      const g = p.gridPos;
      if (g && (g.x < 0 || g.w <= 0 || g.x + g.w > 24)) throw new Error(`${d.uid}: panel ${JSON.stringify(p.title)} leaves the grid (x=${g.x}, w=${g.w})`);
      visit(p.panels);
    }
  };
  visit(d.panels as JsonPanel[] | undefined);
  return d;
}

// ---- Panels -------------------------------------------------------------------------------------

export interface PanelOptions {
  title: string;
  description: string;
  unit: string;
  ds: dashboard.DataSourceRef;
  queries: readonly Query[];
  /** Grid width (of 24) and height. */
  w: number;
  h?: number;
}

export interface TimeseriesOptions extends PanelOptions {
  /** Draw bars instead of lines (counts per interval). */
  bars?: boolean;
  stack?: boolean;
  min?: number;
  max?: number;
}

export function timeseriesPanel(o: TimeseriesOptions): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder()
    .title(o.title)
    .description(o.description)
    .unit(o.unit)
    .span(o.w)
    .height(o.h ?? 8)
    .lineWidth(1)
    .fillOpacity(o.bars || o.stack ? 60 : 10)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .legend(legendTable('lastNotNull', 'max'))
    .tooltip(tooltipAll());
  if (o.bars) p.drawStyle(common.GraphDrawStyle.Bars);
  if (o.stack) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal).group('A'));
  if (o.min !== undefined) p.min(o.min);
  if (o.max !== undefined) p.max(o.max);
  return withQueries(p, o.ds, o.queries);
}

export interface StatOptions extends PanelOptions {
  thresholds?: dashboard.ThresholdsConfigBuilder;
  noValue?: string;
  decimals?: number;
  mappings?: dashboard.ValueMapping[];
}

export function statPanel(o: StatOptions): stat.PanelBuilder {
  const p = new stat.PanelBuilder()
    .title(o.title)
    .description(o.description)
    .unit(o.unit)
    .span(o.w)
    .height(o.h ?? 4)
    .reduceOptions(lastValue())
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .textMode(common.BigValueTextMode.Auto)
    .justifyMode(common.BigValueJustifyMode.Auto)
    .orientation(common.VizOrientation.Auto)
    .thresholds(o.thresholds ?? thresholds([null, 'text']));
  if (o.noValue !== undefined) p.noValue(o.noValue);
  if (o.decimals !== undefined) p.decimals(o.decimals);
  if (o.mappings) p.mappings(o.mappings);
  return withQueries(p, o.ds, o.queries);
}

export interface BarGaugeOptions extends PanelOptions {
  min?: number;
  max?: number;
  thresholds?: dashboard.ThresholdsConfigBuilder;
}

export function barGaugePanel(o: BarGaugeOptions): bargauge.PanelBuilder {
  const p = new bargauge.PanelBuilder()
    .title(o.title)
    .description(o.description)
    .unit(o.unit)
    .span(o.w)
    .height(o.h ?? 8)
    .reduceOptions(lastValue())
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .valueMode(common.BarGaugeValueMode.Color)
    .namePlacement(common.BarGaugeNamePlacement.Auto)
    .showUnfilled(true)
    .sizing(common.BarGaugeSizing.Auto)
    .orientation(common.VizOrientation.Horizontal)
    .min(o.min ?? 0)
    .thresholds(o.thresholds ?? thresholds([null, 'green']));
  if (o.max !== undefined) p.max(o.max);
  return withQueries(p, o.ds, o.queries);
}

export interface TableOptions extends PanelOptions {
  /** Column header → new name (e.g. 'Value #A' → 'Request'); the Time column is always hidden. */
  rename?: Record<string, string>;
  /** Columns to hide besides Time. */
  hide?: string[];
  /** Column order (names before renaming). */
  order?: string[];
  /** Join several instant queries into one row per label set. */
  merge?: boolean;
  sortBy?: { column: string; desc: boolean };
}

export function tablePanel(o: TableOptions): table.PanelBuilder {
  const p = new table.PanelBuilder()
    .title(o.title)
    .description(o.description)
    .unit(o.unit)
    .span(o.w)
    .height(o.h ?? 8)
    .showHeader(true)
    .cellHeight(common.TableCellHeight.Sm)
    .filterable(true);
  if (o.merge) p.withTransformation({ id: 'merge', options: {} });
  const excludeByName: Record<string, boolean> = { Time: true };
  for (const c of o.hide ?? []) excludeByName[c] = true;
  const indexByName: Record<string, number> = {};
  (o.order ?? []).forEach((c, i) => (indexByName[c] = i));
  p.withTransformation({ id: 'organize', options: { excludeByName, indexByName, renameByName: o.rename ?? {}, includeByName: {} } });
  if (o.sortBy) p.sortBy([new common.TableSortByFieldStateBuilder().displayName(o.sortBy.column).desc(o.sortBy.desc)]);
  return withQueries(p, o.ds, o.queries);
}

export function row(title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title).collapsed(false);
}
