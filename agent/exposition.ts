// Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text, parsed as a stream.
//
// The parser is built for the agent's hot path: a kubelet's /metrics/cadvisor is megabytes of text of
// which the rules need a few families. Every line's metric name is read first and `keep(name)` decides
// whether the rest of the line is looked at; a dropped line costs a scan to its end and nothing else.
// For a kept line the parser hands the sink the metric name, the raw series text (`name{labels}`
// exactly as written, which the caller uses as a cache key) and the parsed value and timestamp. Labels
// are only parsed when the caller asks (parseSeries), which it does the first time it sees a series.
//
// Follows Prometheus's parsers (model/textparse promparse.go and openmetricsparse.go): escapes in label
// values (\\ \" \n) and HELP (\\ \n, and \" in OpenMetrics); explicit timestamps (integer ms in text,
// float seconds in OpenMetrics); NaN, +Inf, -Inf; `# TYPE` / `# HELP` / `# UNIT` / `# EOF`; exemplars in
// OpenMetrics are read and ignored; quoted UTF-8 metric and label names (`{"my.metric", "a.b"="c"}`,
// Prometheus 3). An empty label value means the label is absent, as in Prometheus. A malformed line fails
// the whole parse with an ExpositionError naming the line, as a failed scrape does in Prometheus.

import { StringDecoder } from 'node:string_decoder';
import type { Label } from '../protocol/types.ts';
import { TrimtabError } from '../protocol/errors.ts';

export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset' | 'untyped' | 'unknown';
export type ExpositionFormat = 'text' | 'openmetrics';

export interface FamilyMeta {
  name: string;
  type: MetricKind;
  help: string;
  unit: string;
}

/** Receives each kept sample. `series` is the raw `name{labels}` text of the line (no value). */
export type SampleSink = (name: string, series: string, value: number, timestampMs: number | null) => void;

export class ExpositionError extends TrimtabError {
  constructor(message: string) {
    super('invalid_exposition', message);
  }
}

/**
 * A copy of `s` that does not share memory with the string it was cut from. V8 represents a slice of a
 * long string as a view that keeps the whole parent alive: a label value sliced from a 64 KiB chunk of
 * a kubelet's response would pin that chunk for as long as the series is cached. Everything the parser
 * hands out to be kept (series keys, label names and values, metric names, metadata) goes through here
 * once, on first sight.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

const KINDS: Record<string, MetricKind> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  gaugehistogram: 'gaugehistogram',
  summary: 'summary',
  info: 'info',
  stateset: 'stateset',
  untyped: 'untyped',
  unknown: 'unknown',
};

const TEXT_TYPES = new Set<MetricKind>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const OM_TYPES = new Set<MetricKind>(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']);

/** The format a Content-Type announces: OpenMetrics for application/openmetrics-text, text otherwise. */
export function formatForContentType(contentType: string | undefined): ExpositionFormat {
  return contentType !== undefined && contentType.trim().toLowerCase().startsWith('application/openmetrics-text') ? 'openmetrics' : 'text';
}

/** What the agent sends as Accept, as Prometheus 2.x does: OpenMetrics preferred, then text 0.0.4. */
export const SCRAPE_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const CH_HASH = 35;
const CH_SPACE = 32;
const CH_TAB = 9;
const CH_LBRACE = 123;
const CH_RBRACE = 125;
const CH_QUOTE = 34;
const CH_BACKSLASH = 92;
const CH_EQ = 61;
const CH_COMMA = 44;

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}
function isLabelNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isLabelNameChar(c: number): boolean {
  return isLabelNameStart(c) || (c >= 48 && c <= 57);
}
function isBlank(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB;
}

const SPECIAL_FLOAT = /^[+-]?(?:inf|infinity|nan)$/i;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses a sample value as Go's strconv.ParseFloat does for the forms exporters write. Returns undefined if invalid. */
export function parseValue(token: string): number | undefined {
  const c = token.charCodeAt(0);
  // Fast path: a plain decimal (digits, sign or dot first) that Number() accepts.
  if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46) {
    if (DECIMAL.test(token)) return Number(token);
  }
  if (SPECIAL_FLOAT.test(token)) {
    const lower = token.toLowerCase();
    if (lower.endsWith('nan')) return NaN;
    return lower.startsWith('-') ? -Infinity : Infinity;
  }
  return undefined;
}

