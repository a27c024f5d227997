// DecodedWriteRequest objects built by hand, for storage tests that must not depend on the wire decoders
// and that need exact control: value bit patterns (written into the Float64Array through a BigUint64Array
// view, so no NaN ever passes through a JS number), series errors, labels in any order, unreadable labels.

import { encodeHistogram, ProtocolError, type HistogramInput } from '../../protocol/index.ts';
import type { DecodedExemplar, DecodedHistogram, DecodedMetadata, DecodedWriteRequest, Label, Rejection, RemoteWriteVersion } from '../../protocol/types.ts';

/** The stale marker. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

/** A value given as a number, or as its exact IEEE-754 bits. */
export type ValueSpec = number | { bits: bigint };

export interface SampleSpec {
  ts: number;
  value: ValueSpec;
  startTs?: number;
}

export interface SeriesSpec {
  /** Labels as sent (order kept); an object is taken in its key order. */
  labels: Label[] | Record<string, string>;
  samples?: SampleSpec[];
  histograms?: HistogramInput[];
  exemplars?: Array<{ labels: Label[] | Record<string, string>; value: number; timestamp: number; error?: Rejection | null }>;
  /** As set by a decoder that already refused the series. */
  error?: Rejection;
  /** labelsOf() throws ProtocolError('invalid_utf8'). */
  unreadable?: boolean;
  /** Cache key; defaults to the JSON of the labels as sent. */
  key?: string;
}

export function toLabels(labels: Label[] | Record<string, string>): Label[] {
  return Array.isArray(labels) ? labels.map((l) => ({ ...l })) : Object.entries(labels).map(([name, value]) => ({ name, value }));
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

export function bitsOf(x: number): bigint {
  f64[0] = x;
  return u64[0];
}

/** Bits of element i of a Float64Array, read from its memory. */
export function bitsAt(values: Float64Array, i: number): bigint {
  return new BigUint64Array(values.buffer, values.byteOffset, values.length)[i];
}

export function decodedRequest(specs: SeriesSpec[], options: { version?: RemoteWriteVersion; metadata?: DecodedMetadata[] } = {}): DecodedWriteRequest {
  const version = options.version ?? 2;
  const total = specs.reduce((n, s) => n + (s.samples?.length ?? 0), 0);
  const timestamps = new Float64Array(total);
  const values = new Float64Array(total);
  const valueBits = new BigUint64Array(values.buffer);
  const startTimestamps = new Float64Array(total);
  const seriesOf = new Uint32Array(total);
  const histograms: DecodedHistogram[] = [];
  const exemplars: DecodedExemplar[] = [];
  let j = 0;
  const series = specs.map((s, i) => {
    const sampleStart = j;
    for (const sample of s.samples ?? []) {
      timestamps[j] = sample.ts;
      if (typeof sample.value === 'number') values[j] = sample.value;
      else valueBits[j] = sample.value.bits;
      startTimestamps[j] = sample.startTs ?? 0;
      seriesOf[j] = i;
      j++;
    }
    for (const h of s.histograms ?? []) {
      histograms.push({
        seriesIndex: i,
        timestamp: h.timestamp,
        startTimestamp: h.startTimestamp ?? 0,
        isFloat: h.isFloat ?? false,
        count: h.count,
        sum: h.sum,
        schema: h.schema,
        zeroThreshold: h.zeroThreshold ?? 0,
        zeroCount: h.zeroCount ?? 0,
        negativeSpans: h.negativeSpans ?? [],
        negativeDeltas: h.negativeDeltas ?? [],
        negativeCounts: h.negativeCounts ?? [],
        positiveSpans: h.positiveSpans ?? [],
        positiveDeltas: h.positiveDeltas ?? [],
        positiveCounts: h.positiveCounts ?? [],
        resetHint: h.resetHint ?? 0,
        customValues: h.customValues ?? [],
        raw: encodeHistogram(h, version),
      });
    }
    for (const e of s.exemplars ?? []) exemplars.push({ seriesIndex: i, labels: toLabels(e.labels), value: e.value, timestamp: e.timestamp, error: e.error ?? null });
    return {
      key: s.key ?? JSON.stringify(toLabels(s.labels)),
      sampleStart,
      sampleCount: s.samples?.length ?? 0,
      histogramCount: s.histograms?.length ?? 0,
      exemplarCount: s.exemplars?.length ?? 0,
      error: s.error ?? null,
    };
  });
  return {
    version,
    series,
    samples: { length: total, timestamps, values, startTimestamps, series: seriesOf },
    histograms,
    exemplars,
    metadata: options.metadata ?? [],
    labelsOf(index: number): Label[] {
      const s = specs[index];
      if (s.unreadable) throw new ProtocolError('invalid_utf8', `labels of series #${index} are not valid UTF-8`);
      return toLabels(s.labels);
    },
  };
}
