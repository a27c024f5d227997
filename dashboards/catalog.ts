// The metrics a dashboard may read, computed from the code that emits or ingests them, never typed by
// hand: a dashboard that queries a renamed or invented metric fails the tests.
//
//   receiver   createReceiverMetrics() on a fresh registry (receiver/metrics.ts), with prom-client's
//              default process/Node.js metrics it registers
//   agent      createAgentMetrics() (agent/metrics.ts)
//   analyzer   ANALYZER_METRICS (analyzer/exported-metrics.ts) and createLeaderMetrics() (analyzer/metrics.ts)
//   alerts     ALERTS and ALERTS_FOR_STATE, written back to the store by alerting-rule evaluation
//   recorded   every `record:` of the rule files (rules/*.yml)
//   ingested   what the agent keeps by default (agent/keep.ts DEFAULT_KEEP_METRICS, some as patterns),
//              the kube-state-metrics families it computes itself (agent/ksm.ts FACT_FAMILIES), and
//              every metric the rule files' expressions read
//
// Histograms and summaries are listed as their series: name_bucket (histograms), name_sum, name_count.
//
// Each source sits behind one data source (see lib.ts): what Trimtab stores is queried through its own
// query API ($datasource), what Trimtab exposes on /metrics through a Prometheus that scrapes it
// ($prometheus).

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { createAgentMetrics } from '../agent/metrics.ts';
import { DEFAULT_KEEP_METRICS, namesFromRuleFile, type RuleFileNames } from '../agent/keep.ts';
import { FACT_FAMILIES } from '../agent/ksm.ts';
import { ANALYZER_METRICS, type ExportedMetric } from '../analyzer/exported-metrics.ts';
import { createLeaderMetrics } from '../analyzer/metrics.ts';
import { createReceiverMetrics } from '../receiver/metrics.ts';
import type { Storage } from '../storage/types.ts';

export type MetricSource = 'receiver' | 'agent' | 'analyzer' | 'alerts' | 'recorded' | 'ingested';

export type DataSourceName = 'datasource' | 'prometheus';

/** Which data source serves the metrics of each source. */
export const SOURCE_DATASOURCE: Readonly<Record<MetricSource, DataSourceName>> = {
  receiver: 'prometheus',
  agent: 'prometheus',
  analyzer: 'prometheus',
  alerts: 'datasource',
  recorded: 'datasource',
  ingested: 'datasource',
};

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_RULES_DIR = join(REPO_ROOT, 'rules');

/** Series that alerting-rule evaluation writes back to the store (Prometheus' names). */
export const ALERT_SERIES = ['ALERTS', 'ALERTS_FOR_STATE'] as const;

export interface MetricCatalog {
  /** Exact names → the sources that provide them. */
  readonly names: ReadonlyMap<string, ReadonlySet<MetricSource>>;
  /** Anchored name patterns (from keep-list entries such as `kube_horizontalpodautoscaler_.*`). */
  readonly patterns: ReadonlyArray<{ pattern: string; source: MetricSource }>;
  /** The rule files read, relative to the repository (empty when there is no rules/ directory yet). */
  readonly ruleFiles: readonly string[];
  /** Alert names defined by the rule files (values of ALERTS' alertname label). */
  readonly alertNames: ReadonlySet<string>;
  /** The sources of a metric name, empty when no source provides it. */
  sourcesOf(name: string): Set<MetricSource>;
}

