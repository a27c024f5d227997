// Which series the agent keeps: the metric names the rule files read, plus configured extras.
//
// The names come from the PromQL of every `expr` in the rule files (Prometheus rule-file YAML): each
// vector selector's metric name, or its `__name__` matchers (`=` adds a name, `=~` adds a pattern).
// Names recorded by `record:` rules in the same files are computed server-side and are not scraped. A
// selector with no positive constraint on the name (`{job="x"}`, `{__name__!="a"}`) could read any
// metric: the keep-list then keeps everything, with a warning, because silently starving a rule of data
// is worse than sending too much.
//
// Without rule files the built-in DEFAULT_KEEP_METRICS is used: the inputs the rule pack's issue names.

import { TrimtabError } from '../protocol/errors.ts';
import { detach } from './exposition.ts';
import { glob, readFile } from './fs.ts';

/**
 * The metric names the default rule pack reads (issue 5, "Inputs"; recommenders.md §5-§6), used when
 * no rule files are given. Entries ending in `.*` are patterns.
 */
export const DEFAULT_KEEP_METRICS: readonly string[] = [
  // cAdvisor via the kubelet
  'container_cpu_usage_seconds_total',
  'container_memory_working_set_bytes',
  'container_cpu_cfs_throttled_periods_total',
  'container_cpu_cfs_periods_total',
  'container_oom_events_total',
  'machine_cpu_cores',
  'machine_memory_bytes',
  // kube-state-metrics (produced by the agent itself, or scraped from a kube-state-metrics target)
  'kube_pod_container_resource_requests',
  'kube_pod_container_resource_limits',
  'kube_pod_container_info',
  'kube_pod_owner',
  'kube_replicaset_owner',
  'kube_job_owner',
  'kube_pod_status_phase',
  'kube_pod_container_status_last_terminated_reason',
  'kube_pod_container_status_restarts_total',
  'kube_node_status_allocatable',
  'kube_horizontalpodautoscaler_.*',
  'kube_poddisruptionbudget_status_.*',
  // node-exporter (node consolidation)
  'node_cpu_seconds_total',
  'node_memory_MemAvailable_bytes',
  'node_memory_MemTotal_bytes',
  // OpenCost prices, when present
  'node_cpu_hourly_cost',
  'node_ram_hourly_cost',
];

export class KeepListError extends TrimtabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_rule_file', message, options);
  }
}

const PATTERN_CHARS = /[.*+?()[\]{}|^$\\]/;

export class KeepList {
  readonly names: ReadonlySet<string>;
  /** Anchored regular expressions (Prometheus regexes are fully anchored). */
  readonly patterns: readonly string[];
  /** True when some selector could read any metric: everything is kept. */
  readonly keepAll: boolean;
  private readonly regex: RegExp | null;
  private readonly cache = new Map<string, boolean>();

  constructor(names: Iterable<string>, patterns: Iterable<string> = [], keepAll = false) {
    this.names = new Set(names);
    this.patterns = [...new Set(patterns)].sort();
    this.keepAll = keepAll;
    this.regex = this.patterns.length ? new RegExp(`^(?:${this.patterns.join('|')})$`) : null;
  }

  /** Entries as given to --keep-metric: a name, or a pattern when it holds regex characters. */
  static fromEntries(entries: Iterable<string>): KeepList {
    const names: string[] = [];
    const patterns: string[] = [];
    for (const e of entries) {
      if (e === '') continue;
      if (PATTERN_CHARS.test(e)) {
        try {
          new RegExp(`^(?:${e})$`);
        } catch (cause) {
          throw new KeepListError(`invalid metric name pattern ${JSON.stringify(e)}`, { cause });
        }
        patterns.push(e);
      } else names.push(e);
    }
    return new KeepList(names, patterns);
  }

  merge(other: KeepList): KeepList {
    return new KeepList([...this.names, ...other.names], [...this.patterns, ...other.patterns], this.keepAll || other.keepAll);
  }

  has(name: string): boolean {
    if (this.keepAll || this.names.has(name)) return true;
    if (!this.regex) return false;
    let hit = this.cache.get(name);
    if (hit === undefined) {
      hit = this.regex.test(name);
      if (this.cache.size < 100_000) this.cache.set(detach(name), hit);
    }
    return hit;
  }

