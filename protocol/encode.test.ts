import { describe, expect, it } from 'vitest';
import {
  decodeHistogram,
  decodeLabelsV1,
  decodeWriteRequest,
  encodeHistogram,
  encodeLabelsV1,
  encodeSamplesV1,
  encodeWriteRequestV1,
  encodeWriteRequestV2,
  type HistogramInput,
  type WriteRequestInput,
} from './index.ts';
import { schema } from './schema.ts';

const req: WriteRequestInput = {
  series: [
    // Labels deliberately unsorted: the encoder keeps the caller's order.
    { labels: [{ name: 'job', value: 'a' }, { name: '__name__', value: 'x_total' }], samples: [{ value: 1, timestamp: 10, startTimestamp: 5 }], metadata: { type: 1, help: 'X.' } },
    { labels: [{ name: '__name__', value: 'x_total' }, { name: 'job', value: 'b' }], samples: [{ value: 2, timestamp: 10 }], metadata: { type: 1, help: 'X.' } },
    { labels: [{ name: '__name__', value: 'y' }], samples: [{ value: 3, timestamp: 10 }] },
    { labels: [{ name: '__name__', value: 'z' }], samples: [{ value: 4, timestamp: 10 }], metadata: { type: 2, help: 'Own.' } },
  ],
  metadata: [
    { metricFamilyName: 'y', type: 2, help: 'Y.', unit: 'bytes' },
    { metricFamilyName: 'z', type: 2, help: 'From the request.' },
  ],
};

describe('encoders', () => {
  it('1.0: request metadata plus series metadata (named by __name__) go to WriteRequest.metadata, deduplicated', () => {
    const msg = schema.WriteRequestV1.toObject(schema.WriteRequestV1.decode(encodeWriteRequestV1(req)), { defaults: true });
    expect(msg.metadata).toEqual([
      { type: 2, metric_family_name: 'y', help: 'Y.', unit: 'bytes' },
      { type: 2, metric_family_name: 'z', help: 'From the request.', unit: '' },
      { type: 1, metric_family_name: 'x_total', help: 'X.', unit: '' },
      { type: 2, metric_family_name: 'z', help: 'Own.', unit: '' },
    ]);
  });

  it('1.0 has no start timestamps; 2.0 sends them', () => {
    expect(decodeWriteRequest(1, encodeWriteRequestV1(req)).samples.startTimestamps[0]).toBe(0);
    expect(decodeWriteRequest(2, encodeWriteRequestV2(req)).samples.startTimestamps[0]).toBe(5);
  });

  it('2.0: request metadata is attached to series of that family without their own', () => {
    const d = decodeWriteRequest(2, encodeWriteRequestV2(req));
    expect(d.metadata).toEqual([
      { metricFamilyName: 'x_total', type: 1, help: 'X.', unit: '' },
      { metricFamilyName: 'y', type: 2, help: 'Y.', unit: 'bytes' },
      { metricFamilyName: 'z', type: 2, help: 'Own.', unit: '' },
    ]);
  });

  it('2.0: builds a deduplicated symbol table starting with ""', () => {
    const msg = schema.RequestV2.toObject(schema.RequestV2.decode(encodeWriteRequestV2(req)));
    expect(msg.symbols[0]).toBe('');
    expect(new Set(msg.symbols).size).toBe(msg.symbols.length);
    expect(msg.symbols.slice(0, 5)).toEqual(['', 'job', 'a', '__name__', 'x_total']);
  });

  it('keeps the label order given', () => {
    for (const v of [1, 2] as const) {
      const d = decodeWriteRequest(v, v === 1 ? encodeWriteRequestV1(req) : encodeWriteRequestV2(req));
      expect(d.labelsOf(0).map((l) => l.name)).toEqual(['job', '__name__']);
    }
  });

  it('refuses negative or NaN counts instead of writing garbage', () => {
    const bad: HistogramInput = { timestamp: 1, count: -1, sum: 0, schema: 0 };
    expect(() => encodeWriteRequestV1({ series: [{ labels: [], histograms: [bad] }] })).toThrow(RangeError);
    expect(() => encodeHistogram({ ...bad, count: Number.NaN })).toThrow(RangeError);
  });
});

