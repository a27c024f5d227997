// Native histogram messages: reading (both decoders and storage's read path), writing (encoders).
// The Histogram message has the same fields 1..16 in 1.0 and 2.0; 2.0 adds start_timestamp (17).

import type { BucketSpan, DecodedHistogram, RemoteWriteVersion } from './types.ts';
import { BucketSpanField, HistogramField, Tag } from './fields.ts';
import { malformed, Reader, Writer, WireType } from './wire.ts';

/** A histogram without its place in a request: what decodeHistogram(raw) returns. */
export type NativeHistogram = Omit<DecodedHistogram, 'seriesIndex' | 'raw'>;

/** What the encoders accept. A NativeHistogram (or DecodedHistogram) is one. */
export interface HistogramInput {
  timestamp: number;
  /** 0 or absent = unset. Sent only in 2.0. */
  startTimestamp?: number;
  /** Float histogram (count_float, *_counts) when true; integer histogram (count_int, *_deltas) otherwise. */
  isFloat?: boolean;
  count: number;
  sum: number;
  schema: number;
  zeroThreshold?: number;
  zeroCount?: number;
  negativeSpans?: BucketSpan[];
  negativeDeltas?: number[];
  negativeCounts?: number[];
  positiveSpans?: BucketSpan[];
  positiveDeltas?: number[];
  positiveCounts?: number[];
  /** 0 unknown, 1 yes, 2 no, 3 gauge. */
  resetHint?: number;
  customValues?: number[];
}

/** Resets of the counter are hinted with these values (prompb ResetHint / v2 RESET_HINT_*). */
export const ResetHint = { UNKNOWN: 0, YES: 1, NO: 2, GAUGE: 3 } as const;

/** Reads a Histogram message body from r.pos up to `end` (r.end must already be ≥ end). */
export function readHistogram(r: Reader, end: number): NativeHistogram {
  const outerEnd = r.end;
  r.end = end;
  const h: NativeHistogram = {
    timestamp: 0,
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
  };
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case Tag.H_COUNT_INT:
        h.count = r.uint64();
        h.isFloat = false;
        break;
      case Tag.H_COUNT_FLOAT:
        h.count = r.double();
        h.isFloat = true;
        break;
      case Tag.H_SUM:
        h.sum = r.double();
        break;
      case Tag.H_SCHEMA:
        h.schema = r.sint32();
        break;
      case Tag.H_ZERO_THRESHOLD:
        h.zeroThreshold = r.double();
        break;
      case Tag.H_ZERO_COUNT_INT:
        h.zeroCount = r.uint64();
        break;
      case Tag.H_ZERO_COUNT_FLOAT:
        h.zeroCount = r.double();
        break;
      case Tag.H_NEGATIVE_SPANS:
        h.negativeSpans.push(readSpan(r, r.lenEnd()));
        break;
      case Tag.H_POSITIVE_SPANS:
        h.positiveSpans.push(readSpan(r, r.lenEnd()));
        break;
      case Tag.H_NEGATIVE_DELTAS_PACKED:
        readPackedSint64(r, r.lenEnd(), h.negativeDeltas);
        break;
      case Tag.H_NEGATIVE_DELTAS:
        h.negativeDeltas.push(r.sint64());
        break;
      case Tag.H_POSITIVE_DELTAS_PACKED:
        readPackedSint64(r, r.lenEnd(), h.positiveDeltas);
        break;
      case Tag.H_POSITIVE_DELTAS:
        h.positiveDeltas.push(r.sint64());
        break;
      case Tag.H_NEGATIVE_COUNTS_PACKED:
        readPackedDouble(r, r.lenEnd(), h.negativeCounts);
        break;
      case Tag.H_NEGATIVE_COUNTS:
        h.negativeCounts.push(r.double());
        break;
      case Tag.H_POSITIVE_COUNTS_PACKED:
        readPackedDouble(r, r.lenEnd(), h.positiveCounts);
        break;
      case Tag.H_POSITIVE_COUNTS:
        h.positiveCounts.push(r.double());
        break;
      case Tag.H_CUSTOM_VALUES_PACKED:
        readPackedDouble(r, r.lenEnd(), h.customValues);
        break;
      case Tag.H_CUSTOM_VALUES:
        h.customValues.push(r.double());
        break;
      case Tag.H_RESET_HINT:
        h.resetHint = r.uint32() | 0;
        break;
      case Tag.H_TIMESTAMP:
        h.timestamp = r.int64();
        break;
      case Tag.H_START_TIMESTAMP:
        h.startTimestamp = r.int64();
        break;
      default:
        r.skip(tag);
    }
  }
  r.end = outerEnd;
  return h;
}

function readSpan(r: Reader, end: number): BucketSpan {
  const outerEnd = r.end;
  r.end = end;
  let offset = 0;
  let length = 0;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === Tag.SPAN_OFFSET) offset = r.sint32();
    else if (tag === Tag.SPAN_LENGTH) length = r.uint32();
    else r.skip(tag);
  }
  r.end = outerEnd;
  return { offset, length };
}

