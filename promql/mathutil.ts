// Numeric helpers shared by functions and aggregations, with Prometheus 3's exact algorithms.

/** Kahan–Neumaier summation step (util/kahansum.Inc): returns [newSum, newCompensation]. */
export function kahanSumInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  return [t, c];
}

/**
 * The φ-quantile of values (Prometheus' quantile()): linear interpolation between the closest ranks;
 * NaN for no values or φ NaN, -Inf for φ < 0, +Inf for φ > 1. Ranks count NaNs first, as Go's sort
 * with Prometheus' Less puts them; -0 ranks below +0. Linear time: only the two ranks needed are selected.
 */
export function quantile(q: number, values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0 || q !== q) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  // Copy with the NaNs moved to the front.
  const a = new Float64Array(n);
  let nans = 0;
  let j = n - 1;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v !== v) a[nans++] = NaN;
    else a[j--] = v;
  }
  let lo = nthNumber(a, nans, lower);
  let hi = upper === lower ? lo : upper < nans ? NaN : lower < nans ? minOf(a, nans, n) : minOf(a, lower + 1, n);
  if (lo === 0 || hi === 0) {
    // Equal zeros: which sign sits at a rank is up to the sort algorithm in Go; order -0 before +0 (as
    // storage's SQL does, so that the pushed-down quantile is the same bits).
    let below = nans;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v < 0 || Object.is(v, -0)) below++;
    }
    if (lo === 0) lo = lower < below ? -0 : 0;
    if (hi === 0) hi = upper < below ? -0 : 0;
  }
  return lo * (1 - weight) + hi * weight;
}

function minOf(a: Float64Array, from: number, to: number): number {
  let m = a[from]!;
  for (let i = from + 1; i < to; i++) if (a[i]! < m) m = a[i]!;
  return m;
}

/**
 * The value of rank k in a (NaNs occupy [0, nans)), selecting in place in a[nans..] (Hoare
 * quickselect with a median-of-three pivot).
 */
function nthNumber(a: Float64Array, nans: number, k: number): number {
  if (k < nans) return NaN;
  let left = nans;
  let right = a.length - 1;
  while (right > left) {
    const mid = (left + right) >>> 1;
    // Median of three as the pivot.
    const x = a[left]!, y = a[mid]!, z = a[right]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Go's math.Mod: result has the sign of x; NaN for y = 0 or x infinite; x for y infinite. */
export function goMod(x: number, y: number): number {
  return x % y;
}

/** Go's math.Pow special cases that differ from JS `**`: Pow(1, y) = 1 and Pow(x, 0) = 1 for any x/y. */
export function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}
