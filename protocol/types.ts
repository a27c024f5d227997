// The decoded shape of a remote-write request, shared by the 1.0 and 2.0 decoders and read by storage.
//
// The hot path decodes straight into this shape: float samples go into typed-array columns (values are
// copied byte for byte, so NaN payloads such as the stale marker survive), and a series' labels are not
// turned into strings at all unless the series is new to the writer's cache. `DecodedSeries.key` is the
// cache key: two series with the same key have the same labels as sent.

export interface Label {
  name: string;
  value: string;
}

/** Remote-write protocol major version, chosen by Content-Type. */
export type RemoteWriteVersion = 1 | 2;

/** Metric types, numbered as in both prompb.MetricMetadata.MetricType and io.prometheus.write.v2.Metadata.MetricType. */
export const MetricType = {
  UNSPECIFIED: 0, // v1 calls it UNKNOWN
  COUNTER: 1,
  GAUGE: 2,
  HISTOGRAM: 3,
  GAUGEHISTOGRAM: 4,
  SUMMARY: 5,
  INFO: 6,
  STATESET: 7,
} as const;
export type MetricTypeValue = (typeof MetricType)[keyof typeof MetricType];

/** Why a series, sample, histogram or exemplar was refused. Also the `reason` label of the rejection metrics. */
export type RejectReason =
  | 'missing_metric_name'
  | 'empty_label_name'
  | 'duplicate_label_name'
  | 'invalid_utf8'
  | 'invalid_label_ref'
  | 'too_many_labels'
  | 'label_name_too_long'
  | 'label_value_too_long'
  | 'no_samples'
  | 'samples_and_histograms'
  | 'too_far_in_future'
  | 'timestamp_out_of_range'
  | 'too_old'
  | 'invalid_histogram'
  | 'invalid_exemplar'
  | 'duplicate_sample_conflict';

export interface Rejection {
  reason: RejectReason;
  /** Human-readable, names the series (or what is known of it) and what is wrong. */
  message: string;
}

/** Float samples of the whole request in columns; each series' samples are contiguous, in wire order. */
export interface SampleColumns {
  length: number;
  /** Milliseconds since the epoch; exact integers (|t| < 2^53, else the series is rejected). */
  timestamps: Float64Array;
  /** IEEE-754 doubles exactly as sent; never normalised (stale marker 0x7ff0000000000002). */
  values: Float64Array;
  /** Start timestamp in ms; 0 means unset (RW 2.0 rc.4 Sample.start_timestamp or legacy TimeSeries field 6). */
  startTimestamps: Float64Array;
  /** Index into DecodedWriteRequest.series for each sample. */
  series: Uint32Array;
}

export interface BucketSpan {
  offset: number;
  length: number;
}

export interface DecodedHistogram {
  seriesIndex: number;
  timestamp: number;
  /** 0 = unset. */
  startTimestamp: number;
  /** True when counts are floats (count_float / *_counts), false for integer histograms (count_int / *_deltas). */
  isFloat: boolean;
  count: number;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  negativeSpans: BucketSpan[];
  negativeDeltas: number[];
  negativeCounts: number[];
  positiveSpans: BucketSpan[];
  positiveDeltas: number[];
  positiveCounts: number[];
  /** 0 unknown, 1 yes, 2 no, 3 gauge. */
  resetHint: number;
  /** Upper bounds of custom buckets (schema -53). */
  customValues: number[];
  /** The Histogram message bytes exactly as sent (fields 1..16 are the same in 1.0 and 2.0); what storage keeps. */
  raw: Uint8Array;
}

export interface DecodedExemplar {
  seriesIndex: number;
  labels: Label[];
  value: number;
  timestamp: number;
  /**
   * Set when the decoder already knows the exemplar is unusable (2.0 label ref out of range or odd count,
   * label bytes not UTF-8, timestamp beyond ±2^53) without rejecting its series; validateExemplar()
   * returns it. Absent or null otherwise.
   */
  error?: Rejection | null;
}

export interface DecodedMetadata {
  metricFamilyName: string;
  type: MetricTypeValue;
  help: string;
  unit: string;
}

export interface DecodedSeries {
  /**
   * Cache key for the series' label set as sent: equal keys imply equal label lists. Built from the raw
   * label bytes (1.0) or from the referenced symbols (2.0) without UTF-8 decoding. Not a canonical form:
   * the same labels in another order give another key. Meaningless when `error` is set (a 2.0 series
   * with unresolvable refs gets a placeholder that no valid series can have).
   */
  key: string;
  sampleStart: number;
  sampleCount: number;
  histogramCount: number;
  exemplarCount: number;
  /** Set when the decoder already knows the series is unusable (e.g. a 2.0 label ref out of range). */
  error: Rejection | null;
}

export interface DecodedWriteRequest {
  version: RemoteWriteVersion;
  series: DecodedSeries[];
  samples: SampleColumns;
  histograms: DecodedHistogram[];
  exemplars: DecodedExemplar[];
  /** 1.0 WriteRequest.metadata, or 2.0 per-series metadata (named by the series' __name__), deduplicated. */
  metadata: DecodedMetadata[];
  /**
   * The labels of series `index` exactly as sent (unsorted, unvalidated), UTF-8 decoded. Throws a
   * ProtocolError with reason 'invalid_utf8' on bad UTF-8. Only called for series the cache does not know.
   */
  labelsOf(index: number): Label[];
}

/** Limits on what one series may contain. All configurable; defaults in DEFAULT_WRITE_LIMITS. */
export interface WriteLimits {
  maxLabelsPerSeries: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  /** Samples further ahead of the receiver's clock than this are refused (Prometheus: 10 minutes). */
  maxFutureMs: number;
  /** Samples older than now minus this are refused ('too_old'); 0 disables the check. */
  maxAgeMs: number;
}

export const DEFAULT_WRITE_LIMITS: WriteLimits = {
  maxLabelsPerSeries: 40,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
  maxFutureMs: 10 * 60 * 1000,
  maxAgeMs: 0,
};

/** Bits of the stale marker, the NaN Prometheus sends when a series disappears. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

/**
 * The stale marker as a number, for encoding. Its payload survives object properties and Float64Arrays
 * but not a plain number[] (V8 quiets NaNs stored there), so compare bits, never values.
 */
export const STALE_NAN: number = new Float64Array(new BigUint64Array([STALE_NAN_BITS]).buffer)[0];

const bitsF64 = new Float64Array(1);
const bitsU32 = new Uint32Array(bitsF64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Whether a number read from a Float64Array (or object property) has exactly the stale marker's bits. */
export function isStaleNaN(value: number): boolean {
  if (value === value) return false; // not NaN
  bitsF64[0] = value;
  const lo = bitsU32[LITTLE_ENDIAN ? 0 : 1];
  const hi = bitsU32[LITTLE_ENDIAN ? 1 : 0];
  return lo === 2 && hi === 0x7ff00000;
}
