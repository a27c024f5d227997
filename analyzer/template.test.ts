// Tests for the Go text/template engine Prometheus uses for alert annotations and labels.
//
// Expected values come from three places:
//  1. Prometheus' own template/template_test.go scenarios (adapted: alert templates always get Prometheus'
//     prelude prepended, so error columns shift by its length, and Go slices become literals);
//  2. Go's text/template, fmt and strconv behaviour, each case checked against promtool 2.42 while writing;
//  3. a live cross-check: many templates rendered by this engine are written as the expected annotations of a
//     `promtool test rules` file; promtool 2.42 must accept them, i.e. render the same bytes.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  compileTemplate,
  expandTemplate,
  TEMPLATE_PRELUDE,
  TemplateError,
  type TemplateData,
  type TemplateQuery,
} from './template.ts';

const PROMTOOL = '/usr/bin/promtool';
/** Columns in execution errors count from the start of the prelude Prometheus prepends. */
const col = (c: number): number => TEMPLATE_PRELUDE.length + c;

const data: TemplateData = {
  labels: { __name__: 'cpu_usage', instance: 'web-1.example.com:9100', job: 'node', severity: 'page' },
  value: 0.8751234,
  externalLabels: { cluster: 'eu-1', replica: 'a' },
  externalURL: 'http://testhost:9090/path/prefix',
};

function sample(labels: Record<string, string>, value: number): { labels: Record<string, string>; value: number } {
  return { labels, value };
}

const queryTable: Record<string, Array<{ labels: Record<string, string>; value: number }>> = {
  '1.5': [sample({}, 1.5)],
  "metric{instance='a'}": [sample({ __name__: 'metric', instance: 'a' }, 11)],
  "metric{__value__='a'}": [sample({ __name__: 'metric', __value__: 'a' }, 11)],
  metric: [sample({ __name__: 'metric', instance: 'b' }, 21), sample({ __name__: 'metric', instance: 'a' }, 11)],
  missing: [],
};
const query: TemplateQuery = async (expr) => {
  if (Object.hasOwn(queryTable, expr)) return queryTable[expr];
  throw new Error(`unexpected query ${expr}`);
};

async function render(text: string, d: TemplateData = data, name = 'test'): Promise<string> {
  return expandTemplate(name, text, d, { query });
}

/** The `<error expanding template: …>` Prometheus writes for an execution error. */
const execError = (msg: string, name = 'test'): string =>
  `<error expanding template: error executing template ${name}: template: ${name}:${msg}>`;
const parseError = (msg: string, name = 'test'): string =>
  `<error expanding template: error parsing template ${name}: template: ${name}:${msg}>`;

