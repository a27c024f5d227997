import { describe, expect, it } from 'vitest';
import { expandTemplate } from './functions.ts';
import { compareLabels, compareStrings, compileAnchoredRegex, compileMatcher, goRegexToJs, labelsFromRecord, labelsKey, labelsToString, LabelSetIndex, LabelsBuilder, type LabelProjection, type Labels } from './labels.ts';
import { formatDuration, parseDuration } from './lexer.ts';
import { MemoryQueryable } from './memory-queryable.ts';
import { bitsView, hasStaleMarkers, isStaleAt, writeStaleMarker } from './value.ts';

describe('label sets', () => {
  it('sorts names in byte order and drops empty values', () => {
    expect(labelsFromRecord({ b: '1', A: '2', __name__: 'x', c: '' })).toEqual([
      { name: 'A', value: '2' },
      { name: '__name__', value: 'x' },
      { name: 'b', value: '1' },
    ]);
  });

  it('compares strings by code point like Go compares UTF-8 bytes', () => {
    expect(compareStrings('a', 'b')).toBeLessThan(0);
    expect(compareStrings('\uffff', '😀')).toBeLessThan(0); // U+FFFF < U+1F600, though its UTF-16 unit is larger
    expect(compareLabels(labelsFromRecord({ a: '1' }), labelsFromRecord({ a: '1', b: '2' }))).toBeLessThan(0);
  });

  it('prints label sets like Prometheus', () => {
    expect(labelsToString(labelsFromRecord({ __name__: 'up', job: 'a"b', 'odd.name': 'x\n' }))).toBe('{__name__="up", job="a\\"b", "odd.name"="x\\n"}');
  });

  describe('LabelSetIndex numbers distinct projections exactly', () => {
    // Small alphabets, so that many sets share their projection; the reference is a string key of the
    // projected labels.
    let seed = 7;
    const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const sets: Labels[] = [];
    for (let i = 0; i < 3000; i++) {
      const rec: Record<string, string> = {};
      for (const name of ['__name__', 'a', 'b', 'c', 'ab']) if (random(4) > 0) rec[name] = ['x', 'y', 'xy', 'y\u0000', '😀'][random(5)]!;
      sets.push(labelsFromRecord(rec));
    }
    const projections: Array<[string, LabelProjection]> = [
      ['all', { keep: 'all' }],
      ['only a, b', { keep: 'only', names: new Set(['a', 'b']) }],
      ['only nothing', { keep: 'only', names: new Set() }],
      ['except __name__, c', { keep: 'except', names: new Set(['__name__', 'c']) }],
    ];
    const keep = (p: LabelProjection, name: string) => p.keep === 'all' || (p.keep === 'only') === p.names.has(name);
    const reference = (p: LabelProjection, l: Labels) => labelsKey(l.filter((x) => keep(p, x.name)));

    it.each(projections)('%s, with the real hash and with every set colliding', (_name, p) => {
      for (const index of [new LabelSetIndex(p), new LabelSetIndex(p, () => 42)]) {
        const expected = new Map<string, number>();
        for (const l of sets) {
          const key = reference(p, l);
          if (!expected.has(key)) expected.set(key, expected.size);
          expect(index.ordinal(l)).toBe(expected.get(key));
        }
        expect(index.size).toBe(expected.size);
        for (const [key, o] of expected) expect(reference(p, index.representatives[o]!)).toBe(key);
      }
    });

    it('tells apart sets whose concatenations agree', () => {
      const index = new LabelSetIndex();
      const a = labelsFromRecord({ a: 'bc' });
      const b = labelsFromRecord({ ab: 'c' });
      const c = labelsFromRecord({ a: 'b', c: '' });
      expect(new Set([index.ordinal(a), index.ordinal(b), index.ordinal(c)]).size).toBe(3);
      expect(index.ordinal(labelsFromRecord({ a: 'bc' }))).toBe(0);
    });
  });

  it('builds modified copies; an empty value deletes', () => {
    const base = labelsFromRecord({ a: '1', b: '2' });
    const b = new LabelsBuilder(base);
    expect(b.labels()).toBe(base);
    expect(b.set('c', '3').set('a', '').labels()).toEqual(labelsFromRecord({ b: '2', c: '3' }));
    expect(new LabelsBuilder(base).keep(['b', 'z']).labels()).toEqual(labelsFromRecord({ b: '2' }));
  });
});

