// A PromQL tokenizer modelled on Prometheus' lexer (promql/parser/lex.go). The lezer grammar does the
// parsing; this tokenizer exists to report lexical errors with Prometheus' wording and positions
// ("unterminated quoted string", "unclosed left parenthesis", "unexpected character: '$'"), and to
// describe the token found where lezer hit a syntax error ("unexpected <op:*>", "unexpected end of
// input"). It also holds the literal decoders: strings (Go escapes), numbers, durations.

import { goQuote } from './labels.ts';

export type TokenKind =
  | 'EOF'
  | 'IDENTIFIER'
  | 'METRIC_IDENTIFIER'
  | 'NUMBER'
  | 'DURATION'
  | 'STRING'
  | 'KEYWORD'
  | 'AGGREGATOR'
  | 'OPERATOR'
  | 'PUNCT';

export interface Token {
  kind: TokenKind;
  start: number;
  end: number;
  text: string;
}

export interface LexError {
  /** Where Prometheus reports the error (for ')' it is after the parenthesis). */
  pos: number;
  /** Where the offending input starts, to order it against syntax errors. */
  at: number;
  message: string;
}

const AGGREGATORS = new Set([
  'sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'count_values',
  'quantile', 'limitk', 'limit_ratio',
]);
const OPERATOR_WORDS = new Set(['and', 'or', 'unless', 'atan2']);
const KEYWORDS = new Set([
  'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'start', 'end',
  'smoothed', 'anchored',
]);

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean =>
  c !== undefined && (c === '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlphaNumeric = (c: string | undefined): boolean => isAlpha(c) || isDigit(c);
const isHexDigit = (c: string | undefined): boolean =>
  c !== undefined && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** Prometheus' %q of a single character, e.g. '$'. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  const q = goQuote(c);
  return `'${q.slice(1, -1).replace(/\\"/g, '"')}'`;
}

