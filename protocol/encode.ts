// Encoders of remote-write 1.0 and 2.0 requests from plain objects (the agent's sending path, and tests).
//
// Written on protocol/wire.ts's Writer rather than protobufjs: the output is byte-for-byte what
// protobufjs produces for the same message (crosscheck.test.ts, against protocol/schema.ts), it is
// faster (test/bench/decode.bench.ts), and doubles go through a Float64Array store, which keeps NaN
// payloads such as the stale marker. Labels are sent in the order given: remote-write wants them sorted by name, which
// sortLabels() (validate.ts) does; the encoder does not reorder behind the caller's back.
//
// NaN payloads: a stale marker (STALE_NAN) survives as long as the value stays in an object property or
// a Float64Array on its way here; V8 quiets NaNs stored in a plain number[] (0x7ff0…02 → 0x7ff8…02).

import type { Label, MetricTypeValue } from './types.ts';
import type { HistogramInput } from './histogram.ts';
import { writeHistogram } from './histogram.ts';
import {
  SampleField,
  V1Exemplar,
  V1Label,
  V1MetricMetadata,
  V1TimeSeries,
  V1WriteRequest,
  V2Exemplar,
  V2Metadata,
  V2Request,
  V2TimeSeries,
} from './fields.ts';
import { varintSize, WireType, Writer } from './wire.ts';

const { VARINT, I64, LEN } = WireType;

export interface SampleInput {
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** 2.0 only; 0 or absent = unset. 1.0 has no start timestamps and does not send it. */
  startTimestamp?: number;
}

export interface ExemplarInput {
  labels: Label[];
  value: number;
  timestamp: number;
}

export interface SeriesMetadataInput {
  type: MetricTypeValue;
  help?: string;
  unit?: string;
}

export interface SeriesInput {
  labels: Label[];
  samples?: SampleInput[];
  histograms?: HistogramInput[];
  exemplars?: ExemplarInput[];
  /**
   * 2.0: sent with the series. 1.0: sent once per distinct entry in WriteRequest.metadata, named by the
   * series' __name__.
   */
  metadata?: SeriesMetadataInput;
}

export interface MetadataInput {
  metricFamilyName: string;
  type: MetricTypeValue;
  help?: string;
  unit?: string;
}

export interface WriteRequestInput {
  series: SeriesInput[];
  /**
   * Per-family metadata. 1.0: sent in WriteRequest.metadata as given. 2.0 has no request-level
   * metadata: an entry is attached to every series whose __name__ is its family and that carries no
   * metadata of its own.
   */
  metadata?: MetadataInput[];
}

/** Encodes a prometheus.WriteRequest (remote-write 1.0). */
export function encodeWriteRequestV1(req: WriteRequestInput): Uint8Array {
  const w = new Writer(estimateSize(req));
  const seriesMeta: MetadataInput[] = [];
  for (const s of req.series) {
    w.tag(V1WriteRequest.TIMESERIES, LEN);
    const m = w.beginLen();
    for (const l of s.labels) writeLabel(w, V1TimeSeries.LABELS, l);
    if (s.samples) {
      for (const sample of s.samples) {
        w.tag(V1TimeSeries.SAMPLES, LEN);
        const sm = w.beginLen();
        writeDoubleField(w, SampleField.VALUE, sample.value);
        writeInt64Field(w, SampleField.TIMESTAMP, sample.timestamp);
        w.endLen(sm);
      }
    }
    if (s.exemplars) {
      for (const e of s.exemplars) {
        w.tag(V1TimeSeries.EXEMPLARS, LEN);
        const em = w.beginLen();
        for (const l of e.labels) writeLabel(w, V1Exemplar.LABELS, l);
        writeDoubleField(w, V1Exemplar.VALUE, e.value);
        writeInt64Field(w, V1Exemplar.TIMESTAMP, e.timestamp);
        w.endLen(em);
      }
    }
    if (s.histograms) {
      for (const h of s.histograms) {
        w.tag(V1TimeSeries.HISTOGRAMS, LEN);
        const hm = w.beginLen();
        writeHistogram(w, h, 1);
        w.endLen(hm);
      }
    }
    w.endLen(m);
    if (s.metadata) {
      const name = metricNameOf(s.labels);
      if (name !== '') seriesMeta.push({ metricFamilyName: name, ...s.metadata });
    }
  }
  writeMetadataV1(w, [...(req.metadata ?? []), ...seriesMeta]);
  return w.finish();
}

