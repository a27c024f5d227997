// PromQL's float functions, ported from Prometheus 3 (promql/functions.go) with the same algorithms
// (Kahan summation, extrapolation rules, NaN handling), so results agree to the last few ulps.
//
// Range-vector functions see one series' window at one step: samples ts[lo..hi), vs[lo..hi) (stale
// markers already removed, never empty). Instant-vector functions map one value to another.

import { compileAnchoredRegex, getLabel, isValidLabelName, LabelsBuilder, type Labels } from './labels.ts';
import { kahanSumInc, quantile } from './mathutil.ts';
import { executionError } from './errors.ts';

export interface WindowInfo {
  /** Evaluation (step) timestamp, ms. */
  evalTs: number;
  /** The window is (rangeStart, rangeEnd] in ms (after offset and @). */
  rangeStart: number;
  rangeEnd: number;
  /** The selector's range, ms. */
  rangeMs: number;
}

/** Returns the value, or undefined for "no sample at this step". `params` are the scalar arguments. */
export type RangeFunction = (
  ts: ArrayLike<number>,
  vs: ArrayLike<number>,
  lo: number,
  hi: number,
  w: WindowInfo,
  params: readonly number[],
) => number | undefined;

function extrapolatedRate(
  ts: ArrayLike<number>,
  vs: ArrayLike<number>,
  lo: number,
  hi: number,
  w: WindowInfo,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  const n = hi - lo;
  if (n < 2) return undefined;
  const firstT = ts[lo]!;
  const lastT = ts[hi - 1]!;
  let result = vs[hi - 1]! - vs[lo]!;
  if (isCounter) {
    for (let i = lo + 1; i < hi; i++) {
      const prev = vs[i - 1]!;
      if (vs[i]! < prev) result += prev;
    }
  }
  let durationToStart = (firstT - w.rangeStart) / 1000;
  let durationToEnd = (w.rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  // Extrapolate to a boundary only when the samples come close enough to it ("up to 10% more than the
  // average spacing"); otherwise assume the series starts/ends half a spacing beyond its samples.
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    // A counter cannot go below zero: do not extrapolate the start past the counter's zero point.
    let durationToZero = durationToStart;
    const first = vs[lo]!;
    if (result > 0 && first >= 0) durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= w.rangeMs / 1000;
  return result * factor;
}

function instantValue(ts: ArrayLike<number>, vs: ArrayLike<number>, hi: number, lo: number, isRate: boolean): number | undefined {
  if (hi - lo < 2) return undefined;
  const t0 = ts[hi - 2]!;
  const t1 = ts[hi - 1]!;
  const v0 = vs[hi - 2]!;
  const v1 = vs[hi - 1]!;
  const sampledInterval = t1 - t0;
  if (sampledInterval === 0) return undefined;
  let result = v1;
  // Gauge, or counter without reset (or with NaN): the difference; after a counter reset: v1 itself.
  if (!isRate || !(v1 < v0)) result = v1 - v0;
  if (isRate) result /= sampledInterval / 1000;
  return result;
}

/** Least-squares regression with Kahan sums; slope per second and intercept at interceptTime. */
export function linearRegression(
  ts: ArrayLike<number>,
  vs: ArrayLike<number>,
  lo: number,
  hi: number,
  interceptTime: number,
): [number, number] {
  let n = 0;
  let sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0;
  const initY = vs[lo]!;
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = vs[i]!;
    if (constY && i > lo && y !== initY) constY = false;
    n += 1;
    const x = (ts[i]! - interceptTime) / 1e3;
    [sumX, cX] = kahanSumInc(x, sumX, cX);
    [sumY, cY] = kahanSumInc(y, sumY, cY);
    [sumXY, cXY] = kahanSumInc(x * y, sumXY, cXY);
    [sumX2, cX2] = kahanSumInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

function variance(vs: ArrayLike<number>, lo: number, hi: number): number {
  let count = 0;
  let mean = 0, cMean = 0, aux = 0, cAux = 0;
  for (let i = lo; i < hi; i++) {
    const f = vs[i]!;
    count++;
    const delta = f - (mean + cMean);
    [mean, cMean] = kahanSumInc(delta / count, mean, cMean);
    [aux, cAux] = kahanSumInc(delta * (f - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

export const RANGE_FUNCTIONS: ReadonlyMap<string, RangeFunction> = new Map<string, RangeFunction>([
  ['rate', (ts, vs, lo, hi, w) => extrapolatedRate(ts, vs, lo, hi, w, true, true)],
  ['increase', (ts, vs, lo, hi, w) => extrapolatedRate(ts, vs, lo, hi, w, true, false)],
  ['delta', (ts, vs, lo, hi, w) => extrapolatedRate(ts, vs, lo, hi, w, false, false)],
  ['irate', (ts, vs, lo, hi) => instantValue(ts, vs, hi, lo, true)],
  ['idelta', (ts, vs, lo, hi) => instantValue(ts, vs, hi, lo, false)],
  [
    'deriv',
    (ts, vs, lo, hi) => {
      if (hi - lo < 2) return undefined;
      // An intercept time near the samples avoids precision loss (prometheus#2674).
      return linearRegression(ts, vs, lo, hi, ts[lo]!)[0];
    },
  ],
  [
    'predict_linear',
    (ts, vs, lo, hi, w, params) => {
      if (hi - lo < 2) return undefined;
      const [slope, intercept] = linearRegression(ts, vs, lo, hi, w.evalTs);
      return slope * params[0]! + intercept;
    },
  ],
  [
    'changes',
    (_ts, vs, lo, hi) => {
      let changes = 0;
      for (let i = lo + 1; i < hi; i++) {
        const cur = vs[i]!;
        const prev = vs[i - 1]!;
        if (cur !== prev && !(cur !== cur && prev !== prev)) changes++;
      }
      return changes;
    },
  ],
  [
    'resets',
    (_ts, vs, lo, hi) => {
      let resets = 0;
      for (let i = lo + 1; i < hi; i++) if (vs[i]! < vs[i - 1]!) resets++;
      return resets;
    },
  ],
  [
    'avg_over_time',
    (_ts, vs, lo, hi) => {
      // Direct mean with Kahan summation while the sum stays finite, incremental mean after that.
      let sum = vs[lo]!;
      let count = 1;
      let mean = 0;
      let c = 0;
      let incremental = false;
      for (let i = lo + 1; i < hi; i++) {
        const f = vs[i]!;
        count = i - lo + 1;
        if (!incremental) {
          const [newSum, newC] = kahanSumInc(f, sum, c);
          if (newSum !== Infinity && newSum !== -Infinity) {
            sum = newSum;
            c = newC;
            continue;
          }
          incremental = true;
          mean = sum / (count - 1);
          c /= count - 1;
        }
        const q = (count - 1) / count;
        [mean, c] = kahanSumInc(f / count, q * mean, q * c);
      }
      if (incremental) return mean + c;
      return sum / count + c / count;
    },
  ],
  ['count_over_time', (_ts, _vs, lo, hi) => hi - lo],
  [
    'sum_over_time',
    (_ts, vs, lo, hi) => {
      let sum = 0;
      let c = 0;
      for (let i = lo; i < hi; i++) [sum, c] = kahanSumInc(vs[i]!, sum, c);
      if (sum === Infinity || sum === -Infinity) return sum;
      return sum + c;
    },
  ],
  [
    'max_over_time',
    (_ts, vs, lo, hi) => {
      let max = vs[lo]!;
      for (let i = lo; i < hi; i++) {
        const f = vs[i]!;
        if (f > max || max !== max) max = f;
      }
      return max;
    },
  ],
  [
    'min_over_time',
    (_ts, vs, lo, hi) => {
      let min = vs[lo]!;
      for (let i = lo; i < hi; i++) {
        const f = vs[i]!;
        if (f < min || min !== min) min = f;
      }
      return min;
    },
  ],
  [
    'quantile_over_time',
    (_ts, vs, lo, hi, _w, params) => {
      const values = new Float64Array(hi - lo);
      for (let i = lo; i < hi; i++) values[i - lo] = vs[i]!;
      return quantile(params[0]!, values);
    },
  ],
  ['stddev_over_time', (_ts, vs, lo, hi) => Math.sqrt(variance(vs, lo, hi))],
  ['stdvar_over_time', (_ts, vs, lo, hi) => variance(vs, lo, hi)],
  ['last_over_time', (_ts, vs, _lo, hi) => vs[hi - 1]!],
  ['present_over_time', () => 1],
  // absent_over_time: the engine turns "some series has samples" into its result.
  ['absent_over_time', () => 1],
]);

/** The scalar-parameter positions of range functions (all others are the matrix argument). */
export const RANGE_FUNCTION_MATRIX_ARG: ReadonlyMap<string, number> = new Map([
  ['quantile_over_time', 1],
  ['predict_linear', 0],
]);

// ---------------------------------------------------------------------------------------------------
// Instant-vector functions of one value (they all drop the metric name).

const sgn = (v: number): number => (v < 0 ? -1 : v > 0 ? 1 : v);

export const MATH_FUNCTIONS: ReadonlyMap<string, (v: number) => number> = new Map<string, (v: number) => number>([
  ['abs', Math.abs],
  ['ceil', Math.ceil],
  ['floor', Math.floor],
  ['exp', Math.exp],
  ['sqrt', Math.sqrt],
  ['ln', Math.log],
  ['log2', Math.log2],
  ['log10', Math.log10],
  ['sin', Math.sin],
  ['cos', Math.cos],
  ['tan', Math.tan],
  ['asin', Math.asin],
  ['acos', Math.acos],
  ['atan', Math.atan],
  ['sinh', Math.sinh],
  ['cosh', Math.cosh],
  ['tanh', Math.tanh],
  ['asinh', Math.asinh],
  ['acosh', Math.acosh],
  ['atanh', Math.atanh],
  ['rad', (v) => (v * Math.PI) / 180],
  ['deg', (v) => (v * 180) / Math.PI],
  ['sgn', sgn],
]);

/** round(v, toNearest): ties round up, computed with the inverse as Prometheus does. */
export function round(v: number, toNearest: number): number {
  const inv = 1 / toNearest;
  return Math.floor(v * inv + 0.5) / inv;
}

// ---------------------------------------------------------------------------------------------------
// Date functions: the fields of Go's time.Unix(int64(v), 0).UTC(), computed with Go's own algorithm
// (time.absDate on uint64 "absolute" seconds), so that results agree for every int64, including the
// wrap-around Go exhibits for NaN, ±Inf and out-of-range values (which convert to MinInt64 on amd64).

const INT64_MIN = -(2n ** 63n);
/** unixToInternal + internalToAbsolute of Go's time package. */
const UNIX_TO_ABSOLUTE = 62135596800n + 9223371966579724800n;
const ABSOLUTE_ZERO_YEAR = -292277022399;
const DAYS_PER_400_YEARS = 365 * 400 + 97;
const DAYS_PER_100_YEARS = 365 * 100 + 24;
const DAYS_PER_4_YEARS = 365 * 4 + 1;
const DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

/** Go's int64(float64) on amd64: truncation; NaN, ±Inf and out-of-range values give MinInt64. */
function goInt64(v: number): bigint {
  if (!Number.isFinite(v) || v >= 9.223372036854776e18 || v < -9.223372036854776e18) return INT64_MIN;
  return BigInt(Math.trunc(v));
}

interface CivilTime {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
  hour: number;
  minute: number;
  weekday: number; // 0 = Sunday
  yearDay: number; // 1..366
}

const isLeap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);

function civilFromUnixSeconds(secs: bigint): CivilTime {
  const abs = BigInt.asUintN(64, BigInt.asIntN(64, secs + UNIX_TO_ABSOLUTE));
  let d = Number(abs / 86400n); // < 2^48: exact
  const sod = Number(abs % 86400n);
  let n = Math.floor(d / DAYS_PER_400_YEARS);
  let y = 400 * n;
  d -= DAYS_PER_400_YEARS * n;
  n = Math.floor(d / DAYS_PER_100_YEARS);
  n -= n >> 2;
  y += 100 * n;
  d -= DAYS_PER_100_YEARS * n;
  n = Math.floor(d / DAYS_PER_4_YEARS);
  y += 4 * n;
  d -= DAYS_PER_4_YEARS * n;
  n = Math.floor(d / 365);
  n -= n >> 2;
  y += n;
  d -= 365 * n;
  const year = y + ABSOLUTE_ZERO_YEAR;
  const yday = d;
  let day = yday;
  let month: number;
  if (isLeap(year) && day === 31 + 29 - 1) {
    month = 2;
    day = 29;
  } else {
    if (isLeap(year) && day > 31 + 29 - 1) day--;
    month = Math.floor(day / 31);
    const end = DAYS_BEFORE[month + 1]!;
    let begin: number;
    if (day >= end) {
      month++;
      begin = end;
    } else begin = DAYS_BEFORE[month]!;
    month++;
    day = day - begin + 1;
  }
  const weekday = Number(((abs + 86400n) % 604800n) / 86400n);
  return { year, month, day, hour: Math.floor(sod / 3600), minute: Math.floor((sod % 3600) / 60), weekday, yearDay: yday + 1 };
}

/** 32 - time.Date(year, month, 32).Day(): the length of the month. */
function daysInMonth(t: CivilTime): number {
  return t.month === 2 ? (isLeap(t.year) ? 29 : 28) : DAYS_BEFORE[t.month]! - DAYS_BEFORE[t.month - 1]!;
}

export const DATE_FUNCTIONS: ReadonlyMap<string, (t: CivilTime) => number> = new Map<string, (t: CivilTime) => number>([
  ['days_in_month', daysInMonth],
  ['day_of_month', (t) => t.day],
  ['day_of_week', (t) => t.weekday],
  ['day_of_year', (t) => t.yearDay],
  ['hour', (t) => t.hour],
  ['minute', (t) => t.minute],
  ['month', (t) => t.month],
  ['year', (t) => t.year],
]);

/** A date function applied to a sample value (seconds since the epoch). */
export function dateOfValue(name: string, v: number): number {
  return DATE_FUNCTIONS.get(name)!(civilFromUnixSeconds(goInt64(v)));
}

/** A date function of an evaluation timestamp (ms), as time.Unix(ts/1000, 0). */
export function dateOfTimestamp(name: string, ms: number): number {
  return DATE_FUNCTIONS.get(name)!(civilFromUnixSeconds(BigInt(Math.trunc(ms / 1000))));
}

// ---------------------------------------------------------------------------------------------------
// label_replace / label_join

/** Go's regexp.Expand for label_replace replacements: $1, ${1}, $name, ${name}, $$. */
export function expandTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    if (template[i] === '{') {
      const end = template.indexOf('}', i + 1);
      name = end < 0 ? '' : template.slice(i + 1, end);
      if (name === '' || !/^[A-Za-z0-9_]+$/.test(name)) {
        out += '$';
        continue;
      }
      i = end + 1;
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(template.slice(i));
      if (!m) {
        out += '$';
        continue;
      }
      name = m[0];
      i += name.length;
    }
    if (/^[0-9]+$/.test(name)) {
      const n = Number(name);
      if (n < match.length) out += match[n] ?? '';
    } else {
      out += match.groups?.[name] ?? '';
    }
  }
  return out;
}

export interface LabelReplacer {
  (labels: Labels): Labels;
}

export function labelReplacer(dst: string, replacement: string, src: string, regex: string): LabelReplacer {
  let re: RegExp;
  try {
    re = compileAnchoredRegex(regex);
  } catch {
    throw executionError(`invalid regular expression in label_replace(): ${regex}`);
  }
  if (!isValidLabelName(dst)) throw executionError(`invalid destination label name in label_replace(): ${dst}`);
  return (labels) => {
    const m = re.exec(getLabel(labels, src));
    if (!m) return labels;
    return new LabelsBuilder(labels).set(dst, expandTemplate(replacement, m)).labels();
  };
}

export function labelJoiner(dst: string, sep: string, srcs: string[]): LabelReplacer {
  for (const s of srcs) if (!isValidLabelName(s)) throw executionError(`invalid source label name in label_join(): ${s}`);
  if (!isValidLabelName(dst)) throw executionError(`invalid destination label name in label_join(): ${dst}`);
  return (labels) => new LabelsBuilder(labels).set(dst, srcs.map((s) => getLabel(labels, s)).join(sep)).labels();
}

