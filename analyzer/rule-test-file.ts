// The pure half of `trimtab rules test`: reading a `promtool test rules` file exactly as promtool 2.42 does
// (cmd/promtool/unittest.go), into a form the runner (rule-test.ts) evaluates.
//
// Sources of truth, all Prometheus 2.42 (and checked against Debian's promtool 2.42 binary):
// - The file is decoded with gopkg.in/yaml.v2's UnmarshalStrict: unknown fields and duplicate keys are
//   errors, scalars keep their source text when the target is a string (`values: 0x10` is the text
//   "0x10"), `value:` floats follow yaml.v2's resolver (`017` is octal, `1_000` is 1000, quoted "1" is an
//   error, `.inf` is +Inf), durations are model.Duration (ParseDuration), null means "zero value",
//   `<<` merge keys work. Only the first YAML document is read.
// - Defaults: evaluation_interval 0 (or absent) means 1m. A test group's `interval` has NO default in 2.42:
//   absent means 0, and promtool then loads every point of a series at t=0, where the first one wins.
//   eval_time absent means 0s (not an error).
// - input_series are turned into promql/test.go's `load` command text ("  <series> <values>" per line),
//   which LazyLoader.parse splits on "\n", trims (strings.TrimSpace), blanks "#…" lines, and reads
//   until the first empty line: anything after an empty line is silently ignored, and a newline inside
//   a series or values string starts another series description.
// - Each line is parsed by parser.ParseSeriesDesc (promql/parser/lex.go in seriesDesc mode and the
//   series_description rules of generated_parser.y): see parseSeriesLine below for the notation.
// - Labels of a loaded series are what the TSDB head appends: empty values dropped (WithoutEmpty);
//   an empty label set or a repeated label name makes promtool's load fail ("empty labelset: invalid
//   sample", `label name "a" is not unique: invalid sample`), which we report when the series has a sample.
//   A later series with the same labels replaces an earlier one (loadCmd.set keys by label hash);
//   MemoryQueryable.add, called in order, does the same.
// - exp_samples `labels` are parser.ParseMetric: with a metric name the labels go through labels.Builder
//   (empty values dropped, __name__ set); without one they are labels.New(...), which keeps empty values
//   and repeated names — such an expectation can never equal a query result, so promtool fails the test.
//   They are returned as Prometheus builds them (sorted by name); compare them exactly, do not normalize.
// - rule_files: relative to the test file's directory, expanded with Go's filepath.Glob (patterns
//   `*`, `?`, `[…]`, `\`; no `**`); a pattern that matches nothing only warns.
//
// parseRuleTestFile is async (it globs rule_files); expandSeriesValues, parseSeriesDescriptor,
// parseMetricLabels and seriesSamples are pure.

import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode, type Scalar } from 'yaml';
import { compareStrings, goQuote, normalizeLabels } from '../promql/labels.ts';
import { unquoteString } from '../promql/lexer.ts';
import { TrimtabError } from '../protocol/errors.ts';

// ---------------------------------------------------------------------------------------------------
// Public types

/** One point of an input series: a float, Prometheus' stale marker, or null for `_` (no sample). */
export type SeriesPoint = number | 'stale' | null;

export interface LabelPair {
  name: string;
  value: string;
}

export interface InputSeries {
  /** Sorted, empty values dropped, including __name__. */
  labels: LabelPair[];
  /** Point i is at i × interval. */
  points: SeriesPoint[];
  /** Line of the input_series item. */
  line: number;
}

export interface AlertExpectation {
  /** exp_labels, plus `alertname` set to the test's alertname (promtool overwrites it the same way). */
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface AlertRuleTest {
  evalTimeMs: number;
  alertname: string;
  expected: AlertExpectation[];
  line: number;
}

export interface ExprSample {
  /** From the `labels` string as parser.ParseMetric builds them, sorted by name (see the file comment). */
  labels: LabelPair[];
  value: number;
  line: number;
}

export interface ExprTest {
  expr: string;
  evalTimeMs: number;
  expected: ExprSample[];
  line: number;
}

export interface RuleUnitTest {
  name: string;
  /** The group's `interval`; 0 when absent (promtool 2.42 has no default: see seriesSamples). */
  intervalMs: number;
  inputSeries: InputSeries[];
  alertTests: AlertRuleTest[];
  exprTests: ExprTest[];
  externalLabels: Record<string, string>;
  externalURL: string;
  line: number;
}

export interface RuleTestFile {
  file: string;
  /** Absolute paths after glob expansion, in pattern order then name order, without repeats. */
  ruleFiles: string[];
  /** evaluation_interval; 1m when absent or 0. */
  evaluationIntervalMs: number;
  groupEvalOrder: string[];
  tests: RuleUnitTest[];
  /** promtool's stderr warnings, e.g. "no file match pattern x.yml". */
  warnings: string[];
}

export class RuleTestFileError extends TrimtabError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly reason: string;
  /** Message: `file:line: reason` when the file is known, else the reason alone. */
  constructor(reason: string, where: { file?: string; line?: number } = {}, options?: { cause?: unknown }) {
    super('rule_test_file', where.file === undefined ? reason : `${where.file}:${where.line ?? 1}: ${reason}`, options);
    this.file = where.file;
    this.line = where.line;
    this.reason = reason;
  }
}

/** More points than this in one series is refused (promtool would try to allocate them, or loop forever). */
export const MAX_SERIES_POINTS = 10_000_000;

// ---------------------------------------------------------------------------------------------------
// Series descriptions (parser.ParseSeriesDesc, Prometheus 2.42)
//
// Notation of the values, space-separated items:
//   1  -1  +1  1.5  .5  1.  1e3  Inf  -Inf  NaN   a number (Inf/NaN in any case; 010 is octal 8, 08 is 8)
//   stale                                          the stale marker (exactly this word)
//   _                                              no sample
//   _xN                                            N times no sample
//   axN                                            N+1 times a
//   a+bxN  a-bxN                                   N+1 values a, a+b, a+b+b, … (repeated float addition,
//                                                  not a+i·b); with a = stale: stale, then NaN
// N is decimal digits only. There is no hexadecimal (0x5 is "0 x 5": six zeros), no underscore in numbers,
// no `Infx3` (one word: an error; write Inf+0x3), no histogram notation.

/** A syntax error at a position (code units) of the parsed text. */
class SyntaxIssue extends Error {
  readonly pos: number;
  constructor(pos: number, message: string) {
    super(message);
    this.pos = pos;
  }
}

type TokKind =
  | 'EOF'
  | 'SPACE'
  | 'NUMBER'
  | 'IDENTIFIER'
  | 'METRIC_IDENTIFIER'
  | 'KEYWORD'
  | 'ADD'
  | 'SUB'
  | 'TIMES'
  | 'BLANK'
  | 'RIGHT_BRACE'
  | 'COMMA'
  | 'EQL'
  | 'OP'
  | 'STRING';

