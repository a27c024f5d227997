// Series identity, relabelling and staleness for scraped targets.
//
// A target keeps a cache from the raw series text of a line (`name{labels}` as the exporter wrote it) to
// the final series: its labels after relabelling (dropped labels, honor_labels=false renaming, target
// labels, `cluster` and external labels), sorted, validated, encoded for remote-write and sharded once.
// A line seen before costs one map lookup; labels are parsed only for new series. When a series present
// in the previous scrape is missing from this one — or the scrape fails — a staleness marker is queued
// for it, as Prometheus does (including for series with explicit timestamps, Prometheus's
// track_timestamps_staleness: cAdvisor's containers come and go). Series shared with other agents (owner
// facts) never get markers.

import { DEFAULT_WRITE_LIMITS, STALE_NAN, type Label } from '../protocol/types.ts';
import { decodeLabelsV1 } from '../protocol/decode-v1.ts';
import { encodeLabelsV1 } from '../protocol/encode.ts';
import { validateSeriesLabels } from '../protocol/validate.ts';
import type { FamilyMeta } from './exposition.ts';
import { detach, parseSeries, familyOf } from './exposition.ts';

export interface SeriesRef {
  /**
   * The final labels (sorted by name, __name__ included) as remote-write 1.0 Label fields, encoded once
   * (encodeLabelsV1) and held as a latin1 string: the series' identity, and the bytes the sender copies
   * into every request. The labels themselves are not kept (labelsOf() decodes them).
   */
  readonly key: string;
  readonly shard: number;
  readonly family: FamilyMeta | null;
  /** No staleness markers (series several agents emit). */
  readonly shared: boolean;
  /** Last timestamp queued (ms). */
  lastTs: number;
  /** Generation of its target's scrape that last saw it. */
  seenGen: number;
  gone: boolean;
}

/** Where scraped samples go (the sender). */
export interface SampleAppender {
  append(ref: SeriesRef, value: number, timestampMs: number): void;
}

export interface SeriesStats {
  kept: number;
  duplicateTimestamp: number;
  outOfOrder: number;
  duplicateSeries: number;
  invalid: number;
  stale: number;
}

export interface RelabelOptions {
  /** Labels removed from scraped series (e.g. cAdvisor's `id` and `name`). */
  dropLabels?: ReadonlySet<string>;
  /** Drop `container_*` series without a `pod` label (cgroups that are not Kubernetes containers). */
  dropNonPodContainers?: boolean;
}

/** Labels added to every series: `cluster` and external labels, added only when the series lacks them (Prometheus external_labels). */
export type ExternalLabels = ReadonlyArray<Label>;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The labels of a series (decoded from its key). */
export function labelsOf(ref: SeriesRef): Label[] {
  return decodeLabelsV1(Buffer.from(ref.key, 'latin1'));
}

/**
 * The identity of a label set (`prefix` first). Built with join, not `+=`: V8 keeps a string built by
 * concatenation as a tree of cons-string pieces (4 per label, 32 bytes each plus the pieces), and these
 * keys live as long as their series — ~1 MiB per 2,000 series in the agent bench; join gives one flat string.
 */
export function seriesKey(labels: readonly Label[], prefix = ''): string {
  const parts: string[] = [prefix];
  for (const l of labels) parts.push(l.name, '\u0000', l.value, '\u0001');
  return parts.join('');
}

/** Builds final label sets and hands out shared SeriesRefs. */
export class SeriesRegistry {
  private readonly refs = new Map<string, SeriesRef>();
  readonly shards: number;
  readonly external: ExternalLabels;

  constructor(shards: number, external: ExternalLabels) {
    this.shards = shards;
    this.external = external;
  }

  get size(): number {
    return this.refs.size;
  }

  /**
   * The SeriesRef of a final label set (not yet sorted; `__name__` included). Adds the external labels
   * the set lacks. Returns null when the set is invalid for remote-write.
   */
  ref(labels: Label[], family: FamilyMeta | null, shared = false): SeriesRef | null {
    for (const e of this.external) if (!labels.some((l) => l.name === e.name)) labels.push(e);
    const check = validateSeriesLabels(labels, DEFAULT_WRITE_LIMITS, 1);
    if (!check.ok) return null;
    const key = encodeLabelsV1(check.labels).toString('latin1');
    let ref = this.refs.get(key);
    if (!ref || ref.gone) {
      ref = { key, shard: this.shards <= 1 ? 0 : fnv1a(key) % this.shards, family, shared, lastTs: -Infinity, seenGen: -1, gone: false };
      this.refs.set(key, ref);
    }
    return ref;
  }

  forget(ref: SeriesRef): void {
    ref.gone = true;
    if (this.refs.get(ref.key) === ref) this.refs.delete(ref.key);
  }
}

export interface RawEntry {
  ref: SeriesRef | null;
  gen: number;
}

/** resolve() result for a series a relabel rule drops (as opposed to null: invalid labels). */
const DROPPED = 'dropped';

/** The series state of one scrape target. */
export class TargetSeries {
  private readonly registry: SeriesRegistry;
  private readonly targetLabels: Label[];
  private readonly relabel: RelabelOptions;
  private readonly raw = new Map<string, RawEntry>();
  private gen = 0;
  private families: ReadonlyMap<string, FamilyMeta> = new Map();
  stats: SeriesStats = { kept: 0, duplicateTimestamp: 0, outOfOrder: 0, duplicateSeries: 0, invalid: 0, stale: 0 };

