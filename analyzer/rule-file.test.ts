// The rule-file loader against the real `promtool check rules` (Prometheus 2.42): every file of the bad
// corpus must be refused by both, with our problem on the expected line (and on promtool's line where
// promtool names one), and every file of the tricky-but-valid corpus accepted by both.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkRuleFiles,
  loadRuleFiles,
  parseModelDuration,
  parseRuleFile,
  RuleFileError,
  type RuleProblem,
} from './rule-file.ts';
import type { AlertingRule, RecordingRule, RuleFile } from './rule-types.ts';

const PROMTOOL = '/usr/bin/promtool';
const hasPromtool = existsSync(PROMTOOL);

/** Template literal → YAML text: raw (backslashes stay), first newline and common indentation removed. */
function y(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw(strings, ...values).replace(/^\n/, '');
  const lines = text.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

function promtool(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(PROMTOOL, ['check', 'rules', file], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/**
 * The line promtool's first error names, if it names the offending node: "f: 4:17: …" (rulefmt) or
 * "  line 7: …" (yaml.v3 decoding). Not libyaml's syntax errors ("yaml: line 5: …"), which name the line
 * of the enclosing construct.
 */
function promtoolLine(output: string): number | undefined {
  const m = /: (\d+):\d+: /.exec(output) ?? /^ +line (\d+): /m.exec(output);
  const line = m ? Number(m[1]) : 0;
  return line > 0 ? line : undefined;
}

function problemsOf(text: string | Buffer, file: string): RuleProblem[] {
  try {
    parseRuleFile(typeof text === 'string' ? text : text.toString('utf8'), file);
  } catch (e) {
    if (e instanceof RuleFileError) return e.problems;
    throw e;
  }
  return [];
}

/** The problems loadRuleFiles throws (a RuleFileError); fails when it does not throw one. */
async function loadProblems(patterns: string[], cwd: string): Promise<RuleProblem[]> {
  try {
    await loadRuleFiles(patterns, { cwd });
  } catch (e) {
    if (e instanceof RuleFileError) return e.problems;
    throw e;
  }
  throw new Error(`${patterns.join(', ')}: loaded without problems`);
}

function withoutAst(rf: RuleFile): unknown {
  return rf.groups.map((g) => ({ ...g, rules: g.rules.map(({ exprAst: _ast, ...r }) => r) }));
}

// -----------------------------------------------------------------------------------------------------
// Corpora

interface BadCase {
  name: string;
  text: string | Buffer;
  /** The line our problem must name. */
  line: number;
  /** What the problem's message must say. */
  reason: RegExp;
}

const bad: BadCase[] = [
  {
    name: 'unknown-rule-field.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: job:up:sum
              expr: sum by (job) (up)
              lables: {team: a}
    `,
    line: 6,
    reason: /unknown field "lables" in rule/,
  },
  {
    name: 'group-labels-field.yml', // group-level labels arrived in Prometheus 3.0
    text: y`
      groups:
        - name: g
          labels: {team: a}
          rules: []
    `,
    line: 3,
    reason: /unknown field "labels" in rule group/,
  },
  {
    name: 'query-offset-field.yml', // query_offset arrived in Prometheus 2.53
    text: y`
      groups:
        - name: g
          query_offset: 1m
          rules: []
    `,
    line: 3,
    reason: /unknown field "query_offset" in rule group/,
  },
  {
    name: 'unknown-top-field.yml',
    text: y`
      groups: []
      rule_files: [a.yml]
    `,
    line: 2,
    reason: /unknown field "rule_files" in the rule file/,
  },
  {
    name: 'group-without-name.yml',
    text: y`
      groups:
        - name: ok
          rules: []
        - interval: 1m
          rules:
            - record: a
              expr: up
    `,
    line: 4,
    reason: /Groupname must not be empty/,
  },
  {
    name: 'group-empty-name.yml',
    text: y`
      groups:
        - name: ""
          rules: []
    `,
    line: 2,
    reason: /Groupname must not be empty/,
  },
  {
    name: 'duplicate-group.yml',
    text: y`
      groups:
        - name: node
          rules: []
        - name: other
          rules: []
        - name: node
          rules: []
    `,
    line: 6,
    reason: /groupname: "node" is repeated in the same file/,
  },
  {
    name: 'record-and-alert.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: job:up:sum
              alert: JobDown
              expr: up == 0
    `,
    line: 4,
    reason: /only one of 'record' and 'alert' must be set/,
  },
  {
    name: 'neither-record-nor-alert.yml',
    text: y`
      groups:
        - name: g
          rules:
            - expr: up == 0
              labels: {severity: page}
    `,
    line: 4,
    reason: /one of 'record' or 'alert' must be set/,
  },
  {
    name: 'record-is-a-list.yml', // a yaml.Node that is not a scalar has no value: neither is set
    text: y`
      groups:
        - name: g
          rules:
            - record: [job:up:sum]
              expr: up
    `,
    line: 4,
    reason: /one of 'record' or 'alert' must be set/,
  },
  {
    name: 'missing-expr.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              for: 5m
    `,
    line: 4,
    reason: /field 'expr' must be set in rule/,
  },
  {
    name: 'empty-expr.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr:
    `,
    line: 5,
    reason: /field 'expr' must be set in rule/,
  },
  {
    name: 'bad-record-name.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: job-up-sum
              expr: sum by (job) (up)
    `,
    line: 4,
    reason: /invalid recording rule name: job-up-sum/,
  },
  {
    name: 'record-name-with-selector.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: 'up{job="a"}'
              expr: up
    `,
    line: 4,
    reason: /invalid recording rule name: up\{job="a"\}/,
  },
  {
    name: 'for-on-recording-rule.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: job:up:sum
              expr: sum by (job) (up)
              for: 5m
    `,
    line: 4,
    reason: /invalid field 'for' in recording rule/,
  },
  {
    name: 'keep-firing-for-on-recording-rule.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: job:up:sum
              expr: sum by (job) (up)
              keep_firing_for: 5m
    `,
    line: 4,
    reason: /invalid field 'keep_firing_for' in recording rule/,
  },
  {
    name: 'annotations-on-recording-rule.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: job:up:sum
              expr: sum by (job) (up)
              annotations:
                summary: sums
    `,
    line: 4,
    reason: /invalid field 'annotations' in recording rule/,
  },
  {
    name: 'bad-label-name.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              labels:
                severity: page
                team-name: web
    `,
    line: 8,
    reason: /invalid label name: team-name/,
  },
  {
    name: 'metric-name-label.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: job:up:sum
              expr: sum by (job) (up)
              labels:
                __name__: other
    `,
    line: 7,
    reason: /invalid label name: __name__/,
  },
  {
    name: 'bad-annotation-name.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              annotations:
                runbook url: http://x
    `,
    line: 7,
    reason: /invalid annotation name: runbook url/,
  },
  {
    name: 'label-value-not-utf8.yml', // !!binary is the one way to get bytes that are not UTF-8 into a value
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              labels:
                severity: !!binary /w==
    `,
    line: 7,
    reason: /invalid label value/,
  },
  {
    name: 'for-without-unit.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              for: 300
    `,
    line: 6,
    reason: /invalid 'for': not a valid duration string: "300"/,
  },
  {
    name: 'for-negative.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              for: -5m
    `,
    line: 6,
    reason: /not a valid duration string: "-5m"/,
  },
  {
    name: 'for-fraction.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              for: 1.5m
    `,
    line: 6,
    reason: /not a valid duration string: "1\.5m"/,
  },
  {
    name: 'keep-firing-for-bad-unit.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              keep_firing_for: 5M
    `,
    line: 6,
    reason: /invalid 'keep_firing_for': not a valid duration string: "5M"/,
  },
  {
    name: 'for-units-out-of-order.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              for: 30m1h
    `,
    line: 6,
    reason: /not a valid duration string: "30m1h"/,
  },
  {
    name: 'for-out-of-range.yml', // time.Duration holds ~106751.99 days
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              for: 106752d
    `,
    line: 6,
    reason: /duration out of range/,
  },
  {
    name: 'for-block-scalar.yml', // the trailing newline of "|" is part of the string
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              for: |
                5m
    `,
    line: 6,
    reason: /not a valid duration string: "5m\\n"/,
  },
  {
    name: 'bad-interval.yml',
    text: y`
      groups:
        - name: g
          interval: 60
          rules: []
    `,
    line: 3,
    reason: /invalid interval of group "g": not a valid duration string: "60"/,
  },
  {
    name: 'negative-interval.yml',
    text: y`
      groups:
        - name: g
          interval: -1m
          rules: []
    `,
    line: 3,
    reason: /not a valid duration string: "-1m"/,
  },
  {
    name: 'limit-quoted.yml',
    text: y`
      groups:
        - name: g
          limit: "10"
          rules: []
    `,
    line: 3,
    reason: /cannot unmarshal !!str `10` into limit of group "g"/,
  },
  {
    name: 'limit-bool.yml',
    text: y`
      groups:
        - name: g
          limit: true
          rules: []
    `,
    line: 3,
    reason: /cannot unmarshal !!bool `true` into limit/,
  },
  {
    name: 'limit-too-big.yml',
    text: y`
      groups:
        - name: g
          limit: 1e100
          rules: []
    `,
    line: 3,
    reason: /cannot unmarshal !!float `1e100` into limit/,
  },
  {
    name: 'expr-unclosed-paren.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: job:up:sum
              expr: sum by (job) (up
    `,
    line: 5,
    reason: /could not parse expression: 1:\d+: parse error: unclosed left parenthesis/,
  },
  {
    name: 'expr-block-scalar-syntax-error.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: TooMany
              expr: |
                sum(rate(errors_total[5m]))
                  / on(job)
                sum(rate(requests_total[5m])) >
    `,
    line: 5,
    reason: /could not parse expression: .*parse error/,
  },
  {
    name: 'expr-unknown-function.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: job:x:rate
              expr: rates(x[5m])
    `,
    line: 5,
    reason: /could not parse expression: 1:1: parse error: unknown function with name "rates"/,
  },
  {
    name: 'expr-type-error.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: job:x:rate
              expr: rate(x)
    `,
    line: 5,
    reason: /could not parse expression: .*expected type range vector in call to function "rate", got instant vector/,
  },
  {
    name: 'expr-tilde.yml', // `expr: ~` is the text "~" (a yaml.Node's value), not an absent expression
    text: y`
      groups:
        - name: g
          rules:
            - record: x
              expr: ~
    `,
    line: 5,
    reason: /could not parse expression: 1:1: parse error: unexpected character: '~'/,
  },
  {
    name: 'template-annotation.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              annotations:
                summary: "{{ $labels.job } is down"
    `,
    line: 7,
    reason: /annotation "summary": template: __alert_JobDown:1: unexpected "}" in operand/,
  },
  {
    name: 'template-label.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              labels:
                severity: "{{ if $value }}page"
    `,
    line: 7,
    reason: /label "severity": template: __alert_JobDown:1: unexpected EOF/,
  },
  {
    name: 'template-unknown-function.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              annotations:
                description: |
                  {{ $labels.instance }} down for
                  {{ $value | humanizeDurationz }}
    `,
    line: 7,
    reason: /annotation "description": template: __alert_JobDown:2: function "humanizeDurationz" not defined/,
  },
  {
    name: 'template-undefined-variable.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              annotations:
                summary: "{{ $label.job }}"
    `,
    line: 7,
    reason: /annotation "summary": template: __alert_JobDown:1: undefined variable "\$label"/,
  },
  {
    name: 'duplicate-key.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              expr: up == 1
    `,
    line: 6,
    reason: /mapping key "expr" already defined at line 5/,
  },
  {
    name: 'duplicate-label.yml', // "1" and 1 are the same key to yaml.v3: it compares the text
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              labels:
                severity: page
                "severity": ticket
    `,
    line: 8,
    reason: /mapping key "severity" already defined at line 7/,
  },
  {
    name: 'yaml-syntax.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              labels: {severity: page
    `,
    line: 6,
    reason: /^yaml: /,
  },
  {
    name: 'yaml-bad-indentation.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
             for: 5m
    `,
    line: 6,
    reason: /^yaml: /,
  },
  {
    name: 'tab-indentation.yml',
    text: 'groups:\n  - name: g\n    rules:\n\t- record: a\n\t  expr: up\n',
    line: 4,
    reason: /^yaml: /,
  },
  {
    name: 'control-character-in-comment.yml', // libyaml checks every character, even in comments
    text: 'groups: []\n# bell \x07 here\n',
    line: 2,
    reason: /control characters are not allowed \(U\+0007\)/,
  },
  {
    name: 'surrogate-escape.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              annotations:
                summary: "\udc00"
    `,
    line: 7,
    reason: /invalid Unicode character escape code/,
  },
  {
    name: 'not-utf8.yml',
    text: Buffer.concat([Buffer.from('groups:\n  - name: g\n    rules:\n      - alert: caf'), Buffer.from([0xe9]), Buffer.from('\n        expr: up\n')]),
    line: 4,
    reason: /invalid UTF-8/,
  },
  {
    name: 'unknown-anchor.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              labels: *common
    `,
    line: 6,
    reason: /unknown anchor 'common' referenced/,
  },
  {
    name: 'top-level-list.yml',
    text: y`
      - name: g
        rules: []
    `,
    line: 1,
    reason: /cannot unmarshal !!seq into a rule file/,
  },
  {
    name: 'groups-mapping.yml',
    text: y`
      groups:
        name: g
        rules: []
    `,
    line: 2,
    reason: /cannot unmarshal !!map into groups \(expected a list\)/,
  },
  {
    name: 'rule-is-a-string.yml',
    text: y`
      groups:
        - name: g
          rules:
            - up == 0
    `,
    line: 4,
    reason: /cannot unmarshal !!str `up == 0` into a rule/,
  },
  {
    name: 'label-value-list.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              labels:
                teams: [a, b]
    `,
    line: 7,
    reason: /cannot unmarshal !!seq into labels value/,
  },
  {
    name: 'group-name-list.yml',
    text: y`
      groups:
        - name: [a, b]
          rules: []
    `,
    line: 2,
    reason: /cannot unmarshal !!seq into group name/,
  },
  {
    name: 'merged-unknown-field.yml', // merged keys are decoded like written ones
    text: y`
      groups:
        - name: g
          rules:
            - <<: {alert: Base, expr: up == 0, severity: page}
              alert: JobDown
    `,
    line: 4,
    reason: /unknown field "severity" in rule/,
  },
  {
    name: 'entry-without-key.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              labels:
                severity: page
                : ticket
    `,
    line: 8,
    reason: /a mapping entry without a key/,
  },
  {
    name: 'flow-entry-without-key.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              labels: {severity: page, : ticket}
    `,
    line: 6,
    reason: /a mapping entry without a key/,
  },
  {
    name: 'flow-colon-kept-in-key.yml', // libyaml reads {team:} as the key "team:", not "team"
    text: y`
      groups:
        - name: g
          rules:
            - alert: JobDown
              expr: up == 0
              labels: {team:}
    `,
    line: 6,
    reason: /invalid label name: team:/,
  },
];

interface GoodCase {
  name: string;
  text: string | Buffer;
  check?: (rf: RuleFile, warnings: RuleProblem[]) => void;
}

const alertOf = (rf: RuleFile, g = 0, r = 0) => rf.groups[g]!.rules[r] as AlertingRule;
const recordOf = (rf: RuleFile, g = 0, r = 0) => rf.groups[g]!.rules[r] as RecordingRule;

const good: GoodCase[] = [
  {
    name: 'empty.yml',
    text: '',
    check: (rf) => expect(rf.groups).toEqual([]),
  },
  {
    name: 'only-comments.yml',
    text: '# nothing here yet\n\n# really\n',
    check: (rf) => expect(rf.groups).toEqual([]),
  },
  {
    name: 'null-document.yml',
    text: '~\n',
    check: (rf) => expect(rf.groups).toEqual([]),
  },
  {
    name: 'groups-null.yml',
    text: 'groups:\n',
    check: (rf) => expect(rf.groups).toEqual([]),
  },
  {
    name: 'group-without-rules.yml',
    text: y`
      groups:
        - name: empty
        - name: also-empty
          rules: []
    `,
    check: (rf) => expect(rf.groups.map((g) => [g.name, g.rules.length])).toEqual([['empty', 0], ['also-empty', 0]]),
  },
  {
    name: 'null-items-dropped.yml', // yaml.v3 drops null items of a list
    text: y`
      groups:
        -
        - name: g
          rules:
            - ~
            - record: a
              expr: up
            -
    `,
    check: (rf) => {
      expect(rf.groups).toHaveLength(1);
      expect(rf.groups[0]!.rules.map((r) => (r as RecordingRule).record)).toEqual(['a']);
    },
  },
  {
    name: 'second-document-ignored.yml', // Prometheus reads the first document only, without parsing the rest
    text: y`
      groups:
        - name: g
          rules:
            - record: a
              expr: up
      ---
      groups: [ {{ this is not even YAML
    `,
    check: (rf, warnings) => {
      expect(rf.groups[0]!.rules).toHaveLength(1);
      expect(warnings).toEqual([expect.objectContaining({ line: 6, message: expect.stringMatching(/only the first YAML document is read/) })]);
    },
  },
  {
    name: 'document-markers.yml',
    text: y`
      # the comment before the marker is not a document
      ---
      groups:
        - name: g
          rules:
            - record: a
              expr: up
      ...
    `,
    check: (rf, warnings) => {
      expect(rf.groups[0]!.position.line).toBe(4);
      expect(warnings).toEqual([]);
    },
  },
  {
    name: 'indented-document-ends-at-dedent.yml', // libyaml ends the document at the first line left of its root
    text: ' groups:\n   - name: g\n     rules:\n       - record: a\n         expr: up\nrules: [whatever, ]]\n',
    check: (rf, warnings) => {
      expect(rf.groups[0]!.rules).toHaveLength(1);
      expect(warnings).toEqual([expect.objectContaining({ line: 6, message: expect.stringMatching(/rest of the file is ignored/) })]);
    },
  },
  {
    name: 'bom-and-crlf.yml',
    text: '\ufeffgroups:\r\n  - name: g\r\n    rules:\r\n      - alert: A\r\n        expr: up == 0\r\n        for: 5m\r\n',
    check: (rf) => {
      expect(alertOf(rf).forMs).toBe(300_000);
      expect(alertOf(rf).position.line).toBe(4);
    },
  },
  {
    name: 'utf16.yml',
    text: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('groups:\n  - name: g\n    rules:\n      - alert: Ünïcödé\n        expr: up\n', 'utf16le')]),
    check: (rf) => expect(alertOf(rf).alert).toBe('Ünïcödé'),
  },
  {
    name: 'alert-names-are-free-text.yml', // alert names are not validated; null is the text "null"
    text: y`
      groups:
        - name: g
          rules:
            - alert: 'Disk almost full! (>90%)'
              expr: up
            - alert: null
              expr: up
            - alert: 42
              expr: up
    `,
    check: (rf) => expect(rf.groups[0]!.rules.map((r) => (r as AlertingRule).alert)).toEqual(['Disk almost full! (>90%)', 'null', '42']),
  },
  {
    name: 'record-empty-alert-set.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: ""
              alert: A
              expr: up
    `,
    check: (rf) => expect(alertOf(rf).kind).toBe('alerting'),
  },
  {
    name: 'alias-in-node-fields.yml', // record/alert/expr are yaml.Nodes in rulefmt: an alias there is the anchor's name
    text: y`
      groups:
        - name: g
          rules:
            - alert: &up_expr up(
              expr: *up_expr
    `,
    check: (rf, warnings) => {
      expect(alertOf(rf).expr).toBe('up_expr');
      expect(warnings).toEqual([expect.objectContaining({ line: 5, message: expect.stringMatching(/'expr' is the alias \*up_expr: Prometheus 2\.42 takes the anchor's name/) })]);
    },
  },
  {
    name: 'anchors-and-merge-keys.yml',
    text: y`
      groups:
        - name: g
          interval: &every 30s
          rules:
            - &base
              alert: Base
              expr: up == 0
              for: *every
              labels: &labels
                team: web
            - <<: *base
              alert: Derived
              labels:
                <<: *labels
                severity: page
    `,
    check: (rf) => {
      const [base, derived] = rf.groups[0]!.rules as AlertingRule[];
      expect(rf.groups[0]!.intervalMs).toBe(30_000);
      expect(base).toMatchObject({ alert: 'Base', forMs: 30_000, labels: { team: 'web' } });
      expect(derived).toMatchObject({ alert: 'Derived', expr: 'up == 0', forMs: 30_000, labels: { team: 'web', severity: 'page' } });
    },
  },
  {
    name: 'zero-values-on-recording-rule.yml', // rulefmt only refuses non-zero for/keep_firing_for and non-empty annotations
    text: y`
      groups:
        - name: g
          rules:
            - record: a
              expr: up
              for: 0s
              keep_firing_for: 0
              annotations: {}
    `,
  },
  {
    name: 'durations.yml',
    text: y`
      groups:
        - name: g
          interval: 1h30m
          rules:
            - {alert: A, expr: up, for: 1y, keep_firing_for: 2w}
            - {alert: B, expr: up, for: 1d1h1m1s1ms, keep_firing_for: 0}
            - {alert: C, expr: up, for: 106751d, keep_firing_for: '90s'}
            - {alert: D, expr: up, for: 01m, keep_firing_for: ~}
    `,
    check: (rf) => {
      expect(rf.groups[0]!.intervalMs).toBe(5_400_000);
      expect(rf.groups[0]!.rules.map((r) => [(r as AlertingRule).forMs, (r as AlertingRule).keepFiringForMs])).toEqual([
        [365 * 86_400_000, 14 * 86_400_000],
        [86_400_000 + 3_600_000 + 60_000 + 1000 + 1, 0],
        [106_751 * 86_400_000, 90_000],
        [60_000, 0],
      ]);
    },
  },
  {
    name: 'limits.yml', // yaml.v3 integer syntax; floats are truncated; a negative limit means none
    text: y`
      groups:
        - {name: a, limit: 0x10}
        - {name: b, limit: 1_000}
        - {name: c, limit: 2.9}
        - {name: d, limit: -1}
        - {name: e, limit: 0o17}
        - {name: f, limit: ~}
    `,
    check: (rf, warnings) => {
      expect(rf.groups.map((g) => g.limit)).toEqual([16, 1000, 2, 0, 15, 0]);
      expect(warnings).toEqual([expect.objectContaining({ line: 5, message: expect.stringMatching(/negative limit -1 means no limit/) })]);
    },
  },
  {
    name: 'interval-zero-means-default.yml',
    text: y`
      groups:
        - name: a
          interval: 0s
        - name: b
          interval: 2m
    `,
    check: (rf) => {
      expect(rf.groups.map((g) => [g.intervalMs, g.intervalExplicit])).toEqual([
        [60_000, false],
        [120_000, true],
      ]);
    },
  },
  {
    name: 'label-oddities.yml', // a null key drops the label, a null value is "", scalars are their text
    text: y`
      groups:
        - name: g
          rules:
            - alert: A
              expr: up
              labels:
                null: dropped
                empty:
                number: 1
                bool: true
                __reserved_but_allowed: x
                __proto__: safe
                quoted: "a\tb"
                tagged: !!str 0x10
                binary: !!binary aGk=
    `,
    check: (rf) => {
      expect(alertOf(rf).labels).toEqual({
        empty: '',
        number: '1',
        bool: 'true',
        __reserved_but_allowed: 'x',
        ['__proto__']: 'safe',
        quoted: 'a\tb',
        tagged: '0x10',
        binary: 'hi',
      });
      expect(Object.keys(alertOf(rf).labels)).toContain('__proto__');
    },
  },
  {
    name: 'expr-null-is-a-metric.yml', // `expr: null` is the selector null
    text: y`
      groups:
        - name: g
          rules:
            - record: a
              expr: null
    `,
    check: (rf) => expect(recordOf(rf).expr).toBe('null'),
  },
  {
    name: 'non-vector-expressions.yml', // promtool accepts them; every evaluation would fail, so we warn
    text: y`
      groups:
        - name: g
          rules:
            - record: a
              expr: up[5m]
            - alert: B
              expr: '"text"'
            - record: c
              expr: 1 + 1
    `,
    check: (rf, warnings) => {
      expect(rf.groups[0]!.rules).toHaveLength(3);
      expect(warnings.map((w) => [w.line, /range vector|string/.exec(w.message)?.[0]])).toEqual([
        [5, 'range vector'],
        [7, 'string'],
      ]);
    },
  },
  {
    name: 'duplicate-rules.yml', // promtool's duplicate-rules lint: reported, exit code 0
    text: y`
      groups:
        - name: a
          rules:
            - record: job:up:sum
              expr: sum by (job) (up)
        - name: b
          rules:
            - record: job:up:sum
              expr: sum by (job) (up)
            - record: job:up:sum
              expr: sum by (job) (up)
              labels: {variant: other}
    `,
    check: (_rf, warnings) => {
      expect(warnings).toEqual([expect.objectContaining({ line: 8, message: expect.stringMatching(/duplicate rule: "job:up:sum" with labels \{\} is also at line 4/) })]);
    },
  },
  {
    name: 'escapes-and-styles.yml',
    text: y`
      groups:
        - name: 'it''s'
          rules:
            - alert: A
              expr: >-
                up
                == 0
              annotations:
                bell: "\x07 is fine as an escape"
                folded: "one
                  two"
                plain: a # comment
    `,
    check: (rf) => {
      expect(rf.groups[0]!.name).toBe("it's");
      expect(alertOf(rf).expr).toBe('up == 0');
      expect(alertOf(rf).annotations).toEqual({ bell: '\x07 is fine as an escape', folded: 'one two', plain: 'a' });
    },
  },
  {
    name: 'flow-style-file.yml',
    text: '{groups: [{name: g, rules: [{record: "a:b", expr: "sum(x)"}, {alert: A, expr: x > 1, labels: {k: "v:", k2: v:}}]}]}\n',
    check: (rf) => expect(alertOf(rf, 0, 1).labels).toEqual({ k: 'v:', k2: 'v:' }),
  },
  {
    name: 'loose-continuation-lines.yml', // libyaml does not check indentation inside quotes and flow collections
    text: y`
      groups:
        - name: g
          rules:
            - alert: A
              expr: "up
      == 0"
              labels: {team: web,
              severity: page}
    `,
    check: (rf) => {
      expect(alertOf(rf).expr).toBe('up == 0');
      expect(alertOf(rf).labels).toEqual({ team: 'web', severity: 'page' });
    },
  },
  {
    name: 'templates.yml',
    text: y`
      groups:
        - name: g
          rules:
            - alert: HighLatency
              expr: histogram_quantile(0.99, sum by (le, job) (rate(latency_bucket[5m]))) > 0.5
              labels:
                severity: '{{ if gt $value 1.0 }}page{{ else }}ticket{{ end }}'
              annotations:
                summary: "{{ $labels.job }}: {{ $value | humanizeDuration }}"
                list: |
                  {{ range query "up == 0" }}{{ .Labels.instance }} {{ .Value | printf "%.2f" }}
                  {{ end }}
                link: '{{ $externalURL }}/x?q={{ "a b" | urlquery }}&c={{ $externalLabels.cluster | toUpper }}'
                defined: '{{ define "x" }}{{ humanize1024 1024 }}{{ end }}{{ template "x" . }}{{/* c */}}{{- 1 -}}'
            - record: job:x:sum
              expr: sum by (job) (x)
              labels:
                not_a_template: '{{ not checked for recording rules'
    `,
  },
  {
    name: 'expressions.yml',
    text: y`
      groups:
        - name: g
          rules:
            - record: a
              expr: |
                sum by (job) (
                  rate(http_requests_total{code=~"5.."}[5m] offset -1m)
                )
                / on (job) group_left
                sum by (job) (rate(http_requests_total[5m] @ end()))
            - record: b
              expr: rate(x[5m])[30m:1m]
            - record: c
              expr: label_replace(up, "a", "$1", "b", "(.*)") and on () vector(1)
            - record: d
              expr: 1 == bool 2
    `,
    check: (rf) => expect(rf.groups[0]!.rules.map((r) => r.exprAst.type)).toEqual(['BinaryExpr', 'SubqueryExpr', 'BinaryExpr', 'BinaryExpr']),
  },
];

// -----------------------------------------------------------------------------------------------------

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trimtab-rule-file-'));
  await mkdir(join(dir, 'bad'));
  await mkdir(join(dir, 'good'));
  for (const c of bad) await writeFile(join(dir, 'bad', c.name), c.text);
  for (const c of good) await writeFile(join(dir, 'good', c.name), c.text);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('parseRuleFile', () => {
  it('loads a file into exactly the expected structure', () => {
    const text = y`
      groups:
        - name: recording
          interval: 30s
          limit: 5
          rules:
            - record: job:http_requests:rate5m
              expr: "  sum by (job) (rate(http_requests_total[5m]))  "
              labels:
                team: web
            - record: cluster:cpu:sum
              expr: |
                sum(
                  rate(cpu_seconds_total[5m])
                )

        - name: alerts
          rules:
            - alert: HighErrorRate
              expr: job:http_errors:ratio5m > 0.05
              for: 1h30m
              keep_firing_for: 15m
              labels:
                severity: page
              annotations:
                summary: "{{ $labels.job }} has {{ $value | humanizePercentage }} errors"
            - alert: Watchdog
              expr: vector(1)
    `;
    const rf = parseRuleFile(text, 'rules/app.yml', { defaultIntervalMs: 15_000 });
    expect(rf.file).toBe('rules/app.yml');
    expect(withoutAst(rf)).toEqual([
      {
        name: 'recording',
        position: { file: 'rules/app.yml', line: 2 },
        intervalMs: 30_000,
        intervalExplicit: true,
        limit: 5,
        rules: [
          {
            kind: 'recording',
            record: 'job:http_requests:rate5m',
            position: { file: 'rules/app.yml', line: 6 },
            expr: 'sum by (job) (rate(http_requests_total[5m]))',
            labels: { team: 'web' },
          },
          {
            kind: 'recording',
            record: 'cluster:cpu:sum',
            position: { file: 'rules/app.yml', line: 10 },
            expr: 'sum(\n  rate(cpu_seconds_total[5m])\n)',
            labels: {},
          },
        ],
      },
      {
        name: 'alerts',
        position: { file: 'rules/app.yml', line: 16 },
        intervalMs: 15_000,
        intervalExplicit: false,
        limit: 0,
        rules: [
          {
            kind: 'alerting',
            alert: 'HighErrorRate',
            position: { file: 'rules/app.yml', line: 18 },
            expr: 'job:http_errors:ratio5m > 0.05',
            forMs: 5_400_000,
            keepFiringForMs: 900_000,
            labels: { severity: 'page' },
            annotations: { summary: '{{ $labels.job }} has {{ $value | humanizePercentage }} errors' },
          },
          {
            kind: 'alerting',
            alert: 'Watchdog',
            position: { file: 'rules/app.yml', line: 26 },
            expr: 'vector(1)',
            forMs: 0,
            keepFiringForMs: 0,
            labels: {},
            annotations: {},
          },
        ],
      },
    ]);
    const [rate, cpu] = rf.groups[0]!.rules;
    // The AST is of the trimmed text, so its positions index `expr`.
    expect(rate!.exprAst).toMatchObject({ type: 'AggregateExpr', op: 'sum', grouping: ['job'], pos: { start: 0, end: rate!.expr.length } });
    expect(cpu!.exprAst).toMatchObject({ type: 'AggregateExpr', op: 'sum' });
    expect(rf.groups[1]!.rules[0]!.exprAst).toMatchObject({ type: 'BinaryExpr', op: '>' });
  });

  it('uses the Prometheus default interval (1m) without an option', () => {
    const rf = parseRuleFile('groups: [{name: g}]', 'f.yml');
    expect(rf.groups[0]).toMatchObject({ intervalMs: 60_000, intervalExplicit: false });
  });

  it('reports every problem of a file, each with its line, sorted by line', () => {
    const text = y`
      groups:
        - name: g
          interval: 5
          rules:
            - record: bad-name
              expr: sum(
            - alert: A
              expr: up
              for: 5x
              labels: {1a: b}
        - name: g
          bogus: true
    `;
    let error: unknown;
    try {
      parseRuleFile(text, 'many.yml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RuleFileError);
    const e = error as RuleFileError;
    expect(e.code).toBe('rule_file_invalid');
    expect(e.problems.map((p) => [p.line, p.message.replace(/:.*/s, '')])).toEqual([
      [3, 'invalid interval of group "g"'],
      [5, 'group "g", rule 1, "bad-name"'],
      [6, 'group "g", rule 1, "bad-name"'],
      [9, "invalid 'for'"],
      [10, 'group "g", rule 2, "A"'],
      [11, 'groupname'],
      [12, 'unknown field "bogus" in rule group (known fields'],
    ]);
    expect(e.problems.every((p) => p.file === 'many.yml')).toBe(true);
    // The message: one `file:line: reason` a line.
    const lines = e.message.split('\n');
    expect(lines).toHaveLength(e.problems.length);
    expect(lines[0]).toBe('many.yml:3: invalid interval of group "g": not a valid duration string: "5"');
    expect(lines[1]).toBe('many.yml:5: group "g", rule 1, "bad-name": invalid recording rule name: bad-name');
    expect(lines[6]).toMatch(/^many\.yml:12: unknown field "bogus"/);
  });

  it('refuses a string with unpaired surrogates (not UTF-8)', () => {
    expect(problemsOf('groups: []\n# \ud800\n', 'x.yml')).toEqual([{ file: 'x.yml', line: 2, message: expect.stringMatching(/invalid UTF-8/) }]);
  });
});

describe('parseModelDuration (model.ParseDuration)', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['1ms', 1],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1y2w3d4h5m6s7ms', 365 * 86_400_000 + 17 * 86_400_000 + 4 * 3_600_000 + 5 * 60_000 + 6007],
    ['292y', 292 * 365 * 86_400_000],
    ['9223372036854ms', 9_223_372_036_854],
  ])('%s = %d ms', (text, ms) => {
    expect(parseModelDuration(text)).toBe(ms);
  });

  it.each([
    ['', 'empty duration string'],
    ['5', 'not a valid duration string: "5"'],
    ['00', 'not a valid duration string: "00"'],
    ['1.5h', 'not a valid duration string: "1.5h"'],
    ['-1s', 'not a valid duration string: "-1s"'],
    ['1s1m', 'not a valid duration string: "1s1m"'],
    ['5 m', 'not a valid duration string: "5 m"'],
    ['293y', 'duration out of range'],
    ['9223372036855ms', 'duration out of range'],
    ['99999999999999999999s', 'duration out of range'],
  ])('%j is refused: %s', (text, message) => {
    expect(() => parseModelDuration(text)).toThrow(message);
  });
});

describe('the bad corpus: refused by us and by promtool', () => {
  it('has at least 25 files, each with a distinct name', () => {
    expect(bad.length).toBeGreaterThanOrEqual(25);
    expect(new Set(bad.map((c) => c.name)).size).toBe(bad.length);
  });

  it.each(bad.map((c) => [c.name, c] as const))('%s: our loader names the line and the problem', async (_name, c) => {
    const problems = await loadProblems([c.name], join(dir, 'bad'));
    const matching = problems.filter((p) => p.file === c.name && p.line === c.line && c.reason.test(p.message));
    expect(matching, `problems: ${JSON.stringify(problems, null, 1)}`).not.toHaveLength(0);
  });

  it.skipIf(!hasPromtool).each(bad.map((c) => [c.name, c] as const))('%s: promtool refuses it too, at the line we name', async (_name, c) => {
    const { code, output } = await promtool(join(dir, 'bad', c.name));
    expect(code, output).toBe(1);
    const theirs = promtoolLine(output);
    if (theirs !== undefined) {
      const ours = problemsOf(c.text, c.name).map((p) => p.line);
      expect(ours, output).toContain(theirs);
    }
  });
});

describe('the tricky-but-valid corpus: accepted by us and by promtool', () => {
  it.each(good.map((c) => [c.name, c] as const))('%s: our loader accepts it', async (_name, c) => {
    const warnings: RuleProblem[] = [];
    const [rf] = await loadRuleFiles([c.name], { cwd: join(dir, 'good'), warnings });
    expect(rf!.file).toBe(c.name);
    c.check?.(rf!, warnings);
  });

  it.skipIf(!hasPromtool).each(good.map((c) => [c.name, c] as const))('%s: promtool accepts it too', async (_name, c) => {
    const { code, output } = await promtool(join(dir, 'good', c.name));
    expect(code, output).toBe(0);
    // The duplicate-rules lint prints FAILED with exit code 0; anything else must be SUCCESS.
    if (!/lint error/.test(output)) expect(output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it.skipIf(!hasPromtool)('counts the same rules as promtool', async () => {
    for (const c of good) {
      const { output } = await promtool(join(dir, 'good', c.name));
      const m = /SUCCESS: (\d+) rules found/.exec(output);
      if (!m) continue;
      const [rf] = await loadRuleFiles([c.name], { cwd: join(dir, 'good') });
      expect(rf!.groups.reduce((n, g) => n + g.rules.length, 0), c.name).toBe(Number(m[1]));
    }
  });
});

describe('loadRuleFiles', () => {
  let root = '';
  const rule = (name: string) => `groups:\n  - name: ${name}\n    rules:\n      - record: ${name}\n        expr: up\n`;

  beforeAll(async () => {
    root = join(dir, 'load');
    await mkdir(join(root, 'rules', 'team'), { recursive: true });
    await writeFile(join(root, 'rules', 'b.yml'), rule('b'));
    await writeFile(join(root, 'rules', 'a.yml'), rule('a'));
    await writeFile(join(root, 'rules', 'team', 'c.yaml'), rule('a')); // the same group name in another file is fine
    await writeFile(join(root, 'rules', 'broken.txt'), 'groups:\n  - name: x\n    rules:\n      - record: 1x\n        expr: up\n');
    await writeFile(join(root, 'rules', 'also-broken.txt'), 'groups: {\n');
  });

  it('expands globs relative to cwd, loads each file once, and sorts by path', async () => {
    const files = await loadRuleFiles(['rules/*.yml', 'rules/**/*.yaml', 'rules/a.yml', './rules/../rules/b.yml'], { cwd: root });
    expect(files.map((f) => f.file)).toEqual(['rules/a.yml', 'rules/b.yml', 'rules/team/c.yaml']);
    expect(files.map((f) => f.groups[0]!.name)).toEqual(['a', 'b', 'a']);
    expect(files[2]!.groups[0]!.position).toEqual({ file: 'rules/team/c.yaml', line: 2 });
  });

  it('takes absolute paths and patterns as they are', async () => {
    const files = await loadRuleFiles([join(root, 'rules', 'b.yml'), join(root, 'rules', 'a.y*l')], { defaultIntervalMs: 10_000 });
    expect(files.map((f) => f.file)).toEqual([join(root, 'rules', 'a.yml'), join(root, 'rules', 'b.yml')]);
    expect(files[0]!.groups[0]!.intervalMs).toBe(10_000);
  });

  it('refuses a pattern that matches nothing, naming it', async () => {
    const e = await loadRuleFiles(['rules/*.yml', 'rules/*.json'], { cwd: root }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RuleFileError);
    expect((e as RuleFileError).problems).toEqual([{ file: 'rules/*.json', line: 0, message: 'pattern matches no files' }]);
    expect((e as RuleFileError).message).toBe('rules/*.json: pattern matches no files');
  });

  it('refuses a missing file, a directory and an unreadable file', async () => {
    await writeFile(join(root, 'secret.yml'), rule('s'));
    await chmod(join(root, 'secret.yml'), 0o000);
    const e = (await loadRuleFiles(['missing.yml', 'rules', 'secret.yml'], { cwd: root }).catch((x: unknown) => x)) as RuleFileError;
    expect(e).toBeInstanceOf(RuleFileError);
    const byFile = Object.fromEntries(e.problems.map((p) => [p.file, p.message]));
    expect(byFile['missing.yml']).toBe('cannot read rule file: no such file or directory');
    expect(byFile['rules']).toBe('cannot read rule file: is a directory');
    if (process.getuid?.() !== 0) expect(byFile['secret.yml']).toBe('cannot read rule file: permission denied');
    await chmod(join(root, 'secret.yml'), 0o644);
  });

  it('collects the problems of every file before throwing', async () => {
    const e = (await loadRuleFiles(['rules/*.txt', 'rules/a.yml'], { cwd: root }).catch((x: unknown) => x)) as RuleFileError;
    expect(e).toBeInstanceOf(RuleFileError);
    expect([...new Set(e.problems.map((p) => p.file))]).toEqual(['rules/also-broken.txt', 'rules/broken.txt']);
    expect(e.message).toMatch(/^rules\/broken\.txt:4: group "x", rule 1, "1x": invalid recording rule name: 1x$/m);
  });
});

describe('checkRuleFiles', () => {
  it("prints promtool's report and is ok only when every file is valid", async () => {
    const cwd = join(dir, 'good');
    const ok = await checkRuleFiles(['templates.yml', 'duplicate-rules.yml'], { cwd });
    expect(ok.ok).toBe(true);
    expect(ok.output).toBe(
      'Checking templates.yml\n  SUCCESS: 2 rules found\n\n' +
        'Checking duplicate-rules.yml\n  SUCCESS: 3 rules found\n' +
        'duplicate-rules.yml:8: warning: duplicate rule: "job:up:sum" with labels {} is also at line 4; might cause inconsistency while recording expressions\n\n',
    );

    const failed = await checkRuleFiles([join(dir, 'bad', 'duplicate-group.yml'), join(dir, 'good', 'empty.yml'), join(dir, 'nope-*.yml')]);
    expect(failed.ok).toBe(false);
    expect(failed.output).toBe(
      `Checking ${join(dir, 'bad', 'duplicate-group.yml')}\n  FAILED:\n${join(dir, 'bad', 'duplicate-group.yml')}:6: groupname: "node" is repeated in the same file (first at line 2)\n\n` +
        `Checking ${join(dir, 'good', 'empty.yml')}\n  SUCCESS: 0 rules found\n\n` +
        `Checking ${join(dir, 'nope-*.yml')}\n  FAILED:\n${join(dir, 'nope-*.yml')}: pattern matches no files\n\n`,
    );
  });
});
