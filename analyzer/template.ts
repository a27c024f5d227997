// Go text/template, as Prometheus uses it to expand alerting-rule annotations and labels.
//
// Prometheus (template/template.go, Expander.Expand) parses `defs + text` with Go's text/template,
// Option("missingkey=zero") and its own function map, and executes it against
//   struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }
// On any error the rule manager writes `<error expanding template: …>` into the annotation instead.
// This module re-implements that pipeline: Go's lexer and parser (same error messages, same node
// positions, so errors read `template: __alert_X:1:123: executing "__alert_X" at <…>: …`), the
// executor with Go's reflection-driven typing rules (float64 vs int literals, map zero values, typed
// function arguments), fmt's verbs, strconv's float formatting (round half to even on the exact
// binary value), and Prometheus' function map as of v2.42 (what the promtool we cross-check uses).
//
// Values are modelled as Go values: string → JS string, float64 → JS number, bool → boolean, Go ints
// → GoInt, maps → GoMap, and so on; `undefined` is Go's invalid reflect.Value ("<no value>").
//
// Compile once (compileTemplate), execute many times. Execution is synchronous; the only
// asynchronous function, `query`, is handled by replay: when an execution needs a query result it
// does not have yet, it stops, the query runs, and the (pure, deterministic) execution starts again
// with the result cached. Templates without `query` run exactly once.

import { Buffer } from 'node:buffer';
import { TrimtabError } from '../protocol/errors.ts';

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

export type TemplateErrorCode =
  /** The template text does not parse (Go: `template: NAME:LINE: …`). */
  | 'template_parse'
  /** Executing the template failed (Go: `template: NAME:LINE:COL: executing "NAME" at <…>: …`). */
  | 'template_exec';

export class TemplateError extends TrimtabError {
  declare readonly code: TemplateErrorCode;
  /** The template name (`__alert_<alertname>` for rules), when known. */
  readonly templateName: string | undefined;
  constructor(code: TemplateErrorCode, message: string, options?: { cause?: unknown; templateName?: string }) {
    super(code, message, options);
    this.templateName = options?.templateName;
  }
}

export interface TemplateData {
  labels: Record<string, string>;
  /** $value / .Value */
  value: number;
  externalLabels: Record<string, string>;
  externalURL: string;
}

/** Optional: the `query` template function (async in JS). Returns samples {labels, value}. */
export type TemplateQuery = (expr: string) => Promise<Array<{ labels: Record<string, string>; value: number }>>;

export interface ExecuteOptions {
  /** Runs PromQL for the `query` function; without it `query` fails with an execution error. */
  query?: TemplateQuery;
  /**
   * Evaluation time (ms). Accepted for the analyzer's convenience; no Prometheus template function reads
   * the clock, so the engine does not consult it (the query callback evaluates at its own time).
   */
  now?: number;
}

export interface CompiledTemplate {
  execute(data: TemplateData, options?: ExecuteOptions): Promise<string>;
}

/** Prometheus' prelude (rules/alerting.go), prepended to every annotation and label template. */
export const TEMPLATE_PRELUDE =
  '{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}';

// ---------------------------------------------------------------------------------------------
// Go value model
// ---------------------------------------------------------------------------------------------

/** A Go integer value (int, int64, uint8, time.Month, …); ints are rare in templates, so bigint is fine. */
class GoInt {
  readonly type: string;
  readonly v: bigint;
  constructor(type: string, v: bigint) {
    this.type = type;
    this.v = v;
  }
  get unsigned(): boolean {
    return this.type === 'uint8' || this.type === 'uint' || this.type === 'uint64';
  }
}

const MAP_STRING = 'map[string]string';
const MAP_IFACE = 'map[string]interface {}';

/** map[string]string or map[string]interface{}; keys looked up with hasOwn (plain objects from callers). */
class GoMap {
  readonly type: string;
  readonly m: Record<string, Val>;
  private sorted: string[] | null = null;
  constructor(type: string, m: Record<string, Val>) {
    this.type = type;
    this.m = m;
  }
  get(key: string): Val | typeof ABSENT {
    return Object.hasOwn(this.m, key) ? this.m[key] : ABSENT;
  }
  get size(): number {
    if (this.sorted !== null) return this.sorted.length;
    let n = 0;
    for (const k in this.m) if (Object.hasOwn(this.m, k)) n++;
    return n;
  }
  sortedKeys(): string[] {
    if (this.sorted === null) this.sorted = Object.keys(this.m).sort(goStringCompare);
    return this.sorted;
  }
  get isIface(): boolean {
    return this.type === MAP_IFACE;
  }
}
const ABSENT: unique symbol = Symbol('absent');

/** *template.sample: a query result element. */
class GoSample {
  readonly labels: GoMap;
  readonly value: number;
  constructor(labels: GoMap, value: number) {
    this.labels = labels;
    this.value = value;
  }
}

/** template.queryResult ([]*sample). */
class GoQueryResult {
  readonly items: GoSample[];
  constructor(items: GoSample[]) {
    this.items = items;
  }
}

/** html/template.HTML (safeHtml): a string kind with its own type. */
class GoHTML {
  readonly s: string;
  constructor(s: string) {
    this.s = s;
  }
}

/** time.Time in UTC at millisecond precision (all Prometheus time values are ms); ptr: *time.Time. */
class GoTime {
  readonly ms: number;
  readonly ptr: boolean;
  constructor(ms: number, ptr: boolean) {
    this.ms = ms;
    this.ptr = ptr;
  }
}

const ALERT_DATA_TYPE =
  'struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }';

/** The data Prometheus passes to alert templates (AlertTemplateData). */
class AlertData {
  readonly labels: GoMap;
  readonly externalLabels: GoMap;
  readonly externalURL: string;
  readonly value: number;
  constructor(labels: GoMap, externalLabels: GoMap, externalURL: string, value: number) {
    this.labels = labels;
    this.externalLabels = externalLabels;
    this.externalURL = externalURL;
    this.value = value;
  }
}

/** A valid reflect.Value of interface kind holding nil (e.g. a missing key of map[string]interface{}). */
class NilIface {}
const NIL_IFACE = new NilIface();

/**
 * undefined: invalid reflect.Value (no value); null: a typed nil pointer/slice/map (only reachable by passing
 * the `nil` literal to such a parameter).
 */
type Val =
  | string
  | number
  | boolean
  | undefined
  | null
  | GoInt
  | GoMap
  | GoSample
  | GoQueryResult
  | GoHTML
  | GoTime
  | AlertData
  | NilIface;

function goInt(n: number | bigint, type = 'int'): GoInt {
  return new GoInt(type, typeof n === 'bigint' ? n : BigInt(n));
}

/** Go's reflect type name, as fmt's %T and text/template's messages print it. */
function typeName(v: Val): string {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    case 'undefined':
      return '<nil>';
  }
  if (v === null) return '<nil>';
  if (v instanceof GoInt) return v.type;
  if (v instanceof GoMap) return v.type;
  if (v instanceof GoSample) return '*template.sample';
  if (v instanceof GoQueryResult) return 'template.queryResult';
  if (v instanceof GoHTML) return 'template.HTML';
  if (v instanceof GoTime) return v.ptr ? '*time.Time' : 'time.Time';
  if (v instanceof AlertData) return ALERT_DATA_TYPE;
  return 'interface {}';
}

type Kind = 'invalid' | 'bool' | 'int' | 'uint' | 'float' | 'string' | 'map' | 'slice' | 'ptr' | 'struct' | 'iface';

function kindOf(v: Val): Kind {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'float';
    case 'boolean':
      return 'bool';
    case 'undefined':
      return 'invalid';
  }
  if (v === null) return 'ptr';
  if (v instanceof GoInt) return v.unsigned ? 'uint' : 'int';
  if (v instanceof GoMap) return 'map';
  if (v instanceof GoHTML) return 'string';
  if (v instanceof GoQueryResult) return 'slice';
  if (v instanceof GoSample) return 'ptr';
  if (v instanceof GoTime) return v.ptr ? 'ptr' : 'struct';
  if (v instanceof AlertData) return 'struct';
  return 'iface';
}

/** Go string comparison is bytewise on UTF-8, i.e. by code point; JS `<` compares UTF-16 code units. */
function goStringCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca >= 0xd800) ca = ca <= 0xdfff ? ca + 0x2000 : ca - 0x800;
    if (cb >= 0xd800) cb = cb <= 0xdfff ? cb + 0x2000 : cb - 0x800;
    return ca < cb ? -1 : 1;
  }
  return a.length - b.length;
}

function byteLength(s: string): number {
  // Fast path for ASCII.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

function runeCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// strconv: float formatting
// ---------------------------------------------------------------------------------------------

/** A decimal: value = 0.d × 10^dp; d has no trailing zeros; zero is d = '' (dp 0). Go's decimalSlice. */
interface Dec {
  d: string;
  dp: number;
}

const f64buf = new DataView(new ArrayBuffer(8));

function floatBits(x: number): { neg: boolean; mant: bigint; exp: number; biasedExp: number } {
  f64buf.setFloat64(0, x);
  const hi = f64buf.getUint32(0);
  const lo = f64buf.getUint32(4);
  const biasedExp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biasedExp === 0) exp = -1022;
  else {
    mant |= 1n << 52n;
    exp = biasedExp - 1023;
  }
  return { neg: hi >>> 31 === 1, mant, exp, biasedExp };
}

function trimZeros(dec: Dec): Dec {
  let e = dec.d.length;
  while (e > 0 && dec.d.charCodeAt(e - 1) === 48) e--;
  if (e === 0) return { d: '', dp: 0 };
  return e === dec.d.length ? dec : { d: dec.d.slice(0, e), dp: dec.dp };
}

/** The exact decimal expansion of |x| (finite). */
function exactDecimal(x: number): Dec {
  if (x === 0) return { d: '', dp: 0 };
  const { mant, exp } = floatBits(x);
  const e = exp - 52; // |x| = mant × 2^e
  let digits: string;
  let dp: number;
  if (e >= 0) {
    digits = (mant << BigInt(e)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-e)).toString();
    dp = digits.length + e;
  }
  return trimZeros({ d: digits, dp });
}

/** Parses JS toExponential output of a non-negative number. */
function parseExponential(s: string): Dec {
  const ei = s.indexOf('e');
  const mant = s.slice(0, ei);
  const exp = Number(s.slice(ei + 1));
  const d = mant.length > 1 ? mant[0] + mant.slice(2) : mant;
  if (d === '0') return { d: '', dp: 0 };
  return trimZeros({ d, dp: exp + 1 });
}

/** Parses JS toFixed output of a non-negative number < 1e21. */
function parseFixed(s: string): Dec {
  const dot = s.indexOf('.');
  const int = dot < 0 ? s : s.slice(0, dot);
  const frac = dot < 0 ? '' : s.slice(dot + 1);
  let all = int + frac;
  let dp = int.length;
  let i = 0;
  while (i < all.length && all.charCodeAt(i) === 48) i++;
  all = all.slice(i);
  dp -= i;
  return trimZeros({ d: all, dp });
}

/** Go's decimal.Round(nd) on an exact decimal: round half to even. */
function roundDec(dec: Dec, nd: number): Dec {
  const { d, dp } = dec;
  if (nd < 0 || nd >= d.length) return dec;
  const c = d.charCodeAt(nd);
  let up: boolean;
  if (c !== 53) up = c > 53;
  else if (nd + 1 < d.length) up = true;
  else up = nd > 0 && (d.charCodeAt(nd - 1) - 48) % 2 === 1;
  if (!up) return trimZeros({ d: d.slice(0, nd), dp });
  let i = nd - 1;
  while (i >= 0 && d.charCodeAt(i) === 57) i--;
  if (i < 0) return { d: '1', dp: dp + 1 };
  return { d: d.slice(0, i) + String.fromCharCode(d.charCodeAt(i) + 1), dp };
}

/**
 * Rounds |x| to n significant digits (sig) or to n digits after the point (!sig), half to even on the
 * exact binary value. JS's toExponential/toFixed round exact ties away from zero, so they only provide one
 * extra (correctly rounded) digit: if that digit is not a final 5, rounding it again gives the same result
 * as rounding x; if it is, the tie (or near-tie) is settled on the exact expansion.
 */
function roundedDecimal(x: number, n: number, sig: boolean): Dec {
  if (x === 0) return { d: '', dp: 0 };
  let src: Dec | null = null;
  if (sig) {
    if (n <= 100) src = parseExponential(x.toExponential(n));
  } else if (x < 1e21 && n + 1 <= 100) {
    src = parseFixed(x.toFixed(n + 1));
  }
  let exact = false;
  if (src === null) {
    src = exactDecimal(x);
    exact = true;
  }
  let nd = sig ? n : src.dp + n;
  if (!exact && nd >= 0 && nd < src.d.length && src.d.charCodeAt(nd) === 53 && nd + 1 === src.d.length) {
    src = exactDecimal(x);
    nd = sig ? n : src.dp + n;
  }
  return roundDec(src, nd);
}

function shortestDecimal(x: number): Dec {
  if (x === 0) return { d: '', dp: 0 };
  return parseExponential(x.toExponential());
}

function fmtE(neg: boolean, dec: Dec, prec: number, fmt: string): string {
  let s = neg ? '-' : '';
  s += dec.d.length > 0 ? dec.d[0] : '0';
  if (prec > 0) {
    s += '.';
    const frac = dec.d.slice(1, 1 + prec);
    s += frac + '0'.repeat(prec - frac.length);
  }
  s += fmt;
  let exp = dec.d.length === 0 ? 0 : dec.dp - 1;
  if (exp < 0) {
    s += '-';
    exp = -exp;
  } else s += '+';
  s += exp < 10 ? '0' + exp : String(exp);
  return s;
}

function fmtF(neg: boolean, dec: Dec, prec: number): string {
  let s = neg ? '-' : '';
  const { d, dp } = dec;
  if (dp > 0) {
    const m = Math.min(d.length, dp);
    s += d.slice(0, m) + '0'.repeat(dp - m);
  } else s += '0';
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) {
      const j = dp + i - 1;
      s += j >= 0 && j < d.length ? d[j] : '0';
    }
  }
  return s;
}

/** strconv.FormatFloat(x, fmt, prec, 64) for finite and non-finite x. */
function formatFloat(x: number, fmt: string, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const ax = Math.abs(x);
  switch (fmt) {
    case 'b':
      return fmtB(x);
    case 'x':
    case 'X':
      return fmtX(x, prec, fmt);
  }
  const shortest = prec < 0;
  let dec: Dec;
  if (shortest) {
    dec = shortestDecimal(ax);
    if (fmt === 'e' || fmt === 'E') prec = Math.max(dec.d.length - 1, 0);
    else if (fmt === 'f') prec = Math.max(dec.d.length - dec.dp, 0);
    else prec = dec.d.length;
  } else if (fmt === 'e' || fmt === 'E') {
    dec = roundedDecimal(ax, prec + 1, true);
  } else if (fmt === 'f') {
    dec = roundedDecimal(ax, prec, false);
  } else {
    if (prec === 0) prec = 1;
    dec = roundedDecimal(ax, prec, true);
  }
  switch (fmt) {
    case 'e':
    case 'E':
      return fmtE(neg, dec, prec, fmt);
    case 'f':
      return fmtF(neg, dec, prec);
    default: {
      // 'g' / 'G'
      let eprec = prec;
      if (eprec > dec.d.length && dec.d.length >= dec.dp) eprec = dec.d.length;
      if (shortest) eprec = 6;
      const exp = dec.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (prec > dec.d.length) prec = dec.d.length;
        return fmtE(neg, dec, prec - 1, fmt === 'g' ? 'e' : 'E');
      }
      if (prec > dec.dp) prec = dec.d.length;
      return fmtF(neg, dec, Math.max(prec - dec.dp, 0));
    }
  }
}

function fmtB(x: number): string {
  const { neg, mant, exp, biasedExp } = floatBits(x);
  const e = (biasedExp === 0 ? -1022 : exp) - 52;
  return (neg ? '-' : '') + mant.toString() + 'p' + (e >= 0 ? '+' : '-') + Math.abs(e);
}

function fmtX(x: number, prec: number, fmt: string): string {
  const bits = floatBits(x);
  let mant = bits.mant;
  let exp = bits.exp;
  if (mant === 0n) exp = 0;
  mant <<= 8n; // leading 1 at bit 60
  while (mant !== 0n && (mant & (1n << 60n)) === 0n) {
    mant <<= 1n;
    exp--;
  }
  const M60 = (1n << 60n) - 1n;
  if (prec >= 0 && prec < 15) {
    const shift = BigInt(prec * 4);
    const extra = (mant << shift) & M60;
    mant >>= 60n - shift;
    if ((extra | (mant & 1n)) > 1n << 59n) mant++;
    mant <<= 60n - shift;
    if ((mant & (1n << 61n)) !== 0n) {
      mant >>= 1n;
      exp++;
    }
  }
  const hex = fmt === 'X' ? '0123456789ABCDEF' : '0123456789abcdef';
  let s = (bits.neg ? '-' : '') + '0' + fmt + String((mant >> 60n) & 1n);
  mant = (mant << 4n) & ((1n << 64n) - 1n);
  if (prec < 0 && mant !== 0n) {
    s += '.';
    while (mant !== 0n) {
      s += hex[Number((mant >> 60n) & 15n)];
      mant = (mant << 4n) & ((1n << 64n) - 1n);
    }
  } else if (prec > 0) {
    s += '.';
    for (let i = 0; i < prec; i++) {
      s += hex[Number((mant >> 60n) & 15n)];
      mant = (mant << 4n) & ((1n << 64n) - 1n);
    }
  }
  s += fmt === 'X' ? 'P' : 'p';
  if (exp < 0) {
    s += '-';
    exp = -exp;
  } else s += '+';
  s += exp < 10 ? '0' + exp : String(exp);
  return s;
}

/** fmt.Sprintf("%.4g", v) (no flags or width, so fmt adds nothing to strconv's text): the humanize* workhorse. */
function g4(v: number): string {
  return formatFloat(v, 'g', 4);
}

// ---------------------------------------------------------------------------------------------
// strconv: quoting and parsing
// ---------------------------------------------------------------------------------------------

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function isPrintRune(r: number): boolean {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  if (r >= 0xd800 && r <= 0xdfff) return false;
  return PRINTABLE.test(String.fromCodePoint(r));
}

function hex4(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function appendEscapedRune(r: number, quote: number, asciiOnly: boolean): string {
  if (r === quote || r === 0x5c) return '\\' + String.fromCharCode(r);
  if (asciiOnly ? r < 0x80 && isPrintRune(r) : isPrintRune(r)) return String.fromCodePoint(r);
  switch (r) {
    case 7:
      return '\\a';
    case 8:
      return '\\b';
    case 12:
      return '\\f';
    case 10:
      return '\\n';
    case 13:
      return '\\r';
    case 9:
      return '\\t';
    case 11:
      return '\\v';
  }
  if (r < 0x20 || r === 0x7f) return '\\x' + hex4(r, 2);
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  if (r < 0x10000) return '\\u' + hex4(r, 4);
  return '\\U' + hex4(r, 8);
}

/** strconv.Quote / QuoteToASCII. */
function goQuote(s: string, asciiOnly = false): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) {
      out += s[i];
      continue;
    }
    const r = s.codePointAt(i)!;
    if (r > 0xffff) i++;
    out += appendEscapedRune(r, 0x22, asciiOnly);
  }
  return out + '"';
}

function goQuoteRune(r: number, asciiOnly = false): string {
  if (r > 0x10ffff || r < 0 || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  return "'" + appendEscapedRune(r, 0x27, asciiOnly) + "'";
}

function canBackquote(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x60 || c === 0xfeff) return false;
    if (c < 0x20 && c !== 9) return false;
    if (c === 0x7f) return false;
  }
  return true;
}

/** %.Nq-style precision truncation: the first n runes. */
function truncateRunes(s: string, n: number): string {
  let i = 0;
  let k = 0;
  while (i < s.length && k < n) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
    k++;
  }
  return s.slice(0, i);
}

