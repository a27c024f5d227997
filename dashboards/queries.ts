// Finds every PromQL query of a generated dashboard (panel targets and template-variable queries),
// parses it with Trimtab's PromQL parser (on @prometheus-io/lezer-promql) and checks that each metric
// it reads is in the catalog, behind the data source the query runs on.

import { parse, walk, type Expr } from '../promql/index.ts';
import { SOURCE_DATASOURCE, type DataSourceName, type MetricCatalog, type MetricSource } from './catalog.ts';

export interface FoundQuery {
  dashboard: string;
  /** "panel 12 \"CPU usage\" A" or "variable namespace". */
  where: string;
  /** The query as written in the dashboard, Grafana variables and all. */
  query: string;
  /** The PromQL to parse: the whole query, or the selector/expression inside label_values()/query_result(). */
  promql: string;
  /** The data source variable the query runs on ('datasource', 'prometheus'), or the uid when it is no variable. */
  datasource: string;
}

interface JsonDataSourceRef {
  type?: string;
  uid?: string;
}

interface JsonTarget {
  refId?: string;
  expr?: string;
  datasource?: JsonDataSourceRef;
}

interface JsonPanel {
  id?: number;
  type: string;
  title?: string;
  datasource?: JsonDataSourceRef;
  targets?: JsonTarget[];
  panels?: JsonPanel[];
}

interface JsonVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: JsonDataSourceRef;
}

export interface JsonDashboard {
  uid?: string;
  title?: string;
  panels?: JsonPanel[];
  templating?: { list?: JsonVariable[] };
}

/** `${datasource}` → 'datasource'; any other uid as it is. */
function dsName(ref: JsonDataSourceRef | undefined): string {
  const uid = ref?.uid ?? '';
  const m = /^\$\{?(\w+)\}?$/.exec(uid);
  return m ? m[1] : uid;
}

export function allPanels(d: JsonDashboard): JsonPanel[] {
  const out: JsonPanel[] = [];
  const visit = (ps: JsonPanel[] | undefined) => {
    for (const p of ps ?? []) {
      out.push(p);
      visit(p.panels);
    }
  };
  visit(d.panels);
  return out;
}

/** The PromQL inside a Prometheus template-variable query. */
export function variablePromQL(query: string): string {
  const q = query.trim();
  let m = /^label_values\(\s*(.+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/s.exec(q);
  if (m) return m[1];
  m = /^query_result\(\s*(.+)\s*\)$/s.exec(q);
  if (m) return m[1];
  throw new Error(`unsupported template-variable query ${JSON.stringify(query)} (use label_values(selector, label) or query_result(expr))`);
}

export function findQueries(d: JsonDashboard): FoundQuery[] {
  const name = d.uid ?? d.title ?? '?';
  const out: FoundQuery[] = [];
  for (const p of allPanels(d)) {
    for (const t of p.targets ?? []) {
      if (typeof t.expr !== 'string') continue;
      out.push({
        dashboard: name,
        where: `panel ${p.id} ${JSON.stringify(p.title ?? '')} ${t.refId ?? ''}`.trim(),
        query: t.expr,
        promql: t.expr,
        datasource: dsName(t.datasource ?? p.datasource),
      });
    }
  }
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    out.push({ dashboard: name, where: `variable ${v.name}`, query: q, promql: variablePromQL(q), datasource: dsName(v.datasource) });
  }
  return out;
}

/** Values substituted for Grafana's built-in variables so that the query parses as Grafana would send it. */
const BUILTIN_VARIABLES: Readonly<Record<string, string>> = {
  __rate_interval: '4m',
  __interval: '1m',
  __range: '1d',
  __range_s: '86400',
  __range_ms: '86400000',
  __interval_ms: '60000',
};

/**
 * Replaces Grafana variables ($name, ${name}, ${name:format}) with a value the parser accepts: the
 * built-in interval/range variables with a duration, dashboard variables with a plain word (they only
 * appear inside label-matcher strings). An unknown variable is an error.
 */
export function substituteVariables(query: string, known: ReadonlySet<string>): string {
  if (query.includes('[[')) throw new Error(`deprecated [[variable]] syntax in ${JSON.stringify(query)}`);
  return query.replace(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)/g, (_all, braced: string | undefined, bare: string | undefined) => {
    const v = (braced ?? bare)!;
    if (/^\d+$/.test(v)) return _all; // a regex group reference in label_replace ("$1")
    if (v in BUILTIN_VARIABLES) return BUILTIN_VARIABLES[v];
    if (known.has(v)) return 'VALUE';
    throw new Error(`unknown variable $${v} in ${JSON.stringify(query)}`);
  });
}

/** The metric names an expression reads. A selector without a fixed name is an error (a dashboard must name what it reads). */
export function metricNames(expr: Expr, query: string): string[] {
  const names = new Set<string>();
  walk(expr, (node) => {
    if (node.type !== 'VectorSelector') return;
    if (node.name !== '') {
      names.add(node.name);
      return;
    }
    const eq = node.matchers.find((m) => m.name === '__name__' && m.type === '=');
    if (!eq) throw new Error(`selector at ${node.pos.start}-${node.pos.end} of ${JSON.stringify(query)} does not name its metric`);
    names.add(eq.value);
  });
  return [...names];
}

export interface QueryProblem {
  dashboard: string;
  where: string;
  query: string;
  problem: string;
}

export interface CheckedQuery extends FoundQuery {
  metrics: string[];
}

/** Parses every query of the dashboards and checks its metrics against the catalog; returns the problems found. */
export function checkDashboards(dashboards: readonly JsonDashboard[], catalog: MetricCatalog): { queries: CheckedQuery[]; problems: QueryProblem[] } {
  const queries: CheckedQuery[] = [];
  const problems: QueryProblem[] = [];
  for (const d of dashboards) {
    const variables = new Set((d.templating?.list ?? []).map((v) => v.name));
    let found: FoundQuery[];
    try {
      found = findQueries(d);
    } catch (err) {
      problems.push({ dashboard: d.uid ?? '?', where: 'templating', query: '', problem: (err as Error).message });
      continue;
    }
    for (const q of found) {
      const report = (problem: string) => problems.push({ dashboard: q.dashboard, where: q.where, query: q.query, problem });
      let metrics: string[];
      try {
        metrics = metricNames(parse(substituteVariables(q.promql, variables)), q.query);
      } catch (err) {
        report((err as Error).message);
        continue;
      }
      queries.push({ ...q, metrics });
      if (q.datasource !== 'datasource' && q.datasource !== 'prometheus') {
        report(`runs on data source ${JSON.stringify(q.datasource)}; use $datasource or $prometheus`);
        continue;
      }
      if (!variables.has(q.datasource)) report(`runs on $${q.datasource}, which the dashboard does not define`);
      for (const m of metrics) {
        const sources = catalog.sourcesOf(m);
        if (sources.size === 0) {
          report(`reads ${m}, which no Trimtab component emits or ingests`);
          continue;
        }
        const servedBy = new Set([...sources].map((s: MetricSource) => SOURCE_DATASOURCE[s]));
        if (!servedBy.has(q.datasource as DataSourceName)) {
          report(`reads ${m} (${[...sources].join(', ')}) through $${q.datasource}, but it is served by $${[...servedBy].join(' or $')}`);
        }
      }
    }
  }
  return { queries, problems };
}
