// A Queryable over Trimtab's store, for one tenant. Matchers and the time range go down to SQL through
// storage's SeriesReader (selectSeries narrows to series ids by label and by day of activity; readSamples
// reads only [minT, maxT] of those ids, so only the needed partitions are touched). Samples are streamed:
// series ids are read in batches (seriesBatch ids per readSamples call), and the SampleBlock pages of one
// series are merged into one Series before it is handed to the engine. At most one series' samples plus
// one page (and the ids and labels of one batch) are held here at a time, so the engine's sample limit
// bounds the memory of a query.
//
// Values are copied as typed arrays (byte copies), so NaN payloads such as the stale marker survive.
//
// Native histograms are read per batch (readHistograms over the batch's ids and [minT, maxT]), decoded
// into FloatHistograms and attached to their series; series with histograms only are yielded after the
// float series of the batch. Unlike float samples, the histograms of a whole batch are held at once.
// When the engine says it ignores histograms (SelectOptions.histograms === false), none are read.
//
// The AbortSignal is checked between series and between pages; when the engine stops iterating (error,
// timeout, cancellation), the generator's return() runs and storage closes its COPY / transaction.

import { decodeHistogram } from '../protocol/index.ts';
import { dayOf } from '../storage/partitions.ts';
import type { LabelMatcher, SampleBlock, SeriesReader, SeriesRef, TenantId } from '../storage/types.ts';
import { RANGE_FUNCTIONS } from './functions.ts';
import { fromRemoteWrite, isStaleHistogram, type FloatHistogram } from './native-histogram.ts';
import { AGGREGATABLE_FUNCTIONS, type AggregatableFunction, type AggregatedSeries, type AggregateOptions, type Queryable, type SelectOptions, type Series } from './queryable.ts';
import { matchersKey } from './selectors.ts';
import { bitsView, isStaleAt } from './value.ts';

/**
 * Series ids per readSamples call. Memory does not grow with it (samples stream page by page; a batch
 * holds only ids and label sets), while every call costs a statement that scans the time range of the
 * tenant's partitions: with 500 ids per call, reading 1.4 M samples of 5,000 series took 0.6-1.7 s, with
 * 5,000 ids 0.3-0.5 s (PostgreSQL 15; storage/read.ts's SERIES_PER_QUERY is 5,000 too).
 */
export const DEFAULT_SERIES_BATCH = 5000;

export interface StorageQueryableOptions {
  /** Series ids per readSamples call (default 5,000). */
  seriesBatch?: number;
  /** Samples per SampleBlock page requested from storage (default: storage's own, 8192). */
  pageSamples?: number;
  /**
   * Offer selectAggregated (max/min/count/quantile_over_time over one window, computed as the series
   * stream in) (default true).
   */
  aggregatePushdown?: boolean;
  /**
   * Remember, per selector, the series storage selected for a range of UTC days (storage selects at day
   * granularity), and per selector and window what selectAggregated saw of each series (sample counts,
   * max, min); answer later selects of the same days, and count/max/min_over_time over the same window,
   * without asking storage again (default false). For a queryable that lives through one rule-group
   * evaluation: a rule that writes series must be followed by forgetMetrics() with their names (the
   * scheduler does this). A series created by ingest meanwhile is seen by the next evaluation.
   */
  memoizeWindows?: boolean;
}

/** What one aggregate read saw of one series. */
interface WindowSummary {
  labels: SeriesRef['labels'];
  floats: number;
  histograms: number;
  max: number;
  min: number;
}

export class StorageQueryable implements Queryable {
  readonly #reader: SeriesReader;
  readonly #tenant: TenantId;
  readonly #batch: number;
  readonly #pageSamples: number | undefined;
  /** Window summaries by selector+window key, and the metric name the selector pins ('' if none). */
  readonly #windows: Map<string, { metric: string; series: WindowSummary[] }> | null;
  /** Selected series by selector+day range, and the metric name the selector pins ('' if none). */
  readonly #selected: Map<string, { metric: string; refs: SeriesRef[] }> | null;

  constructor(reader: SeriesReader, tenant: TenantId, options: StorageQueryableOptions = {}) {
    const batch = options.seriesBatch ?? DEFAULT_SERIES_BATCH;
    if (!Number.isSafeInteger(batch) || batch < 1) throw new RangeError(`seriesBatch must be a positive integer, got ${batch}`);
    if (options.pageSamples !== undefined && (!Number.isSafeInteger(options.pageSamples) || options.pageSamples < 1)) {
      throw new RangeError(`pageSamples must be a positive integer, got ${options.pageSamples}`);
    }
    this.#reader = reader;
    this.#tenant = tenant;
    this.#batch = batch;
    this.#pageSamples = options.pageSamples;
    this.#windows = options.memoizeWindows ? new Map() : null;
    this.#selected = options.memoizeWindows ? new Map() : null;
    if (options.aggregatePushdown !== false) {
      this.selectAggregated = (matchers, func, minT, maxT, opts) => this.#aggregated(matchers, func, minT, maxT, opts);
    }
  }

