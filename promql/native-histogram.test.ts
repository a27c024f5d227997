import { describe, expect, it } from 'vitest';
import {
  addHistograms,
  allBuckets,
  bucketBound,
  compactHistogram,
  copyToSchema,
  detectReset,
  fromRemoteWrite,
  nativeHistogramFraction,
  nativeHistogramQuantile,
  type FloatHistogram,
} from './native-histogram.ts';
import type { NativeHistogram } from '../protocol/histogram.ts';

function rw(over: Partial<NativeHistogram>): NativeHistogram {
  return {
    timestamp: 0, startTimestamp: 0, isFloat: false, count: 0, sum: 0, schema: 0, zeroThreshold: 0, zeroCount: 0,
    negativeSpans: [], negativeDeltas: [], negativeCounts: [], positiveSpans: [], positiveDeltas: [], positiveCounts: [],
    resetHint: 0, customValues: [], ...over,
  };
}

function hist(over: Partial<FloatHistogram>): FloatHistogram {
  return {
    schema: 0, zeroThreshold: 0, zeroCount: 0, count: 0, sum: 0, positiveSpans: [], positiveBuckets: [], negativeSpans: [], negativeBuckets: [],
    counterResetHint: 0, ...over,
  };
}

describe('bucket bounds', () => {
  it('match Prometheus\' exponentialBounds table exactly', () => {
    // Values from prometheus model/histogram/generic.go.
    expect(bucketBound(-1, 1)).toBe(0.7071067811865475);
    expect(bucketBound(-1, 2)).toBe(0.8408964152537144);
    expect(bucketBound(-1, 3)).toBe(0.9170040432046711);
    expect(bucketBound(-2, 8)).toBe(0.9945994234836328);
    expect(bucketBound(-1, 8)).toBe(0.9972960560854698);
    expect(bucketBound(-256 + 3, 8)).toBe(0.5040779490592088);
    expect(bucketBound(-128 + 77, 7)).toBe(0.7586795205991071);
    expect(bucketBound(-64 + 31, 6)).toBe(0.6994898362691555);
    expect(bucketBound(0, 0)).toBe(1);
    expect(bucketBound(1, 0)).toBe(2);
    expect(bucketBound(3, 1)).toBe(2 * 2 * 0.7071067811865475);
    expect(bucketBound(1, -2)).toBe(16);
    expect(bucketBound(-1, 0)).toBe(0.5);
    expect(bucketBound(1024, 0)).toBe(Number.MAX_VALUE);
    expect(bucketBound(1025, 0)).toBe(Infinity);
    expect(bucketBound(256, -2)).toBe(Number.MAX_VALUE);
  });
});

describe('conversion from remote write', () => {
  it('turns integer deltas into absolute counts', () => {
    const h = fromRemoteWrite(rw({ count: 9, sum: 20, schema: 1, zeroThreshold: 0.001, zeroCount: 1, positiveSpans: [{ offset: 0, length: 2 }, { offset: 1, length: 1 }], positiveDeltas: [2, 1, -2], negativeSpans: [{ offset: 1, length: 1 }], negativeDeltas: [3] }));
    expect(h.positiveBuckets).toEqual([2, 3, 1]);
    expect(h.negativeBuckets).toEqual([3]);
    expect(h).toMatchObject({ count: 9, sum: 20, schema: 1, zeroCount: 1, zeroThreshold: 0.001 });
  });
  it('keeps float counts', () => {
    const h = fromRemoteWrite(rw({ isFloat: true, count: 2.5, positiveSpans: [{ offset: -1, length: 2 }], positiveCounts: [1.5, 1] }));
    expect(h.positiveBuckets).toEqual([1.5, 1]);
  });
  it('rejects custom buckets', () => {
    expect(() => fromRemoteWrite(rw({ schema: -53 }))).toThrow(/schema -53/);
  });
});