describe('pre-encoded labels (encodeLabelsV1 / encodeSamplesV1)', () => {
  const series = [
    [{ name: '__name__', value: 'a' }],
    [{ name: '__name__', value: 'node_cpu_seconds_total' }, { name: 'cpu', value: '0' }, { name: 'mode', value: 'idle' }],
    // Non-ASCII (UTF-8 bytes held as latin1 chars), an empty value (the field left out), lengths ≥ 128.
    [{ name: '__name__', value: 'ünïcode_☃' }, { name: 'empty', value: '' }, { name: 'long', value: 'x'.repeat(300) }],
    [{ name: '__name__', value: 'y' }, { name: 'path', value: '/'.repeat(20_000) }],
  ];
  // Every value and timestamp proto3 treats specially: +0 and 0 are left out, -0 and NaN payloads are sent.
  const samples: Array<[number, number, number]> = [
    [0, 1.5, 1_700_000_000_000],
    [1, 0, 1_700_000_000_000],
    [1, -0, 1],
    [2, NaN, 0], // a stale marker: its payload is set in the Float64Array below
    [3, Infinity, -5],
    [0, NaN, 127],
    [2, -1e-300, 2 ** 52],
  ];

  it('writes the bytes encodeWriteRequestV1 writes for one series per sample, metadata included', () => {
    const keys = series.map((l) => encodeLabelsV1(l).toString('latin1'));
    const values = new Float64Array(samples.map((s) => s[1]));
    new BigUint64Array(values.buffer)[3] = 0x7ff0000000000002n; // a plain number[] would have quieted it
    const timestamps = new Float64Array(samples.map((s) => s[2]));
    const metadata = [{ metricFamilyName: 'a', type: 2 as const, help: 'A.', unit: 'seconds' }];
    const got = encodeSamplesV1(samples.length, (i) => keys[samples[i][0]], values, timestamps, metadata);
    const want = encodeWriteRequestV1({
      series: samples.map(([s, , timestamp], i) => ({ labels: series[s], samples: [{ value: values[i], timestamp }] })),
      metadata,
    });
    expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
    const decoded = decodeWriteRequest(1, got);
    expect(decoded.series).toHaveLength(samples.length);
    expect(Array.from(decoded.samples.timestamps)).toEqual(samples.map((s) => s[2]));
    const v = decoded.samples.values;
    expect(new BigUint64Array(v.buffer, v.byteOffset, samples.length)[3]).toBe(0x7ff0000000000002n);
    expect(Object.is(decoded.samples.values[2], -0)).toBe(true);
  });

  it('encodes an empty request as zero bytes', () => {
    expect(encodeSamplesV1(0, () => '', new Float64Array(0), new Float64Array(0))).toHaveLength(0);
  });

  it('decodeLabelsV1 gives back the labels (an empty value comes back empty)', () => {
    for (const labels of series) expect(decodeLabelsV1(encodeLabelsV1(labels))).toEqual(labels);
  });

  it('equal label lists, and only those, encode to equal bytes', () => {
    const a = encodeLabelsV1([{ name: 'ab', value: 'c' }]).toString('latin1');
    expect(encodeLabelsV1([{ name: 'ab', value: 'c' }]).toString('latin1')).toBe(a);
    expect(encodeLabelsV1([{ name: 'a', value: 'bc' }]).toString('latin1')).not.toBe(a);
    expect(encodeLabelsV1([{ name: 'a', value: 'b' }, { name: 'c', value: '' }]).toString('latin1')).not.toBe(a);
  });
});

describe('encodeHistogram / decodeHistogram', () => {
  const h: HistogramInput = {
    timestamp: -5,
    startTimestamp: 3,
    count: 2 ** 40,
    sum: -0,
    schema: -4,
    zeroThreshold: 0.5,
    zeroCount: 7,
    negativeSpans: [{ offset: -3, length: 1 }],
    negativeDeltas: [-(2 ** 40)],
    positiveSpans: [{ offset: 2 ** 31 - 1, length: 2 ** 32 - 1 }],
    positiveDeltas: [1, 2],
    resetHint: 1,
  };

  it('round-trips, with start_timestamp only in the 2.0 layout', () => {
    const v2 = decodeHistogram(encodeHistogram(h));
    expect(v2).toMatchObject({ ...h, isFloat: false, negativeCounts: [], positiveCounts: [], customValues: [] });
    expect(Object.is(v2.sum, -0)).toBe(true);
    expect(decodeHistogram(encodeHistogram(h, 1)).startTimestamp).toBe(0);
  });

  it('matches protobufjs’s view of the message', () => {
    const o = schema.HistogramV2.toObject(schema.HistogramV2.decode(encodeHistogram(h)), { longs: Number });
    expect(o).toMatchObject({ count_int: 2 ** 40, schema: -4, zero_count_int: 7, timestamp: -5, start_timestamp: 3, negative_deltas: [-(2 ** 40)], reset_hint: 1 });
    expect(o.positive_spans).toEqual([{ offset: 2 ** 31 - 1, length: 2 ** 32 - 1 }]);
  });
});
