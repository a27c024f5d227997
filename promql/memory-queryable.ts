// An in-memory Queryable for tests and fixtures: series with float samples and native-histogram
// samples, matched with Prometheus' matcher semantics, sliced to the requested time range without
// copying.

import type { Label } from '../protocol/types.ts';
import { compileMatcher, compareLabels, labelsKey, matchesLabels, normalizeLabels, type LabelMatcher, type Labels } from './labels.ts';
import type { FloatHistogram } from './native-histogram.ts';
import type { Queryable, SelectOptions, Series } from './queryable.ts';
import { bitsView, STALE_NAN_HI, STALE_NAN_LO } from './value.ts';

/** A sample value for MemoryQueryable.add(): a number, or 'stale' for Prometheus' stale marker. */
export type SampleValue = number | 'stale';

interface StoredSeries {
  labels: Labels;
  /** Capacity may exceed `length` (append() grows them by doubling). */
  timestamps: Float64Array;
  values: Float64Array;
  length: number;
  /** Native-histogram samples (addHistograms). */
  histogramTimestamps?: Float64Array;
  histograms?: FloatHistogram[];
}

export class MemoryQueryable implements Queryable {
  private readonly series = new Map<string, StoredSeries>();
  /** Number of select() calls, for tests of lazy loading. */
  selectCalls = 0;

  /**
   * Adds (or replaces) a series. Labels are sorted and empty values dropped; samples must be in
   * increasing timestamp order.
   */
  add(labels: readonly Label[] | Record<string, string>, samples: ReadonlyArray<readonly [number, SampleValue]>): this {
    const ls = normalizeLabels(Array.isArray(labels) ? labels : Object.entries(labels).map(([name, value]) => ({ name, value })));
    const timestamps = new Float64Array(samples.length);
    const values = new Float64Array(samples.length);
    const bits = bitsView(values);
    samples.forEach(([t, v], i) => {
      if (i > 0 && t <= timestamps[i - 1]!) throw new Error(`samples of ${labelsKey(ls)} are not in increasing timestamp order`);
      timestamps[i] = t;
      if (v === 'stale') {
        bits[2 * i] = STALE_NAN_LO;
        bits[2 * i + 1] = STALE_NAN_HI;
      } else values[i] = v;
    });
    this.series.set(labelsKey(ls), { labels: ls, timestamps, values, length: samples.length });
    return this;
  }

  /**
   * Appends one sample to a series (created when new). A sample at the last stored timestamp replaces
   * it; an older one is an error, as out-of-order appends are in Prometheus' head.
   */
  append(labels: readonly Label[], t: number, v: SampleValue): this {
    const ls = normalizeLabels(labels);
    const key = labelsKey(ls);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: ls, timestamps: new Float64Array(8), values: new Float64Array(8), length: 0 };
      this.series.set(key, s);
    }
    let i = s.length;
    if (i > 0 && t <= s.timestamps[i - 1]!) {
      if (t < s.timestamps[i - 1]!) throw new Error(`out-of-order sample for ${labelsKey(ls)} at ${t}`);
      i--;
    } else {
      if (i === s.timestamps.length) {
        const ts = new Float64Array(i * 2);
        ts.set(s.timestamps);
        const vs = new Float64Array(i * 2);
        vs.set(s.values);
        s.timestamps = ts;
        s.values = vs;
      }
      s.length = i + 1;
    }
    s.timestamps[i] = t;
    if (v === 'stale') {
      const bits = bitsView(s.values);
      bits[2 * i] = STALE_NAN_LO;
      bits[2 * i + 1] = STALE_NAN_HI;
    } else s.values[i] = v;
    return this;
  }

  /** Adds a series from typed arrays as they are (bit patterns preserved). */
  addArrays(labels: readonly Label[], timestamps: Float64Array, values: Float64Array): this {
    const ls = normalizeLabels(labels);
    this.series.set(labelsKey(ls), { labels: ls, timestamps, values, length: timestamps.length });
    return this;
  }

  /**
   * Sets the native-histogram samples of a series (created without floats when new; its floats are
   * kept). Samples must be in increasing timestamp order and not at the time of a float sample.
   */
  addHistograms(labels: readonly Label[] | Record<string, string>, samples: ReadonlyArray<readonly [number, FloatHistogram]>): this {
    const ls = normalizeLabels(Array.isArray(labels) ? labels : Object.entries(labels).map(([name, value]) => ({ name, value })));
    const key = labelsKey(ls);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: ls, timestamps: new Float64Array(0), values: new Float64Array(0), length: 0 };
      this.series.set(key, s);
    }
    const ts = new Float64Array(samples.length);
    samples.forEach(([t], i) => {
      if (i > 0 && t <= ts[i - 1]!) throw new Error(`histogram samples of ${key} are not in increasing timestamp order`);
      ts[i] = t;
    });
    s.histogramTimestamps = ts;
    s.histograms = samples.map(([, h]) => h);
    return this;
  }

  get size(): number {
    return this.series.size;
  }

  async *select(matchers: LabelMatcher[], minT: number, maxT: number, options: SelectOptions = {}): AsyncGenerator<Series> {
    this.selectCalls++;
    const compiled = matchers.map(compileMatcher);
    const matched = [...this.series.values()].filter((s) => matchesLabels(compiled, s.labels));
    matched.sort((a, b) => compareLabels(a.labels, b.labels));
    for (const s of matched) {
      options.signal?.throwIfAborted();
      const ts = s.timestamps.subarray(0, s.length);
      const lo = lowerBound(ts, minT);
      const hi = lowerBound(ts, maxT + 1);
      let hlo = 0;
      let hhi = 0;
      if (s.histogramTimestamps) {
        hlo = lowerBound(s.histogramTimestamps, minT);
        hhi = lowerBound(s.histogramTimestamps, maxT + 1);
      }
      if (hi <= lo && hhi <= hlo) continue;
      const out: Series = {
        labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
        timestamps: s.timestamps.subarray(lo, Math.max(lo, hi)),
        values: s.values.subarray(lo, Math.max(lo, hi)),
      };
      if (hhi > hlo) {
        out.histogramTimestamps = s.histogramTimestamps!.subarray(hlo, hhi);
        out.histograms = s.histograms!.slice(hlo, hhi);
      }
      yield out;
    }
  }
}

/** First index with ts[i] >= t. */
function lowerBound(ts: Float64Array, t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
