// Loads and validates Prometheus rule files into the shapes of rule-types.ts.
//
// The verdict is meant to equal `promtool check rules` of Prometheus 2.42 on every file: rulefmt's checks,
// and before them the strict yaml.v3 decoding promtool does (unknown fields, duplicate keys, type
// mismatches). The test suite runs the real promtool on every corpus file to hold us to that. Where
// Prometheus is lax we are lax too, and say so with a warning instead:
//
//   only the first YAML document of a file is read (later ones are not even parsed), and a document whose
//     root is indented ends at the first line indented less (the rest of the file is ignored)
//   a rule whose expression is a range vector or string loads, but every evaluation fails
//   a negative `limit` means no limit
//   an alias as `record`, `alert` or `expr` is the anchor's name (below)
//   duplicate rules (same name, same labels) are promtool's `--lint=duplicate-rules` finding
//
// Unlike promtool, every problem of a file is reported (promtool stops after the YAML decoding errors), and
// every one names a line. Values follow yaml.v3 exactly where it is peculiar: `record`, `alert` and `expr`
// are yaml.Nodes in rulefmt, so an alias there is the anchor's *name* and `alert: null` names an alert
// "null"; null items of `groups` and `rules` are dropped; a null label key drops the label.
//
// The YAML is parsed with the `yaml` package and decoded by hand with yaml.v3's rules; where libyaml's
// syntax differs from the package's, the text is adjusted first (libyamlQuirks). Templates are checked
// with template.ts, which matches Go's text/template parser message for message.
//
// The PromQL check is our parser's (promql/), which follows Prometheus 3, so a few expressions get a
// different verdict than from 2.42: holt_winters (2.42 only); histogram_avg/stddev/stdvar, quoted UTF-8
// names, `x[5]` and a bare `5m` as a number (3.x only); `0.` (refused by our parser, a Prometheus number).