describe('Prometheus template_test.go scenarios', () => {
  const cases: Array<[string, string]> = [
    ['plain text', 'plain text'],
    ['{{ 1 }}', '1'],
    ['{{ \u00a0}}', parseError('1: unrecognized character in action: U+00A0')],
    ['{{ "<b>" }}', '<b>'],
    ['{{ "<b>" | safeHtml }}', '<b>'],
    ['{{define "x"}}{{.arg0}} {{.arg1}}{{end}}{{template "x" (args 1 "2")}}', '1 2'],
    ['{{ query "1.5" | first | value }}', '1.5'],
    ['{{ query "metric{instance=\'a\'}" | first | value }}', '11'],
    ['{{ query "metric{instance=\'a\'}" | first | label "instance" }}', 'a'],
    ['{{ query "metric{__value__=\'a\'}" | first | strvalue }}', 'a'],
    ['{{ query "metric{instance=\'a\'}" | first | label "foo" }}', ''],
    ['{{ $x := query "metric" | first }}{{ $x.Labels.foo }}', ''],
    ['{{ range query "metric" | sortByLabel "instance" }}{{.Labels.instance}}:{{.Value}}: {{end}}', 'a:11: b:21: '],
    ['{{ "foo.example.com" | stripPort }}', 'foo.example.com'],
    ['{{ "foo.example.com:12345" | stripPort }}', 'foo.example.com'],
    ['{{ "192.0.2.1" | stripPort }}', '192.0.2.1'],
    ['{{ "192.0.2.1:12345" | stripPort }}', '192.0.2.1'],
    ['{{ "2001:0DB8::1" | stripPort }}', '2001:0DB8::1'],
    ['{{ "[2001:0DB8::1]:12345" | stripPort }}', '2001:0DB8::1'],
    ['{{ "[2001:0DB8::1]::12345" | stripPort }}', '[2001:0DB8::1]::12345'],
    ['{{', parseError('1: unclosed action')],
    [
      '{{ query "missing" | first }}',
      execError(`1:${col(21)}: executing "test" at <first>: error calling first: first() called on vector with no elements`),
    ],
    [
      '{{ (query "missing").banana }}',
      execError(`1:${col(10)}: executing "test" at <"missing">: can't evaluate field banana in type template.queryResult`),
    ],
    ['{{ reReplaceAll "(a)b" "x$1" "ab" }}', 'xa'],
    ['{{ humanize 0.0 }}:{{ humanize 1.0 }}:{{ humanize 1234567.0 }}:{{ humanize .12 }}', '0:1:1.235M:120m'],
    ['{{ humanize "0.0" }}:{{ humanize "1.0" }}:{{ humanize "1234567.0" }}:{{ humanize ".12" }}', '0:1:1.235M:120m'],
    [
      '{{ humanize "one" }}',
      execError(
        `1:${col(3)}: executing "test" at <humanize "one">: error calling humanize: strconv.ParseFloat: parsing "one": invalid syntax`,
      ),
    ],
    ['{{ humanize 0 }}:{{ humanize -1 }}:{{ humanize 1 }}:{{ humanize 1234567 }}:{{ humanize 9223372036854775807 }}', '0:-1:1:1.235M:9.223E'],
    ['{{ humanize1024 0.0 }}:{{ humanize1024 1.0 }}:{{ humanize1024 1048576.0 }}:{{ humanize1024 .12 }}', '0:1:1Mi:0.12'],
    ['{{ humanize1024 0 }}:{{ humanize1024 -1 }}:{{ humanize1024 1234567 }}:{{ humanize1024 9223372036854775807 }}', '0:-1:1.177Mi:8Ei'],
    [
      '{{ humanizeDuration 0 }}:{{ humanizeDuration 1 }}:{{ humanizeDuration 60 }}:{{ humanizeDuration 3600 }}:{{ humanizeDuration 86400 }}:{{ humanizeDuration 90000 }}:{{ humanizeDuration -183845 }}:{{ humanizeDuration 899.99 }}',
      '0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s',
    ],
    [
      '{{ humanizeDuration .1 }}:{{ humanizeDuration .0001 }}:{{ humanizeDuration .12345 }}:{{ humanizeDuration 60.1 }}:{{ humanizeDuration 60.5 }}:{{ humanizeDuration 1.2345 }}:{{ humanizeDuration 12.345 }}',
      '100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s',
    ],
    ['{{ humanizeDuration "86400" }}:{{ humanizeDuration 1234567 }}', '1d 0h 0m 0s:14d 6h 56m 7s'],
    [
      '{{ humanize "+Inf" }}:{{ humanize1024 "+Inf" }}:{{ humanizeDuration "-Inf" }}:{{ humanizeTimestamp "NaN" }}',
      '+Inf:+Inf:-Inf:NaN',
    ],
    [
      '{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}',
      '-22.22%:0%:12.35%:123.5%',
    ],
    ['{{ humanizePercentage 1234567 }}:{{ humanizePercentage 9223372036854775807 }}', '1.235e+08%:9.223e+20%'],
    [
      '{{ "one" | humanizePercentage }}',
      execError(
        `1:${col(11)}: executing "test" at <humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: parsing "one": invalid syntax`,
      ),
    ],
    [
      '{{ humanizeTimestamp 0 }}:{{ humanizeTimestamp -1 }}:{{ humanizeTimestamp 1234567 }}:{{ humanizeTimestamp 9223372036 }}',
      '1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC',
    ],
    [
      '{{ humanizeTimestamp -9223372036854775808 }}',
      execError(
        `1:${col(3)}: executing "test" at <humanizeTimestamp -9223372036854775808>: error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64`,
      ),
    ],
    ['{{ 1435065584.128 | humanizeTimestamp }}', '2015-06-23 13:19:44.128 +0000 UTC'],
    ['{{ "1435065584.128" | humanizeTimestamp }}', '2015-06-23 13:19:44.128 +0000 UTC'],
    ['{{ (1435065584.128 | toTime).Format "2006" }}', '2015'],
    ['{{ ("1435065584.128" | toTime).Format "2006" }}', '2015'],
    ['{{ "aa bb CC" | title }}', 'Aa Bb CC'],
    ['{{ "aa bb CC" | toUpper }}', 'AA BB CC'],
    ['{{ "aA bB CC" | toLower }}', 'aa bb cc'],
    ['{{ match "a+" "aa" }} {{ match "a+" "b" }}', 'true false'],
    ['{{ graphLink "up" }}', '/graph?g0.expr=up&g0.tab=0'],
    ['{{ tableLink "up" }}', '/graph?g0.expr=up&g0.tab=1'],
    ['{{ pathPrefix }}', '/path/prefix'],
    ['{{ externalURL }}', 'http://testhost:9090/path/prefix'],
    ['{{ printf "%0.2f" (parseDuration "1h2m10ms") }}', '3720.01'],
    ['{{ "foo.example.com" | stripDomain }}', 'foo'],
    ['{{ "foo.example.com:12345" | stripDomain }}', 'foo:12345'],
    ['{{ "192.0.2.1" | stripDomain }}', '192.0.2.1'],
    ['{{ "192.0.2.1:12345" | stripDomain }}', '192.0.2.1:12345'],
    ['{{ "2001:0DB8::1" | stripDomain }}', '2001:0DB8::1'],
    ['{{ "[2001:0DB8::1]:12345" | stripDomain }}', '[2001:0DB8::1]:12345'],
    ['{{ "[2001:0DB8::1]::12345" | stripDomain }}', '[2001:0DB8::1]::12345'],
  ];
  it.each(cases)('%s', async (text, want) => {
    expect(await render(text)).toBe(want);
  });
});

