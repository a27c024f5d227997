// The loaded, validated form of a Prometheus rule file (https://prometheus.io/docs/prometheus/latest/configuration/recording_rules/).
// rule-file.ts produces it from YAML; the evaluator (group-eval.ts), the scheduler and `trimtab rules
// test` consume it. Every node keeps the file and line it came from, so errors can point at it.

import type { Expr } from '../promql/index.ts';

export interface SourcePosition {
  file: string;
  /** 1-based line of the YAML node. */
  line: number;
}

interface RuleBase {
  /** Position of the rule's mapping (its first key). */
  position: SourcePosition;
  /** The PromQL expression as written (trimmed). */
  expr: string;
  /** Parsed once at load time. */
  exprAst: Expr;
  /** Labels added to (or overwriting) every result; for alerting rules the values are templates. */
  labels: Record<string, string>;
}

export interface RecordingRule extends RuleBase {
  kind: 'recording';
  /** The metric name the results are stored under. */
  record: string;
}

export interface AlertingRule extends RuleBase {
  kind: 'alerting';
  alert: string;
  /** `for`: how long an alert stays pending before it fires, ms (0: fires at once). */
  forMs: number;
  /** `keep_firing_for`: how long a firing alert keeps firing after its condition is gone, ms. */
  keepFiringForMs: number;
  /** Go text/template strings, expanded per alert (template.ts). */
  annotations: Record<string, string>;
}

export type Rule = RecordingRule | AlertingRule;

export interface RuleGroup {
  name: string;
  position: SourcePosition;
  /** Evaluation interval, ms: the group's `interval`, else the global default. */
  intervalMs: number;
  /** Whether `interval` was written in the file (else intervalMs is the default in force at load). */
  intervalExplicit: boolean;
  /** `limit`: maximum alerts / series a rule may produce; 0 means no limit. */
  limit: number;
  rules: Rule[];
}

export interface RuleFile {
  /** Path as given (after glob expansion). */
  file: string;
  groups: RuleGroup[];
}

/** Prometheus' default global evaluation_interval. */
export const DEFAULT_EVALUATION_INTERVAL_MS = 60_000;