import { glob, readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { CST, isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, parseAllDocuments, visit, type Document, type Node as YamlNode } from 'yaml';
import { exprType, parse, type Expr } from '../promql/index.ts';
import { TrimtabError } from '../protocol/errors.ts';
import { DEFAULT_EVALUATION_INTERVAL_MS, type AlertingRule, type RecordingRule, type Rule, type RuleFile, type RuleGroup } from './rule-types.ts';
import { compileTemplate, TemplateError } from './template.ts';

export interface RuleProblem {
  file: string;
  /** 1-based; 0 when the problem concerns the file as a whole (unreadable, glob matches nothing). */
  line: number;
  message: string;
}

export function formatProblem(p: RuleProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}: ${p.message}` : `${p.file}: ${p.message}`;
}

export class RuleFileError extends TrimtabError {
  readonly problems: RuleProblem[];
  constructor(problems: RuleProblem[]) {
    super('rule_file_invalid', problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

export interface ParseRuleFileOptions {
  /** The evaluation interval of groups without `interval` (Prometheus' global evaluation_interval). */
  defaultIntervalMs?: number;
  /** Findings that do not make the file invalid (see the top of this file) are appended here. */
  warnings?: RuleProblem[];
}

export interface LoadRuleFilesOptions extends ParseRuleFileOptions {
  /** Directory relative patterns and paths are resolved against; default process.cwd(). */
  cwd?: string;
}

// ---------------------------------------------------------------------------------------------------------
// Names and durations, as Prometheus 2.42 checks them (model.IsValidMetricName, model.LabelName.IsValid,
// model.ParseDuration).

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const DURATION = /^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/;
const DURATION_UNIT_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];
/** model.Duration is a time.Duration underneath: at most 2^63-1 ns. */
const MAX_DURATION_MS = 9_223_372_036_854;

/** model.ParseDuration, in milliseconds; throws with Prometheus' message. */
export function parseModelDuration(text: string): number {
  if (text === '0') return 0;
  if (text === '') throw new Error('empty duration string');
  const m = DURATION.exec(text);
  if (!m) throw new Error(`not a valid duration string: ${JSON.stringify(text)}`);
  let ms = 0;
  for (let i = 0; i < DURATION_UNIT_MS.length; i++) {
    const digits = m[i + 1];
    if (digits !== undefined) ms += Number(digits) * DURATION_UNIT_MS[i]!;
  }
  if (ms > MAX_DURATION_MS) throw new Error('duration out of range');
  return ms;
}

// ---------------------------------------------------------------------------------------------------------
// Characters. libyaml (under yaml.v3) refuses, anywhere in the stream, comments and later documents
// included, characters outside its printable set; the `yaml` package is more lenient, so check first.

function isYamlPrintable(cp: number): boolean {
  return (
    cp === 0x09 ||
    cp === 0x0a ||
    cp === 0x0d ||
    (cp >= 0x20 && cp <= 0x7e) ||
    cp === 0x85 ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

function checkCharacters(text: string, report: (line: number, message: string) => void): void {
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      line++;
      continue;
    }
    if (c >= 0x20 && c <= 0x7e) continue;
    const cp = text.codePointAt(i)!;
    if (cp > 0xffff) {
      i++;
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      report(line, 'yaml: invalid UTF-8 (unpaired surrogate)');
      return;
    }
    if (!isYamlPrintable(cp)) {
      report(line, `yaml: control characters are not allowed (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`);
      return;
    }
  }
}

/** Decodes a file the way libyaml reads it: UTF-16 with a BOM, else UTF-8 (which must be valid). */
export function decodeRuleFileBytes(bytes: Uint8Array): { text: string } | { line: number; message: string } {
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    const encoding = bytes[0] === 0xff ? 'utf-16le' : 'utf-16be';
    return { text: new TextDecoder(encoding).decode(bytes) };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes) };
  } catch {
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
    return { line, message: 'yaml: invalid UTF-8 in the file' };
  }
}

function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}

// ---------------------------------------------------------------------------------------------------------
// YAML decoding with yaml.v3's semantics on top of the `yaml` package's syntax tree (failsafe schema: every
// scalar stays the text it was written as, and we resolve types the way yaml.v3 does).

type YNode = YamlNode | null | undefined;

const NULL_TAG = 'tag:yaml.org,2002:null';
const BINARY_TAG = 'tag:yaml.org,2002:binary';

interface Entry {
  key: string;
  keyNode: YNode;
  value: YNode;
  line: number;
}

class FileParser {
  readonly problems: RuleProblem[] = [];
  readonly warnings: RuleProblem[] = [];
  private lines = new LineCounter();
  private doc: Document | undefined;
  private readonly file: string;
  private text: string;
  private readonly defaultIntervalMs: number;

  constructor(text: string, file: string, defaultIntervalMs: number) {
    this.text = text;
    this.file = file;
    this.defaultIntervalMs = defaultIntervalMs;
  }

  problem(line: number, message: string): void {
    this.problems.push({ file: this.file, line, message });
  }

  warn(line: number, message: string): void {
    this.warnings.push({ file: this.file, line, message });
  }

  lineAt(offset: number): number {
    return this.lines.linePos(offset).line;
  }

  lineOf(node: YNode, fallback: number): number {
    return node?.range ? this.lineAt(node.range[0]) : fallback;
  }

  parse(): RuleGroup[] {
    checkCharacters(this.text, (line, message) => this.problem(line, message));
    const quirks = libyamlQuirks(this.text);
    this.text = quirks.text;
    let list = this.parseDocuments(this.text);
    if (list.length === 0) return [];
    // libyaml ends a document whose root collection is indented at the first line indented less than the
    // root (an implicit document end), and yaml.v3 never reads on: what follows is ignored, errors included.
    let end = Infinity;
    const cut = this.implicitDocumentEnd(list[0]!);
    if (cut !== undefined) {
      end = this.lineAt(cut);
      this.warn(end, 'this line is indented less than the document it follows, which ends there; the rest of the file is ignored (as Prometheus does)');
      list = this.parseDocuments(this.text.slice(0, cut));
    }
    const doc = list[0]!;
    this.doc = doc;
    const docEnd = list.length > 1 ? this.lineAt(list[1]!.range[0]) : end;
    for (const line of quirks.keylessEntries) {
      if (line < docEnd) this.problem(line, 'yaml: a mapping entry without a key (libyaml: "did not find expected key"; write "? :" for a null key)');
    }
    // An error at the end of the input (an unclosed bracket or quote) is shown on the last line with content.
    const lastLine = this.lineAt(this.text.trimEnd().length);
    for (const e of doc.errors) this.problem(Math.min(this.lineAt(e.pos[0]), lastLine), `yaml: ${e.message}`);
    // The text has no unpaired surrogates (checkCharacters), so one in a value came from an escape such as
    // "\udc00", which libyaml refuses.
    visit(doc, {
      Scalar: (_key, node) => {
        if (typeof node.value === 'string' && !node.value.isWellFormed()) {
          this.problem(this.lineOf(node, 0), 'yaml: found invalid Unicode character escape code');
        }
      },
    });
    if (list.length > 1) {
      const second = list[1]!;
      this.warn(this.lineAt(second.range[0]), `only the first YAML document is read; ${list.length - 1} more ignored (as Prometheus does)`);
    }
    return this.decodeTop(doc.contents);
  }

  parseDocuments(text: string): Document.Parsed[] {
    this.lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: this.lines, schema: 'failsafe', uniqueKeys: false, prettyErrors: false });
    return Array.isArray(docs) ? docs : [];
  }

  /** The offset of the line that implicitly ends the document (see parse()), if there is one. */
  implicitDocumentEnd(doc: Document.Parsed): number | undefined {
    const root = doc.contents;
    if (!root || !(isMap(root) || isSeq(root)) || root.flow) return undefined;
    const indent = this.lines.linePos(root.range[0]).col - 1;
    if (indent === 0) return undefined;
    for (let nl = this.text.indexOf('\n', root.range[0]); nl >= 0; ) {
      const start = nl + 1;
      nl = this.text.indexOf('\n', start);
      const line = this.text.slice(start, nl < 0 ? undefined : nl);
      const spaces = line.length - line.replace(/^ +/, '').length;
      const rest = line.slice(spaces).trim();
      if (rest !== '' && !rest.startsWith('#') && spaces < indent) return start;
    }
    return undefined;
  }

  // --- generic yaml.v3-like decoding -------------------------------------------------------------------

  /** Follows an alias to its anchored node; reports an unknown anchor. */
  deref(node: YNode): YNode {
    if (node && isAlias(node)) {
      const target = this.doc ? node.resolve(this.doc) : undefined;
      if (target === undefined) {
        this.problem(this.lineOf(node, 0), `yaml: unknown anchor '${node.source}' referenced`);
        return null;
      }
      return target;
    }
    return node;
  }

  isNull(node: YNode): boolean {
    if (node === null || node === undefined) return true;
    if (!isScalar(node)) return false;
    if (node.tag === NULL_TAG) return true;
    if (node.tag !== undefined || node.type !== 'PLAIN') return false;
    const s = String(node.source ?? node.value);
    return s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL';
  }

  /** yaml.v3's short tag of a node, for messages like "cannot unmarshal !!seq into string". */
  kindOf(node: YNode): string {
    if (node && isMap(node)) return '!!map';
    if (node && isSeq(node)) return '!!seq';
    if (node && isScalar(node)) {
      const text = this.scalarText(node);
      const shown = text.length > 10 ? `${text.slice(0, 7)}...` : text;
      return `${this.isPlain(node) ? resolvedTag(text) : '!!str'} \`${shown}\``;
    }
    return '!!null';
  }

  isPlain(node: YamlNode): boolean {
    return isScalar(node) && node.type === 'PLAIN' && (node.tag === undefined || node.tag === '!');
  }

  /** The scalar as written (after unquoting): what yaml.Node.Value holds. */
  scalarText(node: YamlNode): string {
    if (!isScalar(node)) return '';
    if (typeof node.source === 'string') return node.source;
    return typeof node.value === 'string' ? node.value : String(node.value);
  }

  /** A yaml.Node field (rulefmt's record, alert, expr): an alias is the anchor's name, a collection "". */
  nodeValue(node: YNode): string {
    if (!node) return '';
    if (isAlias(node)) return node.source;
    if (isScalar(node)) return this.scalarText(node);
    return '';
  }

  /** A Go string field. undefined for YAML null (the field keeps its zero value ""). */
  decodeString(node: YNode, what: string, fallbackLine: number): { value: string; bytes?: Uint8Array } | undefined {
    node = this.deref(node);
    if (this.isNull(node)) return undefined;
    if (!isScalar(node!)) {
      this.problem(this.lineOf(node, fallbackLine), `cannot unmarshal ${this.kindOf(node)} into ${what} (expected a string)`);
      return undefined;
    }
    if (node.tag === BINARY_TAG && node.value instanceof Uint8Array) {
      return { value: Buffer.from(node.value).toString('utf8'), bytes: node.value };
    }
    return { value: this.scalarText(node) };
  }

  /** A Go int field (yaml.v3 resolution: 0x/0o/0b, underscores, floats truncated). */
  decodeInt(node: YNode, what: string, fallbackLine: number): number | undefined {
    node = this.deref(node);
    if (this.isNull(node)) return undefined;
    const line = this.lineOf(node, fallbackLine);
    if (!isScalar(node!) || !this.isPlain(node!)) {
      this.problem(line, `cannot unmarshal ${this.kindOf(node)} into ${what} (expected an integer)`);
      return undefined;
    }
    const n = resolveGoInt(this.scalarText(node!));
    if (n === undefined) this.problem(line, `cannot unmarshal ${this.kindOf(node)} into ${what} (expected an integer)`);
    return n;
  }

  /** A model.Duration field; undefined when null or invalid. */
  decodeDuration(node: YNode, what: string, fallbackLine: number): number | undefined {
    const s = this.decodeString(node, what, fallbackLine);
    if (s === undefined) return undefined;
    try {
      return parseModelDuration(s.value);
    } catch (e) {
      this.problem(this.lineOf(this.deref(node), fallbackLine), `invalid ${what}: ${(e as Error).message}`);
      return undefined;
    }
  }

  /**
   * The entries of a mapping: duplicate keys refused as yaml.v3 does (same kind, same text), `<<` merge keys
   * expanded (explicit keys win, then earlier merged mappings), unknown keys refused when `known` is given.
   */
  entries(map: YamlNode, where: string, known: readonly string[] | undefined, depth = 0): Entry[] {
    if (!isMap(map)) return [];
    const explicit: Entry[] = [];
    const merged: Entry[] = [];
    const seen = new Map<string, number>();
    for (const pair of map.items) {
      const keyNode = pair.key as YNode;
      const line = this.lineOf(keyNode, this.lineOf(pair.value as YNode, this.lineOf(map, 0)));
      const kind = !keyNode ? 'scalar' : isAlias(keyNode) ? 'alias' : isMap(keyNode) ? 'map' : isSeq(keyNode) ? 'seq' : 'scalar';
      const raw = this.nodeValue(keyNode);
      const id = `${kind}\u0000${raw}`;
      const before = seen.get(id);
      if (before !== undefined) {
        this.problem(line, `mapping key ${JSON.stringify(raw)} already defined at line ${before}`);
        continue;
      }
      seen.set(id, line);
      if (keyNode && isScalar(keyNode) && raw === '<<' && keyNode.type === 'PLAIN' && (keyNode.tag === undefined || keyNode.tag === 'tag:yaml.org,2002:merge')) {
        if (depth > 20) continue;
        const source = this.deref(pair.value as YNode);
        const sources = source && isSeq(source) ? source.items.map((n) => this.deref(n as YNode)) : [source];
        for (const s of sources) {
          if (!s || !isMap(s)) {
            this.problem(line, 'map merge requires map or sequence of maps as the value');
            continue;
          }
          for (const e of this.entries(s, where, known, depth + 1)) merged.push(e);
        }
        continue;
      }
      explicit.push({ key: raw, keyNode, value: pair.value as YNode, line });
    }
    const out = [...explicit];
    const have = new Set(explicit.map((e) => e.key));
    for (const e of merged) {
      if (have.has(e.key)) continue;
      have.add(e.key);
      out.push(e);
    }
    if (known && depth === 0) {
      for (const e of out) {
        if (!known.includes(e.key)) {
          this.problem(e.line, `unknown field ${JSON.stringify(e.key)} in ${where} (known fields: ${known.join(', ')})`);
        }
      }
    }
    return known && depth === 0 ? out.filter((e) => known.includes(e.key)) : out;
  }

  /** A map[string]string field: labels or annotations. Null keys drop the entry; null values are "". */
  decodeStringMap(node: YNode, what: string, fallbackLine: number): Array<{ key: string; value: string; bytes?: Uint8Array; line: number }> {
    node = this.deref(node);
    if (this.isNull(node)) return [];
    if (!isMap(node!)) {
      this.problem(this.lineOf(node, fallbackLine), `cannot unmarshal ${this.kindOf(node)} into ${what} (expected a mapping of strings)`);
      return [];
    }
    const out: Array<{ key: string; value: string; bytes?: Uint8Array; line: number }> = [];
    for (const e of this.entries(node!, what, undefined)) {
      const key = this.decodeString(e.keyNode, `${what} key`, e.line);
      if (key === undefined) continue;
      const value = this.decodeString(e.value, `${what} value`, e.line);
      out.push({ key: key.value, value: value?.value ?? '', ...(value?.bytes ? { bytes: value.bytes } : {}), line: e.line });
    }
    return out;
  }

  /** A list field: null items are dropped, as yaml.v3 drops them. */
  decodeList(node: YNode, what: string, fallbackLine: number): YamlNode[] {
    node = this.deref(node);
    if (this.isNull(node)) return [];
    if (!isSeq(node!)) {
      this.problem(this.lineOf(node, fallbackLine), `cannot unmarshal ${this.kindOf(node)} into ${what} (expected a list)`);
      return [];
    }
    const out: YamlNode[] = [];
    for (const item of node!.items) {
      const v = this.deref(item as YNode);
      if (this.isNull(v)) continue;
      out.push(v!);
    }
    return out;
  }

  // --- rule files ----------------------------------------------------------------------------------------

  decodeTop(contents: YNode): RuleGroup[] {
    const top = this.deref(contents);
    if (this.isNull(top)) return [];
    if (!isMap(top!)) {
      this.problem(this.lineOf(top, 1), `cannot unmarshal ${this.kindOf(top)} into a rule file (expected a mapping with "groups")`);
      return [];
    }
    const groupsEntry = this.entries(top!, 'the rule file', ['groups']).find((e) => e.key === 'groups');
    if (!groupsEntry) return [];
    const groups: RuleGroup[] = [];
    const names = new Map<string, number>();
    for (const g of this.decodeList(groupsEntry.value, 'groups', groupsEntry.line)) {
      const group = this.decodeGroup(g, names);
      if (group) groups.push(group);
    }
    this.lintDuplicates(groups);
    return groups;
  }

  decodeGroup(node: YamlNode, names: Map<string, number>): RuleGroup | undefined {
    const line = this.lineOf(node, 0);
    if (!isMap(node)) {
      this.problem(line, `cannot unmarshal ${this.kindOf(node)} into a rule group (expected a mapping)`);
      return undefined;
    }
    const fields = new Map(this.entries(node, 'rule group', ['name', 'interval', 'limit', 'rules']).map((e) => [e.key, e]));
    const nameEntry = fields.get('name');
    const name = nameEntry ? (this.decodeString(nameEntry.value, 'group name', nameEntry.line)?.value ?? '') : '';
    if (name === '') this.problem(line, 'Groupname must not be empty');
    const first = names.get(name);
    if (first !== undefined) this.problem(line, `groupname: ${JSON.stringify(name)} is repeated in the same file (first at line ${first})`);
    else names.set(name, line);

    const intervalEntry = fields.get('interval');
    const interval = intervalEntry ? this.decodeDuration(intervalEntry.value, `interval of group ${JSON.stringify(name)}`, intervalEntry.line) : undefined;
    const limitEntry = fields.get('limit');
    let limit = limitEntry ? (this.decodeInt(limitEntry.value, `limit of group ${JSON.stringify(name)}`, limitEntry.line) ?? 0) : 0;
    if (limit < 0) {
      this.warn(limitEntry!.line, `group ${JSON.stringify(name)}: negative limit ${limit} means no limit`);
      limit = 0;
    }
    const rulesEntry = fields.get('rules');
    const rules: Rule[] = [];
    if (rulesEntry) {
      const items = this.decodeList(rulesEntry.value, `rules of group ${JSON.stringify(name)}`, rulesEntry.line);
      items.forEach((r, i) => {
        const rule = this.decodeRule(r, name, i + 1);
        if (rule) rules.push(rule);
      });
    }
    return {
      name,
      position: { file: this.file, line },
      intervalMs: interval ? interval : this.defaultIntervalMs,
      intervalExplicit: interval !== undefined && interval !== 0,
      limit,
      rules,
    };
  }

  decodeRule(node: YamlNode, group: string, index: number): Rule | undefined {
    const line = this.lineOf(node, 0);
    if (!isMap(node)) {
      this.problem(line, `group ${JSON.stringify(group)}, rule ${index}: cannot unmarshal ${this.kindOf(node)} into a rule (expected a mapping)`);
      return undefined;
    }
    const known = ['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'];
    const fields = new Map(this.entries(node, 'rule', known).map((e) => [e.key, e]));
    const f = (k: string) => fields.get(k);
    const record = this.nodeValue(f('record')?.value);
    const alert = this.nodeValue(f('alert')?.value);
    const exprText = this.nodeValue(f('expr')?.value);
    const at = (k: string) => (f(k) ? this.lineOf(f(k)!.value, f(k)!.line) : line);
    const ctx = `group ${JSON.stringify(group)}, rule ${index}, ${JSON.stringify(alert !== '' ? alert : record)}: `;
    const before = this.problems.length;
    const fail = (l: number, m: string) => this.problem(l, ctx + m);

    for (const k of ['record', 'alert', 'expr']) {
      const v = f(k)?.value;
      if (v && isAlias(v)) {
        this.warn(at(k), `${ctx}'${k}' is the alias *${v.source}: Prometheus 2.42 takes the anchor's name ${JSON.stringify(v.source)} as the ${k === 'expr' ? 'expression' : 'name'}, not the anchored value (versions with prometheus/prometheus#14957 resolve it)`);
      }
    }
    const forMs = f('for') ? this.decodeDuration(f('for')!.value, `'for'`, f('for')!.line) : undefined;
    const keepMs = f('keep_firing_for') ? this.decodeDuration(f('keep_firing_for')!.value, `'keep_firing_for'`, f('keep_firing_for')!.line) : undefined;
    const labels = f('labels') ? this.decodeStringMap(f('labels')!.value, 'labels', f('labels')!.line) : [];
    const annotations = f('annotations') ? this.decodeStringMap(f('annotations')!.value, 'annotations', f('annotations')!.line) : [];

    if (record !== '' && alert !== '') fail(at('record'), "only one of 'record' and 'alert' must be set");
    if (record === '' && alert === '') fail(f('record') ? at('record') : at('alert'), "one of 'record' or 'alert' must be set");

    let ast: Expr | undefined;
    if (exprText === '') fail(at('expr'), "field 'expr' must be set in rule");
    else {
      try {
        ast = parse(exprText);
      } catch (e) {
        fail(at('expr'), `could not parse expression: ${(e as Error).message}`);
      }
    }

    if (record !== '') {
      if (annotations.length > 0) fail(at('record'), "invalid field 'annotations' in recording rule");
      if (forMs) fail(at('record'), "invalid field 'for' in recording rule");
      if (keepMs) fail(at('record'), "invalid field 'keep_firing_for' in recording rule");
      if (!METRIC_NAME.test(record)) fail(at('record'), `invalid recording rule name: ${record}`);
    }
    for (const l of labels) {
      if (!LABEL_NAME.test(l.key) || l.key === '__name__') fail(l.line, `invalid label name: ${l.key}`);
      if (l.bytes && !isValidUtf8(l.bytes)) fail(l.line, `invalid label value: ${l.value}`);
    }
    for (const a of annotations) {
      if (!LABEL_NAME.test(a.key)) fail(a.line, `invalid annotation name: ${a.key}`);
    }
    if (alert !== '') {
      const check = (what: string, e: { key: string; value: string; line: number }) => {
        try {
          compileTemplate(`__alert_${alert}`, e.value); // with Prometheus' $labels/$value/… prelude
        } catch (err) {
          if (!(err instanceof TemplateError)) throw err;
          fail(e.line, `${what} ${JSON.stringify(e.key)}: ${err.message}`);
        }
      };
      for (const l of labels) check('label', l);
      for (const a of annotations) check('annotation', a);
    }

    if (this.problems.length > before || !ast) return undefined;

    const expr = trimPromQLSpace(exprText);
    if (expr !== exprText) ast = parse(expr);
    const type = exprType(ast);
    if (type !== 'vector' && type !== 'scalar') {
      this.warn(at('expr'), `${ctx}expression is a ${type === 'matrix' ? 'range vector' : type}, not an instant vector or scalar: Prometheus loads the rule but every evaluation fails ("rule result is not a vector or scalar")`);
    }
    const base = { position: { file: this.file, line }, expr, exprAst: ast, labels: toRecord(labels) };
    if (record !== '') {
      const r: RecordingRule = { kind: 'recording', record, ...base };
      return r;
    }
    const r: AlertingRule = { kind: 'alerting', alert, ...base, forMs: forMs ?? 0, keepFiringForMs: keepMs ?? 0, annotations: toRecord(annotations) };
    return r;
  }

  /** promtool's duplicate-rules lint: the same name with the same labels twice in one file. */
  lintDuplicates(groups: RuleGroup[]): void {
    const seen = new Map<string, number>();
    for (const g of groups) {
      for (const r of g.rules) {
        const name = r.kind === 'recording' ? r.record : r.alert;
        const labels = Object.entries(r.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        const key = JSON.stringify([name, labels]);
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, r.position.line);
          continue;
        }
        const shown = labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
        this.warn(r.position.line, `duplicate rule: ${JSON.stringify(name)} with labels {${shown}} is also at line ${first}; might cause inconsistency while recording expressions`);
      }
    }
  }
}

