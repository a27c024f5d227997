// Field numbers of the remote-write messages (reference §1.3; prometheus/prometheus prompb @d15adb9).
// The decoders switch on whole tags, so each known field also has its expected tag (field << 3 | wire
// type) precomputed; a field arriving with another wire type is skipped as unknown, as protobuf-go does.

import { WireType } from './wire.ts';

const { VARINT, I64, LEN } = WireType;
const t = (field: number, wireType: number): number => (field << 3) | wireType;

/** prometheus.WriteRequest (1.0). Field 2 is reserved (Cortex source). */
export const V1WriteRequest = {
  TIMESERIES: 1,
  METADATA: 3,
} as const;

/** prometheus.TimeSeries (1.0). */
export const V1TimeSeries = {
  LABELS: 1,
  SAMPLES: 2,
  EXEMPLARS: 3,
  HISTOGRAMS: 4,
} as const;

/** prometheus.Label (1.0). */
export const V1Label = {
  NAME: 1,
  VALUE: 2,
} as const;

/** prometheus.Sample, and io.prometheus.write.v2.Sample (which adds start_timestamp). */
export const SampleField = {
  VALUE: 1,
  TIMESTAMP: 2,
  START_TIMESTAMP: 3, // 2.0 only (rc.4)
} as const;

/** prometheus.Exemplar (1.0): labels are Label messages. */
export const V1Exemplar = {
  LABELS: 1,
  VALUE: 2,
  TIMESTAMP: 3,
} as const;

/** prometheus.MetricMetadata (1.0). Field 3 is unused. */
export const V1MetricMetadata = {
  TYPE: 1,
  METRIC_FAMILY_NAME: 2,
  HELP: 4,
  UNIT: 5,
} as const;

/** io.prometheus.write.v2.Request. Fields 1 to 3 are reserved so a 2.0 body read as 1.0 decodes as empty. */
export const V2Request = {
  SYMBOLS: 4,
  TIMESERIES: 5,
} as const;

/** io.prometheus.write.v2.TimeSeries. Field 6 was `created_timestamp` before rc.4 (Prometheus ≤ 3.8). */
export const V2TimeSeries = {
  LABELS_REFS: 1,
  SAMPLES: 2,
  HISTOGRAMS: 3,
  EXEMPLARS: 4,
  METADATA: 5,
  LEGACY_CREATED_TIMESTAMP: 6,
} as const;

/** io.prometheus.write.v2.Exemplar. */
export const V2Exemplar = {
  LABELS_REFS: 1,
  VALUE: 2,
  TIMESTAMP: 3,
} as const;

/** io.prometheus.write.v2.Metadata. Field 2 is unused. */
export const V2Metadata = {
  TYPE: 1,
  HELP_REF: 3,
  UNIT_REF: 4,
} as const;

/** Histogram: fields 1..16 identical in 1.0 and 2.0; 17 is 2.0's start_timestamp. */
export const HistogramField = {
  COUNT_INT: 1, // uint64, oneof count
  COUNT_FLOAT: 2, // double, oneof count
  SUM: 3,
  SCHEMA: 4, // sint32
  ZERO_THRESHOLD: 5,
  ZERO_COUNT_INT: 6, // uint64, oneof zero_count
  ZERO_COUNT_FLOAT: 7, // double, oneof zero_count
  NEGATIVE_SPANS: 8,
  NEGATIVE_DELTAS: 9, // repeated sint64 (packed)
  NEGATIVE_COUNTS: 10, // repeated double (packed)
  POSITIVE_SPANS: 11,
  POSITIVE_DELTAS: 12,
  POSITIVE_COUNTS: 13,
  RESET_HINT: 14,
  TIMESTAMP: 15,
  CUSTOM_VALUES: 16, // repeated double (packed)
  START_TIMESTAMP: 17, // 2.0 only (rc.4)
} as const;

/** BucketSpan, same in both versions. */
export const BucketSpanField = {
  OFFSET: 1, // sint32
  LENGTH: 2, // uint32
} as const;

