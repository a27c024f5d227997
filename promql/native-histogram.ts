// Native (sparse, exponential-bucket) histograms as the engine evaluates them: Prometheus'
// FloatHistogram (model/histogram/float_histogram.go), with absolute bucket counts, and the operations
// PromQL needs: conversion from the remote-write message, change of schema, addition, subtraction,
// scaling, compaction, counter-reset detection, bucket iteration (API output, histogram_quantile,
// histogram_fraction).
//
// Operations work on an expanded form (bucket index → count, ascending) and rebuild spans afterwards;
// the spans they produce are canonical (adjacent buckets in one span), which does not change the
// histogram. Buckets with a zero count are kept until compact() drops them, as in Prometheus, because
// some functions look at whether a side has buckets at all.
//
// Custom-bucket histograms (schema -53, Prometheus 3 only) are not supported: fromRemoteWrite rejects
// them.

import type { NativeHistogram } from '../protocol/histogram.ts';
import { PromQLError } from './errors.ts';

export interface BucketSpan {
  offset: number;
  length: number;
}

/** Counter-reset hints (Prometheus' CounterResetHint, the remote-write ResetHint). */
export const CounterResetHint = { UNKNOWN: 0, RESET: 1, NOT_RESET: 2, GAUGE: 3 } as const;

export interface FloatHistogram {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positiveSpans: BucketSpan[];
  /** Absolute counts, one per bucket covered by positiveSpans. */
  positiveBuckets: number[];
  negativeSpans: BucketSpan[];
  negativeBuckets: number[];
  counterResetHint: number;
}

export function isFloatHistogram(x: unknown): x is FloatHistogram {
  return typeof x === 'object' && x !== null && 'positiveBuckets' in x;
}

const SCHEMA_MIN = -4;
const SCHEMA_MAX = 8;

/** Converts a decoded remote-write histogram (integer deltas or float counts) to a FloatHistogram. */
export function fromRemoteWrite(h: NativeHistogram): FloatHistogram {
  if (h.schema < SCHEMA_MIN || h.schema > SCHEMA_MAX) {
    throw new PromQLError('promql_unsupported', `native histograms with schema ${h.schema} are not supported (only exponential schemas ${SCHEMA_MIN}..${SCHEMA_MAX})`);
  }
  const side = (spans: readonly BucketSpan[], deltas: readonly number[], counts: readonly number[]): number[] => {
    let n = 0;
    for (const s of spans) n += s.length;
    if (h.isFloat) {
      if (counts.length !== n) throw new PromQLError('promql_storage', `histogram spans need ${n} buckets, have ${counts.length}`);
      return counts.slice();
    }
    if (deltas.length !== n) throw new PromQLError('promql_storage', `histogram spans need ${n} buckets, have ${deltas.length}`);
    const out: number[] = new Array(n);
    let abs = 0;
    for (let i = 0; i < n; i++) {
      abs += deltas[i]!;
      out[i] = abs;
    }
    return out;
  };
  return {
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    count: h.count,
    sum: h.sum,
    positiveSpans: h.positiveSpans.map((s) => ({ offset: s.offset, length: s.length })),
    positiveBuckets: side(h.positiveSpans, h.positiveDeltas, h.positiveCounts),
    negativeSpans: h.negativeSpans.map((s) => ({ offset: s.offset, length: s.length })),
    negativeBuckets: side(h.negativeSpans, h.negativeDeltas, h.negativeCounts),
    counterResetHint: h.resetHint,
  };
}

const staleCheck = new Float64Array(1);
const staleBits = new Uint32Array(staleCheck.buffer);

/**
 * True for Prometheus' stale marker for histograms: a histogram whose sum is the stale NaN
 * (0x7ff0000000000002). The bit pattern survives decoding (DataView → object property).
 */
export function isStaleHistogram(h: FloatHistogram): boolean {
  if (h.sum === h.sum) return false;
  staleCheck[0] = h.sum;
  return staleBits[0] === 0x00000002 && staleBits[1] === 0x7ff00000;
}

export function copyHistogram(h: FloatHistogram): FloatHistogram {
  return {
    ...h,
    positiveSpans: h.positiveSpans.map((s) => ({ ...s })),
    positiveBuckets: h.positiveBuckets.slice(),
    negativeSpans: h.negativeSpans.map((s) => ({ ...s })),
    negativeBuckets: h.negativeBuckets.slice(),
  };
}

