// Rule groups built in code for analyzer tests (the YAML loader has its own tests).

import { parse } from '../../../promql/index.ts';
import type { AlertingRule, RecordingRule, RuleGroup } from '../../../analyzer/rule-types.ts';

export function recording(record: string, expr: string, labels: Record<string, string> = {}): RecordingRule {
  return { kind: 'recording', record, expr, exprAst: parse(expr), labels, position: { file: 'test.yml', line: 1 } };
}

export function alerting(alert: string, expr: string, options: Partial<Omit<AlertingRule, 'kind' | 'alert' | 'expr' | 'exprAst'>> = {}): AlertingRule {
  return {
    kind: 'alerting',
    alert,
    expr,
    exprAst: parse(expr),
    forMs: 0,
    keepFiringForMs: 0,
    labels: {},
    annotations: {},
    position: { file: 'test.yml', line: 1 },
    ...options,
  };
}

export function group(name: string, rules: Array<RecordingRule | AlertingRule>, options: { intervalMs?: number; limit?: number; file?: string } = {}): RuleGroup {
  return {
    name,
    position: { file: options.file ?? 'test.yml', line: 1 },
    intervalMs: options.intervalMs ?? 60_000,
    intervalExplicit: options.intervalMs !== undefined,
    limit: options.limit ?? 0,
    rules,
  };
}