/** Precomputed tags of the hot fields. */
export const Tag = {
  V1_TIMESERIES: t(V1WriteRequest.TIMESERIES, LEN),
  V1_METADATA: t(V1WriteRequest.METADATA, LEN),
  V1_LABELS: t(V1TimeSeries.LABELS, LEN),
  V1_SAMPLES: t(V1TimeSeries.SAMPLES, LEN),
  V1_EXEMPLARS: t(V1TimeSeries.EXEMPLARS, LEN),
  V1_HISTOGRAMS: t(V1TimeSeries.HISTOGRAMS, LEN),
  LABEL_NAME: t(V1Label.NAME, LEN),
  LABEL_VALUE: t(V1Label.VALUE, LEN),

  SAMPLE_VALUE: t(SampleField.VALUE, I64),
  SAMPLE_TIMESTAMP: t(SampleField.TIMESTAMP, VARINT),
  SAMPLE_START_TIMESTAMP: t(SampleField.START_TIMESTAMP, VARINT),

  V1_EXEMPLAR_LABELS: t(V1Exemplar.LABELS, LEN),
  EXEMPLAR_VALUE: t(V1Exemplar.VALUE, I64),
  EXEMPLAR_TIMESTAMP: t(V1Exemplar.TIMESTAMP, VARINT),

  V1_METADATA_TYPE: t(V1MetricMetadata.TYPE, VARINT),
  V1_METADATA_FAMILY: t(V1MetricMetadata.METRIC_FAMILY_NAME, LEN),
  V1_METADATA_HELP: t(V1MetricMetadata.HELP, LEN),
  V1_METADATA_UNIT: t(V1MetricMetadata.UNIT, LEN),

  V2_SYMBOLS: t(V2Request.SYMBOLS, LEN),
  V2_TIMESERIES: t(V2Request.TIMESERIES, LEN),
  V2_LABELS_REFS_PACKED: t(V2TimeSeries.LABELS_REFS, LEN),
  V2_LABELS_REFS_UNPACKED: t(V2TimeSeries.LABELS_REFS, VARINT),
  V2_SAMPLES: t(V2TimeSeries.SAMPLES, LEN),
  V2_HISTOGRAMS: t(V2TimeSeries.HISTOGRAMS, LEN),
  V2_EXEMPLARS: t(V2TimeSeries.EXEMPLARS, LEN),
  V2_METADATA: t(V2TimeSeries.METADATA, LEN),
  V2_LEGACY_CREATED_TIMESTAMP: t(V2TimeSeries.LEGACY_CREATED_TIMESTAMP, VARINT),
  V2_EXEMPLAR_REFS_PACKED: t(V2Exemplar.LABELS_REFS, LEN),
  V2_EXEMPLAR_REFS_UNPACKED: t(V2Exemplar.LABELS_REFS, VARINT),
  V2_METADATA_TYPE: t(V2Metadata.TYPE, VARINT),
  V2_METADATA_HELP_REF: t(V2Metadata.HELP_REF, VARINT),
  V2_METADATA_UNIT_REF: t(V2Metadata.UNIT_REF, VARINT),

  H_COUNT_INT: t(HistogramField.COUNT_INT, VARINT),
  H_COUNT_FLOAT: t(HistogramField.COUNT_FLOAT, I64),
  H_SUM: t(HistogramField.SUM, I64),
  H_SCHEMA: t(HistogramField.SCHEMA, VARINT),
  H_ZERO_THRESHOLD: t(HistogramField.ZERO_THRESHOLD, I64),
  H_ZERO_COUNT_INT: t(HistogramField.ZERO_COUNT_INT, VARINT),
  H_ZERO_COUNT_FLOAT: t(HistogramField.ZERO_COUNT_FLOAT, I64),
  H_NEGATIVE_SPANS: t(HistogramField.NEGATIVE_SPANS, LEN),
  H_NEGATIVE_DELTAS_PACKED: t(HistogramField.NEGATIVE_DELTAS, LEN),
  H_NEGATIVE_DELTAS: t(HistogramField.NEGATIVE_DELTAS, VARINT),
  H_NEGATIVE_COUNTS_PACKED: t(HistogramField.NEGATIVE_COUNTS, LEN),
  H_NEGATIVE_COUNTS: t(HistogramField.NEGATIVE_COUNTS, I64),
  H_POSITIVE_SPANS: t(HistogramField.POSITIVE_SPANS, LEN),
  H_POSITIVE_DELTAS_PACKED: t(HistogramField.POSITIVE_DELTAS, LEN),
  H_POSITIVE_DELTAS: t(HistogramField.POSITIVE_DELTAS, VARINT),
  H_POSITIVE_COUNTS_PACKED: t(HistogramField.POSITIVE_COUNTS, LEN),
  H_POSITIVE_COUNTS: t(HistogramField.POSITIVE_COUNTS, I64),
  H_RESET_HINT: t(HistogramField.RESET_HINT, VARINT),
  H_TIMESTAMP: t(HistogramField.TIMESTAMP, VARINT),
  H_CUSTOM_VALUES_PACKED: t(HistogramField.CUSTOM_VALUES, LEN),
  H_CUSTOM_VALUES: t(HistogramField.CUSTOM_VALUES, I64),
  H_START_TIMESTAMP: t(HistogramField.START_TIMESTAMP, VARINT),

  SPAN_OFFSET: t(BucketSpanField.OFFSET, VARINT),
  SPAN_LENGTH: t(BucketSpanField.LENGTH, VARINT),
} as const;