// --- bucket boundaries ---------------------------------------------------------------------------

/**
 * Bucket bounds in [0.5, 1) of schema 8 (Prometheus' precomputed exponentialBounds table, which is not
 * what Math.pow(2, i / 256) / 2 gives to the last ulp). Schema s uses every 2^(8-s)-th entry.
 */
const SCHEMA8_BOUNDS: readonly number[] = [
  0.5, 0.5013556375251013, 0.5027149505564014, 0.5040779490592088,
  0.5054446430258502, 0.5068150424757447, 0.5081891574554764, 0.509566998038869,
  0.5109485743270583, 0.5123338964485679, 0.5137229745593818, 0.5151158188430205,
  0.5165124395106142, 0.5179128468009786, 0.5193170509806894, 0.520725062344158,
  0.5221368912137069, 0.5235525479396449, 0.5249720429003435, 0.526395386502313,
  0.5278225891802786, 0.5292536613972564, 0.5306886136446309, 0.5321274564422321,
  0.5335702003384117, 0.5350168559101208, 0.5364674337629877, 0.5379219445313954,
  0.5393803988785598, 0.5408428074966075, 0.5423091811066545, 0.5437795304588847,
  0.5452538663326288, 0.5467321995364429, 0.5482145409081883, 0.549700901315111,
  0.5511912916539204, 0.5526857228508706, 0.5541842058618393, 0.5556867516724088,
  0.5571933712979462, 0.5587040757836845, 0.5602188762048033, 0.5617377836665098,
  0.5632608093041209, 0.564787964283144, 0.5663192597993595, 0.5678547070789026,
  0.5693943173783458, 0.5709381019847808, 0.572486072215902, 0.5740382394200894,
  0.5755946149764913, 0.5771552102951081, 0.5787200368168754, 0.5802891060137493,
  0.5818624293887887, 0.5834400184762408, 0.585021884841625, 0.5866080400818185,
  0.5881984958251406, 0.5897932637314379, 0.5913923554921704, 0.5929957828304968,
  0.5946035575013605, 0.5962156912915756, 0.5978321960199137, 0.5994530835371903,
  0.6010783657263515, 0.6027080545025619, 0.6043421618132907, 0.6059806996384005,
  0.6076236799902344, 0.6092711149137041, 0.6109230164863786, 0.6125793968185725,
  0.6142402680534349, 0.6159056423670379, 0.6175755319684665, 0.6192499490999082,
  0.620928906036742, 0.622612415087629, 0.6243004885946023, 0.6259931389331581,
  0.6276903785123455, 0.6293922197748583, 0.6310986751971253, 0.6328097572894031,
  0.6345254785958666, 0.6362458516947014, 0.637970889198196, 0.6397006037528346,
  0.6414350080393891, 0.6431741147730128, 0.6449179367033329, 0.6466664866145447,
  0.6484197773255048, 0.6501778216898253, 0.6519406325959679, 0.6537082229673385,
  0.6554806057623822, 0.6572577939746774, 0.659039800633032, 0.6608266388015788,
  0.6626183215798706, 0.6644148621029772, 0.6662162735415805, 0.6680225691020727,
  0.6698337620266515, 0.6716498655934177, 0.6734708931164728, 0.6752968579460171,
  0.6771277734684463, 0.6789636531064505, 0.6808045103191123, 0.6826503586020058,
  0.6845012114872953, 0.6863570825438342, 0.688217985377265, 0.690083933630119,
  0.6919549409819159, 0.6938310211492645, 0.6957121878859629, 0.6975984549830999,
  0.6994898362691555, 0.7013863456101023, 0.7032879969095076, 0.7051948041086352,
  0.7071067811865475, 0.7090239421602076, 0.7109463010845827, 0.7128738720527471,
  0.7148066691959849, 0.7167447066838943, 0.718687998724491, 0.7206365595643126,
  0.7225904034885232, 0.7245495448210174, 0.7265139979245261, 0.7284837772007218,
  0.7304588970903234, 0.7324393720732029, 0.7344252166684908, 0.7364164454346837,
  0.7384130729697496, 0.7404151139112358, 0.7424225829363761, 0.7444354947621984,
  0.7464538641456323, 0.7484777058836176, 0.7505070348132126, 0.7525418658117031,
  0.7545822137967112, 0.7566280937263048, 0.7586795205991071, 0.7607365094544071,
  0.762799075372269, 0.7648672334736434, 0.7669409989204777, 0.7690203869158282,
  0.7711054127039704, 0.7731960915705107, 0.7752924388424999, 0.7773944698885442,
  0.7795022001189185, 0.7816156449856788, 0.7837348199827764, 0.7858597406461707,
  0.7879904225539431, 0.7901268813264122, 0.7922691326262467, 0.7944171921585818,
  0.7965710756711334, 0.7987307989543135, 0.8008963778413465, 0.8030678282083853,
  0.805245165974627, 0.8074284071024302, 0.8096175675974316, 0.8118126635086642,
  0.8140137109286738, 0.8162207259936375, 0.8184337248834821, 0.820652723822003,
  0.8228777390769823, 0.8251087869603088, 0.8273458838280969, 0.8295890460808079,
  0.8318382901633681, 0.8340936325652911, 0.8363550898207981, 0.8386226785089391,
  0.8408964152537144, 0.8431763167241966, 0.8454623996346523, 0.8477546807446661,
  0.8500531768592616, 0.8523579048290255, 0.8546688815502312, 0.8569861239649629,
  0.8593096490612387, 0.8616394738731368, 0.8639756154809185, 0.8663180910111553,
  0.8686669176368529, 0.871022112577578, 0.8733836930995842, 0.8757516765159389,
  0.8781260801866495, 0.8805069215187917, 0.8828942179666361, 0.8852879870317771,
  0.8876882462632604, 0.890095013257712, 0.8925083056594671, 0.8949281411607002,
  0.8973545375015533, 0.8997875124702672, 0.9022270839033115, 0.9046732696855155,
  0.9071260877501991, 0.909585556079304, 0.9120516927035263, 0.9145245157024483,
  0.9170040432046711, 0.9194902933879467, 0.9219832844793128, 0.9244830347552253,
  0.9269895625416926, 0.92950288621441, 0.9320230241988943, 0.9345499949706191,
  0.9370838170551498, 0.93962450902828, 0.9421720895161669, 0.9447265771954693,
  0.9472879907934827, 0.9498563490882775, 0.9524316709088368, 0.9550139751351947,
  0.9576032806985735, 0.9601996065815236, 0.9628029718180622, 0.9654133954938133,
  0.9680308967461471, 0.9706554947643201, 0.9732872087896164, 0.9759260581154889,
  0.9785720620876999, 0.9812252401044634, 0.9838856116165875, 0.9865531961276168,
  0.9892280131939752, 0.9919100824251095, 0.9945994234836328, 0.9972960560854698,
];