function readPackedSint64(r: Reader, end: number, out: number[]): void {
  const outerEnd = r.end;
  r.end = end;
  while (r.pos < end) out.push(r.sint64());
  r.end = outerEnd;
}

function readPackedDouble(r: Reader, end: number, out: number[]): void {
  if ((end - r.pos) % 8 !== 0) throw malformed('packed doubles not a multiple of 8 bytes', r.pos);
  while (r.pos < end) out.push(r.double());
}

/**
 * Decodes the bytes of one Histogram message, e.g. DecodedHistogram.raw as storage keeps it.
 * Throws ProtocolError('malformed_protobuf') on malformed input.
 */
export function decodeHistogram(raw: Uint8Array): NativeHistogram {
  const r = new Reader(raw);
  return readHistogram(r, raw.length);
}

/** Writes a Histogram message body (no tag or length). Fields at their proto3 default are omitted. */
export function writeHistogram(w: Writer, h: HistogramInput, version: RemoteWriteVersion): void {
  const { VARINT, I64 } = WireType;
  // The count and zero-count oneofs are always written (a set oneof is sent even when zero) so the
  // receiver can tell an integer histogram from a float one.
  if (h.isFloat) {
    w.tag(HistogramField.COUNT_FLOAT, I64);
    w.double(h.count);
  } else {
    w.tag(HistogramField.COUNT_INT, VARINT);
    w.varint(h.count);
  }
  if (!isZeroBits(h.sum)) {
    w.tag(HistogramField.SUM, I64);
    w.double(h.sum);
  }
  if (h.schema !== 0) {
    w.tag(HistogramField.SCHEMA, VARINT);
    w.sint32(h.schema);
  }
  if (h.zeroThreshold !== undefined && !isZeroBits(h.zeroThreshold)) {
    w.tag(HistogramField.ZERO_THRESHOLD, I64);
    w.double(h.zeroThreshold);
  }
  const zeroCount = h.zeroCount ?? 0;
  if (h.isFloat) {
    w.tag(HistogramField.ZERO_COUNT_FLOAT, I64);
    w.double(zeroCount);
  } else {
    w.tag(HistogramField.ZERO_COUNT_INT, VARINT);
    w.varint(zeroCount);
  }
  writeSpans(w, HistogramField.NEGATIVE_SPANS, h.negativeSpans);
  if (h.isFloat) writePackedDoubles(w, HistogramField.NEGATIVE_COUNTS, h.negativeCounts);
  else writePackedSint64(w, HistogramField.NEGATIVE_DELTAS, h.negativeDeltas);
  writeSpans(w, HistogramField.POSITIVE_SPANS, h.positiveSpans);
  if (h.isFloat) writePackedDoubles(w, HistogramField.POSITIVE_COUNTS, h.positiveCounts);
  else writePackedSint64(w, HistogramField.POSITIVE_DELTAS, h.positiveDeltas);
  if (h.resetHint) {
    w.tag(HistogramField.RESET_HINT, VARINT);
    w.varint(h.resetHint);
  }
  if (h.timestamp !== 0) {
    w.tag(HistogramField.TIMESTAMP, VARINT);
    w.int64(h.timestamp);
  }
  writePackedDoubles(w, HistogramField.CUSTOM_VALUES, h.customValues);
  if (version === 2 && h.startTimestamp) {
    w.tag(HistogramField.START_TIMESTAMP, VARINT);
    w.int64(h.startTimestamp);
  }
}

function writeSpans(w: Writer, field: number, spans: BucketSpan[] | undefined): void {
  if (!spans) return;
  for (const s of spans) {
    w.tag(field, WireType.LEN);
    const m = w.beginLen();
    if (s.offset !== 0) {
      w.tag(BucketSpanField.OFFSET, WireType.VARINT);
      w.sint32(s.offset);
    }
    if (s.length !== 0) {
      w.tag(BucketSpanField.LENGTH, WireType.VARINT);
      w.varint(s.length);
    }
    w.endLen(m);
  }
}

function writePackedSint64(w: Writer, field: number, values: number[] | undefined): void {
  if (!values || values.length === 0) return;
  w.tag(field, WireType.LEN);
  const m = w.beginLen();
  for (const v of values) w.sint64(v);
  w.endLen(m);
}

function writePackedDoubles(w: Writer, field: number, values: number[] | undefined): void {
  if (!values || values.length === 0) return;
  w.tag(field, WireType.LEN);
  w.varint(values.length * 8);
  for (const v of values) w.double(v);
}

/** proto3 omits a double only when its bits are all zero (so -0 and NaN are still sent). */
function isZeroBits(v: number): boolean {
  return v === 0 && !Object.is(v, -0);
}

/** Encodes one Histogram message (2.0 layout by default, which adds start_timestamp; 1.0 readers skip it). */
export function encodeHistogram(h: HistogramInput, version: RemoteWriteVersion = 2): Uint8Array {
  const w = new Writer(256);
  writeHistogram(w, h, version);
  return w.finish();
}
