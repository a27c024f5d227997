// protobufjs definitions of both remote-write messages, built from embedded .proto text at load time (no
// code generation step). Not on the production path: the hand-written decoders and encoders are faster
// (see test/bench/decode.bench.ts). This is the independent reference the tests cross-check them
// against (decoding, and byte-for-byte encoding), and the baseline the benchmark measures.
//
// Field names keep the .proto casing (keepCase), so objects look like the Go structs' JSON: labels_refs,
// start_timestamp, count_int…

import protobuf from 'protobufjs';
import type { HistogramInput } from './histogram.ts';
import type { SeriesMetadataInput, WriteRequestInput } from './encode.ts';
import type {
  DecodedExemplar,
  DecodedHistogram,
  DecodedMetadata,
  DecodedSeries,
  DecodedWriteRequest,
  Label,
  MetricTypeValue,
  RemoteWriteVersion,
} from './types.ts';

/** Histogram fields 1..16, the same in both packages; `packed` is '' or ' [packed = false]'. */
const histogramBody = (resetHintPrefix: string, packed: string, extra: string) => `
  oneof count { uint64 count_int = 1; double count_float = 2; }
  double sum = 3;
  sint32 schema = 4;
  double zero_threshold = 5;
  oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
  repeated BucketSpan negative_spans = 8;
  repeated sint64 negative_deltas = 9${packed};
  repeated double negative_counts = 10${packed};
  repeated BucketSpan positive_spans = 11;
  repeated sint64 positive_deltas = 12${packed};
  repeated double positive_counts = 13${packed};
  enum ResetHint { ${resetHintPrefix}UNKNOWN = 0; ${resetHintPrefix}YES = 1; ${resetHintPrefix}NO = 2; ${resetHintPrefix}GAUGE = 3; }
  ResetHint reset_hint = 14;
  int64 timestamp = 15;
  repeated double custom_values = 16${packed};
  ${extra}`;