/** ldexp for the exponents bounds need (two steps keep 2^exp finite for exp up to 1024 after scaling). */
function ldexp(frac: number, exp: number): number {
  if (exp > 1000) return frac * Math.pow(2, 1000) * Math.pow(2, exp - 1000);
  if (exp < -1000) return frac * Math.pow(2, -1000) * Math.pow(2, exp + 1000);
  return frac * Math.pow(2, exp);
}

/** The upper bound of bucket `idx` of a schema (Prometheus' getBound). */
export function bucketBound(idx: number, schema: number): number {
  if (schema < 0) {
    const exp = idx * 2 ** -schema;
    if (exp === 1024) return Number.MAX_VALUE;
    return ldexp(1, exp);
  }
  const n = 1 << schema;
  const fracIdx = ((idx % n) + n) % n;
  const frac = SCHEMA8_BOUNDS[fracIdx << (SCHEMA_MAX - schema)]!;
  const exp = Math.floor(idx / n) + 1;
  if (frac === 0.5 && exp === 1025) return Number.MAX_VALUE;
  return ldexp(frac, exp);
}

/** The index in `to` (≤ from) of the bucket that contains bucket `idx` of schema `from`. */
function targetIndex(idx: number, from: number, to: number): number {
  return Math.floor((idx - 1) / 2 ** (from - to)) + 1;
}

// --- expanded form -------------------------------------------------------------------------------

interface Side {
  idx: number[];
  cnt: number[];
}

function expand(spans: readonly BucketSpan[], buckets: readonly number[]): Side {
  const idx: number[] = [];
  const cnt: number[] = [];
  let i = 0;
  let b = 0;
  for (const s of spans) {
    i += s.offset;
    for (let k = 0; k < s.length; k++) {
      idx.push(i++);
      cnt.push(buckets[b++]!);
    }
  }
  return { idx, cnt };
}