describe('matchers and regular expressions', () => {
  it('anchors regexes and matches absent labels as ""', () => {
    const m = compileMatcher({ type: '=~', name: 'a', value: 'fo+' });
    expect(m.matches('foo')).toBe(true);
    expect(m.matches('xfoo')).toBe(false);
    expect(m.matches('foox')).toBe(false);
    expect(compileMatcher({ type: '!~', name: 'a', value: '' }).matches('')).toBe(false);
    expect(compileMatcher({ type: '!=', name: 'a', value: '' }).matches('x')).toBe(true);
  });

  it('lets . match newlines (Prometheus 3)', () => {
    expect(compileAnchoredRegex('a.b').test('a\nb')).toBe(true);
  });

  it('translates RE2-only syntax', () => {
    expect(goRegexToJs('(?i)abc')).toEqual({ pattern: 'abc', flags: 'i' });
    expect(compileAnchoredRegex('(?i)abc').test('ABC')).toBe(true);
    expect(compileAnchoredRegex('a(?i)bc').test('aBC')).toBe(true);
    expect(compileAnchoredRegex('a(?i)bc').test('ABC')).toBe(false);
    expect(compileAnchoredRegex('x(?i)a|b').test('B')).toBe(true); // flags carry into later alternatives
    expect(compileAnchoredRegex('(?P<v>[0-9]+)').exec('42')!.groups!.v).toBe('42');
    expect(compileAnchoredRegex('[[:digit:]]+[[:alpha:]]').test('12a')).toBe(true);
    expect(compileAnchoredRegex('\\Qa.b\\E').test('a.b')).toBe(true);
    expect(compileAnchoredRegex('\\Qa.b\\E').test('axb')).toBe(false);
    expect(compileAnchoredRegex('\\pL+').test('héllo')).toBe(true);
    expect(compileAnchoredRegex('a{1,2').test('a{1,2')).toBe(true); // RE2 reads a bad repetition literally
    expect(() => compileAnchoredRegex('(?U)a+')).toThrow('ungreedy');
    expect(() => compileAnchoredRegex('(')).toThrow(/^error parsing regexp: /);
  });

  it('expands replacement templates like Go regexp.Expand', () => {
    const m = /^(?<first>a)(b)$/.exec('ab')!;
    expect(expandTemplate('$1-$2', m)).toBe('a-b');
    expect(expandTemplate('$1x', m)).toBe(''); // the group named "1x" does not exist
    expect(expandTemplate('${1}x', m)).toBe('ax');
    expect(expandTemplate('$first/${first}', m)).toBe('a/a');
    expect(expandTemplate('$$1 $', m)).toBe('$1 $');
    expect(expandTemplate('$9', m)).toBe('');
  });
});

describe('durations', () => {
  it('parses and prints Prometheus durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1y2w3d4h5m6s7ms')).toBe(((365 + 14 + 3) * 24 * 3600 + 4 * 3600 + 5 * 60 + 6) * 1000 + 7);
    expect(() => parseDuration('5m1h')).toThrow('not a valid duration string: "5m1h"');
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('stale markers', () => {
  it('are recognised by their bit pattern only', () => {
    const v = new Float64Array([1, NaN, 0]);
    writeStaleMarker(v, 2);
    const bits = bitsView(v);
    expect(isStaleAt(bits, 1)).toBe(false);
    expect(isStaleAt(bits, 2)).toBe(true);
    expect(Number.isNaN(v[2])).toBe(true);
    expect(hasStaleMarkers(v)).toBe(true);
    expect(hasStaleMarkers(new Float64Array([NaN, 1]))).toBe(false);
  });
});

describe('MemoryQueryable', () => {
  it('selects matching series within [minT, maxT], keeping stale markers', async () => {
    const q = new MemoryQueryable()
      .add({ __name__: 'a', job: 'x' }, [
        [0, 1],
        [10, 'stale'],
        [20, 3],
      ])
      .add({ __name__: 'a', job: 'y' }, [[5, 1]])
      .add({ __name__: 'b', job: 'x' }, [[5, 1]]);
    const got = [];
    for await (const s of q.select([{ type: '=', name: '__name__', value: 'a' }, { type: '!=', name: 'job', value: 'y' }], 10, 20)) got.push(s);
    expect(got).toHaveLength(1);
    expect(got[0]!.labels).toEqual([{ name: '__name__', value: 'a' }, { name: 'job', value: 'x' }]);
    expect([...got[0]!.timestamps]).toEqual([10, 20]);
    expect(isStaleAt(bitsView(got[0]!.values), 0)).toBe(true);
    expect(() => new MemoryQueryable().add({ __name__: 'a' }, [[2, 1], [1, 1]])).toThrow('increasing timestamp order');
  });
});