describe('alert data, variables and control flow', () => {
  const cases: Array<[string, string]> = [
    ['{{ $value }} {{ .Value }}', '0.8751234 0.8751234'],
    ['{{ $labels.instance }} {{ .Labels.job }} [{{ $labels.nope }}] [{{ index $labels "nope" }}]', 'web-1.example.com:9100 node [] []'],
    ['{{ $externalLabels.cluster }} {{ .ExternalLabels.replica }} {{ $externalURL }}', 'eu-1 a http://testhost:9090/path/prefix'],
    ['{{ $labels }}', 'map[__name__:cpu_usage instance:web-1.example.com:9100 job:node severity:page]'],
    [
      '{{ . }}',
      '{map[__name__:cpu_usage instance:web-1.example.com:9100 job:node severity:page] map[cluster:eu-1 replica:a] http://testhost:9090/path/prefix 0.8751234}',
    ],
    ['{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}', '__name__=cpu_usage;instance=web-1.example.com:9100;job=node;severity=page;'],
    ['{{ range $labels }}{{ . }},{{ end }}', 'cpu_usage,web-1.example.com:9100,node,page,'],
    ['{{ range $i, $e := $externalLabels }}{{ if eq $i "replica" }}{{ break }}{{ end }}{{ $e }}{{ end }}', 'eu-1'],
    ['{{ range $k, $_ := $labels }}{{ if eq $k "job" }}{{ continue }}{{ end }}{{ $k }} {{ end }}', '__name__ instance severity '],
    ['{{ range (query "missing") }}x{{ else }}none{{ end }}', 'none'],
    ['{{ if gt $value 0.9 }}crit{{ else if gt $value 0.8 }}warn{{ else }}ok{{ end }}', 'warn'],
    ['{{ with $labels.job }}job={{ . }}{{ else }}none{{ end }}|{{ with $labels.nope }}x{{ else }}none{{ end }}', 'job=node|none'],
    ['{{ with $labels.nope }}x{{ else with $labels.job }}{{ . }}{{ end }}', 'node'], // Go 1.23 `else with`
    ['{{ $x := 1 }}{{ $x = 2 }}{{ $x }}{{ if true }}{{ $x := 3 }}{{ $x }}{{ end }}{{ $x }}', '232'],
    ['{{ $x := "a" }}{{ range $labels }}{{ $x = . }}{{ end }}{{ $x }}', 'page'],
    ['{{ $.Labels.job }} {{ range $labels }}{{ $.Value }}{{ break }}{{ end }}', 'node 0.8751234'],
    ['{{- /* comment */ -}}  a  {{- 1 -}}  b {{ "c" -}}  \n  d', 'a1b cd'],
    ['x {{-3 }}', 'x -3'],
    ['{{ define "t" }}[{{ . }}]{{ end }}{{ template "t" $labels.job }}{{ template "t" }}', '[node][<no value>]'],
    ['{{ block "b" . }}<{{ .Labels.job }}>{{ end }}', '<node>'],
    ['{{ and 1 2 }} {{ and 0 2 }} [{{ or 0 "" }}] {{ or 1 .Nope }} {{ not 0 }}', '2 0 [] 1 true'],
    ['{{ eq 1 1 2 }} {{ ne "a" "b" }} {{ lt 1 2 }} {{ le "a" "a" }} {{ ge 2.5 3.0 }} {{ eq nil nil }}', 'true true true true false true'],
    ['{{ len "é" }} {{ index "abc" 1 }} {{ slice "abcdef" 1 3 }} {{ len $labels }}', '2 98 bc 4'],
    ["{{ 'a' }} {{ 0x10 }} {{ 1e3 }} {{ -1.5 }} {{ 0b101 }} {{ 017 }} {{ 1_000 }} {{ 2.0 }}", '97 16 1000 -1.5 5 15 1000 2'],
    ['{{ printf "%T %T %T %T %T" 1 1.0 "s" true $labels }}', 'int float64 string bool map[string]string'],
    ['{{ .Labels.constructor }}|{{ index $labels "__proto__" }}|{{ $labels.toString }}', '||'],
  ];
  it.each(cases)('%s', async (text, want) => {
    expect(await render(text)).toBe(want);
  });
});