function collapse(side: Side): { spans: BucketSpan[]; buckets: number[] } {
  const spans: BucketSpan[] = [];
  let next = 0;
  for (let k = 0; k < side.idx.length; k++) {
    const i = side.idx[k]!;
    if (spans.length > 0 && i === next) spans[spans.length - 1]!.length++;
    else spans.push({ offset: spans.length === 0 ? i : i - next, length: 1 });
    next = i + 1;
  }
  return { spans, buckets: side.cnt.slice() };
}

function reduceSide(side: Side, from: number, to: number): Side {
  if (from === to) return { idx: side.idx.slice(), cnt: side.cnt.slice() };
  const idx: number[] = [];
  const cnt: number[] = [];
  for (let k = 0; k < side.idx.length; k++) {
    const t = targetIndex(side.idx[k]!, from, to);
    if (idx.length > 0 && idx[idx.length - 1] === t) cnt[cnt.length - 1]! += side.cnt[k]!;
    else {
      idx.push(t);
      cnt.push(side.cnt[k]!);
    }
  }
  return { idx, cnt };
}

function setSides(h: FloatHistogram, pos: Side, neg: Side): void {
  const p = collapse(pos);
  const n = collapse(neg);
  h.positiveSpans = p.spans;
  h.positiveBuckets = p.buckets;
  h.negativeSpans = n.spans;
  h.negativeBuckets = n.buckets;
}

/** A copy in a schema of lower (or equal) resolution (Prometheus' CopyToSchema). */
export function copyToSchema(h: FloatHistogram, schema: number): FloatHistogram {
  if (schema > h.schema) throw new PromQLError('promql_internal', `cannot copy a histogram from schema ${h.schema} to ${schema}`);
  const out = copyHistogram(h);
  if (schema === h.schema) return out;
  out.schema = schema;
  setSides(out, reduceSide(expand(h.positiveSpans, h.positiveBuckets), h.schema, schema), reduceSide(expand(h.negativeSpans, h.negativeBuckets), h.schema, schema));
  return out;
}

/**
 * The zero count a histogram would have with a zero threshold of at least `larger`, and the threshold
 * it would really need: if `larger` falls inside a populated bucket, that bucket's upper bound
 * (Prometheus' zeroCountForLargerThreshold).
 */
function zeroCountForLargerThreshold(h: FloatHistogram, larger: number): [number, number] {
  if (larger === h.zeroThreshold) return [h.zeroCount, larger];
  for (;;) {
    let count = h.zeroCount;
    let moved = false;
    const pos = expand(h.positiveSpans, h.positiveBuckets);
    for (let k = 0; k < pos.idx.length; k++) {
      const lower = bucketBound(pos.idx[k]! - 1, h.schema);
      const upper = bucketBound(pos.idx[k]!, h.schema);
      if (lower >= larger) break;
      count += pos.cnt[k]!;
      if (upper > larger) {
        if (pos.cnt[k] !== 0) {
          larger = upper;
          moved = true;
        }
        break;
      }
    }
    if (moved) continue;
    const neg = expand(h.negativeSpans, h.negativeBuckets);
    for (let k = 0; k < neg.idx.length; k++) {
      const lower = bucketBound(neg.idx[k]! - 1, h.schema);
      const upper = bucketBound(neg.idx[k]!, h.schema);
      if (lower >= larger) break;
      count += neg.cnt[k]!;
      if (upper > larger) {
        if (neg.cnt[k] !== 0) {
          larger = upper;
          moved = true;
        }
        break;
      }
    }
    if (moved) continue;
    return [count, larger];
  }
}

/** Zeroes the buckets of h that lie inside its zero bucket (Prometheus' trimBucketsInZeroBucket). */
function trimBucketsInZeroBucket(h: FloatHistogram): void {
  const trim = (spans: BucketSpan[], buckets: number[]): void => {
    const side = expand(spans, buckets);
    for (let k = 0; k < side.idx.length; k++) {
      if (bucketBound(side.idx[k]!, h.schema) > h.zeroThreshold) break;
      buckets[k] = 0;
    }
  };
  trim(h.positiveSpans, h.positiveBuckets);
  trim(h.negativeSpans, h.negativeBuckets);
}

