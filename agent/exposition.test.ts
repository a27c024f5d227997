import { describe, expect, it } from 'vitest';
import { ExpositionError, ExpositionParser, familyOf, formatForContentType, parseExposition, parseSeries, parseValue } from './exposition.ts';

const TEXT = `# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
# TYPE nan_gauge gauge
nan_gauge NaN
neg_inf -Inf
untyped_thing{a="",b="x"} 1
`;

describe('text exposition 0.0.4', () => {
  it('parses the example from the Prometheus documentation exactly', () => {
    const { samples, families } = parseExposition(TEXT);
    const byLine = samples.map((s) => [s.name, Object.fromEntries(s.labels.map((l) => [l.name, l.value])), s.value, s.timestampMs]);
    expect(byLine).toEqual([
      ['http_requests_total', { method: 'post', code: '200' }, 1027, 1395066363000],
      ['http_requests_total', { method: 'post', code: '400' }, 3, 1395066363000],
      ['msdos_file_access_time_seconds', { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' }, 1.458255915e9, null],
      ['metric_without_timestamp_and_labels', {}, 12.47, null],
      ['something_weird', { problem: 'division by zero' }, Infinity, -3982045],
      ['http_request_duration_seconds_bucket', { le: '0.05' }, 24054, null],
      ['http_request_duration_seconds_bucket', { le: '0.1' }, 33444, null],
      ['http_request_duration_seconds_bucket', { le: '+Inf' }, 144320, null],
      ['http_request_duration_seconds_sum', {}, 53423, null],
      ['http_request_duration_seconds_count', {}, 144320, null],
      ['rpc_duration_seconds', { quantile: '0.01' }, 3102, null],
      ['rpc_duration_seconds', { quantile: '0.99' }, 76656, null],
      ['rpc_duration_seconds_sum', {}, 1.7560473e7, null],
      ['rpc_duration_seconds_count', {}, 2693, null],
      ['nan_gauge', {}, NaN, null],
      ['neg_inf', {}, -Infinity, null],
      // An empty label value means the label is absent.
      ['untyped_thing', { b: 'x' }, 1, null],
    ]);
    expect(families.get('http_requests_total')).toEqual({ name: 'http_requests_total', type: 'counter', help: 'The total number of HTTP requests.', unit: '' });
    expect(families.get('http_request_duration_seconds')?.type).toBe('histogram');
    expect(families.get('rpc_duration_seconds')?.type).toBe('summary');
    expect(familyOf('http_request_duration_seconds_bucket', families)?.name).toBe('http_request_duration_seconds');
    expect(familyOf('rpc_duration_seconds_count', families)?.name).toBe('rpc_duration_seconds');
    expect(familyOf('rpc_duration_seconds', families)?.name).toBe('rpc_duration_seconds');
    expect(familyOf('http_requests_total', families)?.type).toBe('counter');
    expect(familyOf('neg_inf', families)).toBeUndefined();
  });

  it('gives the same result whatever the chunk boundaries, including inside UTF-8 characters', () => {
    const text = '# HELP x_total Zähler für “Dinge”\\nzweite Zeile\n# TYPE x_total counter\nx_total{name="grüße 👋"} 1\nx_total{name="b"} 2 1700000000000\n';
    const whole = parseExposition(text);
    expect(whole.families.get('x_total')?.help).toBe('Zähler für “Dinge”\nzweite Zeile');
    const bytes = Buffer.from(text);
    for (let split = 1; split < bytes.length; split++) {
      const got: unknown[] = [];
      const p = new ExpositionParser('text', () => true, (name, series, value, ts) => got.push([name, parseSeries(series), value, ts]));
      p.write(bytes.subarray(0, split));
      p.write(bytes.subarray(split));
      p.end();
      expect(got).toEqual(whole.samples.map((s) => [s.name, { name: s.name, labels: s.labels }, s.value, s.timestampMs]));
      expect(p.families.get('x_total')?.help).toBe(whole.families.get('x_total')?.help);
    }
  });

  it('skips lines whose name keep() refuses without parsing them, so even malformed ones pass', () => {
    const seen: string[] = [];
    const p = new ExpositionParser('text', (n) => n.startsWith('keep_'), (name, series) => seen.push(series));
    p.write('drop_me{this is not valid at all\nkeep_a{x="1"} 1\ndrop_me 1 2 3 4\nkeep_b 2\n');
    p.end();
    expect(seen).toEqual(['keep_a{x="1"}', 'keep_b']);
    expect(p.samplesSeen).toBe(4);
    expect(p.samplesKept).toBe(2);
  });

  it('gives the same samples, counts, metadata and errors from bytes in any chunks as from text, with a keep-list', () => {
    const keepName = (n: string) => n.startsWith('keep_') || n === 'grüße';
    const docs = [
      '# TYPE keep_a gauge\n# HELP drop_x Ünïcode\ndrop_x{a="1"} 5\nkeep_a{x="ä"} 1\r\ndrop_x 1 2 3 4\n  keep_b 2\n{"grüße"} 3\nkeep_a{x="b"} 4 1700000000000\ndrop_y',
      'keep_a{x="1"} 1\nkeep_a{x=} 2\ndrop_z 1\n',
      'drop_z 1\n# EOF\nkeep_a 1\n',
      'keep_a 1\nkeep_a 2',
    ];
    const run = (format: 'text' | 'openmetrics', feed: (p: ExpositionParser) => void) => {
      const got: unknown[] = [];
      const p = new ExpositionParser(format, keepName, (name, series, value, ts) => got.push([name, series, value, ts]));
      let error = '';
      try {
        feed(p);
        p.end();
      } catch (e) {
        error = (e as Error).message;
      }
      return { got, error, lines: p.lineNo, seen: p.samplesSeen, kept: p.samplesKept, families: [...p.families] };
    };
    for (const format of ['text', 'openmetrics'] as const) {
      for (const doc of docs) {
        const expected = run(format, (p) => p.write(doc));
        const bytes = Buffer.from(doc);
        for (let a = 0; a <= bytes.length; a++) {
          for (const b of [a, Math.min(bytes.length, a + 1), Math.min(bytes.length, a + 7)]) {
            const got = run(format, (p) => {
              p.write(bytes.subarray(0, a));
              p.write(bytes.subarray(a, b));
              p.write(bytes.subarray(b));
            });
            expect(got, `${format} ${JSON.stringify(doc)} split at ${a}/${b}`).toEqual(expected);
          }
        }
      }
    }
    // A string written after bytes continues the same line.
    const mixed = run('text', (p) => {
      p.write(Buffer.from('keep_a{x="gr'));
      p.write('üße"} 1\nkeep_b 2\n');
    });
    expect(mixed.got).toEqual([['keep_a', 'keep_a{x="grüße"}', 1, null], ['keep_b', 'keep_b', 2, null]]);
  });

  it('keeps the raw series text stable as a cache key and tolerates CRLF, tabs and a trailing comma', () => {
    const { samples } = parseExposition('a{x="1",} 1\r\n  a\t{x="2"}\t2\t\r\n');
    expect(samples.map((s) => [s.labels, s.value])).toEqual([
      [[{ name: 'x', value: '1' }], 1],
      [[{ name: 'x', value: '2' }], 2],
    ]);
  });

  it('reads quoted UTF-8 metric and label names (Prometheus 3)', () => {
    const { samples } = parseExposition('{"my.metric", "label.with.dots"="v", plain="p"} 3\n# TYPE "other.metric" gauge\n{"other.metric"} 4\n');
    expect(samples).toEqual([
      { name: 'my.metric', labels: [{ name: 'label.with.dots', value: 'v' }, { name: 'plain', value: 'p' }], value: 3, timestampMs: null },
      { name: 'other.metric', labels: [], value: 4, timestampMs: null },
    ]);
  });

  it('keeps unknown escapes as written, as Prometheus does', () => {
    const { samples } = parseExposition('a{x="tab\\there",y="\\\\"} 1\n');
    expect(samples[0].labels).toEqual([
      { name: 'x', value: 'tab\\there' },
      { name: 'y', value: '\\' },
    ]);
  });

  it.each([
    ['a{x="1"', "unclosed '{'"],
    ['a{x="1"} ', 'missing value'],
    ['a{x=1} 1', 'no quoted value'],
    ['a{x="1",x="2"} 1', 'repeated'],
    ['a 1 2.5', 'invalid timestamp'],
    ['a one', 'invalid value'],
    ['a 1 2 3', 'unexpected text'],
    ['1a 1', 'unexpected character'],
    ['# TYPE a fancy', 'invalid metric type'],
    ['a{__name__="b"} 1', '__name__'],
    ['a{x="1"}1', 'expected a value'],
    ['a{x="unterminated} 1', "unclosed '{'"],
  ])('rejects %j (%s) with the line number', (line, why) => {
    expect(() => parseExposition(`ok 1\n${line}\n`)).toThrowError(ExpositionError);
    expect(() => parseExposition(`ok 1\n${line}\n`)).toThrowError(/line 2/);
    try {
      parseExposition(`ok 1\n${line}\n`);
    } catch (e) {
      expect((e as Error).message).toContain(why);
    }
  });

  it('parses values as Go ParseFloat does for the forms exporters write', () => {
    expect(parseValue('1')).toBe(1);
    expect(parseValue('-0.5e-3')).toBe(-0.0005);
    expect(parseValue('.5')).toBe(0.5);
    expect(parseValue('5.')).toBe(5);
    expect(parseValue('+Inf')).toBe(Infinity);
    expect(parseValue('inf')).toBe(Infinity);
    expect(parseValue('-Inf')).toBe(-Infinity);
    expect(parseValue('Infinity')).toBe(Infinity);
    expect(parseValue('NaN')).toBeNaN();
    expect(parseValue('nan')).toBeNaN();
    expect(parseValue('1e400')).toBe(Infinity);
    expect(parseValue('')).toBeUndefined();
    expect(parseValue('1_000')).toBeUndefined();
    expect(parseValue('0x')).toBeUndefined();
    expect(parseValue('e5')).toBeUndefined();
    expect(parseValue('--1')).toBeUndefined();
  });
});

const OM = `# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
# TYPE go_goroutines gauge
# HELP go_goroutines Number of goroutines that currently exist.
go_goroutines 69
# TYPE foo counter
# HELP foo A counter with an exemplar and a \\"quoted\\" help.
foo_total{a="b"} 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
foo_created{a="b"} 1520872607.123
# TYPE hist histogram
hist_bucket{le="0.1"} 8 # {trace_id="x"} 0.054 1520879607.7
hist_bucket{le="+Inf"} 10
hist_count 10
hist_sum 1.5
# TYPE st stateset
st{st="a"} 1
st{st="b"} 0
# TYPE build info
build_info{version="1.0"} 1
# TYPE weird unknown
weird NaN
# EOF
`;

describe('OpenMetrics 1.0', () => {
  it('parses types, units, HELP escapes, float-second timestamps and skips exemplars', () => {
    const { samples, families } = parseExposition(OM, 'openmetrics');
    const rows = samples.map((s) => [s.name, s.value, s.timestampMs]);
    expect(rows).toEqual([
      ['acme_http_router_request_seconds_sum', 9036.32, null],
      ['acme_http_router_request_seconds_count', 807283, null],
      ['acme_http_router_request_seconds_created', 1605281325, null],
      ['go_goroutines', 69, null],
      ['foo_total', 17, 1520879607789],
      ['foo_created', 1520872607.123, null],
      ['hist_bucket', 8, null],
      ['hist_bucket', 10, null],
      ['hist_count', 10, null],
      ['hist_sum', 1.5, null],
      ['st', 1, null],
      ['st', 0, null],
      ['build_info', 1, null],
      ['weird', NaN, null],
    ]);
    expect(families.get('acme_http_router_request_seconds')).toEqual({
      name: 'acme_http_router_request_seconds',
      type: 'summary',
      unit: 'seconds',
      help: "Latency though all of ACME's HTTP request router.",
    });
    expect(families.get('foo')?.help).toBe('A counter with an exemplar and a "quoted" help.');
    expect(familyOf('foo_total', families)?.name).toBe('foo');
    expect(familyOf('foo_created', families)?.name).toBe('foo');
    expect(familyOf('build_info', families)?.type).toBe('info');
    expect(familyOf('hist_bucket', families)?.type).toBe('histogram');
  });

  it('requires # EOF and nothing after it', () => {
    expect(() => parseExposition('a 1\n', 'openmetrics')).toThrowError(/does not end with # EOF/);
    expect(() => parseExposition('a 1\n# EOF\nb 2\n', 'openmetrics')).toThrowError(/after # EOF/);
    expect(() => parseExposition('a 1 # {x="1"} nope\n# EOF\n', 'openmetrics')).toThrowError(/exemplar/);
    expect(() => parseExposition('a 1 # x\n', 'text')).toThrowError(/unexpected text/);
  });

  it('is chosen by Content-Type', () => {
    expect(formatForContentType('application/openmetrics-text; version=1.0.0; charset=utf-8')).toBe('openmetrics');
    expect(formatForContentType('text/plain; version=0.0.4; charset=utf-8')).toBe('text');
    expect(formatForContentType(undefined)).toBe('text');
  });
});