  constructor(registry: SeriesRegistry, targetLabels: Label[], relabel: RelabelOptions = {}) {
    this.registry = registry;
    this.targetLabels = targetLabels;
    this.relabel = relabel;
  }

  get seriesCount(): number {
    return this.raw.size;
  }

  /** Starts a scrape. `families` is the metadata the exposition announced (resolved lazily for new series). */
  begin(families: ReadonlyMap<string, FamilyMeta>): void {
    this.gen++;
    this.families = families;
    this.stats = { kept: 0, duplicateTimestamp: 0, outOfOrder: 0, duplicateSeries: 0, invalid: 0, stale: 0 };
  }

  /**
   * The cache entry of a raw series (parsing and relabelling it the first time). Throws ExpositionError
   * on malformed labels. Resolving does not queue anything: a scrape resolves every line first and
   * pushes only once the whole exposition parsed, so a failed scrape leaves nothing half-sent.
   */
  entry(name: string, series: string): RawEntry {
    let e = this.raw.get(series);
    if (!e) {
      const r = this.resolve(name, series);
      e = { ref: r === DROPPED ? null : r, gen: this.gen };
      this.raw.set(detach(series), e);
      if (r === null) this.stats.invalid++;
    }
    e.gen = this.gen;
    return e;
  }

  /** Queues one sample of a resolved entry. */
  pushEntry(out: SampleAppender, e: RawEntry, value: number, timestampMs: number): void {
    if (e.ref) this.push(out, e.ref, value, timestampMs);
  }

  /** One scraped sample; `series` is the raw series text from the exposition. */
  add(out: SampleAppender, name: string, series: string, value: number, timestampMs: number): void {
    this.pushEntry(out, this.entry(name, series), value, timestampMs);
  }

  /** One sample of a series given by labels (computed facts). `key` identifies it within the target. */
  addLabels(out: SampleAppender, key: string, build: () => { labels: Label[]; family: FamilyMeta | null; shared: boolean }, value: number, timestampMs: number): void {
    let e = this.raw.get(key);
    if (!e) {
      const b = build();
      const labels = [...b.labels.filter((l) => l.value !== ''), ...this.targetLabels.filter((t) => !b.labels.some((l) => l.name === t.name))];
      e = { ref: this.registry.ref(labels, b.family, b.shared), gen: this.gen };
      this.raw.set(key, e);
      if (!e.ref) this.stats.invalid++;
    }
    e.gen = this.gen;
    if (e.ref) this.push(out, e.ref, value, timestampMs);
  }

  private push(out: SampleAppender, ref: SeriesRef, value: number, timestampMs: number): void {
    if (ref.seenGen === this.gen) {
      this.stats.duplicateSeries++;
      return;
    }
    ref.seenGen = this.gen;
    if (timestampMs <= ref.lastTs) {
      if (timestampMs === ref.lastTs) this.stats.duplicateTimestamp++;
      else this.stats.outOfOrder++;
      return;
    }
    ref.lastTs = timestampMs;
    this.stats.kept++;
    out.append(ref, value, timestampMs);
  }

  /** Ends a successful scrape: series not seen in it get a staleness marker at `nowMs`. */
  end(out: SampleAppender, nowMs: number): void {
    for (const [k, e] of this.raw) {
      if (e.gen === this.gen) continue;
      this.raw.delete(k);
      if (e.ref && e.ref.seenGen !== this.gen) this.markStale(out, e.ref, nowMs);
    }
  }

  /** A failed scrape: every series of the target goes stale (Prometheus does the same). */
  fail(out: SampleAppender, nowMs: number): void {
    for (const e of this.raw.values()) if (e.ref) this.markStale(out, e.ref, nowMs);
    this.raw.clear();
  }

  private markStale(out: SampleAppender, ref: SeriesRef, nowMs: number): void {
    if (ref.gone) return;
    if (!ref.shared && ref.lastTs > -Infinity) {
      const t = Math.max(nowMs, ref.lastTs + 1);
      ref.lastTs = t;
      this.stats.stale++;
      out.append(ref, STALE_NAN, t);
    }
    this.registry.forget(ref);
  }

  private resolve(name: string, series: string): SeriesRef | null | typeof DROPPED {
    const parsed = parseSeries(series);
    const drop = this.relabel.dropLabels;
    const labels: Label[] = [{ name: '__name__', value: detach(name) }];
    let hasPod = false;
    for (const l of parsed.labels) {
      if (drop && drop.has(l.name)) continue;
      if (l.name === 'pod') hasPod = true;
      // honor_labels: false — a scraped label that clashes with a target label is kept as exported_<name>.
      const clash = this.targetLabels.some((t) => t.name === l.name);
      labels.push({ name: clash ? `exported_${l.name}` : detach(l.name), value: detach(l.value) });
    }
    if (this.relabel.dropNonPodContainers && !hasPod && name.startsWith('container_')) return DROPPED;
    for (const t of this.targetLabels) labels.push(t);
    return this.registry.ref(labels, familyOf(name, this.families) ?? null);
  }
}