/** Tokenizes the whole query; stops at the first lexical error. */
export function tokenize(input: string): { tokens: Token[]; error: LexError | null } {
  const tokens: Token[] = [];
  let pos = 0;
  let parenDepth = 0;
  let bracketOpen = false;
  let afterBracket = false;
  let gotColon = false;
  let braceOpen = false;
  const emit = (kind: TokenKind, start: number, end: number): void => {
    tokens.push({ kind, start, end, text: input.slice(start, end) });
  };
  const fail = (p: number, message: string, at = p) => ({ tokens, error: { pos: p, at, message } });

  while (true) {
    const c = input[pos];
    if (afterBracket && !isSpace(c)) {
      // Prometheus 2.42 lexes what follows '[' as a duration (lexDuration), whatever it is: a form that
      // is neither a number nor a duration is refused here, with its messages. A plain number is
      // accepted (as seconds, as in Prometheus 3) where 2.42 says "missing unit character in duration".
      afterBracket = false;
      const start = pos;
      const r = scanNumberOrDuration(input, pos);
      if (typeof r === 'number') return fail(start, `bad duration syntax: ${goQuote(input.slice(start, r))}`);
      if (r.end === start) return fail(start, 'missing unit character in duration');
      pos = r.end;
      emit(r.kind, start, pos);
      continue;
    }
    if (c === undefined) {
      if (braceOpen) return fail(pos, 'unexpected end of input inside braces');
      if (parenDepth !== 0) return fail(pos, 'unclosed left parenthesis');
      if (bracketOpen) return fail(pos, 'unclosed left bracket');
      emit('EOF', pos, pos);
      return { tokens, error: null };
    }
    if (isSpace(c)) {
      pos++;
      continue;
    }
    if (c === '#') {
      while (pos < input.length && input[pos] !== '\n') pos++;
      continue;
    }
    const start = pos;
    if (c === '"' || c === "'" || c === '`') {
      const end = scanString(input, pos);
      if (typeof end !== 'number') return fail(start, end.message);
      pos = end;
      emit('STRING', start, pos);
      continue;
    }
    if (braceOpen) {
      if (isAlpha(c)) {
        while (isAlphaNumeric(input[pos])) pos++;
        emit('IDENTIFIER', start, pos);
        continue;
      }
      switch (c) {
        case ',':
          pos++;
          emit('PUNCT', start, pos);
          continue;
        case '}':
          braceOpen = false;
          pos++;
          emit('PUNCT', start, pos);
          continue;
        case '=':
          pos += input[pos + 1] === '~' ? 2 : 1;
          emit('OPERATOR', start, pos);
          continue;
        case '!': {
          const n = input[pos + 1];
          if (n === '=' || n === '~') {
            pos += 2;
            emit('OPERATOR', start, pos);
            continue;
          }
          return fail(start, `unexpected character after '!' inside braces: ${quoteChar(n ?? '')}`);
        }
        case '{':
          return fail(start, `unexpected left brace ${quoteChar(c)}`);
        default:
          return fail(start, `unexpected character inside braces: ${quoteChar(c)}`);
      }
    }
    if (isDigit(c) || (c === '.' && isDigit(input[pos + 1]))) {
      const r = scanNumberOrDuration(input, pos);
      if (typeof r !== 'object') return fail(start, `bad number or duration syntax: ${goQuote(input.slice(start, r))}`);
      pos = r.end;
      emit(r.kind, start, pos);
      continue;
    }
    if (isAlpha(c) || (c === ':' && !bracketOpen)) {
      while (isAlphaNumeric(input[pos]) || (input[pos] === ':' && !bracketOpen)) pos++;
      const word = input.slice(start, pos);
      const lower = word.toLowerCase();
      if (word.includes(':')) emit('METRIC_IDENTIFIER', start, pos);
      else if (lower === 'inf' || lower === 'nan') emit('NUMBER', start, pos);
      else if (AGGREGATORS.has(lower)) emit('AGGREGATOR', start, pos);
      else if (OPERATOR_WORDS.has(lower)) emit('OPERATOR', start, pos);
      else if (KEYWORDS.has(lower)) emit('KEYWORD', start, pos);
      else emit('IDENTIFIER', start, pos);
      continue;
    }
    switch (c) {
      case '(':
        parenDepth++;
        pos++;
        emit('PUNCT', start, pos);
        continue;
      case ')':
        pos++;
        parenDepth--;
        if (parenDepth < 0) return fail(pos, `unexpected right parenthesis ${quoteChar(c)}`, start);
        emit('PUNCT', start, pos);
        continue;
      case '{':
        braceOpen = true;
        pos++;
        emit('PUNCT', start, pos);
        continue;
      case '[':
        if (bracketOpen) return fail(start, `unexpected left bracket ${quoteChar(c)}`);
        bracketOpen = true;
        afterBracket = true;
        gotColon = false;
        pos++;
        emit('PUNCT', start, pos);
        continue;
      case ']':
        if (!bracketOpen) return fail(start, `unexpected right bracket ${quoteChar(c)}`);
        bracketOpen = false;
        pos++;
        emit('PUNCT', start, pos);
        continue;
      case ',':
        pos++;
        emit('PUNCT', start, pos);
        continue;
      case ':':
        if (gotColon) return fail(start, `unexpected colon ${quoteChar(c)}`);
        gotColon = true;
        pos++;
        emit('PUNCT', start, pos);
        continue;
      case '@':
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
      case '^':
        pos++;
        emit('OPERATOR', start, pos);
        continue;
      case '=':
        pos += input[pos + 1] === '=' ? 2 : 1;
        emit('OPERATOR', start, pos);
        continue;
      case '!':
        if (input[pos + 1] === '=') {
          pos += 2;
          emit('OPERATOR', start, pos);
          continue;
        }
        return fail(start, `unexpected character after '!': ${quoteChar(input[pos + 1] ?? '')}`);
      case '<':
      case '>':
        pos += input[pos + 1] === '=' || input[pos + 1] === '/' ? 2 : 1;
        emit('OPERATOR', start, pos);
        continue;
      default:
        return fail(start, `unexpected character: ${quoteChar(String.fromCodePoint(input.codePointAt(pos)!))}`);
    }
  }
}

