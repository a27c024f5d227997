// Query results and their formatting for the Prometheus HTTP API, and the stale-marker bit pattern.

import type { Labels } from './labels.ts';
import { labelsToRecord } from './labels.ts';
import { allBuckets, type FloatHistogram } from './native-histogram.ts';

/** The stale marker Prometheus writes when a series disappears: a NaN with this exact bit pattern. */
export const STALE_NAN_HI = 0x7ff00000;
export const STALE_NAN_LO = 0x00000002;

/**
 * A 32-bit view of a Float64Array, to read bit patterns without passing NaNs through JS numbers (which
 * engines may canonicalise). Float64Array offsets are always multiples of 8, so the view is aligned.
 */
export function bitsView(values: Float64Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
}

/** True when values[i] is Prometheus' stale marker (little-endian word order, as on every Node target). */
export function isStaleAt(bits: Uint32Array, i: number): boolean {
  return bits[2 * i] === STALE_NAN_LO && bits[2 * i + 1] === STALE_NAN_HI;
}

/** Writes the stale marker into values[i] by bits. */
export function writeStaleMarker(values: Float64Array, i: number): void {
  const bits = bitsView(values);
  bits[2 * i] = STALE_NAN_LO;
  bits[2 * i + 1] = STALE_NAN_HI;
}

/** True if any value of the array is a stale marker. */
export function hasStaleMarkers(values: Float64Array): boolean {
  let bits: Uint32Array | null = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== v) {
      bits ??= bitsView(values);
      if (isStaleAt(bits, i)) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Result values (the shapes of the Prometheus API result types; timestamps in milliseconds).

export interface Sample {
  metric: Labels;
  /** Evaluation timestamp, ms. */
  t: number;
  v: number;
  /** Set when the sample is a native histogram (v is then 0 and meaningless). */
  h?: FloatHistogram;
}

export interface Point {
  t: number;
  v: number;
  /** Set when the point is a native histogram (v is then 0 and meaningless). */
  h?: FloatHistogram;
}

export interface RangeSeries {
  metric: Labels;
  points: Point[];
}

export type QueryValue =
  | { resultType: 'vector'; result: Sample[] }
  | { resultType: 'matrix'; result: RangeSeries[] }
  | { resultType: 'scalar'; result: Point }
  | { resultType: 'string'; result: { t: number; v: string } };

/**
 * Formats a float the way Prometheus' API does (Go's strconv.FormatFloat(f, 'f', -1, 64)): the
 * shortest decimal that round-trips, never in exponent notation; "+Inf", "-Inf", "NaN".
 */
export function formatValue(n: number): string {
  if (n !== n) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  // toExponential() without an argument gives the shortest round-trip digits.
  const exp = n.toExponential();
  const neg = exp.startsWith('-');
  const [mant, e] = (neg ? exp.slice(1) : exp).split('e') as [string, string];
  const digits = mant.replace('.', '');
  const pointPos = Number(e) + 1; // position of the decimal point after the first digit
  let s: string;
  if (pointPos <= 0) s = '0.' + '0'.repeat(-pointPos) + digits;
  else if (pointPos >= digits.length) s = digits + '0'.repeat(pointPos - digits.length);
  else s = digits.slice(0, pointPos) + '.' + digits.slice(pointPos);
  return neg ? '-' + s : s;
}

/** A timestamp in seconds as Prometheus writes it (integer part, then up to 3 decimals). */
export function formatTimestamp(ms: number): number {
  return ms / 1000;
}

/**
 * A native histogram in Prometheus' API JSON: count and sum, and the non-empty buckets in ascending
 * order as [boundaryRule, lower, upper, count], boundaryRule 0 = (lower, upper], 1 = [lower, upper),
 * 2 = (lower, upper), 3 = [lower, upper]; `buckets` is absent when all are empty.
 */
export type ApiHistogram = { count: string; sum: string; buckets?: Array<[number, string, string, string]> };
export type ApiVectorSample =
  | { metric: Record<string, string>; value: [number, string] }
  | { metric: Record<string, string>; histogram: [number, ApiHistogram] };
/** `values` holds the float points, `histograms` the histogram points; each is present only when non-empty. */
export type ApiMatrixSeries = {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  histograms?: Array<[number, ApiHistogram]>;
};
export type ApiData =
  | { resultType: 'vector'; result: ApiVectorSample[] }
  | { resultType: 'matrix'; result: ApiMatrixSeries[] }
  | { resultType: 'scalar'; result: [number, string] }
  | { resultType: 'string'; result: [number, string] };

/** A native histogram as Prometheus' API writes it. */
export function formatHistogram(h: FloatHistogram): ApiHistogram {
  const out: ApiHistogram = { count: formatValue(h.count), sum: formatValue(h.sum) };
  const buckets: Array<[number, string, string, string]> = [];
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    const rule = b.lowerInclusive ? (b.upperInclusive ? 3 : 1) : b.upperInclusive ? 0 : 2;
    buckets.push([rule, formatValue(b.lower), formatValue(b.upper), formatValue(b.count)]);
  }
  if (buckets.length > 0) out.buckets = buckets;
  return out;
}

function apiMatrixSeries(metric: Labels, points: readonly Point[]): ApiMatrixSeries {
  const out: ApiMatrixSeries = { metric: labelsToRecord(metric) };
  const values: Array<[number, string]> = [];
  const histograms: Array<[number, ApiHistogram]> = [];
  for (const p of points) {
    if (p.h) histograms.push([formatTimestamp(p.t), formatHistogram(p.h)]);
    else values.push([formatTimestamp(p.t), formatValue(p.v)]);
  }
  if (values.length > 0 || histograms.length === 0) out.values = values;
  if (histograms.length > 0) out.histograms = histograms;
  return out;
}

/** The `data` member of a Prometheus query API response for a result. */
export function toApiData(value: QueryValue): ApiData {
  switch (value.resultType) {
    case 'vector':
      return {
        resultType: 'vector',
        result: value.result.map((s): ApiVectorSample =>
          s.h
            ? { metric: labelsToRecord(s.metric), histogram: [formatTimestamp(s.t), formatHistogram(s.h)] }
            : { metric: labelsToRecord(s.metric), value: [formatTimestamp(s.t), formatValue(s.v)] },
        ),
      };
    case 'matrix':
      return {
        resultType: 'matrix',
        result: value.result.map((s) => apiMatrixSeries(s.metric, s.points)),
      };
    case 'scalar':
      return { resultType: 'scalar', result: [formatTimestamp(value.result.t), formatValue(value.result.v)] };
    case 'string':
      return { resultType: 'string', result: [formatTimestamp(value.result.t), value.result.v] };
  }
}
