import { describe, expect, it } from 'vitest';
import {
  checkSampleTimestamp,
  checkSeriesContents,
  compareUtf8,
  DEFAULT_WRITE_LIMITS,
  formatLabels,
  sortLabels,
  validateExemplar,
  validateHistogram,
  validateSeriesLabels,
  type DecodedExemplar,
  type DecodedSeries,
  type Label,
  type NativeHistogram,
  type WriteLimits,
} from './index.ts';

const L = (o: Record<string, string>): Label[] => Object.entries(o).map(([name, value]) => ({ name, value }));
const limits: WriteLimits = { ...DEFAULT_WRITE_LIMITS, maxLabelsPerSeries: 5, maxLabelNameLength: 10, maxLabelValueLength: 12 };

function rejection(labels: Label[], l: WriteLimits = limits) {
  const v = validateSeriesLabels(labels, l, 2);
  if (v.ok) throw new Error('expected a rejection');
  return v.rejection;
}

describe('validateSeriesLabels', () => {
  it('sorts by name, drops empty values, returns the metric name', () => {
    const v = validateSeriesLabels(L({ zone: 'z', __name__: 'up', job: 'api', empty: '' }), limits, 1);
    expect(v).toEqual({ ok: true, metricName: 'up', labels: L({ __name__: 'up', job: 'api', zone: 'z' }) });
  });

  it('accepts UTF-8 metric and label names (dots, spaces, non-ASCII), as Prometheus 3 does', () => {
    const v = validateSeriesLabels(L({ __name__: 'metric.with dots', 'label with space': 'v', 'ünï': 'ok' }), DEFAULT_WRITE_LIMITS, 2);
    expect(v.ok).toBe(true);
  });

  it('sorts in UTF-8 byte order, not UTF-16 order', () => {
    const v = validateSeriesLabels(L({ '\u{10000}': '1', '\uE000': '2', __name__: 'x', a: '3' }), DEFAULT_WRITE_LIMITS, 2);
    expect(v.ok && v.labels.map((l) => l.name)).toEqual(['__name__', 'a', '\uE000', '\u{10000}']);
    expect(compareUtf8('\uE000', '\u{10000}')).toBeLessThan(0);
    expect('\uE000' < '\u{10000}').toBe(false); // what plain comparison would get wrong
  });

  it('rejects a missing or empty __name__, naming the series like Prometheus', () => {
    const r = rejection(L({ job: 'api', instance: 'a:1' }));
    expect(r.reason).toBe('missing_metric_name');
    expect(r.message).toBe('series {instance="a:1", job="api"}: no metric name (__name__ missing or empty)');
    expect(rejection(L({ __name__: '', job: 'x' })).reason).toBe('missing_metric_name');
    expect(rejection([]).reason).toBe('missing_metric_name');
  });

  it('rejects empty and duplicate label names', () => {
    expect(rejection(L({ __name__: 'x', '': 'v' })).reason).toBe('empty_label_name');
    const dup = rejection([...L({ __name__: 'x', a: 'b' }), { name: 'a', value: 'c' }]);
    expect(dup.reason).toBe('duplicate_label_name');
    expect(dup.message).toContain('"a"');
    // A duplicate is a duplicate even when one of the values is empty.
    expect(rejection([...L({ __name__: 'x', a: '' }), { name: 'a', value: 'c' }]).reason).toBe('duplicate_label_name');
  });

  it('applies the count and length limits (lengths in UTF-8 bytes, the metric name included)', () => {
    expect(rejection(L({ __name__: 'x', a: '1', b: '2', c: '3', d: '4', e: '5' })).reason).toBe('too_many_labels');
    expect(validateSeriesLabels(L({ __name__: 'x', a: '1', b: '2', c: '3', d: '4', e: '' }), limits, 2).ok).toBe(true);
    expect(rejection(L({ __name__: 'x', abcdefghijk: 'v' })).reason).toBe('label_name_too_long');
    expect(validateSeriesLabels(L({ __name__: 'x', abcdefghij: 'v' }), limits, 2).ok).toBe(true);
    expect(rejection(L({ __name__: 'x', éééééé: 'v' })).reason).toBe('label_name_too_long'); // 6 chars, 12 bytes
  });

  it('measures UTF-8 bytes, not characters', () => {
    expect(validateSeriesLabels(L({ __name__: 'x', a: 'ééééé' }), limits, 2).ok).toBe(true); // 10 bytes
    expect(rejection(L({ __name__: 'x', a: 'éééééé1' })).reason).toBe('label_value_too_long'); // 13 bytes, 7 chars
    expect(rejection(L({ __name__: 'a_very_long_metric' })).reason).toBe('label_value_too_long');
  });

  it('rejects strings that are not valid UTF-8 (lone surrogates)', () => {
    expect(rejection(L({ __name__: 'x', a: 'bad\uD800' })).reason).toBe('invalid_utf8');
  });

  it('does not mutate its input', () => {
    const input = L({ z: '1', __name__: 'x' });
    validateSeriesLabels(input, limits, 2);
    expect(input.map((l) => l.name)).toEqual(['z', '__name__']);
  });
});