/** WriteRequest.metadata entries, each distinct entry once. */
function writeMetadataV1(w: Writer, list: readonly MetadataInput[]): void {
  const seen = new Set<string>();
  for (const md of list) {
    const id = JSON.stringify([md.metricFamilyName, md.type, md.help ?? '', md.unit ?? '']);
    if (seen.has(id)) continue;
    seen.add(id);
    w.tag(V1WriteRequest.METADATA, LEN);
    const m = w.beginLen();
    if (md.type !== 0) {
      w.tag(V1MetricMetadata.TYPE, VARINT);
      w.varint(md.type);
    }
    writeStringField(w, V1MetricMetadata.METRIC_FAMILY_NAME, md.metricFamilyName);
    writeStringField(w, V1MetricMetadata.HELP, md.help ?? '');
    writeStringField(w, V1MetricMetadata.UNIT, md.unit ?? '');
    w.endLen(m);
  }
}

/**
 * The Label fields of a 1.0 TimeSeries (in the order given), encoded once for a series a sender sends
 * every interval. Self-delimiting, so equal bytes mean equal label lists: the bytes serve as the series'
 * identity too (the receiver keys series by the same bytes, decode-v1.ts). The result is a view of the
 * writer's buffer, meant to be turned into the key string at once; copy it to keep the bytes.
 */
export function encodeLabelsV1(labels: readonly Label[]): Buffer {
  const w = new Writer(labels.length * 32);
  for (const l of labels) writeLabel(w, V1TimeSeries.LABELS, l);
  return w.buf.subarray(0, w.pos);
}

/**
 * Encodes a 1.0 WriteRequest of single samples whose series' Label fields are already encoded
 * (encodeLabelsV1, held as latin1 strings): one TimeSeries per sample, as Prometheus' queue manager sends
 * them, so samples of one series stay in the order given. The request is sized exactly before it is
 * written; values are copied from the Float64Array's bytes (NaN payloads such as the stale marker kept).
 */
export function encodeSamplesV1(
  n: number,
  encodedLabels: (i: number) => string,
  values: Float64Array,
  timestamps: Float64Array,
  metadata: readonly MetadataInput[] = [],
): Uint8Array {
  const valueBytes = new Uint8Array(values.buffer, values.byteOffset, n * 8);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const body = encodedLabels(i).length + 2 + sampleBodySize(valueBytes, i * 8, timestamps[i]);
    size += 1 + varintSize(body) + body;
  }
  const w = new Writer(size + 64 * metadata.length);
  for (let i = 0; i < n; i++) {
    const labels = encodedLabels(i);
    const ts = timestamps[i];
    const sampleBody = sampleBodySize(valueBytes, i * 8, ts);
    w.tag(V1WriteRequest.TIMESERIES, LEN);
    w.varint(labels.length + 2 + sampleBody);
    w.ensure(labels.length);
    w.pos += w.buf.write(labels, w.pos, 'latin1');
    w.tag(V1TimeSeries.SAMPLES, LEN);
    w.varint(sampleBody);
    if (!isPositiveZero(valueBytes, i * 8)) {
      w.tag(SampleField.VALUE, I64);
      w.rawDouble(valueBytes, i * 8);
    }
    writeInt64Field(w, SampleField.TIMESTAMP, ts);
  }
  writeMetadataV1(w, metadata);
  return w.pos === w.buf.length ? w.buf : w.finish();
}

/** Bytes of a Sample message (proto3: a +0 value and a 0 timestamp are not sent); always under 128. */
function sampleBodySize(valueBytes: Uint8Array, offset: number, ts: number): number {
  return (isPositiveZero(valueBytes, offset) ? 0 : 9) + (ts === 0 ? 0 : 1 + (ts < 0 ? 10 : varintSize(ts)));
}

function isPositiveZero(b: Uint8Array, o: number): boolean {
  return (b[o] | b[o + 1] | b[o + 2] | b[o + 3] | b[o + 4] | b[o + 5] | b[o + 6] | b[o + 7]) === 0;
}

