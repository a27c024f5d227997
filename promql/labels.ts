// Label sets and label matchers with Prometheus semantics.
//
// A label set is an array of {name, value} sorted by name (byte order, as Go compares strings), without
// empty values (Prometheus treats an empty value as an absent label). Arrays are never mutated once
// built; a LabelsBuilder makes modified copies.

import type { Label } from '../protocol/types.ts';
import type { LabelMatcher } from '../storage/types.ts';

export type { Label, LabelMatcher };
export type Labels = readonly Label[];

export const METRIC_NAME = '__name__';
export const BUCKET_LABEL = 'le';

/**
 * Compares strings in Unicode code point order, which is the byte order of their UTF-8 encodings (Go's
 * string comparison). Plain `<` compares UTF-16 code units, which differs only for astral characters.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Surrogates (astral code points) sort after U+E000..U+FFFF.
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** labels.Compare: pairwise by name then value; a prefix sorts first. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const an = a[i]!;
    const bn = b[i]!;
    if (an.name !== bn.name) return compareStrings(an.name, bn.name);
    if (an.value !== bn.value) return compareStrings(an.value, bn.value);
  }
  return a.length - b.length;
}

/** Sorts (a copy of) labels by name and drops empty values. Duplicate names keep the last value. */
export function normalizeLabels(labels: readonly Label[]): Labels {
  const out = labels.filter((l) => l.value !== '').map((l) => ({ name: l.name, value: l.value }));
  out.sort((x, y) => compareStrings(x.name, y.name));
  for (let i = out.length - 1; i > 0; i--) if (out[i]!.name === out[i - 1]!.name) out.splice(i - 1, 1);
  return out;
}

export function labelsFromRecord(rec: Record<string, string>): Labels {
  return normalizeLabels(Object.entries(rec).map(([name, value]) => ({ name, value })));
}

export function labelsToRecord(labels: Labels): Record<string, string> {
  const rec: Record<string, string> = {};
  for (const l of labels) rec[l.name] = l.value;
  return rec;
}

export function getLabel(labels: Labels, name: string): string {
  for (const l of labels) if (l.name === name) return l.value;
  return '';
}

const keyCache = new WeakMap<Labels, string>();

/** An unambiguous string key of a label set (length-prefixed), cached per array. */
export function labelsKey(labels: Labels): string {
  let k = keyCache.get(labels);
  if (k === undefined) {
    k = '';
    for (const l of labels) k += `${l.name.length}:${l.name}${l.value.length}:${l.value}`;
    keyCache.set(labels, k);
  }
  return k;
}

/**
 * Which labels of a set identify it for grouping or matching: all of them, only `names` (by / on), or all
 * but `names` (without / ignoring).
 */
export type LabelProjection = { readonly keep: 'all' } | { readonly keep: 'only' | 'except'; readonly names: ReadonlySet<string> };

export const ALL_LABELS: LabelProjection = { keep: 'all' };

function projected(p: LabelProjection, name: string): boolean {
  return p.keep === 'all' || (p.keep === 'only') === p.names.has(name);
}

// The two lanes of hashProjection, module state so that mixing in a string allocates nothing.
let laneA = 0;
let laneB = 0;

/** Mixes a string's UTF-16 code units, then its length tagged with `kind`, into both lanes. */
function mixString(s: string, kind: number): void {
  let a = laneA;
  let b = laneB;
  for (let j = 0; j < s.length; j++) {
    const c = s.charCodeAt(j);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  // The tagged length delimits names and values, so no two different label sets feed the same sequence.
  laneA = Math.imul(a ^ (kind + s.length), 0x01000193);
  laneB = Math.imul(b ^ (kind + s.length), 0x5bd1e995);
}

/** FNV-1a over UTF-16 code units in two 32-bit lanes (different primes), folded into 53 bits. */
function hashProjection(labels: Labels, p: LabelProjection): number {
  laneA = 0x811c9dc5;
  laneB = 0x01000193;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!projected(p, l.name)) continue;
    mixString(l.name, 0x10000);
    mixString(l.value, 0x20000);
  }
  return (laneA >>> 0) * 0x200000 + ((laneB ^ (laneB >>> 15)) & 0x1fffff);
}

function equalProjection(x: Labels, y: Labels, p: LabelProjection): boolean {
  let i = 0;
  let j = 0;
  while (true) {
    while (i < x.length && !projected(p, x[i]!.name)) i++;
    while (j < y.length && !projected(p, y[j]!.name)) j++;
    if (i === x.length || j === y.length) return i === x.length && j === y.length;
    const a = x[i++]!;
    const b = y[j++]!;
    if (a.name !== b.name || a.value !== b.value) return false;
  }
}

/**
 * Numbers the distinct projections of label sets 0, 1, 2, … in order of first appearance: the grouping of
 * aggregations, the match signatures of binary operators, duplicate checks. Exact (a hash picks the
 * candidates, equality decides) and without building a string key per label set, which cost more than the
 * operations themselves and most of their garbage.
 */