interface Tok {
  kind: TokKind;
  text: string;
  pos: number;
}

// Prometheus 2.42's keyword table (lex.go `key`), by how Item.String() shows them.
const KEYWORD_STYLE: Record<string, 'op' | 'aggr' | 'kw' | 'plain'> = {
  and: 'op', or: 'op', unless: 'op', atan2: 'op',
  sum: 'aggr', avg: 'aggr', count: 'aggr', min: 'aggr', max: 'aggr', group: 'aggr', stddev: 'aggr', stdvar: 'aggr',
  topk: 'aggr', bottomk: 'aggr', count_values: 'aggr', quantile: 'aggr',
  offset: 'kw', by: 'kw', without: 'kw', on: 'kw', ignoring: 'kw', group_left: 'kw', group_right: 'kw', bool: 'kw',
  start: 'plain', end: 'plain',
};
/** Keywords the grammar's metric_identifier does not list (checked against promtool). */
const NOT_METRIC_NAMES = new Set(['on', 'ignoring', 'group_left', 'group_right', 'bool', 'atan2']);

const SINGLE_CHAR_TOKENS = new Map<string, TokKind>([
  ['+', 'ADD'],
  ['-', 'SUB'],
  ['x', 'TIMES'],
  ['_', 'BLANK'],
]);

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean => c !== undefined && (c === '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined): boolean => isAlpha(c) || isDigit(c);

/** Go's %q of one character. */
function quoteRune(c: string): string {
  if (c === "'") return "'\\''";
  return `'${goQuote(c).slice(1, -1).replace(/\\"/g, '"')}'`;
}

/** Go's %#U of one character: U+0071 'q'. */
function unicodeRune(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

/** Item.desc(): how Prometheus names a token in "unexpected …". */
function describe(t: Tok): string {
  switch (t.kind) {
    case 'EOF':
      return 'end of input';
    case 'NUMBER':
      return `number ${goQuote(t.text)}`;
    case 'IDENTIFIER':
      return `identifier ${goQuote(t.text)}`;
    case 'METRIC_IDENTIFIER':
      return `metric identifier ${goQuote(t.text)}`;
    case 'STRING':
      return `string ${goQuote(t.text)}`;
    case 'KEYWORD': {
      const style = KEYWORD_STYLE[t.text.toLowerCase()];
      return style === 'op' ? `<op:${t.text}>` : style === 'aggr' ? `<aggr:${t.text}>` : style === 'kw' ? `<${t.text}>` : goQuote(t.text);
    }
    case 'ADD':
    case 'SUB':
    case 'OP':
      return `<op:${t.text}>`;
    default:
      return goQuote(t.text);
  }
}

/**
 * The lexer states a series description or metric passes through (lex.go): statements (before the
 * metric), inside braces, and — in series-description mode only — the value sequence.
 */
class Scanner {
  pos = 0;
  readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  ch(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  skipSpaces(): void {
    while (isSpace(this.ch())) this.pos++;
  }

  /** Statement-state whitespace and `#` line comments (ParseMetric only). */
  skipSpacesAndComments(): void {
    for (;;) {
      this.skipSpaces();
      if (this.ch() !== '#') return;
      while (this.ch() !== undefined && this.ch() !== '\n' && this.ch() !== '\r') this.pos++;
    }
  }

  /** lexKeywordOrIdentifier: letters, digits, '_' and ':'. */
  word(): Tok {
    const start = this.pos;
    while (isAlnum(this.ch()) || this.ch() === ':') this.pos++;
    const text = this.src.slice(start, this.pos);
    const lower = text.toLowerCase();
    if (lower === 'inf' || lower === 'nan') return { kind: 'NUMBER', text, pos: start };
    if (Object.hasOwn(KEYWORD_STYLE, lower)) return { kind: 'KEYWORD', text, pos: start };
    return { kind: text.includes(':') ? 'METRIC_IDENTIFIER' : 'IDENTIFIER', text, pos: start };
  }

  /** scanNumber of 2.42 in series-description mode: digits [. digits] [e [+-] digits], then 'x' or a non-word character. */
  number(): Tok {
    const start = this.pos;
    while (isDigit(this.ch())) this.pos++;
    if (this.ch() === '.') {
      this.pos++;
      while (isDigit(this.ch())) this.pos++;
    }
    if (this.ch() === 'e' || this.ch() === 'E') {
      this.pos++;
      if (this.ch() === '+' || this.ch() === '-') this.pos++;
      while (isDigit(this.ch())) this.pos++;
    }
    const text = this.src.slice(start, this.pos);
    if (this.ch() === 'x' || !isAlnum(this.ch())) return { kind: 'NUMBER', text, pos: start };
    throw new SyntaxIssue(start, `bad number syntax: ${goQuote(text)}`);
  }

  /** lexString/lexRawString with lexEscape's checks, then strutil.Unquote. */
  string(): Tok {
    const start = this.pos;
    const quote = this.ch()!;
    this.pos++;
    for (;;) {
      const c = this.ch();
      if (c === undefined || (c === '\n' && quote !== '`')) {
        throw new SyntaxIssue(start, quote === '`' ? 'unterminated raw string' : 'unterminated quoted string');
      }
      this.pos++;
      if (c === quote) break;
      if (c === '\\' && quote !== '`') this.escape(quote);
    }
    const raw = this.src.slice(start, this.pos);
    let value: string;
    try {
      value = unquoteString(raw);
    } catch (error) {
      throw new SyntaxIssue(start, `error unquoting string ${goQuote(raw)}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return { kind: 'STRING', text: value, pos: start };
  }

  private escape(quote: string): void {
    const at = this.pos - 1;
    const c = this.ch();
    if (c === undefined) throw new SyntaxIssue(at, 'escape sequence not terminated');
    let digits: number;
    let base: number;
    let max: number;
    if ('abfnrtv\\'.includes(c) || c === quote) {
      this.pos++;
      return;
    } else if (c >= '0' && c <= '7') {
      [digits, base, max] = [3, 8, 255];
    } else if (c === 'x' || c === 'u' || c === 'U') {
      this.pos++;
      [digits, base, max] = c === 'x' ? [2, 16, 255] : c === 'u' ? [4, 16, 0x10ffff] : [8, 16, 0x10ffff];
    } else {
      throw new SyntaxIssue(at, `unknown escape sequence ${unicodeRune(String.fromCodePoint(this.src.codePointAt(this.pos)!))}`);
    }
    let v = 0;
    for (let i = 0; i < digits; i++) {
      const d = this.ch();
      const n = d === undefined ? NaN : parseInt(d, 16);
      if (!(n < base)) {
        if (d === undefined) throw new SyntaxIssue(at, 'escape sequence not terminated');
        throw new SyntaxIssue(at, `illegal character ${unicodeRune(String.fromCodePoint(this.src.codePointAt(this.pos)!))} in escape sequence`);
      }
      v = v * base + n;
      this.pos++;
    }
    if (v > max || (v >= 0xd800 && v < 0xe000)) throw new SyntaxIssue(at, 'escape sequence is an invalid Unicode code point');
  }

  /** lexInsideBraces. */
  braceToken(): Tok {
    for (;;) {
      this.skipSpaces();
      if (this.ch() !== '#') break;
      while (this.ch() !== undefined && this.ch() !== '\n' && this.ch() !== '\r') this.pos++;
    }
    const start = this.pos;
    const c = this.ch();
    if (c === undefined) throw new SyntaxIssue(start, 'unexpected end of input inside braces');
    if (isAlpha(c)) {
      while (isAlnum(this.ch())) this.pos++;
      return { kind: 'IDENTIFIER', text: this.src.slice(start, this.pos), pos: start };
    }
    if (c === '"' || c === "'" || c === '`') return this.string();
    this.pos++;
    switch (c) {
      case ',':
        return { kind: 'COMMA', text: c, pos: start };
      case '}':
        return { kind: 'RIGHT_BRACE', text: c, pos: start };
      case '=':
        if (this.ch() === '~') {
          this.pos++;
          return { kind: 'OP', text: '=~', pos: start };
        }
        return { kind: 'EQL', text: c, pos: start };
      case '!': {
        const n = this.ch();
        if (n === '=' || n === '~') {
          this.pos++;
          return { kind: 'OP', text: `!${n}`, pos: start };
        }
        throw new SyntaxIssue(start, `unexpected character after '!' inside braces: ${n === undefined ? "'\\x00'" : quoteRune(n)}`);
      }
      case '{':
        throw new SyntaxIssue(start, "unexpected left brace '{'");
      default:
        throw new SyntaxIssue(start, `unexpected character inside braces: ${quoteRune(String.fromCodePoint(this.src.codePointAt(start)!))}`);
    }
  }

  /** lexValueSequence. */
  valueToken(): Tok {
    const start = this.pos;
    const c = this.ch();
    if (c === undefined) return { kind: 'EOF', text: '', pos: start };
    if (isSpace(c)) {
      this.skipSpaces();
      return { kind: 'SPACE', text: c, pos: start };
    }
    const kind = SINGLE_CHAR_TOKENS.get(c);
    if (kind !== undefined) {
      this.pos++;
      return { kind, text: c, pos: start };
    }
    if (isDigit(c) || (c === '.' && isDigit(this.ch(1)))) return this.number();
    if (isAlpha(c)) return this.word();
    throw new SyntaxIssue(start, `unexpected character in series sequence: ${quoteRune(String.fromCodePoint(this.src.codePointAt(start)!))}`);
  }
}

/** The metric part: a name (keywords allowed, except a few), a label set, or both, or nothing. */
interface ParsedMetric {
  name: string | undefined;
  /** Label pairs as written. */
  pairs: LabelPair[];
}

function parseLabelSet(sc: Scanner): LabelPair[] {
  sc.pos++; // '{'
  const pairs: LabelPair[] = [];
  let expectItem = true;
  for (;;) {
    const t = sc.braceToken();
    if (t.kind === 'RIGHT_BRACE') return pairs; // "{}" and a trailing comma are fine
    if (expectItem) {
      if (t.kind !== 'IDENTIFIER') throw new SyntaxIssue(t.pos, `unexpected ${describe(t)} in label set, expected identifier or "}"`);
      const eq = sc.braceToken();
      if (eq.kind !== 'EQL') throw new SyntaxIssue(eq.pos, `unexpected ${describe(eq)} in label set, expected "="`);
      const s = sc.braceToken();
      if (s.kind !== 'STRING') throw new SyntaxIssue(s.pos, `unexpected ${describe(s)} in label set, expected string`);
      pairs.push({ name: t.text, value: s.text });
      expectItem = false;
    } else if (t.kind === 'COMMA') {
      expectItem = true;
    } else {
      throw new SyntaxIssue(t.pos, `unexpected ${describe(t)} in label set, expected "," or "}"`);
    }
  }
}

/** Reads the metric at the start of the text (statement state). */
function parseMetricHead(sc: Scanner, context: string): { metric: ParsedMetric; afterName: boolean } {
  sc.skipSpacesAndComments();
  const c = sc.ch();
  if (c === undefined) return { metric: { name: undefined, pairs: [] }, afterName: false };
  if (c === '{') return { metric: { name: undefined, pairs: parseLabelSet(sc) }, afterName: false };
  if (isAlpha(c) || c === ':') {
    const t = sc.word();
    if (t.kind === 'NUMBER' || (t.kind === 'KEYWORD' && NOT_METRIC_NAMES.has(t.text.toLowerCase()))) {
      throw new SyntaxIssue(t.pos, `unexpected ${describe(t)}${context}`);
    }
    return { metric: { name: t.text, pairs: [] }, afterName: true };
  }
  if (isDigit(c) || (c === '.' && isDigit(sc.ch(1)))) {
    const start = sc.pos;
    let t: Tok;
    try {
      t = sc.number();
    } catch {
      throw new SyntaxIssue(start, `bad number or duration syntax: ${goQuote(sc.src.slice(start, sc.pos))}`);
    }
    throw new SyntaxIssue(start, `unexpected ${describe(t)}${context}`);
  }
  throw new SyntaxIssue(sc.pos, `unexpected character: ${quoteRune(String.fromCodePoint(sc.src.codePointAt(sc.pos)!))}`);
}

const UINT64_MAX = 2n ** 64n - 1n;
const INT64_MAX = 2n ** 63n - 1n;

/** parser.number: strconv.ParseInt(s, 0, 64), else strconv.ParseFloat(s, 64). */
function seriesNumber(t: Tok): number {
  const s = t.text;
  const lower = s.toLowerCase();
  if (lower === 'inf') return Infinity;
  if (lower === 'nan') return NaN;
  if (/^0[0-7]+$/.test(s)) {
    const n = BigInt(`0o${s.slice(1)}`);
    if (n <= INT64_MAX) return Number(n);
  }
  if (!/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(s)) {
    throw new SyntaxIssue(t.pos, `error parsing number: strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax`);
  }
  const v = Number(s);
  if (!Number.isFinite(v)) throw new SyntaxIssue(t.pos, `error parsing number: strconv.ParseFloat: parsing ${goQuote(s)}: value out of range`);
  return v;
}

/** Parses the values after the metric; `afterSpace`: a separating space was already consumed. */
function parseValueSequence(sc: Scanner, afterSpace: boolean): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  let ahead: Tok | null = null;
  const next = (): Tok => {
    if (ahead !== null) {
      const t = ahead;
      ahead = null;
      return t;
    }
    return sc.valueToken();
  };
  const peek = (): Tok => (ahead ??= sc.valueToken());
  const unexpected = (t: Tok, expected = ''): SyntaxIssue => new SyntaxIssue(t.pos, `unexpected ${describe(t)} in series values${expected}`);
  const room = (n: bigint, t: Tok): number => {
    if (BigInt(out.length) + n > BigInt(MAX_SERIES_POINTS)) {
      throw new SyntaxIssue(t.pos, `repetition ${t.text} makes the series longer than ${MAX_SERIES_POINTS} points`);
    }
    return Number(n);
  };
  /** uint: strconv.ParseUint(s, 10, 64). */
  const repetition = (): bigint => {
    const t = next();
    if (t.kind !== 'NUMBER') throw unexpected(t);
    if (!/^[0-9]+$/.test(t.text)) {
      throw new SyntaxIssue(t.pos, `invalid repetition in series values: strconv.ParseUint: parsing ${goQuote(t.text)}: invalid syntax`);
    }
    const n = BigInt(t.text);
    if (n > UINT64_MAX) throw new SyntaxIssue(t.pos, `invalid repetition in series values: strconv.ParseUint: parsing ${goQuote(t.text)}: value out of range`);
    return n;
  };
  const signedNumber = (sign: Tok): number => {
    const t = next();
    if (t.kind !== 'NUMBER') throw unexpected(t);
    const v = seriesNumber(t);
    return sign.kind === 'SUB' ? -v : v;
  };

  let needSpace = !afterSpace;
  for (;;) {
    let t = next();
    if (t.kind === 'EOF') return out;
    if (needSpace) {
      if (t.kind !== 'SPACE') throw unexpected(t);
      t = next();
      if (t.kind === 'EOF') return out;
    }
    needSpace = true;

    if (t.kind === 'BLANK') {
      if (peek().kind === 'TIMES') {
        next();
        const nTok = peek();
        const n = room(repetition(), nTok);
        for (let i = 0; i < n; i++) out.push(null);
      } else {
        room(1n, t);
        out.push(null);
      }
      continue;
    }

    let first: number | 'stale';
    if (t.kind === 'IDENTIFIER') {
      if (t.text !== 'stale') throw unexpected(t, ', expected number or "stale"');
      first = 'stale';
    } else if (t.kind === 'NUMBER') {
      first = seriesNumber(t);
    } else if (t.kind === 'ADD' || t.kind === 'SUB') {
      first = signedNumber(t);
    } else {
      throw unexpected(t);
    }

    const after = peek();
    if (after.kind === 'TIMES') {
      next();
      const nTok = peek();
      const n = room(repetition() + 1n, nTok);
      for (let i = 0; i < n; i++) out.push(first);
    } else if (after.kind === 'ADD' || after.kind === 'SUB') {
      next();
      const step = signedNumber(after);
      const x = next();
      if (x.kind !== 'TIMES') throw unexpected(x);
      const nTok = peek();
      const n = room(repetition() + 1n, nTok);
      // Repeated float addition, as the grammar's action does ($1 += $2); stale + b is a plain NaN.
      let v = first === 'stale' ? NaN : first;
      for (let i = 0; i < n; i++) {
        out.push(i === 0 ? first : v);
        v += step;
      }
    } else {
      room(1n, t);
      out.push(first);
    }
  }
}

interface SeriesLine {
  metric: ParsedMetric;
  points: SeriesPoint[];
}

/** parser.ParseSeriesDesc on one (trimmed) line of the load command. */
function parseSeriesLine(line: string): SeriesLine {
  const sc = new Scanner(line);
  const { metric, afterName } = parseMetricHead(sc, ' in series values');
  if (afterName && sc.ch() === '{') metric.pairs = parseLabelSet(sc);
  const points = parseValueSequence(sc, false);
  return { metric, points };
}

/** The labels the TSDB head stores for a loaded series, or the reason it refuses them. */
function headLabels(metric: ParsedMetric): { labels: LabelPair[]; problem: string | null } {
  // labels.Builder (with a name) or labels.New, then the head's WithoutEmpty and duplicate check.
  let ls = metric.pairs.filter((l) => l.value !== '');
  if (metric.name !== undefined) ls = [...ls.filter((l) => l.name !== '__name__'), { name: '__name__', value: metric.name }];
  const names = new Set<string>();
  for (const l of [...ls].sort((a, b) => compareStrings(a.name, b.name))) {
    if (names.has(l.name)) return { labels: [], problem: `label name ${goQuote(l.name)} is not unique: invalid sample` };
    names.add(l.name);
  }
  if (ls.length === 0) return { labels: [], problem: 'empty labelset: invalid sample' };
  return { labels: normalizeLabels(ls).map((l) => ({ name: l.name, value: l.value })), problem: null };
}

/** 1-based column of a position, in UTF-8 bytes as Prometheus counts. */
function byteColumn(text: string, pos: number): number {
  return Buffer.byteLength(text.slice(0, pos), 'utf8') + 1;
}

function issueMessage(text: string, issue: SyntaxIssue): string {
  return `1:${byteColumn(text, issue.pos)}: parse error: ${issue.message}`;
}

/**
 * Expands a `values` string (what follows the series in promtool's load line). Throws RuleTestFileError
 * naming the bad token, with its column in `text`. A newline is just a space here; in a file, promtool
 * first splits the load command into lines (parseRuleTestFile does the same).
 */
export function expandSeriesValues(text: string): SeriesPoint[] {
  const sc = new Scanner(text);
  sc.skipSpaces(); // merged with the space promtool puts between series and values
  try {
    return parseValueSequence(sc, true);
  } catch (error) {
    if (error instanceof SyntaxIssue) throw new RuleTestFileError(`bad series values ${goQuote(text)}: ${issueMessage(text, error)}`);
    throw error;
  }
}

/**
 * Parses a `series` string like `name{a="b"}` or `{__name__="x", a="b"}` into the labels promtool loads:
 * sorted by name, empty values dropped. Throws RuleTestFileError for a bad descriptor, one followed by
 * values, an empty label set or a repeated label name.
 */
export function parseSeriesDescriptor(text: string): LabelPair[] {
  let parsed: SeriesLine;
  try {
    parsed = parseSeriesLine(text);
  } catch (error) {
    if (error instanceof SyntaxIssue) throw new RuleTestFileError(`bad series ${goQuote(text)}: ${issueMessage(text, error)}`);
    throw error;
  }
  if (parsed.points.length > 0) throw new RuleTestFileError(`bad series ${goQuote(text)}: values follow the series descriptor`);
  const { labels, problem } = headLabels(parsed.metric);
  if (problem !== null) throw new RuleTestFileError(`bad series ${goQuote(text)}: ${problem}`);
  return labels;
}

/**
 * parser.ParseMetric, as promtool applies it to exp_samples `labels`: "" is the empty label set; with a
 * metric name, empty values are dropped; without one, labels are kept as written (sorted by name).
 */
export function parseMetricLabels(text: string): LabelPair[] {
  try {
    const sc = new Scanner(text);
    const { metric, afterName } = parseMetricHead(sc, '');
    if (afterName) {
      sc.skipSpacesAndComments();
      if (sc.ch() === '{') metric.pairs = parseLabelSet(sc);
    }
    sc.skipSpacesAndComments();
    if (sc.ch() !== undefined) {
      const c = sc.ch()!;
      throw new SyntaxIssue(sc.pos, isAlpha(c) || c === ':' ? `unexpected ${describe(sc.word())}` : `unexpected character: ${quoteRune(c)}`);
    }
    let ls: LabelPair[];
    if (metric.name === undefined) ls = metric.pairs.map((l) => ({ ...l }));
    else ls = [...metric.pairs.filter((l) => l.value !== '' && l.name !== '__name__'), { name: '__name__', value: metric.name }];
    return ls.sort((a, b) => compareStrings(a.name, b.name) || compareStrings(a.value, b.value));
  } catch (error) {
    if (error instanceof SyntaxIssue) throw new RuleTestFileError(`labels ${goQuote(text)}: ${issueMessage(text, error)}`);
    throw error;
  }
}

/**
 * The samples the runner loads for an input series (MemoryQueryable.add's input): point i at
 * i × intervalMs, `_` skipped. With interval 0 (no `interval` in the group, promtool 2.42) every point
 * lands on t=0 and only the first sample is kept, as the TSDB head drops the later ones.
 */
export function seriesSamples(s: InputSeries, intervalMs: number): Array<[number, number | 'stale']> {
  const out: Array<[number, number | 'stale']> = [];
  s.points.forEach((p, i) => {
    if (p === null) return;
    const t = i * intervalMs;
    if (out.length > 0 && t <= out[out.length - 1]![0]) return;
    out.push([t, p]);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Durations (prometheus/common model.ParseDuration, as vendored by 2.42)

const durationRe = /^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/;
const durationUnitsMs = [365n * 86_400_000n, 7n * 86_400_000n, 86_400_000n, 3_600_000n, 60_000n, 1000n, 1n];

/** model.ParseDuration, in milliseconds: "0", units y w d h m s ms in that order, at most ~292y. */
export function parseModelDuration(text: string): number {
  if (text === '0') return 0;
  if (text === '') throw new Error('empty duration string');
  const m = durationRe.exec(text);
  if (!m) throw new Error(`not a valid duration string: ${goQuote(text)}`);
  let ms = 0n;
  durationUnitsMs.forEach((unit, i) => {
    if (m[i + 1] !== undefined) ms += BigInt(m[i + 1]!) * unit;
  });
  if (ms * 1_000_000n > INT64_MAX) throw new Error('duration out of range');
  return Number(ms);
}

/** model.Duration.String(). */
export function modelDurationString(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  const units: Array<[string, number, boolean]> = [
    ['y', 365 * 86_400_000, true],
    ['w', 7 * 86_400_000, true],
    ['d', 86_400_000, false],
    ['h', 3_600_000, false],
    ['m', 60_000, false],
    ['s', 1000, false],
    ['ms', 1, false],
  ];
  for (const [unit, mult, exact] of units) {
    if (exact && rest % mult !== 0) continue;
    const v = Math.floor(rest / mult);
    if (v > 0) {
      out += `${v}${unit}`;
      rest -= v * mult;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// yaml.v2 decoding rules

interface Resolved {
  tag: string;
  value?: number;
}

const YAML_NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const YAML_BOOLS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'true', 'True', 'TRUE', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF', 'false', 'False', 'FALSE']);
const YAML_SPECIAL_FLOATS = new Map<string, number>([
  ...['.nan', '.NaN', '.NAN'].map((s) => [s, NaN] as [string, number]),
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s) => [s, Infinity] as [string, number]),
  ...['-.inf', '-.Inf', '-.INF'].map((s) => [s, -Infinity] as [string, number]),
]);
const yamlStyleFloat = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/** strconv.ParseInt(s, 0, 64) / ParseUint(s, 0, 64) on an underscore-free string. */
function goParseIntBase0(s: string, unsigned: boolean): bigint | null {
  const m = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]+)|([0-9]+))$/.exec(s);
  if (!m || (unsigned && m[1] !== '')) return null;
  const [, sign, hex, oct, bin, oldOct, dec] = m;
  if (dec !== undefined && dec.length > 1 && dec[0] === '0') return null; // 08, 09: not octal
  const n = hex !== undefined ? BigInt(`0x${hex}`) : oct !== undefined ? BigInt(`0o${oct}`) : bin !== undefined ? BigInt(`0b${bin}`) : oldOct !== undefined ? BigInt(`0o${oldOct}`) : BigInt(dec!);
  const v = sign === '-' ? -n : n;
  if (unsigned ? v > UINT64_MAX : v > INT64_MAX || v < -INT64_MAX - 1n) return null;
  return v;
}

/** yaml.v2's resolve() for an untagged plain scalar. */
function resolvePlain(src: string): Resolved {
  if (YAML_NULLS.has(src)) return { tag: '!!null' };
  if (YAML_BOOLS.has(src)) return { tag: '!!bool' };
  const special = YAML_SPECIAL_FLOATS.get(src);
  if (special !== undefined) return { tag: '!!float', value: special };
  if (src === '<<') return { tag: '!!merge' };
  const c = src[0]!;
  if (c === '.') {
    if (/^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/.test(src) && Number.isFinite(Number(src))) return { tag: '!!float', value: Number(src) };
  } else if (isDigit(c) || c === '+' || c === '-') {
    const plain = src.replace(/_/g, '');
    const n = goParseIntBase0(plain, false) ?? goParseIntBase0(plain, true);
    if (n !== null) return { tag: '!!int', value: Number(n) };
    if (yamlStyleFloat.test(plain) && Number.isFinite(Number(plain))) return { tag: '!!float', value: Number(plain) };
  }
  return { tag: '!!str' };
}

const TAG_PREFIX = 'tag:yaml.org,2002:';

type Handler = (value: YamlNode | null, key: YamlNode) => void;

/** Walks the YAML AST with gopkg.in/yaml.v2's UnmarshalStrict rules, throwing at the first error. */
class StrictDecoder {
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
  readonly file: string;
  constructor(doc: Document.Parsed, lines: LineCounter, file: string) {
    this.doc = doc;
    this.lines = lines;
    this.file = file;
  }

  line(node: YamlNode | null | undefined): number {
    const offset = node?.range?.[0];
    return offset === undefined ? 1 : this.lines.linePos(offset).line;
  }

  fail(node: YamlNode | null | undefined, reason: string): never {
    throw new RuleTestFileError(reason, { file: this.file, line: this.line(node) });
  }

  deref(node: unknown): YamlNode | null {
    let n = node as YamlNode | null | undefined;
    for (let hops = 0; n && isAlias(n); hops++) {
      const target = n.resolve(this.doc) as YamlNode | undefined;
      if (target === undefined || hops > 100) this.fail(n, `unknown anchor '${n.source}' referenced`);
      n = target;
    }
    return n ?? null;
  }

  explicitTag(n: Scalar): string | undefined {
    if (n.tag === undefined) return undefined;
    return n.tag.startsWith(TAG_PREFIX) ? `!!${n.tag.slice(TAG_PREFIX.length)}` : n.tag;
  }

  source(n: Scalar): string {
    return n.source ?? (n.value === null || n.value === undefined ? '' : String(n.value));
  }

  /** The tag yaml.v2 gives a node, for "cannot unmarshal !!x …" messages. */
  resolvedTag(n: YamlNode): Resolved & { text?: string } {
    if (isMap(n)) return { tag: '!!map' };
    if (isSeq(n)) return { tag: '!!seq' };
    const s = n as Scalar;
    const tag = this.explicitTag(s);
    const src = this.source(s);
    if (tag === '!!null') return { tag, text: src };
    if (tag === '!!str' || (tag === undefined && s.type !== 'PLAIN')) return { tag: '!!str', text: src };
    if (tag === undefined || tag === '!!int' || tag === '!!float') return { ...resolvePlain(src), text: src };
    return { tag, text: src };
  }

  cannot(n: YamlNode, into: string): never {
    const r = this.resolvedTag(n);
    this.fail(n, `cannot unmarshal ${r.tag}${r.text !== undefined ? ` \`${r.text}\`` : ''} into ${into}`);
  }

  /** Whether a node unmarshals to the zero value of a non-scalar type (resolves to null). */
  isNull(n: YamlNode | null): boolean {
    return n === null || (isScalar(n) && this.resolvedTag(n).tag === '!!null');
  }

  /** prepare()'s null test, which decides whether an Unmarshaler (model.Duration, labels.Labels) runs. */
  isPreparedNull(n: YamlNode | null): boolean {
    if (n === null) return true;
    if (!isScalar(n)) return false;
    const tag = this.explicitTag(n);
    if (tag === '!!null') return true;
    const src = this.source(n);
    return tag === undefined && n.type === 'PLAIN' && (src === 'null' || src === '~' || src === '');
  }

  string(node: unknown): string {
    const n = this.deref(node);
    if (n === null) return '';
    if (!isScalar(n)) this.cannot(n, 'string');
    return this.resolvedTag(n).tag === '!!null' ? '' : this.source(n);
  }

  float(node: unknown): number {
    const n = this.deref(node);
    if (n === null) return 0;
    if (!isScalar(n)) this.cannot(n, 'float64');
    const r = this.resolvedTag(n);
    if (r.tag === '!!null') return 0;
    if ((r.tag === '!!int' || r.tag === '!!float') && r.value !== undefined) return r.value;
    this.cannot(n, 'float64');
  }

  /** model.Duration in ms (0 when null). */
  duration(node: unknown): number {
    const n = this.deref(node);
    if (this.isPreparedNull(n)) return 0;
    const s = this.string(n);
    try {
      return parseModelDuration(s);
    } catch (error) {
      this.fail(n, error instanceof Error ? error.message : String(error));
    }
  }

  /** Applies a `<<` merge value: a map, or a sequence of maps (earlier ones take precedence). */
  merge(node: unknown, apply: (map: YamlNode) => void): void {
    const n = this.deref(node);
    if (n !== null && isMap(n)) return apply(n);
    if (n !== null && isSeq(n)) {
      for (const item of [...n.items].reverse()) {
        const m = this.deref(item);
        if (m === null || !isMap(m)) this.fail(m ?? n, 'map merge requires map or sequence of maps as the value');
        apply(m);
      }
      return;
    }
    this.fail(n, 'map merge requires map or sequence of maps as the value');
  }

  isMergeKey(key: YamlNode | null): boolean {
    if (key === null || !isScalar(key)) return false;
    const tag = this.explicitTag(key);
    return this.source(key) === '<<' && ((tag === undefined && key.type === 'PLAIN') || tag === '!!merge');
  }

  keyString(key: unknown): string {
    const k = this.deref(key);
    if (k !== null && !isScalar(k)) this.fail(k, `invalid map key: ${this.resolvedTag(k).tag}`);
    return this.string(k);
  }

  /** A Go struct: known fields only, each at most once per mapping. Returns false for null. */
  struct(node: unknown, type: string, fields: Record<string, Handler>): boolean {
    const n = this.deref(node);
    if (n === null || this.isNull(n)) return false;
    if (!isMap(n)) this.cannot(n, `main.${type}`);
    const done = new Set<string>();
    for (const pair of n.items) {
      const key = pair.key as YamlNode | null;
      if (this.isMergeKey(key)) {
        this.merge(pair.value, (m) => this.struct(m, type, fields));
        continue;
      }
      const name = this.keyString(key);
      const handler = Object.hasOwn(fields, name) ? fields[name] : undefined;
      if (handler === undefined) this.fail(key ?? n, `field ${name} not found in type main.${type}`);
      if (done.has(name)) this.fail(key ?? n, `field ${name} already set in type main.${type}`);
      done.add(name);
      handler(this.deref(pair.value), key ?? n);
    }
    return true;
  }

  /** A Go slice: null is empty; anything but a sequence is an error. */
  list<T>(node: unknown, type: string, item: (n: YamlNode | null) => T): T[] {
    const n = this.deref(node);
    if (n === null || this.isNull(n)) return [];
    if (!isSeq(n)) this.cannot(n, `[]${type}`);
    return n.items.map((i) => item(this.deref(i) ?? null));
  }

  /** map[string]string (strict: a key set twice, also through `<<`, is an error). */
  stringMap(node: unknown): Record<string, string> {
    const n = this.deref(node);
    const entries = new Map<string, string>();
    const fill = (m: YamlNode): void => {
      if (this.isNull(m)) return;
      if (!isMap(m)) this.cannot(m, 'map[string]string');
      for (const pair of m.items) {
        const key = pair.key as YamlNode | null;
        if (this.isMergeKey(key)) {
          this.merge(pair.value, fill);
          continue;
        }
        const k = this.keyString(key);
        const v = this.string(pair.value);
        if (entries.has(k)) this.fail((pair.value as YamlNode | null) ?? key ?? m, `key ${goQuote(k)} already set in map`);
        entries.set(k, v);
      }
    };
    if (n !== null) fill(n);
    return Object.fromEntries(entries);
  }
}

// ---------------------------------------------------------------------------------------------------
// Rule file globbing (Go's path/filepath.Glob on Unix)

const hasMeta = (p: string): boolean => /[*?[\\]/.test(p);

/** Compiles a filepath.Match pattern; throws "syntax error in pattern" like filepath.ErrBadPattern. */
export function compileGoPattern(pattern: string): RegExp {
  const bad = (): never => {
    throw new Error('syntax error in pattern');
  };
  const cps = [...pattern];
  const esc = (c: string): string => `\\u{${c.codePointAt(0)!.toString(16)}}`;
  let re = '^';
  let i = 0;
  const classChar = (): string => {
    let c = cps[i];
    if (c === undefined || c === '-' || c === ']') bad();
    if (c === '\\') {
      i++;
      c = cps[i];
      if (c === undefined) bad();
    }
    i++;
    return c!;
  };
  while (i < cps.length) {
    const c = cps[i]!;
    i++;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i >= cps.length) bad();
      re += esc(cps[i]!);
      i++;
    } else if (c === '[') {
      let negated = false;
      if (cps[i] === '^') {
        negated = true;
        i++;
      }
      let ranges = '';
      let count = 0;
      for (;;) {
        if (i >= cps.length) bad();
        if (cps[i] === ']' && count > 0) {
          i++;
          break;
        }
        const lo = classChar();
        let hi = lo;
        if (cps[i] === '-') {
          i++;
          hi = classChar();
        }
        if (hi.codePointAt(0)! >= lo.codePointAt(0)!) ranges += `${esc(lo)}-${esc(hi)}`; // else never matches
        count++;
      }
      re += ranges === '' ? (negated ? '[^/]' : '[^\\s\\S]') : `[${negated ? '^/' : ''}${ranges}]`;
    } else re += esc(c);
  }
  return new RegExp(`${re}$`, 'u');
}

/** filepath.Glob: sorted matches per directory; I/O errors mean "no match". */
export async function goGlob(pattern: string): Promise<string[]> {
  compileGoPattern(pattern); // validates the whole pattern first, as Glob does
  if (!hasMeta(pattern)) {
    try {
      await lstat(pattern);
      return [pattern];
    } catch {
      return [];
    }
  }
  const cut = pattern.lastIndexOf('/');
  const dirPart = pattern.slice(0, cut + 1);
  const filePart = pattern.slice(cut + 1);
  const dir = dirPart === '' ? '.' : dirPart === '/' ? '/' : dirPart.slice(0, -1);
  const dirs = hasMeta(dir) ? await goGlob(dir) : [dir];
  const fileRe = compileGoPattern(filePart);
  const out: string[] = [];
  for (const d of dirs) {
    try {
      if (!(await stat(d)).isDirectory()) continue;
      const names = (await readdir(d)).sort(compareStrings);
      for (const n of names) if (fileRe.test(n)) out.push(path.join(d, n));
    } catch {
      // ignored, as Glob ignores I/O errors
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The test file

/** Go's strings.TrimSpace (unicode.IsSpace). */
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const goLeadingSpace = new RegExp(`^${GO_SPACE}+`);
const goTrailingSpace = new RegExp(`${GO_SPACE}+$`);
function goTrimSpace(s: string): string {
  return s.replace(goLeadingSpace, '').replace(goTrailingSpace, '');
}

interface RawSeries {
  series: string;
  values: string;
  line: number;
  seriesLine: number;
  valuesLine: number;
}

interface RawFile {
  ruleFiles: string[];
  evaluationIntervalMs: number;
  groupEvalOrder: string[];
  groupEvalOrderLines: number[];
  tests: RuleUnitTest[];
}

/**
 * Reads a test file: YAML, then rule_files globbed relative to the file's directory. Throws
 * RuleTestFileError (`file:line: reason`) for anything promtool 2.42 refuses or that makes its test fail
 * before evaluation (bad series, bad exp_samples labels, missing alertname, repeated group_eval_order).
 */
export async function parseRuleTestFile(text: string, file: string): Promise<RuleTestFile> {
  const raw = decodeRuleTestYaml(text, file);
  const baseDir = path.dirname(path.resolve(file));
  const warnings: string[] = [];
  const ruleFiles: string[] = [];
  const seen = new Set<string>();
  for (const rf of raw.ruleFiles) {
    const pattern = rf !== '' && !path.isAbsolute(rf) ? path.join(baseDir, rf) : rf;
    let matches: string[];
    try {
      matches = await goGlob(pattern);
    } catch (error) {
      throw new RuleTestFileError(error instanceof Error ? error.message : String(error), { file, line: 1 });
    }
    if (matches.length === 0) warnings.push(`no file match pattern ${pattern}`);
    for (const m of matches) {
      const abs = path.resolve(m);
      if (!seen.has(abs)) {
        seen.add(abs);
        ruleFiles.push(abs);
      }
    }
  }
  const order = new Set<string>();
  raw.groupEvalOrder.forEach((g, i) => {
    if (order.has(g)) throw new RuleTestFileError(`group name repeated in evaluation order: ${g}`, { file, line: raw.groupEvalOrderLines[i]! });
    order.add(g);
  });
  return {
    file,
    ruleFiles,
    evaluationIntervalMs: raw.evaluationIntervalMs === 0 ? 60_000 : raw.evaluationIntervalMs,
    groupEvalOrder: raw.groupEvalOrder,
    tests: raw.tests,
    warnings,
  };
}

function decodeRuleTestYaml(text: string, file: string): RawFile {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  const out: RawFile = { ruleFiles: [], evaluationIntervalMs: 0, groupEvalOrder: [], groupEvalOrderLines: [], tests: [] };
  const doc = docs[0];
  if (doc === undefined) return out;
  const firstError = doc.errors[0];
  if (firstError !== undefined) {
    throw new RuleTestFileError(`yaml: ${firstError.message.split('\n')[0]}`, { file, line: lines.linePos(firstError.pos[0]).line });
  }
  const y = new StrictDecoder(doc, lines, file);
  y.struct(doc.contents, 'unitTestFile', {
    rule_files: (v) => {
      out.ruleFiles = y.list(v, 'string', (n) => y.string(n));
    },
    evaluation_interval: (v) => {
      out.evaluationIntervalMs = y.duration(v);
    },
    group_eval_order: (v) => {
      out.groupEvalOrderLines = [];
      out.groupEvalOrder = y.list(v, 'string', (n) => {
        out.groupEvalOrderLines.push(y.line(n ?? v));
        return y.string(n);
      });
    },
    tests: (v) => {
      out.tests = y.list(v, 'main.testGroup', (n) => decodeTestGroup(y, n));
    },
  });
  return out;
}

function decodeTestGroup(y: StrictDecoder, node: YamlNode | null): RuleUnitTest {
  const t: RuleUnitTest = {
    name: '',
    intervalMs: 0,
    inputSeries: [],
    alertTests: [],
    exprTests: [],
    externalLabels: {},
    externalURL: '',
    line: y.line(node),
  };
  let rawSeries: RawSeries[] = [];
  const alertNodes: Array<{ test: AlertRuleTest; node: YamlNode | null }> = [];
  const exprNodes: Array<{ test: ExprTest; samples: Array<{ labels: string; value: number; line: number; labelsLine: number }> }> = [];
  y.struct(node, 'testGroup', {
    interval: (v) => {
      t.intervalMs = y.duration(v);
    },
    input_series: (v) => {
      rawSeries = y.list(v, 'main.series', (n) => {
        const s: RawSeries = { series: '', values: '', line: y.line(n ?? v), seriesLine: y.line(n ?? v), valuesLine: y.line(n ?? v) };
        y.struct(n, 'series', {
          series: (sv, key) => {
            s.series = y.string(sv);
            s.seriesLine = y.line(sv ?? key);
          },
          values: (vv, key) => {
            s.values = y.string(vv);
            s.valuesLine = y.line(vv ?? key);
          },
        });
        return s;
      });
    },
    alert_rule_test: (v) => {
      alertNodes.length = 0;
      for (const n of y.list(v, 'main.alertTestCase', (x) => x)) {
        const test: AlertRuleTest = { evalTimeMs: 0, alertname: '', expected: [], line: y.line(n ?? v) };
        y.struct(n, 'alertTestCase', {
          eval_time: (ev) => {
            test.evalTimeMs = y.duration(ev);
          },
          alertname: (an) => {
            test.alertname = y.string(an);
          },
          exp_alerts: (ea) => {
            test.expected = y.list(ea, 'main.alert', (a) => {
              const exp: AlertExpectation = { labels: {}, annotations: {} };
              y.struct(a, 'alert', {
                exp_labels: (l) => {
                  exp.labels = y.stringMap(l);
                },
                exp_annotations: (l) => {
                  exp.annotations = y.stringMap(l);
                },
              });
              return exp;
            });
          },
        });
        alertNodes.push({ test, node: n });
      }
    },
    promql_expr_test: (v) => {
      exprNodes.length = 0;
      for (const n of y.list(v, 'main.promqlTestCase', (x) => x)) {
        const test: ExprTest = { expr: '', evalTimeMs: 0, expected: [], line: y.line(n ?? v) };
        const entry = { test, samples: [] as Array<{ labels: string; value: number; line: number; labelsLine: number }> };
        y.struct(n, 'promqlTestCase', {
          expr: (e) => {
            test.expr = y.string(e);
          },
          eval_time: (ev) => {
            test.evalTimeMs = y.duration(ev);
          },
          exp_samples: (es) => {
            entry.samples = y.list(es, 'main.sample', (s) => {
              const sample = { labels: '', value: 0, line: y.line(s ?? es), labelsLine: y.line(s ?? es) };
              y.struct(s, 'sample', {
                labels: (l, key) => {
                  sample.labels = y.string(l);
                  sample.labelsLine = y.line(l ?? key);
                },
                value: (val) => {
                  sample.value = y.float(val);
                },
              });
              return sample;
            });
          },
        });
        exprNodes.push(entry);
      }
    },
    external_labels: (v) => {
      t.externalLabels = y.isPreparedNull(v) ? {} : y.stringMap(v);
    },
    external_url: (v) => {
      t.externalURL = y.string(v);
    },
    name: (v) => {
      t.name = y.string(v);
    },
  });

  t.inputSeries = loadInputSeries(y.file, rawSeries);

  for (const { test, node: n } of alertNodes) {
    if (test.alertname === '') {
      const group = t.name !== '' ? ` (in TestGroup ${t.name})` : '';
      y.fail(n, `an item under alert_rule_test misses required attribute alertname at eval_time ${modelDurationString(test.evalTimeMs)}${group}`);
    }
    for (const e of test.expected) e.labels = Object.fromEntries([...Object.entries(e.labels).filter(([k]) => k !== 'alertname'), ['alertname', test.alertname]]);
    t.alertTests.push(test);
  }
  for (const { test, samples } of exprNodes) {
    for (const s of samples) {
      let labels: LabelPair[];
      try {
        labels = parseMetricLabels(s.labels);
      } catch (error) {
        const reason = error instanceof RuleTestFileError ? error.reason : String(error);
        throw new RuleTestFileError(`expr: ${goQuote(test.expr)}, time: ${modelDurationString(test.evalTimeMs)}, err: ${reason}`, { file: y.file, line: s.labelsLine });
      }
      test.expected.push({ labels, value: s.value, line: s.line });
    }
    t.exprTests.push(test);
  }
  return t;
}

/**
 * promql/test.go's LazyLoader on the load command promtool writes: "  <series> <values>" per input series,
 * split into lines, trimmed, "#" lines blanked, read up to the first empty line.
 */
function loadInputSeries(file: string, raw: RawSeries[]): InputSeries[] {
  const out: InputSeries[] = [];
  for (const s of raw) {
    const joined = `  ${s.series} ${s.values}`;
    const pieces = joined.split('\n');
    for (let p = 0; p < pieces.length; p++) {
      const piece = pieces[p]!;
      let line = goTrimSpace(piece);
      if (line.startsWith('#')) line = '';
      if (line === '') return out; // LazyLoader stops at the first empty line
      let parsed: SeriesLine;
      try {
        parsed = parseSeriesLine(line);
      } catch (error) {
        if (!(error instanceof SyntaxIssue)) throw error;
        const lead = piece.length - piece.replace(goLeadingSpace, '').length;
        const inSeries = p === 0 && error.pos + lead < 2 + s.series.length;
        throw new RuleTestFileError(`bad input series ${goQuote(line)}: ${issueMessage(line, error)}`, {
          file,
          line: inSeries ? s.seriesLine : s.valuesLine,
        });
      }
      const { labels, problem } = headLabels(parsed.metric);
      if (problem !== null && parsed.points.some((x) => x !== null)) {
        throw new RuleTestFileError(`bad input series ${goQuote(line)}: ${problem}`, { file, line: s.seriesLine });
      }
      if (problem === null) out.push({ labels, points: parsed.points, line: s.line });
    }
  }
  return out;
}
