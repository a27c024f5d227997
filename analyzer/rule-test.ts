// `trimtab rules test`: runs unit-test files in the exact `promtool test rules` format with Trimtab's
// own rule loader, evaluator and PromQL engine, following promtool's procedure (cmd/promtool/unittest.go,
// Prometheus 2.42) so that a file passes here iff it passes under promtool:
// - input series are loaded into memory (point i at i × interval);
// - every group of the rule files is evaluated at 0, evaluation_interval, 2 × evaluation_interval, … up
//   to the largest eval_time of the test, in group_eval_order (else file order), alerting rules starting
//   restored so that ALERTS is written from the first evaluation;
// - an alert_rule_test at eval_time t compares the FIRING alerts of that name after the evaluation at the
//   last evaluation time ≤ t (labels and annotations, order-free);
// - a promql_expr_test runs its expression at eval_time against input plus every rule result, and compares
//   samples exactly (as Go's reflect.DeepEqual: a NaN never equals a NaN).
// A rule evaluation error ends the test group, as in promtool.

import { Engine } from '../promql/engine.ts';
import { compareLabels, labelsToString, type Labels } from '../promql/labels.ts';
import { MemoryQueryable } from '../promql/memory-queryable.ts';
import { formatValue } from '../promql/value.ts';
import { expandAlertTemplates } from './alert-templates.ts';
import { GroupEvaluator, type RuleResultSink } from './group-eval.ts';
import { loadRuleFiles } from './rule-file.ts';
import { parseRuleTestFile, seriesSamples, type RuleTestFile, type RuleUnitTest } from './rule-test-file.ts';
import type { RuleGroup } from './rule-types.ts';
import { readFile } from 'node:fs/promises';

export interface RuleTestReport {
  file: string;
  ok: boolean;
  /** promtool-style failure lines, one entry per failure (may span lines). */
  failures: string[];
}

/** Runs one test file; never throws for test failures or bad files (they are reported). */
export async function runRuleTestFile(file: string): Promise<RuleTestReport> {
  let parsed: RuleTestFile;
  try {
    parsed = await parseRuleTestFile(await readFile(file, 'utf8'), file);
  } catch (error) {
    return { file, ok: false, failures: [`  ${messageOf(error)}`] };
  }
  const failures: string[] = [];
  for (const test of parsed.tests) {
    try {
      failures.push(...(await runUnitTest(parsed, test)));
    } catch (error) {
      failures.push(`    ${messageOf(error)}`);
    }
  }
  return { file, ok: failures.length === 0, failures };
}

/** Output in promtool's shape: `Unit Testing:  f.yml\n  SUCCESS\n` or `  FAILED:\n…`. */
export function formatRuleTestReport(reports: RuleTestReport[]): string {
  let out = '';
  for (const r of reports) {
    out += `Unit Testing:  ${r.file}\n`;
    out += r.ok ? '  SUCCESS\n' : `  FAILED:\n${r.failures.join('\n')}\n`;
  }
  return out;
}

