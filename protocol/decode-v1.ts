// Hand-written decoder of prometheus.WriteRequest (remote-write 1.0) into DecodedWriteRequest.
//
// The hot path is one pass over the bytes with no per-sample allocation: samples go straight into typed
// columns, and a series' labels are only walked (to check their structure and find their extent), not
// turned into strings. The series key is the raw bytes of the series' Label fields, tags and lengths
// included, as a latin1 string; since those bytes are self-delimiting, equal keys mean equal label lists.
// Labels are decoded to strings only when labelsOf(i) is called, i.e. for series the writer's cache
// does not know yet.

import type {
  DecodedExemplar,
  DecodedHistogram,
  DecodedMetadata,
  DecodedSeries,
  DecodedWriteRequest,
  Label,
  MetricTypeValue,
  Rejection,
  SampleColumns,
} from './types.ts';
import { MetricType } from './types.ts';
import { Tag } from './fields.ts';
import { Reader } from './wire.ts';
import { SampleColumnsBuilder } from './columns.ts';
import { readHistogram } from './histogram.ts';
import { asBuffer, invalidUtf8, latin1, utf8, utf8OrNull } from './bytes.ts';
import { MetadataSet } from './metadata.ts';

/** Initial sample capacity per request byte; a 1.0 sample with its share of labels is rarely under this. */
const BYTES_PER_SAMPLE_GUESS = 64;

export function decodeWriteRequestV1(bytes: Uint8Array): DecodedWriteRequest {
  const buf = asBuffer(bytes);
  const d = new V1Decoder(buf);
  const r = new Reader(buf);
  const end = buf.length;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === Tag.V1_TIMESERIES) {
      d.readSeries(r, r.lenEnd());
    } else if (tag === Tag.V1_METADATA) {
      d.readMetadata(r, r.lenEnd());
    } else {
      r.skip(tag);
    }
  }
  return d.finish();
}

class V1Decoder {
  readonly buf: Buffer;
  readonly cols: SampleColumnsBuilder;
  readonly series: DecodedSeries[] = [];
  readonly histograms: DecodedHistogram[] = [];
  readonly exemplars: DecodedExemplar[] = [];
  readonly metadata = new MetadataSet();
  // Where each series' Label fields are: one contiguous run [start, end) in the common case…
  readonly runStart: number[] = [];
  readonly runEnd: number[] = [];
  // …and, for the rare series whose labels are interleaved with other fields, all runs as flat pairs.
  readonly splitRuns = new Map<number, number[]>();

  constructor(buf: Buffer) {
    this.buf = buf;
    this.cols = new SampleColumnsBuilder(buf.length / BYTES_PER_SAMPLE_GUESS);
  }

  readSeries(r: Reader, end: number): void {
    const buf = this.buf;
    const cols = this.cols;
    const seriesIndex = this.series.length;
    const outerEnd = r.end;
    r.end = end;
    const sampleStart = cols.length;
    let runStart = -1;
    let runEnd = -1;
    let runs: number[] | null = null;
    let histogramCount = 0;
    let exemplarCount = 0;
    let badTimestamp = false;

    while (r.pos < end) {
      const fieldStart = r.pos;
      const tag = r.tag();
      if (tag === Tag.V1_LABELS) {
        let labelEnd = canonicalLabelEnd(buf, r.pos, end);
        if (labelEnd < 0) {
          labelEnd = r.lenEnd();
          skipFields(r, labelEnd);
        } else {
          r.pos = labelEnd;
        }
        if (fieldStart === runEnd) {
          runEnd = labelEnd;
        } else if (runStart < 0) {
          runStart = fieldStart;
          runEnd = labelEnd;
        } else {
          (runs ??= []).push(runStart, runEnd);
          runStart = fieldStart;
          runEnd = labelEnd;
        }
      } else if (tag === Tag.V1_SAMPLES) {
        const sampleEnd = r.lenEnd();
        if (cols.length === cols.capacity) cols.grow();
        const n = cols.length++;
        let ts = 0;
        r.end = sampleEnd;
        while (r.pos < sampleEnd) {
          const t = r.tag();
          if (t === Tag.SAMPLE_VALUE) r.copyDouble(cols.valueBytes, n * 8);
          else if (t === Tag.SAMPLE_TIMESTAMP) ts = r.int64();
          else r.skip(t);
        }
        r.end = end;
        if (!Number.isSafeInteger(ts)) badTimestamp = true;
        cols.timestamps[n] = ts;
        cols.series[n] = seriesIndex;
      } else if (tag === Tag.V1_HISTOGRAMS) {
        const hEnd = r.lenEnd();
        const hStart = r.pos;
        const h = readHistogram(r, hEnd) as DecodedHistogram;
        h.seriesIndex = seriesIndex;
        h.raw = buf.subarray(hStart, hEnd);
        // 1.0 has no start timestamps; a stray field 17 is not 1.0 data.
        h.startTimestamp = 0;
        if (!Number.isSafeInteger(h.timestamp)) badTimestamp = true;
        this.histograms.push(h);
        histogramCount++;
      } else if (tag === Tag.V1_EXEMPLARS) {
        this.exemplars.push(this.readExemplar(r, r.lenEnd(), seriesIndex));
        exemplarCount++;
      } else {
        r.skip(tag);
      }
    }
    r.end = outerEnd;

    let key: string;
    if (runs === null) {
      key = runStart < 0 ? '' : latin1(buf, runStart, runEnd);
    } else {
      runs.push(runStart, runEnd);
      key = '';
      for (let i = 0; i < runs.length; i += 2) key += latin1(buf, runs[i], runs[i + 1]);
      this.splitRuns.set(seriesIndex, runs);
    }
    this.runStart.push(runStart);
    this.runEnd.push(runEnd);
    const error: Rejection | null = badTimestamp
      ? { reason: 'timestamp_out_of_range', message: `series #${seriesIndex}: a timestamp is outside ±2^53 ms` }
      : null;
    this.series.push({
      key,
      sampleStart,
      sampleCount: cols.length - sampleStart,
      histogramCount,
      exemplarCount,
      error,
    });
  }

