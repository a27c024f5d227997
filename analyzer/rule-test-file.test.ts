// Tests of the promtool test-file reader. Expectations come from Prometheus 2.42's own tests
// (promql/parser/parse_test.go TestParseSeries) and from experiments with Debian's promtool 2.42; where
// promtool is installed, the tricky cases are re-checked against it (files whose expectations are what
// this module computes must pass `promtool test rules`, and files it refuses must fail there too).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileGoPattern,
  expandSeriesValues,
  modelDurationString,
  parseMetricLabels,
  parseModelDuration,
  parseRuleTestFile,
  parseSeriesDescriptor,
  RuleTestFileError,
  seriesSamples,
  type InputSeries,
  type RuleTestFile,
  type SeriesPoint,
} from './rule-test-file.ts';

const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const havePromtool = existsSync(PROMTOOL);

/** Runs `promtool test rules file`; resolves to its exit code and output. */
function promtool(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(PROMTOOL, ['test', 'rules', path.basename(file)], { cwd: path.dirname(file), timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

let dir: string;
let seq = 0;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'trimtab-rule-test-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes files into a fresh subdirectory; returns the path of the first. */
async function files(entries: Record<string, string>): Promise<string> {
  const sub = path.join(dir, `case-${++seq}`);
  await mkdir(sub, { recursive: true });
  let first = '';
  for (const [name, text] of Object.entries(entries)) {
    const p = path.join(sub, name);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, text);
    first ||= p;
  }
  return first;
}

async function parseText(text: string, extra: Record<string, string> = {}): Promise<{ file: string; parsed: RuleTestFile }> {
  const file = await files({ 't.yml': text, ...extra });
  return { file, parsed: await parseRuleTestFile(text, file) };
}

async function refusal(text: string, extra: Record<string, string> = {}): Promise<{ file: string; error: RuleTestFileError }> {
  const file = await files({ 't.yml': text, ...extra });
  try {
    await parseRuleTestFile(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleTestFileError);
    return { file, error: error as RuleTestFileError };
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

// ---------------------------------------------------------------------------------------------------
// The values notation

const S = 'stale' as const;
const _ = null;

// [values, expansion] or [values, error pattern]. The first block is TestParseSeries (parse_test.go),
// values part; the rest was observed with promtool 2.42 (interval 1m, timestamp() per minute).
const NOTATION: Array<[string, SeriesPoint[] | RegExp]> = [
  ['1 2 3', [1, 2, 3]],
  ['-1 2 3', [-1, 2, 3]],
  ['1 2 3-10x4', [1, 2, 3, -7, -17, -27, -37]],
  ['1 2 3-0x4', [1, 2, 3, 3, 3, 3, 3]],
  ['1 3 _ 5 _x4', [1, 3, _, 5, _, _, _, _]],
  ['1 3 _ 5 _a4', /unexpected identifier "a4"/],
  ['1 -1', [1, -1]],
  ['1 +1', [1, 1]],
  ['1 -1 -3-10x4 7 9 +5', [1, -1, -3, -13, -23, -33, -43, 7, 9, 5]],
  ['1 +1 +4 -6 -2 8', [1, 1, 4, -6, -2, 8]],
  ['1 2 3    ', [1, 2, 3]],
  ['-3-3 -3', /unexpected " " in series values/],
  ['-3 -3-3', /1:8: parse error: unexpected end of input in series values/],
  ['-3 _-2', /unexpected <op:-> in series values/],
  ['-3 3+3x4-4', /unexpected <op:-> in series values/],
  // promtool 2.42 observations.
  ['1+1x3 _x2 stale 10', [1, 2, 3, 4, _, _, S, 10]],
  ['1x3', [1, 1, 1, 1]],
  ['1x0', [1]],
  ['1+1x0', [1]],
  ['_x3 1', [_, _, _, 1]],
  ['_x0 1', [1]],
  ['0x5', [0, 0, 0, 0, 0, 0]],
  ['5-2x3', [5, 3, 1, -1]],
  ['+3x1', [3, 3]],
  ['1e2x1', [100, 100]],
  ['1x010', [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
  ['1.5e-1+0.1x3', [0.15, 0.25, 0.35, 0.44999999999999996]],
  ['0+0.1x10', [0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6, 0.7, 0.7999999999999999, 0.8999999999999999, 0.9999999999999999]],
  ['Inf NaN -Inf +Inf', [Infinity, NaN, -Infinity, Infinity]],
  ['inf iNf nan', [Infinity, Infinity, NaN]],
  ['Inf+0x2', [Infinity, Infinity, Infinity]],
  ['stale+0x2', [S, NaN, NaN]],
  ['stale-1x1', [S, NaN]],
  ['NaN+1x1', [NaN, NaN]],
  ['010 08 0755 019', [8, 8, 493, 19]],
  ['010000000000000000000000', [1e22]],
  ['.5 1. 5. 1.e5', [0.5, 1, 5, 100000]],
  ['1e-400', [0]],
  ['1e308+1e308x1', [1e308, Infinity]],
  ['9223372036854775808 18446744073709551616', [9223372036854775808, 18446744073709551616]],
  ['', []],
  ['   1    2  ', [1, 2]],
  ['1 +1x2', [1, 1, 1, 1]],
  ['Infx2', /unexpected identifier "Infx2" in series values, expected number or "stale"/],
  ['stalex2', /unexpected identifier "stalex2"/],
  ['Stale', /unexpected identifier "Stale"/],
  ['1_000', /1:1: parse error: bad number syntax: "1"/],
  ['1e', /error parsing number: strconv.ParseFloat: parsing "1e": invalid syntax/],
  ['1e400', /parsing "1e400": value out of range/],
  ['-1e400', /1:2: parse error: error parsing number/],
  ['1..2', /unexpected number ".2"/],
  ['1,2', /unexpected character in series sequence: ','/],
  ['x3', /unexpected "x"/],
  ['1x', /unexpected end of input in series values/],
  ['1+1', /unexpected end of input in series values/],
  ['1x1.5', /invalid repetition in series values: strconv.ParseUint: parsing "1.5": invalid syntax/],
  ['1x-1', /unexpected <op:-> in series values/],
  ['1+x3', /unexpected "x" in series values/],
  ['1-+1x2', /unexpected <op:\+>/],
  ['--1', /unexpected <op:->/],
  ['_+1x3', /unexpected <op:\+>/],
  ['_ x3', /unexpected "x"/],
  ['1x3x2', /unexpected "x"/],
  ['1x3y', /bad number syntax: "3"/],
  ['1X3', /bad number syntax: "1"/],
  ['sum', /unexpected <aggr:sum>/],
  ['a:b', /unexpected metric identifier "a:b"/],
  ['1;2', /unexpected character in series sequence: ';'/],
  ['{{schema:0 sum:1}}', /unexpected character in series sequence: '\{'/], // no native histograms in 2.42
  // promtool would hang here (ParseUint's overflow result is used as the count anyway).
  ['1x18446744073709551616', /value out of range/],
  ['1x20000000', /longer than 10000000 points/],
];

describe('expandSeriesValues', () => {
  it.each(NOTATION)('%j', (values, expected) => {
    if (expected instanceof RegExp) {
      expect(() => expandSeriesValues(values)).toThrow(RuleTestFileError);
      expect(() => expandSeriesValues(values)).toThrow(expected);
    } else {
      expect(expandSeriesValues(values)).toEqual(expected);
    }
  });

  it('has at least 30 cases, errors included', () => {
    expect(NOTATION.length).toBeGreaterThanOrEqual(30);
    expect(NOTATION.filter(([, e]) => e instanceof RegExp).length).toBeGreaterThanOrEqual(15);
  });

  it('adds the increment repeatedly (not a + i·b), so floats match Prometheus bit for bit', () => {
    const got = expandSeriesValues('0.15+0.1x3');
    expect(got[3]).toBe(0.44999999999999996);
    expect(got[3]).not.toBe(0.15 + 0.1 * 3);
  });

  it('keeps the sign of -0', () => {
    expect(Object.is(expandSeriesValues('-0')[0], -0)).toBe(true);
  });
});

describe('parseSeriesDescriptor', () => {
  const cases: Array<[string, Record<string, string> | RegExp]> = [
    ['my_metric', { __name__: 'my_metric' }],
    ['my_metric{}', { __name__: 'my_metric' }],
    ['my_metric{a="b"}', { __name__: 'my_metric', a: 'b' }],
    ['{a="b"}', { a: 'b' }],
    ['my_metric{a="\\u70ac"}', { __name__: 'my_metric', a: '炬' }],
    ['my_metric{a="\\u70ac = torch"}', { __name__: 'my_metric', a: '炬 = torch' }],
    ['container_cpu_usage_seconds_total{namespace="a", pod="p-1"}', { __name__: 'container_cpu_usage_seconds_total', namespace: 'a', pod: 'p-1' }],
    ['{__name__="x", a="b"}', { __name__: 'x', a: 'b' }],
    ['foo{__name__="bar"}', { __name__: 'foo' }],
    ['foo{a=""}', { __name__: 'foo' }],
    ['{a="", b="c"}', { b: 'c' }],
    ['foo:bar{a="b",}', { __name__: 'foo:bar', a: 'b' }],
    ["foo{a='x\\'y', b=`r\\n`}", { __name__: 'foo', a: "x'y", b: 'r\\n' }],
    ['foo{a="\\u00e9\\x41"}', { __name__: 'foo', a: 'éA' }],
    [' foo{ a = "b" , c="d" }', { __name__: 'foo', a: 'b', c: 'd' }],
    ['sum{a="b"}', { __name__: 'sum' , a: 'b' }],
    ['start', { __name__: 'start' }],
    [':foo', { __name__: ':foo' }],
    ['on{a="b"}', /unexpected <on>/],
    ['bool', /unexpected <bool>/],
    ['inf', /unexpected number "inf"/],
    ['foo {a="b"}', /1:5: parse error: unexpected character in series sequence: '\{'/],
    ['foo{a!="b"}', /unexpected <op:!=> in label set, expected "="/],
    ['foo{a="b"}{c="d"}', /unexpected character in series sequence/],
    ['foo{1a="b"}', /unexpected character inside braces: '1'/],
    ['foo{a="b\\q"}', /unknown escape sequence U\+0071 'q'/],
    ['foo{a="b', /unterminated quoted string/],
    ['foo{,}', /unexpected "," in label set, expected identifier or "}"/],
    ['foo 1', /values follow the series descriptor/],
    ['{a="1", a="2"}', /label name "a" is not unique: invalid sample/],
    ['foo{a="1", a="2"}', /label name "a" is not unique/],
    ['{}', /empty labelset: invalid sample/],
    ['{__name__=""}', /empty labelset/],
  ];
  it.each(cases)('%s', (series, expected) => {
    if (expected instanceof RegExp) {
      expect(() => parseSeriesDescriptor(series)).toThrow(expected);
    } else {
      const want = Object.entries(expected)
        .map(([name, value]) => ({ name, value }))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      expect(parseSeriesDescriptor(series)).toEqual(want);
    }
  });
});

describe('parseMetricLabels (exp_samples labels)', () => {
  it('parses like parser.ParseMetric', () => {
    expect(parseMetricLabels('')).toEqual([]);
    expect(parseMetricLabels('{}')).toEqual([]);
    expect(parseMetricLabels('foo {a="b"}')).toEqual([
      { name: '__name__', value: 'foo' },
      { name: 'a', value: 'b' },
    ]);
    expect(parseMetricLabels('# c\n{a="b", # x\n}')).toEqual([{ name: 'a', value: 'b' }]);
  });

  it('keeps empty values and repeated names when there is no metric name (labels.New), so they never match', () => {
    expect(parseMetricLabels('{b="c", a=""}')).toEqual([
      { name: 'a', value: '' },
      { name: 'b', value: 'c' },
    ]);
    expect(parseMetricLabels('foo{a=""}')).toEqual([{ name: '__name__', value: 'foo' }]);
    expect(parseMetricLabels('{a="1",a="0"}')).toHaveLength(2);
  });

  it('refuses what ParseMetric refuses', () => {
    expect(() => parseMetricLabels('{a=}')).toThrow(/labels "\{a=\}": 1:4: parse error: unexpected "\}" in label set, expected string/);
    expect(() => parseMetricLabels('foo bar')).toThrow(/unexpected identifier "bar"/);
    expect(() => parseMetricLabels('foo 1')).toThrow(RuleTestFileError);
  });
});

describe('seriesSamples', () => {
  const s = (points: SeriesPoint[]): InputSeries => ({ labels: [{ name: '__name__', value: 's' }], points, line: 1 });

  it('puts point i at i × interval and skips `_`', () => {
    expect(seriesSamples(s([1, _, S, 4]), 60_000)).toEqual([
      [0, 1],
      [120_000, 'stale'],
      [180_000, 4],
    ]);
  });

  it('with interval 0 (no `interval` in 2.42) keeps only the first sample at t=0, as promtool does', () => {
    expect(seriesSamples(s([_, 2, 3]), 0)).toEqual([[0, 2]]);
  });
});

describe('durations', () => {
  it('parse like model.ParseDuration', () => {
    expect(parseModelDuration('0')).toBe(0);
    expect(parseModelDuration('1h30m')).toBe(5_400_000);
    expect(parseModelDuration('1y2w3d4h5m6s7ms')).toBe(((365 + 14 + 3) * 86_400 + 4 * 3600 + 5 * 60 + 6) * 1000 + 7);
    expect(parseModelDuration('292y')).toBe(292 * 365 * 86_400_000);
    expect(() => parseModelDuration('300y')).toThrow('duration out of range');
    expect(() => parseModelDuration('')).toThrow('empty duration string');
    expect(() => parseModelDuration('5')).toThrow('not a valid duration string: "5"');
    expect(() => parseModelDuration('30m1h')).toThrow('not a valid duration string: "30m1h"');
    expect(() => parseModelDuration('1.5h')).toThrow('not a valid duration string');
  });

  it('print like model.Duration.String', () => {
    expect(modelDurationString(0)).toBe('0s');
    expect(modelDurationString(90_000)).toBe('1m30s');
    expect(modelDurationString(90 * 86_400_000)).toBe('90d');
    expect(modelDurationString(14 * 86_400_000)).toBe('2w');
  });
});

describe('Go glob patterns', () => {
  it('match like filepath.Match', () => {
    expect(compileGoPattern('*.yml').test('a.yml')).toBe(true);
    expect(compileGoPattern('*.yml').test('.hidden.yml')).toBe(true);
    expect(compileGoPattern('r?.yml').test('r1.yml')).toBe(true);
    expect(compileGoPattern('[a-c]*').test('b')).toBe(true);
    expect(compileGoPattern('[^a-c]*').test('b')).toBe(false);
    expect(compileGoPattern('\\*').test('*')).toBe(true);
    expect(() => compileGoPattern('[')).toThrow('syntax error in pattern');
    expect(() => compileGoPattern('[]a]')).toThrow('syntax error in pattern');
    expect(() => compileGoPattern('a\\')).toThrow('syntax error in pattern');
  });
});

// ---------------------------------------------------------------------------------------------------
// Cross-check of the expansion against promtool

const RECORD_X = 'groups:\n- name: g\n  rules:\n  - record: x\n    expr: s\n';

/** A test file that passes under promtool iff promtool expands `values` as expandSeriesValues does. */
function crossCheckFile(values: string): string {
  const points = expandSeriesValues(values);
  let y = `rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n  - series: 's{k="v"}'\n    values: ${JSON.stringify(values)}\n  promql_expr_test:\n`;
  const yamlFloat = (v: number): string => (v === Infinity ? '.inf' : v === -Infinity ? '-.inf' : String(v));
  points.forEach((p, i) => {
    if (p === null) return; // what shows there depends on the lookback, not on the notation
    for (const expr of ['s', 'x']) {
      const name = expr;
      if (p === 'stale') {
        y += `  - expr: ${expr}\n    eval_time: ${i}m\n    exp_samples: []\n`;
      } else if (Number.isNaN(p)) {
        y += `  - expr: count(${expr} != ${expr})\n    eval_time: ${i}m\n    exp_samples: [{labels: '{}', value: 1}]\n`;
      } else {
        y += `  - expr: ${expr}\n    eval_time: ${i}m\n    exp_samples: [{labels: '${name}{k="v"}', value: ${yamlFloat(p)}}]\n`;
      }
    }
  });
  return y;
}

describe.skipIf(!havePromtool)('expansion agrees with promtool 2.42 (skipped: no promtool)', () => {
  const tricky = [
    '1+1x3 _x2 stale 10',
    '1.5e-1+0.1x3 0+0.1x10',
    '010 08 0755 019 1e-400 .5 1.',
    '0x5 _ 5-2x3',
    'Inf+0x2 -Inf NaN',
    'stale+0x2 7',
    '-1-1x2 +3x1 1e308+1e308x1',
    '9223372036854775807 010000000000000000000000 -0',
  ];
  it.each(tricky)('%j', async (values) => {
    const file = await files({ 't.yml': crossCheckFile(values), 'rules.yml': RECORD_X });
    const { code, output } = await promtool(file);
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('the check can fail: a wrong expectation fails promtool', async () => {
    const file = await files({ 't.yml': crossCheckFile('1+1x3').replace('value: 4', 'value: 4.000000000000001'), 'rules.yml': RECORD_X });
    expect((await promtool(file)).code).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------------
// Whole files

const ALERT_RULES = `groups:
- name: alerts
  rules:
  - alert: High
    expr: s > 1
    for: 1m
    labels: {severity: page}
    annotations: {summary: 'v={{ $value }}'}
- name: rec
  rules:
  - record: x
    expr: s * 2
`;

const GOOD = `# A file promtool 2.42 passes.
rule_files:
  - rules/*.yml
  - missing-*.yml
evaluation_interval: 1m
group_eval_order: [rec, alerts]
tests:
  - name: first
    interval: 1m
    external_labels: {cluster: c1}
    external_url: http://prom.example
    input_series:
      - series: 's{pod="p-1", namespace="a"}'
        values: '0+1x3 _ stale'
      - series: '{__name__="t", a=""}'
        values: 017x2
    alert_rule_test:
      - eval_time: 3m
        alertname: High
        exp_alerts:
          - exp_labels: {severity: page, pod: p-1, namespace: a}
            exp_annotations: {summary: v=3}
      - alertname: High
    promql_expr_test:
      - expr: x
        eval_time: 2m
        exp_samples:
          - labels: 'x{namespace="a", pod="p-1"}'
            value: 4
      - expr: sum(t)
        eval_time: 1m
        exp_samples:
          - value: 017
      - expr: vector(1)
        exp_samples:
          - labels: ''
            value: 1_0e-1
  - &second
    input_series:
      - series: u
        values: "1 2\\nv 3 4"
    promql_expr_test:
      - expr: v
        eval_time: 1m
        exp_samples: [{labels: v, value: 3}]
  - <<: *second
    name: merged
`;

describe('parseRuleTestFile', () => {
  it('parses a good file exactly', async () => {
    const { file, parsed } = await parseText(GOOD, { 'rules/a.yml': ALERT_RULES, 'rules/b.yml': 'groups: []\n' });
    const d = path.dirname(file);
    const series2 = [
      { labels: [{ name: '__name__', value: 'u' }], points: [1, 2], line: 40 },
      { labels: [{ name: '__name__', value: 'v' }], points: [3, 4], line: 40 },
    ];
    const expr2 = [{ expr: 'v', evalTimeMs: 60_000, expected: [{ labels: [{ name: '__name__', value: 'v' }], value: 3, line: 45 }], line: 43 }];
    expect(parsed).toEqual({
      file,
      ruleFiles: [path.join(d, 'rules/a.yml'), path.join(d, 'rules/b.yml')],
      evaluationIntervalMs: 60_000,
      groupEvalOrder: ['rec', 'alerts'],
      warnings: [`no file match pattern ${path.join(d, 'missing-*.yml')}`],
      tests: [
        {
          name: 'first',
          intervalMs: 60_000,
          externalLabels: { cluster: 'c1' },
          externalURL: 'http://prom.example',
          line: 8,
          inputSeries: [
            {
              labels: [
                { name: '__name__', value: 's' },
                { name: 'namespace', value: 'a' },
                { name: 'pod', value: 'p-1' },
              ],
              points: [0, 1, 2, 3, null, 'stale'],
              line: 13,
            },
            { labels: [{ name: '__name__', value: 't' }], points: [15, 15, 15], line: 15 },
          ],
          alertTests: [
            {
              evalTimeMs: 180_000,
              alertname: 'High',
              expected: [{ labels: { severity: 'page', pod: 'p-1', namespace: 'a', alertname: 'High' }, annotations: { summary: 'v=3' } }],
              line: 18,
            },
            { evalTimeMs: 0, alertname: 'High', expected: [], line: 23 },
          ],
          exprTests: [
            {
              expr: 'x',
              evalTimeMs: 120_000,
              expected: [
                {
                  labels: [
                    { name: '__name__', value: 'x' },
                    { name: 'namespace', value: 'a' },
                    { name: 'pod', value: 'p-1' },
                  ],
                  value: 4,
                  line: 28,
                },
              ],
              line: 25,
            },
            { expr: 'sum(t)', evalTimeMs: 60_000, expected: [{ labels: [], value: 15, line: 33 }], line: 30 },
            { expr: 'vector(1)', evalTimeMs: 0, expected: [{ labels: [], value: 1, line: 36 }], line: 34 },
          ],
        },
        { name: '', intervalMs: 0, externalLabels: {}, externalURL: '', line: 39, inputSeries: series2, alertTests: [], exprTests: expr2 },
        { name: 'merged', intervalMs: 0, externalLabels: {}, externalURL: '', line: 46, inputSeries: series2, alertTests: [], exprTests: expr2 },
      ],
    });
  });

  it.skipIf(!havePromtool)('…and promtool passes that file (skipped: no promtool)', async () => {
    const file = await files({ 't.yml': GOOD, 'rules/a.yml': ALERT_RULES, 'rules/b.yml': 'groups: []\n' });
    const { code, output } = await promtool(file);
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('reads an empty file, and defaults like promtool 2.42 (eval_time 0s, no interval default)', async () => {
    expect((await parseText('')).parsed).toMatchObject({ ruleFiles: [], evaluationIntervalMs: 60_000, groupEvalOrder: [], tests: [] });
    const { parsed } = await parseText('evaluation_interval: 0\ntests:\n-\n- promql_expr_test: [{expr: "1"}]\n');
    expect(parsed.evaluationIntervalMs).toBe(60_000);
    expect(parsed.tests.map((t) => t.intervalMs)).toEqual([0, 0]);
    expect(parsed.tests[1]!.exprTests[0]).toMatchObject({ expr: '1', evalTimeMs: 0, expected: [] });
  });

  it('keeps scalar source text for strings and resolves floats like yaml.v2', async () => {
    const { parsed } = await parseText(
      'tests:\n- input_series: [{series: s, values: 0x10}]\n  promql_expr_test:\n  - expr: 1\n    exp_samples: [{value: 0x1F}, {value: .inf}, {value: +1}, {value: ~}, {value: 0b11}, {value: 0.1_0}]\n',
    );
    expect(parsed.tests[0]!.inputSeries[0]!.points).toHaveLength(11);
    expect(parsed.tests[0]!.exprTests[0]!.expr).toBe('1');
    expect(parsed.tests[0]!.exprTests[0]!.expected.map((s) => s.value)).toEqual([31, Infinity, 1, 0, 3, 0.1]);
  });

  it.skipIf(!havePromtool)('…which promtool confirms (skipped: no promtool)', async () => {
    const yamlValues = ['0x1F', '.inf', '+1', '~', '0b11', '0.1_0', '017', '1_000', '-.inf', '1e3', '0o17'];
    let text = 'tests:\n- interval: 1m\n  input_series:\n  - {series: s, values: 31 Inf 1 0 3 0.1 15 1000 -Inf 1000 15}\n  - {series: w, values: 0x10}\n';
    text += "  promql_expr_test:\n  - {expr: 'count_over_time(w[20m])', eval_time: 10m, exp_samples: [{value: 11}]}\n";
    yamlValues.forEach((v, i) => {
      text += `  - {expr: s, eval_time: ${i}m, exp_samples: [{labels: s, value: ${v}}]}\n`;
    });
    const { file, parsed } = await parseText(text);
    const test = parsed.tests[0]!;
    expect(test.exprTests.slice(1).map((e) => e.expected[0]!.value)).toEqual(test.inputSeries[0]!.points);
    const { code, output } = await promtool(file);
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('follows the load command: a "#" or empty line ends the series, a newline starts another', async () => {
    const { parsed } = await parseText(
      'tests:\n- input_series:\n  - {series: a, values: "1\\nb 2"}\n  - {series: "#c", values: "1"}\n  - {series: "bad{", values: "1"}\n',
    );
    expect(parsed.tests[0]!.inputSeries.map((s) => s.labels[0]!.value)).toEqual(['a', 'b']);
  });

  it('keeps an exp_labels null value as "" (promtool then fails the alert test) and overrides alertname', async () => {
    const { parsed } = await parseText('tests:\n- alert_rule_test:\n  - alertname: A\n    exp_alerts: [{exp_labels: {x: , alertname: B}}]\n');
    expect(parsed.tests[0]!.alertTests[0]!.expected).toEqual([{ labels: { x: '', alertname: 'A' }, annotations: {} }]);
  });

  it('refuses a repeated group_eval_order name', async () => {
    const { file, error } = await refusal('group_eval_order:\n- a\n- a\n');
    expect(error.message).toBe(`${file}:3: group name repeated in evaluation order: a`);
  });
});

// Files promtool refuses (exit 1 before or while running the tests), with the line we name.
const BAD: Array<[string, string, number, RegExp]> = [
  ['unknown top-level field', 'tests: []\nfoo: 1\n', 2, /field foo not found in type main\.unitTestFile/],
  ['unknown test group field', 'tests:\n- interval: 1m\n  bogus: 1\n', 3, /field bogus not found in type main\.testGroup/],
  ['unknown series field', 'tests:\n- input_series:\n  - series: a\n    values: 1\n    extra: 2\n', 5, /field extra not found in type main\.series/],
  ['unknown sample field', 'tests:\n- promql_expr_test:\n  - expr: a\n    exp_samples:\n    - {labels: a, value: 1, extra: 1}\n', 5, /field extra not found in type main\.sample/],
  ['repeated field', 'tests:\n- interval: 1m\n  interval: 2m\n', 3, /field interval already set in type main\.testGroup/],
  ['repeated map key', 'tests:\n- alert_rule_test:\n  - alertname: A\n    exp_alerts:\n    - exp_labels: {sev: x, sev: y}\n', 5, /key "sev" already set in map/],
  ['tests not a list', 'tests: 5\n', 1, /cannot unmarshal !!int `5` into \[\]main\.testGroup/],
  ['a list as the document', '- a\n', 1, /cannot unmarshal !!seq into main\.unitTestFile/],
  ['bad eval_time', 'tests:\n- promql_expr_test:\n  - expr: a\n    eval_time: 5\n', 4, /not a valid duration string: "5"/],
  ['bad evaluation_interval', 'evaluation_interval: 30m1h\n', 1, /not a valid duration string: "30m1h"/],
  ['duration out of range', 'tests:\n- interval: 300y\n', 2, /duration out of range/],
  ['empty duration', 'tests:\n- interval: ""\n', 2, /empty duration string/],
  ['bad values', 'tests:\n- input_series:\n  - series: s\n    values: 1 2x\n', 4, /bad input series "s 1 2x": 1:7: parse error: unexpected end of input in series values/],
  ['bad series', 'tests:\n- input_series:\n  - series: on{a="b"}\n    values: 1\n', 3, /unexpected <on>/],
  ['missing series', 'tests:\n- input_series:\n  - values: 1\n', 3, /unexpected number "1"/],
  ['repeated label name', 'tests:\n- input_series:\n  - series: s{a="1", a="2"}\n    values: 1\n', 3, /label name "a" is not unique: invalid sample/],
  ['empty label set', 'tests:\n- input_series:\n  - series: "{}"\n    values: 1\n', 3, /empty labelset: invalid sample/],
  ['quoted sample value', 'tests:\n- promql_expr_test:\n  - expr: a\n    exp_samples:\n    - labels: a\n      value: "1"\n', 6, /cannot unmarshal !!str `1` into float64/],
  ['bool sample value', 'tests:\n- promql_expr_test:\n  - expr: a\n    exp_samples:\n    - value: true\n', 5, /cannot unmarshal !!bool `true` into float64/],
  ['bad exp_samples labels', 'tests:\n- promql_expr_test:\n  - expr: sum(s)\n    exp_samples:\n    - labels: "{a=}"\n      value: 1\n', 5, /expr: "sum\(s\)", time: 0s, err: labels "\{a=\}": 1:4: parse error: unexpected "\}" in label set, expected string/],
  ['missing alertname', 'tests:\n- name: g\n  alert_rule_test:\n  - eval_time: 1m\n', 4, /an item under alert_rule_test misses required attribute alertname at eval_time 1m \(in TestGroup g\)/],
  ['YAML syntax error', 'tests:\n- interval: [1m\n', 3, /^.*yaml: /],
  ['bad rule_files pattern', 'rule_files: ["["]\n', 1, /syntax error in pattern/],
];

describe('bad files are refused with file:line', () => {
  it.each(BAD)('%s', async (_what, text, line, reason) => {
    const { file, error } = await refusal(text);
    expect(error.file).toBe(file);
    expect(error.line).toBe(line);
    expect(error.message.startsWith(`${file}:${line}: `)).toBe(true);
    expect(error.message).toMatch(reason);
  });

  it.skipIf(!havePromtool)('…and promtool refuses every one of them too (skipped: no promtool)', async () => {
    for (const [what, text] of BAD) {
      const file = await files({ 't.yml': text });
      const { code, output } = await promtool(file);
      expect({ what, code, failed: output.includes('FAILED') }).toEqual({ what, code: 1, failed: true });
    }
  });

  it.skipIf(!havePromtool)('promtool accepts what we accept that looks wrong: no eval_time, no interval, a comment series (skipped: no promtool)', async () => {
    const text = 'tests:\n- input_series:\n  - {series: "#x", values: "1"}\n  - {series: t, values: "1"}\n  promql_expr_test:\n  - expr: vector(1)\n    exp_samples: [{labels: "{}", value: 1}]\n  - expr: count(t)\n    exp_samples: []\n';
    const { parsed, file } = await parseText(text);
    expect(parsed.tests[0]!.inputSeries).toEqual([]);
    expect(parsed.tests[0]!.exprTests.map((e) => e.evalTimeMs)).toEqual([0, 0]);
    expect((await promtool(file)).code).toBe(0);
  });
});
