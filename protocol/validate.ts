// What a decoded series, histogram, exemplar or sample may contain. Pure functions over decoded values;
// storage calls them (with the tenant's limits) and turns a Rejection into a 400 with the message.
//
// Names: Prometheus 3 validates metric and label names as UTF-8 (compliance sends names with dots and
// spaces), for 1.0 as well as 2.0 requests, so any non-empty valid UTF-8 name is accepted; the old
// [a-zA-Z_:][a-zA-Z0-9_:]* patterns are only SHOULDs now.

import type { DecodedExemplar, DecodedSeries, Label, Rejection, RejectReason, RemoteWriteVersion, WriteLimits } from './types.ts';
import type { NativeHistogram } from './histogram.ts';

export const METRIC_NAME_LABEL = '__name__';
/** OpenMetrics: an exemplar's label names and values together are at most 128 UTF-8 characters. */
export const EXEMPLAR_MAX_LABEL_RUNES = 128;
/** Native histogram schemas: exponential −4..8, and −53 for custom buckets (NHCB). */
export const HISTOGRAM_SCHEMA_MIN = -4;
export const HISTOGRAM_SCHEMA_MAX = 8;
export const CUSTOM_BUCKETS_SCHEMA = -53;
/** Label names and values are cut to this many characters in messages, so one huge label cannot bloat a response. */
const MESSAGE_VALUE_CHARS = 120;
const MESSAGE_MAX_LABELS = 40;

export type LabelValidation = { ok: true; labels: Label[]; metricName: string } | { ok: false; rejection: Rejection };

/**
 * Compares strings in UTF-8 byte order (= code point order), which is how Prometheus sorts labels.
 * Plain `<` compares UTF-16 code units and puts U+10000.. (surrogates) before U+E000..U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800..0xDFFF) encode code points above 0xFFFF: lift them above the rest of the BMP.
    if (x >= 0xd800 && x <= 0xdfff) x += 0x10000;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x10000;
    return x - y;
  }
  return a.length - b.length;
}

function compareLabels(a: Label, b: Label): number {
  return a.name === b.name ? 0 : compareUtf8(a.name, b.name);
}

/** Sorts labels by name in UTF-8 byte order, in place, and returns the array. */
export function sortLabels(labels: Label[]): Label[] {
  return labels.sort(compareLabels);
}

const cut = (s: string) => (s.length > MESSAGE_VALUE_CHARS ? `${s.slice(0, MESSAGE_VALUE_CHARS)}…` : s);

/**
 * Prometheus's rendering of a label set: {__name__="x", a="b"}. Bounded for messages: long names and
 * values are cut, and at most MESSAGE_MAX_LABELS labels are shown.
 */
export function formatLabels(labels: readonly Label[]): string {
  let out = '{';
  const shown = Math.min(labels.length, MESSAGE_MAX_LABELS);
  for (let i = 0; i < shown; i++) out += `${i > 0 ? ', ' : ''}${cut(labels[i].name)}=${JSON.stringify(cut(labels[i].value))}`;
  if (labels.length > shown) out += `, … ${labels.length - shown} more`;
  return out + '}';
}

/** Bytes of a string in UTF-8. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      n += 2; // a surrogate pair: 2 units, 4 bytes
      i++;
    } else {
      n += 2;
    }
  }
  return n;
}

/** Longer than `max` bytes of UTF-8? Avoids measuring when the UTF-16 length already decides. */
function tooLong(s: string, max: number): boolean {
  if (s.length > max) return true; // UTF-8 is never shorter than UTF-16 code units
  if (s.length * 3 <= max) return false;
  return utf8Length(s) > max;
}

function reject(reason: RejectReason, labels: readonly Label[], problem: string): { ok: false; rejection: Rejection } {
  return { ok: false, rejection: { reason, message: `series ${formatLabels(labels)}: ${problem}` } };
}

/**
 * Validates one series' labels as sent (any order). On success returns them sorted by name (UTF-8 byte
 * order) with empty-valued labels dropped (an empty value means the label is absent), and the metric name.
 * The rules are the same for both versions.
 */
