import { describe, expect, it } from 'vitest';
import { STALE_NAN_BITS } from '../protocol/types.ts';
import { labelsOf, SeriesRegistry, TargetSeries, type SampleAppender, type SeriesRef } from './series.ts';

function collector(): SampleAppender & { got: Array<{ labels: Record<string, string>; value: number; t: number; stale: boolean }> } {
  const got: Array<{ labels: Record<string, string>; value: number; t: number; stale: boolean }> = [];
  const f = new Float64Array(1);
  const b = new BigUint64Array(f.buffer);
  return {
    got,
    append(ref: SeriesRef, value: number, t: number) {
      f[0] = value;
      got.push({ labels: Object.fromEntries(labelsOf(ref).map((l) => [l.name, l.value])), value, t, stale: b[0] === STALE_NAN_BITS });
    },
  };
}

const target = [
  { name: 'job', value: 'kubelet' },
  { name: 'instance', value: '10.0.0.1:10250' },
];

describe('target series', () => {
  it('relabels: drops configured labels, renames clashes to exported_*, adds target and external labels, sorts', () => {
    const reg = new SeriesRegistry(4, [{ name: 'cluster', value: 'c1' }]);
    const t = new TargetSeries(reg, target, { dropLabels: new Set(['id', 'name']), dropNonPodContainers: true });
    const out = collector();
    t.begin(new Map());
    t.add(out, 'container_cpu_usage_seconds_total', 'container_cpu_usage_seconds_total{container="app",id="/kubepods/x",job="exported",name="abc",namespace="n",pod="p"}', 1, 1000);
    t.add(out, 'container_cpu_usage_seconds_total', 'container_cpu_usage_seconds_total{container="",id="/system.slice",name="",namespace="",pod=""}', 2, 1000);
    t.add(out, 'machine_cpu_cores', 'machine_cpu_cores', 8, 1000);
    t.end(out, 1000);
    expect(out.got.map((g) => g.labels)).toEqual([
      { __name__: 'container_cpu_usage_seconds_total', cluster: 'c1', container: 'app', exported_job: 'exported', instance: '10.0.0.1:10250', job: 'kubelet', namespace: 'n', pod: 'p' },
      { __name__: 'machine_cpu_cores', cluster: 'c1', instance: '10.0.0.1:10250', job: 'kubelet' },
    ]);
    expect(t.stats).toMatchObject({ kept: 2, invalid: 0 });
  });

  it('marks series that disappear stale, once, after their last sample; a failed scrape marks all', () => {
    const reg = new SeriesRegistry(1, []);
    const t = new TargetSeries(reg, target);
    const out = collector();
    t.begin(new Map());
    t.add(out, 'a', 'a{x="1"}', 1, 1000);
    t.add(out, 'a', 'a{x="2"}', 2, 1000);
    t.end(out, 1000);
    t.begin(new Map());
    t.add(out, 'a', 'a{x="1"}', 3, 2000);
    t.end(out, 2000);
    expect(out.got.slice(2).map((g) => [g.labels.x, g.t, g.stale])).toEqual([
      ['1', 2000, false],
      ['2', 2000, true],
    ]);
    t.begin(new Map());
    t.end(out, 3000); // empty scrape: x=1 disappears
    t.begin(new Map());
    t.end(out, 4000); // nothing left to mark
    expect(out.got.slice(4).map((g) => [g.labels.x, g.t, g.stale])).toEqual([['1', 3000, true]]);
    // It comes back, then the target fails.
    t.begin(new Map());
    t.add(out, 'a', 'a{x="1"}', 5, 5000);
    t.end(out, 5000);
    t.fail(out, 6000);
    expect(out.got.slice(5).map((g) => [g.labels.x, g.value, g.t, g.stale])).toEqual([
      ['1', 5, 5000, false],
      ['1', NaN, 6000, true],
    ]);
    expect(reg.size).toBe(0);
  });

  it('honours explicit timestamps: a repeated one is skipped, an older one too, and a stale marker follows the last', () => {
    const reg = new SeriesRegistry(1, []);
    const t = new TargetSeries(reg, target);
    const out = collector();
    for (const [ts, v] of [
      [5000, 1],
      [5000, 1],
      [4000, 9],
      [7000, 2],
    ]) {
      t.begin(new Map());
      t.add(out, 'c', 'c', v, ts);
      t.end(out, 100);
    }
    t.begin(new Map());
    t.end(out, 100); // scrape clock behind the explicit timestamps
    expect(out.got.map((g) => [g.t, g.stale])).toEqual([
      [5000, false],
      [7000, false],
      [7001, true],
    ]);
  });

  it('keeps the first of two lines that relabel to the same series in one scrape', () => {
    const reg = new SeriesRegistry(1, []);
    const t = new TargetSeries(reg, target, { dropLabels: new Set(['id']) });
    const out = collector();
    t.begin(new Map());
    t.add(out, 'm', 'm{id="old",pod="p"}', 1, 1000);
    t.add(out, 'm', 'm{id="new",pod="p"}', 2, 1000);
    t.end(out, 1000);
    expect(out.got.map((g) => g.value)).toEqual([1]);
    expect(t.stats.duplicateSeries).toBe(1);
    // One of the two raw lines goes away: the series is still there, no stale marker.
    t.begin(new Map());
    t.add(out, 'm', 'm{id="new",pod="p"}', 3, 2000);
    t.end(out, 2000);
    expect(out.got.map((g) => [g.value, g.stale])).toEqual([
      [1, false],
      [3, false],
    ]);
  });

  it('shards a series the same way every time, across the configured shards', () => {
    const reg = new SeriesRegistry(8, []);
    const t = new TargetSeries(reg, target);
    const shards = new Set<number>();
    const out = { append: (ref: SeriesRef) => shards.add(ref.shard) };
    t.begin(new Map());
    for (let i = 0; i < 200; i++) t.add(out, 'x', `x{i="${i}"}`, 1, 1);
    expect(shards.size).toBe(8);
    const a = reg.ref([{ name: '__name__', value: 'q' }], null)!;
    const b = new SeriesRegistry(8, []).ref([{ name: '__name__', value: 'q' }], null)!;
    expect(a.shard).toBe(b.shard);
  });

  it('counts series remote-write would refuse (too many labels) instead of sending them', () => {
    const reg = new SeriesRegistry(1, []);
    const t = new TargetSeries(reg, target);
    const out = collector();
    t.begin(new Map());
    const labels = Array.from({ length: 45 }, (_, i) => `l${i}="v"`).join(',');
    t.add(out, 'wide', `wide{${labels}}`, 1, 1);
    t.end(out, 1);
    expect(out.got).toHaveLength(0);
    expect(t.stats.invalid).toBe(1);
  });
});
