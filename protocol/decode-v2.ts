// Hand-written decoder of io.prometheus.write.v2.Request (remote-write 2.0-rc.4) into DecodedWriteRequest.
//
// Two passes over the top level: the first finds the symbol table (protobuf allows it anywhere, senders
// put it first), the second decodes the time series against it. Label refs are kept as numbers; the
// series key joins the referenced symbols' raw bytes as latin1 with '\xff' between them, a byte that
// valid UTF-8 never contains, so equal keys mean equal label lists. A symbol that does contain 0xff is
// not UTF-8 at all, and series referring to it are marked 'invalid_utf8' so they cannot alias a valid key.
//
// Per-series problems (a ref out of range, an odd ref count, a timestamp beyond ±2^53) mark the series
// (`error`) instead of failing the request, so the rest can still be written; only a malformed message
// (or symbols[0] not being "") throws.

import type {
  DecodedExemplar,
  DecodedHistogram,
  DecodedMetadata,
  DecodedSeries,
  DecodedWriteRequest,
  Label,
  Rejection,
  SampleColumns,
} from './types.ts';
import { ProtocolError } from './errors.ts';
import { Tag } from './fields.ts';
import { Reader } from './wire.ts';
import { SampleColumnsBuilder } from './columns.ts';
import { readHistogram } from './histogram.ts';
import { asBuffer, invalidUtf8, latin1, utf8OrNull } from './bytes.ts';
import { MetadataSet } from './metadata.ts';
import { metricType } from './decode-v1.ts';

/** Initial sample capacity per request byte (2.0 series are small: refs plus samples). */
const BYTES_PER_SAMPLE_GUESS = 32;
/** Separator between symbols in a series key: never part of valid UTF-8. */
const KEY_SEPARATOR = '\xff';
/** Key of a series marked with an error: not a possible valid key (non-empty, no separator). */
const INVALID_KEY = '\u0000invalid';
/** A ref that does not fit 32 bits is out of range whatever the table; it is recorded as this. */
const REF_OUT_OF_RANGE = 0xffffffff;

const SYMBOL_HAS_FF = 1;
/** Reused by keyOf(). */
const keyParts: string[] = [];
const SYMBOL_IS_NAME = 2;
const NAME_LABEL = '__name__';

export function decodeWriteRequestV2(bytes: Uint8Array): DecodedWriteRequest {
  const buf = asBuffer(bytes);
  const end = buf.length;
  const r = new Reader(buf);

  // Pass 1: symbol table, and the structure of the top level.
  const symStart: number[] = [];
  const symEnd: number[] = [];
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === Tag.V2_SYMBOLS) {
      const e = r.lenEnd();
      symStart.push(r.pos);
      symEnd.push(e);
      r.pos = e;
    } else {
      r.skip(tag);
    }
  }
  if (symStart.length > 0 && symEnd[0] !== symStart[0]) {
    throw new ProtocolError('malformed_protobuf', 'malformed remote-write 2.0 request: symbols[0] must be the empty string');
  }

  const d = new V2Decoder(buf, symStart, symEnd);
  r.pos = 0;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === Tag.V2_TIMESERIES) d.readSeries(r, r.lenEnd());
    else r.skip(tag);
  }
  return new V2Request(d);
}

class V2Decoder {
  readonly buf: Buffer;
  readonly cols: SampleColumnsBuilder;
  readonly series: DecodedSeries[] = [];
  readonly histograms: DecodedHistogram[] = [];
  readonly exemplars: DecodedExemplar[] = [];
  readonly metadata = new MetadataSet();

  readonly symCount: number;
  readonly symStart: number[];
  readonly symEnd: number[];
  /** Each symbol's raw bytes as latin1: the pieces series keys are made of. */
  readonly symKey: string[];
  readonly symFlags: Uint8Array;
  /** Whether any symbol contains 0xff (then refs are checked one by one). */
  anyHasFF = false;
  /** keyOf()'s cache: "name\xffvalue" for value ref i, valid while pairName[i] is the name ref. */
  private readonly pairText: (string | undefined)[];
  private readonly pairName: Int32Array;
  /** UTF-8 decoded symbols, filled lazily; null = not valid UTF-8. */
  readonly symText: (string | null | undefined)[];