  /** One anchored RE2-compatible regex matching every kept name (for write_relabel_configs). */
  regexSource(): string {
    if (this.keepAll) return '.+';
    const names = [...this.names].sort().map((n) => n.replace(/[.*+?()[\]{}|^$\\]/g, '\\$&'));
    return [...names, ...this.patterns].join('|');
  }
}

export interface RuleFileNames {
  names: Set<string>;
  patterns: Set<string>;
  recorded: Set<string>;
  keepAll: boolean;
  warnings: string[];
}

interface RuleGroupYaml {
  name?: string;
  rules?: Array<{ record?: string; alert?: string; expr?: unknown }>;
}

/** Collects the metric names the expressions of one rule file (its YAML text) read. */
export async function namesFromRuleFile(text: string, file: string, into?: RuleFileNames): Promise<RuleFileNames> {
  const out: RuleFileNames = into ?? { names: new Set(), patterns: new Set(), recorded: new Set(), keepAll: false, warnings: [] };
  // Loaded only when rule files are given: the PromQL grammar and YAML are not needed otherwise.
  const [{ parse: parseYaml }, { parse: parsePromQL }, { walk }] = await Promise.all([import('yaml'), import('../promql/parse.ts'), import('../promql/ast.ts')]);
  let doc: { groups?: RuleGroupYaml[] };
  try {
    doc = parseYaml(text) ?? {};
  } catch (cause) {
    throw new KeepListError(`${file}: not valid YAML: ${(cause as Error).message}`, { cause });
  }
  if (typeof doc !== 'object' || !Array.isArray(doc.groups)) throw new KeepListError(`${file}: not a Prometheus rule file (no "groups" list)`);
  for (const group of doc.groups) {
    for (const [i, rule] of (group.rules ?? []).entries()) {
      const where = `${file}: group ${JSON.stringify(group.name ?? '')} rule ${i + 1}`;
      if (typeof rule.record === 'string') out.recorded.add(rule.record);
      if (typeof rule.expr !== 'string' && typeof rule.expr !== 'number') throw new KeepListError(`${where}: missing expr`);
      let expr;
      try {
        expr = parsePromQL(String(rule.expr));
      } catch (cause) {
        throw new KeepListError(`${where}: ${(cause as Error).message}`, { cause });
      }
      walk(expr, (node) => {
        if (node.type !== 'VectorSelector') return;
        if (node.name !== '') {
          out.names.add(node.name);
          return;
        }
        let bounded = false;
        for (const m of node.matchers) {
          if (m.name !== '__name__') continue;
          if (m.type === '=') {
            out.names.add(m.value);
            bounded = true;
          } else if (m.type === '=~') {
            out.patterns.add(m.value);
            bounded = true;
          }
        }
        if (!bounded) {
          out.keepAll = true;
          out.warnings.push(`${where}: selector at ${node.pos.start}-${node.pos.end} does not bound the metric name; every series is kept`);
        }
      });
    }
  }
  return out;
}

/** The keep-list of the rule files matching `globs` (comma-separated or an array), plus `extra` entries. */
export async function keepListFromRuleFiles(globs: readonly string[], extra: readonly string[] = [], cwd = process.cwd()): Promise<{ keep: KeepList; files: string[]; warnings: string[] }> {
  const files: string[] = [];
  for (const pattern of globs) {
    const matched = await glob(pattern, { cwd });
    if (matched.length === 0) throw new KeepListError(`rule file pattern ${JSON.stringify(pattern)} matches no file`);
    files.push(...matched.sort());
  }
  const acc: RuleFileNames = { names: new Set(), patterns: new Set(), recorded: new Set(), keepAll: false, warnings: [] };
  for (const f of files) {
    const path = f.startsWith('/') ? f : `${cwd}/${f}`;
    await namesFromRuleFile(await readFile(path, 'utf8'), f, acc);
  }
  for (const r of acc.recorded) acc.names.delete(r);
  const fromRules = new KeepList(acc.names, acc.patterns, acc.keepAll);
  return { keep: fromRules.merge(KeepList.fromEntries(extra)), files, warnings: acc.warnings };
}

/** The default keep-list (DEFAULT_KEEP_METRICS) plus `extra` entries. */
export function defaultKeepList(extra: readonly string[] = []): KeepList {
  return KeepList.fromEntries([...DEFAULT_KEEP_METRICS, ...extra]);
}