function scanString(input: string, start: number): number | { message: string } {
  const quote = input[start]!;
  let pos = start + 1;
  if (quote === '`') {
    const end = input.indexOf('`', pos);
    return end < 0 ? { message: 'unterminated raw string' } : end + 1;
  }
  while (true) {
    const c = input[pos];
    if (c === undefined || c === '\n') return { message: 'unterminated quoted string' };
    if (c === quote) return pos + 1;
    if (c === '\\') {
      const err = checkEscape(input, pos + 1, quote);
      if (typeof err !== 'number') return err;
      pos = err;
      continue;
    }
    pos++;
  }
}

/** Validates the escape starting after a backslash; returns the position after it. */
function checkEscape(input: string, pos: number, quote: string): number | { message: string } {
  const c = input[pos];
  if (c === undefined || c === '\n') return { message: 'escape sequence not terminated' };
  if ('abfnrtv\\'.includes(c) || c === quote) return pos + 1;
  let n: number;
  let base: number;
  let max: number;
  if (c >= '0' && c <= '7') [n, base, max] = [3, 8, 255];
  else if (c === 'x') [n, base, max] = [2, 16, 255];
  else if (c === 'u') [n, base, max] = [4, 16, 0x10ffff];
  else if (c === 'U') [n, base, max] = [8, 16, 0x10ffff];
  else {
    const cp = input.codePointAt(pos)!;
    return { message: `unknown escape sequence U+${cp.toString(16).toUpperCase().padStart(4, '0')} ${quoteChar(String.fromCodePoint(cp))}` };
  }
  let p = c >= '0' && c <= '7' ? pos : pos + 1;
  let value = 0;
  for (let i = 0; i < n; i++, p++) {
    const d = input[p];
    const digit = d === undefined ? NaN : parseInt(d, base);
    if (Number.isNaN(digit)) {
      if (d === undefined) return { message: 'escape sequence not terminated' };
      const cp = input.codePointAt(p)!;
      return { message: `illegal character U+${cp.toString(16).toUpperCase().padStart(4, '0')} ${quoteChar(String.fromCodePoint(cp))} in escape sequence` };
    }
    value = value * base + digit;
  }
  if (value > max || (value >= 0xd800 && value < 0xe000 && max > 255)) {
    return { message: 'escape sequence is an invalid Unicode code point' };
  }
  return p;
}

/**
 * Scans a number or a duration like Prometheus' lexer (lexNumberOrDuration: scanNumber, then
 * acceptRemainingDuration). A number is `0x` + hex digits, or digits, an optional '.' and digits, an
 * optional exponent ([eE][+-]?digits); every part may be empty (`1.`, `1.e3`, `1e` are numbers here;
 * the number parser refuses `1e`). It must not be followed by a letter, digit or '_'; otherwise the
 * characters after it must be duration units (`1h30m`, also `1.5m`, which model.ParseDuration refuses
 * later). Returns the token, or the position where the scan failed (the error quotes input up to it).
 * One extension over 2.42: '_' between two digits (`1_000`), as Prometheus 3 allows.
 */
function scanNumberOrDuration(input: string, start: number): { kind: 'NUMBER' | 'DURATION'; end: number } | number {
  let p = start;
  let digits = isDigit;
  let underscore = -1;
  if (input[p] === '0' && (input[p + 1] === 'x' || input[p + 1] === 'X')) {
    p += 2;
    digits = isHexDigit;
    if (input[p] === '_' && isHexDigit(input[p + 1])) underscore = p++;
  }
  const run = (isD: (c: string | undefined) => boolean): void => {
    while (isD(input[p]) || (input[p] === '_' && isD(input[p - 1]) && isD(input[p + 1]))) {
      if (input[p] === '_' && underscore < 0) underscore = p;
      p++;
    }
  };
  run(digits);
  if (input[p] === '.') {
    p++;
    run(digits);
  }
  if (input[p] === 'e' || input[p] === 'E') {
    p++;
    if (input[p] === '+' || input[p] === '-') p++;
    run(isDigit);
  }
  if (!isAlphaNumeric(input[p])) return { kind: 'NUMBER', end: p };
  if (underscore >= 0) return underscore; // not a number: 2.42's lexer stops at the '_'
  // acceptRemainingDuration: a unit (ms counts as m then s), then more digits + unit pairs ('y' only
  // first); the character after must not be alphanumeric (it is part of the error text if it is).
  if (!'smhdwy'.includes(input[p]!)) return p;
  p++;
  if (input[p] === 's') p++;
  while (isDigit(input[p])) {
    while (isDigit(input[p])) p++;
    if (input[p] === undefined || !'smhdw'.includes(input[p]!)) return p;
    p++;
    if (input[p] === 's') p++;
  }
  if (isAlphaNumeric(input[p])) return p + 1;
  return { kind: 'DURATION', end: p };
}