  /** All series' label refs back to back; series i has refCount[i] refs from refStart[i]. */
  refs: Uint32Array;
  refLength = 0;
  readonly refStart: number[] = [];
  readonly refCount: number[] = [];

  // Metadata dedupe by the __name__ value's ref: the last (type, help ref, unit ref) seen for it.
  private metaType: Int32Array | null = null;
  private metaHelp: Uint32Array | null = null;
  private metaUnit: Uint32Array | null = null;

  constructor(buf: Buffer, symStart: number[], symEnd: number[]) {
    this.buf = buf;
    this.cols = new SampleColumnsBuilder(buf.length / BYTES_PER_SAMPLE_GUESS);
    this.symStart = symStart;
    this.symEnd = symEnd;
    const n = symStart.length;
    this.symCount = n;
    this.symKey = new Array<string>(n);
    this.symFlags = new Uint8Array(n);
    this.symText = new Array<string | null | undefined>(n);
    this.pairText = new Array<string | undefined>(n);
    this.pairName = new Int32Array(n).fill(-1);
    this.refs = new Uint32Array(Math.max(256, buf.length >>> 3)); // grows on demand
    if (n === 0) return;
    // One native call for the whole table, then substrings (cheap, no copy for longer ones) per symbol.
    // The table is normally one contiguous run at the start; the span covers it wherever it is.
    let lo = symStart[0];
    let hi = symEnd[0];
    for (let i = 1; i < n; i++) {
      if (symStart[i] < lo) lo = symStart[i];
      if (symEnd[i] > hi) hi = symEnd[i];
    }
    const all = latin1(buf, lo, hi);
    for (let i = 0; i < n; i++) {
      const s = all.substring(symStart[i] - lo, symEnd[i] - lo);
      this.symKey[i] = s;
      let flags = 0;
      if (s.indexOf(KEY_SEPARATOR) !== -1) {
        flags |= SYMBOL_HAS_FF;
        this.anyHasFF = true;
      }
      if (s.length === NAME_LABEL.length && s === NAME_LABEL) flags |= SYMBOL_IS_NAME;
      this.symFlags[i] = flags;
    }
  }

