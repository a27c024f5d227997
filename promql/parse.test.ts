import { describe, expect, it } from 'vitest';
import type { BinaryExpr, Expr } from './ast.ts';
import { ParseError } from './errors.ts';
import { parse } from './parse.ts';

/** A compact rendering of the AST that shows structure (and so precedence). */
function show(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral':
      return String(e.value);
    case 'StringLiteral':
      return JSON.stringify(e.value);
    case 'VectorSelector': {
      let s = e.name || '{…}';
      if (e.offset) s += ` offset ${e.offset}ms`;
      if (e.at) s += ` @ ${e.at.type === 'timestamp' ? e.at.ms : e.at.type + '()'}`;
      return s;
    }
    case 'MatrixSelector':
      return `${show(e.vectorSelector)}[${e.range}ms]`;
    case 'SubqueryExpr':
      return `${show(e.expr)}[${e.range}ms:${e.step}ms]${e.offset ? ` offset ${e.offset}ms` : ''}`;
    case 'ParenExpr':
      return `(${show(e.expr)})`;
    case 'UnaryExpr':
      return `${e.op}{${show(e.expr)}}`;
    case 'BinaryExpr':
      return `[${show(e.lhs)} ${e.op}${e.bool ? ' bool' : ''} ${show(e.rhs)}]`;
    case 'AggregateExpr':
      return `${e.op}${e.grouping.length || e.without ? ` ${e.without ? 'without' : 'by'}(${e.grouping.join(',')})` : ''}(${e.param ? show(e.param) + ', ' : ''}${show(e.expr)})`;
    case 'Call':
      return `${e.func.name}(${e.args.map(show).join(', ')})`;
  }
}

describe('parse: precedence and associativity', () => {
  const cases: Array<[string, string]> = [
    ['1 + 2 * 3', '[1 + [2 * 3]]'],
    ['1 * 2 + 3', '[[1 * 2] + 3]'],
    ['2 ^ 3 ^ 2', '[2 ^ [3 ^ 2]]'],
    ['-2 ^ 2', '-{[2 ^ 2]}'],
    ['- 2 ^ 2', '-{[2 ^ 2]}'],
    ['2 ^ -2', '[2 ^ -2]'],
    ['-a ^ 2', '-{[a ^ 2]}'],
    ['1 - -1', '[1 - -1]'],
    ['a - b - c', '[[a - b] - c]'],
    ['a / b * c % d', '[[[a / b] * c] % d]'],
    ['a + b > c * d', '[[a + b] > [c * d]]'],
    ['a == b != c', '[[a == b] != c]'],
    ['a and b or c unless d', '[[a and b] or [c unless d]]'],
    ['a unless b and c', '[[a unless b] and c]'],
    ['a or b and c', '[a or [b and c]]'],
    ['a atan2 b + c', '[[a atan2 b] + c]'],
    ['(1 + 2) * 3', '[([1 + 2]) * 3]'],
    ['sum(a) by (x) / on(x) group_left b', '[sum by(x)(a) / b]'],
  ];
  for (const [q, want] of cases) {
    it(q, () => expect(show(parse(q))).toBe(want));
  }

  it('records modifiers of binary operators', () => {
    const e = parse('a > bool on(x, y) group_left(z) b') as BinaryExpr;
    expect(e.bool).toBe(true);
    expect(e.vectorMatching).toEqual({ card: 'many-to-one', on: true, matchingLabels: ['x', 'y'], include: ['z'] });
    const s = parse('a and ignoring(q) b') as BinaryExpr;
    expect(s.vectorMatching).toEqual({ card: 'many-to-many', on: false, matchingLabels: ['q'], include: [] });
    expect((parse('1 + 2') as BinaryExpr).vectorMatching).toBeNull();
    expect((parse('a * on() group_right b') as BinaryExpr).vectorMatching!.card).toBe('one-to-many');
  });
});