/** Item.String() of a value token: %q, or %.10q... (the first 10 characters) when over 10 bytes. */
function quoteValue(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= 10) return goQuote(text);
  return `${goQuote([...text].slice(0, 10).join(''))}...`;
}

/** Prometheus' Item.desc(): how a token is named in "unexpected …" errors. */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'EOF':
      return 'end of input';
    case 'IDENTIFIER':
      return `identifier ${goQuote(t.text)}`;
    case 'METRIC_IDENTIFIER':
      return `metric identifier ${goQuote(t.text)}`;
    case 'NUMBER':
      return `number ${quoteValue(t.text)}`;
    case 'DURATION':
      return `duration ${quoteValue(t.text)}`;
    case 'STRING':
      return `string ${quoteValue(t.text)}`;
    case 'KEYWORD':
      return `<${t.text}>`;
    case 'AGGREGATOR':
      return `<aggr:${t.text}>`;
    case 'OPERATOR':
      return `<op:${t.text}>`;
    case 'PUNCT':
      return goQuote(t.text);
  }
}

// ---------------------------------------------------------------------------------------------------
// Literal decoders

/**
 * Unquotes a PromQL string literal ("…", '…' with Go escapes, or `…` raw) like Prometheus'
 * strutil.Unquote. \x and octal escapes produce bytes, decoded as UTF-8 at the end.
 */