  readSeries(r: Reader, end: number): void {
    const buf = this.buf;
    const cols = this.cols;
    const seriesIndex = this.series.length;
    const outerEnd = r.end;
    r.end = end;
    const sampleStart = cols.length;
    const refStart = this.refLength;
    const histogramStart = this.histograms.length;
    let exemplarCount = 0;
    let badTimestamp = false;
    let hasMetadata = false;
    let metaType = 0;
    let helpRef = 0;
    let unitRef = 0;
    let legacyStart = 0;

    while (r.pos < end) {
      const tag = r.tag();
      switch (tag) {
        case Tag.V2_LABELS_REFS_PACKED: {
          const e = r.lenEnd();
          // Each ref takes at least one byte, so this many slots are enough.
          this.reserveRefs(e - r.pos);
          const refs = this.refs;
          let n = this.refLength;
          let p = r.pos;
          // Refs below 2^14 (one or two bytes) inline; anything longer through the reader.
          while (p < e) {
            const b = buf[p];
            if (b < 0x80) {
              refs[n++] = b;
              p++;
            } else if (p + 1 < e && buf[p + 1] < 0x80) {
              refs[n++] = (b & 0x7f) | (buf[p + 1] << 7);
              p += 2;
            } else {
              r.pos = p;
              r.end = e;
              refs[n++] = readRef(r);
              r.end = end;
              p = r.pos;
            }
          }
          r.pos = e;
          this.refLength = n;
          break;
        }
        case Tag.V2_LABELS_REFS_UNPACKED:
          this.reserveRefs(1);
          this.refs[this.refLength++] = readRef(r);
          break;
        case Tag.V2_SAMPLES: {
          const sampleEnd = r.lenEnd();
          if (cols.length === cols.capacity) cols.grow();
          const n = cols.length++;
          let ts = 0;
          let st = 0;
          r.end = sampleEnd;
          while (r.pos < sampleEnd) {
            const t = r.tag();
            if (t === Tag.SAMPLE_VALUE) r.copyDouble(cols.valueBytes, n * 8);
            else if (t === Tag.SAMPLE_TIMESTAMP) ts = r.int64();
            else if (t === Tag.SAMPLE_START_TIMESTAMP) st = r.int64();
            else r.skip(t);
          }
          r.end = end;
          if (!Number.isSafeInteger(ts) || !Number.isSafeInteger(st)) badTimestamp = true;
          cols.timestamps[n] = ts;
          cols.startTimestamps[n] = st;
          cols.series[n] = seriesIndex;
          break;
        }
        case Tag.V2_HISTOGRAMS: {
          const hEnd = r.lenEnd();
          const hStart = r.pos;
          const h = readHistogram(r, hEnd) as DecodedHistogram;
          h.seriesIndex = seriesIndex;
          h.raw = buf.subarray(hStart, hEnd);
          if (!Number.isSafeInteger(h.timestamp) || !Number.isSafeInteger(h.startTimestamp)) badTimestamp = true;
          this.histograms.push(h);
          break;
        }
        case Tag.V2_EXEMPLARS:
          this.exemplars.push(this.readExemplar(r, r.lenEnd(), seriesIndex));
          exemplarCount++;
          break;
        case Tag.V2_METADATA: {
          const e = r.lenEnd();
          r.end = e;
          hasMetadata = true;
          // proto3 message semantics: a repeated Metadata field merges; scalars, last one wins.
          while (r.pos < e) {
            const t = r.tag();
            if (t === Tag.V2_METADATA_TYPE) metaType = r.uint32();
            else if (t === Tag.V2_METADATA_HELP_REF) helpRef = readRef(r);
            else if (t === Tag.V2_METADATA_UNIT_REF) unitRef = readRef(r);
            else r.skip(t);
          }
          r.end = end;
          break;
        }
        case Tag.V2_LEGACY_CREATED_TIMESTAMP:
          legacyStart = r.int64();
          if (!Number.isSafeInteger(legacyStart)) badTimestamp = true;
          break;
        default:
          r.skip(tag);
      }
    }
    r.end = outerEnd;

    const refCount = this.refLength - refStart;
    const histogramCount = this.histograms.length - histogramStart;
    let error = this.checkRefs(seriesIndex, refStart, refCount);
    if (error === null && badTimestamp) {
      error = { reason: 'timestamp_out_of_range', message: `series #${seriesIndex}: a timestamp is outside ±2^53 ms` };
    }

    // Pre-rc.4 senders put the start timestamp on the series (field 6); it applies where none is set.
    if (legacyStart !== 0) {
      const st = cols.startTimestamps;
      for (let i = sampleStart; i < cols.length; i++) if (st[i] === 0) st[i] = legacyStart;
      for (let i = histogramStart; i < this.histograms.length; i++) {
        const h = this.histograms[i];
        if (h.startTimestamp === 0) h.startTimestamp = legacyStart;
      }
    }

    const key = error === null ? this.keyOf(refStart, refCount) : INVALID_KEY;
    if (hasMetadata && error === null) error = this.addMetadata(seriesIndex, refStart, refCount, metaType, helpRef, unitRef);

    this.refStart.push(refStart);
    this.refCount.push(refCount);
    this.series.push({
      key,
      sampleStart,
      sampleCount: cols.length - sampleStart,
      histogramCount,
      exemplarCount,
      error,
    });
  }

  private reserveRefs(n: number): void {
    if (this.refLength + n <= this.refs.length) return;
    let size = this.refs.length * 2;
    while (size < this.refLength + n) size *= 2;
    const next = new Uint32Array(size);
    next.set(this.refs.subarray(0, this.refLength));
    this.refs = next;
  }