describe('formatLabels / sortLabels', () => {
  it('renders like Prometheus and cuts huge values', () => {
    expect(formatLabels(L({ __name__: 'x', a: 'q"uote' }))).toBe('{__name__="x", a="q\\"uote"}');
    expect(formatLabels(L({ a: 'v'.repeat(1000) })).length).toBeLessThan(200);
    expect(formatLabels(L({ ['n'.repeat(100_000)]: 'v' })).length).toBeLessThan(200);
    const many = Array.from({ length: 10_000 }, (_, i) => ({ name: `l${i}`, value: 'v' }));
    expect(formatLabels(many)).toMatch(/, … 9960 more\}$/);
    expect(rejection(many).message.length).toBeLessThan(1000);
    expect(sortLabels(L({ b: '1', a: '2' })).map((l) => l.name)).toEqual(['a', 'b']);
  });
});

// ---------------------------------------------------------------------------------------------------

function hist(h: Partial<NativeHistogram>): NativeHistogram {
  return {
    timestamp: 1,
    startTimestamp: 0,
    isFloat: false,
    count: 0,
    sum: 0,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    negativeSpans: [],
    negativeDeltas: [],
    negativeCounts: [],
    positiveSpans: [],
    positiveDeltas: [],
    positiveCounts: [],
    resetHint: 0,
    customValues: [],
    ...h,
  };
}

// Absolute positive counts 5, 10, 12 (= 27) and 3 in the zero bucket and 4 negative.
const good = hist({
  count: 34,
  sum: 100,
  schema: 3,
  zeroCount: 3,
  zeroThreshold: 1e-128,
  positiveSpans: [
    { offset: -1, length: 2 },
    { offset: 2, length: 1 },
  ],
  positiveDeltas: [5, 5, 2],
  negativeSpans: [{ offset: 0, length: 1 }],
  negativeDeltas: [4],
});

describe('validateHistogram (Prometheus Histogram.Validate)', () => {
  it('accepts a consistent integer histogram (first span may have a negative offset)', () => {
    expect(validateHistogram(good)).toBeNull();
  });

  it('rejects the compliance bad_count_histogram: count 99, buckets summing to 27', () => {
    const bad = hist({ count: 99, sum: 10, schema: 0, positiveSpans: [{ offset: 0, length: 3 }], positiveDeltas: [5, 5, 2] });
    const r = validateHistogram(bad, '{__name__="h"}');
    expect(r?.reason).toBe('invalid_histogram');
    expect(r?.message).toBe('series {__name__="h"}: invalid native histogram: 27 observations found in buckets, but the count field is 99');
  });

  it('with a NaN sum, count may exceed the buckets but not fall short', () => {
    expect(validateHistogram({ ...good, sum: Number.NaN, count: 40 })).toBeNull();
    expect(validateHistogram({ ...good, sum: Number.NaN, count: 33 })?.message).toContain('at least');
    expect(validateHistogram({ ...good, count: 35 })?.reason).toBe('invalid_histogram');
  });

  it('checks spans against buckets, later negative offsets and negative counts', () => {
    expect(validateHistogram({ ...good, positiveDeltas: [5, 5] })?.message).toContain('positive side: spans need 3 buckets, have 2');
    expect(validateHistogram({ ...good, negativeSpans: [{ offset: 0, length: 2 }] })?.message).toContain('negative side');
    expect(
      validateHistogram({
        ...good,
        positiveSpans: [
          { offset: 0, length: 2 },
          { offset: -1, length: 1 },
        ],
      })?.message,
    ).toContain('span number 2 has negative offset -1');
    expect(validateHistogram({ ...good, positiveDeltas: [5, -6, 2] })?.message).toContain('bucket number 2 has observation count of -1');
  });

  it('accepts schemas -4..8 and -53 only', () => {
    for (const schema of [-4, 0, 8]) expect(validateHistogram({ ...good, schema })).toBeNull();
    for (const schema of [-5, 9, 52, -9]) expect(validateHistogram({ ...good, schema })?.message).toContain(`schema ${schema}`);
  });

  it('applies the custom-bucket rules for schema -53', () => {
    const nhcb = hist({ schema: -53, count: 5, sum: 2, positiveSpans: [{ offset: 0, length: 3 }], positiveDeltas: [1, 1, 0], customValues: [0.1, 0.5] });
    expect(validateHistogram(nhcb)).toBeNull();
    expect(validateHistogram({ ...nhcb, zeroCount: 1, count: 7 })?.message).toContain('zero count');
    expect(validateHistogram({ ...nhcb, zeroThreshold: 0.001 })?.message).toContain('zero threshold');
    expect(validateHistogram({ ...nhcb, negativeSpans: [{ offset: 0, length: 0 }] })?.message).toContain('negative spans');
    expect(validateHistogram({ ...nhcb, negativeDeltas: [1] })?.message).toContain('negative buckets');
    expect(validateHistogram({ ...nhcb, customValues: [0.5, 0.1] })?.message).toContain('increase');
    expect(validateHistogram({ ...nhcb, customValues: [0.1, Infinity] })?.message).toContain('+Inf');
    expect(validateHistogram({ ...nhcb, customValues: [0.1, Number.NaN] })?.message).toContain('NaN');
    expect(validateHistogram({ ...nhcb, customValues: [0.1] })?.message).toContain('only 1 custom bounds');
    expect(validateHistogram({ ...nhcb, positiveSpans: [{ offset: -1, length: 3 }] })?.message).toContain('negative offset');
    // Custom values with an exponential schema.
    expect(validateHistogram({ ...good, customValues: [1] })?.message).toContain('custom bounds');
  });

  it('float histograms: absolute counts must not be negative; count is not checked (as in Prometheus)', () => {
    const f = hist({ isFloat: true, count: 10.5, sum: 3, positiveSpans: [{ offset: 0, length: 2 }], positiveCounts: [1.5, 2.5] });
    expect(validateHistogram(f)).toBeNull();
    expect(validateHistogram({ ...f, positiveCounts: [1.5, -0.5] })?.message).toContain('bucket number 2');
    // Integer deltas are ignored for a float histogram, and vice versa.
    expect(validateHistogram({ ...f, positiveDeltas: [-100, 3] })).toBeNull();
  });
});