export function unquoteString(raw: string): string {
  const quote = raw[0];
  if (raw.length < 2 || raw[raw.length - 1] !== quote) throw new Error('invalid syntax');
  const body = raw.slice(1, -1);
  if (quote === '`') {
    if (body.includes('`')) throw new Error('invalid syntax');
    return body;
  }
  if (quote !== '"' && quote !== "'") throw new Error('invalid syntax');
  if (!body.includes('\\')) {
    if (body.includes(quote) || body.includes('\n')) throw new Error('invalid syntax');
    return body;
  }
  const bytes: number[] = [];
  const pushStr = (s: string): void => {
    for (const b of Buffer.from(s, 'utf8')) bytes.push(b);
  };
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    if (c === quote || c === '\n') throw new Error('invalid syntax');
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      pushStr(ch);
      i += ch.length;
      continue;
    }
    const e = body[i + 1];
    i += 2;
    switch (e) {
      case 'a':
        bytes.push(7);
        break;
      case 'b':
        bytes.push(8);
        break;
      case 'f':
        bytes.push(12);
        break;
      case 'n':
        bytes.push(10);
        break;
      case 'r':
        bytes.push(13);
        break;
      case 't':
        bytes.push(9);
        break;
      case 'v':
        bytes.push(11);
        break;
      case '\\':
        bytes.push(92);
        break;
      case "'":
      case '"':
        if (e !== quote) throw new Error('invalid syntax');
        bytes.push(e.charCodeAt(0));
        break;
      case 'x': {
        const h = body.slice(i, i + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new Error('invalid syntax');
        bytes.push(parseInt(h, 16));
        i += 2;
        break;
      }
      case 'u':
      case 'U': {
        const n = e === 'u' ? 4 : 8;
        const h = body.slice(i, i + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) throw new Error('invalid syntax');
        const cp = parseInt(h, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) throw new Error('invalid syntax');
        pushStr(String.fromCodePoint(cp));
        i += n;
        break;
      }
      default: {
        if (e !== undefined && e >= '0' && e <= '7') {
          const o = body.slice(i - 1, i + 2);
          if (!/^[0-7]{3}$/.test(o)) throw new Error('invalid syntax');
          const v = parseInt(o, 8);
          if (v > 255) throw new Error('invalid syntax');
          bytes.push(v);
          i += 2;
          break;
        }
        throw new Error('invalid syntax');
      }
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Parses an unsigned number literal like Prometheus: strconv.ParseInt(s, 0, 64) first (so 0x1F is 31
 * and 010 is octal 8), then strconv.ParseFloat; "Inf"/"NaN" in any case.
 */
export function parseNumber(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const asInt = parseGoInt(text);
  if (asInt !== null) return asInt;
  const s = text.replace(/(?<=[0-9])_(?=[0-9])/g, '');
  if (/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(s)) {
    const n = Number(s);
    // Go's ParseFloat: overflow is an error (underflow to 0 is not).
    if (!Number.isFinite(n)) throw new Error(`error parsing number: strconv.ParseFloat: parsing ${goQuote(text)}: value out of range`);
    return n;
  }
  throw new Error(`error parsing number: strconv.ParseFloat: parsing ${goQuote(text)}: invalid syntax`);
}

const INT64_MAX = 2n ** 63n - 1n;

function parseGoInt(text: string): number | null {
  let digits: string;
  let prefix: string;
  if (/^0[xX][0-9a-fA-F]+(?:_?[0-9a-fA-F]+)*$/.test(text) || /^0[xX]_[0-9a-fA-F]+(?:_?[0-9a-fA-F]+)*$/.test(text)) {
    prefix = '0x';
    digits = text.slice(2).replace(/_/g, '');
  } else if (/^0[oO]_?[0-7]+(?:_?[0-7]+)*$/.test(text)) {
    prefix = '0o';
    digits = text.slice(2).replace(/_/g, '');
  } else if (/^0[bB]_?[01]+(?:_?[01]+)*$/.test(text)) {
    prefix = '0b';
    digits = text.slice(2).replace(/_/g, '');
  } else if (/^0_?[0-7]+(?:_?[0-7]+)*$/.test(text)) {
    prefix = '0o';
    digits = text.slice(1).replace(/_/g, '');
  } else if (/^[0-9]+(?:_[0-9]+)*$/.test(text)) {
    if (text.length > 1 && text[0] === '0') return null; // e.g. 09: not octal, ParseFloat decides
    prefix = '';
    digits = text.replace(/_/g, '');
  } else {
    return null;
  }
  const big = BigInt(prefix + digits);
  if (big > INT64_MAX) return null;
  return Number(big);
}

const durationRe = /^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/;
const unitMs = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];
/** The largest duration Prometheus 2.42 accepts: a Go time.Duration (int64 nanoseconds), in ms. */
const MAX_DURATION_MS = Number((2n ** 63n - 1n) / 1_000_000n);

/**
 * Prometheus' model.ParseDuration ("1h30m", "5m", "1y" = 365d, "0"), in milliseconds. As in 2.42, the
 * total must fit a Go time.Duration (about 292 years): "duration out of range" otherwise.
 */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  if (text === '') throw new Error('empty duration string');
  const m = durationRe.exec(text);
  if (!m) throw new Error(`not a valid duration string: ${goQuote(text)}`);
  let ms = 0;
  for (let i = 0; i < unitMs.length; i++) {
    const part = m[i + 1];
    if (part === undefined) continue;
    const n = Number(part);
    if (n > Math.floor(MAX_DURATION_MS / unitMs[i]!)) throw new Error('duration out of range');
    ms += n * unitMs[i]!;
  }
  if (ms > MAX_DURATION_MS) throw new Error('duration out of range');
  return ms;
}

/** Formats milliseconds as Prometheus prints durations (model.Duration.String(): "1h30m", "0s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let out = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  const units: Array<[string, number]> = [
    ['y', 365 * 86_400_000],
    ['w', 7 * 86_400_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  for (const [u, size] of units) {
    // Like model.Duration.String(): years and weeks only when they divide the rest exactly (90d, not 12w6d).
    if ((u === 'y' || u === 'w') && rest % size !== 0) continue;
    if (rest >= size) {
      const n = Math.floor(rest / size);
      out += `${n}${u}`;
      rest -= n * size;
    }
  }
  return out;
}