  async *select(matchers: LabelMatcher[], minT: number, maxT: number, options: SelectOptions = {}): AsyncGenerator<Series> {
    const signal = options.signal;
    signal?.throwIfAborted();
    if (!(minT <= maxT)) return;
    // selectSeries reads the ids (and labels, page by page) before yielding, holding no transaction while
    // suspended, so reading samples of a batch in between is safe on PGlite's single connection too.
    let batch: SeriesRef[] = [];
    const refs = this.#selected ? await this.#selectSeriesOnce(matchers, minT, maxT) : this.#reader.selectSeries(this.#tenant, matchers, minT, maxT);
    for await (const ref of refs) {
      batch.push(ref);
      if (batch.length >= this.#batch) {
        yield* this.#readBatch(batch, minT, maxT, signal, options.histograms !== false);
        batch = [];
      }
      signal?.throwIfAborted();
    }
    if (batch.length > 0) yield* this.#readBatch(batch, minT, maxT, signal, options.histograms !== false);
  }

  /**
   * Present unless aggregatePushdown is false (the engine checks for the method), so it is installed by
   * the constructor.
   */
  selectAggregated?: (matchers: LabelMatcher[], func: AggregatableFunction, minT: number, maxT: number, options?: AggregateOptions) => AsyncIterable<AggregatedSeries>;