describe('validateExemplar', () => {
  const ex = (e: Partial<DecodedExemplar>): DecodedExemplar => ({ seriesIndex: 0, labels: L({ trace_id: 'abc' }), value: 1, timestamp: 5, ...e });

  it('accepts a timestamped exemplar, with or without labels, with special values', () => {
    expect(validateExemplar(ex({}))).toBeNull();
    expect(validateExemplar(ex({ labels: [] }))).toBeNull();
    expect(validateExemplar(ex({ value: Number.NaN }))).toBeNull();
  });

  it('requires a timestamp and non-empty label names', () => {
    expect(validateExemplar(ex({ timestamp: 0 }))?.reason).toBe('invalid_exemplar');
    expect(validateExemplar(ex({ labels: L({ '': 'x' }) }))?.message).toContain('empty name');
  });

  it('limits labels to 128 characters in total, counting code points', () => {
    expect(validateExemplar(ex({ labels: L({ trace_id: 'a'.repeat(120) }) }))).toBeNull(); // 128
    expect(validateExemplar(ex({ labels: L({ trace_id: 'a'.repeat(121) }) }))?.reason).toBe('invalid_exemplar');
    expect(validateExemplar(ex({ labels: L({ trace_id: '😀'.repeat(120) }) }))).toBeNull(); // 240 UTF-16 units, 128 characters
  });

  it('returns what the decoder already found', () => {
    const error = { reason: 'invalid_label_ref' as const, message: 'bad ref' };
    expect(validateExemplar(ex({ error }))).toBe(error);
  });
});

describe('checkSampleTimestamp', () => {
  const now = 1_700_000_000_000;
  it('refuses samples too far in the future, and too old when maxAgeMs > 0', () => {
    expect(checkSampleTimestamp(now + 10 * 60_000, now, DEFAULT_WRITE_LIMITS)).toBeNull();
    expect(checkSampleTimestamp(now + 10 * 60_000 + 1, now, DEFAULT_WRITE_LIMITS)).toBe('too_far_in_future');
    expect(checkSampleTimestamp(0, now, DEFAULT_WRITE_LIMITS)).toBeNull();
    const aged = { ...DEFAULT_WRITE_LIMITS, maxAgeMs: 3_600_000 };
    expect(checkSampleTimestamp(now - 3_600_000, now, aged)).toBeNull();
    expect(checkSampleTimestamp(now - 3_600_001, now, aged)).toBe('too_old');
    expect(checkSampleTimestamp(2 ** 53, now, DEFAULT_WRITE_LIMITS)).toBe('timestamp_out_of_range');
  });
});

describe('checkSeriesContents', () => {
  const s = (sampleCount: number, histogramCount: number): DecodedSeries => ({ key: '', sampleStart: 0, sampleCount, histogramCount, exemplarCount: 0, error: null });
  it('2.0 series need samples or histograms, not both; 1.0 has no such rule', () => {
    expect(checkSeriesContents(s(0, 0), 2)).toBe('no_samples');
    expect(checkSeriesContents(s(1, 1), 2)).toBe('samples_and_histograms');
    expect(checkSeriesContents(s(1, 0), 2)).toBeNull();
    expect(checkSeriesContents(s(0, 2), 2)).toBeNull();
    expect(checkSeriesContents(s(0, 0), 1)).toBeNull();
  });
});
