// histogram_quantile() over classic histograms (series of `le` buckets), ported from Prometheus 3
// (promql/quantile.go). Native histograms are not supported yet.

import { BUCKET_LABEL, getLabel, LabelSetIndex, LabelsBuilder, METRIC_NAME, type LabelProjection, type Labels } from './labels.ts';

/** Buckets of one histogram: the same labels but for `le` (the metric name included, as Prometheus groups). */
const WITHOUT_BUCKET: LabelProjection = { keep: 'except', names: new Set([BUCKET_LABEL]) };

export interface Bucket {
  upperBound: number;
  count: number;
}

/**
 * The φ-quantile of classic buckets, interpolating linearly within the bucket (from 0 for the lowest
 * bucket when its bound is positive). NaN when there are no observations, fewer than two buckets or no
 * +Inf bucket; -Inf for φ < 0, +Inf for φ > 1. `forcedMonotonicity` reports a repaired decrease.
 */
export function bucketQuantile(q: number, input: Bucket[]): { value: number; forcedMonotonicity: boolean } {
  if (q !== q) return { value: NaN, forcedMonotonicity: false };
  if (q < 0) return { value: -Infinity, forcedMonotonicity: false };
  if (q > 1) return { value: Infinity, forcedMonotonicity: false };
  const sorted = input.map((b) => ({ ...b })).sort((a, b) => (a.upperBound < b.upperBound ? -1 : a.upperBound > b.upperBound ? 1 : 0));
  if (sorted[sorted.length - 1]!.upperBound !== Infinity) return { value: NaN, forcedMonotonicity: false };
  const buckets = coalesceBuckets(sorted);
  correctPrecisionErrors(buckets, 1e-12);
  const forced = ensureMonotonic(buckets);
  if (buckets.length < 2) return { value: NaN, forcedMonotonicity: false };
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return { value: NaN, forcedMonotonicity: false };
  let rank = q * observations;
  // sort.Search over all but the +Inf bucket.
  let b = 0;
  while (b < buckets.length - 1 && !(buckets[b]!.count >= rank)) b++;
  if (b === buckets.length - 1) return { value: buckets[buckets.length - 2]!.upperBound, forcedMonotonicity: forced };
  if (b === 0 && buckets[0]!.upperBound <= 0) return { value: buckets[0]!.upperBound, forcedMonotonicity: forced };
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.upperBound;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.upperBound;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return { value: bucketStart + (bucketEnd - bucketStart) * (rank / count), forcedMonotonicity: forced };
}

function coalesceBuckets(buckets: Bucket[]): Bucket[] {
  const out: Bucket[] = [];
  let last = buckets[0]!;
  for (const b of buckets.slice(1)) {
    if (b.upperBound === last.upperBound) last = { upperBound: last.upperBound, count: last.count + b.count };
    else {
      out.push(last);
      last = b;
    }
  }
  out.push(last);
  return out;
}

function correctPrecisionErrors(buckets: Bucket[], tolerance: number): void {
  let prev = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    const curr = buckets[i]!.count;
    const delta = Math.abs(curr - prev);
    if (delta === 0) continue;
    if (delta / curr <= tolerance) buckets[i]!.count = prev;
    else prev = curr;
  }
}

function ensureMonotonic(buckets: Bucket[]): boolean {
  let forced = false;
  let max = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    const c = buckets[i]!.count;
    if (c > max) max = c;
    else if (c < max) {
      buckets[i]!.count = max;
      forced = true;
    }
  }
  return forced;
}

/** Go's strconv.ParseFloat for `le` values: decimal, hex float, Inf/Infinity/NaN (any case, signed). */
export function parseGoFloat(s: string): number | null {
  const m = /^([+-]?)(.*)$/s.exec(s)!;
  const sign = m[1] === '-' ? -1 : 1;
  const body = m[2]!;
  const lower = body.toLowerCase();
  if (lower === 'inf' || lower === 'infinity') return sign * Infinity;
  if (lower === 'nan') return NaN;
  if (/^(?:[0-9]+(?:_[0-9]+)*\.?(?:[0-9]+(?:_[0-9]+)*)?|\.[0-9]+(?:_[0-9]+)*)(?:[eE][+-]?[0-9]+)?$/.test(body)) {
    return sign * Number(body.replace(/_/g, ''));
  }
  const hex = /^0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?[0-9]+)$/.exec(body);
  if (hex && (hex[1] !== '' || hex[2] !== '')) {
    const mant = parseInt(hex[1]! + hex[2]! || '0', 16) / 16 ** hex[2]!.length;
    return sign * mant * 2 ** Number(hex[3]);
  }
  return null;
}

export interface BucketSample {
  labels: Labels;
  v: number;
}

/**
 * histogram_quantile(φ, v) at one step: groups the bucket series by their labels without `le`, and
 * returns one sample per group with `le` and the metric name removed. Samples whose `le` does not parse
 * are ignored (reported through `onBadBucket`).
 */
export function histogramQuantile(
  q: number,
  samples: readonly BucketSample[],
  onBadBucket: (labels: Labels) => void,
  onForcedMonotonicity: () => void,
): BucketSample[] {
  const groups: Array<{ labels: Labels; buckets: Bucket[] }> = [];
  const index = new LabelSetIndex(WITHOUT_BUCKET);
  for (const s of samples) {
    const ub = parseGoFloat(getLabel(s.labels, BUCKET_LABEL));
    if (ub === null) {
      onBadBucket(s.labels);
      continue;
    }
    const o = index.ordinal(s.labels);
    if (o === groups.length) groups.push({ labels: new LabelsBuilder(s.labels).del(METRIC_NAME, BUCKET_LABEL).labels(), buckets: [] });
    groups[o]!.buckets.push({ upperBound: ub, count: s.v });
  }
  const out: BucketSample[] = [];
  for (const g of groups) {
    const r = bucketQuantile(q, g.buckets);
    if (r.forcedMonotonicity) onForcedMonotonicity();
    out.push({ labels: g.labels, v: r.value });
  }
  return out;
}
