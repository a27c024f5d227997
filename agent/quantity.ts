// Kubernetes resource quantities ("500m", "1.5Gi", "129e6", "2"), computed exactly with BigInt so that
// the values match what kube-state-metrics derives with apimachinery's resource.Quantity:
//   Value()      the value rounded up to the nearest integer away from zero,
//   MilliValue() ceil(value × 1000), also away from zero.
// Grammar (apimachinery/pkg/api/resource/quantity.go): sign? digits (. digits)? suffix, where suffix is a
// binary SI suffix (Ki Mi Gi Ti Pi Ei), a decimal SI suffix (n u m "" k M G T P E) or an exponent (e3, E-2).

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

export interface Quantity {
  /** The exact value as a fraction num/den (den > 0). */
  num: bigint;
  den: bigint;
}

export function parseQuantity(text: string): Quantity | null {
  const m = QUANTITY.exec(text.trim());
  if (!m) return null;
  const [, sign, digits, suffix = ''] = m;
  const dot = digits.indexOf('.');
  const intPart = dot < 0 ? digits : digits.slice(0, dot);
  const fracPart = dot < 0 ? '' : digits.slice(dot + 1);
  let num = BigInt((intPart || '0') + fracPart);
  let den = 10n ** BigInt(fracPart.length);
  if (suffix in BINARY) {
    num *= 2n ** BigInt(BINARY[suffix]);
  } else {
    const exp = suffix in DECIMAL ? DECIMAL[suffix] : Number(suffix.slice(1));
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 1000) return null;
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  if (sign === '-') num = -num;
  return { num, den };
}

/** Integer division rounding away from zero, as Quantity.Value()/MilliValue() do. */
function ceilAway(num: bigint, den: bigint): bigint {
  const q = num / den;
  return num % den === 0n ? q : num > 0n ? q + 1n : q - 1n;
}

const INT64_MAX = 9223372036854775807n;
const MAX_MILLI_VALUE = INT64_MAX / 1000n;

function clampInt64(v: bigint): bigint {
  if (v > INT64_MAX) return INT64_MAX;
  if (v < -INT64_MAX - 1n) return -INT64_MAX - 1n;
  return v;
}

/** Quantity.Value(). */
export function quantityValue(q: Quantity): number {
  return Number(clampInt64(ceilAway(q.num, q.den)));
}

/** Quantity.MilliValue(). */
export function quantityMilliValue(q: Quantity): number {
  return Number(clampInt64(ceilAway(q.num * 1000n, q.den)));
}

/** kube-state-metrics' convertValueToFloat64: MilliValue()/1000 unless that would overflow. */
export function quantityToFloat(q: Quantity): number {
  const v = clampInt64(ceilAway(q.num, q.den));
  if (v > MAX_MILLI_VALUE) return Number(v);
  return quantityMilliValue(q) / 1000;
}