describe('fmt and strconv as Go formats them', () => {
  const cases: Array<[string, string]> = [
    ['{{ 1000000.0 }} {{ 123456789.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1e21 }} {{ -0.0 }}', '1e+06 1.23456789e+08 0.0001 1e-05 1e+21 -0'],
    ['{{ printf "%v|%.4g|%e|%.3f|%g|%G" 1234.5678 1234.5678 1234.5678 1234.5678 1e-7 1e-7 }}', '1234.5678|1235|1.234568e+03|1234.568|1e-07|1E-07'],
    // round half to even on the exact binary value (JS toFixed would give 0.13, 1, 3)
    ['{{ printf "%.2f %.0f %.0f %.0f %.1f %.1f" 0.125 0.5 1.5 2.5 0.05 0.25 }}', '0.12 0 2 2 0.1 0.2'],
    ['{{ printf "%8.3f|%-8.2f|%08.3f|%+d|% d|%+.3e|%#g|%#.3g" 3.14159 2.5 -3.14159 3 4 12345.678 1.0 100.0 }}', '   3.142|2.50    |-003.142|+3| 4|+1.235e+04|1.00000|100.'],
    ['{{ printf "%x %X %b" 1.0 -2.5 8.0 }}', '0x1p+00 -0X1.4P+01 4503599627370496p-49'],
    ['{{ printf "%d %5d %-5d| %05d %x %X %o %O %b %c %U %#U %q" 42 42 42 -42 255 255 8 8 5 9731 9731 65 65 }}', "42    42 42   | -0042 ff FF 10 0o10 101 ☃ U+2603 U+0041 'A' 'A'"],
    ['{{ printf "%s|%q|%x|% x|%#x|%8.3s|%-6s|%05s" "hé" "a\\tb\\"" "hé" "hé" "hi" "abcdef" "ab" "ab" }}', 'hé|"a\\tb\\""|68c3a9|68 c3 a9|0x6869|     abc|ab    |000ab'],
    ['{{ printf "%*d|%-*d|%.*f" 5 42 4 7 2 3.14159 }}', '   42|7   |3.14'],
    ['{{ printf "%[2]d %[1]d" 1 2 }} {{ printf "%[3]d" 1 }}', '2 1 %!d(BADINDEX)'],
    ['{{ printf "%d %s" }}|{{ printf "%d" 1 2 }}|{{ printf "%!" }}|{{ printf "%z" 3 }}|{{ printf "%" }}', '%!d(MISSING) %!s(MISSING)|1%!(EXTRA int=2)|%!!(MISSING)|%!z(int=3)|%!(NOVERB)'],
    ['{{ printf "%s" 1.5 }} {{ printf "%d" 1.5 }} {{ printf "%d" true }} {{ printf "%v %d" nil nil }}', '%!s(float64=1.5) %!d(float64=1.5) %!d(bool=true) <nil> %!d(<nil>)'],
    ['{{ printf "%v|%+v|%#v" $externalLabels $externalLabels $externalLabels }}', 'map[cluster:eu-1 replica:a]|map[cluster:eu-1 replica:a]|map[string]string{"cluster":"eu-1", "replica":"a"}'],
    ['{{ print 1 2 "a" "b" 3 nil }}|{{ println 1 "x" }}|', '1 2ab3 <nil>|1 x\n|'],
    ['{{ html "<a href=\'x\'>&\\"" }} {{ js "a\'b<\\"=&" }} {{ urlquery "a b&c/é" }}', '&lt;a href=&#39;x&#39;&gt;&amp;&#34; a\\\'b\\u003C\\"\\u003D\\u0026 a+b%26c%2F%C3%A9'],
    ['{{ (toTime 1600000000.123).Format "Mon Jan _2 15:04:05.000 MST 2006 Z07:00 -0700 3PM" }}', 'Sun Sep 13 12:26:40.122 UTC 2020 Z +0000 12PM'], // 1600000000.123*1e9 truncates to …122999808 ns
    ['{{ toTime 1.5 }} {{ (toTime 86400).Month }} {{ (toTime 1600000000).Unix }} {{ (toTime 1600000000).Weekday }}', '1970-01-01 00:00:01.5 +0000 UTC January 1600000000 Sunday'],
    ['{{ title "foo.bar it\'s foo-bar ǆa ᾳy héllo" }} {{ toUpper "ßﬁǆİé" }} {{ toLower "İΣΑΣ" }}', "Foo.Bar It'S Foo-Bar ǅa ᾼy Héllo ßﬁǄİÉ iσασ"],
    ['{{ reReplaceAll "a*" "-" "baaac" }}|{{ reReplaceAll "(?i)(\\\\w+)@(\\\\w+)" "$2 at ${1}x $1x $$" "Foo@Bar" }}', '-b-c-|Bar at Foox  $'],
    ['{{ reReplaceAll "(?P<host>[^:]+):(?P<port>\\\\d+)" "${port}@${host}" "a.b:90" }} {{ reReplaceAll "(?m)^a" "X" "a\\na" }} {{ reReplaceAll "." "X" "a\\nb" }}', '90@a.b X\nX X\nX'],
    ['{{ reReplaceAll "[[:upper:]]+" "_" "abCDeF" }} {{ reReplaceAll "\\\\pL+" "L" "héllo 123" }} {{ reReplaceAll "\\\\Q.*\\\\E" "X" "a.*b" }}', 'ab_e_ L 123 aXb'],
  ];
  it.each(cases)('%s', async (text, want) => {
    expect(await render(text)).toBe(want);
  });
});

describe('parse errors (TemplateError template_parse, Go messages)', () => {
  const cases: Array<[string, string]> = [
    ['{{ foo }}', 'function "foo" not defined'],
    ['{{ tmpl "x" . }}', 'function "tmpl" not defined'], // only in Prometheus' HTML (console) expander
    ['{{ $labels.instance } }}', 'unexpected "}" in operand'],
    ['{{ if }}x{{ end }}', 'missing value for if'],
    ['{{ end }}', 'unexpected {{end}}'],
    ['{{ if true }}x', 'unexpected EOF'],
    ['{{ $undefined }}', 'undefined variable "$undefined"'],
    ['{{ break }}', '{{break}} outside {{range}}'],
    ['{{ "unterminated }}', 'unterminated quoted string'],
    ['{{ 99999999999999999999 }}', 'integer overflow: "99999999999999999999"'],
    ['{{ 1) }}', 'unexpected ")" in command'],
    ['{{ (1 }}', 'unclosed left paren'],
    ['{{ 1a }}', 'bad number syntax: "1a"'],
    ['{{ "x".y }}', 'unexpected . after term "\\"x\\""'],
    ['{{/* unclosed }}', 'unclosed comment'],
    ['{{/* c */ x }}', 'comment ends before closing delimiter'],
    ['{{ if true }}{{ else }}{{ else }}{{ end }}', 'expected end; found {{else}}'],
    ['{{ define "e" }}{{ $labels }}{{ end }}', 'undefined variable "$labels"'],
    ['{{ 1i }}', 'complex number constants are not supported (1i)'],
  ];
  it.each(cases)('%s', (text, msg) => {
    let err: unknown;
    try {
      compileTemplate('__alert_HighCPU', text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as TemplateError).code).toBe('template_parse');
    expect((err as TemplateError).templateName).toBe('__alert_HighCPU');
    expect((err as TemplateError).message).toBe(`template: __alert_HighCPU:1: ${msg}`);
  });

  it('reports the line of the offending token', () => {
    expect(() => compileTemplate('t', 'line one\nline two {{ nope }}')).toThrow('template: t:2: function "nope" not defined');
  });

  it('expandTemplate turns a parse error into Prometheus text', async () => {
    expect(await render('{{ foo }}', data, '__alert_HighCPU')).toBe(
      '<error expanding template: error parsing template __alert_HighCPU: template: __alert_HighCPU:1: function "foo" not defined>',
    );
  });
});