/** Brings h's zero bucket to the wider of both thresholds; returns other's zero count for it. */
function reconcileZeroBuckets(h: FloatHistogram, other: FloatHistogram): number {
  let otherZeroCount = other.zeroCount;
  let otherZeroThreshold = other.zeroThreshold;
  while (otherZeroThreshold !== h.zeroThreshold) {
    if (h.zeroThreshold > otherZeroThreshold) [otherZeroCount, otherZeroThreshold] = zeroCountForLargerThreshold(other, h.zeroThreshold);
    if (otherZeroThreshold > h.zeroThreshold) {
      [h.zeroCount, h.zeroThreshold] = zeroCountForLargerThreshold(h, otherZeroThreshold);
      trimBucketsInZeroBucket(h);
    }
  }
  return otherZeroCount;
}

/** other's buckets of one side in h's schema, without those inside h's zero bucket. */
function otherSide(h: FloatHistogram, other: FloatHistogram, positive: boolean): Side {
  const side = positive ? expand(other.positiveSpans, other.positiveBuckets) : expand(other.negativeSpans, other.negativeBuckets);
  const reduced = reduceSide(side, other.schema, h.schema);
  const idx: number[] = [];
  const cnt: number[] = [];
  for (let k = 0; k < reduced.idx.length; k++) {
    if (bucketBound(reduced.idx[k]!, h.schema) <= h.zeroThreshold) continue;
    idx.push(reduced.idx[k]!);
    cnt.push(reduced.cnt[k]!);
  }
  return { idx, cnt };
}

function mergeSides(a: Side, b: Side, sign: number): Side {
  const idx: number[] = [];
  const cnt: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.idx.length || j < b.idx.length) {
    if (j >= b.idx.length || (i < a.idx.length && a.idx[i]! < b.idx[j]!)) {
      idx.push(a.idx[i]!);
      cnt.push(a.cnt[i++]!);
    } else if (i >= a.idx.length || b.idx[j]! < a.idx[i]!) {
      idx.push(b.idx[j]!);
      cnt.push(sign * b.cnt[j++]!);
    } else {
      idx.push(a.idx[i]!);
      cnt.push(a.cnt[i++]! + sign * b.cnt[j++]!);
    }
  }
  return { idx, cnt };
}

/**
 * Adds (sign 1) or subtracts (sign -1) other to/from h in place. Like Prometheus, other's schema must
 * be ≥ h's; the zero thresholds are reconciled to the wider one.
 */
function addInPlace(h: FloatHistogram, other: FloatHistogram, sign: 1 | -1): FloatHistogram {
  if (other.schema < h.schema) throw new PromQLError('promql_internal', 'histogram addition with a lower-resolution operand');
  const otherZeroCount = reconcileZeroBuckets(h, other);
  h.zeroCount += sign * otherZeroCount;
  h.count += sign * other.count;
  h.sum += sign * other.sum;
  const pos = mergeSides(expand(h.positiveSpans, h.positiveBuckets), otherSide(h, other, true), sign);
  const neg = mergeSides(expand(h.negativeSpans, h.negativeBuckets), otherSide(h, other, false), sign);
  setSides(h, pos, neg);
  return h;
}

/** a + b as a new histogram, in the lower of both schemas. */
export function addHistograms(a: FloatHistogram, b: FloatHistogram): FloatHistogram {
  if (b.schema >= a.schema) return addInPlace(copyHistogram(a), b, 1);
  return addInPlace(copyHistogram(b), a, 1);
}

/** In place: h + other (other.schema ≥ h.schema). */
export function addTo(h: FloatHistogram, other: FloatHistogram): FloatHistogram {
  return addInPlace(h, other, 1);
}

/** In place: h - other (other.schema ≥ h.schema). */
export function subFrom(h: FloatHistogram, other: FloatHistogram): FloatHistogram {
  return addInPlace(h, other, -1);
}

/** In place: every count and the sum multiplied by f. */
export function scaleHistogram(h: FloatHistogram, f: number): FloatHistogram {
  h.zeroCount *= f;
  h.count *= f;
  h.sum *= f;
  for (let i = 0; i < h.positiveBuckets.length; i++) h.positiveBuckets[i]! *= f;
  for (let i = 0; i < h.negativeBuckets.length; i++) h.negativeBuckets[i]! *= f;
  return h;
}