/** The series names of one metric of a prom-client registry or of ANALYZER_METRICS. */
export function seriesNames(name: string, type: string): string[] {
  if (type === 'histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (type === 'summary') return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

async function registryNames(registry: Registry): Promise<string[]> {
  const metrics = await registry.getMetricsAsJSON();
  return metrics.flatMap((m) => seriesNames(m.name, String(m.type)));
}

/** A storage that only answers what the receiver's metrics ask of it (the pool-stats gauge). */
function catalogStorage(): Storage {
  const stub: Pick<Storage, 'driver' | 'poolStats'> = { driver: 'pglite', poolStats: () => ({ total: 0, idle: 0, waiting: 0 }) };
  return stub as Storage;
}

export async function receiverMetricNames(): Promise<string[]> {
  return registryNames(createReceiverMetrics(catalogStorage(), 'catalog').registry);
}

export async function agentMetricNames(): Promise<string[]> {
  return registryNames(createAgentMetrics('catalog').registry);
}

export async function analyzerMetricNames(): Promise<string[]> {
  const registry = new Registry();
  createLeaderMetrics(registry);
  const exported = ANALYZER_METRICS.flatMap((m: ExportedMetric) => seriesNames(m.name, m.type));
  return [...exported, ...(await registryNames(registry))];
}

export interface RulePack {
  files: string[];
  /** Names recorded by `record:` rules. */
  recorded: Set<string>;
  /** Names (and patterns) the expressions read, recorded names excluded. */
  reads: RuleFileNames;
  alertNames: Set<string>;
}

/**
 * Reads the rule files of `dir` (*.yml, *.yaml). Files without a `groups` list (promtool unit-test
 * files) are skipped; a rule file that does not parse is an error.
 */
export async function readRulePack(dir: string = DEFAULT_RULES_DIR): Promise<RulePack> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') entries = [];
    else throw err;
  }
  const files = entries.filter((f) => /\.ya?ml$/.test(f)).sort();
  const reads: RuleFileNames = { names: new Set(), patterns: new Set(), recorded: new Set(), keepAll: false, warnings: [] };
  const alertNames = new Set<string>();
  const used: string[] = [];
  for (const f of files) {
    const text = await readFile(join(dir, f), 'utf8');
    const doc = parseYaml(text) as { groups?: Array<{ rules?: Array<{ alert?: unknown }> }> } | null;
    if (!doc || typeof doc !== 'object' || !Array.isArray(doc.groups)) continue;
    await namesFromRuleFile(text, f, reads);
    for (const g of doc.groups) for (const r of g.rules ?? []) if (typeof r.alert === 'string') alertNames.add(r.alert);
    used.push(f);
  }
  for (const r of reads.recorded) reads.names.delete(r);
  return { files: used.map((f) => join('rules', f)), recorded: new Set(reads.recorded), reads, alertNames };
}

export interface CatalogOptions {
  /** Directory of the rule files (default: the repository's rules/). */
  rulesDir?: string;
}

export async function buildCatalog(options: CatalogOptions = {}): Promise<MetricCatalog> {
  const names = new Map<string, Set<MetricSource>>();
  const patterns: Array<{ pattern: string; source: MetricSource }> = [];
  const add = (source: MetricSource, list: Iterable<string>) => {
    for (const n of list) {
      let s = names.get(n);
      if (!s) names.set(n, (s = new Set()));
      s.add(source);
    }
  };
  const addEntry = (source: MetricSource, entry: string) => {
    if (/[.*+?()[\]{}|^$\\]/.test(entry)) patterns.push({ pattern: entry, source });
    else add(source, [entry]);
  };

  add('receiver', await receiverMetricNames());
  add('agent', await agentMetricNames());
  add('analyzer', await analyzerMetricNames());
  add('alerts', ALERT_SERIES);

  const pack = await readRulePack(options.rulesDir);
  add('recorded', pack.recorded);
  for (const e of DEFAULT_KEEP_METRICS) addEntry('ingested', e);
  add('ingested', FACT_FAMILIES.keys());
  add('ingested', pack.reads.names);
  for (const p of pack.reads.patterns) addEntry('ingested', p);

  const compiled = patterns.map((p) => ({ ...p, regex: new RegExp(`^(?:${p.pattern})$`) }));
  return {
    names,
    patterns,
    ruleFiles: pack.files,
    alertNames: pack.alertNames,
    sourcesOf(name) {
      const out = new Set(names.get(name) ?? []);
      for (const p of compiled) if (p.regex.test(name)) out.add(p.source);
      return out;
    },
  };
}