describe('execution errors (TemplateError template_exec, Go messages)', () => {
  const cases: Array<[string, string]> = [
    ['{{ gt $value 1 }}', `1:${col(3)}: executing "test" at <gt $value 1>: error calling gt: incompatible types for comparison`],
    ['{{ .Nope }}', `1:${col(3)}: executing "test" at <.Nope>: can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }`],
    ['a\nb {{ .Nope }}', `2:5: executing "test" at <.Nope>: can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }`],
    ['é{{ humanize "x" }}', `1:${col(5)}: executing "test" at <humanize "x">: error calling humanize: strconv.ParseFloat: parsing "x": invalid syntax`],
    ['{{ toUpper 1 }}', `1:${col(11)}: executing "test" at <1>: expected string; found 1`],
    ['{{ 1 | toUpper }}', `1:${col(7)}: executing "test" at <toUpper>: wrong type for value; expected string; got int`],
    ['{{ printf }}', `1:${col(3)}: executing "test" at <printf>: wrong number of args for printf: want at least 1 got 0`],
    ['{{ index $labels 1 }}', `1:${col(3)}: executing "test" at <index $labels 1>: error calling index: value has type int; should be string`],
    ['{{ "x" "y" }}', `1:${col(3)}: executing "test" at <"x">: can't give argument to non-function "x"`],
    ['{{ range 5 }}x{{ end }}', `1:${col(9)}: executing "test" at <5>: range can't iterate over 5`],
    ['{{ nil }}', `1:${col(3)}: executing "test" at <nil>: nil is not a command`],
    ['{{ $x = 1 }}', `1:${col(8)}: executing "test" at <1>: undefined variable: $x`],
    ['{{ template "nope" }}', `1:${col(12)}: executing "test" at <{{template "nope"}}>: template "nope" not defined`],
    ['{{ reReplaceAll "(" "x" "y" }}', `1:${col(3)}: executing "test" at <reReplaceAll "(" "x" "y">: error calling reReplaceAll: regexp: Compile(\`(\`): error parsing regexp: missing closing ): \`(\``],
    ['{{ match "a**" "y" }}', `1:${col(3)}: executing "test" at <match "a**" "y">: error calling match: error parsing regexp: invalid nested repetition operator: \`**\``],
    ['{{ parseDuration "1.5h" }}', `1:${col(3)}: executing "test" at <parseDuration "1.5h">: error calling parseDuration: not a valid duration string: "1.5h"`],
    ['{{ toTime 1e10 }}', `1:${col(3)}: executing "test" at <toTime 1e10>: error calling toTime: 1e+10 cannot be represented as a nanoseconds timestamp since it overflows int64`],
    ['{{ eq $labels $labels }}', `1:${col(3)}: executing "test" at <eq $labels $labels>: error calling eq: non-comparable type map[__name__:cpu_usage instance:web-1.example.com:9100 job:node severity:page]: map[string]string`],
    ['{{ label "x" nil }}', `1:${col(3)}: executing "test" at <label "x" nil>: error calling label: runtime error: invalid memory address or nil pointer dereference`],
    ['{{ (toTime 1).Add 5 }}', `1:${col(13)}: executing "test" at <(toTime 1).Add>: method Add of time.Time is not supported by this template engine`],
    ['{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}', `1:${col(28)}: executing "r" at <{{template "r" .}}>: exceeded maximum template depth (100000)`],
  ];
  it.each(cases)('%s', async (text, msg) => {
    const t = compileTemplate('test', text);
    const err = await t.execute(data).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as TemplateError).code).toBe('template_exec');
    expect((err as TemplateError).message).toBe(`template: test:${msg}`);
    expect(await render(text)).toBe(execError(msg));
  });
});