export function validateSeriesLabels(labels: readonly Label[], limits: WriteLimits, version: RemoteWriteVersion): LabelValidation {
  void version;
  const sorted = labels.slice().sort(compareLabels);
  for (let i = 0; i < sorted.length; i++) {
    const { name, value } = sorted[i];
    if (name.length === 0) return reject('empty_label_name', sorted, 'a label has an empty name');
    if (i > 0 && sorted[i - 1].name === name) return reject('duplicate_label_name', sorted, `duplicate label name ${JSON.stringify(cut(name))}`);
    // Strings from labelsOf() are UTF-8 already; strings built in JS may hold lone surrogates.
    if (!name.isWellFormed() || !value.isWellFormed()) return reject('invalid_utf8', sorted, `label ${JSON.stringify(cut(name))} is not valid UTF-8`);
  }
  const kept = sorted.filter((l) => l.value.length > 0);
  let metricName = '';
  for (const l of kept) if (l.name === METRIC_NAME_LABEL) metricName = l.value;
  if (metricName === '') return reject('missing_metric_name', kept, 'no metric name (__name__ missing or empty)');
  if (kept.length > limits.maxLabelsPerSeries) {
    return reject('too_many_labels', kept, `${kept.length} labels, more than the limit of ${limits.maxLabelsPerSeries}`);
  }
  for (const { name, value } of kept) {
    if (tooLong(name, limits.maxLabelNameLength)) {
      return reject('label_name_too_long', kept, `label name ${JSON.stringify(cut(name))} is longer than ${limits.maxLabelNameLength} bytes`);
    }
    if (tooLong(value, limits.maxLabelValueLength)) {
      return reject('label_value_too_long', kept, `the value of label ${JSON.stringify(cut(name))} is longer than ${limits.maxLabelValueLength} bytes`);
    }
  }
  return { ok: true, labels: kept, metricName };
}

/**
 * A 2.0 series must carry samples or histograms, never both (2.0 spec, "Per-TimeSeries rules"). 1.0
 * has no such rule and an empty 1.0 series is simply nothing to write.
 */
export function checkSeriesContents(series: DecodedSeries, version: RemoteWriteVersion): RejectReason | null {
  if (version !== 2) return null;
  if (series.sampleCount === 0 && series.histogramCount === 0) return 'no_samples';
  if (series.sampleCount > 0 && series.histogramCount > 0) return 'samples_and_histograms';
  return null;
}

/** 'too_far_in_future' beyond limits.maxFutureMs ahead of now, 'too_old' beyond maxAgeMs back (when > 0). */
export function checkSampleTimestamp(ts: number, nowMs: number, limits: WriteLimits): RejectReason | null {
  if (!Number.isSafeInteger(ts)) return 'timestamp_out_of_range';
  if (ts > nowMs + limits.maxFutureMs) return 'too_far_in_future';
  if (limits.maxAgeMs > 0 && ts < nowMs - limits.maxAgeMs) return 'too_old';
  return null;
}

function invalidHistogram(series: string | undefined, problem: string): Rejection {
  return { reason: 'invalid_histogram', message: `${series ? `series ${series}: ` : ''}invalid native histogram: ${problem}` };
}

/**
 * Prometheus's Histogram.Validate() / FloatHistogram.Validate() (model/histogram): spans must add up to
 * the bucket count and only the first may have a negative offset; no bucket may be negative (integer
 * buckets after delta decoding); for integer histograms buckets plus zero count must equal count, or
 * be at most count when sum is NaN (NaN observations count but land in no bucket). Prometheus skips
 * the count check for float histograms (rounding), and so does this. Schemas: −4..8, or −53 with the
 * custom-bucket rules. `series` (e.g. formatLabels(labels)) prefixes the message.
 */