/** In place: drops empty buckets (Prometheus' Compact(0)). */
export function compactHistogram(h: FloatHistogram): FloatHistogram {
  const keep = (s: Side): Side => {
    const idx: number[] = [];
    const cnt: number[] = [];
    for (let k = 0; k < s.idx.length; k++) {
      if (s.cnt[k] === 0) continue;
      idx.push(s.idx[k]!);
      cnt.push(s.cnt[k]!);
    }
    return { idx, cnt };
  };
  setSides(h, keep(expand(h.positiveSpans, h.positiveBuckets)), keep(expand(h.negativeSpans, h.negativeBuckets)));
  return h;
}

/**
 * True if `h` (the newer sample) is a counter reset relative to `prev` (Prometheus' DetectReset): a
 * smaller count, zero count or bucket count, a bucket of prev missing in h, a higher schema or a
 * smaller zero threshold. The sender's reset hint is not trusted: Prometheus' TSDB detects resets
 * itself when it appends a histogram, by this same comparison.
 */
export function detectReset(h: FloatHistogram, prev: FloatHistogram): boolean {
  if (h.count < prev.count) return true;
  if (h.schema > prev.schema) return true;
  if (h.zeroThreshold < prev.zeroThreshold) return true;
  const [prevZeroCount, newThreshold] = zeroCountForLargerThreshold(prev, h.zeroThreshold);
  if (newThreshold !== h.zeroThreshold) return true;
  if (h.zeroCount < prevZeroCount) return true;
  const sideReset = (cur: Side, old: Side): boolean => {
    // Buckets in h's schema, above h's zero threshold.
    const c = new Map<number, number>();
    for (let k = 0; k < cur.idx.length; k++) if (bucketBound(cur.idx[k]!, h.schema) > h.zeroThreshold) c.set(cur.idx[k]!, cur.cnt[k]!);
    const o = reduceSide(old, prev.schema, h.schema);
    for (let k = 0; k < o.idx.length; k++) {
      if (bucketBound(o.idx[k]!, h.schema) <= h.zeroThreshold) continue;
      const now = c.get(o.idx[k]!);
      if (now === undefined ? o.cnt[k]! > 0 : now < o.cnt[k]!) return true;
    }
    return false;
  };
  return (
    sideReset(expand(h.positiveSpans, h.positiveBuckets), expand(prev.positiveSpans, prev.positiveBuckets)) ||
    sideReset(expand(h.negativeSpans, h.negativeBuckets), expand(prev.negativeSpans, prev.negativeBuckets))
  );
}

// --- iteration -----------------------------------------------------------------------------------

export interface HistogramBucket {
  lower: number;
  upper: number;
  lowerInclusive: boolean;
  upperInclusive: boolean;
  count: number;
}

/**
 * All buckets in ascending order: negative buckets (most negative first), the zero bucket when its
 * count is not zero, positive buckets (Prometheus' AllBucketIterator). Empty buckets are included.
 */
export function allBuckets(h: FloatHistogram): HistogramBucket[] {
  const out: HistogramBucket[] = [];
  const neg = expand(h.negativeSpans, h.negativeBuckets);
  for (let k = neg.idx.length - 1; k >= 0; k--) {
    const lower = -bucketBound(neg.idx[k]!, h.schema);
    const upper = -bucketBound(neg.idx[k]! - 1, h.schema);
    out.push({ lower, upper, lowerInclusive: lower < 0, upperInclusive: upper > 0, count: neg.cnt[k]! });
  }
  if (h.zeroCount > 0) out.push({ lower: -h.zeroThreshold, upper: h.zeroThreshold, lowerInclusive: true, upperInclusive: true, count: h.zeroCount });
  const pos = expand(h.positiveSpans, h.positiveBuckets);
  for (let k = 0; k < pos.idx.length; k++) {
    const lower = bucketBound(pos.idx[k]! - 1, h.schema);
    const upper = bucketBound(pos.idx[k]!, h.schema);
    out.push({ lower, upper, lowerInclusive: lower < 0, upperInclusive: upper > 0, count: pos.cnt[k]! });
  }
  return out;
}