  readExemplar(r: Reader, end: number, seriesIndex: number): DecodedExemplar {
    const buf = this.buf;
    const outerEnd = r.end;
    r.end = end;
    const labels: Label[] = [];
    let value = 0;
    let timestamp = 0;
    let error: Rejection | null = null;
    while (r.pos < end) {
      const tag = r.tag();
      if (tag === Tag.V1_EXEMPLAR_LABELS) {
        const labelEnd = r.lenEnd();
        readLabel(r, labelEnd);
        const name = utf8OrNull(buf, nameStart, nameEnd);
        const val = utf8OrNull(buf, valueStart, valueEnd);
        if (name === null || val === null) {
          error ??= { reason: 'invalid_utf8', message: `an exemplar of series #${seriesIndex} has a label that is not valid UTF-8` };
        } else {
          labels.push({ name, value: val });
        }
      } else if (tag === Tag.EXEMPLAR_VALUE) {
        value = r.double();
      } else if (tag === Tag.EXEMPLAR_TIMESTAMP) {
        timestamp = r.int64();
      } else {
        r.skip(tag);
      }
    }
    r.end = outerEnd;
    if (!Number.isSafeInteger(timestamp)) {
      error ??= { reason: 'timestamp_out_of_range', message: `an exemplar of series #${seriesIndex} has a timestamp outside ±2^53 ms` };
    }
    return { seriesIndex, labels, value, timestamp, error };
  }

  readMetadata(r: Reader, end: number): void {
    const buf = this.buf;
    const outerEnd = r.end;
    r.end = end;
    let type = 0;
    let family = '';
    let help = '';
    let unit = '';
    while (r.pos < end) {
      const tag = r.tag();
      if (tag === Tag.V1_METADATA_TYPE) {
        type = r.uint32();
      } else if (tag === Tag.V1_METADATA_FAMILY) {
        const e = r.lenEnd();
        family = utf8(buf, r.pos, e, 'metadata metric_family_name');
        r.pos = e;
      } else if (tag === Tag.V1_METADATA_HELP) {
        const e = r.lenEnd();
        help = utf8(buf, r.pos, e, 'metadata help');
        r.pos = e;
      } else if (tag === Tag.V1_METADATA_UNIT) {
        const e = r.lenEnd();
        unit = utf8(buf, r.pos, e, 'metadata unit');
        r.pos = e;
      } else {
        r.skip(tag);
      }
    }
    r.end = outerEnd;
    this.metadata.add(family, metricType(type), help, unit);
  }

  finish(): DecodedWriteRequest {
    return new V1Request(this);
  }
}

/** Open proto3 enum: a value this version does not know is treated as unspecified. */
export function metricType(v: number): MetricTypeValue {
  return v <= MetricType.STATESET ? (v as MetricTypeValue) : MetricType.UNSPECIFIED;
}

/** Walks the fields of a message without interpreting them: checks its structure (tags, lengths, wire types). */
function skipFields(r: Reader, end: number): void {
  const outerEnd = r.end;
  r.end = end;
  while (r.pos < end) r.skip(r.tag());
  r.end = outerEnd;
}

/**
 * Fast structural check of one Label field as every sender writes it, starting after its tag: a length,
 * then `0a <len> name` and/or `12 <len> value` (lengths under 16 KiB) filling it exactly. Returns the
 * field's end, or -1 when the bytes are anything else, for the generic path to check (and maybe reject).
 */