export class LabelSetIndex {
  readonly #projection: LabelProjection;
  readonly #hash: (labels: Labels, projection: LabelProjection) => number;
  /** Hash → ordinal of the first set with that hash; further sets with the same hash in #collisions. */
  readonly #byHash = new Map<number, number>();
  readonly #collisions = new Map<number, number[]>();
  /** A label set of each ordinal (the first seen). */
  readonly representatives: Labels[] = [];

  /** `hash` replaces the hash function (tests use a constant one to exercise collisions). */
  constructor(projection: LabelProjection = ALL_LABELS, hash = hashProjection) {
    this.#projection = projection;
    this.#hash = hash;
  }

  get size(): number {
    return this.representatives.length;
  }

  /** The ordinal of the labels' projection, numbering it if it is new. */
  ordinal(labels: Labels): number {
    const h = this.#hash(labels, this.#projection);
    const first = this.#byHash.get(h);
    if (first === undefined) {
      this.#byHash.set(h, this.representatives.length);
      this.representatives.push(labels);
      return this.representatives.length - 1;
    }
    if (equalProjection(this.representatives[first]!, labels, this.#projection)) return first;
    let more = this.#collisions.get(h);
    if (more) for (const o of more) if (equalProjection(this.representatives[o]!, labels, this.#projection)) return o;
    if (!more) this.#collisions.set(h, (more = []));
    more.push(this.representatives.length);
    this.representatives.push(labels);
    return this.representatives.length - 1;
  }
}

const validLegacyName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Prometheus' labels.String(): `{__name__="up", job="x"}`; non-legacy names are quoted. */
export function labelsToString(labels: Labels): string {
  const parts = labels.map(
    (l) => `${validLegacyName.test(l.name) ? l.name : goQuote(l.name)}=${goQuote(l.value)}`,
  );
  return `{${parts.join(', ')}}`;
}

/** Go's strconv.Quote for the characters that matter in label values. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** Prometheus 3 label names: any non-empty valid UTF-8 string (UTF8Validation). */
export function isValidLabelName(name: string): boolean {
  return name.length > 0 && name.isWellFormed();
}

const dropNameCache = new WeakMap<Labels, Labels>();

/** The labels without __name__ (memoized per array, so step-by-step callers share one result). */
export function dropMetricName(labels: Labels): Labels {
  let out = dropNameCache.get(labels);
  if (out === undefined) {
    out = labels;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i]!.name === METRIC_NAME) {
        out = labels.slice(0, i).concat(labels.slice(i + 1));
        break;
      }
    }
    dropNameCache.set(labels, out);
  }
  return out;
}

/** Builds a modified copy of a label set (Prometheus' labels.Builder). */
export class LabelsBuilder {
  private readonly map = new Map<string, string>();
  private changed = false;
  private readonly base: Labels;
  constructor(base: Labels) {
    this.base = base;
    for (const l of base) this.map.set(l.name, l.value);
  }
  /** Sets a label; an empty value deletes it. */
  set(name: string, value: string): this {
    if (value === '') return this.del(name);
    if (this.map.get(name) !== value) {
      this.map.set(name, value);
      this.changed = true;
    }
    return this;
  }
  del(...names: string[]): this {
    for (const n of names) if (this.map.delete(n)) this.changed = true;
    return this;
  }
  keep(names: Iterable<string>): this {
    const keep = new Set(names);
    for (const n of [...this.map.keys()]) if (!keep.has(n)) this.del(n);
    return this;
  }
  labels(): Labels {
    if (!this.changed) return this.base;
    const out: Label[] = [];
    for (const [name, value] of this.map) out.push({ name, value });
    out.sort((x, y) => compareStrings(x.name, y.name));
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------
// Matchers

export type CompiledMatcher = LabelMatcher & { matches(value: string): boolean };

export function compileMatcher(m: LabelMatcher): CompiledMatcher {
  switch (m.type) {
    case '=':
      return { ...m, matches: (v) => v === m.value };
    case '!=':
      return { ...m, matches: (v) => v !== m.value };
    case '=~': {
      const re = compileAnchoredRegex(m.value);
      return { ...m, matches: (v) => re.test(v) };
    }
    case '!~': {
      const re = compileAnchoredRegex(m.value);
      return { ...m, matches: (v) => !re.test(v) };
    }
  }
}

export function matchesLabels(matchers: readonly CompiledMatcher[], labels: Labels): boolean {
  for (const m of matchers) if (!m.matches(getLabel(labels, m.name))) return false;
  return true;
}

export class RegexError extends Error {}

const regexCache = new Map<string, RegExp>();

/**
 * Compiles a Go RE2 regular expression fully anchored, with `.` matching newlines, as Prometheus 3
 * does for label matchers and label_replace (`^(?s:re)$`). Throws RegexError with Go-like wording.
 */
export function compileAnchoredRegex(source: string): RegExp {
  let re = regexCache.get(source);
  if (re) return re;
  const { pattern, flags } = goRegexToJs(source);
  try {
    re = new RegExp(`^(?:${pattern})$`, `s${flags}`);
  } catch (err) {
    const reason = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    throw new RegexError(`error parsing regexp: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}: \`^(?:${source})$\``);
  }
  if (regexCache.size > 1000) regexCache.clear();
  regexCache.set(source, re);
  return re;
}

const posixClasses: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/**
 * Translates the RE2 syntax that JavaScript lacks: inline flag groups `(?i)` (leading ones become
 * RegExp flags, later ones become `(?i:…)` modifier groups), `(?P<name>`, `\A`, `\z`, `\Q…\E`, POSIX
 * classes `[[:alpha:]]`, and `\pL` (which needs the `u` flag). Everything else passes through.
 */
export function goRegexToJs(src: string): { pattern: string; flags: string } {
  let out = '';
  let flags = '';
  let i = 0;
  // Stack of groups; each lists the flags of modifier groups opened inside it that must close with it.
  const stack: string[][] = [[]];
  let atStart = true;
  let needU = false;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) throw new RegexError(`error parsing regexp: trailing backslash at end of expression: \`${src}\``);
      if (n === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        const lit = end < 0 ? src.slice(i + 2) : src.slice(i + 2, end);
        out += lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
        i = end < 0 ? src.length : end + 2;
      } else if (n === 'A') {
        out += '^';
        i += 2;
      } else if (n === 'z') {
        out += '$';
        i += 2;
      } else if (n === 'p' || n === 'P') {
        needU = true;
        if (src[i + 2] === '{') {
          const end = src.indexOf('}', i + 2);
          out += src.slice(i, end + 1);
          i = end + 1;
        } else {
          out += `\\${n}{${src[i + 2]}}`;
          i += 3;
        }
      } else {
        out += c + n;
        i += 2;
      }
      atStart = false;
      continue;
    }
    if (c === '[') {
      // Character class: copy through, translating POSIX classes.
      let j = i + 1;
      let cls = '[';
      if (src[j] === '^') (cls += '^'), j++;
      if (src[j] === ']') (cls += '\\]'), j++;
      while (j < src.length && src[j] !== ']') {
        if (src.startsWith('[:', j)) {
          const end = src.indexOf(':]', j + 2);
          const name = end < 0 ? '' : src.slice(j + 2, end);
          if (name.startsWith('^') || !(name in posixClasses)) {
            throw new RegexError(`error parsing regexp: invalid character class range: \`${src.slice(j, end + 2)}\``);
          }
          cls += posixClasses[name];
          j = end + 2;
        } else if (src[j] === '\\') {
          if (src[j + 1] === 'p' || src[j + 1] === 'P') needU = true;
          cls += src.slice(j, j + 2);
          j += 2;
        } else if (src[j] === '[') {
          cls += '\\[';
          j++;
        } else {
          cls += src[j];
          j++;
        }
      }
      if (j >= src.length) throw new RegexError(`error parsing regexp: missing closing ]: \`${src.slice(i)}\``);
      out += cls + ']';
      i = j + 1;
      atStart = false;
      continue;
    }
    if (c === '(') {
      if (src.startsWith('(?P<', i)) {
        out += '(?<';
        i += 4;
        stack.push([]);
        atStart = false;
        continue;
      }
      const m = /^\(\?([imsU-]*)(\)|:)/.exec(src.slice(i));
      if (m && m[1] !== '' && !src.startsWith('(?<', i)) {
        const fl = m[1]!;
        if (fl.includes('U')) throw new RegexError(`error parsing regexp: ungreedy flag (?U) is not supported: \`${src}\``);
        if (m[2] === ')') {
          if (atStart && stack.length === 1 && !fl.includes('-')) {
            flags += fl.replace(/s/g, '');
          } else {
            out += `(?${fl}:`;
            stack[stack.length - 1]!.push(fl);
          }
          i += m[0].length;
          continue;
        }
        out += `(?${fl}:`;
        i += m[0].length;
        stack.push([]);
        atStart = false;
        continue;
      }
      out += '(';
      i++;
      stack.push([]);
      atStart = false;
      continue;
    }
    if (c === ')') {
      if (stack.length > 1) out += ')'.repeat(stack.pop()!.length);
      out += ')';
      i++;
      continue;
    }
    if (c === '|') {
      const open = stack[stack.length - 1]!;
      if (open.length > 0) {
        // Flags set inside this group apply to the following alternatives too: close and reopen.
        out += ')'.repeat(open.length) + '|' + open.map((fl) => `(?${fl}:`).join('');
        i++;
        continue;
      }
    }
    out += c;
    i++;
    atStart = false;
  }
  out += ')'.repeat(stack[0]!.length);
  if (needU) flags += 'u';
  return { pattern: out, flags: [...new Set(flags)].join('') };
}