/**
 * Where libyaml (so yaml.v3, so Prometheus) reads YAML differently from the `yaml` package, found by
 * running both over mutated rule files:
 *
 *   - inside flow collections and quoted scalars it ignores indentation (indentContinuationLines);
 *   - in a flow collection, a plain scalar directly followed by ':' and a flow indicator (`{a:}`,
 *     `[a:, b]`, `{k: v:}`) keeps the ':' as part of the scalar: such scalars are single-quoted in the
 *     text we parse (same lines; a scalar ending in ':' cannot be null or a number, so nothing else
 *     changes);
 *   - an entry with an empty implicit key (`{: v}`, or a block line starting with ': ' without a '?' key
 *     before it) is an error ("did not find expected key"): their lines are returned.
 */
function libyamlQuirks(source: string): { text: string; keylessEntries: number[] } {
  const { text, tokens } = indentContinuationLines(source);
  const edits: Array<{ start: number; end: number; replacement: string }> = [];
  const emptyKeys: number[] = [];
  const blank = (t: Token) => t.t === '' || t.type === 'space' || t.type === 'newline' || t.type === 'comment';
  let depth = 0;
  // Block context: an entry starting with ':' needs an explicit key ('?') before it at the same column.
  let handledLine = -1;
  const explicitKeys = new Set<number>();
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (depth === 0 && !blank(tok) && tok.type !== 'seq-item-ind') {
      const lineStart = text.lastIndexOf('\n', tok.offset - 1) + 1;
      if (lineStart !== handledLine && /^[ \t]*(?:-[ \t]+)*$/.test(text.slice(lineStart, tok.offset))) {
        handledLine = lineStart;
        const column = tok.offset - lineStart;
        if (tok.type === 'explicit-key-ind') explicitKeys.add(column);
        else if (tok.type === 'map-value-ind') {
          if (explicitKeys.has(column)) explicitKeys.delete(column);
          else emptyKeys.push(tok.offset);
          continue;
        } else for (const c of explicitKeys) if (c >= column) explicitKeys.delete(c);
      }
    }
    if (tok.type === 'flow-map-start' || tok.type === 'flow-seq-start') depth++;
    else if (tok.type === 'flow-map-end' || tok.type === 'flow-seq-end') depth = Math.max(0, depth - 1);
    else if (tok.type === 'doc-start' || tok.type === 'doc-end') depth = 0;
    if (depth === 0 || tok.type !== 'map-value-ind') continue;
    // Flow context: an entry without a key.
    let j = i - 1;
    while (j >= 0 && blank(tokens[j]!)) j--;
    const before = tokens[j];
    if (before && (before.type === 'flow-map-start' || before.type === 'flow-seq-start' || before.type === 'comma')) {
      emptyKeys.push(tok.offset);
      continue;
    }
    // Flow context: "scalar:" right before a flow indicator is one scalar to libyaml.
    const prev = tokens[i - 1];
    if (!prev || prev.type !== 'text' || prev.offset + prev.t.length !== tok.offset) continue;
    let k = i + 1;
    while (k < tokens.length && tokens[k]!.t === '') k++;
    const next = tokens[k];
    if (!next || next.offset !== tok.offset + 1) continue;
    if (!['comma', 'flow-map-end', 'flow-seq-end', 'flow-map-start', 'flow-seq-start'].includes(next.type)) continue;
    edits.push({ start: prev.offset, end: tok.offset + 1, replacement: `'${(prev.t + ':').replace(/'/g, "''")}'` });
  }
  let out = text;
  for (const e of edits.reverse()) out = out.slice(0, e.start) + e.replacement + out.slice(e.end);
  let line = 1;
  let at = 0;
  const keylessEntries = emptyKeys.map((offset) => {
    for (; at < offset; at++) if (text.charCodeAt(at) === 10) line++;
    return line;
  });
  return { text: out, keylessEntries };
}