describe('query function', () => {
  it('runs each distinct query once per expansion and replays', async () => {
    const calls: string[] = [];
    const q: TemplateQuery = async (expr) => {
      calls.push(expr);
      return expr === 'up'
        ? [sample({ __name__: 'up', instance: 'b' }, 0), sample({ __name__: 'up', instance: 'a' }, 1)]
        : [sample({ __name__: 'load', instance: 'a' }, 3.14159)];
    };
    const t = compileTemplate(
      'q',
      '{{ range query "up" | sortByLabel "instance" }}{{ .Labels.instance }}={{ .Value }} {{ end }}' +
        '{{ with query (printf "load{instance=%q}" "a") }}{{ . | first | value | printf "%.2f" }}{{ end }} {{ len (query "up") }}',
    );
    expect(await t.execute(data, { query: q })).toBe('a=1 b=0 3.14 2');
    expect(calls).toEqual(['up', 'load{instance="a"}']);
  });

  it('reports query failures and a missing query function as execution errors', async () => {
    const t = compileTemplate('q', '{{ query "up" }}');
    const failing: TemplateQuery = async () => {
      throw new Error('bad_data: parse error');
    };
    await expect(t.execute(data, { query: failing })).rejects.toThrow(
      `template: q:1:${col(3)}: executing "q" at <query "up">: error calling query: bad_data: parse error`,
    );
    await expect(t.execute(data)).rejects.toThrow('error calling query: no query function configured');
    expect(await expandTemplate('q', '{{ query "up" }}', data)).toMatch(/^<error expanding template: error executing template q: /);
  });

  it('does not share query results between expansions (sortByLabel sorts in place, like Go)', async () => {
    let n = 0;
    const q: TemplateQuery = async () => [sample({ i: String(++n) }, n)];
    const t = compileTemplate('q', '{{ (query "x" | first).Value }}');
    expect(await t.execute(data, { query: q })).toBe('1');
    expect(await t.execute(data, { query: q })).toBe('2');
  });
});

describe('compile once, execute many', () => {
  it('expands concurrently with different data', async () => {
    const t = compileTemplate('__alert_X', '{{ $labels.pod }}: {{ humanizePercentage $value }}{{ if gt $value 0.5 }}!{{ end }}');
    const outs = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        t.execute({ labels: { pod: `p${i}` }, value: i / 200, externalLabels: {}, externalURL: '' }),
      ),
    );
    outs.forEach((o, i) => expect(o.startsWith(`p${i}: `)).toBe(true));
    expect(outs[100]).toBe('p100: 50%');
    expect(outs[150]).toBe('p150: 75%!');
    expect(outs[1]).toBe('p1: 0.5%');
  });
});

// ---------------------------------------------------------------------------------------------
// Cross-check against the real promtool
// ---------------------------------------------------------------------------------------------

interface AlertSpec {
  alert: string;
  metric: string;
  labels: Record<string, string>;
  value: string; // promtool series notation; also parsed by JS Number (same double)
  ruleLabels: Record<string, string>;
  annotations: string[];
}

const HELPER_SERIES: Array<[string, Record<string, string>, number]> = [
  ['up', { instance: 'b:9100', job: 'node' }, 1],
  ['up', { instance: 'a:9100', job: 'node' }, 0],
  ['node_load1', { instance: 'a:9100', job: 'node' }, 3.14159],
];

/** What Prometheus' query would return in the promtool test below (instant selectors only). */
const crossCheckQuery: TemplateQuery = async (expr) => {
  const m = /^(\w+)(?:\{instance="([^"]*)"\})?$/.exec(expr);
  if (m === null) throw new Error(`unsupported query ${expr}`);
  return HELPER_SERIES.filter(([name, l]) => name === m[1] && (m[2] === undefined || l.instance === m[2])).map(([name, l, v]) =>
    sample({ __name__: name, ...l }, v),
  );
};