  /**
   * func over each selected series' window, computed here as the series stream in (one series held at a
   * time) with the engine's own range functions, so the result is the engine's bit for bit. Storage
   * reads compacted days as one row per series and day (storage/compaction.ts), which is what makes
   * long windows cheap; aggregating in SQL would have to unpack and de-duplicate those rows.
   */
  async *#aggregated(matchers: LabelMatcher[], func: AggregatableFunction, minT: number, maxT: number, options: AggregateOptions = {}): AsyncGenerator<AggregatedSeries> {
    options.signal?.throwIfAborted();
    const fn = AGGREGATABLE_FUNCTIONS.has(func) ? RANGE_FUNCTIONS.get(func) : undefined;
    if (!fn) throw new Error(`cannot aggregate ${func} in the queryable`);
    if (func === 'quantile_over_time' && typeof options.param !== 'number') throw new Error('quantile_over_time needs its parameter');
    if (!(minT <= maxT)) return;
    const key = this.#windows ? `${matchersKey(matchers)}@${minT},${maxT},${options.histograms !== false}` : '';
    const known = this.#windows?.get(key);
    if (known && func !== 'quantile_over_time') {
      for (const w of known.series) {
        const value = func === 'count_over_time' ? w.floats + w.histograms : func === 'max_over_time' ? w.max : w.min;
        yield { labels: w.labels, value, floats: w.floats, histograms: w.histograms };
      }
      return;
    }
    const params = func === 'quantile_over_time' ? [options.param!] : [];
    const window = { evalTs: maxT, rangeStart: minT - 1, rangeEnd: maxT, rangeMs: maxT - minT + 1 };
    const maxFn = RANGE_FUNCTIONS.get('max_over_time')!;
    const minFn = RANGE_FUNCTIONS.get('min_over_time')!;
    const seen: WindowSummary[] | null = this.#windows ? [] : null;
    for await (const s of this.select(matchers, minT, maxT, options)) {
      const { ts, vs } = nonStaleFloats(s.timestamps, s.values);
      let histograms = 0;
      if (options.histograms !== false && s.histograms) for (const h of s.histograms) if (!isStaleHistogram(h)) histograms++;
      const floats = vs.length;
      if (floats + histograms === 0) continue;
      const value = func === 'count_over_time' ? floats + histograms : floats > 0 ? (fn(ts, vs, 0, floats, window, params) ?? NaN) : NaN;
      seen?.push({
        labels: s.labels,
        floats,
        histograms,
        max: floats > 0 ? (maxFn(ts, vs, 0, floats, window, []) ?? NaN) : NaN,
        min: floats > 0 ? (minFn(ts, vs, 0, floats, window, []) ?? NaN) : NaN,
      });
      yield { labels: s.labels, value, floats, histograms };
    }
    // Only a complete read is remembered (the engine may stop early on an error).
    if (seen) this.#windows!.set(key, { metric: pinnedMetric(matchers), series: seen });
  }

  /**
   * Forgets the remembered windows that may include series of these metrics (memoizeWindows): those of
   * selectors pinning one of the names, and every selector that pins no name.
   */
  forgetMetrics(names: Iterable<string>): void {
    if (!this.#windows || !this.#selected) return;
    const written = new Set(names);
    for (const [key, w] of this.#windows) if (w.metric === '' || written.has(w.metric)) this.#windows.delete(key);
    for (const [key, w] of this.#selected) if (w.metric === '' || written.has(w.metric)) this.#selected.delete(key);
  }

  /** selectSeries through the memo (memoizeWindows): keyed by the matchers and the UTC days storage tests. */
  async #selectSeriesOnce(matchers: LabelMatcher[], minT: number, maxT: number): Promise<SeriesRef[]> {
    const key = `${matchersKey(matchers)}@${utcDay(Math.ceil(minT))},${utcDay(Math.floor(maxT))}`;
    const known = this.#selected!.get(key);
    if (known) return known.refs;
    const refs: SeriesRef[] = [];
    for await (const ref of this.#reader.selectSeries(this.#tenant, matchers, minT, maxT)) refs.push(ref);
    this.#selected!.set(key, { metric: pinnedMetric(matchers), refs });
    return refs;
  }

  async *#readBatch(refs: SeriesRef[], minT: number, maxT: number, signal: AbortSignal | undefined, withHistograms: boolean): AsyncGenerator<Series> {
    signal?.throwIfAborted();
    const labelsById = new Map<number, SeriesRef['labels']>();
    for (const r of refs) labelsById.set(r.id, r.labels);
    const histograms = withHistograms ? await this.#readHistograms(refs, minT, maxT, signal) : new Map<number, { ts: number[]; hs: FloatHistogram[] }>();
    let current = -1;
    let pages: SampleBlock[] = [];
    const finish = (): Series | null => {
      if (current < 0 || pages.length === 0) return null;
      const labels = labelsById.get(current);
      if (!labels) throw new Error(`storage returned samples of series ${current}, which was not requested`);
      const s = mergePages(labels, pages);
      pages = [];
      const h = histograms.get(current);
      if (h) {
        histograms.delete(current);
        s.histogramTimestamps = Float64Array.from(h.ts);
        s.histograms = h.hs;
      }
      return s;
    };
    for await (const block of this.#reader.readSamples(this.#tenant, [...labelsById.keys()], minT, maxT, this.#pageSamples)) {
      signal?.throwIfAborted();
      if (block.timestamps.length === 0) continue;
      if (block.seriesId !== current) {
        const done = finish();
        current = block.seriesId;
        if (done) yield done;
      }
      pages.push(block);
    }
    const last = finish();
    if (last) yield last;
    // Series with histograms and no float samples in the range.
    for (const [id, h] of histograms) {
      signal?.throwIfAborted();
      const labels = labelsById.get(id);
      if (!labels) throw new Error(`storage returned histograms of series ${id}, which was not requested`);
      yield { labels, timestamps: new Float64Array(0), values: new Float64Array(0), histogramTimestamps: Float64Array.from(h.ts), histograms: h.hs };
    }
  }

  /** The native histograms of the batch's series in [minT, maxT], by series id, in time order. */
  async #readHistograms(refs: SeriesRef[], minT: number, maxT: number, signal: AbortSignal | undefined): Promise<Map<number, { ts: number[]; hs: FloatHistogram[] }>> {
    const out = new Map<number, { ts: number[]; hs: FloatHistogram[] }>();
    if (typeof this.#reader.readHistograms !== 'function') return out;
    for await (const h of this.#reader.readHistograms(this.#tenant, refs.map((r) => r.id), minT, maxT)) {
      signal?.throwIfAborted();
      let e = out.get(h.seriesId);
      if (!e) {
        e = { ts: [], hs: [] };
        out.set(h.seriesId, e);
      }
      if (e.ts.length > 0 && h.timestamp <= e.ts[e.ts.length - 1]!) throw new Error(`storage returned histograms out of order for series ${h.seriesId}`);
      e.ts.push(h.timestamp);
      e.hs.push(fromRemoteWrite(decodeHistogram(h.raw)));
    }
    return out;
  }
}

/** One Series from the consecutive pages of a series (a single page is used as is, without copying). */
function mergePages(labels: SeriesRef['labels'], pages: SampleBlock[]): Series {
  if (pages.length === 1) return { labels, timestamps: pages[0]!.timestamps, values: pages[0]!.values };
  let n = 0;
  for (const p of pages) n += p.timestamps.length;
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  let off = 0;
  for (const p of pages) {
    if (off > 0 && p.timestamps[0]! <= timestamps[off - 1]!) throw new Error(`storage returned samples out of order for series with labels ${JSON.stringify(labels)}`);
    timestamps.set(p.timestamps, off);
    values.set(p.values, off); // same element type: a byte copy, NaN payloads intact
    off += p.timestamps.length;
  }
  return { labels, timestamps, values };
}

/** The UTC day of a time bound, as storage's series selection computes it (±Infinity kept apart). */
function utcDay(t: number): string {
  return Number.isFinite(t) ? String(dayOf(t)) : String(t);
}

/** The metric name a selector pins with `__name__="…"`, or '' (a regex or no name matcher). */
function pinnedMetric(matchers: readonly LabelMatcher[]): string {
  for (const m of matchers) if (m.name === '__name__' && m.type === '=') return m.value;
  return '';
}

/** The float samples without stale markers (the arrays themselves when there are none). */
function nonStaleFloats(timestamps: Float64Array, values: Float64Array): { ts: Float64Array; vs: Float64Array } {
  const bits = bitsView(values);
  let stale = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== values[i] && isStaleAt(bits, i)) stale++;
  if (stale === 0) return { ts: timestamps, vs: values };
  const ts = new Float64Array(values.length - stale);
  const vs = new Float64Array(values.length - stale);
  let j = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== values[i] && isStaleAt(bits, i)) continue;
    ts[j] = timestamps[i]!;
    vs[j] = values[i]!;
    j++;
  }
  return { ts, vs };
}