export function validateHistogram(h: NativeHistogram, series?: string): Rejection | null {
  const positive = h.isFloat ? h.positiveCounts : h.positiveDeltas;
  const negative = h.isFloat ? h.negativeCounts : h.negativeDeltas;
  if (h.schema === CUSTOM_BUCKETS_SCHEMA) {
    const err = checkCustomBounds(h.customValues, h.positiveSpans, positive.length);
    if (err) return invalidHistogram(series, `custom buckets: ${err}`);
    if (h.zeroCount !== 0) return invalidHistogram(series, 'custom buckets: must have zero count of 0');
    if (h.zeroThreshold !== 0) return invalidHistogram(series, 'custom buckets: must have zero threshold of 0');
    if (h.negativeSpans.length > 0) return invalidHistogram(series, 'custom buckets: must not have negative spans');
    if (negative.length > 0) return invalidHistogram(series, 'custom buckets: must not have negative buckets');
  } else if (Number.isInteger(h.schema) && h.schema >= HISTOGRAM_SCHEMA_MIN && h.schema <= HISTOGRAM_SCHEMA_MAX) {
    let err = checkSpans(h.positiveSpans, positive.length);
    if (err) return invalidHistogram(series, `positive side: ${err}`);
    err = checkSpans(h.negativeSpans, negative.length);
    if (err) return invalidHistogram(series, `negative side: ${err}`);
    if (h.customValues.length > 0) return invalidHistogram(series, 'custom bounds are only allowed with the custom-buckets schema (-53)');
  } else {
    return invalidHistogram(series, `schema ${h.schema} is not one of -4..8 or -53`);
  }
  const neg = sumBuckets(negative, !h.isFloat);
  if (typeof neg === 'string') return invalidHistogram(series, `negative side: ${neg}`);
  const pos = sumBuckets(positive, !h.isFloat);
  if (typeof pos === 'string') return invalidHistogram(series, `positive side: ${pos}`);
  if (!h.isFloat) {
    const inBuckets = neg + pos + h.zeroCount;
    if (Number.isNaN(h.sum)) {
      if (inBuckets > h.count) {
        return invalidHistogram(series, `${inBuckets} observations found in buckets, but the count field is ${h.count} (must be at least that, sum is NaN)`);
      }
    } else if (inBuckets !== h.count) {
      return invalidHistogram(series, `${inBuckets} observations found in buckets, but the count field is ${h.count}`);
    }
  }
  return null;
}

function checkSpans(spans: NativeHistogram['positiveSpans'], buckets: number): string | null {
  let need = 0;
  for (let i = 0; i < spans.length; i++) {
    if (i > 0 && spans[i].offset < 0) return `span number ${i + 1} has negative offset ${spans[i].offset}`;
    need += spans[i].length;
  }
  return need === buckets ? null : `spans need ${need} buckets, have ${buckets} buckets`;
}

function checkCustomBounds(bounds: number[], spans: NativeHistogram['positiveSpans'], buckets: number): string | null {
  let prev = -Infinity;
  for (let i = 0; i < bounds.length; i++) {
    const b = bounds[i];
    if (Number.isNaN(b)) return `bound number ${i + 1} is NaN`;
    if (b <= prev) return `bounds must increase strictly, but ${b} follows ${prev}`;
    prev = b;
  }
  if (prev === Infinity) return 'the last bound must not be +Inf (it is implicit)';
  let need = 0;
  let covered = 0;
  for (let i = 0; i < spans.length; i++) {
    if (spans[i].offset < 0) return `span number ${i + 1} has negative offset ${spans[i].offset}`;
    need += spans[i].length;
    covered += spans[i].length + spans[i].offset;
  }
  if (need !== buckets) return `spans need ${need} buckets, have ${buckets} buckets`;
  if (bounds.length + 1 < covered) return `only ${bounds.length} custom bounds for spans covering ${covered} buckets`;
  return null;
}

/** Sum of the (delta-decoded when `deltas`) bucket counts, or a message for the first negative one. */
function sumBuckets(buckets: number[], deltas: boolean): number | string {
  let total = 0;
  let last = 0;
  for (let i = 0; i < buckets.length; i++) {
    const c = deltas ? last + buckets[i] : buckets[i];
    if (c < 0) return `bucket number ${i + 1} has observation count of ${c}`;
    last = c;
    total += c;
  }
  return total;
}

/** Characters (code points) of a string, as utf8.RuneCountInString counts them. */
function runeCount(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/**
 * An exemplar needs a timestamp (0 = absent in proto3) and labels with non-empty names totalling at most
 * 128 characters (OpenMetrics). The value cannot be checked for presence (0 is proto3's absent), and
 * NaN/±Inf are allowed. A problem the decoder already found (exemplar.error) is returned as is.
 * `series` (e.g. formatLabels(labels)) prefixes the message.
 */
export function validateExemplar(e: DecodedExemplar, series?: string): Rejection | null {
  if (e.error) return e.error;
  const where = series ? `series ${series}: ` : '';
  if (e.timestamp === 0) return { reason: 'invalid_exemplar', message: `${where}exemplar has no timestamp` };
  let runes = 0;
  for (const l of e.labels) {
    if (l.name.length === 0) return { reason: 'invalid_exemplar', message: `${where}exemplar has a label with an empty name` };
    runes += runeCount(l.name) + runeCount(l.value);
  }
  if (runes > EXEMPLAR_MAX_LABEL_RUNES) {
    return {
      reason: 'invalid_exemplar',
      message: `${where}exemplar labels ${formatLabels(e.labels)} are ${runes} characters long, more than ${EXEMPLAR_MAX_LABEL_RUNES}`,
    };
  }
  return null;
}
