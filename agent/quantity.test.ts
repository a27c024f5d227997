import { describe, expect, it } from 'vitest';
import { parseQuantity, quantityMilliValue, quantityToFloat, quantityValue } from './quantity.ts';

const q = (s: string) => {
  const v = parseQuantity(s);
  if (!v) throw new Error(`not a quantity: ${s}`);
  return v;
};

describe('Kubernetes quantities (apimachinery resource.Quantity semantics)', () => {
  it.each([
    // text, Value(), MilliValue()
    ['2', 2, 2000],
    ['100m', 1, 100],
    ['250m', 1, 250],
    ['0.5', 1, 500],
    ['1.5', 2, 1500],
    ['1.0000001', 2, 1001],
    ['123456789n', 1, 124],
    ['5u', 1, 1],
    ['1k', 1000, 1_000_000],
    ['1M', 1_000_000, 1_000_000_000],
    ['129e6', 129_000_000, 129_000_000_000],
    ['1E3', 1000, 1_000_000],
    ['12e-3', 1, 12],
    ['1Ki', 1024, 1_024_000],
    ['128Mi', 134_217_728, 134_217_728_000],
    ['1.5Gi', 1_610_612_736, 1_610_612_736_000],
    ['0.1Ki', 103, 102_400],
    ['-100m', -1, -100],
    ['.5', 1, 500],
    ['+3', 3, 3000],
  ])('%s → Value %d, MilliValue %d', (text, value, milli) => {
    expect(quantityValue(q(text))).toBe(value);
    expect(quantityMilliValue(q(text))).toBe(milli);
  });

  it('converts like kube-state-metrics (MilliValue/1000, exact for cores)', () => {
    expect(quantityToFloat(q('250m'))).toBe(0.25);
    expect(quantityToFloat(q('3'))).toBe(3);
    expect(quantityToFloat(q('1.0000001'))).toBe(1.001);
    expect(quantityToFloat(q('20Ei'))).toBe(Number(9223372036854775807n)); // clamped to int64, too big for milli
  });

  it.each(['', 'abc', '1.2.3', '1 Gi', '1gi', '1Kb', 'e3', '--1', '1e'])('rejects %j', (text) => {
    expect(parseQuantity(text)).toBeNull();
  });
});