describe('parse: selectors, modifiers, literals', () => {
  it('builds matchers, adding the metric name last', () => {
    const e = parse('http_requests_total{job="api", code=~"5..", method!="GET", path!~"/x.*"}');
    expect(e).toMatchObject({
      type: 'VectorSelector',
      name: 'http_requests_total',
      matchers: [
        { type: '=', name: 'job', value: 'api' },
        { type: '=~', name: 'code', value: '5..' },
        { type: '!=', name: 'method', value: 'GET' },
        { type: '!~', name: 'path', value: '/x.*' },
        { type: '=', name: '__name__', value: 'http_requests_total' },
      ],
    });
    expect(parse('{"quoted.name", "label.x"="v"}')).toMatchObject({
      matchers: [
        { type: '=', name: '__name__', value: 'quoted.name' },
        { type: '=', name: 'label.x', value: 'v' },
      ],
    });
    expect(parse('a:b:c')).toMatchObject({ name: 'a:b:c' });
    expect(parse('sum')).toMatchObject({ type: 'VectorSelector', name: 'sum' });
  });

  it('parses durations, offsets and @', () => {
    expect(show(parse('x[5m]'))).toBe('x[300000ms]');
    expect(show(parse('x[1h30m]'))).toBe('x[5400000ms]');
    expect(show(parse('x[1d]'))).toBe('x[86400000ms]');
    expect(show(parse('x[1w]'))).toBe('x[604800000ms]');
    expect(show(parse('x[1y]'))).toBe('x[31536000000ms]');
    expect(show(parse('x[250ms]'))).toBe('x[250ms]');
    expect(show(parse('x[90]'))).toBe('x[90000ms]');
    expect(show(parse('x[5m] offset 1m'))).toBe('x offset 60000ms[300000ms]');
    expect(show(parse('x offset -1m'))).toBe('x offset -60000ms');
    expect(show(parse('x @ 1609746000'))).toBe('x @ 1609746000000');
    expect(show(parse('x @ 1609746000.1234'))).toBe('x @ 1609746000123');
    expect(show(parse('x @ -10'))).toBe('x @ -10000');
    expect(show(parse('x @ start()'))).toBe('x @ start()');
    expect(show(parse('x[5m] @ end() offset 10s'))).toBe('x offset 10000ms @ end()[300000ms]');
    expect(show(parse('x offset 10s @ 100'))).toBe('x offset 10000ms @ 100000');
    expect(show(parse('rate(x[5m])[30m:1m]'))).toBe('rate(x[300000ms])[1800000ms:60000ms]');
    expect(show(parse('x[30m:] offset 2m'))).toBe('x[1800000ms:0ms] offset 120000ms');
  });

  it('parses numbers like Prometheus (ParseInt base 0, then ParseFloat)', () => {
    const n = (q: string): number => (parse(q) as { value: number }).value;
    expect(n('0x1F')).toBe(31);
    expect(n('010')).toBe(8);
    expect(n('09')).toBe(9);
    expect(n('1e3')).toBe(1000);
    expect(n('.5')).toBe(0.5);
    expect(n('1_000')).toBe(1000);
    expect(n('-1.5')).toBe(-1.5);
    expect(n('+3')).toBe(3);
    expect(n('Inf')).toBe(Infinity);
    expect(n('-inf')).toBe(-Infinity);
    expect(n('NaN')).toBeNaN();
    expect(n('1m')).toBe(60); // Prometheus 3: a duration where a number is expected is seconds
  });

  it('unquotes strings with Go escapes', () => {
    const s = (q: string): string => (parse(q) as { value: string }).value;
    expect(s('"a\\tb\\n\\"c\\"\\\\"')).toBe('a\tb\n"c"\\');
    expect(s("'it\\'s'")).toBe("it's");
    expect(s('"\\x41\\u00e9\\101\\U0001F600"')).toBe('AéA😀');
    expect(s('"\\xc3\\xa9"')).toBe('é');
    expect(s('`raw\\n`')).toBe('raw\\n');
  });

  it('parses aggregations with the modifier before or after', () => {
    expect(show(parse('sum by (a, b) (x)'))).toBe('sum by(a,b)(x)');
    expect(show(parse('sum(x) without (a,)'))).toBe('sum without(a)(x)');
    expect(show(parse('topk(3, x)'))).toBe('topk(3, x)');
    expect(show(parse('count_values("v", x)'))).toBe('count_values("v", x)');
    expect(show(parse('SUM BY (a) (x)'))).toBe('sum by(a)(x)');
  });

  it('skips comments', () => {
    expect(show(parse('a # first\n+ b # second'))).toBe('[a + b]');
  });
});