function canonicalLabelEnd(buf: Uint8Array, p: number, end: number): number {
  if (p >= end) return -1;
  let b = buf[p++];
  let len = b;
  if (b >= 0x80) {
    if (p >= end) return -1;
    const b2 = buf[p++];
    if (b2 >= 0x80) return -1;
    len = (b & 0x7f) | (b2 << 7);
  }
  const labelEnd = p + len;
  if (labelEnd > end) return -1;
  for (let field = Tag.LABEL_NAME; p < labelEnd && field <= Tag.LABEL_VALUE; field += Tag.LABEL_VALUE - Tag.LABEL_NAME) {
    if (buf[p] !== field) continue;
    if (p + 1 >= labelEnd) return -1;
    b = buf[p + 1];
    if (b < 0x80) {
      p += 2 + b;
    } else {
      if (p + 2 >= labelEnd) return -1;
      const b2 = buf[p + 2];
      if (b2 >= 0x80) return -1;
      p += 3 + ((b & 0x7f) | (b2 << 7));
    }
  }
  return p === labelEnd ? labelEnd : -1;
}

// readLabel() reports the byte ranges of the last name and value fields (proto3: the last one wins;
// absent means empty) here rather than in an allocated object.
let nameStart = 0;
let nameEnd = 0;
let valueStart = 0;
let valueEnd = 0;

function readLabel(r: Reader, end: number): void {
  const outerEnd = r.end;
  r.end = end;
  nameStart = nameEnd = valueStart = valueEnd = 0;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === Tag.LABEL_NAME) {
      const e = r.lenEnd();
      nameStart = r.pos;
      nameEnd = r.pos = e;
    } else if (tag === Tag.LABEL_VALUE) {
      const e = r.lenEnd();
      valueStart = r.pos;
      valueEnd = r.pos = e;
    } else {
      r.skip(tag);
    }
  }
  r.end = outerEnd;
}

/** The labels of a 1.0 TimeSeries' Label fields (e.g. encodeLabelsV1's bytes), in their order. */
export function decodeLabelsV1(bytes: Uint8Array): Label[] {
  const buf = asBuffer(bytes);
  const r = new Reader(buf);
  const labels: Label[] = [];
  while (r.pos < buf.length) {
    const tag = r.tag();
    if (tag !== Tag.V1_LABELS) {
      r.skip(tag);
      continue;
    }
    readLabel(r, r.lenEnd());
    labels.push({ name: utf8(buf, nameStart, nameEnd, 'label name'), value: utf8(buf, valueStart, valueEnd, 'label value') });
  }
  return labels;
}

class V1Request implements DecodedWriteRequest {
  readonly version = 1 as const;
  readonly series: DecodedSeries[];
  readonly samples: SampleColumns;
  readonly histograms: DecodedHistogram[];
  readonly exemplars: DecodedExemplar[];
  readonly metadata: DecodedMetadata[];
  private readonly buf: Buffer;
  private readonly runStart: number[];
  private readonly runEnd: number[];
  private readonly splitRuns: Map<number, number[]>;

  constructor(d: V1Decoder) {
    this.buf = d.buf;
    this.series = d.series;
    this.samples = d.cols.finish();
    this.histograms = d.histograms;
    this.exemplars = d.exemplars;
    this.metadata = d.metadata.list;
    this.runStart = d.runStart;
    this.runEnd = d.runEnd;
    this.splitRuns = d.splitRuns;
  }

  labelsOf(index: number): Label[] {
    if (!(index >= 0 && index < this.series.length)) throw new RangeError(`no series #${index}`);
    const labels: Label[] = [];
    const runs = this.splitRuns.get(index);
    if (runs) {
      for (let i = 0; i < runs.length; i += 2) this.readRun(index, runs[i], runs[i + 1], labels);
    } else if (this.runStart[index] >= 0) {
      this.readRun(index, this.runStart[index], this.runEnd[index], labels);
    }
    return labels;
  }

  private readRun(index: number, start: number, end: number, out: Label[]): void {
    const buf = this.buf;
    // The run was checked structurally during decoding and holds only Label fields.
    const r = new Reader(buf, start, end);
    while (r.pos < end) {
      r.tag();
      const labelEnd = r.lenEnd();
      readLabel(r, labelEnd);
      r.pos = labelEnd;
      const name = utf8OrNull(buf, nameStart, nameEnd);
      if (name === null) throw invalidUtf8(`series #${index}: a label name`, buf, nameStart, nameEnd);
      const value = utf8OrNull(buf, valueStart, valueEnd);
      if (value === null) throw invalidUtf8(`series #${index}: the value of label "${name}"`, buf, valueStart, valueEnd);
      out.push({ name, value });
    }
  }
}
