import { describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import {
  decodeHistogram,
  decodeWriteRequest,
  encodeHistogram,
  encodeWriteRequestV1,
  encodeWriteRequestV2,
  isStaleNaN,
  ProtocolError,
  STALE_NAN,
  STALE_NAN_BITS,
  type DecodedWriteRequest,
  type HistogramInput,
  type RemoteWriteVersion,
  type WriteRequestInput,
} from './index.ts';
import { makeSchema, schema, toProtobufjsV2 } from './schema.ts';
import { Reader, Writer, WireType } from './wire.ts';
import { cadvisorRequest, randomRequest, rng } from './fixtures.ts';

// Through an element store, never `new Float64Array([x])`: the array literal would quiet a NaN.
const scratch = new Float64Array(1);
const bitsOf = (x: number): bigint => {
  scratch[0] = x;
  return new BigUint64Array(scratch.buffer)[0];
};
const valueBits = (d: DecodedWriteRequest, i: number): bigint =>
  new BigUint64Array(d.samples.values.buffer, d.samples.values.byteOffset + i * 8, 1)[0];

function encode(version: RemoteWriteVersion, req: WriteRequestInput): Uint8Array {
  return version === 1 ? encodeWriteRequestV1(req) : encodeWriteRequestV2(req);
}

/** The histogram as the decoder must return it for this input and version. */
function expectedHistogram(h: HistogramInput, version: RemoteWriteVersion) {
  return {
    timestamp: h.timestamp,
    startTimestamp: version === 2 ? (h.startTimestamp ?? 0) : 0,
    isFloat: h.isFloat ?? false,
    count: h.count,
    sum: h.sum,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold ?? 0,
    zeroCount: h.zeroCount ?? 0,
    negativeSpans: h.negativeSpans ?? [],
    negativeDeltas: h.isFloat ? [] : (h.negativeDeltas ?? []),
    negativeCounts: h.isFloat ? (h.negativeCounts ?? []) : [],
    positiveSpans: h.positiveSpans ?? [],
    positiveDeltas: h.isFloat ? [] : (h.positiveDeltas ?? []),
    positiveCounts: h.isFloat ? (h.positiveCounts ?? []) : [],
    resetHint: h.resetHint ?? 0,
    customValues: h.customValues ?? [],
  };
}

/** Asserts a decoded request carries exactly the input's data. */
function expectMatches(d: DecodedWriteRequest, req: WriteRequestInput, version: RemoteWriteVersion, rawAsEncoded = true): void {
  expect(d.version).toBe(version);
  expect(d.series).toHaveLength(req.series.length);
  let sampleIndex = 0;
  for (let i = 0; i < req.series.length; i++) {
    const s = req.series[i];
    const ds = d.series[i];
    expect(ds.error).toBeNull();
    expect(d.labelsOf(i)).toEqual(s.labels);
    const samples = s.samples ?? [];
    expect(ds.sampleStart).toBe(sampleIndex);
    expect(ds.sampleCount).toBe(samples.length);
    for (const x of samples) {
      expect(d.samples.series[sampleIndex]).toBe(i);
      expect(d.samples.timestamps[sampleIndex]).toBe(x.timestamp);
      expect(d.samples.startTimestamps[sampleIndex]).toBe(version === 2 ? (x.startTimestamp ?? 0) : 0);
      expect(valueBits(d, sampleIndex)).toBe(bitsOf(x.value));
      sampleIndex++;
    }
    const hs = d.histograms.filter((h) => h.seriesIndex === i);
    expect(ds.histogramCount).toBe(s.histograms?.length ?? 0);
    expect(hs).toHaveLength(s.histograms?.length ?? 0);
    hs.forEach((h, k) => {
      const { seriesIndex, raw, ...fields } = h;
      void seriesIndex;
      const want = expectedHistogram(s.histograms![k], version);
      expect(fields).toEqual(want);
      expect(bitsOf(fields.sum)).toBe(bitsOf(want.sum));
      // raw is exactly the Histogram message as sent.
      if (rawAsEncoded) expect(Buffer.from(raw).equals(Buffer.from(encodeHistogram(s.histograms![k], version)))).toBe(true);
      const { startTimestamp, ...rest } = decodeHistogram(raw);
      const { startTimestamp: wantStart, ...wantRest } = want;
      expect(rest).toEqual(wantRest);
      if (version === 2) expect(startTimestamp).toBe(wantStart);
    });
    const es = d.exemplars.filter((e) => e.seriesIndex === i);
    expect(ds.exemplarCount).toBe(s.exemplars?.length ?? 0);
    expect(es.map((e) => ({ labels: e.labels, timestamp: e.timestamp, error: e.error }))).toEqual(
      (s.exemplars ?? []).map((e) => ({ labels: e.labels, timestamp: e.timestamp, error: null })),
    );
    es.forEach((e, k) => expect(bitsOf(e.value)).toBe(bitsOf(s.exemplars![k].value)));
  }
  expect(d.samples.length).toBe(sampleIndex);
}

const histInt: HistogramInput = {
  timestamp: 1_700_000_000_123,
  startTimestamp: 1_699_999_000_000,
  count: 27,
  sum: 41.5,
  schema: 3,
  zeroThreshold: 1e-128,
  zeroCount: 2,
  negativeSpans: [{ offset: -2, length: 2 }],
  negativeDeltas: [3, -1],
  positiveSpans: [
    { offset: 0, length: 3 },
    { offset: 4, length: 2 },
  ],
  positiveDeltas: [5, 1, -3, 4, -2],
  resetHint: 2,
};
const histFloat: HistogramInput = {
  timestamp: 1_700_000_000_456,
  isFloat: true,
  count: 12.5,
  sum: Number.NaN,
  schema: -2,
  zeroCount: 0.5,
  positiveSpans: [{ offset: 1, length: 2 }],
  positiveCounts: [4.25, 7.75],
  resetHint: 3,
};
const histCustom: HistogramInput = {
  timestamp: 1_700_000_000_789,
  startTimestamp: 5,
  count: 9,
  sum: 3.25,
  schema: -53,
  positiveSpans: [{ offset: 0, length: 3 }],
  positiveDeltas: [2, 3, -1],
  customValues: [0.1, 0.5, 1],
};

const fullRequest: WriteRequestInput = {
  series: [
    {
      labels: [
        { name: '__name__', value: 'http_requests_total' },
        { name: 'job', value: 'api' },
        { name: 'path', value: '/ünïcødé/😀' },
      ],
      samples: [
        { value: 1, timestamp: 1_700_000_000_000, startTimestamp: 1_690_000_000_000 },
        { value: STALE_NAN, timestamp: 1_700_000_015_000 },
        { value: -0, timestamp: 1_700_000_030_000 },
        { value: Infinity, timestamp: -1 },
        { value: 0, timestamp: 0 },
      ],
      exemplars: [
        { labels: [{ name: 'trace_id', value: 'abc123' }], value: 0.25, timestamp: 1_700_000_000_001 },
        { labels: [], value: STALE_NAN, timestamp: 1_700_000_000_002 },
      ],
      metadata: { type: 1, help: 'Requests.', unit: '' },
    },
    {
      labels: [{ name: '__name__', value: 'latency' }],
      histograms: [histInt, histFloat],
      metadata: { type: 3, help: 'Latency.', unit: 'seconds' },
    },
    { labels: [{ name: '__name__', value: 'nhcb' }], histograms: [histCustom] },
    { labels: [], samples: [{ value: 2, timestamp: 1 }] },
  ],
};

describe.each([1, 2] as const)('remote-write %s.0 round trip', (version) => {
  it('decodes what the encoder wrote: samples, histograms (int, float, custom), exemplars', () => {
    const d = decodeWriteRequest(version, encode(version, fullRequest));
    expectMatches(d, fullRequest, version);
  });

  it('keeps the stale marker bit pattern (0x7ff0000000000002) exactly', () => {
    const d = decodeWriteRequest(version, encode(version, fullRequest));
    expect(valueBits(d, 1)).toBe(STALE_NAN_BITS);
    expect(isStaleNaN(d.samples.values[1])).toBe(true);
    expect(isStaleNaN(Number.NaN)).toBe(false);
    expect(isStaleNaN(d.samples.values[0])).toBe(false);
    // A NaN quieted by a number[] is not the marker any more: why values are copied as bytes.
    const quieted = [1.5, STALE_NAN][1];
    expect(bitsOf(quieted)).not.toBe(STALE_NAN_BITS);
    expect(bitsOf(d.exemplars[1].value)).toBe(STALE_NAN_BITS);
  });

  it('collects metadata, deduplicated, named by the series', () => {
    const req: WriteRequestInput = {
      series: [
        ...fullRequest.series,
        // Same family and metadata again: one entry.
        { labels: [{ name: '__name__', value: 'http_requests_total' }, { name: 'job', value: 'b' }], samples: [{ value: 1, timestamp: 2 }], metadata: { type: 1, help: 'Requests.' } },
      ],
    };
    const d = decodeWriteRequest(version, encode(version, req));
    expect(d.metadata).toEqual([
      { metricFamilyName: 'http_requests_total', type: 1, help: 'Requests.', unit: '' },
      { metricFamilyName: 'latency', type: 3, help: 'Latency.', unit: 'seconds' },
    ]);
  });

  it('round-trips 200 random requests using every field', () => {
    const r = rng(version * 1000 + 1);
    for (let k = 0; k < 200; k++) {
      const req = randomRequest(r, { v2: version === 2 });
      expectMatches(decodeWriteRequest(version, encode(version, req)), req, version);
    }
  });

  it('gives equal keys to equal label lists and different keys to different ones', () => {
    const req = cadvisorRequest(64, 1);
    req.series.push({ labels: req.series[5].labels.map((l) => ({ ...l })), samples: [{ value: 1, timestamp: 1 }] });
    const d = decodeWriteRequest(version, encode(version, req));
    const keys = d.series.map((s) => s.key);
    expect(keys[64]).toBe(keys[5]);
    expect(new Set(keys.slice(0, 64)).size).toBe(64);
    // Keys are stable across requests (they are built from bytes, not request-local refs).
    const d2 = decodeWriteRequest(version, encode(version, { series: [req.series[5]] }));
    expect(d2.series[0].key).toBe(keys[5]);
  });

  it('decodes an empty request', () => {
    const d = decodeWriteRequest(version, new Uint8Array(0));
    expect(d.series).toEqual([]);
    expect(d.samples.length).toBe(0);
    expect(d.metadata).toEqual([]);
  });

  it('preserves a leading BOM and other unusual but valid UTF-8', () => {
    const labels = [
      { name: '__name__', value: '\u{FEFF}bom' },
      { name: 'le', value: '\u{10FFFF}\u0000\uFFFD' },
    ];
    const d = decodeWriteRequest(version, encode(version, { series: [{ labels, samples: [{ value: 1, timestamp: 1 }] }] }));
    expect(d.labelsOf(0)).toEqual(labels);
  });

  it('accepts a Uint8Array that is a view into a larger buffer', () => {
    const bytes = encode(version, fullRequest);
    const big = new Uint8Array(bytes.length + 20);
    big.set(bytes, 7);
    const d = decodeWriteRequest(version, big.subarray(7, 7 + bytes.length));
    expectMatches(d, fullRequest, version);
  });
});

// ---------------------------------------------------------------------------------------------------
// Unknown fields

const UNKNOWN_FIELDS = (w: Writer) => {
  w.tag(1000, WireType.VARINT);
  w.varint(150);
  w.tag(1001, WireType.I64);
  w.double(1.5);
  w.tag(1002, WireType.LEN);
  w.string('junk');
  w.tag(1003, WireType.I32);
  w.fixed32(0xdeadbeef);
  w.tag(1004, WireType.VARINT);
  w.int64(-5); // a 10-byte varint
};

/** Re-encodes a message with unknown fields of every wire type at the start and end of every (nested) message. */
function injectUnknown(type: protobuf.Type, bytes: Uint8Array): Uint8Array {
  const r = new Reader(bytes);
  const w = new Writer(bytes.length * 2 + 64);
  UNKNOWN_FIELDS(w);
  while (r.pos < bytes.length) {
    const start = r.pos;
    const tag = r.tag();
    const field = type.fieldsById[tag >>> 3];
    if (field && field.resolvedType instanceof protobuf.Type && (tag & 7) === WireType.LEN) {
      const end = r.lenEnd();
      w.tag(field.id, WireType.LEN);
      w.bytes(injectUnknown(field.resolvedType, bytes.subarray(r.pos, end)));
      r.pos = end;
    } else {
      r.skip(tag);
      w.ensure(r.pos - start);
      w.buf.set(bytes.subarray(start, r.pos), w.pos);
      w.pos += r.pos - start;
    }
  }
  UNKNOWN_FIELDS(w);
  return w.finish();
}

describe('unknown fields', () => {
  it.each([1, 2] as const)('are skipped at every level of a %s.0 request', (version) => {
    const bytes = encode(version, fullRequest);
    const injected = injectUnknown(version === 1 ? schema.WriteRequestV1 : schema.RequestV2, bytes);
    expect(injected.length).toBeGreaterThan(bytes.length + 500);
    // protobufjs agrees the injected message is the same message.
    const type = version === 1 ? schema.WriteRequestV1 : schema.RequestV2;
    expect(type.toObject(type.decode(injected))).toEqual(type.toObject(type.decode(bytes)));
    const a = decodeWriteRequest(version, bytes);
    const b = decodeWriteRequest(version, injected);
    for (let i = 0; i < a.series.length; i++) {
      expect(b.labelsOf(i)).toEqual(a.labelsOf(i));
      expect({ ...b.series[i], key: '' }).toEqual({ ...a.series[i], key: '' });
    }
    if (version === 2) expect(b.series.map((s) => s.key)).toEqual(a.series.map((s) => s.key));
    expect(Array.from(b.samples.timestamps)).toEqual(Array.from(a.samples.timestamps));
    expect(Buffer.from(b.samples.values.buffer, b.samples.values.byteOffset, b.samples.length * 8)).toEqual(
      Buffer.from(a.samples.values.buffer, a.samples.values.byteOffset, a.samples.length * 8),
    );
    expect(b.histograms.map(({ raw, ...h }) => (void raw, h))).toEqual(a.histograms.map(({ raw, ...h }) => (void raw, h)));
    expect(b.exemplars).toEqual(a.exemplars);
    expect(b.metadata).toEqual(a.metadata);
  });
});

// ---------------------------------------------------------------------------------------------------
// 1.0 specifics

describe('1.0 decoder', () => {
  it('handles labels interleaved with samples: all labels, and the same key as contiguous labels', () => {
    const label = (w: Writer, name: string, value: string) => {
      w.tag(1, WireType.LEN);
      const m = w.beginLen();
      w.tag(1, WireType.LEN);
      w.string(name);
      w.tag(2, WireType.LEN);
      w.string(value);
      w.endLen(m);
    };
    const sample = (w: Writer, v: number, ts: number) => {
      w.tag(2, WireType.LEN);
      const m = w.beginLen();
      w.tag(1, WireType.I64);
      w.double(v);
      w.tag(2, WireType.VARINT);
      w.int64(ts);
      w.endLen(m);
    };
    const w = new Writer();
    w.tag(1, WireType.LEN);
    let m = w.beginLen();
    label(w, '__name__', 'up');
    sample(w, 1, 10);
    label(w, 'job', 'a');
    sample(w, 2, 20);
    label(w, 'zone', 'z');
    w.endLen(m);
    w.tag(1, WireType.LEN);
    m = w.beginLen();
    label(w, '__name__', 'up');
    label(w, 'job', 'a');
    label(w, 'zone', 'z');
    sample(w, 3, 30);
    w.endLen(m);
    const d = decodeWriteRequest(1, w.finish());
    const want = [
      { name: '__name__', value: 'up' },
      { name: 'job', value: 'a' },
      { name: 'zone', value: 'z' },
    ];
    expect(d.labelsOf(0)).toEqual(want);
    expect(d.labelsOf(1)).toEqual(want);
    expect(d.series[0].key).toBe(d.series[1].key);
    expect(d.series[0].sampleCount).toBe(2);
    expect(Array.from(d.samples.values)).toEqual([1, 2, 3]);
  });

  it('reports invalid UTF-8 from labelsOf() for that series only', () => {
    const good = encodeWriteRequestV1({ series: [{ labels: [{ name: '__name__', value: 'ok' }], samples: [{ value: 1, timestamp: 1 }] }] });
    const bad = encodeWriteRequestV1({ series: [{ labels: [{ name: '__name__', value: 'b\u00e9d' }], samples: [{ value: 1, timestamp: 1 }] }] });
    // Corrupt the é (c3 a9) into c3 28: not UTF-8.
    const i = Buffer.from(bad).indexOf(Buffer.from([0xc3, 0xa9]));
    bad[i + 1] = 0x28;
    const d = decodeWriteRequest(1, Buffer.concat([good, bad]));
    expect(d.labelsOf(0)).toEqual([{ name: '__name__', value: 'ok' }]);
    const err = catchError(() => d.labelsOf(1));
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('invalid_utf8');
    expect((err as ProtocolError).message).toContain('\\xc3(');
  });

  it('marks a series whose timestamp is beyond ±2^53 and keeps the others', () => {
    const w = new Writer();
    w.tag(1, WireType.LEN);
    const m = w.beginLen();
    w.tag(1, WireType.LEN);
    const lm = w.beginLen();
    w.tag(1, WireType.LEN);
    w.string('__name__');
    w.tag(2, WireType.LEN);
    w.string('big');
    w.endLen(lm);
    w.tag(2, WireType.LEN);
    const sm = w.beginLen();
    w.tag(2, WireType.VARINT);
    w.varintParts(1, 0x200000); // 2^53 + 1
    w.endLen(sm);
    w.endLen(m);
    const ok = encodeWriteRequestV1({ series: [{ labels: [{ name: '__name__', value: 'ok' }], samples: [{ value: 1, timestamp: -(2 ** 53 - 1) }] }] });
    const d = decodeWriteRequest(1, Buffer.concat([w.finish(), ok]));
    expect(d.series[0].error?.reason).toBe('timestamp_out_of_range');
    expect(d.series[1].error).toBeNull();
    expect(d.samples.timestamps[1]).toBe(-(2 ** 53 - 1));
    expect(d.labelsOf(0)).toEqual([{ name: '__name__', value: 'big' }]);
  });

  it('ignores a start timestamp (field 17) in a 1.0 histogram and keeps 1.0 metadata types', () => {
    const d = decodeWriteRequest(1, encodeWriteRequestV1({ series: [{ labels: [{ name: '__name__', value: 'h' }], histograms: [histInt] }] }));
    expect(d.histograms[0].startTimestamp).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------
// 2.0 specifics

function v2(obj: Record<string, unknown>, s = schema): Uint8Array {
  return s.RequestV2.encode(obj).finish();
}

describe('2.0 decoder', () => {
  it('accepts unpacked labels_refs (and unpacked histogram deltas/counts)', () => {
    const unpacked = makeSchema({ unpacked: true });
    const obj = toProtobufjsV2(fullRequest);
    const packedBytes = schema.RequestV2.encode(obj).finish();
    const unpackedBytes = unpacked.RequestV2.encode(obj).finish();
    expect(Buffer.from(unpackedBytes).equals(Buffer.from(packedBytes))).toBe(false);
    const a = decodeWriteRequest(2, packedBytes);
    const b = decodeWriteRequest(2, unpackedBytes);
    expectMatches(b, fullRequest, 2, false);
    expect(b.series.map((s) => s.key)).toEqual(a.series.map((s) => s.key));
  });

  it('applies a legacy TimeSeries.created_timestamp (field 6) to samples and histograms without a start timestamp', () => {
    const legacy = makeSchema({ legacyCreatedTimestamp: true });
    const obj = toProtobufjsV2(fullRequest);
    obj.timeseries[0].created_timestamp = 1_600_000_000_000;
    obj.timeseries[1].created_timestamp = 1_600_000_000_001;
    const d = decodeWriteRequest(2, v2(obj, legacy));
    // Series 0: the first sample has its own start timestamp; the rest take the legacy one.
    expect(Array.from(d.samples.startTimestamps.subarray(0, 5))).toEqual([1_690_000_000_000, 1_600_000_000_000, 1_600_000_000_000, 1_600_000_000_000, 1_600_000_000_000]);
    // Series 1: histInt has its own; histFloat had none.
    expect(d.histograms[0].startTimestamp).toBe(histInt.startTimestamp);
    expect(d.histograms[1].startTimestamp).toBe(1_600_000_000_001);
    // Series 2 had no field 6.
    expect(d.histograms[2].startTimestamp).toBe(histCustom.startTimestamp);
    expect(d.samples.startTimestamps[5]).toBe(0);
  });

  it('requires symbols[0] to be the empty string', () => {
    const err = catchError(() => decodeWriteRequest(2, v2({ symbols: ['__name__', 'x'], timeseries: [{ labels_refs: [0, 1] }] })));
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('malformed_protobuf');
    expect((err as Error).message).toContain('symbols[0]');
  });

  it('marks series with refs out of range or an odd ref count, and decodes the rest', () => {
    const bytes = v2({
      symbols: ['', '__name__', 'up', 'job'],
      timeseries: [
        { labels_refs: [1, 2, 3, 9], samples: [{ value: 1, timestamp: 1 }] },
        { labels_refs: [1, 2, 3], samples: [{ value: 2, timestamp: 2 }] },
        { labels_refs: [1, 2], samples: [{ value: 3, timestamp: 3 }] },
      ],
    });
    const d = decodeWriteRequest(2, bytes);
    expect(d.series[0].error?.reason).toBe('invalid_label_ref');
    expect(d.series[0].error?.message).toContain('9');
    expect(d.series[1].error?.reason).toBe('invalid_label_ref');
    expect(d.series[1].error?.message).toContain('odd');
    expect(d.series[2].error).toBeNull();
    expect(d.labelsOf(2)).toEqual([{ name: '__name__', value: 'up' }]);
    expect(d.series[0].key).not.toBe(d.series[2].key);
    expect((catchError(() => d.labelsOf(0)) as ProtocolError).code).toBe('invalid_label_ref');
    expect(d.samples.length).toBe(3);
  });

  it('treats a ref wider than 32 bits as out of range (no truncation aliasing)', () => {
    const w = new Writer();
    for (const s of ['', '__name__', 'up']) {
      w.tag(4, WireType.LEN);
      w.string(s);
    }
    w.tag(5, WireType.LEN);
    const m = w.beginLen();
    w.tag(1, WireType.LEN);
    const rm = w.beginLen();
    w.varint(1);
    w.varint(2 ** 32 + 2); // would alias ref 2 if truncated to uint32
    w.endLen(rm);
    w.endLen(m);
    expect(decodeWriteRequest(2, w.finish()).series[0].error?.reason).toBe('invalid_label_ref');
  });

  it('marks exemplars with bad refs without rejecting their series', () => {
    const d = decodeWriteRequest(
      2,
      v2({
        symbols: ['', '__name__', 'up', 'trace_id', 'abc'],
        timeseries: [
          {
            labels_refs: [1, 2],
            samples: [{ value: 1, timestamp: 1 }],
            exemplars: [
              { labels_refs: [3, 4], value: 1, timestamp: 5 },
              { labels_refs: [3, 40], value: 1, timestamp: 6 },
              { labels_refs: [3], value: 1, timestamp: 7 },
            ],
          },
        ],
      }),
    );
    expect(d.series[0].error).toBeNull();
    expect(d.exemplars.map((e) => e.error?.reason ?? null)).toEqual([null, 'invalid_label_ref', 'invalid_label_ref']);
    expect(d.exemplars[0].labels).toEqual([{ name: 'trace_id', value: 'abc' }]);
  });

  it('marks a series using a symbol with byte 0xff as invalid UTF-8 (so its key cannot alias a valid one)', () => {
    const w = new Writer();
    const syms = [Buffer.from(''), Buffer.from('__name__'), Buffer.from([0x61, 0xff, 0x62]), Buffer.from('a'), Buffer.from('b')];
    for (const s of syms) {
      w.tag(4, WireType.LEN);
      w.bytes(s);
    }
    for (const refs of [[1, 2], [1, 3, 4, 0]]) {
      w.tag(5, WireType.LEN);
      const m = w.beginLen();
      w.tag(1, WireType.LEN);
      const rm = w.beginLen();
      for (const r of refs) w.varint(r);
      w.endLen(rm);
      w.endLen(m);
    }
    const d = decodeWriteRequest(2, w.finish());
    expect(d.series[0].error?.reason).toBe('invalid_utf8');
    expect(d.series[1].error).toBeNull();
    expect((catchError(() => d.labelsOf(0)) as ProtocolError).code).toBe('invalid_utf8');
  });

  it('throws invalid_utf8 from labelsOf() for a symbol that is not UTF-8', () => {
    const w = new Writer();
    for (const s of [Buffer.from(''), Buffer.from('__name__'), Buffer.from([0xc3, 0x28])]) {
      w.tag(4, WireType.LEN);
      w.bytes(s);
    }
    w.tag(5, WireType.LEN);
    const m = w.beginLen();
    w.tag(1, WireType.VARINT);
    w.varint(1);
    w.tag(1, WireType.VARINT);
    w.varint(2);
    w.endLen(m);
    const d = decodeWriteRequest(2, w.finish());
    expect(d.series[0].error).toBeNull();
    const err = catchError(() => d.labelsOf(0)) as ProtocolError;
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.code).toBe('invalid_utf8');
  });

  it('resolves per-series metadata: family = __name__, deduplicated, all-empty UNSPECIFIED skipped', () => {
    const d = decodeWriteRequest(
      2,
      v2({
        symbols: ['', '__name__', 'a_total', 'b', 'Help A.', 'seconds', 'job', 'x', 'y', 'Help A.'],
        timeseries: [
          { labels_refs: [1, 2, 6, 7], samples: [{ value: 1, timestamp: 1 }], metadata: { type: 1, help_ref: 4 } },
          { labels_refs: [1, 2, 6, 8], samples: [{ value: 1, timestamp: 1 }], metadata: { type: 1, help_ref: 4 } },
          // Same strings through a duplicate symbol: still one entry.
          { labels_refs: [6, 7, 1, 2], samples: [{ value: 1, timestamp: 1 }], metadata: { type: 1, help_ref: 9 } },
          { labels_refs: [1, 3], samples: [{ value: 1, timestamp: 1 }], metadata: {} },
          { labels_refs: [1, 3], samples: [{ value: 1, timestamp: 1 }], metadata: { type: 0, unit_ref: 5 } },
          { labels_refs: [6, 7], samples: [{ value: 1, timestamp: 1 }], metadata: { type: 2, help_ref: 4 } },
          { labels_refs: [1, 2], samples: [{ value: 1, timestamp: 1 }], metadata: { type: 2, help_ref: 40 } },
        ],
      }),
    );
    expect(d.metadata).toEqual([
      { metricFamilyName: 'a_total', type: 1, help: 'Help A.', unit: '' },
      { metricFamilyName: 'b', type: 0, help: '', unit: 'seconds' },
    ]);
    expect(d.series[6].error?.reason).toBe('invalid_label_ref');
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}