/** Go's underscoreOK: underscores only between digits or after a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0') {
    const p = s[1].toLowerCase();
    if (p === 'b' || p === 'o' || p === 'x') {
      hex = p === 'x';
      i = 2;
      saw = '0';
    }
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** strconv.ParseUint / ParseInt with base 0 and bitSize 64; null on any error. */
function parseGoInt(s: string, signed: boolean): bigint | null {
  if (s.length === 0) return null;
  let neg = false;
  let t = s;
  if (signed && (t[0] === '+' || t[0] === '-')) {
    neg = t[0] === '-';
    t = t.slice(1);
    if (t.length === 0) return null;
  }
  let base = 10;
  let body = t;
  if (t[0] === '0') {
    if (t.length >= 3 && (t[1] === 'x' || t[1] === 'X')) {
      base = 16;
      body = t.slice(2);
    } else if (t.length >= 3 && (t[1] === 'o' || t[1] === 'O')) {
      base = 8;
      body = t.slice(2);
    } else if (t.length >= 3 && (t[1] === 'b' || t[1] === 'B')) {
      base = 2;
      body = t.slice(2);
    } else {
      base = 8;
      body = t.slice(1);
      if (body.length === 0) return neg ? -0n : 0n;
    }
  }
  if (body.includes('_') && !underscoreOK(s)) return null;
  body = body.replaceAll('_', '');
  if (body.length === 0) return null;
  const digits = '0123456789abcdef'.slice(0, base);
  let v = 0n;
  const B = BigInt(base);
  for (const ch of body.toLowerCase()) {
    const dv = digits.indexOf(ch);
    if (dv < 0) return null;
    v = v * B + BigInt(dv);
  }
  if (neg) v = -v;
  if (signed) {
    if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) return null;
  } else if (v > 0xffffffffffffffffn) return null;
  return v;
}

const DEC_FLOAT_RE = /^[+-]?(?:\d[\d_]*\.?[\d_]*|\.[\d_]+)(?:[eE][+-]?[\d_]+)?$/;
const HEX_FLOAT_RE = /^([+-]?)0[xX]([0-9a-fA-F_]*)\.?([0-9a-fA-F_]*)[pP]([+-]?[\d_]+)$/;

/** strconv.ParseFloat(s, 64): value, or an error kind. */
function parseGoFloat(s: string): { v: number; err: null | 'syntax' | 'range' } {
  const lower = s.toLowerCase();
  const unsigned = lower[0] === '+' || lower[0] === '-' ? lower.slice(1) : lower;
  const sign = lower[0] === '-' ? -1 : 1;
  if (unsigned === 'inf' || unsigned === 'infinity') return { v: sign * Infinity, err: null };
  if (unsigned === 'nan' && lower === unsigned) return { v: NaN, err: null };
  if (unsigned === 'nan') return { v: 0, err: 'syntax' };
  let v: number;
  if (DEC_FLOAT_RE.test(s)) {
    if (s.includes('_') && !underscoreOK(s)) return { v: 0, err: 'syntax' };
    v = Number(s.replaceAll('_', ''));
    if (Number.isNaN(v)) return { v: 0, err: 'syntax' };
  } else {
    const m = HEX_FLOAT_RE.exec(s);
    if (!m || (m[2] === '' && m[3] === '')) return { v: 0, err: 'syntax' };
    if (s.includes('_') && !underscoreOK(s)) return { v: 0, err: 'syntax' };
    const intDigits = m[2].replaceAll('_', '');
    const fracDigits = m[3].replaceAll('_', '');
    const mant = BigInt('0x' + (intDigits + fracDigits || '0'));
    const e = Number(m[4].replaceAll('_', '')) - 4 * fracDigits.length;
    v = Number(mant) * 2 ** e;
    if (!Number.isFinite(v) && mant !== 0n) {
      // Split the scaling to avoid intermediate overflow/underflow.
      v = Number(mant) * 2 ** Math.trunc(e / 2) * 2 ** (e - Math.trunc(e / 2));
    }
    if (m[1] === '-') v = -v;
  }
  if (!Number.isFinite(v)) return { v, err: 'range' };
  return { v, err: null };
}

function parseFloatError(s: string, err: 'syntax' | 'range'): string {
  return `strconv.ParseFloat: parsing ${goQuote(s)}: ${err === 'syntax' ? 'invalid syntax' : 'value out of range'}`;
}

/** strconv.Unquote for the template lexer's string, raw string and char tokens. */
function goUnquote(s: string): string | null {
  const q = s[0];
  if (s.length < 2 || s[s.length - 1] !== q) return null;
  if (q === '`') {
    const body = s.slice(1, -1);
    if (body.includes('`')) return null;
    return body.replaceAll('\r', '');
  }
  if (q !== '"' && q !== "'") return null;
  const body = s.slice(1, -1);
  let out = '';
  let i = 0;
  let n = 0;
  while (i < body.length) {
    const r = unquoteChar(body, i, q);
    if (r === null) return null;
    out += r.s;
    i = r.next;
    n++;
  }
  if (q === "'" && n !== 1) return null;
  return out;
}

/** strconv.UnquoteChar: one (possibly escaped) character of a quoted literal. */
function unquoteChar(s: string, i: number, quote: string): { s: string; next: number; r: number } | null {
  const c = s[i];
  if (c === quote && (quote === "'" || quote === '"')) return null;
  if (c !== '\\') {
    const r = s.codePointAt(i)!;
    if (r === 10 && quote !== '`') return null;
    const w = r > 0xffff ? 2 : 1;
    return { s: s.slice(i, i + w), next: i + w, r };
  }
  if (i + 1 >= s.length) return null;
  const e = s[i + 1];
  const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
  if (Object.hasOwn(simple, e)) return { s: simple[e], next: i + 2, r: simple[e].charCodeAt(0) };
  if (e === "'" || e === '"') {
    if (e !== quote) return null;
    return { s: e, next: i + 2, r: e.charCodeAt(0) };
  }
  let n = 0;
  switch (e) {
    case 'x':
      n = 2;
      break;
    case 'u':
      n = 4;
      break;
    case 'U':
      n = 8;
      break;
  }
  if (n > 0) {
    const h = s.slice(i + 2, i + 2 + n);
    if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) return null;
    const v = parseInt(h, 16);
    if (e === 'x') {
      // A single byte; bytes >= 0x80 cannot be represented in a JS string faithfully.
      return { s: String.fromCharCode(v), next: i + 2 + n, r: v };
    }
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return null;
    return { s: String.fromCodePoint(v), next: i + 2 + n, r: v };
  }
  if (e >= '0' && e <= '7') {
    const o = s.slice(i + 1, i + 4);
    if (o.length !== 3 || !/^[0-7]{3}$/.test(o)) return null;
    const v = parseInt(o, 8);
    if (v > 255) return null;
    return { s: String.fromCharCode(v), next: i + 4, r: v };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// fmt: Sprintf / Sprint / Sprintln over Go values
// ---------------------------------------------------------------------------------------------

const LDIGITS = '0123456789abcdefx';
const UDIGITS = '0123456789ABCDEFX';
const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The String() of Go values that are fmt.Stringers, or null. */
function stringerOf(v: Val): string | null {
  if (v instanceof GoTime) return timeString(v.ms);
  if (v instanceof GoInt) {
    if (v.type === 'time.Month') {
      const m = Number(v.v);
      return m >= 1 && m <= 12 ? MONTH_NAMES[m - 1] : `%!Month(${m})`;
    }
    if (v.type === 'time.Weekday') {
      const d = Number(v.v);
      return d >= 0 && d <= 6 ? DAY_NAMES[d] : `%!Weekday(${d})`;
    }
  }
  return null;
}

const fakeAddresses = new WeakMap<object, number>();
let nextFakeAddress = 0xc000010000;
/** Go prints pointer addresses; ours are stable per object but, of course, not Go's. */
function fakeAddress(o: object): number {
  let a = fakeAddresses.get(o);
  if (a === undefined) {
    a = nextFakeAddress;
    nextFakeAddress += 0x30;
    fakeAddresses.set(o, a);
  }
  return a;
}

class Printer {
  buf = '';
  plus = false;
  minus = false;
  sharp = false;
  space = false;
  zero = false;
  plusV = false;
  sharpV = false;
  wid = 0;
  widPresent = false;
  prec = 0;
  precPresent = false;
  // The argument being printed, for badVerb.
  private arg: Val | typeof ABSENT = ABSENT;
  private erroring = false;

  clearFlags(): void {
    this.plus = this.minus = this.sharp = this.space = this.zero = false;
    this.plusV = this.sharpV = false;
    this.wid = this.prec = 0;
    this.widPresent = this.precPresent = false;
  }

  private writePadding(n: number): void {
    if (n <= 0) return;
    this.buf += (this.zero ? '0' : ' ').repeat(n);
  }

  pad(s: string): void {
    if (!this.widPresent || this.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.wid - runeCount(s);
    if (!this.minus) {
      this.writePadding(width);
      this.buf += s;
    } else {
      this.buf += s;
      this.writePadding(width);
    }
  }

  private truncate(s: string): string {
    return this.precPresent ? truncateRunes(s, this.prec) : s;
  }

  fmtS(s: string): void {
    this.pad(this.truncate(s));
  }

  private fmtSx(s: string, digits: string): void {
    const bytes = Buffer.from(s, 'utf8');
    let length = bytes.length;
    if (this.precPresent && this.prec < length) length = this.prec;
    let width = 2 * length;
    if (width > 0) {
      if (this.space) {
        if (this.sharp) width *= 2;
        width += length - 1;
      } else if (this.sharp) width += 2;
    } else {
      if (this.widPresent) this.writePadding(this.wid);
      return;
    }
    if (this.widPresent && this.wid > width && !this.minus) this.writePadding(this.wid - width);
    let out = '';
    if (this.sharp) out += '0' + digits[16];
    for (let i = 0; i < length; i++) {
      if (this.space && i > 0) {
        out += ' ';
        if (this.sharp) out += '0' + digits[16];
      }
      const c = bytes[i];
      out += digits[c >> 4] + digits[c & 15];
    }
    this.buf += out;
    if (this.widPresent && this.wid > width && this.minus) this.writePadding(this.wid - width);
  }

  private fmtQ(s: string): void {
    s = this.truncate(s);
    if (this.sharp && canBackquote(s)) {
      this.pad('`' + s + '`');
      return;
    }
    this.pad(goQuote(s, this.plus));
  }

  private fmtBool(b: boolean, verb: string): void {
    if (verb === 't' || verb === 'v') this.pad(b ? 'true' : 'false');
    else this.badVerb(verb);
  }

  private fmtString(s: string, verb: string): void {
    switch (verb) {
      case 'v':
        if (this.sharpV) this.fmtQ(s);
        else this.fmtS(s);
        return;
      case 's':
        this.fmtS(s);
        return;
      case 'x':
        this.fmtSx(s, LDIGITS);
        return;
      case 'X':
        this.fmtSx(s, UDIGITS);
        return;
      case 'q':
        this.fmtQ(s);
        return;
    }
    this.badVerb(verb);
  }

  /** fmt.fmtInteger: u is the signed or unsigned value. */
  private fmtIntegerBase(u: bigint, base: number, verb: string, digits: string): void {
    const negative = u < 0n;
    if (negative) u = -u;
    let prec = 0;
    if (this.precPresent) {
      prec = this.prec;
      if (prec === 0 && u === 0n) {
        const oldZero = this.zero;
        this.zero = false;
        this.writePadding(this.wid);
        this.zero = oldZero;
        return;
      }
    } else if (this.zero && this.widPresent) {
      prec = this.wid;
      if (negative || this.plus || this.space) prec--;
    }
    let s = u.toString(base);
    if (digits === UDIGITS) s = s.toUpperCase();
    if (s.length < prec) s = '0'.repeat(prec - s.length) + s;
    if (this.sharp) {
      if (base === 2) s = '0b' + s;
      else if (base === 8) {
        if (s[0] !== '0') s = '0' + s;
      } else if (base === 16) s = '0' + digits[16] + s;
    }
    if (verb === 'O') s = '0o' + s;
    if (negative) s = '-' + s;
    else if (this.plus) s = '+' + s;
    else if (this.space) s = ' ' + s;
    const oldZero = this.zero;
    this.zero = false;
    this.pad(s);
    this.zero = oldZero;
  }

  private fmtC(c: bigint): void {
    const r = c < 0n || c > 0x10ffffn || (c >= 0xd800n && c <= 0xdfffn) ? 0xfffd : Number(c);
    this.pad(String.fromCodePoint(r));
  }

  private fmtQc(c: bigint): void {
    const r = c < 0n || c > 0x10ffffn ? 0xfffd : Number(c);
    this.pad(goQuoteRune(r, this.plus));
  }

  private fmtUnicode(u: bigint): void {
    if (u < 0n) u += 1n << 64n;
    let prec = 4;
    if (this.precPresent && this.prec > 4) prec = this.prec;
    let s = u.toString(16).toUpperCase();
    if (s.length < prec) s = '0'.repeat(prec - s.length) + s;
    s = 'U+' + s;
    if (this.sharp && u <= 0x10ffffn && isPrintRune(Number(u))) s += " '" + String.fromCodePoint(Number(u)) + "'";
    const oldZero = this.zero;
    this.zero = false;
    this.pad(s);
    this.zero = oldZero;
  }

  private fmtInteger(v: bigint, unsigned: boolean, verb: string): void {
    switch (verb) {
      case 'v':
        if (this.sharpV && unsigned) {
          const oldSharp = this.sharp;
          this.sharp = true;
          this.fmtIntegerBase(v, 16, 'v', LDIGITS);
          this.sharp = oldSharp;
        } else this.fmtIntegerBase(v, 10, verb, LDIGITS);
        return;
      case 'd':
        this.fmtIntegerBase(v, 10, verb, LDIGITS);
        return;
      case 'b':
        this.fmtIntegerBase(v, 2, verb, LDIGITS);
        return;
      case 'o':
      case 'O':
        this.fmtIntegerBase(v, 8, verb, LDIGITS);
        return;
      case 'x':
        this.fmtIntegerBase(v, 16, verb, LDIGITS);
        return;
      case 'X':
        this.fmtIntegerBase(v, 16, verb, UDIGITS);
        return;
      case 'c':
        this.fmtC(v);
        return;
      case 'q':
        this.fmtQc(v);
        return;
      case 'U':
        this.fmtUnicode(v);
        return;
    }
    this.badVerb(verb);
  }

  private fmtFloatImpl(v: number, verb: string, prec: number): void {
    if (this.precPresent) prec = this.prec;
    let num = formatFloat(v, verb === 'F' ? 'f' : verb, prec);
    let sign: string;
    if (num[0] === '-' || num[0] === '+') {
      sign = num[0];
      num = num.slice(1);
    } else sign = '+';
    if (this.space && sign === '+' && !this.plus) sign = ' ';
    if (num[0] === 'I' || num[0] === 'N') {
      const oldZero = this.zero;
      this.zero = false;
      if (num[0] === 'N' && !this.space && !this.plus) this.pad(num);
      else this.pad(sign + num);
      this.zero = oldZero;
      return;
    }
    if (this.sharp && verb !== 'b') {
      let digits = 0;
      if (verb === 'v' || verb === 'g' || verb === 'G' || verb === 'x') {
        digits = prec;
        if (digits === -1) digits = 6;
      }
      let tail = '';
      let mant = num;
      for (let i = 0; i < num.length; i++) {
        const c = num[i];
        if (c === 'p' || c === 'P' || ((c === 'e' || c === 'E') && verb !== 'x' && verb !== 'X')) {
          tail = num.slice(i);
          mant = num.slice(0, i);
          break;
        }
      }
      let hasDecimalPoint = false;
      let sawNonzeroDigit = false;
      for (let i = 0; i < mant.length; i++) {
        const c = mant[i];
        if (c === '.') hasDecimalPoint = true;
        else {
          if (c !== '0') sawNonzeroDigit = true;
          if (sawNonzeroDigit) digits--;
        }
      }
      if (!hasDecimalPoint) {
        if (mant === '0') digits--;
        mant += '.';
      }
      if (digits > 0) mant += '0'.repeat(digits);
      num = mant + tail;
    }
    if (this.plus || sign !== '+') {
      if (this.zero && this.widPresent && this.wid > num.length + 1) {
        this.buf += sign;
        this.writePadding(this.wid - num.length - 1);
        this.buf += num;
        return;
      }
      this.pad(sign + num);
      return;
    }
    this.pad(num);
  }

  private fmtFloat(v: number, verb: string): void {
    switch (verb) {
      case 'v':
        this.fmtFloatImpl(v, 'g', -1);
        return;
      case 'b':
      case 'g':
      case 'G':
      case 'x':
      case 'X':
        this.fmtFloatImpl(v, verb, -1);
        return;
      case 'f':
      case 'e':
      case 'E':
      case 'F':
        this.fmtFloatImpl(v, verb, 6);
        return;
    }
    this.badVerb(verb);
  }

  private fmtPointer(o: object | null, verb: string, typ: string): void {
    const u = o === null ? 0n : BigInt(fakeAddress(o));
    switch (verb) {
      case 'v':
        if (this.sharpV) {
          this.buf += '(' + typ + ')(';
          this.buf += u === 0n ? 'nil' : '0x' + u.toString(16);
          this.buf += ')';
        } else if (u === 0n) this.pad('<nil>');
        else {
          const oldSharp = this.sharp;
          this.sharp = !this.sharp;
          this.fmtIntegerBase(u, 16, 'v', LDIGITS);
          this.sharp = oldSharp;
        }
        return;
      case 'p': {
        const oldSharp = this.sharp;
        this.sharp = !this.sharp;
        this.fmtIntegerBase(u, 16, 'v', LDIGITS);
        this.sharp = oldSharp;
        return;
      }
      case 'b':
      case 'o':
      case 'd':
      case 'x':
      case 'X':
        this.fmtInteger(u, true, verb);
        return;
    }
    this.badVerb(verb);
  }

  badVerb(verb: string): void {
    this.erroring = true;
    this.buf += '%!' + verb + '(';
    const arg = this.arg;
    if (arg !== ABSENT && arg !== undefined && arg !== NIL_IFACE) {
      this.buf += typeName(arg) + '=';
      this.printArg(arg, 'v');
    } else this.buf += '<nil>';
    this.buf += ')';
    this.erroring = false;
  }

  printArg(arg: Val, verb: string): void {
    this.arg = arg;
    if (arg === undefined || arg === NIL_IFACE) {
      if (verb === 'T' || verb === 'v') this.pad('<nil>');
      else this.badVerb(verb);
      return;
    }
    if (verb === 'T') {
      this.fmtS(typeName(arg));
      return;
    }
    if (verb === 'p') {
      if (arg === null || arg instanceof GoSample || (arg instanceof GoTime && arg.ptr)) {
        this.fmtPointer(arg, 'p', typeName(arg));
      } else this.badVerb(verb);
      return;
    }
    switch (typeof arg) {
      case 'boolean':
        this.fmtBool(arg, verb);
        return;
      case 'number':
        this.fmtFloat(arg, verb);
        return;
      case 'string':
        this.fmtString(arg, verb);
        return;
    }
    if (arg instanceof GoInt && stringerOf(arg) === null) {
      this.fmtInteger(arg.v, arg.unsigned, verb);
      return;
    }
    if (!this.handleMethods(arg, verb)) this.printValue(arg, verb, 0);
  }

  private handleMethods(arg: Val, verb: string): boolean {
    if (this.erroring) return false;
    if (this.sharpV) {
      if (arg instanceof GoTime) {
        // time.Time implements GoStringer.
        this.fmtS(timeGoString(arg.ms, arg.ptr));
        return true;
      }
      return false;
    }
    if (verb === 'v' || verb === 's' || verb === 'x' || verb === 'X' || verb === 'q') {
      const s = stringerOf(arg);
      if (s !== null) {
        this.fmtString(s, verb);
        return true;
      }
    }
    return false;
  }

  printValue(v: Val, verb: string, depth: number): void {
    if (depth > 0 && v !== undefined && v !== NIL_IFACE) {
      this.arg = v;
      if (this.handleMethods(v, verb)) return;
    }
    this.arg = ABSENT;
    if (v === undefined || v === NIL_IFACE) {
      if (depth === 0) this.buf += '<invalid reflect.Value>';
      else if (verb === 'v') this.buf += this.sharpV ? 'interface {}(nil)' : '<nil>';
      else this.badVerb(verb);
      return;
    }
    switch (typeof v) {
      case 'boolean':
        this.arg = v;
        this.fmtBool(v, verb);
        return;
      case 'number':
        this.arg = v;
        this.fmtFloat(v, verb);
        return;
      case 'string':
        this.arg = v;
        this.fmtString(v, verb);
        return;
    }
    if (v instanceof GoInt) {
      this.arg = v;
      this.fmtInteger(v.v, v.unsigned, verb);
      return;
    }
    if (v instanceof GoHTML) {
      this.arg = v;
      this.fmtString(v.s, verb);
      return;
    }
    if (v instanceof GoMap) {
      if (this.sharpV) this.buf += v.type + '{';
      else this.buf += 'map[';
      const keys = v.sortedKeys();
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) this.buf += this.sharpV ? ', ' : ' ';
        this.printValue(keys[i], verb, depth + 1);
        this.buf += ':';
        this.printValue(v.m[keys[i]], verb, depth + 1);
      }
      this.buf += this.sharpV ? '}' : ']';
      return;
    }
    if (v instanceof AlertData) {
      this.printStruct(
        ALERT_DATA_TYPE,
        ['Labels', 'ExternalLabels', 'ExternalURL', 'Value'],
        [v.labels, v.externalLabels, v.externalURL, v.value],
        verb,
        depth,
      );
      return;
    }
    if (v instanceof GoSample) {
      if (depth === 0) {
        this.buf += '&';
        this.printStruct('template.sample', ['Labels', 'Value'], [v.labels, v.value], verb, depth + 1);
      } else {
        this.arg = v;
        this.fmtPointer(v, verb, '*template.sample');
      }
      return;
    }
    if (v === null) {
      this.fmtPointer(null, verb, '*template.sample');
      return;
    }
    if (v instanceof GoQueryResult) {
      if (this.sharpV) {
        this.buf += 'template.queryResult{';
        for (let i = 0; i < v.items.length; i++) {
          if (i > 0) this.buf += ', ';
          this.printValue(v.items[i], verb, depth + 1);
        }
        this.buf += '}';
        return;
      }
      this.buf += '[';
      for (let i = 0; i < v.items.length; i++) {
        if (i > 0) this.buf += ' ';
        this.printValue(v.items[i], verb, depth + 1);
      }
      this.buf += ']';
      return;
    }
    if (v instanceof GoTime) {
      // Only reached for verbs time.Time has no String() for (e.g. %d): Go prints its internal fields.
      this.arg = v;
      this.badVerb(verb);
      return;
    }
    this.buf += '?';
  }

  /** Prints a *sample dereferenced, as text/template's printableValue does. */
  printDeref(v: Val): void {
    if (v instanceof GoSample) this.printStruct('template.sample', ['Labels', 'Value'], [v.labels, v.value], 'v', 0);
    else this.printArg(v, 'v');
  }

  private printStruct(typ: string, names: string[], vals: Val[], verb: string, depth: number): void {
    if (this.sharpV) this.buf += typ;
    this.buf += '{';
    for (let i = 0; i < names.length; i++) {
      if (i > 0) this.buf += this.sharpV ? ', ' : ' ';
      if (this.plusV || this.sharpV) this.buf += names[i] + ':';
      this.printValue(vals[i], verb, depth + 1);
    }
    this.buf += '}';
  }
}