const INT = /^-?\d+$/;
const OM_TS = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Unescapes a HELP text: \\ and \n (and \" in OpenMetrics); any other backslash is kept. */
function unescapeHelp(s: string, om: boolean): string {
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\' && i + 1 < s.length) {
      const n = s[i + 1];
      if (n === '\\') (out += '\\'), i++;
      else if (n === 'n') (out += '\n'), i++;
      else if (n === '"' && om) (out += '"'), i++;
      else out += ch;
    } else out += ch;
  }
  return out;
}

/**
 * Reads a quoted string starting at s[i] === '"'. Returns the unescaped value and the index after the
 * closing quote. Escapes: \\ \" \n; any other escaped character is kept with its backslash (Prometheus).
 */
function readQuoted(s: string, i: number, where: () => string): { value: string; end: number } {
  let out = '';
  let from = i + 1;
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === CH_BACKSLASH) {
      if (j + 1 >= s.length) break;
      out += s.slice(from, j);
      const n = s[j + 1];
      out += n === 'n' ? '\n' : n === '"' ? '"' : n === '\\' ? '\\' : '\\' + n;
      j++;
      from = j + 1;
    } else if (c === CH_QUOTE) {
      out += s.slice(from, j);
      return { value: out, end: j + 1 };
    } else if (c === 10) {
      break;
    }
  }
  throw new ExpositionError(`${where()}: unterminated quoted string`);
}

/** Index just after the '}' that closes the '{' at s[i], honouring quoted strings; -1 if unclosed. */
function braceEnd(s: string, i: number): number {
  let inQuote = false;
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (inQuote) {
      if (c === CH_BACKSLASH) j++;
      else if (c === CH_QUOTE) inQuote = false;
    } else if (c === CH_QUOTE) inQuote = true;
    else if (c === CH_RBRACE) return j + 1;
  }
  return -1;
}

export interface ParsedSeries {
  name: string;
  /** In the order written, without `__name__`, empty values removed. */
  labels: Label[];
}

/**
 * Parses the series part of a sample line (`name{a="b",...}`, `name`, or `{"utf8.name",a="b"}`).
 * Throws ExpositionError on malformed input or a repeated label name.
 */
