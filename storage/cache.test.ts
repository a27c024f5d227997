import { describe, expect, it } from 'vitest';
import { GenerationalCache } from './cache.ts';
import { compareLabels, labelsHashHex, labelsJson, labelsFromJson } from './labels.ts';
import { dayOf, partitionName } from './partitions.ts';

describe('GenerationalCache', () => {
  it('keeps at most maxEntries, and recently used entries survive a generation change', () => {
    const c = new GenerationalCache<string, number>(4); // generations of 2
    c.set('a', 1);
    c.set('b', 2); // young full → becomes old: {a, b}
    c.set('c', 3);
    expect(c.get('a')).toBe(1); // moved up from old: young {c, a} full → old {c, a}, b dropped
    c.set('d', 4);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe(1);
    expect(c.size).toBeLessThanOrEqual(4);
    for (let i = 0; i < 1000; i++) c.set(`k${i}`, i);
    expect(c.size).toBeLessThanOrEqual(4);
    expect(c.get('k999')).toBe(999);
    c.clear();
    expect(c.size).toBe(0);
  });
});

describe('labels and partitions', () => {
  it('hashes a sorted label set unambiguously', () => {
    const a = labelsHashHex([{ name: 'a', value: 'bc' }]);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(labelsHashHex([{ name: 'ab', value: 'c' }])).not.toBe(a);
    expect(labelsHashHex([{ name: 'a', value: 'b' }, { name: 'c', value: '' }])).not.toBe(labelsHashHex([{ name: 'a', value: 'bc' }]));
    expect(labelsHashHex([{ name: 'a', value: 'bc' }])).toBe(a);
  });

  it('sorts names in UTF-8 byte order and round-trips labels through JSON', () => {
    const labels = [{ name: '\u{1F600}', value: '1' }, { name: '\uFF21', value: '2' }, { name: 'Z', value: '3' }, { name: '__name__', value: 'm' }];
    const sorted = [...labels].sort(compareLabels).map((l) => l.name);
    expect(sorted).toEqual(['Z', '__name__', '\uFF21', '\u{1F600}']); // U+FF21 < U+1F600 in UTF-8, unlike UTF-16
    expect(labelsFromJson(labelsJson(labels))).toEqual([...labels].sort(compareLabels));
  });

  it('names one partition per UTC day', () => {
    expect(dayOf(0)).toBe(0);
    expect(dayOf(-1)).toBe(-1);
    expect(dayOf(Date.UTC(2026, 0, 1) + 86_399_999)).toBe(dayOf(Date.UTC(2026, 0, 1)));
    expect(partitionName('samples', dayOf(Date.UTC(2026, 0, 1, 23)))).toBe('samples_20260101');
    expect(partitionName('samples', -1)).toBe('samples_19691231');
    expect(partitionName('samples', 3_000_000)).toBe('samples_d3000000');
  });
});