function isStringKind(v: Val): boolean {
  return typeof v === 'string' || v instanceof GoHTML;
}

/** fmt.Sprint. */
function goSprint(args: Val[]): string {
  const p = new Printer();
  let prevString = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const isString = isStringKind(arg);
    if (i > 0 && !isString && !prevString) p.buf += ' ';
    p.printArg(arg, 'v');
    prevString = isString;
  }
  return p.buf;
}

/** fmt.Sprintln. */
function goSprintln(args: Val[]): string {
  const p = new Printer();
  for (let i = 0; i < args.length; i++) {
    if (i > 0) p.buf += ' ';
    p.printArg(args[i], 'v');
  }
  return p.buf + '\n';
}

function tooLarge(x: number): boolean {
  return x > 1e6 || x < -1e6;
}

/** fmt.Sprintf. */
function goSprintf(format: string, a: Val[]): string {
  const p = new Printer();
  const end = format.length;
  let argNum = 0;
  let afterIndex = false;
  let reordered = false;
  let goodArgNum = true;

  const parsenum = (i: number): { num: number; ok: boolean; i: number } => {
    let num = 0;
    let ok = false;
    let j = i;
    for (; j < end; j++) {
      const c = format.charCodeAt(j);
      if (c < 48 || c > 57) break;
      if (tooLarge(num)) return { num: 0, ok: false, i: end };
      num = num * 10 + (c - 48);
      ok = true;
    }
    return { num, ok, i: j };
  };
  const argNumber = (i: number): { argNum: number; i: number; found: boolean } => {
    if (i >= end || format[i] !== '[') return { argNum, i, found: false };
    reordered = true;
    // parseArgNumber
    let index = 0;
    let wid = 1;
    let ok = false;
    if (end - i >= 3) {
      for (let j = i + 1; j < end; j++) {
        if (format[j] === ']') {
          const r = parsenum(i + 1);
          if (!r.ok || r.i !== j) {
            wid = j - i + 1;
            ok = false;
          } else {
            index = r.num - 1;
            wid = j - i + 1;
            ok = true;
          }
          break;
        }
      }
    }
    if (ok && index >= 0 && index < a.length) return { argNum: index, i: i + wid, found: true };
    goodArgNum = false;
    return { argNum, i: i + wid, found: ok };
  };
  const intFromArg = (): { num: number; isInt: boolean } => {
    let num = 0;
    let isInt = false;
    if (argNum < a.length) {
      const v = a[argNum];
      if (v instanceof GoInt) {
        if (v.v >= -(2n ** 63n) && v.v < 2n ** 63n) {
          num = Number(v.v);
          isInt = true;
        }
      }
      argNum++;
      if (tooLarge(num)) {
        num = 0;
        isInt = false;
      }
    }
    return { num, isInt };
  };

  let i = 0;
  formatLoop: while (i < end) {
    goodArgNum = true;
    const lasti = i;
    while (i < end && format.charCodeAt(i) !== 37) i++;
    if (i > lasti) p.buf += format.slice(lasti, i);
    if (i >= end) break;
    i++;
    p.clearFlags();
    simple: for (; i < end; i++) {
      const c = format[i];
      switch (c) {
        case '#':
          p.sharp = true;
          break;
        case '0':
          p.zero = !p.minus;
          break;
        case '+':
          p.plus = true;
          break;
        case '-':
          p.minus = true;
          p.zero = false;
          break;
        case ' ':
          p.space = true;
          break;
        default:
          if (c >= 'a' && c <= 'z' && argNum < a.length) {
            if (c === 'v') {
              p.sharpV = p.sharp;
              p.sharp = false;
              p.plusV = p.plus;
              p.plus = false;
            }
            p.printArg(a[argNum], c);
            argNum++;
            i++;
            continue formatLoop;
          }
          break simple;
      }
    }
    let r = argNumber(i);
    argNum = r.argNum;
    i = r.i;
    afterIndex = r.found;
    if (i < end && format[i] === '*') {
      i++;
      const w = intFromArg();
      p.wid = w.num;
      p.widPresent = w.isInt;
      if (!p.widPresent) p.buf += '%!(BADWIDTH)';
      if (p.wid < 0) {
        p.wid = -p.wid;
        p.minus = true;
        p.zero = false;
      }
      afterIndex = false;
    } else {
      const n = parsenum(i);
      p.wid = n.num;
      p.widPresent = n.ok;
      i = n.i;
      if (afterIndex && p.widPresent) goodArgNum = false;
    }
    if (i + 1 < end && format[i] === '.') {
      i++;
      if (afterIndex) goodArgNum = false;
      r = argNumber(i);
      argNum = r.argNum;
      i = r.i;
      afterIndex = r.found;
      if (i < end && format[i] === '*') {
        i++;
        const w = intFromArg();
        p.prec = w.num;
        p.precPresent = w.isInt;
        if (p.prec < 0) {
          p.prec = 0;
          p.precPresent = false;
        }
        if (!p.precPresent) p.buf += '%!(BADPREC)';
        afterIndex = false;
      } else {
        const n = parsenum(i);
        p.prec = n.num;
        p.precPresent = n.ok;
        i = n.i;
        if (!p.precPresent) {
          p.prec = 0;
          p.precPresent = true;
        }
      }
    }
    if (!afterIndex) {
      r = argNumber(i);
      argNum = r.argNum;
      i = r.i;
      afterIndex = r.found;
    }
    if (i >= end) {
      p.buf += '%!(NOVERB)';
      break;
    }
    const cp = format.codePointAt(i)!;
    const verb = String.fromCodePoint(cp);
    i += verb.length;
    if (verb === '%') p.buf += '%';
    else if (!goodArgNum) p.buf += '%!' + verb + '(BADINDEX)';
    else if (argNum >= a.length) p.buf += '%!' + verb + '(MISSING)';
    else {
      if (verb === 'v') {
        p.sharpV = p.sharp;
        p.sharp = false;
        p.plusV = p.plus;
        p.plus = false;
      }
      p.printArg(a[argNum], verb);
      argNum++;
    }
  }
  if (!reordered && argNum < a.length) {
    p.clearFlags();
    p.buf += '%!(EXTRA ';
    for (let k = argNum; k < a.length; k++) {
      if (k > argNum) p.buf += ', ';
      const arg = a[k];
      if (arg === undefined || arg === NIL_IFACE) p.buf += '<nil>';
      else {
        p.buf += typeName(arg) + '=';
        p.printArg(arg, 'v');
      }
    }
    p.buf += ')';
  }
  return p.buf;
}

// ---------------------------------------------------------------------------------------------
// time: formatting UTC times with Go layouts
// ---------------------------------------------------------------------------------------------

const STD_LAYOUT = '2006-01-02 15:04:05.999999999 -0700 MST';

interface TimeParts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  min: number;
  sec: number;
  nsec: number;
  wday: number;
  yday: number; // 1-366
}

function timeParts(ms: number): TimeParts {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const jan1 = new Date(0);
  jan1.setUTCFullYear(year, 0, 1);
  jan1.setUTCHours(0, 0, 0, 0);
  const yday = Math.floor((ms - jan1.getTime()) / 86400000) + 1;
  const msInSec = ((ms % 1000) + 1000) % 1000;
  return {
    year,
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    min: d.getUTCMinutes(),
    sec: d.getUTCSeconds(),
    nsec: msInSec * 1_000_000,
    wday: d.getUTCDay(),
    yday,
  };
}

function padInt(n: number, width: number): string {
  const neg = n < 0;
  let s = String(Math.abs(n));
  if (s.length < width) s = '0'.repeat(width - s.length) + s;
  return neg ? '-' + s : s;
}

function startsWithLower(s: string, i: number): boolean {
  if (i >= s.length) return false;
  const c = s.charCodeAt(i);
  return c >= 97 && c <= 122;
}

