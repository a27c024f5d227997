// The default rule pack and `trimtab rules check|test` against Debian's promtool 2.42: every rule file is
// valid for both, every unit test in rules/tests passes under both, and the tester itself is checked —
// a file with a wrong expectation fails under both, with the same verdict on a corpus of tricky cases.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRuleFiles } from '../../analyzer/rule-file.ts';
import { runRuleTestFile } from '../../analyzer/rule-test.ts';

const run = promisify(execFile);
const PROMTOOL = '/usr/bin/promtool';
const hasPromtool = existsSync(PROMTOOL);
const RULES_DIR = resolve(import.meta.dirname, '../../rules');

async function promtool(args: string[], cwd: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd, timeout: 120_000 });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    if (typeof e.code !== 'number') throw error;
    return { ok: false, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

const ruleFiles = async () => (await readdir(RULES_DIR)).filter((f) => f.endsWith('.yml')).sort();
const testFiles = async () => (await readdir(join(RULES_DIR, 'tests'))).filter((f) => f.endsWith('.test.yml')).sort();

describe('the default rule pack', () => {
  it('has rule files and unit tests for them', async () => {
    expect((await ruleFiles()).length).toBeGreaterThan(0);
    expect((await testFiles()).length).toBeGreaterThan(0);
  });

  it('every rule file passes trimtab rules check', async () => {
    const { ok, output } = await checkRuleFiles((await ruleFiles()).map((f) => join(RULES_DIR, f)));
    expect(ok, output).toBe(true);
  });

  it.skipIf(!hasPromtool)('every rule file passes promtool check rules', async () => {
    const { ok, output } = await promtool(['check', 'rules', ...(await ruleFiles())], RULES_DIR);
    expect(ok, output).toBe(true);
  });

  it('every unit test passes under trimtab rules test', { timeout: 300_000 }, async () => {
    for (const f of await testFiles()) {
      const report = await runRuleTestFile(join(RULES_DIR, 'tests', f));
      expect(report.ok, `${f}:\n${report.failures.join('\n')}`).toBe(true);
    }
  });

  it.skipIf(!hasPromtool)('every unit test passes under promtool test rules', { timeout: 300_000 }, async () => {
    const { ok, output } = await promtool(['test', 'rules', ...(await testFiles()).map((f) => join('tests', f))], RULES_DIR);
    expect(ok, output).toBe(true);
  });
});

// Small rule files and unit tests where Trimtab's verdict must equal promtool's; each exists in a passing
// and a failing variant, so a tester that accepts everything (or nothing) cannot pass.
const RULES = `groups:
- name: g
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: InstanceDown
    expr: up == 0
    for: 2m
    keep_firing_for: 3m
    labels:
      severity: page
    annotations:
      summary: '{{ $labels.instance }} of {{ $labels.job }} down'
      value: '{{ $value | humanize }} ({{ printf "%.2f" $value }})'
  # [270s] keeps samples off the window's left edge, where Prometheus 2 (closed) and 3 (open) differ.
  - alert: HighRate
    expr: rate(requests_total[270s]) > 0.5
    labels:
      severity: '{{ if gt $value 1.0 }}critical{{ else }}warning{{ end }}'
    annotations:
      rate: '{{ $value | humanizePercentage }}'
`;

interface Case {
  name: string;
  test: string;
}

const header = `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  - series: 'up{job="api", instance="a:80"}'
    values: '1 1 0 0 0 0 0 1 1 1 1 1 1'
  - series: 'up{job="api", instance="b:80"}'
    values: '1x12'
  - series: 'requests_total{job="api"}'
    values: '0+30x5 150+90x7'
`;

const CASES: Case[] = [
  {
    name: 'recording rule values',
    test: `  promql_expr_test:
  - expr: job:up:sum
    eval_time: 3m
    exp_samples:
    - labels: 'job:up:sum{job="api"}'
      value: @@1@@
`,
  },
  {
    name: 'pending does not count as firing',
    test: `  alert_rule_test:
  - alertname: InstanceDown
    eval_time: 3m
    exp_alerts: @@[]@@
`,
  },
  {
    name: 'firing after for, with templated annotations',
    test: `  alert_rule_test:
  - alertname: InstanceDown
    eval_time: 5m
    exp_alerts:
    - exp_labels: {severity: page, job: api, instance: 'a:80'}
      exp_annotations:
        summary: 'a:80 of api down'
        value: '@@0 (0.00)@@'
`,
  },
  {
    name: 'keep_firing_for after recovery',
    test: `  alert_rule_test:
  - alertname: InstanceDown
    eval_time: 9m
    exp_alerts:
    - exp_labels: {severity: page, job: api, instance: 'a:80'}
      exp_annotations:
        summary: 'a:80 of api down'
        value: '@@0 (0.00)@@'
  - alertname: InstanceDown
    eval_time: 10m
    exp_alerts: []
`,
  },
  {
    name: 'templated severity label and humanizePercentage',
    test: `  alert_rule_test:
  - alertname: HighRate
    eval_time: 9m30s
    exp_alerts:
    - exp_labels: {severity: @@critical@@, job: api}
      exp_annotations:
        rate: '112.5%'
`,
  },
  {
    name: 'ALERTS series',
    test: `  promql_expr_test:
  - expr: ALERTS{alertname="InstanceDown"}
    eval_time: 3m
    exp_samples:
    - labels: 'ALERTS{alertname="InstanceDown", alertstate="@@pending@@", instance="a:80", job="api", severity="page"}'
      value: 1
  - expr: ALERTS_FOR_STATE
    eval_time: 4m
    exp_samples:
    - labels: 'ALERTS_FOR_STATE{alertname="InstanceDown", instance="a:80", job="api", severity="page"}'
      value: 120
`,
  },
  {
    name: 'eval_time between evaluations sees the earlier one',
    test: `  promql_expr_test:
  - expr: up{instance="a:80"}
    eval_time: 2m59s
    exp_samples:
    - labels: 'up{instance="a:80", job="api"}'
      value: @@0@@
`,
  },
];

const WRONG: Record<string, string> = {
  '@@1@@': '3',
  '@@[]@@': "\n    - exp_labels: {severity: page, job: api, instance: 'a:80'}",
  '@@0 (0.00)@@': '0 (0.0)',
  '@@critical@@': 'warning',
  '@@pending@@': 'firing',
  '@@0@@': '1',
};

describe.skipIf(!hasPromtool)('trimtab rules test agrees with promtool test rules', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trimtab-ruletest-'));
    await writeFile(join(dir, 'rules.yml'), RULES);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(CASES)('$name: the right expectation passes and a wrong one fails, under both', async ({ name, test }) => {
    const slug = name.replace(/\W+/g, '-');
    const right = header + test.replace(/@@(.*?)@@/g, '$1');
    const wrong = header + test.replace(/@@(.*?)@@/g, (m) => WRONG[m] ?? m);
    expect(wrong).not.toBe(right);
    for (const [variant, text, expected] of [['right', right, true], ['wrong', wrong, false]] as const) {
      const file = join(dir, `${slug}-${variant}.test.yml`);
      await writeFile(file, text);
      const reference = await promtool(['test', 'rules', file], dir);
      const ours = await runRuleTestFile(file);
      expect(reference.ok, `promtool on the ${variant} variant:\n${reference.output}`).toBe(expected);
      expect(ours.ok, `trimtab on the ${variant} variant:\n${ours.failures.join('\n')}`).toBe(expected);
    }
  }, 60_000);

  it('a rule pack test with one expectation changed fails under both', async () => {
    const original = await readFile(join(RULES_DIR, 'tests', (await testFiles())[0]!), 'utf8');
    const changed = original.replace(/(\n\s+value: )(-?[\d.e+-]+)/, (_m, p: string, v: string) => `${p}${Number(v) + 1}`);
    expect(changed).not.toBe(original);
    const file = join(RULES_DIR, 'tests', `zz-mutated-${process.pid}.test.yml`);
    await writeFile(file, changed);
    try {
      expect((await promtool(['test', 'rules', file], RULES_DIR)).ok).toBe(false);
      expect((await runRuleTestFile(file)).ok).toBe(false);
    } finally {
      await rm(file, { force: true });
    }
  }, 120_000);
});