describe('parse: errors with positions (messages as Prometheus 2.42 prints them)', () => {
  // Each expectation was taken from a real Prometheus 2.42 (/api/v1/query) for the same input.
  const cases: Array<[string, string]> = [
    ['foo +', '1:6: parse error: unexpected end of input'],
    ['1 + * 2', '1:5: parse error: unexpected <op:*>'],
    ['sum(foo) by (a) by (b)', '1:17: parse error: unexpected <by>'],
    ['1.5.5', '1:4: parse error: unexpected number ".5"'],
    ['rate(foo[5m', '1:12: parse error: unclosed left parenthesis'],
    ['((1)', '1:5: parse error: unclosed left parenthesis'],
    ['1 + 2)', "1:7: parse error: unexpected right parenthesis ')'"],
    ['foo]', "1:4: parse error: unexpected right bracket ']'"],
    ['foo}', "1:4: parse error: unexpected character: '}'"],
    ['foo $', "1:5: parse error: unexpected character: '$'"],
    ['foo !x', "1:5: parse error: unexpected character after '!': 'x'"],
    ['foo{a!}', "1:6: parse error: unexpected character after '!' inside braces: '}'"],
    ['{', '1:2: parse error: unexpected end of input inside braces'],
    ['foo{a="b"', '1:10: parse error: unexpected end of input inside braces'],
    ['foo[5m', '1:7: parse error: unclosed left bracket'],
    ['"abc', '1:1: parse error: unterminated quoted string'],
    ['"a\\q"', "1:1: parse error: unknown escape sequence U+0071 'q'"],
    ['5mm', '1:1: parse error: bad number or duration syntax: "5mm"'],
    ['0x', '1:1: parse error: error parsing number: strconv.ParseFloat: parsing "0x": invalid syntax'],
    ['1e', '1:1: parse error: error parsing number: strconv.ParseFloat: parsing "1e": invalid syntax'],
    ['nosuch(foo)', '1:1: parse error: unknown function with name "nosuch"'],
    ['holt_winters(foo[5m], 0.5, 0.5)', '1:1: parse error: unknown function with name "holt_winters"'],
    ['rate(foo)', '1:6: parse error: expected type range vector in call to function "rate", got instant vector'],
    ['abs(1)', '1:5: parse error: expected type instant vector in call to function "abs", got scalar'],
    ['sum(foo[5m])', '1:5: parse error: expected type instant vector in aggregation expression, got range vector'],
    ['count_values(1, foo)', '1:14: parse error: expected type string in aggregation parameter, got scalar'],
    ['quantile("a", foo)', '1:10: parse error: expected type scalar in aggregation parameter, got string'],
    ['label_replace(foo, "a")', '1:1: parse error: expected 5 argument(s) in call to "label_replace", got 2'],
    ['sum()', '1:1: parse error: no arguments for aggregate expression provided'],
    ['topk(foo)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1'],
    ['{a=""}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"'],
    ['1 > 2', '1:3: parse error: comparisons between scalars must use BOOL modifier'],
    ['1 + bool 2', '1:3: parse error: bool modifier can only be used on comparison operators'],
    ['1 and 2', '1:1: parse error: set operator "and" not allowed in binary scalar expression'],
    ['foo and on(a) group_left bar', '1:1: parse error: no grouping allowed for "and" operation'],
    ['foo + on(a) group_left(a) bar', '1:5: parse error: label "a" must not occur in ON and GROUP clause at once'],
    ['-"a"', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"'],
    ['(foo)[5m]', '1:6: parse error: ranges only allowed for vector selectors'],
    ['foo[5m][5m]', '1:8: parse error: ranges only allowed for vector selectors'],
    ['foo offset 1m [5m]', '1:15: parse error: no offset modifiers allowed before range'],
    ['foo offset 1m offset 2m', '1:1: parse error: offset may not be set multiple times'],
    ['foo @ 10 @ 20', '1:1: parse error: @ <timestamp> may not be set multiple times'],
    ['foo @ 1e20', '1:1: parse error: timestamp out of bounds for @ modifier: 100000000000000000000.000000'],
    ['foo[0s]', '1:5: parse error: duration must be greater than 0'],
    ['foo[5m:0s]', '1:8: parse error: duration must be greater than 0'],
  ];
  for (const [q, want] of cases) {
    it(JSON.stringify(q), () => {
      expect(() => parse(q)).toThrow(want);
      try {
        parse(q);
      } catch (err) {
        expect(err).toBeInstanceOf(ParseError);
        expect((err as ParseError).errorType).toBe('bad_data');
        expect((err as ParseError).code).toBe('promql_parse');
      }
    });
  }

  it('reports positions on later lines, counting columns in UTF-8 bytes', () => {
    expect(() => parse('sum(\n  rate(x[5m])\n) +')).toThrow('3:4: parse error: unexpected end of input');
    expect(() => parse('{a="é"} $')).toThrow("1:10: parse error: unexpected character: '$'");
  });

  it('rejects invalid regular expressions at the matcher', () => {
    expect(() => parse('x{a=~"("}')).toThrow(/^1:3: parse error: error parsing regexp: .*`\^\(\?:\(\)\$`$/);
  });

  it('names what Prometheus 3 keeps behind feature flags', () => {
    expect(() => parse('mad_over_time(x[5m])')).toThrow('function "mad_over_time" is not enabled');
    expect(() => parse('sort_by_label(x, "a")')).toThrow('function "sort_by_label" is not enabled');
    expect(() => parse('limitk(1, x)')).toThrow('limitk() is experimental');
    expect(() => parse('x[5m+1m]')).toThrow('experimental duration expression is not enabled');
    expect(() => parse('rate(x[5m] anchored)')).toThrow('anchored modifier is experimental and not enabled');
  });
});