const CROSS_CHECK: AlertSpec[] = [
  {
    alert: 'HighCPU',
    metric: 'cpu_usage_ratio',
    labels: { instance: 'web-1.example.com:9100', job: 'node', pod: 'api-7d9f', env: 'prod' },
    value: '0.8751234',
    ruleLabels: {
      severity: '{{ if gt $value 0.9 }}critical{{ else if gt $value 0.8 }}warning{{ else }}info{{ end }}',
      host: '{{ $labels.instance | stripPort }}',
    },
    annotations: [
      '{{ $value }}',
      '{{ $value | humanizePercentage }}',
      '{{ humanize $value }} / {{ printf "%.2f" $value }} / {{ printf "%5.1f%%" 12.3456 }} / {{ printf "%5.1f" "str" }}',
      'CPU on {{ $labels.instance }} ({{ $labels.pod | toUpper }}) is {{ printf "%.1f" (printf "%f" $value | humanize) }}',
      '{{ range $k, $v := $labels }}{{ $k }}={{ $v }},{{ end }}',
      '{{ if eq $labels.env "prod" }}PRODUCTION{{ else }}non-prod{{ end }} {{ if and (gt $value 0.5) (ne $labels.job "x") }}both{{ end }}',
      '{{ reReplaceAll "^([^.]+)\\\\..*$" "$1" $labels.instance }} {{ $labels.instance | stripDomain }} {{ title "cpu saturation on node" }}',
      '{{ with query "node_load1" }}load={{ . | first | value | printf "%.3f" }} on {{ . | first | label "instance" }}{{ end }}',
      '{{ range query "up" | sortByLabel "instance" }}{{ .Labels.instance }}:{{ .Value }} {{ end }}',
      '{{ with query "absent_metric" }}found{{ else }}no data{{ end }}',
      '{{ $q := query (printf "node_load1{instance=%q}" "a:9100") }}{{ len $q }} {{ ($q | first).Labels.job }}',
      '{{ $externalLabels.cluster }} {{ $externalURL }} {{ .ExternalLabels }}',
      '{{ . }}',
      '{{ gt $value 1 }}',
      '{{ humanize "one" }}',
      '{{ .Labels.missing }}|{{ index $labels "missing" }}|{{ .Nope }}',
    ],
  },
  {
    alert: 'BigNumbers',
    metric: 'big_gauge',
    labels: { instance: 'db-2:9187', job: 'postgres' },
    value: '1234567.891',
    ruleLabels: {},
    annotations: [
      '{{ $value }}',
      '{{ humanize $value }} {{ humanize1024 $value }} {{ humanize 1e30 }} {{ humanize 999999.5 }} {{ humanize -1234 }}',
      '{{ humanize1024 1048576.0 }} {{ humanize1024 1023.9 }} {{ humanize1024 123456789 }} {{ humanize1024 9223372036854775807 }}',
      '{{ humanizeDuration $value }} {{ humanizeDuration 3661 }} {{ humanizeDuration 1e20 }} {{ humanizeDuration -90061 }}',
      '{{ humanizeTimestamp $value }} {{ humanizeTimestamp 1600000000.123 }} {{ (toTime 1600000000).Format "2006-01-02T15:04:05Z07:00 Mon Jan _2 3PM" }}',
      '{{ printf "%e|%E|%f|%.3g|%G|%x|%08.2f|%+.2e|%#v" $value $value $value $value $value $value $value $value $value }}',
      '{{ printf "%d %x %X %o %b %c %U %q %5d|%-5d|%05d" 255 255 255 8 5 9731 9731 65 42 42 -42 }}',
      '{{ printf "%s|%q|%x|% X|%8.3s|%-6s|%05s" "hé" "a\\tb" "hé" "hé" "abcdef" "ab" "ab" }}',
      '{{ printf "%s %d %v" 1.5 1.5 nil }} {{ printf "%d %s" }} {{ printf "%d" 1 2 }} {{ printf "%[2]d %[1]d %[3]d" 1 2 }}',
      '{{ printf "%.0f %.0f %.0f %.2f %.1f" 0.5 1.5 2.5 0.125 0.05 }}',
      '{{ print 1 2 "a" "b" 3 nil }} {{ html "<b>&\'" }} {{ js "it\'s <x>" }} {{ urlquery "a b/é" }}',
      '{{ len "héllo" }} {{ index "abc" 1 }} {{ slice "abcdef" 2 4 }} {{ len $labels }}',
    ],
  },
  {
    alert: 'Tiny',
    metric: 'tiny_gauge',
    labels: { instance: '[2001:db8::1]:9100', job: 'sensor' },
    value: '0.000012345',
    ruleLabels: { summary: '{{ $labels.job | title }} {{ $value | humanize }}' },
    annotations: [
      '{{ $value }} {{ humanize $value }} {{ humanizeDuration $value }} {{ humanizePercentage $value }}',
      '{{ $labels.instance | stripPort }} {{ $labels.instance | stripDomain }} {{ "192.0.2.1:80" | stripDomain }} {{ "host.a.b" | stripDomain }}',
      '{{ humanize 0.0012 }} {{ humanize 0.000000001234 }} {{ humanize 1e-30 }} {{ humanize 0 }} {{ humanizeDuration 0.5 }} {{ humanizeDuration 0 }}',
      '{{ toUpper "straße ǆ" }} {{ toLower "ÀÉÎ İ ΣΑΣ" }} {{ title "hello world_foo bar-baz it\'s" }}',
      '{{ reReplaceAll "a*" "-" "baaac" }} {{ reReplaceAll "(?i)(\\\\w+)@(\\\\w+)" "$2 at ${1}x $1x $$" "Foo@Bar" }} {{ reReplaceAll "(?P<h>[^:]+):(?P<p>\\\\d+)" "${p}@${h}" "a.b:90" }}',
      '{{ match "^[a-z]+$" $labels.job }} {{ match "\\\\d" $labels.job }} {{ graphLink "rate(x[5m]) > 1" }} {{ tableLink "up" }}',
      '{{ parseDuration "1h30m" }} {{ parseDuration "1d" }} {{ parseDuration "100ms" }} {{ printf "%.2f" (parseDuration "1h2m10ms") }}',
      "{{ 'a' }} {{ 0x10 }} {{ 1e3 }} {{ -1.5 }} {{ 2.0 }} {{ printf \"%T %T %T\" 1 1.0 $labels }}",
      '{{ range $i, $e := $labels }}{{ if eq $i "job" }}{{ break }}{{ end }}{{ $i }}{{ end }}|{{ range $labels }}{{ if eq . "sensor" }}{{ continue }}{{ end }}{{ . }};{{ end }}',
      '{{ define "t" }}[{{ . }}]{{ end }}{{ template "t" $labels.job }}{{ template "t" }} {{ block "b" . }}{{ .Value }}{{ end }}',
      '{{- /* comment */ -}}  a  {{- 1 -}}  b {{ "c" -}}  \n  d',
      '{{ $x := 1 }}{{ $x = 2 }}{{ $x }}{{ if true }}{{ $x := 3 }}{{ $x }}{{ end }}{{ $x }} {{ and 1 0 }} {{ or 0 "z" }} {{ not "" }}',
      '{{ eq 1 1 2 }} {{ eq "a" "b" "a" }} {{ lt 1 2 }} {{ le "a" "a" }} {{ ge 2.5 3.0 }} {{ eq $value 0.000012345 }}',
      '{{ toUpper 1 }}',
      '{{ reReplaceAll "(" "x" "y" }}',
    ],
  },
  {
    alert: 'NaNValue',
    metric: 'nan_gauge',
    labels: { job: 'weird' },
    value: 'NaN',
    ruleLabels: {},
    annotations: [
      '{{ $value }} {{ humanize $value }} {{ humanize1024 $value }} {{ humanizeDuration $value }} {{ humanizePercentage $value }} {{ humanizeTimestamp $value }}',
      '{{ if $value }}truthy{{ end }} {{ printf "%.2f|%5.1f|%e" $value $value $value }} {{ humanize "+Inf" }} {{ humanize "-Inf" }}',
    ],
  },
];