describe('operations', () => {
  const a = hist({ schema: 1, count: 6, sum: 10, positiveSpans: [{ offset: 0, length: 4 }], positiveBuckets: [1, 2, 0, 3] });
  it('reduces resolution', () => {
    // schema 1 buckets 0..3 → schema 0 buckets 0 (idx 0), 1 (idx 1,2), 2 (idx 3)
    const r = copyToSchema(a, 0);
    expect(r.positiveSpans).toEqual([{ offset: 0, length: 3 }]);
    expect(r.positiveBuckets).toEqual([1, 2, 3]);
  });
  it('adds histograms of different schemas into the lower one', () => {
    const b = hist({ schema: 0, count: 2, sum: 1, zeroCount: 1, positiveSpans: [{ offset: 5, length: 1 }], positiveBuckets: [1] });
    const s = addHistograms(a, b);
    expect(s.schema).toBe(0);
    expect(s.count).toBe(8);
    expect(s.zeroCount).toBe(1);
    expect(s.positiveSpans).toEqual([{ offset: 0, length: 3 }, { offset: 2, length: 1 }]);
    expect(s.positiveBuckets).toEqual([1, 2, 3, 1]);
  });
  it('compacts empty buckets', () => {
    const c = compactHistogram(structuredClone(a));
    expect(c.positiveSpans).toEqual([{ offset: 0, length: 2 }, { offset: 1, length: 1 }]);
    expect(c.positiveBuckets).toEqual([1, 2, 3]);
  });
  it('detects counter resets', () => {
    const later = hist({ ...structuredClone(a), count: 7, positiveBuckets: [1, 2, 1, 3] });
    expect(detectReset(later, a)).toBe(false);
    expect(detectReset(hist({ ...structuredClone(a), count: 7, positiveBuckets: [0, 4, 0, 3] }), a)).toBe(true);
    expect(detectReset(hist({ ...structuredClone(a), count: 5 }), a)).toBe(true);
    expect(detectReset(hist({ ...structuredClone(a), schema: 2 }), a)).toBe(true);
    // a missing bucket that was populated
    expect(detectReset(hist({ schema: 1, count: 9, positiveSpans: [{ offset: 1, length: 3 }], positiveBuckets: [3, 3, 3] }), a)).toBe(true);
    // lower schema: buckets merge
    expect(detectReset(hist({ schema: 0, count: 7, positiveSpans: [{ offset: 0, length: 3 }], positiveBuckets: [1, 3, 3] }), a)).toBe(false);
  });
});

describe('iteration, quantile and fraction', () => {
  const h = hist({
    schema: 0, zeroThreshold: 0.001, zeroCount: 2, count: 10, sum: 3,
    positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [4, 2],
    negativeSpans: [{ offset: 1, length: 1 }], negativeBuckets: [2],
  });
  it('iterates negative, zero and positive buckets in order', () => {
    expect(allBuckets(h)).toEqual([
      { lower: -2, upper: -1, lowerInclusive: true, upperInclusive: false, count: 2 },
      { lower: -0.001, upper: 0.001, lowerInclusive: true, upperInclusive: true, count: 2 },
      { lower: 0.5, upper: 1, lowerInclusive: false, upperInclusive: true, count: 4 },
      { lower: 1, upper: 2, lowerInclusive: false, upperInclusive: true, count: 2 },
    ]);
  });
  it('interpolates quantiles linearly', () => {
    expect(nativeHistogramQuantile(0.1, h)).toBe(-1.5);
    expect(nativeHistogramQuantile(0.6, h)).toBe(0.75);
    expect(nativeHistogramQuantile(1, h)).toBe(2);
    expect(nativeHistogramQuantile(2, h)).toBe(Infinity);
    expect(nativeHistogramQuantile(NaN, h)).toBeNaN();
  });
  it('estimates fractions', () => {
    expect(nativeHistogramFraction(0, 1, h)).toBeCloseTo(0.5, 12); // half the zero bucket + the (0.5,1] bucket
    expect(nativeHistogramFraction(-Infinity, Infinity, h)).toBe(1);
    expect(nativeHistogramFraction(1, 1, h)).toBe(0);
  });
});