async function runUnitTest(file: RuleTestFile, test: RuleUnitTest): Promise<string[]> {
  const prefix = test.name ? `    name: ${test.name},\n` : '';
  const maxEval = Math.max(0, ...test.alertTests.map((a) => a.evalTimeMs), ...test.exprTests.map((e) => e.evalTimeMs));
  const interval = file.evaluationIntervalMs;
  // promtool loads input samples only up to the last evaluation time (its lazy loader), so an eval_time
  // between two evaluations does not see the points after the last one.
  const loadedUntil = Math.floor(maxEval / interval) * interval;
  const storage = new MemoryQueryable();
  for (const s of test.inputSeries) storage.add(s.labels, seriesSamples(s, test.intervalMs).filter(([t]) => t <= loadedUntil));

  // The rule files, with the test's interval as the default group interval (as promtool does; it does not
  // matter for the run, which evaluates every group at every evaluation_interval).
  const ruleFiles = await loadRuleFiles(file.ruleFiles, { defaultIntervalMs: test.intervalMs > 0 ? test.intervalMs : interval });
  const groups: RuleGroup[] = ruleFiles.flatMap((f) => f.groups);
  const order = new Map(file.groupEvalOrder.map((name, i) => [name, i]));
  if (order.size > 0) {
    // Go's sort.Slice on groupOrderMap[name]: unknown names count as 0. Stable here, file order otherwise.
    groups.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  }

  const engine = new Engine();
  const evaluators = groups.map((g) => new GroupEvaluator(g, { restored: true }));
  const sink: RuleResultSink = {
    async append(samples, stale, ts) {
      for (const s of samples) storage.append(s.labels, ts, s.value);
      for (const labels of stale) storage.append(labels, ts, 'stale');
    },
  };
  const expand = expandAlertTemplates({
    externalLabels: test.externalLabels,
    externalURL: test.externalURL,
    engine,
    queryable: storage,
  });

  const alertTimes = [...new Set(test.alertTests.map((a) => a.evalTimeMs))].sort((a, b) => a - b);
  const failures: string[] = [];
  let next = 0;
  for (let ts = 0; ts <= maxEval; ts += interval) {
    const evalErrors: string[] = [];
    for (const ev of evaluators) {
      await ev.evaluate(ts, { engine, queryable: storage, sink, expand: expand(ts) });
      ev.status.forEach((st, i) => {
        if (st.health === 'err') {
          const rule = ev.group.rules[i]!;
          evalErrors.push(`    rule: ${rule.kind === 'alerting' ? rule.alert : rule.record}, time: ${goDuration(ts)}, err: ${st.lastError}`);
        }
      });
    }
    if (evalErrors.length > 0) return [...failures, ...evalErrors.map((e) => prefix + e)];

    while (next < alertTimes.length && ts <= alertTimes[next]! && alertTimes[next]! < ts + interval) {
      const t = alertTimes[next]!;
      for (const at of test.alertTests.filter((a) => a.evalTimeMs === t)) {
        const got: Array<{ labels: Labels; annotations: Labels }> = [];
        for (const ev of evaluators) {
          for (const state of ev.alertStates) {
            if (!state || state.rule.alert !== at.alertname) continue;
            for (const a of state.activeAlerts()) {
              if (a.state === 'firing') got.push({ labels: a.labels, annotations: exactLabels(a.annotations) });
            }
          }
        }
        // Expected labels exactly as written (an empty value stays and can never match, as in promtool).
        const exp = at.expected.map((e) => ({
          labels: exactLabels({ ...e.labels, alertname: at.alertname }),
          annotations: exactLabels(e.annotations),
        }));
        const sortAlerts = (xs: typeof got) => xs.sort((a, b) => compareLabels(a.labels, b.labels) || compareLabels(a.annotations, b.annotations));
        sortAlerts(got);
        sortAlerts(exp);
        if (!sameAlerts(exp, got)) {
          failures.push(
            `${prefix}    alertname: ${at.alertname}, time: ${goDuration(t)}, \n        exp:${formatAlerts(exp)}, \n        got:${formatAlerts(got)}`,
          );
        }
      }
      next++;
    }
  }

  for (const et of test.exprTests) {
    let result;
    try {
      result = await engine.instantQuery(storage, et.expr, et.evalTimeMs);
    } catch (error) {
      failures.push(`${prefix}    expr: ${JSON.stringify(et.expr)}, time: ${goDuration(et.evalTimeMs)}, err: ${messageOf(error)}`);
      continue;
    }
    const value = result.value;
    const got =
      value.resultType === 'vector'
        ? value.result.map((s) => ({ labels: s.metric, value: s.v }))
        : value.resultType === 'scalar'
          ? [{ labels: [] as Labels, value: value.result.v }]
          : null;
    if (got === null) {
      failures.push(`${prefix}    expr: ${JSON.stringify(et.expr)}, time: ${goDuration(et.evalTimeMs)}, err: rule result is not a vector or scalar`);
      continue;
    }
    const exp = et.expected.map((s) => ({ labels: s.labels, value: s.value }));
    got.sort((a, b) => compareLabels(a.labels, b.labels));
    exp.sort((a, b) => compareLabels(a.labels, b.labels));
    const equal = exp.length === got.length && exp.every((e, i) => compareLabels(e.labels, got[i]!.labels) === 0 && e.value === got[i]!.value);
    if (!equal) {
      failures.push(
        `${prefix}    expr: ${JSON.stringify(et.expr)}, time: ${goDuration(et.evalTimeMs)},\n        exp: ${formatSamples(exp)}\n        got: ${formatSamples(got)}`,
      );
    }
  }
  return failures;
}

function exactLabels(record: Record<string, string>): Labels {
  return Object.entries(record)
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function sameAlerts(a: Array<{ labels: Labels; annotations: Labels }>, b: Array<{ labels: Labels; annotations: Labels }>): boolean {
  return a.length === b.length && a.every((x, i) => compareLabels(x.labels, b[i]!.labels) === 0 && compareLabels(x.annotations, b[i]!.annotations) === 0);
}

function formatAlerts(xs: Array<{ labels: Labels; annotations: Labels }>): string {
  return `[${xs.map((x, i) => `\n        ${i}:\n          Labels:${labelsToString(x.labels)}\n          Annotations:${labelsToString(x.annotations)}`).join('')}\n        ]`;
}

function formatSamples(xs: Array<{ labels: Labels; value: number }>): string {
  return xs.length === 0 ? '(empty)' : xs.map((x) => `${labelsToString(x.labels)} ${formatValue(x.value)}`).join(', ');
}

/** Go's time.Duration.String() for whole milliseconds: 0s, 1m30s, 2h0m0s, 500ms. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  if (rest < 1000) return `${neg ? '-' : ''}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  let out = `${s}s`;
  if (h > 0) out = `${h}h${m}m${out}`;
  else if (m > 0) out = `${m}m${out}`;
  return (neg ? '-' : '') + out;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