function yamlString(s: string): string {
  return JSON.stringify(s);
}

async function runPromtool(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(PROMTOOL, args, { cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, output: stdout + stderr });
    });
  });
}

describe.skipIf(!existsSync(PROMTOOL))('cross-check with promtool', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('promtool test rules accepts the annotations and labels this engine renders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trimtab-template-'));
    dirs.push(dir);
    const externalLabels = { cluster: 'eu-1', replica: 'a' };
    const externalURL = 'http://prom.example.com:9090/prom';
    let rules = 'groups:\n- name: cross-check\n  rules:\n';
    let tests =
      'rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n' +
      `  external_labels: {cluster: ${yamlString(externalLabels.cluster)}, replica: ${yamlString(externalLabels.replica)}}\n` +
      `  external_url: ${yamlString(externalURL)}\n  input_series:\n`;
    for (const [name, l, v] of HELPER_SERIES) {
      const sel = Object.entries(l).map(([k, val]) => `${k}=${JSON.stringify(val)}`).join(',');
      tests += `  - series: ${yamlString(`${name}{${sel}}`)}\n    values: ${yamlString(String(v))}\n`;
    }
    let alertTests = '  alert_rule_test:\n';
    let templates = 0;
    for (const spec of CROSS_CHECK) {
      const sel = Object.entries(spec.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',');
      tests += `  - series: ${yamlString(`${spec.metric}{${sel}}`)}\n    values: ${yamlString(spec.value)}\n`;
      const tdata: TemplateData = {
        labels: { __name__: spec.metric, ...spec.labels },
        value: Number(spec.value),
        externalLabels,
        externalURL,
      };
      rules += `  - alert: ${spec.alert}\n    expr: ${spec.metric}\n`;
      const expLabels: Record<string, string> = { ...spec.labels };
      if (Object.keys(spec.ruleLabels).length > 0) {
        rules += '    labels:\n';
        for (const [k, tmpl] of Object.entries(spec.ruleLabels)) {
          rules += `      ${k}: ${yamlString(tmpl)}\n`;
          expLabels[k] = await expandTemplate(`__alert_${spec.alert}`, tmpl, tdata, { query: crossCheckQuery });
          templates++;
        }
      }
      rules += '    annotations:\n';
      alertTests += `  - eval_time: 0\n    alertname: ${spec.alert}\n    exp_alerts:\n    - exp_labels:\n`;
      for (const [k, v] of Object.entries(expLabels)) alertTests += `        ${k}: ${yamlString(v)}\n`;
      alertTests += '      exp_annotations:\n';
      for (let i = 0; i < spec.annotations.length; i++) {
        rules += `      a${i}: ${yamlString(spec.annotations[i])}\n`;
        const got = await expandTemplate(`__alert_${spec.alert}`, spec.annotations[i], tdata, { query: crossCheckQuery });
        alertTests += `        a${i}: ${yamlString(got)}\n`;
        templates++;
      }
    }
    writeFileSync(join(dir, 'rules.yml'), rules);
    writeFileSync(join(dir, 'test.yml'), tests + alertTests);
    expect(templates).toBeGreaterThanOrEqual(25);
    const { code, output } = await runPromtool(['test', 'rules', 'test.yml'], dir);
    expect(output).toContain('SUCCESS');
    expect(code, output).toBe(0);
  });

  it('promtool check rules reports the same parse errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trimtab-template-'));
    dirs.push(dir);
    const bad = [
      '{{ foo }}',
      '{{ if }}x{{ end }}',
      '{{ $labels.instance } }}',
      '{{ end }}',
      '{{ $nope }}',
      '{{ 1) }}',
      '{{ "x".y }}',
      '{{ range $labels }}',
      '{{/* c */ x }}',
      '{{ 99999999999999999999 }}',
    ];
    let rules = 'groups:\n- name: bad\n  rules:\n';
    const expected: string[] = [];
    bad.forEach((text, i) => {
      rules += `  - alert: Bad${i}\n    expr: up\n    annotations:\n      a: ${yamlString(text)}\n`;
      let msg = '';
      try {
        compileTemplate(`__alert_Bad${i}`, text);
      } catch (e) {
        msg = (e as TemplateError).message;
      }
      expect(msg).not.toBe('');
      expected.push(`rule ${i + 1}, "Bad${i}": annotation "a": ${msg}`);
    });
    writeFileSync(join(dir, 'rules.yml'), rules);
    const { code, output } = await runPromtool(['check', 'rules', 'rules.yml'], dir);
    expect(code).not.toBe(0);
    for (const line of expected) expect(output).toContain(line);
  });
});