  /** Rejection for refs that cannot be resolved, or null. */
  private checkRefs(seriesIndex: number, start: number, count: number): Rejection | null {
    if (count % 2 !== 0) {
      return { reason: 'invalid_label_ref', message: `series #${seriesIndex}: labels_refs has an odd length (${count})` };
    }
    const refs = this.refs;
    const n = this.symCount;
    const end = start + count;
    let max = 0;
    for (let i = start; i < end; i++) if (refs[i] > max) max = refs[i];
    if (count > 0 && max >= n) {
      return {
        reason: 'invalid_label_ref',
        message: `series #${seriesIndex}: label ref ${max === REF_OUT_OF_RANGE ? '≥ 2^32' : max} is outside the ${n} symbols`,
      };
    }
    if (this.anyHasFF) {
      for (let i = start; i < end; i++) {
        if (this.symFlags[refs[i]] & SYMBOL_HAS_FF) {
          return { reason: 'invalid_utf8', message: `series #${seriesIndex}: symbol ${refs[i]} is not valid UTF-8 (contains byte 0xff)` };
        }
      }
    }
    return null;
  }

  /**
   * The series key, built flat with join(): concatenating with + is cheaper here but leaves a rope of
   * ~30 pieces that the writer's Map then flattens when hashing, which costs more overall (measured
   * on cAdvisor-like series: ~1.4 µs vs ~2.0 µs per series for build + Map.set).
   */
  private keyOf(start: number, count: number): string {
    if (count === 0) return '';
    const refs = this.refs;
    const sym = this.symKey;
    const pairText = this.pairText;
    const pairName = this.pairName;
    const parts = keyParts;
    const pairs = count >>> 1;
    parts.length = pairs;
    // Most name=value pairs recur across the request's series (job, endpoint, a container's id…), so
    // each value's "name\xffvalue" is kept and reused while it appears with the same name: the join
    // then has half the pieces.
    for (let i = 0; i < pairs; i++) {
      const nameRef = refs[start + 2 * i];
      const valueRef = refs[start + 2 * i + 1];
      let text = pairText[valueRef];
      if (pairName[valueRef] !== nameRef || text === undefined) {
        text = sym[nameRef] + KEY_SEPARATOR + sym[valueRef];
        pairText[valueRef] = text;
        pairName[valueRef] = nameRef;
      }
      parts[i] = text;
    }
    return parts.join(KEY_SEPARATOR);
  }

  /** UTF-8 text of a symbol (cached), or null when it is not valid UTF-8. */
  text(ref: number): string | null {
    let s = this.symText[ref];
    if (s === undefined) {
      s = utf8OrNull(this.buf, this.symStart[ref], this.symEnd[ref]);
      this.symText[ref] = s;
    }
    return s;
  }

  private addMetadata(seriesIndex: number, start: number, count: number, type: number, helpRef: number, unitRef: number): Rejection | null {
    const n = this.symCount;
    if (helpRef >= n || unitRef >= n) {
      return { reason: 'invalid_label_ref', message: `series #${seriesIndex}: metadata help/unit ref is outside the ${n} symbols` };
    }
    // Nothing to say: type unspecified and no help or unit.
    if (type === 0 && this.symEnd[helpRef] === this.symStart[helpRef] && this.symEnd[unitRef] === this.symStart[unitRef]) return null;
    // The family is named by the series' __name__; without one the series is rejected anyway.
    let nameRef = -1;
    const refs = this.refs;
    for (let i = start; i < start + count; i += 2) {
      if (this.symFlags[refs[i]] & SYMBOL_IS_NAME) nameRef = refs[i + 1];
    }
    if (nameRef < 0 || this.symEnd[nameRef] === this.symStart[nameRef]) return null;

    if (this.metaType === null) {
      this.metaType = new Int32Array(n).fill(-1);
      this.metaHelp = new Uint32Array(n);
      this.metaUnit = new Uint32Array(n);
    }
    const metaHelp = this.metaHelp as Uint32Array;
    const metaUnit = this.metaUnit as Uint32Array;
    if (this.metaType[nameRef] === type && metaHelp[nameRef] === helpRef && metaUnit[nameRef] === unitRef) return null;

    const family = this.text(nameRef);
    const help = this.text(helpRef);
    const unit = this.text(unitRef);
    if (family === null || help === null || unit === null) {
      const bad = family === null ? nameRef : help === null ? helpRef : unitRef;
      return { reason: 'invalid_utf8', message: `series #${seriesIndex}: symbol ${bad} (metric name or metadata) is not valid UTF-8` };
    }
    this.metadata.add(family, metricType(type), help, unit);
    this.metaType[nameRef] = type;
    metaHelp[nameRef] = helpRef;
    metaUnit[nameRef] = unitRef;
    return null;
  }