/** prompb/remote.proto + prompb/types.proto (package prometheus). */
export const V1_PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
message MetricMetadata {
  enum MetricType { UNKNOWN = 0; COUNTER = 1; GAUGE = 2; HISTOGRAM = 3; GAUGEHISTOGRAM = 4; SUMMARY = 5; INFO = 6; STATESET = 7; }
  MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5;
}
message Sample { double value = 1; int64 timestamp = 2; }
message Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
message Histogram { ${histogramBody('', '', '')} }
message BucketSpan { sint32 offset = 1; uint32 length = 2; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
message Label { string name = 1; string value = 2; }
`;

export interface V2ProtoOptions {
  /** Encode repeated scalars (label refs, deltas, counts, custom values) unpacked; decoders must accept both. */
  unpacked?: boolean;
  /** Add the pre-rc.4 `int64 created_timestamp = 6` to TimeSeries (Prometheus ≤ 3.8). */
  legacyCreatedTimestamp?: boolean;
}

/** prompb/io/prometheus/write/v2/types.proto, 2.0-rc.4 (package io.prometheus.write.v2). */
export function v2Proto(options: V2ProtoOptions = {}): string {
  const packed = options.unpacked ? ' [packed = false]' : '';
  const legacy = options.legacyCreatedTimestamp ? 'int64 created_timestamp = 6;' : 'reserved 6;';
  return `
syntax = "proto3";
package io.prometheus.write.v2;
message Request { reserved 1 to 3; repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
message TimeSeries {
  repeated uint32 labels_refs = 1${packed}; repeated Sample samples = 2; repeated Histogram histograms = 3;
  repeated Exemplar exemplars = 4; Metadata metadata = 5; ${legacy}
}
message Exemplar { repeated uint32 labels_refs = 1${packed}; double value = 2; int64 timestamp = 3; }
message Sample { double value = 1; int64 timestamp = 2; int64 start_timestamp = 3; }
message Metadata {
  enum MetricType { METRIC_TYPE_UNSPECIFIED = 0; METRIC_TYPE_COUNTER = 1; METRIC_TYPE_GAUGE = 2; METRIC_TYPE_HISTOGRAM = 3;
                    METRIC_TYPE_GAUGEHISTOGRAM = 4; METRIC_TYPE_SUMMARY = 5; METRIC_TYPE_INFO = 6; METRIC_TYPE_STATESET = 7; }
  MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4;
}
message Histogram { ${histogramBody('RESET_HINT_', packed, 'int64 start_timestamp = 17;')} }
message BucketSpan { sint32 offset = 1; uint32 length = 2; }
`;
}

export interface Schema {
  root: protobuf.Root;
  WriteRequestV1: protobuf.Type;
  HistogramV1: protobuf.Type;
  RequestV2: protobuf.Type;
  HistogramV2: protobuf.Type;
}

export function makeSchema(options: V2ProtoOptions = {}): Schema {
  const root = new protobuf.Root();
  protobuf.parse(V1_PROTO, root, { keepCase: true });
  protobuf.parse(v2Proto(options), root, { keepCase: true });
  root.resolveAll();
  return {
    root,
    WriteRequestV1: root.lookupType('prometheus.WriteRequest'),
    HistogramV1: root.lookupType('prometheus.Histogram'),
    RequestV2: root.lookupType('io.prometheus.write.v2.Request'),
    HistogramV2: root.lookupType('io.prometheus.write.v2.Histogram'),
  };
}

/** The rc.4 schemas, packed, as senders use them. */
export const schema: Schema = makeSchema();

// ---------------------------------------------------------------------------------------------------
// Reference decoding: protobufjs objects converted to DecodedWriteRequest.

/** protobufjs returns int64/uint64 as Long objects (the `long` package is installed) or numbers. */
type Int64 = number | { toNumber(): number };
const num = (v: Int64 | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

// protobufjs messages built from reflection are untyped.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Msg = any;

function histogramFrom(h: Msg, seriesIndex: number, raw: Uint8Array, startTimestamp: number): DecodedHistogram {
  const isFloat = h.count === 'count_float'; // protobufjs's virtual oneof property names the member set
  return {
    seriesIndex,
    timestamp: num(h.timestamp),
    startTimestamp,
    isFloat,
    count: isFloat ? h.count_float : num(h.count_int),
    sum: h.sum ?? 0,
    schema: h.schema ?? 0,
    zeroThreshold: h.zero_threshold ?? 0,
    zeroCount: h.zero_count === 'zero_count_float' ? h.zero_count_float : num(h.zero_count_int),
    negativeSpans: (h.negative_spans ?? []).map((s: Msg) => ({ offset: s.offset ?? 0, length: s.length ?? 0 })),
    negativeDeltas: (h.negative_deltas ?? []).map(num),
    negativeCounts: h.negative_counts ?? [],
    positiveSpans: (h.positive_spans ?? []).map((s: Msg) => ({ offset: s.offset ?? 0, length: s.length ?? 0 })),
    positiveDeltas: (h.positive_deltas ?? []).map(num),
    positiveCounts: h.positive_counts ?? [],
    resetHint: h.reset_hint ?? 0,
    customValues: h.custom_values ?? [],
    raw,
  };
}

/**
 * A flat key from decoded labels, built the way the hand-written decoders build theirs (join, not +, so
 * the benchmark compares like with like: a rope would defer its flattening to the writer's Map).
 * '\u0000' separates: it can be part of a string, but this key only serves the reference and the bench.
 */
const keyParts: string[] = [];
function flatKey(labels: Label[]): string {
  keyParts.length = labels.length * 2;
  for (let i = 0; i < labels.length; i++) {
    keyParts[2 * i] = labels[i].name;
    keyParts[2 * i + 1] = labels[i].value;
  }
  return keyParts.join('\u0000');
}

class ColumnBuilder {
  n = 0;
  timestamps = new Float64Array(1024);
  values = new Float64Array(1024);
  startTimestamps = new Float64Array(1024);
  series = new Uint32Array(1024);
  push(ts: number, v: number, st: number, s: number): void {
    if (this.n === this.values.length) {
      const grow = <T extends Float64Array | Uint32Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.timestamps = grow(this.timestamps);
      this.values = grow(this.values);
      this.startTimestamps = grow(this.startTimestamps);
      this.series = grow(this.series);
    }
    this.timestamps[this.n] = ts;
    this.values[this.n] = v;
    this.startTimestamps[this.n] = st;
    this.series[this.n] = s;
    this.n++;
  }
}

/**
 * Decodes with protobufjs and converts to DecodedWriteRequest: the reference for cross-checking and the
 * benchmark baseline. Keys are built from the decoded strings (not the raw bytes), so they differ from
 * the hand-written decoders' keys but have the same equality. Histogram `raw` is re-encoded. Assumes a
 * valid request: no per-series error detection (refs out of range throw a TypeError).
 */
export function referenceDecode(version: RemoteWriteVersion, bytes: Uint8Array, s: Schema = schema): DecodedWriteRequest {
  const cols = new ColumnBuilder();
  const series: DecodedSeries[] = [];
  const labelSets: Label[][] = [];
  const histograms: DecodedHistogram[] = [];
  const exemplars: DecodedExemplar[] = [];
  const metadata: DecodedMetadata[] = [];
  const seenMeta = new Set<string>();
  const addMeta = (m: DecodedMetadata) => {
    const id = JSON.stringify([m.metricFamilyName, m.type, m.help, m.unit]);
    if (!seenMeta.has(id)) {
      seenMeta.add(id);
      metadata.push(m);
    }
  };

  if (version === 1) {
    const req: Msg = s.WriteRequestV1.decode(bytes);
    for (const ts of req.timeseries) {
      const i = series.length;
      const labels: Label[] = ts.labels.map((l: Msg) => ({ name: l.name, value: l.value }));
      const key = flatKey(labels);
      const sampleStart = cols.n;
      for (const smp of ts.samples) cols.push(num(smp.timestamp), smp.value, 0, i);
      for (const h of ts.histograms) histograms.push(histogramFrom(h, i, s.HistogramV1.encode(h).finish(), 0));
      for (const e of ts.exemplars) {
        exemplars.push({
          seriesIndex: i,
          labels: e.labels.map((l: Msg) => ({ name: l.name, value: l.value })),
          value: e.value,
          timestamp: num(e.timestamp),
          error: null,
        });
      }
      labelSets.push(labels);
      series.push({
        key,
        sampleStart,
        sampleCount: cols.n - sampleStart,
        histogramCount: ts.histograms.length,
        exemplarCount: ts.exemplars.length,
        error: null,
      });
    }
    for (const m of req.metadata) {
      addMeta({ metricFamilyName: m.metric_family_name, type: (m.type ?? 0) as MetricTypeValue, help: m.help, unit: m.unit });
    }
  } else {
    const req: Msg = s.RequestV2.decode(bytes);
    const sym: string[] = req.symbols;
    for (const ts of req.timeseries) {
      const i = series.length;
      const refs: number[] = ts.labels_refs;
      const labels: Label[] = [];
      let name = '';
      for (let k = 0; k < refs.length; k += 2) {
        const l = { name: sym[refs[k]], value: sym[refs[k + 1]] };
        if (l.name === undefined || l.value === undefined) throw new TypeError(`ref out of range in series ${i}`);
        if (l.name === '__name__') name = l.value;
        labels.push(l);
      }
      const key = flatKey(labels);
      const legacy = num(ts.created_timestamp);
      const sampleStart = cols.n;
      for (const smp of ts.samples) cols.push(num(smp.timestamp), smp.value, num(smp.start_timestamp) || legacy, i);
      for (const h of ts.histograms) {
        histograms.push(histogramFrom(h, i, s.HistogramV2.encode(h).finish(), num(h.start_timestamp) || legacy));
      }
      for (const e of ts.exemplars) {
        const er: number[] = e.labels_refs;
        const el: Label[] = [];
        for (let k = 0; k < er.length; k += 2) el.push({ name: sym[er[k]], value: sym[er[k + 1]] });
        exemplars.push({ seriesIndex: i, labels: el, value: e.value, timestamp: num(e.timestamp), error: null });
      }
      const md = ts.metadata;
      if (md && name !== '') {
        const type = (md.type ?? 0) as MetricTypeValue;
        const help = sym[md.help_ref ?? 0];
        const unit = sym[md.unit_ref ?? 0];
        if (type !== 0 || help !== '' || unit !== '') addMeta({ metricFamilyName: name, type, help, unit });
      }
      labelSets.push(labels);
      series.push({
        key,
        sampleStart,
        sampleCount: cols.n - sampleStart,
        histogramCount: ts.histograms.length,
        exemplarCount: ts.exemplars.length,
        error: null,
      });
    }
  }
  const n = cols.n;
  return {
    version,
    series,
    samples: {
      length: n,
      timestamps: cols.timestamps.subarray(0, n),
      values: cols.values.subarray(0, n),
      startTimestamps: cols.startTimestamps.subarray(0, n),
      series: cols.series.subarray(0, n),
    },
    histograms,
    exemplars,
    metadata,
    labelsOf: (i: number) => labelSets[i],
  };
}

// ---------------------------------------------------------------------------------------------------
// Reference encoding: the encoders' input shape as protobufjs objects. Only non-default fields are set,
// so protobufjs's output can be compared byte for byte with the hand-written encoders'.

function setIf(o: Msg, key: string, v: unknown, isDefault: boolean): void {
  if (!isDefault) o[key] = v;
}
const zeroBits = (v: number) => v === 0 && !Object.is(v, -0);

function histogramObject(h: HistogramInput, version: RemoteWriteVersion): Msg {
  const o: Msg = {};
  if (h.isFloat) {
    o.count_float = h.count;
    o.zero_count_float = h.zeroCount ?? 0;
  } else {
    o.count_int = h.count;
    o.zero_count_int = h.zeroCount ?? 0;
  }
  setIf(o, 'sum', h.sum, zeroBits(h.sum));
  setIf(o, 'schema', h.schema, h.schema === 0);
  setIf(o, 'zero_threshold', h.zeroThreshold, h.zeroThreshold === undefined || zeroBits(h.zeroThreshold));
  const spans = (ss: HistogramInput['positiveSpans']) =>
    (ss ?? []).map((x) => {
      const so: Msg = {};
      setIf(so, 'offset', x.offset, x.offset === 0);
      setIf(so, 'length', x.length, x.length === 0);
      return so;
    });
  o.negative_spans = spans(h.negativeSpans);
  o.positive_spans = spans(h.positiveSpans);
  if (h.isFloat) {
    o.negative_counts = h.negativeCounts ?? [];
    o.positive_counts = h.positiveCounts ?? [];
  } else {
    o.negative_deltas = h.negativeDeltas ?? [];
    o.positive_deltas = h.positiveDeltas ?? [];
  }
  setIf(o, 'reset_hint', h.resetHint, !h.resetHint);
  setIf(o, 'timestamp', h.timestamp, h.timestamp === 0);
  o.custom_values = h.customValues ?? [];
  if (version === 2) setIf(o, 'start_timestamp', h.startTimestamp, !h.startTimestamp);
  return o;
}

const labelObject = (l: Label): Msg => {
  const o: Msg = {};
  setIf(o, 'name', l.name, l.name === '');
  setIf(o, 'value', l.value, l.value === '');
  return o;
};

/** WriteRequestInput as a prometheus.WriteRequest object for schema.WriteRequestV1.encode(). */
export function toProtobufjsV1(req: WriteRequestInput): Msg {
  const metadata: Msg[] = [];
  const seen = new Set<string>();
  const addMeta = (name: string, md: SeriesMetadataInput) => {
    const id = JSON.stringify([name, md.type, md.help ?? '', md.unit ?? '']);
    if (seen.has(id)) return;
    seen.add(id);
    const o: Msg = {};
    setIf(o, 'type', md.type, md.type === 0);
    setIf(o, 'metric_family_name', name, name === '');
    setIf(o, 'help', md.help, !md.help);
    setIf(o, 'unit', md.unit, !md.unit);
    metadata.push(o);
  };
  for (const md of req.metadata ?? []) addMeta(md.metricFamilyName, md);
  const timeseries = req.series.map((s) => {
    if (s.metadata) {
      const name = s.labels.find((l) => l.name === '__name__')?.value ?? '';
      if (name !== '') addMeta(name, s.metadata);
    }
    return {
      labels: s.labels.map(labelObject),
      samples: (s.samples ?? []).map((x) => {
        const o: Msg = {};
        setIf(o, 'value', x.value, zeroBits(x.value));
        setIf(o, 'timestamp', x.timestamp, x.timestamp === 0);
        return o;
      }),
      exemplars: (s.exemplars ?? []).map((e) => {
        const o: Msg = { labels: e.labels.map(labelObject) };
        setIf(o, 'value', e.value, zeroBits(e.value));
        setIf(o, 'timestamp', e.timestamp, e.timestamp === 0);
        return o;
      }),
      histograms: (s.histograms ?? []).map((h) => histogramObject(h, 1)),
    };
  });
  return { timeseries, metadata };
}

/** WriteRequestInput as an io.prometheus.write.v2.Request object, symbols assigned in the encoder's order. */
export function toProtobufjsV2(req: WriteRequestInput): Msg {
  const symbols: string[] = [''];
  const index = new Map<string, number>([['', 0]]);
  const ref = (x: string) => {
    let i = index.get(x);
    if (i === undefined) {
      i = symbols.length;
      symbols.push(x);
      index.set(x, i);
    }
    return i;
  };
  const familyMeta = new Map<string, SeriesMetadataInput>();
  for (const md of req.metadata ?? []) if (!familyMeta.has(md.metricFamilyName)) familyMeta.set(md.metricFamilyName, md);
  const timeseries = req.series.map((s) => {
    const o: Msg = { labels_refs: s.labels.flatMap((l) => [ref(l.name), ref(l.value)]) };
    o.samples = (s.samples ?? []).map((x) => {
      const so: Msg = {};
      setIf(so, 'value', x.value, zeroBits(x.value));
      setIf(so, 'timestamp', x.timestamp, x.timestamp === 0);
      setIf(so, 'start_timestamp', x.startTimestamp, !x.startTimestamp);
      return so;
    });
    o.histograms = (s.histograms ?? []).map((h) => histogramObject(h, 2));
    o.exemplars = (s.exemplars ?? []).map((e) => {
      const eo: Msg = { labels_refs: e.labels.flatMap((l) => [ref(l.name), ref(l.value)]) };
      setIf(eo, 'value', e.value, zeroBits(e.value));
      setIf(eo, 'timestamp', e.timestamp, e.timestamp === 0);
      return eo;
    });
    const name = s.labels.find((l) => l.name === '__name__')?.value ?? '';
    const md = s.metadata ?? (familyMeta.size > 0 ? familyMeta.get(name) : undefined);
    if (md) {
      const mo: Msg = {};
      setIf(mo, 'type', md.type, md.type === 0);
      const help = ref(md.help ?? '');
      const unit = ref(md.unit ?? '');
      setIf(mo, 'help_ref', help, help === 0);
      setIf(mo, 'unit_ref', unit, unit === 0);
      o.metadata = mo;
    }
    return o;
  });
  return { symbols, timeseries };
}