export function parseSeries(series: string): ParsedSeries {
  const where = () => `series ${JSON.stringify(series.length > 200 ? series.slice(0, 200) + '…' : series)}`;
  let i = 0;
  let name = '';
  const n = series.length;
  if (isNameStart(series.charCodeAt(0))) {
    while (i < n && isNameChar(series.charCodeAt(i))) i++;
    name = series.slice(0, i);
    while (i < n && isBlank(series.charCodeAt(i))) i++;
    if (i === n) return { name, labels: [] };
    if (series.charCodeAt(i) !== CH_LBRACE) throw new ExpositionError(`${where()}: unexpected ${JSON.stringify(series[i])} after the metric name`);
  } else if (series.charCodeAt(0) !== CH_LBRACE) {
    throw new ExpositionError(`${where()}: a metric name must start with [a-zA-Z_:] or be quoted inside braces`);
  }
  i++; // past '{'
  const labels: Label[] = [];
  const seen = new Set<string>();
  let first = true;
  for (;;) {
    while (i < n && isBlank(series.charCodeAt(i))) i++;
    if (i >= n) throw new ExpositionError(`${where()}: unclosed '{'`);
    const c = series.charCodeAt(i);
    if (c === CH_RBRACE) {
      i++;
      break;
    }
    let labelName: string;
    if (c === CH_QUOTE) {
      const q = readQuoted(series, i, where);
      i = q.end;
      while (i < n && isBlank(series.charCodeAt(i))) i++;
      // A quoted string not followed by '=' is the metric name (only as the first item, when none was given).
      if (series.charCodeAt(i) !== CH_EQ) {
        if (!first || name !== '') throw new ExpositionError(`${where()}: quoted metric name in the wrong place`);
        name = q.value;
        first = false;
        while (i < n && isBlank(series.charCodeAt(i))) i++;
        if (series.charCodeAt(i) === CH_COMMA) i++;
        else if (series.charCodeAt(i) !== CH_RBRACE) throw new ExpositionError(`${where()}: expected ',' or '}' after the metric name`);
        continue;
      }
      labelName = q.value;
    } else if (isLabelNameStart(c)) {
      const start = i;
      while (i < n && isLabelNameChar(series.charCodeAt(i))) i++;
      labelName = series.slice(start, i);
      while (i < n && isBlank(series.charCodeAt(i))) i++;
    } else {
      throw new ExpositionError(`${where()}: invalid label name at ${JSON.stringify(series.slice(i, i + 20))}`);
    }
    first = false;
    if (series.charCodeAt(i) !== CH_EQ) throw new ExpositionError(`${where()}: expected '=' after label ${JSON.stringify(labelName)}`);
    i++;
    while (i < n && isBlank(series.charCodeAt(i))) i++;
    if (series.charCodeAt(i) !== CH_QUOTE) throw new ExpositionError(`${where()}: label ${JSON.stringify(labelName)} has no quoted value`);
    const v = readQuoted(series, i, where);
    i = v.end;
    if (labelName === '' ) throw new ExpositionError(`${where()}: empty label name`);
    if (seen.has(labelName)) throw new ExpositionError(`${where()}: label ${JSON.stringify(labelName)} is repeated`);
    seen.add(labelName);
    if (labelName === '__name__') throw new ExpositionError(`${where()}: __name__ given as a label`);
    if (v.value !== '') labels.push({ name: labelName, value: v.value });
    while (i < n && isBlank(series.charCodeAt(i))) i++;
    const d = series.charCodeAt(i);
    if (d === CH_COMMA) i++;
    else if (d !== CH_RBRACE) throw new ExpositionError(`${where()}: expected ',' or '}' after label ${JSON.stringify(labelName)}`);
  }
  if (i !== n) throw new ExpositionError(`${where()}: unexpected text after '}'`);
  if (name === '') throw new ExpositionError(`${where()}: no metric name`);
  return { name, labels };
}

const CH_NEWLINE = 0x0a;
/** Distinct metric names remembered by a parser (an exposition has a few hundred). */
const NAME_CACHE_MAX = 10_000;