  private readExemplar(r: Reader, end: number, seriesIndex: number): DecodedExemplar {
    const outerEnd = r.end;
    r.end = end;
    const refs: number[] = [];
    let value = 0;
    let timestamp = 0;
    while (r.pos < end) {
      const tag = r.tag();
      if (tag === Tag.V2_EXEMPLAR_REFS_PACKED) {
        const e = r.lenEnd();
        r.end = e;
        while (r.pos < e) refs.push(readRef(r));
        r.end = end;
      } else if (tag === Tag.V2_EXEMPLAR_REFS_UNPACKED) {
        refs.push(readRef(r));
      } else if (tag === Tag.EXEMPLAR_VALUE) {
        value = r.double();
      } else if (tag === Tag.EXEMPLAR_TIMESTAMP) {
        timestamp = r.int64();
      } else {
        r.skip(tag);
      }
    }
    r.end = outerEnd;

    const labels: Label[] = [];
    let error: Rejection | null = null;
    if (refs.length % 2 !== 0) {
      error = { reason: 'invalid_label_ref', message: `an exemplar of series #${seriesIndex} has an odd number of label refs (${refs.length})` };
    } else {
      for (let i = 0; i < refs.length; i += 2) {
        if (refs[i] >= this.symCount || refs[i + 1] >= this.symCount) {
          error = { reason: 'invalid_label_ref', message: `an exemplar of series #${seriesIndex} has a label ref outside the ${this.symCount} symbols` };
          break;
        }
        const name = this.text(refs[i]);
        const val = this.text(refs[i + 1]);
        if (name === null || val === null) {
          error = { reason: 'invalid_utf8', message: `an exemplar of series #${seriesIndex} has a label that is not valid UTF-8` };
          break;
        }
        labels.push({ name, value: val });
      }
    }
    if (error === null && !Number.isSafeInteger(timestamp)) {
      error = { reason: 'timestamp_out_of_range', message: `an exemplar of series #${seriesIndex} has a timestamp outside ±2^53 ms` };
    }
    return { seriesIndex, labels: error === null ? labels : [], value, timestamp, error };
  }
}

/** A uint32 ref; anything wider cannot point into a table that fits in memory. */
function readRef(r: Reader): number {
  const v = r.uint64();
  return v > 0xffffffff ? REF_OUT_OF_RANGE : v;
}

class V2Request implements DecodedWriteRequest {
  readonly version = 2 as const;
  readonly series: DecodedSeries[];
  readonly samples: SampleColumns;
  readonly histograms: DecodedHistogram[];
  readonly exemplars: DecodedExemplar[];
  readonly metadata: DecodedMetadata[];
  private readonly d: V2Decoder;

  constructor(d: V2Decoder) {
    this.d = d;
    this.series = d.series;
    this.samples = d.cols.finish();
    this.histograms = d.histograms;
    this.exemplars = d.exemplars;
    this.metadata = d.metadata.list;
  }

  labelsOf(index: number): Label[] {
    const s = this.series[index];
    if (s === undefined) throw new RangeError(`no series #${index}`);
    if (s.error !== null && s.error.reason !== 'timestamp_out_of_range') throw new ProtocolError(s.error.reason, s.error.message);
    const d = this.d;
    const start = d.refStart[index];
    const end = start + d.refCount[index];
    const labels: Label[] = [];
    for (let i = start; i < end; i += 2) {
      const nameRef = d.refs[i];
      const valueRef = d.refs[i + 1];
      const name = d.text(nameRef);
      if (name === null) throw invalidUtf8(`series #${index}: a label name`, d.buf, d.symStart[nameRef], d.symEnd[nameRef]);
      const value = d.text(valueRef);
      if (value === null) {
        throw invalidUtf8(`series #${index}: the value of label "${name}"`, d.buf, d.symStart[valueRef], d.symEnd[valueRef]);
      }
      labels.push({ name, value });
    }
    return labels;
  }
}