interface Token {
  t: string;
  /** CST.tokenType, 'text' for a scalar's source. */
  type: string;
  offset: number;
}

/** The `yaml` package's lexer tokens with their offsets (its control tokens, not in the source, dropped). */
function lexTokens(text: string): Token[] {
  const tokens: Token[] = [];
  let offset = 0;
  for (const t of new Lexer().lex(text)) {
    if (t === '\x02' || t === '\x18' || t === '\x1f') continue;
    tokens.push({ t, type: CST.tokenType(t) ?? 'text', offset });
    offset += t.length;
  }
  return tokens;
}

/**
 * libyaml ignores indentation inside flow collections and quoted scalars (continuation lines may even start
 * at column 0, only "---" and "..." there are refused); YAML 1.2 and the `yaml` package want them indented
 * past their parent. Leading blanks of such lines are not content (they fold away, and separate tokens in
 * a flow collection), so indent them further: same lines, same values. Returns the text and its tokens.
 */
function indentContinuationLines(text: string): { text: string; tokens: Token[] } {
  for (let round = 0; ; round++) {
    const tokens = lexTokens(text);
    if (round === 1000) return { text, tokens };
    let depth = 0;
    let fixed: string | undefined;
    for (const { type, offset } of tokens) {
      const opens = type === 'flow-map-start' || type === 'flow-seq-start';
      if (type === 'flow-map-end' || type === 'flow-seq-end') depth = Math.max(0, depth - 1);
      if ((opens && depth === 0) || (depth === 0 && (type === 'double-quoted-scalar' || type === 'single-quoted-scalar'))) {
        fixed = indentRegion(text, offset, libyamlExtent(text, offset));
        if (fixed !== undefined) break;
      }
      if (opens) depth++;
    }
    if (fixed === undefined) return { text, tokens };
    text = fixed;
  }
}

