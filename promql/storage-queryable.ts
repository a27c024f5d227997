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
import type { LabelMatcher, SampleAggregateFunction, SampleBlock, SeriesReader, SeriesRef, TenantId } from '../storage/types.ts';
import { fromRemoteWrite, isStaleHistogram, type FloatHistogram } from './native-histogram.ts';
import type { AggregatableFunction, AggregatedSeries, Queryable, SelectOptions, Series } from './queryable.ts';

/**
 * Series ids per readSamples call. Memory does not grow with it (samples stream page by page; a batch
 * holds only ids and label sets), while every call costs a statement that scans the time range of the
 * tenant's partitions: with 500 ids per call, reading 1.4 M samples of 5,000 series took 0.6-1.7 s, with
 * 5,000 ids 0.3-0.5 s (PostgreSQL 15; storage/read.ts's SERIES_PER_QUERY is 5,000 too).
 */
export const DEFAULT_SERIES_BATCH = 5000;
/**
 * Series ids per aggregateSamples call (selectAggregated). Each statement scans the window's partitions
 * (PostgreSQL picks a sequential scan for thousands of ids), so fewer, larger batches read less: with
 * 10,000 series × 14 days, 2 batches of 5,000 took 23-27 s, one batch 12-25 s (2 shared, noisy cores). A batch holds
 * only ids and label sets (~0.5 KB a series).
 */
export const DEFAULT_AGGREGATE_BATCH = 20_000;

export interface StorageQueryableOptions {
  /** Series ids per readSamples call (default 5,000) and per aggregateSamples call (default 20,000). */
  seriesBatch?: number;
  /** Samples per SampleBlock page requested from storage (default: storage's own, 8192). */
  pageSamples?: number;
  /**
   * Offer selectAggregated (max/min/count_over_time computed in SQL) when the reader supports it
   * (default true).
   */
  aggregatePushdown?: boolean;
}

const SQL_AGGREGATES: Partial<Record<AggregatableFunction, SampleAggregateFunction>> = {
  max_over_time: 'max',
  min_over_time: 'min',
  count_over_time: 'count',
};

export class StorageQueryable implements Queryable {
  readonly #reader: SeriesReader;
  readonly #tenant: TenantId;
  readonly #batch: number;
  readonly #aggregateBatch: number;
  readonly #pageSamples: number | undefined;

  constructor(reader: SeriesReader, tenant: TenantId, options: StorageQueryableOptions = {}) {
    const batch = options.seriesBatch ?? DEFAULT_SERIES_BATCH;
    if (!Number.isSafeInteger(batch) || batch < 1) throw new RangeError(`seriesBatch must be a positive integer, got ${batch}`);
    if (options.pageSamples !== undefined && (!Number.isSafeInteger(options.pageSamples) || options.pageSamples < 1)) {
      throw new RangeError(`pageSamples must be a positive integer, got ${options.pageSamples}`);
    }
    this.#reader = reader;
    this.#tenant = tenant;
    this.#batch = batch;
    this.#aggregateBatch = options.seriesBatch ?? DEFAULT_AGGREGATE_BATCH;
    this.#pageSamples = options.pageSamples;
    if (options.aggregatePushdown !== false && typeof reader.aggregateSamples === 'function') {
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
    for await (const ref of this.#reader.selectSeries(this.#tenant, matchers, minT, maxT)) {
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
   * Present only when the reader aggregates in SQL and aggregatePushdown is not false (the engine checks
   * for the method), so it is installed by the constructor.
   */
  selectAggregated?: (matchers: LabelMatcher[], func: AggregatableFunction, minT: number, maxT: number, options?: SelectOptions) => AsyncIterable<AggregatedSeries>;

  async *#aggregated(matchers: LabelMatcher[], func: AggregatableFunction, minT: number, maxT: number, options: SelectOptions = {}): AsyncGenerator<AggregatedSeries> {
    const signal = options.signal;
    signal?.throwIfAborted();
    const sqlFunc = SQL_AGGREGATES[func];
    if (!sqlFunc) throw new Error(`cannot aggregate ${func} in storage`);
    if (!(minT <= maxT)) return;
    const withHistograms = options.histograms !== false;
    let batch: SeriesRef[] = [];
    for await (const ref of this.#reader.selectSeries(this.#tenant, matchers, minT, maxT)) {
      batch.push(ref);
      if (batch.length >= this.#aggregateBatch) {
        yield* this.#aggregateSeries(batch, func, sqlFunc, minT, maxT, signal, withHistograms);
        batch = [];
      }
      signal?.throwIfAborted();
    }
    if (batch.length > 0) yield* this.#aggregateSeries(batch, func, sqlFunc, minT, maxT, signal, withHistograms);
  }

  async *#aggregateSeries(
    refs: SeriesRef[],
    func: AggregatableFunction,
    sqlFunc: SampleAggregateFunction,
    minT: number,
    maxT: number,
    signal: AbortSignal | undefined,
    withHistograms: boolean,
  ): AsyncGenerator<AggregatedSeries> {
    signal?.throwIfAborted();
    const labelsById = new Map<number, SeriesRef['labels']>();
    for (const r of refs) labelsById.set(r.id, r.labels);
    // Non-stale histograms per series (stale ones are no samples, as in the engine).
    const histograms = new Map<number, number>();
    if (withHistograms) {
      for (const [id, h] of await this.#readHistograms(refs, minT, maxT, signal)) {
        let n = 0;
        for (const x of h.hs) if (!isStaleHistogram(x)) n++;
        if (n > 0) histograms.set(id, n);
      }
    }
    for await (const a of this.#reader.aggregateSamples!(this.#tenant, [...labelsById.keys()], sqlFunc, minT, maxT)) {
      signal?.throwIfAborted();
      const labels = labelsById.get(a.seriesId);
      if (!labels) throw new Error(`storage returned an aggregate of series ${a.seriesId}, which was not requested`);
      const nh = histograms.get(a.seriesId) ?? 0;
      histograms.delete(a.seriesId);
      yield { labels, value: func === 'count_over_time' ? a.count + nh : a.value, floats: a.count, histograms: nh };
    }
    for (const [id, nh] of histograms) {
      yield { labels: labelsById.get(id)!, value: func === 'count_over_time' ? nh : NaN, floats: 0, histograms: nh };
    }
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