/** The quantile q of a native histogram, interpolating linearly within the bucket (Prometheus 2.42). */
export function nativeHistogramQuantile(q: number, h: FloatHistogram): number {
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (h.count === 0 || q !== q) return NaN;
  const buckets = allBuckets(h);
  let bucket: HistogramBucket | undefined;
  let count = 0;
  const rank0 = q * h.count;
  for (const b of buckets) {
    bucket = b;
    count += b.count;
    if (count >= rank0) break;
  }
  if (!bucket) return NaN;
  let lower = bucket.lower;
  let upper = bucket.upper;
  if (lower < 0 && upper > 0) {
    if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) lower = 0;
    else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) upper = 0;
  }
  if (count > h.count) count = h.count;
  if (count < rank0) return upper;
  const rank = rank0 - (count - bucket.count);
  return lower + (upper - lower) * (rank / bucket.count);
}

/** The estimated fraction of observations in [lower, upper] (Prometheus 2.42's histogramFraction). */
export function nativeHistogramFraction(lower: number, upper: number, h: FloatHistogram): number {
  if (h.count === 0 || lower !== lower || upper !== upper) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  for (const b0 of allBuckets(h)) {
    let bl = b0.lower;
    let bu = b0.upper;
    if (bl < 0 && bu > 0) {
      if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) bl = 0;
      else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) bu = 0;
    }
    if (!lowerSet && bl >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && bl >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && bl < lower && bu > lower) {
      lowerRank = rank + (b0.count * (lower - bl)) / (bu - bl);
      lowerSet = true;
    }
    if (!upperSet && bl < upper && bu > upper) {
      upperRank = rank + (b0.count * (upper - bl)) / (bu - bl);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank += b0.count;
  }
  if (!lowerSet || lowerRank > h.count) lowerRank = h.count;
  if (!upperSet || upperRank > h.count) upperRank = h.count;
  return (upperRank - lowerRank) / h.count;
}

// --- rate, increase, delta -----------------------------------------------------------------------

/**
 * rate/increase (isCounter) or delta of the native histograms hs[lo..hi) taken at ts[lo..hi) in the
 * window (rangeStart, rangeEnd] (Prometheus' extrapolatedRate + histogramRate): the last histogram
 * minus the first, in the lowest schema involved, plus the histogram before each counter reset,
 * compacted, then extrapolated to the window like a float rate (without the zero-point rule, which
 * Prometheus applies to floats only). Undefined for fewer than two samples.
 */
export function histogramRate(
  ts: ArrayLike<number>,
  hs: ArrayLike<FloatHistogram | undefined>,
  lo: number,
  hi: number,
  w: { rangeStart: number; rangeEnd: number; rangeMs: number },
  isCounter: boolean,
  isRate: boolean,
): FloatHistogram | undefined {
  const n = hi - lo;
  if (n < 2) return undefined;
  const first = hs[lo]!;
  const last = hs[hi - 1]!;
  let minSchema = Math.min(first.schema, last.schema);
  if (isCounter) for (let i = lo + 1; i < hi - 1; i++) minSchema = Math.min(minSchema, hs[i]!.schema);
  const h = subFrom(copyToSchema(last, minSchema), first);
  if (isCounter) {
    let prev = first;
    for (let i = lo + 1; i < hi; i++) {
      const cur = hs[i]!;
      if (detectReset(cur, prev)) addTo(h, prev);
      prev = cur;
    }
  }
  compactHistogram(h);
  const firstT = ts[lo]!;
  const lastT = ts[hi - 1]!;
  let durationToStart = (firstT - w.rangeStart) / 1000;
  let durationToEnd = (w.rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= w.rangeMs / 1000;
  h.counterResetHint = CounterResetHint.GAUGE;
  return scaleHistogram(h, factor);
}

/** a - b as a new histogram, in the lower of both schemas (Prometheus 3's Sub). */
export function subHistograms(a: FloatHistogram, b: FloatHistogram): FloatHistogram {
  const h = b.schema >= a.schema ? copyHistogram(a) : copyToSchema(a, b.schema);
  return subFrom(h, b);
}

/** In place: every count and the sum divided by d (Prometheus 3's Div). */
export function divideHistogram(h: FloatHistogram, d: number): FloatHistogram {
  h.zeroCount /= d;
  h.count /= d;
  h.sum /= d;
  for (let i = 0; i < h.positiveBuckets.length; i++) h.positiveBuckets[i]! /= d;
  for (let i = 0; i < h.negativeBuckets.length; i++) h.negativeBuckets[i]! /= d;
  return h;
}