/** Where libyaml ends the quoted scalar or flow collection that starts at `start`. */
function libyamlExtent(text: string, start: number): number {
  const n = text.length;
  const c = text[start];
  let i = start + 1;
  if (c === '"') {
    while (i < n) {
      if (text[i] === '\\') i += 2;
      else if (text[i] === '"') return i + 1;
      else i++;
    }
    return n;
  }
  if (c === "'") {
    while (i < n) {
      if (text[i] !== "'") i++;
      else if (text[i + 1] === "'") i += 2;
      else return i + 1;
    }
    return n;
  }
  let depth = 1;
  while (i < n) {
    const ch = text[i]!;
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      if (--depth === 0) return i + 1;
    } else if ((ch === '"' || ch === "'") && /[\s,[{:]/.test(text[i - 1]!)) {
      i = libyamlExtent(text, i);
      continue;
    } else if (ch === '#' && /\s/.test(text[i - 1]!)) {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return n;
      i = nl;
    }
    i++;
  }
  return n;
}

/** Indents the continuation lines of text[start, end) past the column of `start`; undefined if none needs it. */
function indentRegion(text: string, start: number, end: number): string | undefined {
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const lineIndent = /^ */.exec(text.slice(lineStart, start))![0].length;
  const target = start - lineStart + 1;
  let out = '';
  let last = 0;
  for (let nl = text.indexOf('\n', start); nl >= 0 && nl < end - 1; nl = text.indexOf('\n', nl + 1)) {
    const from = nl + 1;
    const indent = /^ */.exec(text.slice(from, from + target))![0].length;
    const rest = text.slice(from + indent, from + indent + 4);
    if (indent > lineIndent || (indent === 0 && /^(?:---|\.\.\.)(?:\s|$)/.test(rest)) || /^\r?(?:\n|$)/.test(rest)) continue;
    out += text.slice(last, from) + ' '.repeat(target - indent);
    last = from;
  }
  return last === 0 ? undefined : out + text.slice(last);
}

/** Labels as a plain object; defineProperty so that a label named __proto__ is an own property too. */
function toRecord(entries: Array<{ key: string; value: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

function trimPromQLSpace(s: string): string {
  return s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The tag yaml.v3 resolves a plain scalar to (for messages only). */
function resolvedTag(s: string): string {
  if (/^(?:true|True|TRUE|false|False|FALSE)$/.test(s)) return '!!bool';
  if (/^(?:|~|null|Null|NULL)$/.test(s)) return '!!null';
  if (/^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$/.test(s)) return '!!float';
  const plain = s.replace(/_/g, '');
  if (goParseInt(plain) !== undefined) return '!!int';
  if (YAML_FLOAT.test(plain)) return '!!float';
  return '!!str';
}

const YAML_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** strconv.ParseInt/ParseUint(s, 0, 64) as a bigint (undefined when not an integer in range of either). */
function goParseInt(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  let body = m[2]!;
  if (/^0[oO]/.test(body)) body = '0o' + body.slice(2);
  else if (/^0[0-7]+$/.test(body)) body = '0o' + body.slice(1);
  const v = (m[1] === '-' ? -1n : 1n) * BigInt(body.toLowerCase());
  if (v < -(INT64_MAX + 1n) || v > UINT64_MAX || (m[1] !== '' && v > INT64_MAX)) return undefined;
  return v;
}

/** How yaml.v3 decodes a plain scalar into a Go int: undefined when it refuses. */
function resolveGoInt(s: string): number | undefined {
  if (!/^[-+.0-9]/.test(s)) return undefined; // words, booleans, .inf/.nan, timestamps' neighbours
  const plain = s.replace(/_/g, '');
  const i = goParseInt(plain);
  if (i !== undefined) return i <= INT64_MAX ? Number(i) : undefined;
  if (YAML_FLOAT.test(plain)) {
    const f = Number(plain);
    if (!(f <= 2 ** 63)) return undefined;
    return Math.trunc(f);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Public API.

/** Parses and validates one file's text. Throws RuleFileError with every problem found. */
export function parseRuleFile(text: string, file: string, options: ParseRuleFileOptions = {}): RuleFile {
  const parser = new FileParser(text, file, options.defaultIntervalMs ?? DEFAULT_EVALUATION_INTERVAL_MS);
  const groups = parser.parse();
  if (parser.problems.length > 0) throw new RuleFileError(sortProblems(parser.problems));
  options.warnings?.push(...sortProblems(parser.warnings));
  return { file, groups };
}

function sortProblems(list: RuleProblem[]): RuleProblem[] {
  return list
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.line - b.p.line || a.i - b.i)
    .map(({ p }) => p);
}

const GLOB_MAGIC = /[*?[\]{}]/;

/** The files a pattern names: itself when it has no glob characters, else its matches (none: a problem). */
async function expand(pattern: string, cwd: string): Promise<string[] | RuleProblem> {
  if (!GLOB_MAGIC.test(pattern)) return [pattern];
  const out: string[] = [];
  for await (const m of glob(pattern, { cwd })) out.push(m);
  if (out.length === 0) return { file: pattern, line: 0, message: 'pattern matches no files' };
  return out;
}

async function readRuleFile(file: string, cwd: string): Promise<{ text: string } | RuleProblem> {
  let bytes: Buffer;
  try {
    bytes = await readFile(resolvePath(cwd, file));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const reason = err.code === 'ENOENT' ? 'no such file or directory' : err.code === 'EISDIR' ? 'is a directory' : err.code === 'EACCES' ? 'permission denied' : err.message;
    return { file, line: 0, message: `cannot read rule file: ${reason}` };
  }
  const decoded = decodeRuleFileBytes(bytes);
  return 'text' in decoded ? decoded : { file, line: decoded.line, message: decoded.message };
}

/**
 * Expands the patterns (globs are relative to cwd), loads and validates every file, and returns them sorted
 * by path. A file matched by several patterns is loaded once; group names need only be unique per file
 * (Prometheus keys groups by file and name). Throws RuleFileError with the problems of every file.
 */
export async function loadRuleFiles(patterns: readonly string[], options: LoadRuleFilesOptions = {}): Promise<RuleFile[]> {
  const cwd = options.cwd ?? process.cwd();
  const problems: RuleProblem[] = [];
  const files = new Map<string, string>(); // absolute path → the path as first found
  for (const pattern of patterns) {
    const found = await expand(pattern, cwd);
    if (!Array.isArray(found)) problems.push(found);
    else for (const f of found) if (!files.has(resolvePath(cwd, f))) files.set(resolvePath(cwd, f), f);
  }
  const out: RuleFile[] = [];
  for (const file of [...files.values()].sort()) {
    const read = await readRuleFile(file, cwd);
    if (!('text' in read)) {
      problems.push(read);
      continue;
    }
    try {
      out.push(parseRuleFile(read.text, file, options));
    } catch (e) {
      if (!(e instanceof RuleFileError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length > 0) throw new RuleFileError(problems);
  return out;
}

/** The outcome of checking one file, for `trimtab rules check`. */
export interface RuleFileCheck {
  file: string;
  /** Rules found (when the file is valid). */
  ruleCount: number;
  problems: RuleProblem[];
  warnings: RuleProblem[];
}

export async function checkRuleFile(file: string, options: { cwd?: string; defaultIntervalMs?: number } = {}): Promise<RuleFileCheck> {
  const read = await readRuleFile(file, options.cwd ?? process.cwd());
  if (!('text' in read)) return { file, ruleCount: 0, problems: [read], warnings: [] };
  const warnings: RuleProblem[] = [];
  try {
    const rf = parseRuleFile(read.text, file, { ...options, warnings });
    return { file, ruleCount: rf.groups.reduce((n, g) => n + g.rules.length, 0), problems: [], warnings };
  } catch (e) {
    if (!(e instanceof RuleFileError)) throw e;
    return { file, ruleCount: 0, problems: e.problems, warnings: [] };
  }
}

/** promtool's report: "Checking f", then "  SUCCESS: n rules found" or "  FAILED:" and one problem a line. */
export function formatCheckReport(checks: readonly RuleFileCheck[]): string {
  let out = '';
  for (const c of checks) {
    out += `Checking ${c.file}\n`;
    if (c.problems.length > 0) {
      out += '  FAILED:\n';
      for (const p of c.problems) out += formatProblem(p) + '\n';
    } else {
      out += `  SUCCESS: ${c.ruleCount} rules found\n`;
      for (const w of c.warnings) out += `${formatProblem({ ...w, message: `warning: ${w.message}` })}\n`;
    }
    out += '\n';
  }
  return out;
}

/** `trimtab rules check FILE…`: each argument a file or a glob; ok when every file is valid. */
export async function checkRuleFiles(paths: readonly string[], options: { cwd?: string; defaultIntervalMs?: number } = {}): Promise<{ ok: boolean; output: string }> {
  const cwd = options.cwd ?? process.cwd();
  const checks: RuleFileCheck[] = [];
  for (const p of paths) {
    const found = await expand(p, cwd);
    if (!Array.isArray(found)) {
      checks.push({ file: p, ruleCount: 0, problems: [found], warnings: [] });
      continue;
    }
    for (const f of found.sort()) checks.push(await checkRuleFile(f, { ...options, cwd }));
  }
  return { ok: checks.every((c) => c.problems.length === 0), output: formatCheckReport(checks) };
}