function isDigitAt(s: string, i: number): boolean {
  if (i >= s.length) return false;
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

/** time.Time.Format for a UTC time. */
function formatTime(ms: number, layout: string): string {
  const t = timeParts(ms);
  let out = '';
  let i = 0;
  let lit = 0;
  const flush = (to: number): void => {
    if (to > lit) out += layout.slice(lit, to);
  };
  while (i < layout.length) {
    const c = layout[i];
    let std = '';
    let len = 0;
    switch (c) {
      case 'J':
        if (layout.startsWith('Jan', i)) {
          if (layout.startsWith('January', i)) {
            std = 'January';
            len = 7;
          } else if (!startsWithLower(layout, i + 3)) {
            std = 'Jan';
            len = 3;
          }
        }
        break;
      case 'M':
        if (layout.startsWith('Mon', i)) {
          if (layout.startsWith('Monday', i)) {
            std = 'Monday';
            len = 6;
          } else if (!startsWithLower(layout, i + 3)) {
            std = 'Mon';
            len = 3;
          }
        }
        if (std === '' && layout.startsWith('MST', i)) {
          std = 'MST';
          len = 3;
        }
        break;
      case '0':
        if (i + 1 < layout.length && layout[i + 1] >= '1' && layout[i + 1] <= '6') {
          std = layout.slice(i, i + 2);
          len = 2;
        } else if (layout.startsWith('002', i)) {
          std = '002';
          len = 3;
        }
        break;
      case '1':
        if (layout.startsWith('15', i)) {
          std = '15';
          len = 2;
        } else {
          std = '1';
          len = 1;
        }
        break;
      case '2':
        if (layout.startsWith('2006', i)) {
          std = '2006';
          len = 4;
        } else {
          std = '2';
          len = 1;
        }
        break;
      case '_':
        if (layout[i + 1] === '2') {
          if (layout.startsWith('2006', i + 1)) {
            // "_2006" is a literal _ followed by the year.
            flush(i + 1);
            lit = i + 1;
            i++;
            continue;
          }
          std = '_2';
          len = 2;
        } else if (layout.startsWith('__2', i)) {
          std = '__2';
          len = 3;
        }
        break;
      case '3':
      case '4':
      case '5':
        std = c;
        len = 1;
        break;
      case 'P':
        if (layout[i + 1] === 'M') {
          std = 'PM';
          len = 2;
        }
        break;
      case 'p':
        if (layout[i + 1] === 'm') {
          std = 'pm';
          len = 2;
        }
        break;
      case '-':
      case 'Z':
        for (const z of ['070000', '07:00:00', '0700', '07:00', '07']) {
          if (layout.startsWith(z, i + 1)) {
            std = c + z;
            len = 1 + z.length;
            break;
          }
        }
        break;
      case '.':
      case ',':
        if (i + 1 < layout.length && (layout[i + 1] === '0' || layout[i + 1] === '9')) {
          const ch = layout[i + 1];
          let j = i + 1;
          while (j < layout.length && layout[j] === ch) j++;
          if (!isDigitAt(layout, j)) {
            std = c + ch.repeat(j - i - 1);
            len = j - i;
          }
        }
        break;
    }
    if (std === '') {
      i++;
      continue;
    }
    flush(i);
    i += len;
    lit = i;
    switch (std) {
      case '06':
        out += padInt(((t.year % 100) + 100) % 100, 2);
        break;
      case '2006':
        out += padInt(t.year, 4);
        break;
      case 'Jan':
        out += MONTH_NAMES[t.month - 1].slice(0, 3);
        break;
      case 'January':
        out += MONTH_NAMES[t.month - 1];
        break;
      case '1':
        out += String(t.month);
        break;
      case '01':
        out += padInt(t.month, 2);
        break;
      case 'Mon':
        out += DAY_NAMES[t.wday].slice(0, 3);
        break;
      case 'Monday':
        out += DAY_NAMES[t.wday];
        break;
      case '2':
        out += String(t.day);
        break;
      case '_2':
        out += (t.day < 10 ? ' ' : '') + t.day;
        break;
      case '02':
        out += padInt(t.day, 2);
        break;
      case '__2':
        out += String(t.yday).padStart(3, ' ');
        break;
      case '002':
        out += padInt(t.yday, 3);
        break;
      case '15':
        out += padInt(t.hour, 2);
        break;
      case '3':
        out += String(t.hour % 12 === 0 ? 12 : t.hour % 12);
        break;
      case '03':
        out += padInt(t.hour % 12 === 0 ? 12 : t.hour % 12, 2);
        break;
      case '4':
        out += String(t.min);
        break;
      case '04':
        out += padInt(t.min, 2);
        break;
      case '5':
        out += String(t.sec);
        break;
      case '05':
        out += padInt(t.sec, 2);
        break;
      case 'PM':
        out += t.hour >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += t.hour >= 12 ? 'pm' : 'am';
        break;
      case 'MST':
        out += 'UTC';
        break;
      default:
        if (std[0] === 'Z') out += 'Z';
        else if (std[0] === '-') {
          const z = std.slice(1);
          out += '+' + z.replace(/07|00/g, '00');
        } else {
          // Fractional seconds.
          const digits = std.length - 1;
          let frac = padInt(t.nsec, 9).slice(0, digits);
          if (std[1] === '9') {
            frac = frac.replace(/0+$/, '');
            if (frac.length > 0) out += std[0] + frac;
          } else out += std[0] + frac;
        }
    }
  }
  flush(layout.length);
  return out;
}

function timeString(ms: number): string {
  return formatTime(ms, STD_LAYOUT);
}

function timeGoString(ms: number, ptr: boolean): string {
  const t = timeParts(ms);
  let s = `time.Date(${t.year}, time.${MONTH_NAMES[t.month - 1]}, ${t.day}, ${t.hour}, ${t.min}, ${t.sec}, ${t.nsec}, time.UTC)`;
  if (ptr) s = '&' + s;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Lexer (text/template/parse/lex.go)
// ---------------------------------------------------------------------------------------------

const I_ERROR = 0;
const I_BOOL = 1;
const I_CHAR = 2;
const I_CHAR_CONSTANT = 3;
const I_COMPLEX = 4;
const I_ASSIGN = 5;
const I_DECLARE = 6;
const I_EOF = 7;
const I_FIELD = 8;
const I_IDENTIFIER = 9;
const I_LEFT_DELIM = 10;
const I_LEFT_PAREN = 11;
const I_NUMBER = 12;
const I_PIPE = 13;
const I_RAW_STRING = 14;
const I_RIGHT_DELIM = 15;
const I_RIGHT_PAREN = 16;
const I_SPACE = 17;
const I_STRING = 18;
const I_TEXT = 19;
const I_VARIABLE = 20;
const I_KEYWORD = 21; // keywords follow
const I_BLOCK = 22;
const I_BREAK = 23;
const I_CONTINUE = 24;
const I_DOT = 25;
const I_DEFINE = 26;
const I_ELSE = 27;
const I_END = 28;
const I_IF = 29;
const I_NIL = 30;
const I_RANGE = 31;
const I_TEMPLATE = 32;
const I_WITH = 33;

const KEYWORDS: Record<string, number> = {
  '.': I_DOT,
  block: I_BLOCK,
  break: I_BREAK,
  continue: I_CONTINUE,
  define: I_DEFINE,
  else: I_ELSE,
  end: I_END,
  if: I_IF,
  range: I_RANGE,
  nil: I_NIL,
  template: I_TEMPLATE,
  with: I_WITH,
};

interface Item {
  typ: number;
  pos: number;
  val: string;
  line: number;
}

/** item.String() as the parser's error messages print it. */
function itemString(it: Item): string {
  if (it.typ === I_EOF) return 'EOF';
  if (it.typ === I_ERROR) return it.val;
  if (it.typ > I_KEYWORD) return `<${it.val}>`;
  if (byteLength(it.val) > 10) return goQuote(truncateRunes(it.val, 10)) + '...';
  return goQuote(it.val);
}

const LEFT_DELIM = '{{';
const RIGHT_DELIM = '}}';
const LEFT_COMMENT = '/*';
const RIGHT_COMMENT = '*/';
const EOF_RUNE = -1;

function isSpaceRune(r: number): boolean {
  return r === 0x20 || r === 0x09 || r === 0x0d || r === 0x0a;
}

const LETTER_RE = /^\p{L}$/u;
const DIGIT_RE = /^\p{Nd}$/u;

function isAlphaNumeric(r: number): boolean {
  if (r < 0x80) {
    return r === 0x5f || (r >= 0x30 && r <= 0x39) || (r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a);
  }
  if (r === EOF_RUNE) return false;
  const s = String.fromCodePoint(r);
  return LETTER_RE.test(s) || DIGIT_RE.test(s);
}

function hexRune(r: number): string {
  // %#U
  let s = 'U+' + r.toString(16).toUpperCase().padStart(4, '0');
  if (isPrintRune(r)) s += " '" + String.fromCodePoint(r) + "'";
  return s;
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}

function rightTrimLength(s: string, from: number, to: number): number {
  let i = to;
  while (i > from && isSpaceRune(s.charCodeAt(i - 1))) i--;
  return to - i;
}

function leftTrimLength(s: string, from: number): number {
  let i = from;
  while (i < s.length && isSpaceRune(s.charCodeAt(i))) i++;
  return i - from;
}

function hasLeftTrimMarker(s: string, i: number): boolean {
  return i + 1 < s.length && s[i] === '-' && isSpaceRune(s.charCodeAt(i + 1));
}

function hasRightTrimMarker(s: string, i: number): boolean {
  return i + 1 < s.length && isSpaceRune(s.charCodeAt(i)) && s[i + 1] === '-';
}

/** Tokenizes the whole input up front; the parser consumes the items in order exactly as Go's would. */
function lexAll(input: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let start = 0;
  let width = 0;
  let line = 1;
  let startLine = 1;
  let parenDepth = 0;
  let done = false;

  const next = (): number => {
    if (pos >= input.length) {
      width = 0;
      return EOF_RUNE;
    }
    const r = input.codePointAt(pos)!;
    width = r > 0xffff ? 2 : 1;
    pos += width;
    if (r === 10) line++;
    return r;
  };
  const backup = (): void => {
    pos -= width;
    if (width === 1 && input.charCodeAt(pos) === 10) line--;
  };
  const peek = (): number => {
    const r = next();
    backup();
    return r;
  };
  const thisItem = (typ: number): Item => {
    const it = { typ, pos: start, val: input.slice(start, pos), line: startLine };
    start = pos;
    startLine = line;
    return it;
  };
  const emit = (typ: number): void => {
    items.push(thisItem(typ));
  };
  const ignore = (): void => {
    line += countNewlines(input, start, pos);
    start = pos;
    startLine = line;
  };
  const errorf = (msg: string): void => {
    items.push({ typ: I_ERROR, pos: start, val: msg, line: startLine });
    done = true;
  };
  /** A "…" string or a '…' character constant: backslash escapes, no newline inside (Go's lexQuote/lexChar). */
  const lexQuote = (quote: number, typ: number, unterminated: string): void => {
    for (;;) {
      const c = next();
      if (c === 0x5c) {
        const e = next();
        if (e !== EOF_RUNE && e !== 10) continue;
      }
      if (c === 0x5c || c === EOF_RUNE || c === 10) {
        errorf(unterminated);
        break;
      }
      if (c === quote) break;
    }
    if (!done) emit(typ);
  };
  const accept = (valid: string): boolean => {
    const r = next();
    if (r !== EOF_RUNE && valid.includes(String.fromCodePoint(r))) return true;
    backup();
    return false;
  };
  const acceptRun = (valid: string): void => {
    for (;;) {
      const r = next();
      if (r === EOF_RUNE || !valid.includes(String.fromCodePoint(r))) break;
    }
    backup();
  };
  const atRightDelim = (): { delim: boolean; trim: boolean } => {
    if (hasRightTrimMarker(input, pos) && input.startsWith(RIGHT_DELIM, pos + 2)) return { delim: true, trim: true };
    if (input.startsWith(RIGHT_DELIM, pos)) return { delim: true, trim: false };
    return { delim: false, trim: false };
  };
  const atTerminator = (): boolean => {
    const r = peek();
    if (isSpaceRune(r)) return true;
    switch (r) {
      case EOF_RUNE:
      case 0x2e: // .
      case 0x2c: // ,
      case 0x7c: // |
      case 0x3a: // :
      case 0x29: // )
      case 0x28: // (
        return true;
    }
    return input.startsWith(RIGHT_DELIM, pos);
  };
  const scanNumber = (): boolean => {
    accept('+-');
    let digits = '0123456789_';
    if (accept('0')) {
      if (accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (accept('oO')) digits = '01234567_';
      else if (accept('bB')) digits = '01_';
    }
    acceptRun(digits);
    if (accept('.')) acceptRun(digits);
    if (digits.length === 11 && accept('eE')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    if (digits.length === 23 && accept('pP')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    accept('i');
    if (isAlphaNumeric(peek())) {
      next();
      return false;
    }
    return true;
  };

  type State = 'text' | 'leftDelim' | 'comment' | 'rightDelim' | 'inside';
  let state: State = 'text';
  while (!done) {
    switch (state) {
      case 'text': {
        const x = input.indexOf(LEFT_DELIM, pos);
        if (x >= 0) {
          if (x > pos) {
            pos = x;
            let trimLength = 0;
            if (hasLeftTrimMarker(input, pos + LEFT_DELIM.length)) trimLength = rightTrimLength(input, start, pos);
            pos -= trimLength;
            line += countNewlines(input, start, pos);
            const it = thisItem(I_TEXT);
            pos += trimLength;
            ignore();
            if (it.val.length > 0) items.push(it);
          }
          state = 'leftDelim';
          break;
        }
        pos = input.length;
        if (pos > start) {
          line += countNewlines(input, start, pos);
          emit(I_TEXT);
        }
        emit(I_EOF);
        done = true;
        break;
      }
      case 'leftDelim': {
        pos += LEFT_DELIM.length;
        const trim = hasLeftTrimMarker(input, pos);
        const afterMarker = trim ? 2 : 0;
        if (input.startsWith(LEFT_COMMENT, pos + afterMarker)) {
          pos += afterMarker;
          ignore();
          state = 'comment';
          break;
        }
        const it = thisItem(I_LEFT_DELIM);
        pos += afterMarker;
        ignore();
        parenDepth = 0;
        items.push(it);
        state = 'inside';
        break;
      }
      case 'comment': {
        pos += LEFT_COMMENT.length;
        const x = input.indexOf(RIGHT_COMMENT, pos);
        if (x < 0) {
          errorf('unclosed comment');
          break;
        }
        pos = x + RIGHT_COMMENT.length;
        const { delim, trim } = atRightDelim();
        if (!delim) {
          errorf('comment ends before closing delimiter');
          break;
        }
        thisItem(I_TEXT); // the comment item; text/template does not emit comments
        if (trim) pos += 2;
        pos += RIGHT_DELIM.length;
        if (trim) pos += leftTrimLength(input, pos);
        ignore();
        state = 'text';
        break;
      }
      case 'rightDelim': {
        const { trim } = atRightDelim();
        if (trim) {
          pos += 2;
          ignore();
        }
        pos += RIGHT_DELIM.length;
        const it = thisItem(I_RIGHT_DELIM);
        if (trim) {
          pos += leftTrimLength(input, pos);
          ignore();
        }
        items.push(it);
        state = 'text';
        break;
      }
      case 'inside': {
        const { delim } = atRightDelim();
        if (delim) {
          if (parenDepth === 0) state = 'rightDelim';
          else errorf('unclosed left paren');
          break;
        }
        const r = next();
        if (r === EOF_RUNE) {
          errorf('unclosed action');
          break;
        }
        if (isSpaceRune(r)) {
          backup();
          // lexSpace
          let numSpaces = 0;
          for (;;) {
            const p = peek();
            if (!isSpaceRune(p)) break;
            next();
            numSpaces++;
          }
          if (hasRightTrimMarker(input, pos - 1) && input.startsWith(RIGHT_DELIM, pos - 1 + 2)) {
            backup();
            if (numSpaces === 1) {
              state = 'rightDelim';
              break;
            }
          }
          emit(I_SPACE);
          break;
        }
        switch (r) {
          case 0x3d: // =
            emit(I_ASSIGN);
            continue;
          case 0x3a: // :
            if (next() !== 0x3d) errorf('expected :=');
            else emit(I_DECLARE);
            continue;
          case 0x7c: // |
            emit(I_PIPE);
            continue;
          case 0x22: // "
            lexQuote(0x22, I_STRING, 'unterminated quoted string');
            continue;
          case 0x60: {
            // `
            for (;;) {
              const c = next();
              if (c === EOF_RUNE) {
                errorf('unterminated raw quoted string');
                break;
              }
              if (c === 0x60) break;
            }
            if (!done) emit(I_RAW_STRING);
            continue;
          }
          case 0x24: {
            // $
            if (atTerminator()) {
              emit(I_VARIABLE);
              continue;
            }
            let c: number;
            for (;;) {
              c = next();
              if (!isAlphaNumeric(c)) {
                backup();
                break;
              }
            }
            if (!atTerminator()) errorf(`bad character ${hexRune(c)}`);
            else emit(I_VARIABLE);
            continue;
          }
          case 0x27: // '
            lexQuote(0x27, I_CHAR_CONSTANT, 'unterminated character constant');
            continue;
          case 0x28:
            parenDepth++;
            emit(I_LEFT_PAREN);
            continue;
          case 0x29:
            emit(I_RIGHT_PAREN);
            parenDepth--;
            if (parenDepth < 0) errorf(`unexpected right paren ${hexRune(r)}`);
            continue;
        }
        if (r === 0x2e) {
          // . : field, or a number like .5
          if (pos < input.length) {
            const c = input.charCodeAt(pos);
            if (c < 0x30 || c > 0x39) {
              // lexField
              if (atTerminator()) {
                emit(I_DOT);
                continue;
              }
              let d: number;
              for (;;) {
                d = next();
                if (!isAlphaNumeric(d)) {
                  backup();
                  break;
                }
              }
              if (!atTerminator()) errorf(`bad character ${hexRune(d)}`);
              else emit(I_FIELD);
              continue;
            }
          }
        }
        if (r === 0x2e || r === 0x2b || r === 0x2d || (r >= 0x30 && r <= 0x39)) {
          backup();
          if (!scanNumber()) {
            errorf(`bad number syntax: ${goQuote(input.slice(start, pos))}`);
            continue;
          }
          const sign = peek();
          if (sign === 0x2b || sign === 0x2d) {
            if (!scanNumber() || input[pos - 1] !== 'i') {
              errorf(`bad number syntax: ${goQuote(input.slice(start, pos))}`);
              continue;
            }
            emit(I_COMPLEX);
            continue;
          }
          emit(I_NUMBER);
          continue;
        }
        if (isAlphaNumeric(r)) {
          backup();
          let c: number;
          for (;;) {
            c = next();
            if (!isAlphaNumeric(c)) {
              backup();
              break;
            }
          }
          const word = input.slice(start, pos);
          if (!atTerminator()) {
            errorf(`bad character ${hexRune(c)}`);
            continue;
          }
          const kw = Object.hasOwn(KEYWORDS, word) ? KEYWORDS[word] : 0;
          if (kw > I_KEYWORD) emit(kw);
          else if (word === 'true' || word === 'false') emit(I_BOOL);
          else emit(I_IDENTIFIER);
          continue;
        }
        if (r <= 0x7f && r >= 0x20 && r < 0x7f) {
          emit(I_CHAR);
          continue;
        }
        errorf(`unrecognized character in action: ${hexRune(r)}`);
        break;
      }
    }
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// Parse tree (text/template/parse/node.go)
// ---------------------------------------------------------------------------------------------

const N_TEXT = 0;
const N_ACTION = 1;
const N_BOOL = 2;
const N_CHAIN = 3;
const N_COMMAND = 4;
const N_DOT = 5;
const N_FIELD = 6;
const N_IDENTIFIER = 7;
const N_IF = 8;
const N_LIST = 9;
const N_NIL = 10;
const N_NUMBER = 11;
const N_PIPE = 12;
const N_RANGE = 13;
const N_STRING = 14;
const N_TEMPLATE = 15;
const N_VARIABLE = 16;
const N_WITH = 17;
const N_BREAK = 18;
const N_CONTINUE = 19;
const N_END = 20; // parser-internal
const N_ELSE = 21; // parser-internal

interface TextNode {
  type: typeof N_TEXT;
  pos: number;
  text: string;
}
interface ActionNode {
  type: typeof N_ACTION;
  pos: number;
  pipe: PipeNode;
}
interface BoolNode {
  type: typeof N_BOOL;
  pos: number;
  val: boolean;
}
interface ChainNode {
  type: typeof N_CHAIN;
  pos: number;
  node: ArgNode;
  field: string[];
}
interface CommandNode {
  type: typeof N_COMMAND;
  pos: number;
  args: ArgNode[];
}
interface DotNode {
  type: typeof N_DOT;
  pos: number;
}
interface FieldNode {
  type: typeof N_FIELD;
  pos: number;
  ident: string[];
}
interface IdentifierNode {
  type: typeof N_IDENTIFIER;
  pos: number;
  ident: string;
  fn: FuncDef;
}
interface BranchNode {
  type: typeof N_IF | typeof N_RANGE | typeof N_WITH;
  pos: number;
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | null;
}
interface ListNode {
  type: typeof N_LIST;
  pos: number;
  nodes: Node[];
}
interface NilNode {
  type: typeof N_NIL;
  pos: number;
}
interface NumberNode {
  type: typeof N_NUMBER;
  pos: number;
  text: string;
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  int64: bigint;
  uint64: bigint;
  float64: number;
  /** The value idealConstant gives it (computed once at parse time); null: it overflows int. */
  ideal: Val | null;
}
interface PipeNode {
  type: typeof N_PIPE;
  pos: number;
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}
interface StringNode {
  type: typeof N_STRING;
  pos: number;
  quoted: string;
  text: string;
}
interface TemplateNode {
  type: typeof N_TEMPLATE;
  pos: number;
  name: string;
  pipe: PipeNode | null;
}
interface VariableNode {
  type: typeof N_VARIABLE;
  pos: number;
  ident: string[];
}
interface SimpleNode {
  type: typeof N_BREAK | typeof N_CONTINUE | typeof N_END | typeof N_ELSE;
  pos: number;
}

type ArgNode =
  | BoolNode
  | ChainNode
  | DotNode
  | FieldNode
  | IdentifierNode
  | NilNode
  | NumberNode
  | PipeNode
  | StringNode
  | VariableNode;
type Node = TextNode | ActionNode | BranchNode | ListNode | TemplateNode | SimpleNode | CommandNode | ArgNode;

/** Node.String(), used in error contexts (`at <…>`). */
function nodeString(n: Node): string {
  switch (n.type) {
    case N_TEXT:
      return n.text;
    case N_ACTION:
      return '{{' + nodeString(n.pipe) + '}}';
    case N_BOOL:
      return n.val ? 'true' : 'false';
    case N_CHAIN: {
      let s = n.node.type === N_PIPE ? '(' + nodeString(n.node) + ')' : nodeString(n.node);
      for (const f of n.field) s += '.' + f;
      return s;
    }
    case N_COMMAND: {
      let s = '';
      for (let i = 0; i < n.args.length; i++) {
        if (i > 0) s += ' ';
        const a = n.args[i];
        s += a.type === N_PIPE ? '(' + nodeString(a) + ')' : nodeString(a);
      }
      return s;
    }
    case N_DOT:
      return '.';
    case N_FIELD:
      return '.' + n.ident.join('.');
    case N_IDENTIFIER:
      return n.ident;
    case N_IF:
    case N_RANGE:
    case N_WITH: {
      const name = n.type === N_IF ? 'if' : n.type === N_RANGE ? 'range' : 'with';
      let s = '{{' + name + ' ' + nodeString(n.pipe) + '}}' + nodeString(n.list);
      if (n.elseList !== null) s += '{{else}}' + nodeString(n.elseList);
      return s + '{{end}}';
    }
    case N_LIST:
      return n.nodes.map(nodeString).join('');
    case N_NIL:
      return 'nil';
    case N_NUMBER:
      return n.text;
    case N_PIPE: {
      let s = '';
      if (n.decl.length > 0) s = n.decl.map(nodeString).join(', ') + ' := ';
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case N_STRING:
      return n.quoted;
    case N_TEMPLATE:
      return '{{template ' + goQuote(n.name) + (n.pipe !== null ? ' ' + nodeString(n.pipe) : '') + '}}';
    case N_VARIABLE:
      return n.ident.join('.');
    case N_BREAK:
      return '{{break}}';
    case N_CONTINUE:
      return '{{continue}}';
    case N_END:
      return '{{end}}';
    case N_ELSE:
      return '{{else}}';
  }
}

// ---------------------------------------------------------------------------------------------
// Parser (text/template/parse/parse.go)
// ---------------------------------------------------------------------------------------------

/** Thrown by the parser and the executor; turned into TemplateError by the public API. */
class GoTemplateFailure {
  readonly phase: 'parse' | 'exec';
  readonly message: string;
  constructor(phase: 'parse' | 'exec', message: string) {
    this.phase = phase;
    this.message = message;
  }
}

interface ParsedTemplate {
  name: string;
  root: ListNode;
}

class Parser {
  private readonly items: Item[];
  private cursor = 0; // next item the "lexer" hands out
  private readonly token: Item[] = [];
  private peekCount = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private actionLine = 0;
  private readonly parseName: string;
  private readonly funcs: ReadonlyMap<string, FuncDef>;
  readonly trees: Map<string, ParsedTemplate>;

  constructor(items: Item[], parseName: string, funcs: ReadonlyMap<string, FuncDef>, trees: Map<string, ParsedTemplate>) {
    this.items = items;
    this.parseName = parseName;
    this.funcs = funcs;
    this.trees = trees;
  }

  private lexNext(): Item {
    const it = this.items[Math.min(this.cursor, this.items.length - 1)];
    this.cursor++;
    return it;
  }
  private next(): Item {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.lexNext();
    return this.token[this.peekCount];
  }
  private backup(): void {
    this.peekCount++;
  }
  private backup2(t1: Item): void {
    this.token[1] = t1;
    this.peekCount = 2;
  }
  private backup3(t2: Item, t1: Item): void {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }
  private peek(): Item {
    if (this.peekCount > 0) return this.token[this.peekCount - 1];
    this.peekCount = 1;
    this.token[0] = this.lexNext();
    return this.token[0];
  }
  private nextNonSpace(): Item {
    let t: Item;
    for (;;) {
      t = this.next();
      if (t.typ !== I_SPACE) break;
    }
    return t;
  }
  private peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  errorf(msg: string): never {
    throw new GoTemplateFailure('parse', `template: ${this.parseName}:${this.token[0].line}: ${msg}`);
  }

  private expect(expected: number, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== expected) this.unexpected(t, context);
    return t;
  }

  private expectOneOf(e1: number, e2: number, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== e1 && t.typ !== e2) this.unexpected(t, context);
    return t;
  }

  private unexpected(t: Item, context: string): never {
    if (t.typ === I_ERROR) {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`;
        if (t.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(t.val + extra);
    }
    this.errorf(`unexpected ${itemString(t)} in ${context}`);
  }

  /** Parses the main template; `{{define}}`d templates go to this.trees. */
  parseMain(name: string): ParsedTemplate {
    const root: ListNode = { type: N_LIST, pos: this.peek().pos, nodes: [] };
    while (this.peek().typ !== I_EOF) {
      if (this.peek().typ === I_LEFT_DELIM) {
        const delim = this.next();
        if (this.nextNonSpace().typ === I_DEFINE) {
          this.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === N_END || n.type === N_ELSE) this.errorf(`unexpected ${nodeString(n)}`);
      root.nodes.push(n);
    }
    const tree = { name, root };
    this.addTree(tree);
    return tree;
  }

  private addTree(tree: ParsedTemplate): void {
    const existing = this.trees.get(tree.name);
    if (existing === undefined || isEmptyTree(existing.root)) {
      this.trees.set(tree.name, tree);
      return;
    }
    if (!isEmptyTree(tree.root)) this.errorf(`template: multiple definition of template ${goQuote(tree.name)}`);
  }

  private withFreshScope<T>(f: () => T): T {
    const saved = { vars: this.vars, rangeDepth: this.rangeDepth };
    this.vars = ['$'];
    this.rangeDepth = 0;
    try {
      return f();
    } finally {
      this.vars = saved.vars;
      this.rangeDepth = saved.rangeDepth;
    }
  }

  private parseDefinition(): void {
    this.withFreshScope(() => {
      const context = 'define clause';
      const nameTok = this.expectOneOf(I_STRING, I_RAW_STRING, context);
      const name = goUnquote(nameTok.val);
      if (name === null) this.errorf('invalid syntax');
      this.expect(I_RIGHT_DELIM, context);
      const [root, end] = this.itemList();
      if (end.type !== N_END) this.errorf(`unexpected ${nodeString(end)} in ${context}`);
      this.addTree({ name, root });
    });
  }

  private itemList(): [ListNode, Node] {
    const list: ListNode = { type: N_LIST, pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().typ !== I_EOF) {
      const n = this.textOrAction();
      if (n.type === N_END || n.type === N_ELSE) return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case I_TEXT:
        return { type: N_TEXT, pos: t.pos, text: t.val };
      case I_LEFT_DELIM: {
        this.actionLine = t.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
    }
    this.unexpected(t, 'input');
  }

  private action(): Node {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case I_BLOCK:
        return this.blockControl();
      case I_BREAK:
        return this.breakControl(t, 'break');
      case I_CONTINUE:
        return this.breakControl(t, 'continue');
      case I_ELSE:
        return this.elseControl();
      case I_END:
        return { type: N_END, pos: this.expect(I_RIGHT_DELIM, 'end').pos };
      case I_IF:
        return this.control(N_IF, 'if');
      case I_RANGE:
        return this.control(N_RANGE, 'range');
      case I_TEMPLATE:
        return this.templateControl();
      case I_WITH:
        return this.control(N_WITH, 'with');
    }
    this.backup();
    const tok = this.peek();
    return { type: N_ACTION, pos: tok.pos, pipe: this.pipeline('command', I_RIGHT_DELIM) };
  }

  private breakControl(t: Item, word: 'break' | 'continue'): Node {
    const next = this.nextNonSpace();
    if (next.typ !== I_RIGHT_DELIM) this.unexpected(next, `{{${word}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${word}}} outside {{range}}`);
    return { type: word === 'break' ? N_BREAK : N_CONTINUE, pos: t.pos };
  }

  private elseControl(): Node {
    const peek = this.peekNonSpace();
    // "else if" and (Go 1.23) "else with": parsed as {{else}}{{if …}} with a shared {{end}}.
    if (peek.typ === I_IF || peek.typ === I_WITH) return { type: N_ELSE, pos: peek.pos };
    const t = this.expect(I_RIGHT_DELIM, 'else');
    return { type: N_ELSE, pos: t.pos };
  }

  private control(type: typeof N_IF | typeof N_RANGE | typeof N_WITH, context: string): BranchNode {
    const varsLen = this.vars.length;
    try {
      const pipe = this.pipeline(context, I_RIGHT_DELIM);
      if (type === N_RANGE) this.rangeDepth++;
      const [list, first] = this.itemList();
      let next = first;
      if (type === N_RANGE) this.rangeDepth--;
      let elseList: ListNode | null = null;
      if (next.type === N_ELSE) {
        if (type === N_IF && this.peek().typ === I_IF) {
          this.next();
          elseList = { type: N_LIST, pos: next.pos, nodes: [this.control(N_IF, 'if')] };
        } else if (type === N_WITH && this.peek().typ === I_WITH) {
          this.next();
          elseList = { type: N_LIST, pos: next.pos, nodes: [this.control(N_WITH, 'with')] };
        } else {
          [elseList, next] = this.itemList();
          if (next.type !== N_END) this.errorf(`expected end; found ${nodeString(next)}`);
        }
      }
      return { type, pos: pipe.pos, pipe, list, elseList };
    } finally {
      this.vars.length = varsLen;
    }
  }

  private parseTemplateName(t: Item, context: string): string {
    if (t.typ === I_STRING || t.typ === I_RAW_STRING) {
      const s = goUnquote(t.val);
      if (s === null) this.errorf('invalid syntax');
      return s;
    }
    this.unexpected(t, context);
  }

  private templateControl(): Node {
    const context = 'template clause';
    const t = this.nextNonSpace();
    const name = this.parseTemplateName(t, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().typ !== I_RIGHT_DELIM) {
      this.backup();
      pipe = this.pipeline(context, I_RIGHT_DELIM);
    }
    return { type: N_TEMPLATE, pos: t.pos, name, pipe };
  }

  private blockControl(): Node {
    const context = 'block clause';
    const t = this.nextNonSpace();
    const name = this.parseTemplateName(t, context);
    const pipe = this.pipeline(context, I_RIGHT_DELIM);
    this.withFreshScope(() => {
      const [root, end] = this.itemList();
      if (end.type !== N_END) this.errorf(`unexpected ${nodeString(end)} in ${context}`);
      this.addTree({ name, root });
    });
    return { type: N_TEMPLATE, pos: t.pos, name, pipe };
  }

  private pipeline(context: string, end: number): PipeNode {
    const tok = this.peekNonSpace();
    const pipe: PipeNode = { type: N_PIPE, pos: tok.pos, isAssign: false, decl: [], cmds: [] };
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== I_VARIABLE) break;
      this.next();
      const tokenAfterVariable = this.peek();
      const next = this.peekNonSpace();
      if (next.typ === I_ASSIGN || next.typ === I_DECLARE) {
        pipe.isAssign = next.typ === I_ASSIGN;
        this.nextNonSpace();
        pipe.decl.push({ type: N_VARIABLE, pos: v.pos, ident: v.val.split('.') });
        this.vars.push(v.val);
      } else if (next.typ === I_CHAR && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push({ type: N_VARIABLE, pos: v.pos, ident: v.val.split('.') });
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === I_VARIABLE || p === I_RIGHT_DELIM || p === I_RIGHT_PAREN) continue decls;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else if (tokenAfterVariable.typ === I_SPACE) {
        this.backup3(v, tokenAfterVariable);
      } else {
        this.backup2(v);
      }
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.typ === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (t.typ) {
        case I_BOOL:
        case I_CHAR_CONSTANT:
        case I_COMPLEX:
        case I_DOT:
        case I_FIELD:
        case I_IDENTIFIER:
        case I_NUMBER:
        case I_NIL:
        case I_RAW_STRING:
        case I_STRING:
        case I_VARIABLE:
        case I_LEFT_PAREN:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    for (let i = 1; i < pipe.cmds.length; i++) {
      switch (pipe.cmds[i].args[0].type) {
        case N_BOOL:
        case N_DOT:
        case N_NIL:
        case N_NUMBER:
        case N_STRING:
          this.errorf(`non executable command in pipeline stage ${i + 1}`);
      }
    }
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: N_COMMAND, pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand !== null) cmd.args.push(operand);
      const t = this.next();
      if (t.typ === I_SPACE) continue;
      if (t.typ === I_RIGHT_DELIM || t.typ === I_RIGHT_PAREN) this.backup();
      else if (t.typ !== I_PIPE) this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): ArgNode | null {
    let node = this.term();
    if (node === null) return null;
    if (this.peek().typ === I_FIELD) {
      const chainPos = this.peek().pos;
      const fields: string[] = [];
      while (this.peek().typ === I_FIELD) fields.push(this.next().val.slice(1));
      switch (node.type) {
        case N_FIELD:
          node = { type: N_FIELD, pos: chainPos, ident: [...node.ident, ...fields] };
          break;
        case N_VARIABLE:
          node = { type: N_VARIABLE, pos: chainPos, ident: [...node.ident, ...fields] };
          break;
        case N_BOOL:
        case N_STRING:
        case N_NUMBER:
        case N_NIL:
        case N_DOT:
          this.errorf(`unexpected . after term ${goQuote(nodeString(node))}`);
        default:
          node = { type: N_CHAIN, pos: chainPos, node, field: fields };
      }
    }
    return node;
  }

  private term(): ArgNode | null {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case I_IDENTIFIER: {
        const fn = this.funcs.get(t.val);
        if (fn === undefined) this.errorf(`function ${goQuote(t.val)} not defined`);
        return { type: N_IDENTIFIER, pos: t.pos, ident: t.val, fn };
      }
      case I_DOT:
        return { type: N_DOT, pos: t.pos };
      case I_NIL:
        return { type: N_NIL, pos: t.pos };
      case I_VARIABLE: {
        const ident = t.val.split('.');
        if (!this.vars.includes(ident[0])) this.errorf(`undefined variable ${goQuote(ident[0])}`);
        return { type: N_VARIABLE, pos: t.pos, ident };
      }
      case I_FIELD:
        return { type: N_FIELD, pos: t.pos, ident: t.val.slice(1).split('.') };
      case I_BOOL:
        return { type: N_BOOL, pos: t.pos, val: t.val === 'true' };
      case I_CHAR_CONSTANT:
      case I_COMPLEX:
      case I_NUMBER:
        return this.newNumber(t);
      case I_LEFT_PAREN:
        return this.pipeline('parenthesized pipeline', I_RIGHT_PAREN);
      case I_STRING:
      case I_RAW_STRING: {
        const s = goUnquote(t.val);
        if (s === null) this.errorf('invalid syntax');
        return { type: N_STRING, pos: t.pos, quoted: t.val, text: s };
      }
    }
    this.backup();
    return null;
  }

  private newNumber(t: Item): NumberNode {
    const text = t.val;
    const n: NumberNode = {
      type: N_NUMBER,
      pos: t.pos,
      text,
      isInt: false,
      isUint: false,
      isFloat: false,
      int64: 0n,
      uint64: 0n,
      float64: 0,
      ideal: undefined,
    };
    if (t.typ === I_CHAR_CONSTANT) {
      const body = text.slice(1);
      const r = unquoteChar(body, 0, "'");
      if (r === null) this.errorf('invalid syntax');
      if (body.slice(r.next) !== "'") this.errorf(`malformed character constant: ${text}`);
      n.isInt = n.isUint = n.isFloat = true;
      n.int64 = n.uint64 = BigInt(r.r);
      n.float64 = r.r;
      n.ideal = new GoInt('int', n.int64);
      return n;
    }
    if (t.typ === I_COMPLEX || text.endsWith('i')) {
      // Go accepts complex and imaginary constants; no Prometheus function takes one.
      this.errorf(`complex number constants are not supported (${text})`);
    }
    const u = parseGoInt(text, false);
    if (u !== null) {
      n.isUint = true;
      n.uint64 = u;
    }
    const i = parseGoInt(text, true);
    if (i !== null) {
      n.isInt = true;
      n.int64 = i;
      if (i === 0n) {
        n.isUint = true;
        n.uint64 = 0n;
      }
    }
    if (n.isInt) {
      n.isFloat = true;
      n.float64 = Number(n.int64);
    } else if (n.isUint) {
      n.isFloat = true;
      n.float64 = Number(n.uint64);
    } else {
      const f = parseGoFloat(text);
      if (f.err === null) {
        if (!/[.eEpP]/.test(text)) this.errorf(`integer overflow: ${goQuote(text)}`);
        n.isFloat = true;
        n.float64 = f.v;
        if (Number.isFinite(f.v) && Number.isInteger(f.v)) {
          const b = BigInt(f.v);
          if (b >= -(2n ** 63n) && b < 2n ** 63n) {
            n.isInt = true;
            n.int64 = b;
          }
          if (b >= 0n && b < 2n ** 64n) {
            n.isUint = true;
            n.uint64 = b;
          }
        }
      }
    }
    if (!n.isInt && !n.isUint && !n.isFloat) this.errorf(`illegal number syntax: ${goQuote(text)}`);
    // text/template's idealConstant: floats only when the text looks like one.
    if (n.isFloat && !isHexInt(text) && /[.eEpP]/.test(text)) n.ideal = n.float64;
    else if (n.isInt) n.ideal = new GoInt('int', n.int64);
    else if (n.isUint) n.ideal = null;
    return n;
  }
}

function isEmptyTree(n: Node): boolean {
  switch (n.type) {
    case N_LIST:
      return n.nodes.every(isEmptyTree);
    case N_TEXT:
      return n.text.trim().length === 0;
    case N_ACTION:
    case N_IF:
    case N_RANGE:
    case N_TEMPLATE:
    case N_WITH:
      return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Executor (text/template/exec.go)
// ---------------------------------------------------------------------------------------------

/** A function in the template's function map, with Go parameter types (they drive argument checking). */
interface FuncDef {
  name: string;
  /** Go types of the fixed parameters: 'string', 'float64', 'bool', 'interface {}', 'reflect.Value', … */
  params: string[];
  /** Element type of a final variadic parameter, or null. */
  variadic: string | null;
  builtin: boolean;
  impl: (ex: Exec, args: Val[]) => Val;
}

/** A Go function's returned error (or recovered panic): `error calling NAME: message`. */
class FuncError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/** Thrown when an execution needs a `query` result it does not have yet (see executeWithQueries). */
class NeedQuery {
  readonly expr: string;
  constructor(expr: string) {
    this.expr = expr;
  }
}

type QueryOutcome = { ok: true; samples: Array<{ labels: Record<string, string>; value: number }> } | { ok: false; message: string };

const NO_FINAL: unique symbol = Symbol('missingVal');
type Final = Val | typeof NO_FINAL;

const MAX_EXEC_DEPTH = 100000;
const SIG_NONE = 0;
const SIG_BREAK = 1;
const SIG_CONTINUE = 2;

function canBeNil(typ: string): boolean {
  return typ === 'interface {}' || typ.startsWith('*') || typ.startsWith('map[') || typ === 'template.queryResult';
}

function indirectInterface(v: Val): Val {
  return v === NIL_IFACE ? undefined : v;
}

/** text/template's isTrue; every value we model has a truth value. */
function isTrue(v: Val): boolean {
  switch (typeof v) {
    case 'string':
      return v.length > 0;
    case 'number':
      return v !== 0;
    case 'boolean':
      return v;
    case 'undefined':
      return false;
  }
  if (v === null || v === NIL_IFACE) return false;
  if (v instanceof GoInt) return v.v !== 0n;
  if (v instanceof GoMap) return v.size > 0;
  if (v instanceof GoQueryResult) return v.items.length > 0;
  if (v instanceof GoHTML) return v.s.length > 0;
  return true; // pointers (non-nil) and structs
}

function isHexInt(s: string): boolean {
  return s.length > 2 && s[0] === '0' && (s[1] === 'x' || s[1] === 'X') && !/[pP]/.test(s);
}

function sprintV(v: Val): string {
  const p = new Printer();
  if (v === undefined) return '<invalid reflect.Value>';
  p.printArg(v, 'v');
  return p.buf;
}

/** Where a node sits, as Go's Tree.ErrorContext prints it (1-based line, 0-based byte column). */
function errorLocation(text: string, parseName: string, pos: number): string {
  const before = text.slice(0, pos);
  const nl = before.lastIndexOf('\n');
  let line = 1;
  for (let i = 0; i < before.length; i++) if (before.charCodeAt(i) === 10) line++;
  const col = nl < 0 ? byteLength(before) : byteLength(before.slice(nl + 1));
  return `${parseName}:${line}:${col}`;
}

class Exec {
  out = '';
  private readonly text: string;
  private readonly parseName: string;
  private readonly trees: ReadonlyMap<string, ParsedTemplate>;
  private curName: string;
  private varNames: string[] = [];
  private varVals: Val[] = [];
  private nvars = 0;
  node: Node | null = null;
  private depth = 0;
  private readonly queries: Map<string, QueryOutcome>;
  readonly externalURL: string;

  constructor(
    text: string,
    parseName: string,
    trees: ReadonlyMap<string, ParsedTemplate>,
    queries: Map<string, QueryOutcome>,
    externalURL: string,
  ) {
    this.text = text;
    this.parseName = parseName;
    this.trees = trees;
    this.curName = parseName;
    this.queries = queries;
    this.externalURL = externalURL;
  }

  run(name: string, data: Val): string {
    const tree = this.trees.get(name);
    this.curName = name;
    if (tree === undefined) this.errorf(`${goQuote(name)} is an incomplete or empty template`);
    this.push('$', data);
    this.walk(data, tree.root);
    return this.out;
  }

  /** The `query` function: a cached outcome, or a request to the async driver. */
  query(expr: string): QueryOutcome {
    const r = this.queries.get(expr);
    if (r === undefined) throw new NeedQuery(expr);
    return r;
  }

  errorf(msg: string): never {
    if (this.node === null) throw new GoTemplateFailure('exec', `template: ${this.curName}: ${msg}`);
    const location = errorLocation(this.text, this.parseName, this.node.pos);
    throw new GoTemplateFailure(
      'exec',
      `template: ${location}: executing ${goQuote(this.curName)} at <${nodeString(this.node)}>: ${msg}`,
    );
  }

  // Variables.
  private push(name: string, v: Val): void {
    if (this.nvars === this.varNames.length) {
      this.varNames.push(name);
      this.varVals.push(v);
    } else {
      this.varNames[this.nvars] = name;
      this.varVals[this.nvars] = v;
    }
    this.nvars++;
  }
  private setVar(name: string, v: Val): void {
    for (let i = this.nvars - 1; i >= 0; i--) {
      if (this.varNames[i] === name) {
        this.varVals[i] = v;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }
  private varValue(name: string): Val {
    for (let i = this.nvars - 1; i >= 0; i--) if (this.varNames[i] === name) return this.varVals[i];
    this.errorf(`undefined variable: ${name}`);
  }

  private walk(dot: Val, node: Node): number {
    this.node = node;
    switch (node.type) {
      case N_TEXT:
        this.out += node.text;
        return SIG_NONE;
      case N_ACTION: {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return SIG_NONE;
      }
      case N_LIST: {
        const nodes = node.nodes;
        for (let i = 0; i < nodes.length; i++) {
          const sig = this.walk(dot, nodes[i]);
          if (sig !== SIG_NONE) return sig;
        }
        return SIG_NONE;
      }
      case N_IF:
      case N_WITH: {
        const mark = this.nvars;
        try {
          const val = this.evalPipeline(dot, node.pipe);
          if (isTrue(indirectInterface(val))) return this.walk(node.type === N_WITH ? val : dot, node.list);
          if (node.elseList !== null) return this.walk(dot, node.elseList);
          return SIG_NONE;
        } finally {
          this.nvars = mark;
        }
      }
      case N_RANGE:
        return this.walkRange(dot, node);
      case N_TEMPLATE:
        this.walkTemplate(dot, node);
        return SIG_NONE;
      case N_BREAK:
        return SIG_BREAK;
      case N_CONTINUE:
        return SIG_CONTINUE;
    }
    this.errorf(`unknown node: ${nodeString(node)}`);
  }

  private walkRange(dot: Val, r: BranchNode): number {
    this.node = r;
    const outer = this.nvars;
    try {
      let val = this.evalPipeline(dot, r.pipe);
      if (val === NIL_IFACE) val = undefined;
      const mark = this.nvars;
      const nDecl = r.pipe.decl.length;
      const iteration = (index: Val, elem: Val): number => {
        if (nDecl > 0) this.varVals[this.nvars - 1] = elem;
        if (nDecl > 1) this.varVals[this.nvars - 2] = index;
        const sig = this.walk(elem, r.list);
        this.nvars = mark;
        return sig;
      };
      if (val instanceof GoQueryResult) {
        if (val.items.length > 0) {
          for (let i = 0; i < val.items.length; i++) if (iteration(goInt(i), val.items[i]) === SIG_BREAK) break;
          return SIG_NONE;
        }
      } else if (val instanceof GoMap) {
        if (val.size > 0) {
          const keys = val.sortedKeys();
          for (let i = 0; i < keys.length; i++) {
            let elem = val.m[keys[i]];
            if (val.isIface && elem === undefined) elem = NIL_IFACE;
            if (iteration(keys[i], elem) === SIG_BREAK) break;
          }
          return SIG_NONE;
        }
      } else if (val !== undefined) {
        const p = new Printer();
        p.printDeref(val); // reflect's indirect: a pointer prints as the value it points to
        this.errorf(`range can't iterate over ${p.buf}`);
      }
      if (r.elseList !== null) return this.walk(dot, r.elseList);
      return SIG_NONE;
    } finally {
      this.nvars = outer;
    }
  }

  private walkTemplate(dot: Val, t: TemplateNode): void {
    this.node = t;
    const tree = this.trees.get(t.name);
    if (tree === undefined) this.errorf(`template ${goQuote(t.name)} not defined`);
    if (this.depth === MAX_EXEC_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
    const newDot = t.pipe === null ? undefined : this.evalPipeline(dot, t.pipe);
    const saved = { names: this.varNames, vals: this.varVals, n: this.nvars, name: this.curName };
    this.varNames = [];
    this.varVals = [];
    this.nvars = 0;
    this.curName = t.name;
    this.depth++;
    this.push('$', newDot);
    try {
      this.walk(newDot, tree.root);
    } catch (e) {
      if (e instanceof RangeError) {
        // The JS stack ran out before Go's depth limit would have: report it the way Go reports its limit.
        this.curName = saved.name;
        this.node = t;
        this.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
      }
      throw e;
    } finally {
      this.depth--;
      this.varNames = saved.names;
      this.varVals = saved.vals;
      this.nvars = saved.n;
      this.curName = saved.name;
    }
  }

  private printValue(node: Node, v: Val): void {
    this.node = node;
    if (typeof v === 'string') {
      this.out += v;
      return;
    }
    if (typeof v === 'number') {
      this.out += formatFloat(v, 'g', -1);
      return;
    }
    if (v === undefined) {
      this.out += '<no value>';
      return;
    }
    if (v === null) {
      this.out += '<nil>';
      return;
    }
    // printableValue: pointers are dereferenced, so *sample prints as {…} and *time.Time via String().
    const p = new Printer();
    p.printDeref(v);
    this.out += p.buf;
  }

  private evalPipeline(dot: Val, pipe: PipeNode): Val {
    this.node = pipe;
    let value: Final = NO_FINAL;
    const cmds = pipe.cmds;
    for (let i = 0; i < cmds.length; i++) {
      value = this.evalCommand(dot, cmds[i], value);
      if (value === NIL_IFACE) value = undefined;
    }
    const v = value as Val;
    for (const decl of pipe.decl) {
      if (pipe.isAssign) this.setVar(decl.ident[0], v);
      else this.push(decl.ident[0], v);
    }
    return v;
  }

  private notAFunction(args: ArgNode[] | null, final: Final): void {
    if (args !== null && (args.length > 1 || final !== NO_FINAL)) {
      this.errorf(`can't give argument to non-function ${nodeString(args[0])}`);
    }
  }

  private evalCommand(dot: Val, cmd: CommandNode, final: Final): Val {
    const first = cmd.args[0];
    switch (first.type) {
      case N_FIELD:
        return this.evalFieldNode(dot, first, cmd.args, final);
      case N_CHAIN:
        return this.evalChainNode(dot, first, cmd.args, final);
      case N_IDENTIFIER:
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case N_PIPE:
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case N_VARIABLE:
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.node = first;
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case N_BOOL:
        return first.val;
      case N_DOT:
        return dot;
      case N_NIL:
        this.errorf('nil is not a command');
      case N_NUMBER:
        return this.idealConstant(first);
      case N_STRING:
        return first.text;
    }
  }

  private idealConstant(n: NumberNode): Val {
    this.node = n;
    if (n.ideal === null) this.errorf(`${n.text} overflows int`);
    return n.ideal;
  }

  private evalFieldNode(dot: Val, field: FieldNode, args: ArgNode[] | null, final: Final): Val {
    this.node = field;
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  private evalChainNode(dot: Val, chain: ChainNode, args: ArgNode[] | null, final: Final): Val {
    this.node = chain;
    if (chain.node.type === N_NIL) this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, null, chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(dot: Val, variable: VariableNode, args: ArgNode[] | null, final: Final): Val {
    this.node = variable;
    const value = this.varValue(variable.ident[0]);
    if (variable.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, variable, variable.ident.slice(1), args, final);
  }

  private evalFieldChain(dot: Val, receiver: Val, node: Node, ident: string[], args: ArgNode[] | null, final: Final): Val {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i], node, null, NO_FINAL, receiver);
    return this.evalField(dot, ident[n - 1], node, args, final, receiver);
  }

  private evalField(dot: Val, fieldName: string, node: Node, args: ArgNode[] | null, final: Final, receiver: Val): Val {
    if (receiver === undefined) return undefined; // missingkey=zero: an invalid receiver yields no value
    if (receiver === NIL_IFACE) this.errorf(`nil pointer evaluating interface {}.${fieldName}`);
    const hasArgs = (args !== null && args.length > 1) || final !== NO_FINAL;
    const method = methodOf(receiver, fieldName);
    if (method !== null) return this.evalCall(dot, method, node, fieldName, args, final);
    if (receiver instanceof GoMap) {
      if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
      const v = receiver.get(fieldName);
      if (v === ABSENT) return receiver.isIface ? NIL_IFACE : '';
      return receiver.isIface && v === undefined ? NIL_IFACE : v;
    }
    if (receiver instanceof AlertData || receiver instanceof GoSample) {
      let found = true;
      let v: Val;
      switch (fieldName) {
        case 'Labels':
          v = receiver.labels;
          break;
        case 'Value':
          v = receiver.value;
          break;
        case 'ExternalLabels':
          found = receiver instanceof AlertData;
          v = found ? (receiver as AlertData).externalLabels : undefined;
          break;
        case 'ExternalURL':
          found = receiver instanceof AlertData;
          v = found ? (receiver as AlertData).externalURL : undefined;
          break;
        default:
          found = false;
      }
      if (found) {
        if (hasArgs) this.errorf(`${fieldName} has arguments but cannot be invoked as function`);
        return v;
      }
    }
    if (receiver === null && (fieldName === 'Labels' || fieldName === 'Value')) {
      this.errorf(`nil pointer evaluating *template.sample.${fieldName}`);
    }
    if (receiver instanceof GoTime && TIME_METHODS_UNSUPPORTED.has(fieldName)) {
      this.node = node;
      this.errorf(`method ${fieldName} of time.Time is not supported by this template engine`);
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${typeName(receiver)}`);
  }

  private evalFunction(dot: Val, node: IdentifierNode, cmd: Node, args: ArgNode[] | null, final: Final): Val {
    this.node = node;
    return this.evalCall(dot, node.fn, cmd, node.ident, args, final);
  }

  private evalCall(dot: Val, fn: FuncDef, node: Node, name: string, args: ArgNode[] | null, final: Final): Val {
    const nArgs = args === null ? 0 : args.length - 1;
    let numIn = nArgs;
    if (final !== NO_FINAL) numIn++;
    let numFixed = nArgs;
    if (fn.variadic !== null) {
      numFixed = fn.params.length;
      if (numIn < numFixed) {
        this.errorf(`wrong number of args for ${name}: want at least ${fn.params.length} got ${nArgs}`);
      }
    } else if (numIn !== fn.params.length) {
      this.errorf(`wrong number of args for ${name}: want ${fn.params.length} got ${numIn}`);
    }
    if (fn.builtin && (name === 'and' || name === 'or')) {
      let v: Val = undefined;
      for (let i = 1; i <= nArgs; i++) {
        v = this.evalArg(dot, 'reflect.Value', args![i]);
        if (isTrue(indirectInterface(v)) === (name === 'or')) return v;
      }
      if (final !== NO_FINAL) v = this.validateType(final, 'reflect.Value');
      return v;
    }
    const argv: Val[] = new Array(numIn);
    let i = 0;
    for (; i < numFixed && i < nArgs; i++) argv[i] = this.evalArg(dot, fn.params[i], args![i + 1]);
    if (fn.variadic !== null) for (; i < nArgs; i++) argv[i] = this.evalArg(dot, fn.variadic, args![i + 1]);
    if (final !== NO_FINAL) {
      let t: string;
      if (fn.variadic !== null) t = numIn - 1 < numFixed ? fn.params[numIn - 1] : fn.variadic;
      else t = fn.params[fn.params.length - 1];
      argv[i] = this.validateType(final, t);
    }
    try {
      return fn.impl(this, argv);
    } catch (e) {
      if (e instanceof FuncError) {
        this.node = node;
        this.errorf(`error calling ${name}: ${e.message}`);
      }
      throw e;
    }
  }

  private validateType(value: Val, typ: string | null): Val {
    if (value === undefined) {
      if (typ === null) return undefined;
      if (typ === 'reflect.Value') return NIL_IFACE;
      if (canBeNil(typ)) return typ === 'interface {}' ? undefined : null;
      this.errorf(`invalid value; expected ${typ}`);
    }
    if (typ === 'interface {}') return value === NIL_IFACE ? undefined : value;
    if (typ === null || typ === 'reflect.Value') return value;
    const vt = typeName(value);
    if (vt === typ) return value;
    if (value instanceof GoTime && value.ptr && typ === 'time.Time') return new GoTime(value.ms, false);
    this.errorf(`wrong type for value; expected ${typ}; got ${vt}`);
  }

  private evalArg(dot: Val, typ: string | null, n: ArgNode): Val {
    this.node = n;
    switch (n.type) {
      case N_DOT:
        return this.validateType(dot, typ);
      case N_NIL:
        // canBeNil(reflect.Value) is true in Go: the zero reflect.Value, which builtins see as nil.
        if (typ === 'reflect.Value') return NIL_IFACE;
        if (typ !== null && canBeNil(typ)) return typ === 'interface {}' ? undefined : null;
        this.errorf(`cannot assign nil to ${typ}`);
      case N_FIELD:
        return this.validateType(this.evalFieldNode(dot, n, null, NO_FINAL), typ);
      case N_VARIABLE:
        return this.validateType(this.evalVariableNode(dot, n, null, NO_FINAL), typ);
      case N_PIPE:
        return this.validateType(this.evalPipeline(dot, n), typ);
      case N_IDENTIFIER:
        return this.validateType(this.evalFunction(dot, n, n, null, NO_FINAL), typ);
      case N_CHAIN:
        return this.validateType(this.evalChainNode(dot, n, null, NO_FINAL), typ);
    }
    switch (typ) {
      case 'bool':
        if (n.type === N_BOOL) return n.val;
        this.errorf(`expected bool; found ${nodeString(n)}`);
      case 'float64':
        if (n.type === N_NUMBER && n.isFloat) return n.float64;
        this.errorf(`expected float; found ${nodeString(n)}`);
      case 'int':
      case 'int64':
      case 'time.Duration':
        if (n.type === N_NUMBER && n.isInt) return new GoInt(typ, n.int64);
        this.errorf(`expected integer; found ${nodeString(n)}`);
      case 'string':
        if (n.type === N_STRING) return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
      case 'interface {}':
      case 'reflect.Value':
        return this.evalEmptyInterface(n);
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${typ}`);
  }

  private evalEmptyInterface(n: BoolNode | NumberNode | StringNode): Val {
    this.node = n;
    switch (n.type) {
      case N_BOOL:
        return n.val;
      case N_NUMBER:
        return this.idealConstant(n);
      case N_STRING:
        return n.text;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Methods of *time.Time (toTime's result)
// ---------------------------------------------------------------------------------------------

interface TimeMethod {
  params: string[];
  fn: (t: GoTime, args: Val[]) => Val;
}

const TIME_METHODS = new Map<string, TimeMethod>([
  ['Format', { params: ['string'], fn: (t, a) => formatTime(t.ms, a[0] as string) }],
  ['String', { params: [], fn: (t) => timeString(t.ms) }],
  ['Unix', { params: [], fn: (t) => new GoInt('int64', BigInt(Math.floor(t.ms / 1000))) }],
  ['UnixMilli', { params: [], fn: (t) => new GoInt('int64', BigInt(t.ms)) }],
  ['UnixMicro', { params: [], fn: (t) => new GoInt('int64', BigInt(t.ms) * 1000n) }],
  ['UnixNano', { params: [], fn: (t) => new GoInt('int64', BigInt(t.ms) * 1000000n) }],
  ['Year', { params: [], fn: (t) => goInt(timeParts(t.ms).year) }],
  ['Month', { params: [], fn: (t) => goInt(timeParts(t.ms).month, 'time.Month') }],
  ['Day', { params: [], fn: (t) => goInt(timeParts(t.ms).day) }],
  ['Hour', { params: [], fn: (t) => goInt(timeParts(t.ms).hour) }],
  ['Minute', { params: [], fn: (t) => goInt(timeParts(t.ms).min) }],
  ['Second', { params: [], fn: (t) => goInt(timeParts(t.ms).sec) }],
  ['Nanosecond', { params: [], fn: (t) => goInt(timeParts(t.ms).nsec) }],
  ['YearDay', { params: [], fn: (t) => goInt(timeParts(t.ms).yday) }],
  ['Weekday', { params: [], fn: (t) => goInt(timeParts(t.ms).wday, 'time.Weekday') }],
  ['UTC', { params: [], fn: (t) => new GoTime(t.ms, false) }],
  ['IsZero', { params: [], fn: (t) => t.ms === -62135596800000 }],
  ['Before', { params: ['time.Time'], fn: (t, a) => t.ms < (a[0] as GoTime).ms }],
  ['After', { params: ['time.Time'], fn: (t, a) => t.ms > (a[0] as GoTime).ms }],
  ['Equal', { params: ['time.Time'], fn: (t, a) => t.ms === (a[0] as GoTime).ms }],
]);

/** time.Time methods that exist in Go but are not modelled here; named in the error instead of "can't evaluate". */
const TIME_METHODS_UNSUPPORTED = new Set([
  'Add',
  'AddDate',
  'AppendFormat',
  'Clock',
  'Compare',
  'Date',
  'GoString',
  'GobEncode',
  'ISOWeek',
  'In',
  'IsDST',
  'Local',
  'Location',
  'MarshalBinary',
  'MarshalJSON',
  'MarshalText',
  'Round',
  'Sub',
  'Truncate',
  'Zone',
  'ZoneBounds',
]);

const STRINGER_METHOD: FuncDef = { name: 'String', params: [], variadic: null, builtin: false, impl: () => undefined };

function methodOf(receiver: Val, name: string): FuncDef | null {
  if (receiver instanceof GoTime) {
    const m = TIME_METHODS.get(name);
    if (m === undefined) return null;
    return { name, params: m.params, variadic: null, builtin: false, impl: (_ex, args) => m.fn(receiver, args) };
  }
  if (receiver instanceof GoInt && name === 'String' && stringerOf(receiver) !== null) {
    return { ...STRINGER_METHOD, impl: () => stringerOf(receiver)! };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Builtin functions (text/template/funcs.go)
// ---------------------------------------------------------------------------------------------

type BasicKind = 'invalid' | 'bool' | 'int' | 'uint' | 'float' | 'string';

function basicKind(v: Val): BasicKind {
  const k = kindOf(v);
  switch (k) {
    case 'bool':
    case 'int':
    case 'uint':
    case 'float':
    case 'string':
      return k;
  }
  return 'invalid';
}

function intValue(v: Val): bigint {
  return (v as GoInt).v;
}

function stringValue(v: Val): string {
  return typeof v === 'string' ? v : (v as GoHTML).s;
}

function floatValue(v: Val): number {
  return v as number;
}

const ERR_BAD_COMPARISON_TYPE = 'invalid type for comparison';
const ERR_BAD_COMPARISON = 'incompatible types for comparison';
const ERR_NO_COMPARISON = 'missing argument for comparison';

function isNilValue(v: Val): boolean {
  return v === undefined || v === null || v === NIL_IFACE;
}

function eqImpl(arg1: Val, arg2: Val[]): boolean {
  arg1 = indirectInterface(arg1);
  if (arg2.length === 0) throw new FuncError(ERR_NO_COMPARISON);
  const k1 = basicKind(arg1);
  for (let arg of arg2) {
    arg = indirectInterface(arg);
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (k1 === 'int' && k2 === 'uint') truth = intValue(arg1) >= 0n && intValue(arg1) === intValue(arg);
      else if (k1 === 'uint' && k2 === 'int') truth = intValue(arg) >= 0n && intValue(arg1) === intValue(arg);
      else if (arg1 !== undefined && arg !== undefined) throw new FuncError(ERR_BAD_COMPARISON);
    } else {
      switch (k1) {
        case 'bool':
          truth = arg1 === arg;
          break;
        case 'float':
          truth = floatValue(arg1) === floatValue(arg);
          break;
        case 'int':
        case 'uint':
          truth = intValue(arg1) === intValue(arg);
          break;
        case 'string':
          truth = stringValue(arg1) === stringValue(arg);
          break;
        default: {
          // Non-basic values (Go 1.18+): nil compares with nil; maps and slices are not comparable.
          if (arg1 !== undefined && arg !== undefined && kindOf(arg1) !== kindOf(arg)) {
            const p = new Printer();
            p.printArg(arg1, 's');
            throw new FuncError(`non-comparable types ${p.buf}: ${typeName(arg1)}, ${typeName(arg)}: ${sprintV(arg)}`);
          }
          if (isNilValue(arg1) || isNilValue(arg)) truth = isNilValue(arg) === isNilValue(arg1);
          else if (arg instanceof GoMap || arg instanceof GoQueryResult) {
            const p = new Printer();
            p.printArg(arg, 's');
            throw new FuncError(`non-comparable type ${p.buf}: ${typeName(arg)}`);
          } else if (arg1 instanceof GoTime && arg instanceof GoTime) truth = arg1.ptr ? arg1 === arg : arg1.ms === arg.ms;
          else truth = arg1 === arg;
        }
      }
    }
    if (truth) return true;
  }
  return false;
}

function ltImpl(arg1: Val, arg2: Val): boolean {
  arg1 = indirectInterface(arg1);
  const k1 = basicKind(arg1);
  if (k1 === 'invalid') throw new FuncError(ERR_BAD_COMPARISON_TYPE);
  arg2 = indirectInterface(arg2);
  const k2 = basicKind(arg2);
  if (k2 === 'invalid') throw new FuncError(ERR_BAD_COMPARISON_TYPE);
  if (k1 !== k2) {
    if (k1 === 'int' && k2 === 'uint') return intValue(arg1) < 0n || intValue(arg1) < intValue(arg2);
    if (k1 === 'uint' && k2 === 'int') return intValue(arg2) >= 0n && intValue(arg1) < intValue(arg2);
    throw new FuncError(ERR_BAD_COMPARISON);
  }
  switch (k1) {
    case 'bool':
      throw new FuncError(ERR_BAD_COMPARISON_TYPE);
    case 'float':
      return floatValue(arg1) < floatValue(arg2);
    case 'int':
    case 'uint':
      return intValue(arg1) < intValue(arg2);
    case 'string':
      return goStringCompare(stringValue(arg1), stringValue(arg2)) < 0;
  }
}

function leImpl(a: Val, b: Val): boolean {
  return ltImpl(a, b) || eqImpl(a, [b]);
}

function indexArg(index: Val, cap: number): number {
  const k = kindOf(index);
  let x: bigint;
  if (k === 'int' || k === 'uint') x = intValue(index);
  else if (index === undefined) throw new FuncError('cannot index slice/array with nil');
  else throw new FuncError(`cannot index slice/array with type ${typeName(index)}`);
  if (x < 0n || x > BigInt(cap)) throw new FuncError(`index out of range: ${x}`);
  return Number(x);
}

function utf8Bytes(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function indexImpl(item: Val, indexes: Val[]): Val {
  item = indirectInterface(item);
  if (item === undefined) throw new FuncError('index of untyped nil');
  for (let index of indexes) {
    index = indirectInterface(index);
    if (item === null || item === NIL_IFACE) throw new FuncError('index of nil pointer');
    if (typeof item === 'string' || item instanceof GoHTML) {
      const s = stringValue(item);
      const len = isAscii(s) ? s.length : byteLength(s);
      const x = indexArg(index, len);
      if (x === len) throw new FuncError('reflect: string index out of range');
      item = new GoInt('uint8', BigInt(isAscii(s) ? s.charCodeAt(x) : utf8Bytes(s)[x]));
    } else if (item instanceof GoQueryResult) {
      const x = indexArg(index, item.items.length);
      if (x === item.items.length) throw new FuncError('reflect: slice index out of range');
      item = item.items[x];
    } else if (item instanceof GoMap) {
      let key: string;
      if (index === undefined) throw new FuncError('value is nil; should be of type string');
      if (typeof index === 'string') key = index;
      else throw new FuncError(`value has type ${typeName(index)}; should be string`);
      const v = item.get(key);
      if (v === ABSENT || (item.isIface && v === undefined)) item = item.isIface ? NIL_IFACE : '';
      else item = v;
    } else {
      const t = item instanceof GoSample ? 'template.sample' : item instanceof GoTime ? 'time.Time' : typeName(item);
      throw new FuncError(`can't index item of type ${t}`);
    }
  }
  return item;
}

function sliceImpl(item: Val, indexes: Val[]): Val {
  item = indirectInterface(item);
  if (item === undefined) throw new FuncError('slice of untyped nil');
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  let cap: number;
  let len: number;
  if (typeof item === 'string' || item instanceof GoHTML) {
    if (indexes.length === 3) throw new FuncError('cannot 3-index slice a string');
    cap = len = byteLength(stringValue(item));
  } else if (item instanceof GoQueryResult) {
    cap = len = item.items.length;
  } else {
    throw new FuncError(`can't slice item of type ${item === null ? '*template.sample' : typeName(item)}`);
  }
  const idx = [0, len, 0];
  for (let i = 0; i < indexes.length; i++) idx[i] = indexArg(indexes[i], cap);
  if (idx[0] > idx[1]) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1] > idx[2]) throw new FuncError(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (item instanceof GoQueryResult) return new GoQueryResult(item.items.slice(idx[0], idx[1]));
  const s = stringValue(item);
  const out = isAscii(s) ? s.slice(idx[0], idx[1]) : utf8Bytes(s).subarray(idx[0], idx[1]).toString('utf8');
  return typeof item === 'string' ? out : new GoHTML(out);
}

/** text/template's evalArgs for html/js/urlquery: Sprint of the printable values. */
function evalArgsString(args: Val[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  const p = new Printer();
  let prevString = false;
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    if (a === undefined || a === NIL_IFACE) a = '<no value>';
    const isString = isStringKind(a);
    if (i > 0 && !isString && !prevString) p.buf += ' ';
    p.printDeref(a);
    prevString = isString;
  }
  return p.buf;
}

function htmlEscape(s: string): string {
  if (!/['"&<>\0]/.test(s)) return s;
  let out = '';
  for (const ch of s) {
    switch (ch) {
      case '\0':
        out += '\uFFFD';
        break;
      case '"':
        out += '&#34;';
        break;
      case "'":
        out += '&#39;';
        break;
      case '&':
        out += '&amp;';
        break;
      case '<':
        out += '&lt;';
        break;
      case '>':
        out += '&gt;';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

function jsEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      switch (c) {
        case 0x5c:
          out += '\\\\';
          continue;
        case 0x27:
          out += "\\'";
          continue;
        case 0x22:
          out += '\\"';
          continue;
        case 0x3c:
          out += '\\u003C';
          continue;
        case 0x3e:
          out += '\\u003E';
          continue;
        case 0x26:
          out += '\\u0026';
          continue;
        case 0x3d:
          out += '\\u003D';
          continue;
      }
      if (c < 0x20) out += '\\u00' + c.toString(16).toUpperCase().padStart(2, '0');
      else out += s[i];
      continue;
    }
    const r = s.codePointAt(i)!;
    if (r > 0xffff) i++;
    if (isPrintRune(r)) out += String.fromCodePoint(r);
    else out += '\\u' + r.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

/** url.QueryEscape. */
function queryEscape(s: string): string {
  let out = '';
  const bytes = isAscii(s) ? null : utf8Bytes(s);
  const n = bytes === null ? s.length : bytes.length;
  for (let i = 0; i < n; i++) {
    const c = bytes === null ? s.charCodeAt(i) : bytes[i];
    if (
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2d ||
      c === 0x5f ||
      c === 0x2e ||
      c === 0x7e
    ) {
      out += String.fromCharCode(c);
    } else if (c === 0x20) out += '+';
    else out += '%' + c.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function builtin(name: string, params: string[], variadic: string | null, impl: (ex: Exec, args: Val[]) => Val): FuncDef {
  return { name, params, variadic, builtin: true, impl };
}

const BUILTINS: FuncDef[] = [
  builtin('and', ['reflect.Value'], 'reflect.Value', () => undefined), // short-circuit in evalCall
  builtin('or', ['reflect.Value'], 'reflect.Value', () => undefined),
  builtin('not', ['reflect.Value'], null, (_ex, a) => !isTrue(indirectInterface(a[0]))),
  builtin('call', ['reflect.Value'], 'reflect.Value', (_ex, a) => {
    const fn = indirectInterface(a[0]);
    if (fn === undefined) throw new FuncError('call of nil');
    throw new FuncError(`non-function of type ${typeName(fn)}`);
  }),
  builtin('html', [], 'interface {}', (_ex, a) => htmlEscape(evalArgsString(a))),
  builtin('js', [], 'interface {}', (_ex, a) => jsEscape(evalArgsString(a))),
  builtin('urlquery', [], 'interface {}', (_ex, a) => queryEscape(evalArgsString(a))),
  builtin('index', ['reflect.Value'], 'reflect.Value', (_ex, a) => indexImpl(a[0], a.slice(1))),
  builtin('slice', ['reflect.Value'], 'reflect.Value', (_ex, a) => sliceImpl(a[0], a.slice(1))),
  builtin('len', ['reflect.Value'], null, (_ex, a) => {
    const item = a[0];
    if (item === NIL_IFACE || item === null || item === undefined) throw new FuncError('len of nil pointer');
    if (typeof item === 'string' || item instanceof GoHTML) return goInt(byteLength(stringValue(item)));
    if (item instanceof GoMap) return goInt(item.size);
    if (item instanceof GoQueryResult) return goInt(item.items.length);
    const t = item instanceof GoSample ? 'template.sample' : item instanceof GoTime ? 'time.Time' : typeName(item);
    throw new FuncError(`len of type ${t}`);
  }),
  builtin('print', [], 'interface {}', (_ex, a) => goSprint(a)),
  builtin('printf', ['string'], 'interface {}', (_ex, a) => goSprintf(a[0] as string, a.slice(1))),
  builtin('println', [], 'interface {}', (_ex, a) => goSprintln(a)),
  builtin('eq', ['reflect.Value'], 'reflect.Value', (_ex, a) => eqImpl(a[0], a.slice(1))),
  builtin('ne', ['reflect.Value', 'reflect.Value'], null, (_ex, a) => !eqImpl(a[0], [a[1]])),
  builtin('lt', ['reflect.Value', 'reflect.Value'], null, (_ex, a) => ltImpl(a[0], a[1])),
  builtin('le', ['reflect.Value', 'reflect.Value'], null, (_ex, a) => leImpl(a[0], a[1])),
  builtin('gt', ['reflect.Value', 'reflect.Value'], null, (_ex, a) => !leImpl(a[0], a[1])),
  builtin('ge', ['reflect.Value', 'reflect.Value'], null, (_ex, a) => !ltImpl(a[0], a[1])),
];

// ---------------------------------------------------------------------------------------------
// Go regexp (RE2 syntax) → JS RegExp, and Regexp.ReplaceAllString / MatchString
// ---------------------------------------------------------------------------------------------

class RegexpSyntaxError {
  readonly code: string;
  readonly expr: string;
  constructor(code: string, expr: string) {
    this.code = code;
    this.expr = expr;
  }
  get message(): string {
    return `error parsing regexp: ${this.code}: \`${this.expr}\``;
  }
}

interface GoRegexp {
  re: RegExp; // flags 'gv'
  /** Capture group names by index (index 0: the whole match); '' for unnamed. */
  names: string[];
}

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\u{0}-\\u{7f}',
  blank: '\\t ',
  cntrl: '\\u{0}-\\u{1f}\\u{7f}',
  digit: '0-9',
  graph: '\\u{21}-\\u{7e}',
  lower: 'a-z',
  print: '\\u{20}-\\u{7e}',
  punct: '\\u{21}-\\u{2f}\\u{3a}-\\u{40}\\u{5b}-\\u{60}\\u{7b}-\\u{7e}',
  space: '\\t\\n\\u{b}\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const PERL_CLASSES: Record<string, string> = {
  d: '[0-9]',
  D: '[^0-9]',
  s: '[\\t\\n\\f\\r ]',
  S: '[^\\t\\n\\f\\r ]',
  w: '[0-9A-Za-z_]',
  W: '[^0-9A-Za-z_]',
};

const UNICODE_CATEGORIES = new Set([
  'C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl',
  'No', 'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs',
]); // prettier-ignore

function jsLiteral(r: number): string {
  if ((r >= 0x30 && r <= 0x39) || (r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a) || r === 0x5f) {
    return String.fromCharCode(r);
  }
  return '\\u{' + r.toString(16) + '}';
}

function isAlnumAscii(r: number): boolean {
  return (r >= 0x30 && r <= 0x39) || (r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a);
}

function unhex(c: string): number {
  const v = parseInt(c, 16);
  return c.length === 1 && /[0-9a-fA-F]/.test(c) ? v : -1;
}

interface ReFlags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

/** Translates Go regexp syntax into an equivalent JS (v-mode) pattern; throws RegexpSyntaxError like Go. */
class RegexpTranslator {
  private readonly src: string;
  private pos = 0;
  readonly names: string[] = [''];

  constructor(src: string) {
    this.src = src;
  }

  translate(): string {
    const flags: ReFlags = { i: false, m: false, s: false, U: false };
    const out = this.parseAlternation(flags, 0);
    if (this.pos < this.src.length) {
      // Only an unmatched ')' stops the top level.
      throw new RegexpSyntaxError('unexpected )', this.src);
    }
    return out;
  }

  private peekRune(): number {
    return this.src.codePointAt(this.pos)!;
  }

  private nextRune(): number {
    const r = this.src.codePointAt(this.pos)!;
    this.pos += r > 0xffff ? 2 : 1;
    return r;
  }

  private parseAlternation(flags: ReFlags, depth: number): string {
    if (depth > 1000) throw new RegexpSyntaxError('expression nests too deeply', this.src);
    const branches: string[] = [this.parseConcat(flags, depth)];
    while (this.pos < this.src.length && this.src[this.pos] === '|') {
      this.pos++;
      branches.push(this.parseConcat(flags, depth));
    }
    return branches.join('|');
  }

  private parseConcat(flags: ReFlags, depth: number): string {
    let out = '';
    // lastAtom: the translated previous atom (null: nothing to repeat), lastRepeat: its operator text.
    let lastAtom: string | null = null;
    let lastRepeat = '';
    const flush = (): void => {
      if (lastAtom !== null) out += lastAtom;
      lastAtom = null;
    };
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === '|' || c === ')') break;
      if (c === '*' || c === '+' || c === '?' || c === '{') {
        const start = this.pos;
        let op: string;
        if (c === '{') {
          const rep = this.parseRepeat();
          if (rep === null) {
            // Not a valid repeat: a literal '{'.
            this.pos++;
            flush();
            lastAtom = this.wrapI(jsLiteral(0x7b), flags);
            lastRepeat = '';
            continue;
          }
          if (rep.min > 1000 || rep.max > 1000 || (rep.max >= 0 && rep.min > rep.max)) {
            throw new RegexpSyntaxError('invalid repeat count', this.src.slice(start, this.pos));
          }
          op = rep.max === -1 ? `{${rep.min},}` : rep.max === rep.min ? `{${rep.min}}` : `{${rep.min},${rep.max}}`;
        } else {
          this.pos++;
          op = c;
        }
        let lazy = false;
        if (this.pos < this.src.length && this.src[this.pos] === '?') {
          this.pos++;
          lazy = true;
        }
        const opText = this.src.slice(start, this.pos);
        if (lastRepeat !== '') throw new RegexpSyntaxError('invalid nested repetition operator', lastRepeat + opText);
        if (lastAtom === null) throw new RegexpSyntaxError('missing argument to repetition operator', opText);
        if (flags.U) lazy = !lazy;
        out += lastAtom + op + (lazy ? '?' : '');
        // A repeated atom cannot be repeated again; lastRepeat remembers it for the error above.
        lastAtom = null;
        lastRepeat = opText;
        continue;
      }
      flush();
      lastRepeat = '';
      const atom = this.parseAtom(flags, depth);
      if (atom === null) continue; // a flag group: no atom
      lastAtom = atom;
    }
    flush();
    return out;
  }

  /** `{n}`, `{n,}`, `{n,m}` at pos; null (pos unchanged) if it is not a repeat. */
  private parseRepeat(): { min: number; max: number } | null {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
    if (m === null) return null;
    const big = (s: string): number => (s.length > 8 ? 1e9 : Number(s));
    const min = big(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : big(m[3]);
    this.pos += m[0].length;
    return { min, max };
  }

  private wrapI(atom: string, flags: ReFlags): string {
    return flags.i ? `(?i:${atom})` : atom;
  }

  private parseAtom(flags: ReFlags, depth: number): string | null {
    const c = this.src[this.pos];
    switch (c) {
      case '(':
        return this.parseGroup(flags, depth);
      case '[':
        return this.wrapI(this.parseClass(), flags);
      case '.':
        this.pos++;
        return flags.s ? '[\\s\\S]' : '[^\\n]';
      case '^':
        this.pos++;
        return flags.m ? '(?:(?<![^\\n]))' : '(?:(?<![\\s\\S]))';
      case '$':
        this.pos++;
        return flags.m ? '(?:(?![^\\n]))' : '(?:(?![\\s\\S]))';
      case '\\':
        return this.parseBackslash(flags);
    }
    return this.wrapI(jsLiteral(this.nextRune()), flags);
  }

  private parseGroup(flags: ReFlags, depth: number): string | null {
    const start = this.pos;
    const t = this.src.slice(this.pos);
    if (t.startsWith('(?P<') || t.startsWith('(?<')) {
      const nameStart = this.pos + (t[2] === 'P' ? 4 : 3);
      const end = this.src.indexOf('>', nameStart);
      if (end < 0) throw new RegexpSyntaxError('invalid named capture', t);
      const name = this.src.slice(nameStart, end);
      if (name === '' || !/^[A-Za-z0-9_]+$/.test(name)) {
        throw new RegexpSyntaxError('invalid named capture', this.src.slice(start, end + 1));
      }
      this.names.push(name);
      this.pos = end + 1;
      return this.groupBody(flags, depth, '(');
    }
    if (t.startsWith('(?')) {
      // Flags: (?flags) or (?flags:re)
      let i = this.pos + 2;
      const nf = { ...flags };
      let sign = 1;
      let sawFlag = false;
      while (i < this.src.length) {
        const ch = this.src[i++];
        if (ch === 'i' || ch === 'm' || ch === 's' || ch === 'U') {
          nf[ch] = sign > 0;
          sawFlag = true;
          continue;
        }
        if (ch === '-') {
          if (sign < 0) break;
          sign = -1;
          sawFlag = false;
          continue;
        }
        if (ch === ':' || ch === ')') {
          if (sign < 0 && !sawFlag) break;
          this.pos = i;
          if (ch === ')') {
            flags.i = nf.i;
            flags.m = nf.m;
            flags.s = nf.s;
            flags.U = nf.U;
            return null;
          }
          return this.groupBody(nf, depth, '(?:');
        }
        break;
      }
      const bad = this.src.slice(start, Math.min(i, this.src.length));
      throw new RegexpSyntaxError('invalid or unsupported Perl syntax', bad);
    }
    this.pos++;
    this.names.push('');
    return this.groupBody(flags, depth, '(');
  }

  private groupBody(flags: ReFlags, depth: number, open: string): string {
    const inner = this.parseAlternation({ ...flags }, depth + 1);
    if (this.pos >= this.src.length || this.src[this.pos] !== ')') {
      throw new RegexpSyntaxError('missing closing )', this.src);
    }
    this.pos++;
    return open + inner + ')';
  }

  private parseBackslash(flags: ReFlags): string {
    const s = this.src;
    if (this.pos + 1 >= s.length) throw new RegexpSyntaxError('trailing backslash at end of expression', '');
    const c = s[this.pos + 1];
    switch (c) {
      case 'A':
        this.pos += 2;
        return '(?:(?<![\\s\\S]))';
      case 'z':
        this.pos += 2;
        return '(?:(?![\\s\\S]))';
      case 'b':
        this.pos += 2;
        return '(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))';
      case 'B':
        this.pos += 2;
        return '(?:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))';
      case 'C':
        throw new RegexpSyntaxError('invalid escape sequence', '\\C');
      case 'Q': {
        const end = s.indexOf('\\E', this.pos + 2);
        const lit = end < 0 ? s.slice(this.pos + 2) : s.slice(this.pos + 2, end);
        this.pos = end < 0 ? s.length : end + 2;
        let out = '';
        for (const ch of lit) out += jsLiteral(ch.codePointAt(0)!);
        return lit.length === 0 ? '(?:)' : this.wrapI(`(?:${out})`, flags);
      }
      case 'p':
      case 'P':
        return this.wrapI(this.parseUnicodeClass(false), flags);
    }
    if (Object.hasOwn(PERL_CLASSES, c)) {
      this.pos += 2;
      return this.wrapI(PERL_CLASSES[c], flags);
    }
    return this.wrapI(jsLiteral(this.parseEscape()), flags);
  }

  /** \pN, \p{Name}, \PN, \P{Name}, \p{^Name}; in or out of a class, returns a JS class item. */
  private parseUnicodeClass(inClass: boolean): string {
    const s = this.src;
    const start = this.pos;
    let neg = s[this.pos + 1] === 'P';
    this.pos += 2;
    if (this.pos >= s.length) throw new RegexpSyntaxError('invalid character class range', s.slice(start));
    let name: string;
    if (s[this.pos] === '{') {
      const end = s.indexOf('}', this.pos);
      if (end < 0) throw new RegexpSyntaxError('invalid character class range', s.slice(start));
      name = s.slice(this.pos + 1, end);
      this.pos = end + 1;
    } else {
      name = String.fromCodePoint(this.nextRune());
    }
    const seq = s.slice(start, this.pos);
    if (name.startsWith('^')) {
      neg = !neg;
      name = name.slice(1);
    }
    let body: string;
    if (name === 'Any') body = '\\s\\S';
    else if (UNICODE_CATEGORIES.has(name)) body = `\\p{${name}}`;
    else {
      try {
        new RegExp(`\\p{Script=${name}}`, 'v');
      } catch {
        throw new RegexpSyntaxError('invalid character class range', seq);
      }
      body = `\\p{Script=${name}}`;
    }
    if (name === 'Any') return neg ? '[^\\s\\S]' : '[\\s\\S]';
    if (neg) return `[^${body}]`; // a nested class is fine inside a v-mode class
    return inClass ? body : `[${body}]`;
  }

  /** Go's parseEscape: one escaped character at pos (which is at the backslash). */
  private parseEscape(): number {
    const s = this.src;
    const start = this.pos;
    this.pos++;
    if (this.pos >= s.length) throw new RegexpSyntaxError('trailing backslash at end of expression', '');
    const c = this.nextRune();
    const fail = (): never => {
      throw new RegexpSyntaxError('invalid escape sequence', s.slice(start, this.pos));
    };
    if (c < 0x80 && !isAlnumAscii(c)) return c;
    if (c >= 0x31 && c <= 0x37) {
      // \1-\7 alone would be a backreference (unsupported); followed by an octal digit it is octal.
      if (this.pos >= s.length || s[this.pos] < '0' || s[this.pos] > '7') fail();
    }
    if (c >= 0x30 && c <= 0x37) {
      let r = c - 0x30;
      for (let i = 1; i < 3; i++) {
        if (this.pos >= s.length || s[this.pos] < '0' || s[this.pos] > '7') break;
        r = r * 8 + (s.charCodeAt(this.pos) - 0x30);
        this.pos++;
      }
      return r;
    }
    switch (c) {
      case 0x78: {
        // x
        if (this.pos >= s.length) fail();
        const d = String.fromCodePoint(this.nextRune());
        if (d === '{') {
          let nhex = 0;
          let r = 0;
          for (;;) {
            if (this.pos >= s.length) fail();
            const h = String.fromCodePoint(this.nextRune());
            if (h === '}') break;
            const v = unhex(h);
            if (v < 0) fail();
            r = r * 16 + v;
            if (r > 0x10ffff) fail();
            nhex++;
          }
          if (nhex === 0) fail();
          return r;
        }
        const x = unhex(d);
        if (this.pos >= s.length) fail();
        const y = unhex(String.fromCodePoint(this.nextRune()));
        if (x < 0 || y < 0) fail();
        return x * 16 + y;
      }
      case 0x61:
        return 7;
      case 0x66:
        return 12;
      case 0x6e:
        return 10;
      case 0x72:
        return 13;
      case 0x74:
        return 9;
      case 0x76:
        return 11;
    }
    return fail();
  }

  private parseClass(): string {
    const s = this.src;
    const wholeClass = s.slice(this.pos);
    this.pos++; // [
    let neg = false;
    if (this.pos < s.length && s[this.pos] === '^') {
      neg = true;
      this.pos++;
    }
    let items = '';
    let first = true;
    while (this.pos >= s.length || s[this.pos] !== ']' || first) {
      if (this.pos >= s.length) throw new RegexpSyntaxError('missing closing ]', wholeClass);
      first = false;
      const t = s.slice(this.pos);
      if (t.length > 2 && t[0] === '[' && t[1] === ':') {
        const end = t.indexOf(':]', 2);
        if (end >= 0) {
          let name = t.slice(2, end);
          const seq = t.slice(0, end + 2);
          let cneg = false;
          if (name.startsWith('^')) {
            cneg = true;
            name = name.slice(1);
          }
          if (!Object.hasOwn(POSIX_CLASSES, name)) throw new RegexpSyntaxError('invalid character class range', seq);
          items += cneg ? `[^${POSIX_CLASSES[name]}]` : POSIX_CLASSES[name];
          this.pos += end + 2;
          continue;
        }
      }
      if (t[0] === '\\' && (t[1] === 'p' || t[1] === 'P')) {
        items += this.parseUnicodeClass(true);
        continue;
      }
      if (t[0] === '\\' && t.length > 1 && Object.hasOwn(PERL_CLASSES, t[1])) {
        const pc = PERL_CLASSES[t[1]];
        items += pc.startsWith('[^') ? pc : pc.slice(1, -1);
        this.pos += 2;
        continue;
      }
      const rangeStart = this.pos;
      const lo = this.classChar(wholeClass);
      let hi = lo;
      if (this.pos + 1 < s.length && s[this.pos] === '-' && s[this.pos + 1] !== ']') {
        this.pos++;
        hi = this.classChar(wholeClass);
        if (hi < lo) throw new RegexpSyntaxError('invalid character class range', s.slice(rangeStart, this.pos));
      }
      items += lo === hi ? jsLiteral(lo) : jsLiteral(lo) + '-' + jsLiteral(hi);
    }
    this.pos++; // ]
    if (items === '') return neg ? '[\\s\\S]' : '[^\\s\\S]';
    return (neg ? '[^' : '[') + items + ']';
  }

  private classChar(wholeClass: string): number {
    if (this.pos >= this.src.length) throw new RegexpSyntaxError('missing closing ]', wholeClass);
    if (this.src[this.pos] === '\\') return this.parseEscape();
    return this.nextRune();
  }
}

const regexpCache = new Map<string, GoRegexp | RegexpSyntaxError>();

function compileGoRegexp(pattern: string): GoRegexp {
  let r = regexpCache.get(pattern);
  if (r === undefined) {
    try {
      const tr = new RegexpTranslator(pattern);
      const src = tr.translate();
      r = { re: new RegExp(src, 'gv'), names: tr.names };
    } catch (e) {
      if (e instanceof RegexpSyntaxError) r = e;
      else if (e instanceof SyntaxError) r = new RegexpSyntaxError('invalid or unsupported Perl syntax', pattern);
      else throw e;
    }
    if (regexpCache.size >= 512) regexpCache.clear();
    regexpCache.set(pattern, r);
  }
  if (r instanceof RegexpSyntaxError) throw r;
  return r;
}

/** Go's regexp.quote for the MustCompile panic message. */
function regexpQuote(s: string): string {
  return canBackquote(s) ? '`' + s + '`' : goQuote(s);
}

/** Go's Regexp.Expand for one match. */
function expandReplacement(template: string, m: RegExpExecArray, names: string[]): string {
  let out = '';
  let t = template;
  for (;;) {
    const i = t.indexOf('$');
    if (i < 0) break;
    out += t.slice(0, i);
    t = t.slice(i + 1);
    if (t.length > 0 && t[0] === '$') {
      out += '$';
      t = t.slice(1);
      continue;
    }
    // extract
    let brace = false;
    let str = t;
    if (str.length > 0 && str[0] === '{') {
      brace = true;
      str = str.slice(1);
    }
    let j = 0;
    while (j < str.length) {
      const r = str.codePointAt(j)!;
      const ch = String.fromCodePoint(r);
      if (!(LETTER_RE.test(ch) || DIGIT_RE.test(ch) || r === 0x5f)) break;
      j += ch.length;
    }
    let ok = j > 0;
    const name = str.slice(0, j);
    if (ok && brace) {
      if (j >= str.length || str[j] !== '}') ok = false;
      else j++;
    }
    if (!ok) {
      out += '$';
      continue;
    }
    t = str.slice(j);
    let num = 0;
    for (let k = 0; k < name.length; k++) {
      const c = name.charCodeAt(k);
      if (c < 48 || c > 57 || num >= 1e8) {
        num = -1;
        break;
      }
      num = num * 10 + (c - 48);
    }
    if (name[0] === '0' && name.length > 1) num = -1;
    if (num >= 0) {
      if (num < m.length && m[num] !== undefined) out += m[num];
    } else {
      for (let g = 0; g < names.length; g++) {
        if (names[g] === name && g < m.length && m[g] !== undefined) {
          out += m[g];
          break;
        }
      }
    }
  }
  return out + t;
}

/** Regexp.ReplaceAllString with Go's rules for empty matches. */
function goReplaceAll(re: GoRegexp, src: string, repl: string): string {
  const rx = re.re;
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  const end = src.length;
  while (searchPos <= end) {
    rx.lastIndex = searchPos;
    const m = rx.exec(src);
    if (m === null) break;
    const a0 = m.index;
    const a1 = a0 + m[0].length;
    out += src.slice(lastMatchEnd, a0);
    if (a1 > lastMatchEnd || a0 === 0) out += expandReplacement(repl, m, re.names);
    lastMatchEnd = a1;
    let width = 0;
    if (searchPos < end) {
      const c = src.charCodeAt(searchPos);
      width = c >= 0xd800 && c <= 0xdbff && searchPos + 1 < end ? 2 : 1;
    }
    if (searchPos + width > a1) searchPos += width;
    else if (searchPos + 1 > a1) searchPos++;
    else searchPos = a1;
  }
  return out + src.slice(lastMatchEnd);
}

// ---------------------------------------------------------------------------------------------
// Go's strings / unicode / net helpers
// ---------------------------------------------------------------------------------------------

/** Simple (1:1) case mappings Go has where JS only offers a multi-rune full mapping. */
function greekIotaSubscriptUpper(r: number): number {
  if ((r >= 0x1f80 && r <= 0x1f87) || (r >= 0x1f90 && r <= 0x1f97) || (r >= 0x1fa0 && r <= 0x1fa7)) return r + 8;
  if (r === 0x1fb3) return 0x1fbc;
  if (r === 0x1fc3) return 0x1fcc;
  if (r === 0x1ff3) return 0x1ffc;
  return -1;
}

function upperRune(ch: string): string {
  const u = ch.toUpperCase();
  if (u.length === ch.length || (u.length <= 2 && u.codePointAt(0)! > 0xffff)) return u;
  const g = greekIotaSubscriptUpper(ch.codePointAt(0)!);
  return g >= 0 ? String.fromCodePoint(g) : ch;
}

function lowerRune(ch: string): string {
  const l = ch.toLowerCase();
  if (l.length === ch.length) return l;
  if (ch === '\u0130') return 'i';
  return ch;
}

function titleRune(ch: string): string {
  const r = ch.codePointAt(0)!;
  if (r >= 0x1c4 && r <= 0x1c6) return '\u01c5';
  if (r >= 0x1c7 && r <= 0x1c9) return '\u01c8';
  if (r >= 0x1ca && r <= 0x1cc) return '\u01cb';
  if (r >= 0x1f1 && r <= 0x1f3) return '\u01f2';
  return upperRune(ch);
}

/** strings.ToUpper (per-rune simple mapping, no special casing). */
function goToUpper(s: string): string {
  if (isAscii(s)) return s.toUpperCase();
  let out = '';
  for (const ch of s) out += upperRune(ch);
  return out;
}

/** strings.ToLower (per-rune simple mapping; no final sigma). */
function goToLower(s: string): string {
  if (isAscii(s)) return s.toLowerCase();
  let out = '';
  for (const ch of s) out += lowerRune(ch);
  return out;
}

const SPACE_RE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;

function isTitleSeparator(ch: string): boolean {
  const r = ch.codePointAt(0)!;
  if (r <= 0x7f) return !isAlnumAscii(r) && r !== 0x5f;
  if (LETTER_RE.test(ch) || DIGIT_RE.test(ch)) return false;
  return SPACE_RE.test(ch);
}

/** strings.Title (Prometheus 2.42's `title`). */
function goTitle(s: string): string {
  let prevSep = true;
  let out = '';
  for (const ch of s) {
    out += prevSep ? titleRune(ch) : ch;
    prevSep = isTitleSeparator(ch);
  }
  return out;
}

/** net.SplitHostPort; null on error. */
function splitHostPort(hp: string): { host: string; port: string } | null {
  const i = hp.lastIndexOf(':');
  if (i < 0) return null;
  let host: string;
  let j = 0;
  let k = 0;
  if (hp[0] === '[') {
    const end = hp.indexOf(']');
    if (end < 0) return null;
    if (end + 1 === hp.length) return null;
    if (end + 1 !== i) return null;
    host = hp.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hp.slice(0, i);
    if (host.includes(':')) return null;
  }
  if (hp.slice(j).includes('[')) return null;
  if (hp.slice(k).includes(']')) return null;
  return { host, port: hp.slice(i + 1) };
}

function parseIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return false;
    if (p.length > 1 && p[0] === '0') return false;
    if (Number(p) > 255) return false;
  }
  return true;
}

function isHexDigit(c: string): boolean {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/** Go 1.19 net.parseIPv6 acceptance (no zones). */
function isIPv6(s: string): boolean {
  let ellipsis = -1;
  let groups = 0;
  let i = 0;
  if (s.startsWith('::')) {
    ellipsis = 0;
    i = 2;
    if (i === s.length) return true;
  }
  while (i < s.length) {
    let j = i;
    while (j < s.length && isHexDigit(s[j])) j++;
    if (j === i || j - i > 4) return false;
    if (j < s.length && s[j] === '.') {
      if (ellipsis < 0 && groups !== 6) return false;
      if (groups + 2 > 8) return false;
      if (!parseIPv4(s.slice(i))) return false;
      groups += 2;
      i = s.length;
      break;
    }
    groups++;
    i = j;
    if (i === s.length) break;
    if (s[i] !== ':' || i + 1 === s.length) return false;
    i++;
    if (s[i] === ':') {
      if (ellipsis >= 0) return false;
      ellipsis = groups;
      i++;
      if (i === s.length) break;
    }
    if (groups >= 8) return false;
  }
  return ellipsis < 0 ? groups === 8 : groups < 8;
}

/** net.ParseIP(s) != nil (Go 1.19: the first '.' or ':' decides the family). */
function isIP(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '.') return parseIPv4(s);
    if (s[i] === ':') return isIPv6(s);
  }
  return false;
}

function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function stripPort(hp: string): string {
  const r = splitHostPort(hp);
  return r === null ? hp : r.host;
}

function stripDomain(hp: string): string {
  const r = splitHostPort(hp);
  let host = r === null ? hp : r.host;
  const port = r === null ? '' : r.port;
  if (isIP(host)) return hp;
  host = host.split('.')[0];
  return port !== '' ? joinHostPort(host, port) : host;
}

/** url.URL.Path of the external URL (decoded). */
function urlPath(u: string): string {
  const m = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?:\/\/[^/?#]*)?([^?#]*)/.exec(u);
  const raw = m === null ? '' : m[1];
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

// ---------------------------------------------------------------------------------------------
// Prometheus' template functions (template/template.go, v2.42)
// ---------------------------------------------------------------------------------------------

const NIL_DEREF = 'runtime error: invalid memory address or nil pointer dereference';
const TWO63 = 9223372036854775808;

function convertToFloat(i: Val): number {
  if (typeof i === 'number') return i;
  if (typeof i === 'string') {
    const r = parseGoFloat(i);
    if (r.err !== null) throw new FuncError(parseFloatError(i, r.err));
    return r.v;
  }
  if (i instanceof GoInt && (i.type === 'int' || i.type === 'int64' || i.type === 'uint' || i.type === 'uint64')) {
    return Number(i.v);
  }
  throw new FuncError(`can't convert ${typeName(i)} to float`);
}

function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  if (Math.abs(v) >= 1) {
    let prefix = '';
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v) + prefix;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix;
}

function humanize1024(v: number): string {
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return g4(v);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

/** Go's int64(v) for v >= 0 on amd64 (out of range yields MinInt64). */
function goInt64(v: number): bigint {
  if (v >= TWO63 || v < -TWO63 || Number.isNaN(v)) return -(2n ** 63n);
  return BigInt(Math.trunc(v));
}

function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return g4(v);
  if (v === 0) return g4(v) + 's';
  if (Math.abs(v) >= 1) {
    let sign = '';
    if (v < 0) {
      sign = '-';
      v = -v;
    }
    const duration = goInt64(v);
    const seconds = duration % 60n;
    const minutes = (duration / 60n) % 60n;
    const hours = (duration / 60n / 60n) % 24n;
    const days = duration / 60n / 60n / 24n;
    if (days !== 0n) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0n) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0n) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${g4(v)}s`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${g4(v)}${prefix}s`;
}

/** model.TimeFromUnixNano(int64(v*1e9)) in ms, or an error message. */
function floatToMillis(v: number): number {
  const timestamp = v * 1e9;
  if (timestamp > TWO63 || timestamp < -TWO63) {
    throw new FuncError(`${formatFloat(v, 'g', -1)} cannot be represented as a nanoseconds timestamp since it overflows int64`);
  }
  const ns = timestamp >= TWO63 ? -(2n ** 63n) : BigInt(Math.trunc(timestamp));
  return Number(ns / 1000000n);
}

const DURATION_RE = /^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$/;

/** model.ParseDuration → seconds. */
function parseDuration(d: string): number {
  if (d === '0') return 0;
  if (d === '') throw new FuncError('empty duration string');
  const m = DURATION_RE.exec(d);
  if (m === null) throw new FuncError(`not a valid duration string: ${goQuote(d)}`);
  const MAX = 2n ** 63n - 1n;
  let dur = 0n; // ns
  let overflow = false;
  const unit = (pos: number, multMs: bigint): void => {
    if (m[pos] === undefined || m[pos] === '') return;
    let n = BigInt(m[pos]);
    if (n > MAX) n = MAX; // strconv.Atoi clamps on overflow
    if (n > MAX / multMs / 1000000n) overflow = true;
    dur = BigInt.asIntN(64, dur + BigInt.asIntN(64, BigInt.asIntN(64, n * 1000000n) * multMs));
    if (dur < 0n) overflow = true;
  };
  unit(2, 1000n * 60n * 60n * 24n * 365n);
  unit(4, 1000n * 60n * 60n * 24n * 7n);
  unit(6, 1000n * 60n * 60n * 24n);
  unit(8, 1000n * 60n * 60n);
  unit(10, 1000n * 60n);
  unit(12, 1000n);
  unit(14, 1n);
  if (overflow) throw new FuncError('duration out of range');
  return Number(dur) / 1e9;
}

function asSample(v: Val): GoSample {
  if (v instanceof GoSample) return v;
  throw new FuncError(NIL_DEREF);
}

function asQueryResult(v: Val): GoQueryResult {
  return v instanceof GoQueryResult ? v : new GoQueryResult([]);
}

function promFunc(name: string, params: string[], variadic: string | null, impl: (ex: Exec, args: Val[]) => Val): FuncDef {
  return { name, params, variadic, builtin: false, impl };
}

const PROMETHEUS_FUNCS: FuncDef[] = [
  promFunc('query', ['string'], null, (ex, a) => {
    const r = ex.query(a[0] as string);
    if (!r.ok) throw new FuncError(r.message);
    return new GoQueryResult(r.samples.map((s) => new GoSample(new GoMap(MAP_STRING, s.labels), s.value)));
  }),
  promFunc('first', ['template.queryResult'], null, (_ex, a) => {
    const v = asQueryResult(a[0]);
    if (v.items.length > 0) return v.items[0];
    throw new FuncError('first() called on vector with no elements');
  }),
  promFunc('label', ['string', '*template.sample'], null, (_ex, a) => {
    const v = asSample(a[1]).labels.get(a[0] as string);
    return v === ABSENT ? '' : v;
  }),
  promFunc('value', ['*template.sample'], null, (_ex, a) => asSample(a[0]).value),
  promFunc('strvalue', ['*template.sample'], null, (_ex, a) => {
    const v = asSample(a[0]).labels.get('__value__');
    return v === ABSENT ? '' : v;
  }),
  promFunc('args', [], 'interface {}', (_ex, a) => {
    const m: Record<string, Val> = {};
    for (let i = 0; i < a.length; i++) m['arg' + i] = a[i];
    return new GoMap(MAP_IFACE, m);
  }),
  promFunc('reReplaceAll', ['string', 'string', 'string'], null, (_ex, a) => {
    let re: GoRegexp;
    try {
      re = compileGoRegexp(a[0] as string);
    } catch (e) {
      if (e instanceof RegexpSyntaxError) {
        throw new FuncError(`regexp: Compile(${regexpQuote(a[0] as string)}): ${e.message}`);
      }
      throw e;
    }
    return goReplaceAll(re, a[2] as string, a[1] as string);
  }),
  promFunc('safeHtml', ['string'], null, (_ex, a) => new GoHTML(a[0] as string)),
  promFunc('match', ['string', 'string'], null, (_ex, a) => {
    let re: GoRegexp;
    try {
      re = compileGoRegexp(a[0] as string);
    } catch (e) {
      if (e instanceof RegexpSyntaxError) throw new FuncError(e.message);
      throw e;
    }
    re.re.lastIndex = 0;
    return re.re.test(a[1] as string);
  }),
  promFunc('title', ['string'], null, (_ex, a) => goTitle(a[0] as string)),
  promFunc('toUpper', ['string'], null, (_ex, a) => goToUpper(a[0] as string)),
  promFunc('toLower', ['string'], null, (_ex, a) => goToLower(a[0] as string)),
  promFunc('graphLink', ['string'], null, (_ex, a) => `/graph?g0.expr=${queryEscape(a[0] as string)}&g0.tab=0`),
  promFunc('tableLink', ['string'], null, (_ex, a) => `/graph?g0.expr=${queryEscape(a[0] as string)}&g0.tab=1`),
  promFunc('sortByLabel', ['string', 'template.queryResult'], null, (_ex, a) => {
    const label = a[0] as string;
    const v = asQueryResult(a[1]);
    const key = (s: GoSample): string => {
      const x = s.labels.get(label);
      return x === ABSENT ? '' : (x as string);
    };
    v.items.sort((x, y) => goStringCompare(key(x), key(y)));
    return v;
  }),
  promFunc('stripPort', ['string'], null, (_ex, a) => stripPort(a[0] as string)),
  promFunc('stripDomain', ['string'], null, (_ex, a) => stripDomain(a[0] as string)),
  promFunc('humanize', ['interface {}'], null, (_ex, a) => humanize(convertToFloat(a[0]))),
  promFunc('humanize1024', ['interface {}'], null, (_ex, a) => humanize1024(convertToFloat(a[0]))),
  promFunc('humanizeDuration', ['interface {}'], null, (_ex, a) => humanizeDuration(convertToFloat(a[0]))),
  promFunc('humanizePercentage', ['interface {}'], null, (_ex, a) => g4(convertToFloat(a[0]) * 100) + '%'),
  promFunc('humanizeTimestamp', ['interface {}'], null, (_ex, a) => {
    const v = convertToFloat(a[0]);
    if (!Number.isFinite(v)) return g4(v);
    return timeString(floatToMillis(v));
  }),
  promFunc('toTime', ['interface {}'], null, (_ex, a) => {
    const v = convertToFloat(a[0]);
    if (!Number.isFinite(v)) throw new FuncError('value is NaN or Inf');
    return new GoTime(floatToMillis(v), true);
  }),
  promFunc('pathPrefix', [], null, (ex) => urlPath(ex.externalURL)),
  promFunc('externalURL', [], null, (ex) => ex.externalURL),
  promFunc('parseDuration', ['string'], null, (_ex, a) => parseDuration(a[0] as string)),
];

const FUNCS: ReadonlyMap<string, FuncDef> = new Map([...BUILTINS, ...PROMETHEUS_FUNCS].map((f) => [f.name, f]));

// ---------------------------------------------------------------------------------------------
// Compile / execute
// ---------------------------------------------------------------------------------------------

const MAX_QUERIES_PER_EXECUTION = 1000;

class CompiledTemplateImpl implements CompiledTemplate {
  readonly name: string;
  private readonly fullText: string;
  private readonly trees: Map<string, ParsedTemplate>;
  constructor(name: string, text: string) {
    this.name = name;
    this.fullText = TEMPLATE_PRELUDE + text;
    this.trees = new Map();
    try {
      const parser = new Parser(lexAll(this.fullText), name, FUNCS, this.trees);
      parser.parseMain(name);
    } catch (e) {
      if (e instanceof GoTemplateFailure) throw new TemplateError('template_parse', e.message, { templateName: name });
      if (e instanceof RangeError) {
        throw new TemplateError('template_parse', `template: ${name}: max expression depth exceeded`, {
          cause: e,
          templateName: name,
        });
      }
      throw e;
    }
  }

  executeSync(data: TemplateData, queries: Map<string, QueryOutcome>): string {
    const dot = new AlertData(
      new GoMap(MAP_STRING, data.labels),
      new GoMap(MAP_STRING, data.externalLabels),
      data.externalURL,
      data.value,
    );
    const ex = new Exec(this.fullText, this.name, this.trees, queries, data.externalURL);
    try {
      return ex.run(this.name, dot);
    } catch (e) {
      if (e instanceof NeedQuery) throw e;
      if (e instanceof GoTemplateFailure) throw new TemplateError('template_exec', e.message, { templateName: this.name });
      if (e instanceof RangeError) {
        const msg = `template: ${this.name}: exceeded maximum template depth (${MAX_EXEC_DEPTH})`;
        throw new TemplateError('template_exec', msg, { cause: e, templateName: this.name });
      }
      const msg = e instanceof Error ? e.message : String(e);
      throw new TemplateError('template_exec', `template: ${this.name}: internal error: ${msg}`, {
        cause: e,
        templateName: this.name,
      });
    }
  }

  async execute(data: TemplateData, options?: ExecuteOptions): Promise<string> {
    const queries = new Map<string, QueryOutcome>();
    for (;;) {
      try {
        return this.executeSync(data, queries);
      } catch (e) {
        if (!(e instanceof NeedQuery)) throw e;
        if (queries.size >= MAX_QUERIES_PER_EXECUTION) {
          throw new TemplateError(
            'template_exec',
            `template: ${this.name}: more than ${MAX_QUERIES_PER_EXECUTION} distinct queries in one expansion`,
            { templateName: this.name },
          );
        }
        queries.set(e.expr, await runQuery(options?.query, e.expr));
      }
    }
  }
}

async function runQuery(query: TemplateQuery | undefined, expr: string): Promise<QueryOutcome> {
  if (query === undefined) return { ok: false, message: 'no query function configured' };
  try {
    return { ok: true, samples: await query(expr) };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}

/** Compiles with Prometheus' prelude (TEMPLATE_PRELUDE). Throws TemplateError (code template_parse). */
export function compileTemplate(name: string, text: string): CompiledTemplate {
  return new CompiledTemplateImpl(name, text);
}

const compiledCache = new Map<string, CompiledTemplate | TemplateError>();
const COMPILED_CACHE_MAX = 4096;

function compileCached(name: string, text: string): CompiledTemplate {
  const key = name + '\u0000' + text;
  let c = compiledCache.get(key);
  if (c === undefined) {
    try {
      c = compileTemplate(name, text);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      c = e;
    }
    if (compiledCache.size >= COMPILED_CACHE_MAX) compiledCache.delete(compiledCache.keys().next().value!);
    compiledCache.set(key, c);
  }
  if (c instanceof TemplateError) throw c;
  return c;
}

/**
 * Prometheus' behaviour for rules: expand, and on any error return `<error expanding template: …>` (with
 * Prometheus' "error parsing template NAME: " / "error executing template NAME: " prefixes).
 */
export async function expandTemplate(
  name: string,
  text: string,
  data: TemplateData,
  options?: ExecuteOptions,
): Promise<string> {
  let tmpl: CompiledTemplate;
  try {
    tmpl = compileCached(name, text);
  } catch (e) {
    if (e instanceof TemplateError) return `<error expanding template: error parsing template ${name}: ${e.message}>`;
    throw e;
  }
  try {
    return await tmpl.execute(data, options);
  } catch (e) {
    if (e instanceof TemplateError) return `<error expanding template: error executing template ${name}: ${e.message}>`;
    throw e;
  }
}