/** Encodes an io.prometheus.write.v2.Request (remote-write 2.0-rc.4), building its symbol table. */
export function encodeWriteRequestV2(req: WriteRequestInput): Uint8Array {
  const symbols = new SymbolTable();
  const familyMeta = new Map<string, MetadataInput>();
  for (const md of req.metadata ?? []) if (!familyMeta.has(md.metricFamilyName)) familyMeta.set(md.metricFamilyName, md);

  // Series go into their own writer while the symbol table fills; symbols (field 4) are then written
  // first, as receivers expect, and the series appended.
  const body = new Writer(estimateSize(req));
  const refs: number[] = [];
  for (const s of req.series) {
    body.tag(V2Request.TIMESERIES, LEN);
    const m = body.beginLen();
    refs.length = 0;
    for (const l of s.labels) refs.push(symbols.ref(l.name), symbols.ref(l.value));
    writePackedRefs(body, V2TimeSeries.LABELS_REFS, refs);
    if (s.samples) {
      for (const sample of s.samples) {
        body.tag(V2TimeSeries.SAMPLES, LEN);
        const sm = body.beginLen();
        writeDoubleField(body, SampleField.VALUE, sample.value);
        writeInt64Field(body, SampleField.TIMESTAMP, sample.timestamp);
        writeInt64Field(body, SampleField.START_TIMESTAMP, sample.startTimestamp ?? 0);
        body.endLen(sm);
      }
    }
    if (s.histograms) {
      for (const h of s.histograms) {
        body.tag(V2TimeSeries.HISTOGRAMS, LEN);
        const hm = body.beginLen();
        writeHistogram(body, h, 2);
        body.endLen(hm);
      }
    }
    if (s.exemplars) {
      for (const e of s.exemplars) {
        body.tag(V2TimeSeries.EXEMPLARS, LEN);
        const em = body.beginLen();
        refs.length = 0;
        for (const l of e.labels) refs.push(symbols.ref(l.name), symbols.ref(l.value));
        writePackedRefs(body, V2Exemplar.LABELS_REFS, refs);
        writeDoubleField(body, V2Exemplar.VALUE, e.value);
        writeInt64Field(body, V2Exemplar.TIMESTAMP, e.timestamp);
        body.endLen(em);
      }
    }
    const md = s.metadata ?? (familyMeta.size > 0 ? familyMeta.get(metricNameOf(s.labels)) : undefined);
    if (md) {
      body.tag(V2TimeSeries.METADATA, LEN);
      const mm = body.beginLen();
      if (md.type !== 0) {
        body.tag(V2Metadata.TYPE, VARINT);
        body.varint(md.type);
      }
      const helpRef = symbols.ref(md.help ?? '');
      if (helpRef !== 0) {
        body.tag(V2Metadata.HELP_REF, VARINT);
        body.varint(helpRef);
      }
      const unitRef = symbols.ref(md.unit ?? '');
      if (unitRef !== 0) {
        body.tag(V2Metadata.UNIT_REF, VARINT);
        body.varint(unitRef);
      }
      body.endLen(mm);
    }
    body.endLen(m);
  }

  const w = new Writer(symbols.byteEstimate + body.pos + 16);
  for (const sym of symbols.list) {
    w.tag(V2Request.SYMBOLS, LEN);
    w.string(sym);
  }
  w.ensure(body.pos);
  body.buf.copy(w.buf, w.pos, 0, body.pos);
  w.pos += body.pos;
  return w.finish();
}

class SymbolTable {
  readonly list: string[] = [''];
  byteEstimate = 2;
  private readonly index = new Map<string, number>([['', 0]]);

  ref(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.index.set(s, i);
      this.byteEstimate += s.length * 3 + 6;
    }
    return i;
  }
}

function writeLabel(w: Writer, field: number, l: Label): void {
  w.tag(field, LEN);
  const m = w.beginLen();
  writeStringField(w, V1Label.NAME, l.name);
  writeStringField(w, V1Label.VALUE, l.value);
  w.endLen(m);
}

/** proto3: an empty string is the default and is not sent. */
function writeStringField(w: Writer, field: number, s: string): void {
  if (s.length === 0) return;
  w.tag(field, LEN);
  w.string(s);
}

/** proto3: a double is omitted only when all its bits are zero (so -0 and every NaN are sent). */
function writeDoubleField(w: Writer, field: number, v: number): void {
  if (v === 0 && !Object.is(v, -0)) return;
  w.tag(field, I64);
  w.double(v);
}

function writeInt64Field(w: Writer, field: number, v: number): void {
  if (v === 0) return;
  w.tag(field, VARINT);
  w.int64(v);
}

function writePackedRefs(w: Writer, field: number, refs: number[]): void {
  if (refs.length === 0) return;
  w.tag(field, LEN);
  const m = w.beginLen();
  for (const r of refs) w.varint(r);
  w.endLen(m);
}

function metricNameOf(labels: Label[]): string {
  for (const l of labels) if (l.name === '__name__') return l.value;
  return '';
}

/** A starting buffer size that avoids most regrowth without a sizing pass. */
function estimateSize(req: WriteRequestInput): number {
  const n = req.series.length;
  if (n === 0) return 64;
  const first = req.series[0];
  let labelBytes = 0;
  for (const l of first.labels) labelBytes += l.name.length + l.value.length + 6;
  const samples = first.samples?.length ?? 0;
  return Math.min(64 << 20, n * (labelBytes + samples * 22 + 8) + 64);
}