function asciiEquals(name: string, buf: Buffer, start: number, end: number): boolean {
  if (name.length !== end - start) return false;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

/**
 * A streaming parser: write() chunks of the body as they arrive, then end(). Samples whose metric name
 * `keep` refuses are skipped without parsing their labels or value.
 */
export class ExpositionParser {
  readonly format: ExpositionFormat;
  /** Metadata of every family announced by # TYPE / # HELP / # UNIT, by family name. */
  readonly families = new Map<string, FamilyMeta>();
  /** Lines read (for error messages and stats). */
  lineNo = 0;
  /** Sample lines seen, kept or not. */
  samplesSeen = 0;
  /** Sample lines handed to the sink. */
  samplesKept = 0;
  private readonly keep: (name: string) => boolean;
  private readonly sink: SampleSink;
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';
  /** The unfinished last line of the bytes written so far. */
  private carry: Buffer | null = null;
  /** Metric names seen, by FNV-1a of their bytes, with keep()'s verdict. */
  private readonly nameCache = new Map<number, Array<{ name: string; kept: boolean }>>();
  private eof = false;
  private readonly om: boolean;

  constructor(format: ExpositionFormat, keep: (name: string) => boolean, sink: SampleSink) {
    this.format = format;
    this.om = format === 'openmetrics';
    this.keep = keep;
    this.sink = sink;
  }

  write(chunk: Uint8Array | string): void {
    if (typeof chunk !== 'string' && this.rest === '') {
      this.writeBytes(chunk);
      return;
    }
    const text = typeof chunk === 'string' ? this.decoder.end(this.takeCarry()) + chunk : this.decoder.write(this.takeCarry(chunk));
    if (text === '') return;
    const s = this.rest === '' ? text : this.rest + text;
    let start = 0;
    for (;;) {
      const nl = s.indexOf('\n', start);
      if (nl < 0) break;
      this.line(s, start, nl);
      start = nl + 1;
    }
    this.rest = start === 0 ? s : s.slice(start);
  }

  /**
   * Bytes as they arrive: lines are cut at 0x0A (never part of a multi-byte UTF-8 character), and a
   * sample line whose metric name `keep` refuses is skipped from its bytes, without decoding it to a
   * string: an exposition is mostly such lines (cAdvisor's file-system, network, … families). Other
   * lines are decoded and parsed as text. (The bench's 13.8 MB cAdvisor body: 22 → 16 ms of CPU.)
   */
  private writeBytes(chunk: Uint8Array): void {
    let start = 0;
    if (this.carry !== null) {
      const nl = chunk.indexOf(CH_NEWLINE);
      if (nl < 0) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      const first = Buffer.concat([this.carry, chunk.subarray(0, nl)]);
      this.carry = null;
      this.byteLine(first, 0, first.length);
      start = nl + 1;
    }
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (;;) {
      const nl = buf.indexOf(CH_NEWLINE, start);
      if (nl < 0) break;
      this.byteLine(buf, start, nl);
      start = nl + 1;
    }
    if (start < buf.length) this.carry = Buffer.from(buf.subarray(start)); // a copy: the stream may reuse its buffer
  }

  private byteLine(buf: Buffer, start: number, end: number): void {
    const c = buf[start];
    if (c !== undefined && isNameStart(c) && !this.eof) {
      let j = start + 1;
      while (j < end && isNameChar(buf[j]!)) j++;
      if (!this.keptName(buf, start, j)) {
        // What line() does for a sample line of a refused name.
        this.lineNo++;
        this.samplesSeen++;
        return;
      }
    }
    const text = buf.toString('utf8', start, end);
    this.line(text, 0, text.length);
  }

  /** keep(name) for a metric name given as ASCII bytes, remembered per distinct name. */
  private keptName(buf: Buffer, start: number, end: number): boolean {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const known = this.nameCache.get(h);
    if (known) {
      for (const k of known) if (asciiEquals(k.name, buf, start, end)) return k.kept;
    }
    const name = buf.toString('latin1', start, end);
    const entry = { name, kept: this.keep(name) };
    if (known) known.push(entry);
    else if (this.nameCache.size < NAME_CACHE_MAX) this.nameCache.set(h, [entry]);
    return entry.kept;
  }

  /** The bytes of an unfinished last line, for the text path (a string written after bytes). */
  private takeCarry(chunk?: Uint8Array): Buffer {
    const carry = this.carry;
    this.carry = null;
    if (carry === null) return chunk === undefined ? Buffer.alloc(0) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    return chunk === undefined ? carry : Buffer.concat([carry, chunk]);
  }

  end(): void {
    if (this.carry !== null) {
      const last = this.carry;
      this.carry = null;
      if (this.rest === '') this.byteLine(last, 0, last.length);
      else this.rest += this.decoder.write(last);
    }
    const tail = this.rest + this.decoder.end();
    this.rest = '';
    if (tail !== '') this.line(tail, 0, tail.length);
    if (this.om && !this.eof) throw new ExpositionError('OpenMetrics exposition does not end with # EOF');
  }

  private fail(msg: string): never {
    throw new ExpositionError(`line ${this.lineNo}: ${msg}`);
  }

  private line(s: string, start: number, end: number): void {
    this.lineNo++;
    if (end > start && s.charCodeAt(end - 1) === 13) end--; // tolerate CRLF
    if (this.eof) {
      if (end > start) this.fail('content after # EOF');
      return;
    }
    let i = start;
    if (!this.om) while (i < end && isBlank(s.charCodeAt(i))) i++;
    if (i >= end) {
      if (this.om) this.fail('empty line');
      return;
    }
    const c = s.charCodeAt(i);
    if (c === CH_HASH) {
      this.comment(s.slice(i, end));
      return;
    }
    this.samplesSeen++;
    // Metric name: bare, or quoted as the first item inside the braces.
    let name: string;
    let j = i;
    if (isNameStart(c)) {
      while (j < end && isNameChar(s.charCodeAt(j))) j++;
      name = s.slice(i, j);
    } else if (c === CH_LBRACE) {
      let k = i + 1;
      while (k < end && isBlank(s.charCodeAt(k))) k++;
      if (s.charCodeAt(k) !== CH_QUOTE) this.fail('a metric name must start with [a-zA-Z_:] or be quoted inside braces');
      const q = readQuoted(s.slice(0, end), k, () => `line ${this.lineNo}`);
      let after = q.end;
      while (after < end && isBlank(s.charCodeAt(after))) after++;
      if (s.charCodeAt(after) === CH_EQ) this.fail('label set without a metric name');
      name = q.value;
    } else {
      this.fail(`unexpected character ${JSON.stringify(s[i])} at the start of a line`);
    }
    if (!this.keep(name)) return;

    // The series text runs to the end of the label set, or of the name when there is none.
    let seriesEnd = j;
    let k = c === CH_LBRACE ? i : j;
    if (c !== CH_LBRACE) while (k < end && isBlank(s.charCodeAt(k))) k++;
    if (s.charCodeAt(k) === CH_LBRACE) {
      const close = braceEnd(s.slice(0, end), k);
      if (close < 0) this.fail("unclosed '{'");
      seriesEnd = close;
    }
    const series = s.slice(i, seriesEnd);
    let p = seriesEnd;
    if (p >= end || !isBlank(s.charCodeAt(p))) this.fail(`expected a value after ${JSON.stringify(series.length > 120 ? series.slice(0, 120) + '…' : series)}`);
    while (p < end && isBlank(s.charCodeAt(p))) p++;
    let q = p;
    while (q < end && !isBlank(s.charCodeAt(q))) q++;
    if (q === p) this.fail('missing value');
    const valueToken = s.slice(p, q);
    const value = parseValue(valueToken);
    if (value === undefined) this.fail(`invalid value ${JSON.stringify(valueToken)}`);
    let timestamp: number | null = null;
    while (q < end && isBlank(s.charCodeAt(q))) q++;
    if (q < end && s.charCodeAt(q) !== CH_HASH) {
      let r = q;
      while (r < end && !isBlank(s.charCodeAt(r))) r++;
      const tsToken = s.slice(q, r);
      if (this.om) {
        if (!OM_TS.test(tsToken)) this.fail(`invalid timestamp ${JSON.stringify(tsToken)}`);
        timestamp = Math.round(Number(tsToken) * 1000);
      } else {
        if (!INT.test(tsToken)) this.fail(`invalid timestamp ${JSON.stringify(tsToken)}`);
        timestamp = Number(tsToken);
      }
      if (!Number.isSafeInteger(timestamp)) this.fail(`timestamp ${JSON.stringify(tsToken)} out of range`);
      q = r;
      while (q < end && isBlank(s.charCodeAt(q))) q++;
    }
    if (q < end) {
      // Only an OpenMetrics exemplar may follow: ` # {labels} value [timestamp]`.
      if (!this.om || s.charCodeAt(q) !== CH_HASH) this.fail(`unexpected text ${JSON.stringify(s.slice(q, Math.min(end, q + 40)))} after the value`);
      this.exemplar(s.slice(q + 1, end));
    }
    this.samplesKept++;
    try {
      this.sink(name, series, value, timestamp);
    } catch (e) {
      // The sink parses labels lazily (parseSeries); give its errors the line they came from.
      if (e instanceof ExpositionError && !e.message.startsWith('line ')) this.fail(e.message);
      throw e;
    }
  }

  private exemplar(rest: string): void {
    let i = 0;
    while (i < rest.length && isBlank(rest.charCodeAt(i))) i++;
    if (rest.charCodeAt(i) !== CH_LBRACE) this.fail('malformed exemplar: expected {labels}');
    const close = braceEnd(rest, i);
    if (close < 0) this.fail('malformed exemplar: unclosed {');
    // Validate the exemplar's labels with a placeholder name; the exemplar itself is not kept.
    try {
      parseSeries('x' + rest.slice(i, close));
    } catch (e) {
      this.fail(`malformed exemplar: ${(e as Error).message}`);
    }
    const tokens = rest.slice(close).trim().split(/[ \t]+/).filter((t) => t !== '');
    if (tokens.length < 1 || tokens.length > 2) this.fail('malformed exemplar: expected a value and an optional timestamp');
    if (parseValue(tokens[0]) === undefined) this.fail(`malformed exemplar value ${JSON.stringify(tokens[0])}`);
    if (tokens.length === 2 && !OM_TS.test(tokens[1])) this.fail(`malformed exemplar timestamp ${JSON.stringify(tokens[1])}`);
  }

  private family(name: string): FamilyMeta {
    let f = this.families.get(name);
    if (!f) {
      const own = detach(name);
      f = { name: own, type: this.om ? 'unknown' : 'untyped', help: '', unit: '' };
      this.families.set(own, f);
    }
    return f;
  }

  private comment(line: string): void {
    // "# KEYWORD name rest"
    const m = /^#[ \t]+(HELP|TYPE|UNIT|EOF)(?:[ \t]+|$)/.exec(line);
    if (!m) {
      if (this.om) this.fail(`invalid comment ${JSON.stringify(line.slice(0, 60))}`);
      return; // a plain comment in the text format
    }
    const keyword = m[1];
    if (keyword === 'EOF') {
      if (!this.om) return; // "# EOF" is just a comment in the text format
      if (line.slice(m[0].length).trim() !== '') this.fail('text after # EOF');
      this.eof = true;
      return;
    }
    let rest = line.slice(m[0].length);
    let name: string;
    if (rest.charCodeAt(0) === CH_QUOTE) {
      const q = readQuoted(rest, 0, () => `line ${this.lineNo}`);
      name = q.value;
      rest = rest.slice(q.end);
    } else {
      let k = 0;
      while (k < rest.length && isNameChar(rest.charCodeAt(k))) k++;
      name = rest.slice(0, k);
      if (name === '' || !isNameStart(name.charCodeAt(0))) {
        if (this.om) this.fail(`# ${keyword} without a valid metric name`);
        return;
      }
      rest = rest.slice(k);
    }
    if (rest !== '' && !isBlank(rest.charCodeAt(0))) this.fail(`# ${keyword}: invalid metric name`);
    rest = rest.replace(/^[ \t]/, '');
    switch (keyword) {
      case 'HELP':
        this.family(name).help = detach(unescapeHelp(rest, this.om));
        break;
      case 'TYPE': {
        const t = KINDS[rest.trim()];
        if (!t || !(this.om ? OM_TYPES : TEXT_TYPES).has(t)) this.fail(`invalid metric type ${JSON.stringify(rest.trim())}`);
        this.family(name).type = t;
        break;
      }
      case 'UNIT':
        if (!this.om) return;
        this.family(name).unit = detach(rest.trim());
        break;
    }
  }
}

const SUFFIXES: Array<[string, MetricKind[]]> = [
  ['_total', ['counter']],
  ['_created', ['counter', 'histogram', 'summary', 'gaugehistogram']],
  ['_bucket', ['histogram', 'gaugehistogram']],
  ['_count', ['histogram', 'summary']],
  ['_sum', ['histogram', 'summary']],
  ['_gcount', ['gaugehistogram']],
  ['_gsum', ['gaugehistogram']],
  ['_info', ['info']],
];

/** The family a sample name belongs to, from announced metadata: the name itself, or the name less a type's suffix. */
export function familyOf(name: string, families: ReadonlyMap<string, FamilyMeta>): FamilyMeta | undefined {
  const exact = families.get(name);
  if (exact && exact.type !== 'histogram' && exact.type !== 'summary' && exact.type !== 'gaugehistogram') return exact;
  for (const [suffix, kinds] of SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && kinds.includes(f.type)) return f;
  }
  return exact;
}

export interface ParsedSample {
  name: string;
  labels: Label[];
  value: number;
  timestampMs: number | null;
}

/** Parses a whole exposition at once (tests, small targets). */
export function parseExposition(
  text: string | Uint8Array,
  format: ExpositionFormat = 'text',
  keep: (name: string) => boolean = () => true,
): { samples: ParsedSample[]; families: Map<string, FamilyMeta> } {
  const samples: ParsedSample[] = [];
  const parser = new ExpositionParser(format, keep, (name, series, value, timestampMs) => {
    const parsed = parseSeries(series);
    samples.push({ name, labels: parsed.labels, value, timestampMs });
  });
  parser.write(text);
  parser.end();
  return { samples, families: parser.families };
}
