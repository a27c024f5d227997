// Evaluator tests with hand-computed expectations (the arithmetic is written out next to each one).

import { describe, expect, it } from 'vitest';
import { Engine, type QueryResult } from './engine.ts';
import { PromQLError } from './errors.ts';
import { labelsToString, type LabelMatcher } from './labels.ts';
import { MemoryQueryable, type SampleValue } from './memory-queryable.ts';
import type { Queryable, SelectOptions, Series } from './queryable.ts';
import { formatValue, toApiData } from './value.ts';

const s = (sec: number): number => sec * 1000;

/** Samples at the given seconds. */
function at(pairs: Array<[number, SampleValue]>): Array<[number, SampleValue]> {
  return pairs.map(([t, v]) => [s(t), v]);
}

/** Samples every `step` seconds from `from`, with values from f(i). */
function every(from: number, step: number, values: SampleValue[]): Array<[number, SampleValue]> {
  return values.map((v, i) => [s(from + i * step), v]);
}

function data(): MemoryQueryable {
  const q = new MemoryQueryable();
  // x: 0..6 at 0s, 10s, …, 60s.
  q.add({ __name__: 'x', job: 'a' }, every(0, 10, [0, 1, 2, 3, 4, 5, 6]));
  // A counter: 100, 110, …, 160 at 0s … 60s.
  q.add({ __name__: 'c_total', job: 'a' }, every(0, 10, [100, 110, 120, 130, 140, 150, 160]));
  // A counter with a reset at 20s.
  q.add({ __name__: 'r_total', job: 'a' }, every(0, 10, [100, 110, 5, 15]));
  // A counter that starts at 100s with a small value.
  q.add({ __name__: 'z_total', job: 'a' }, every(100, 10, [8, 18, 28]));
  // A gauge with a stale marker at 20s, back at 40s.
  q.add({ __name__: 'st', job: 'a' }, at([[0, 1], [10, 2], [20, 'stale'], [40, 4]]));
  // One sample at 0s.
  q.add({ __name__: 'one', job: 'a' }, at([[0, 1]]));
  // A line: 2 per second.
  q.add({ __name__: 'lin', job: 'a' }, every(0, 10, [0, 20, 40, 60, 80, 100, 120]));
  // Four values for the *_over_time functions, at 1s..4s.
  q.add({ __name__: 'w', job: 'a' }, every(1, 1, [1, 2, 3, 4]));
  // Grouping data.
  for (const [job, inst, v] of [
    ['api', 'i1', 1],
    ['api', 'i2', 5],
    ['web', 'i1', 3],
    ['web', 'i2', 2],
    ['web', 'i3', 9],
  ] as const) {
    q.add({ __name__: 'm', job, instance: inst }, at([[0, v]]));
  }
  q.add({ __name__: 'info', job: 'api', version: '1.0' }, at([[0, 1]]));
  q.add({ __name__: 'info', job: 'web', version: '2.0' }, at([[0, 1]]));
  q.add({ __name__: 'nanv', k: 'a' }, at([[0, NaN]]));
  q.add({ __name__: 'nanv', k: 'b' }, at([[0, 3]]));
  q.add({ __name__: 'nanv', k: 'c' }, at([[0, 1]]));
  // Classic histogram: 10 observations ≤ 1, 10 more ≤ 2, none above.
  for (const [le, v] of [
    ['1', 10],
    ['2', 20],
    ['+Inf', 20],
  ] as const) {
    q.add({ __name__: 'h_bucket', job: 'a', le }, at([[0, v]]));
  }
  q.add({ __name__: 'ts', job: 'a' }, at([[0, 951782400.5]])); // 2000-02-29T00:00:00.5Z
  q.add({ __name__: 'dup_a', x: '1' }, every(0, 10, [1, 2, 3]));
  q.add({ __name__: 'dup_b', x: '1' }, every(0, 10, [4, 5, 6]));
  return q;
}

const q = data();
const engine = new Engine();

/** Instant query → { '{labels}': value }, or the scalar/string value. */
async function instant(expr: string, sec: number, eng = engine, queryable: Queryable = q): Promise<unknown> {
  const r = await eng.instantQuery(queryable, expr, s(sec));
  return simplify(r);
}

function simplify(r: QueryResult): unknown {
  const v = r.value;
  switch (v.resultType) {
    case 'scalar':
      return v.result.v;
    case 'string':
      return v.result.v;
    case 'vector':
      return Object.fromEntries(v.result.map((x) => [labelsToString(x.metric), x.v]));
    case 'matrix':
      return Object.fromEntries(v.result.map((x) => [labelsToString(x.metric), x.points.map((p) => [p.t / 1000, p.v])]));
  }
}

async function errorOf(p: Promise<unknown>): Promise<PromQLError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PromQLError);
    return err as PromQLError;
  }
  throw new Error('expected an error');
}

describe('instant selectors: lookback and staleness', () => {
  it('takes the newest sample in (t - 5m, t]', async () => {
    expect(await instant('x', 15)).toEqual({ '{__name__="x", job="a"}': 1 });
    expect(await instant('one', 299.999)).toEqual({ '{__name__="one", job="a"}': 1 });
    // Exactly 5m after the sample: the lookback window is left-open (Prometheus 3).
    expect(await instant('one', 300)).toEqual({});
  });

  it('honours a configured or per-query lookback delta', async () => {
    const short = new Engine({ lookbackDelta: 60_000 });
    expect(await instant('one', 59.999, short)).toEqual({ '{__name__="one", job="a"}': 1 });
    expect(await instant('one', 60, short)).toEqual({});
    const r = await engine.instantQuery(q, 'one', s(60), { lookbackDelta: 30_000 });
    expect(r.value).toEqual({ resultType: 'vector', result: [] });
  });

  it('ends a series at a stale marker, detected by its bit pattern', async () => {
    expect(await instant('st', 19.999)).toEqual({ '{__name__="st", job="a"}': 2 });
    expect(await instant('st', 20)).toEqual({});
    expect(await instant('st', 39.999)).toEqual({});
    expect(await instant('st', 40)).toEqual({ '{__name__="st", job="a"}': 4 });
    // An ordinary NaN is a value, not a marker.
    expect(await instant('nanv{k="a"}', 0)).toEqual({ '{__name__="nanv", k="a"}': NaN });
  });

  it('drops stale markers from range vectors', async () => {
    // st[1m] at 40s: (-20s, 40s] holds 1, 2, (stale), 4.
    expect(await instant('st[1m]', 40)).toEqual({ '{__name__="st", job="a"}': [[0, 1], [10, 2], [40, 4]] });
    expect(await instant('count_over_time(st[1m])', 40)).toEqual({ '{job="a"}': 3 });
  });

  it('selects range vectors left-open: (t - range, t]', async () => {
    expect(await instant('x[30s]', 60)).toEqual({ '{__name__="x", job="a"}': [[40, 4], [50, 5], [60, 6]] });
    expect(await instant('count_over_time(x[30s])', 59.999)).toEqual({ '{job="a"}': 3 }); // 30, 40, 50
    expect(await instant('count_over_time(x[30s])', 60)).toEqual({ '{job="a"}': 3 }); // 40, 50, 60
  });
});

describe('offset and @', () => {
  it('shifts evaluation time back with offset, forward with a negative offset', async () => {
    expect(await instant('x offset 20s', 60)).toEqual({ '{__name__="x", job="a"}': 4 });
    expect(await instant('x offset -10s', 30)).toEqual({ '{__name__="x", job="a"}': 4 });
    expect(await instant('x[20s] offset 30s', 60)).toEqual({ '{__name__="x", job="a"}': [[20, 2], [30, 3]] });
  });

  it('pins evaluation to a timestamp with @, start() and end()', async () => {
    expect(await instant('x @ 30', 1000)).toEqual({ '{__name__="x", job="a"}': 3 });
    expect(await instant('x @ 30 offset 10s', 1000)).toEqual({ '{__name__="x", job="a"}': 2 });
    expect(await instant('sum_over_time(x[30s] @ 60)', 0)).toEqual({ '{job="a"}': 15 });
    const r = await engine.rangeQuery(q, 'x @ end()', s(10), s(30), s(10));
    expect(simplify(r)).toEqual({ '{__name__="x", job="a"}': [[10, 3], [20, 3], [30, 3]] });
    const r2 = await engine.rangeQuery(q, 'x @ start()', s(10), s(30), s(10));
    expect(simplify(r2)).toEqual({ '{__name__="x", job="a"}': [[10, 1], [20, 1], [30, 1]] });
  });

  it('gives timestamp() the sample timestamp of a selector, the evaluation time otherwise', async () => {
    expect(await instant('timestamp(x offset 20s)', 65)).toEqual({ '{job="a"}': 40 });
    expect(await instant('timestamp(x @ 25)', 100)).toEqual({ '{job="a"}': 20 });
    expect(await instant('timestamp(x + 1)', 65)).toEqual({ '{job="a"}': 65 });
  });
});

describe('counter and gauge functions', () => {
  it('rate and increase extrapolate like Prometheus', async () => {
    // rate(c_total[30s]) at 60s: samples 140@40s, 150@50s, 160@60s; increase 20 over 20s; 10s to the
    // window start (< 1.1 × the 10s average interval, so extrapolate fully), 0s to the end:
    // 20 × (20 + 10) / 20 = 30, over 30s = 1/s.
    expect(await instant('increase(c_total[30s])', 60)).toEqual({ '{job="a"}': 30 });
    expect(await instant('rate(c_total[30s])', 60)).toEqual({ '{job="a"}': 1 });
    // At 55s: 130@30s, 140@40s, 150@50s; 5s to either boundary: 20 × 30 / 20 = 30.
    expect(await instant('increase(c_total[30s])', 55)).toEqual({ '{job="a"}': 30 });
  });

  it('corrects counter resets', async () => {
    // r_total 100, 110, 5, 15: raw change -85, plus 110 at the reset = 25; 10s to the start at 30s
    // with range 40s: 25 × (30 + 10) / 30.
    expect(await instant('increase(r_total[40s])', 30)).toEqual({ '{job="a"}': 25 * ((30 + 10) / 30) });
    expect(await instant('resets(r_total[40s])', 30)).toEqual({ '{job="a"}': 1 });
    expect(await instant('changes(r_total[40s])', 30)).toEqual({ '{job="a"}': 3 });
    // irate after the reset: 15 - 5 over 10s; across it: the new value 5 over 10s.
    expect(await instant('irate(r_total[40s])', 30)).toEqual({ '{job="a"}': 1 });
    expect(await instant('irate(r_total[40s])', 25)).toEqual({ '{job="a"}': 0.5 });
    expect(await instant('idelta(r_total[40s])', 25)).toEqual({ '{job="a"}': -105 });
  });

  it('extrapolates a series that starts inside the window by half an interval, not past its zero point', async () => {
    // z_total 8@100s, 18@110s, 28@120s; increase(z_total[60s]) at 120s: 40s to the window start is
    // over the threshold (11s), so extrapolate half the 10s interval (5s); the zero point is 8s away
    // (20s × 8/20), farther than 5s, so 5s stays: 20 × (20 + 5) / 20 = 25.
    // (Prometheus 2.42 applied the zero point first and extrapolated 8s: 28.)
    expect(await instant('increase(z_total[60s])', 120)).toEqual({ '{job="a"}': 25 });
  });

  it('computes deriv, predict_linear, delta and idelta', async () => {
    expect(await instant('deriv(lin[30s])', 60)).toEqual({ '{job="a"}': 2 });
    // Regression through 80@40s, 100@50s, 120@60s: 120 at t = 60s, slope 2/s; 10s ahead: 140.
    expect(await instant('predict_linear(lin[30s], 10)', 60)).toEqual({ '{job="a"}': 140 });
    // delta(x[30s]) at 55s: 3@30s … 5@50s; 2 × 30/20.
    expect(await instant('delta(x[30s])', 55)).toEqual({ '{job="a"}': 3 });
    expect(await instant('idelta(x[30s])', 55)).toEqual({ '{job="a"}': 1 });
  });

  it('computes the *_over_time family', async () => {
    const w = async (fn: string): Promise<unknown> => (await instant(fn, 4))!;
    expect(await w('avg_over_time(w[10s])')).toEqual({ '{job="a"}': 2.5 });
    expect(await w('sum_over_time(w[10s])')).toEqual({ '{job="a"}': 10 });
    expect(await w('min_over_time(w[10s])')).toEqual({ '{job="a"}': 1 });
    expect(await w('max_over_time(w[10s])')).toEqual({ '{job="a"}': 4 });
    expect(await w('count_over_time(w[10s])')).toEqual({ '{job="a"}': 4 });
    expect(await w('stdvar_over_time(w[10s])')).toEqual({ '{job="a"}': 1.25 });
    expect(await w('stddev_over_time(w[10s])')).toEqual({ '{job="a"}': Math.sqrt(1.25) });
    expect(await w('quantile_over_time(0.25, w[10s])')).toEqual({ '{job="a"}': 1.75 });
    expect(await w('quantile_over_time(2, w[10s])')).toEqual({ '{job="a"}': Infinity });
    expect(await w('present_over_time(w[10s])')).toEqual({ '{job="a"}': 1 });
    // last_over_time keeps the metric name.
    expect(await w('last_over_time(w[10s])')).toEqual({ '{__name__="w", job="a"}': 4 });
  });

  it('absent_over_time and absent give labels from equality matchers', async () => {
    expect(await instant('absent_over_time(nope{job="a", x=~"y"}[1m])', 10)).toEqual({ '{job="a"}': 1 });
    expect(await instant('absent_over_time(x[1m])', 10)).toEqual({});
    expect(await instant('absent(nope{job="a", job="b", env="p"})', 10)).toEqual({ '{env="p"}': 1 });
    expect(await instant('absent(x)', 10)).toEqual({});
    const r = await engine.rangeQuery(q, 'absent_over_time(st[6s])', s(15), s(45), s(10));
    // Windows (t-6s, t]: 15s holds 10s; 25s only the stale marker at 20s, which does not count;
    // 35s nothing; 45s holds 40s.
    expect(simplify(r)).toEqual({ '{}': [[25, 1], [35, 1]] });
  });
});

describe('subqueries', () => {
  it('aligns inner steps to absolute multiples of the step, window left-open', async () => {
    // At 65s: steps in (35s, 65s] are 40s, 50s, 60s → x = 4, 5, 6.
    expect(await instant('max_over_time(x[30s:10s])', 65)).toEqual({ '{job="a"}': 6 });
    // At 60s: (30s, 60s] → 40s, 50s, 60s; 30s is excluded (Prometheus 2.42 included it: 4).
    expect(await instant('count_over_time(x[30s:10s])', 60)).toEqual({ '{job="a"}': 3 });
    expect(await instant('x[30s:10s]', 60)).toEqual({ '{__name__="x", job="a"}': [[40, 4], [50, 5], [60, 6]] });
    expect(await instant('sum_over_time(x[30s:10s] offset 20s)', 60)).toEqual({ '{job="a"}': 2 + 3 + 4 });
  });

  it('uses the default step when none is given', async () => {
    const e = new Engine({ noStepSubqueryInterval: 20_000 });
    // Steps in (0s, 60s] at multiples of 20s: 20s, 40s, 60s.
    expect(await instant('x[60s:]', 60, e)).toEqual({ '{__name__="x", job="a"}': [[20, 2], [40, 4], [60, 6]] });
  });
});

describe('aggregations', () => {
  it('groups by and without', async () => {
    expect(await instant('sum by (job) (m)', 0)).toEqual({ '{job="api"}': 6, '{job="web"}': 14 });
    expect(await instant('sum without (instance) (m)', 0)).toEqual({ '{job="api"}': 6, '{job="web"}': 14 });
    expect(await instant('avg(m)', 0)).toEqual({ '{}': 4 });
    expect(await instant('count by (instance) (m)', 0)).toEqual({ '{instance="i1"}': 2, '{instance="i2"}': 2, '{instance="i3"}': 1 });
    expect(await instant('min(m)', 0)).toEqual({ '{}': 1 });
    expect(await instant('max by (job) (m)', 0)).toEqual({ '{job="api"}': 5, '{job="web"}': 9 });
    expect(await instant('group by (job) (m)', 0)).toEqual({ '{job="api"}': 1, '{job="web"}': 1 });
    // Values 1, 5, 3, 2, 9: mean 4, variance (9 + 1 + 1 + 4 + 25)/5 = 8.
    expect(await instant('stdvar(m)', 0)).toEqual({ '{}': 8 });
    expect(await instant('stddev(m)', 0)).toEqual({ '{}': Math.sqrt(8) });
    // Sorted 1 2 3 5 9; φ = 0.5 → rank 2 → 3; φ = 0.9 → rank 3.6 → 5 + 0.6 × 4.
    expect(await instant('quantile(0.5, m)', 0)).toEqual({ '{}': 3 });
    expect(await instant('quantile(0.9, m)', 0)).toEqual({ '{}': 5 + 0.6 * 4 });
    // A group whose only value is NaN or ±Inf has no defined deviation (Prometheus 3; 2.42 said 0).
    expect(await instant('stddev by (k) (nanv)', 0)).toEqual({ '{k="a"}': NaN, '{k="b"}': 0, '{k="c"}': 0 });
    expect(await instant('stdvar(vector(Inf))', 0)).toEqual({ '{}': NaN });
  });

  it('orders topk/bottomk results in instant queries and keeps labels', async () => {
    const r = await engine.instantQuery(q, 'topk(3, m)', 0);
    expect(r.value.resultType === 'vector' && r.value.result.map((x) => x.v)).toEqual([9, 5, 3]);
    const b = await engine.instantQuery(q, 'bottomk(2, m)', 0);
    expect(b.value.resultType === 'vector' && b.value.result.map((x) => labelsToString(x.metric))).toEqual([
      '{__name__="m", instance="i1", job="api"}',
      '{__name__="m", instance="i2", job="web"}',
    ]);
    expect(await instant('topk by (job) (1, m)', 0)).toEqual({
      '{__name__="m", instance="i2", job="api"}': 5,
      '{__name__="m", instance="i3", job="web"}': 9,
    });
    // NaN loses against any number, in both directions.
    expect(await instant('topk(1, nanv)', 0)).toEqual({ '{__name__="nanv", k="b"}': 3 });
    expect(await instant('bottomk(1, nanv)', 0)).toEqual({ '{__name__="nanv", k="c"}': 1 });
    await expect(engine.instantQuery(q, 'topk(NaN, m)', 0)).rejects.toThrow('Parameter value is NaN');
  });

  it('counts values with count_values', async () => {
    expect(await instant('count_values("v", m > 2)', 0)).toEqual({ '{v="3"}': 1, '{v="5"}': 1, '{v="9"}': 1 });
    expect(await instant('count_values by (job) ("v", m * 0)', 0)).toEqual({ '{job="api", v="0"}': 2, '{job="web", v="0"}': 3 });
    expect(await instant('count_values("v", nanv)', 0)).toEqual({ '{v="NaN"}': 1, '{v="3"}': 1, '{v="1"}': 1 });
  });
});

describe('binary operators', () => {
  it('drops the metric name for arithmetic, keeps it for filtering comparisons', async () => {
    expect(await instant('m{job="api"} * 2', 0)).toEqual({ '{instance="i1", job="api"}': 2, '{instance="i2", job="api"}': 10 });
    expect(await instant('m > 4', 0)).toEqual({ '{__name__="m", instance="i2", job="api"}': 5, '{__name__="m", instance="i3", job="web"}': 9 });
    expect(await instant('4 < m', 0)).toEqual({ '{__name__="m", instance="i2", job="api"}': 5, '{__name__="m", instance="i3", job="web"}': 9 });
    expect(await instant('m{job="api"} > bool 4', 0)).toEqual({ '{instance="i1", job="api"}': 0, '{instance="i2", job="api"}': 1 });
    expect(await instant('-m{instance="i1"}', 0)).toEqual({ '{instance="i1", job="api"}': -1, '{instance="i1", job="web"}': -3 });
  });

  it('follows PromQL operator precedence and right-associative ^', async () => {
    expect(await instant('-2 ^ 2', 0)).toBe(-4);
    expect(await instant('2 ^ 3 ^ 2', 0)).toBe(512);
    expect(await instant('1 + 2 * 3 % 4 - 6 / 2 ^ 1', 0)).toBe(1 + ((2 * 3) % 4) - 6 / 2);
    expect(await instant('2 > bool 1 == bool 1', 0)).toBe(1);
  });

  it('handles NaN and infinities like Go', async () => {
    expect(await instant('1 / 0', 0)).toBe(Infinity);
    expect(await instant('-1 / 0', 0)).toBe(-Infinity);
    expect(await instant('0 / 0', 0)).toBeNaN();
    expect(await instant('5 % 0', 0)).toBeNaN();
    expect(await instant('1 ^ NaN', 0)).toBe(1); // Go's math.Pow(1, NaN) = 1
    expect(await instant('NaN ^ 0', 0)).toBe(1);
    expect(await instant('NaN == bool NaN', 0)).toBe(0);
    expect(await instant('Inf - Inf', 0)).toBeNaN();
  });

  it('matches one-to-one, group_left with included labels, and group_right', async () => {
    expect(await instant('m / on(job) group_left(version) info', 0)).toEqual({
      '{instance="i1", job="api", version="1.0"}': 1,
      '{instance="i2", job="api", version="1.0"}': 5,
      '{instance="i1", job="web", version="2.0"}': 3,
      '{instance="i2", job="web", version="2.0"}': 2,
      '{instance="i3", job="web", version="2.0"}': 9,
    });
    expect(await instant('info * on(job) group_right sum by (job) (m)', 0)).toEqual({ '{job="api"}': 6, '{job="web"}': 14 });
    expect(await instant('m{instance="i1"} - on(job) m{instance="i2"}', 0)).toEqual({ '{job="api"}': -4, '{job="web"}': 1 });
    expect(await instant('m{instance="i1"} - ignoring(instance) m{instance="i2"}', 0)).toEqual({ '{job="api"}': -4, '{job="web"}': 1 });
  });

  it('refuses many-to-many matching with Prometheus messages', async () => {
    const e1 = await errorOf(engine.instantQuery(q, 'm + on(job) m', 0));
    expect(e1.errorType).toBe('execution');
    expect(e1.message).toBe(
      'found duplicate series for the match group {job="api"} on the right hand-side of the operation: ' +
        '[{__name__="m", instance="i2", job="api"}, {__name__="m", instance="i1", job="api"}];' +
        'many-to-many matching not allowed: matching labels must be unique on one side',
    );
    const e2 = await errorOf(engine.instantQuery(q, 'info + on(job) m', 0));
    expect(e2.message).toMatch(/^found duplicate series for the match group \{job="api"\} on the right hand-side/);
    const e3 = await errorOf(engine.instantQuery(q, 'm + on(job) group_right sum by (job) (m)', 0));
    expect(e3.message).toMatch(/^found duplicate series for the match group \{job="api"\} on the left hand-side/);
    const e4 = await errorOf(engine.instantQuery(q, 'm * on(job) sum by (job) (m)', 0));
    expect(e4.message).toBe('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
    // dup_a and dup_b differ only in their name, which arithmetic drops.
    const e5 = await errorOf(engine.instantQuery(q, '{__name__=~"dup_.*"} * on(x) group_left label_replace(vector(1), "x", "1", "", "")', 0));
    expect(e5.message).toBe('multiple matches for labels: grouping labels must ensure unique matches');
  });

  it('applies and, or, unless per label set', async () => {
    expect(await instant('m and on(job) info{version="1.0"}', 0)).toEqual({
      '{__name__="m", instance="i1", job="api"}': 1,
      '{__name__="m", instance="i2", job="api"}': 5,
    });
    expect(await instant('m{job="api"} or m{instance="i1"}', 0)).toEqual({
      '{__name__="m", instance="i1", job="api"}': 1,
      '{__name__="m", instance="i2", job="api"}': 5,
      '{__name__="m", instance="i1", job="web"}': 3,
    });
    expect(await instant('m unless on(instance) m{job="api"}', 0)).toEqual({ '{__name__="m", instance="i3", job="web"}': 9 });
  });

  it('rejects label sets that collide once the name is dropped', async () => {
    const e = await errorOf(engine.instantQuery(q, 'rate({__name__=~"dup_a|dup_b"}[1m])', s(20)));
    expect(e.message).toBe('vector cannot contain metrics with the same labelset');
    expect(e.errorType).toBe('execution');
    await expect(engine.instantQuery(q, '{__name__=~"dup_.*"} * 1', s(20))).rejects.toThrow('vector cannot contain metrics with the same labelset');
  });
});

describe('other functions', () => {
  it('label_replace expands like Go regexp.Expand', async () => {
    expect(await instant('label_replace(info, "v", "$1", "version", "(\\\\d+)\\\\..*")', 0)).toEqual({
      '{__name__="info", job="api", v="1", version="1.0"}': 1,
      '{__name__="info", job="web", v="2", version="2.0"}': 1,
    });
    // "$1x" names the (missing) group "1x": empty, so the label is not set.
    expect(await instant('label_replace(info{job="api"}, "v", "$1x", "version", "(.*)")', 0)).toEqual({
      '{__name__="info", job="api", version="1.0"}': 1,
    });
    expect(await instant('label_replace(info{job="api"}, "v", "${1}x", "version", "(.*)")', 0)).toEqual({
      '{__name__="info", job="api", v="1.0x", version="1.0"}': 1,
    });
    // The regex must match the whole value.
    expect(await instant('label_replace(info{job="api"}, "v", "y", "version", "1")', 0)).toEqual({
      '{__name__="info", job="api", version="1.0"}': 1,
    });
    expect(await instant('label_join(info{job="api"}, "id", "-", "job", "version", "missing")', 0)).toEqual({
      '{__name__="info", id="api-1.0-", job="api", version="1.0"}': 1,
    });
    await expect(engine.instantQuery(q, 'label_replace(info, "v", "", "version", "(")', 0)).rejects.toThrow('invalid regular expression in label_replace(): (');
  });

  it('sorts with NaN last', async () => {
    const order = async (expr: string): Promise<number[]> => {
      const r = await engine.instantQuery(q, expr, 0);
      return r.value.resultType === 'vector' ? r.value.result.map((x) => x.v) : [];
    };
    expect(await order('sort(nanv)')).toEqual([1, 3, NaN]);
    expect(await order('sort_desc(nanv)')).toEqual([3, 1, NaN]);
    expect(await order('sort_desc(m)')).toEqual([9, 5, 3, 2, 1]);
  });

  it('rounds, clamps, and converts between scalars and vectors', async () => {
    expect(await instant('round(vector(2.5))', 0)).toEqual({ '{}': 3 });
    expect(await instant('round(vector(-2.5))', 0)).toEqual({ '{}': -2 });
    expect(await instant('round(vector(7), 5)', 0)).toEqual({ '{}': 5 });
    expect(await instant('clamp(m{job="web"}, 2.5, 4)', 0)).toEqual({ '{instance="i1", job="web"}': 3, '{instance="i2", job="web"}': 2.5, '{instance="i3", job="web"}': 4 });
    expect(await instant('clamp(m, 5, 1)', 0)).toEqual({});
    expect(await instant('clamp_min(m{instance="i1"}, 2)', 0)).toEqual({ '{instance="i1", job="api"}': 2, '{instance="i1", job="web"}': 3 });
    expect(await instant('scalar(m{job="api", instance="i2"})', 0)).toBe(5);
    expect(await instant('scalar(m)', 0)).toBeNaN();
    expect(await instant('vector(time())', 42)).toEqual({ '{}': 42 });
    expect(await instant('sgn(m - 3)', 0)).toMatchObject({ '{instance="i1", job="api"}': -1, '{instance="i1", job="web"}': 0 });
  });

  it('computes date functions in UTC', async () => {
    // 951782400.5 = 2000-02-29T00:00:00.5Z, a Tuesday.
    expect(await instant('year(ts)', 0)).toEqual({ '{job="a"}': 2000 });
    expect(await instant('month(ts)', 0)).toEqual({ '{job="a"}': 2 });
    expect(await instant('day_of_month(ts)', 0)).toEqual({ '{job="a"}': 29 });
    expect(await instant('days_in_month(ts)', 0)).toEqual({ '{job="a"}': 29 });
    expect(await instant('day_of_week(ts)', 0)).toEqual({ '{job="a"}': 2 });
    expect(await instant('day_of_year(ts)', 0)).toEqual({ '{job="a"}': 60 });
    expect(await instant('hour(ts + 3600 * 25 + 61)', 0)).toEqual({ '{job="a"}': 1 });
    expect(await instant('minute(ts + 3600 * 25 + 61)', 0)).toEqual({ '{job="a"}': 1 });
    // -1.5 s truncates to -1 s: 1969-12-31T23:59:59Z.
    expect(await instant('year(vector(-1.5))', 0)).toEqual({ '{}': 1969 });
    expect(await instant('hour()', 3600 * 5 + 1)).toEqual({ '{}': 5 });
  });

  it('gives NaN, ±Inf and huge values the dates Prometheus on amd64 gives (Go wraps MinInt64)', async () => {
    // Reference values from Debian's Prometheus 2.42 on amd64.
    const cases: Array<[string, number]> = [
      ['year(vector(NaN))', 292277026596],
      ['hour(vector(NaN))', 15],
      ['minute(vector(Inf))', 30],
      ['day_of_week(vector(-Inf))', 0],
      ['month(vector(1e20))', 12],
      ['day_of_month(vector(-1e19))', 4],
      ['days_in_month(vector(NaN))', 31],
      ['day_of_year(vector(NaN))', 339],
      ['year(vector(9.2e18))', 291536396232],
    ];
    for (const [expr, want] of cases) expect(await instant(expr, 0), expr).toEqual({ '{}': want });
  });

  it('computes histogram_quantile over classic buckets', async () => {
    // Buckets 1:10, 2:20, +Inf:20. φ=0.5 → rank 10, in the first bucket: 0 + 1 × 10/10 = 1.
    expect(await instant('histogram_quantile(0.5, h_bucket)', 0)).toEqual({ '{job="a"}': 1 });
    // φ=0.75 → rank 15, second bucket: 1 + (2 - 1) × 5/10.
    expect(await instant('histogram_quantile(0.75, h_bucket)', 0)).toEqual({ '{job="a"}': 1.5 });
    expect(await instant('histogram_quantile(1.5, h_bucket)', 0)).toEqual({ '{job="a"}': Infinity });
    expect(await instant('histogram_quantile(-1, h_bucket)', 0)).toEqual({ '{job="a"}': -Infinity });
    // Without the +Inf bucket there is no quantile.
    expect(await instant('histogram_quantile(0.5, h_bucket{le!="+Inf"})', 0)).toEqual({ '{job="a"}': NaN });
    const r = await engine.instantQuery(q, 'histogram_quantile(2, h_bucket)', 0);
    expect(r.warnings).toEqual(['PromQL warning: quantile value should be between 0 and 1, got 2 (1:20)']);
  });
});

describe('range queries', () => {
  it('returns a matrix sorted by labels, scalars as a series without labels', async () => {
    const r = await engine.rangeQuery(q, 'x * 2', s(0), s(20), s(10));
    expect(simplify(r)).toEqual({ '{job="a"}': [[0, 0], [10, 2], [20, 4]] });
    const sc = await engine.rangeQuery(q, 'time() * 2', s(0), s(20), s(10));
    expect(sc.value).toEqual({
      resultType: 'matrix',
      result: [{ metric: [], points: [{ t: 0, v: 0 }, { t: 10_000, v: 20 }, { t: 20_000, v: 40 }] }],
    });
    const m = await engine.rangeQuery(q, 'm{instance="i1"}', s(0), s(0), s(10));
    expect(m.value.resultType === 'matrix' && m.value.result.map((x) => labelsToString(x.metric))).toEqual([
      '{__name__="m", instance="i1", job="api"}',
      '{__name__="m", instance="i1", job="web"}',
    ]);
  });

  it('rejects range vectors, strings, and bad steps', async () => {
    const e = await errorOf(engine.rangeQuery(q, 'x[1m]', 0, s(10), s(1)));
    expect(e.errorType).toBe('bad_data');
    expect(e.message).toBe('invalid expression type "range vector" for range query, must be Scalar or instant Vector');
    await expect(engine.rangeQuery(q, '"s"', 0, s(10), s(1))).rejects.toThrow('invalid expression type "string"');
    await expect(engine.rangeQuery(q, 'x', 0, s(10), 0)).rejects.toThrow('zero or negative query resolution step');
    await expect(engine.rangeQuery(q, 'x', s(10), 0, s(1))).rejects.toThrow('end timestamp must not be before start time');
  });
});

describe('limits, cancellation, unsupported features', () => {
  it('fails with the execution error when a query needs too many samples', async () => {
    const small = new Engine({ maxSamples: 5 });
    const e = await errorOf(small.instantQuery(q, 'x[1m]', s(60)));
    expect(e.errorType).toBe('execution');
    expect(e.code).toBe('promql_too_many_samples');
    expect(e.message).toBe('query processing would load too many samples into memory in query execution');
    // The same query fits a larger limit; the stats report what was loaded.
    const ok = await new Engine({ maxSamples: 100 }).instantQuery(q, 'x[1m]', s(60));
    expect(ok.stats.samplesLoaded).toBe(6); // (0s, 60s]
  });

  it('stops reading a streaming queryable once over the limit', async () => {
    let yielded = 0;
    const many: Queryable = {
      async *select() {
        for (let i = 0; i < 1000; i++) {
          yielded++;
          yield { labels: [{ name: '__name__', value: 'big' }, { name: 'i', value: String(i) }], timestamps: new Float64Array([0]), values: new Float64Array([1]) };
        }
      },
    };
    await expect(new Engine({ maxSamples: 50 }).instantQuery(many, 'big', 0)).rejects.toThrow('too many samples');
    expect(yielded).toBeLessThan(100);
  });

  it('times out (errorType timeout), also when storage hangs', async () => {
    const hanging: Queryable = {
      select: (_m: LabelMatcher[], _a: number, _b: number, opts?: SelectOptions): AsyncIterable<Series> => ({
        [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Series>>(() => void opts) }),
      }),
    };
    const e = await errorOf(new Engine({ timeout: 50 }).instantQuery(hanging, 'x', 0));
    expect(e.errorType).toBe('timeout');
    expect(e.message).toBe('query timed out in expression evaluation');
  });

  it('is canceled by the caller’s AbortSignal (errorType canceled)', async () => {
    let sawSignal: AbortSignal | undefined;
    const slow: Queryable = {
      async *select(_m, _a, _b, opts) {
        sawSignal = opts?.signal;
        await new Promise((r) => setTimeout(r, 1000));
        yield { labels: [{ name: '__name__', value: 'x' }], timestamps: new Float64Array([0]), values: new Float64Array([1]) };
      },
    };
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const e = await errorOf(engine.instantQuery(slow, 'x', 0, { signal: ac.signal }));
    expect(e.errorType).toBe('canceled');
    expect(sawSignal?.aborted).toBe(true);
  });

  it('names native-histogram functions it does not evaluate', async () => {
    const e = await errorOf(engine.instantQuery(q, 'histogram_count(rate(x[1m]))', 0));
    expect(e.errorType).toBe('execution');
    expect(e.message).toBe('function "histogram_count" is not supported: native histograms are not enabled in this Trimtab engine');
  });

  it('passes matchers, time range and hints to the queryable', async () => {
    const calls: Array<{ matchers: LabelMatcher[]; minT: number; maxT: number; opts?: SelectOptions }> = [];
    const spy: Queryable = {
      select(matchers, minT, maxT, opts) {
        calls.push({ matchers, minT, maxT, opts });
        return q.select(matchers, minT, maxT, opts);
      },
    };
    await engine.rangeQuery(spy, 'sum by (job) (rate(c_total{job="a"}[30s] offset 10s))', s(40), s(60), s(10));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.matchers).toEqual([
      { type: '=', name: 'job', value: 'a' },
      { type: '=', name: '__name__', value: 'c_total' },
    ]);
    // First window (0s, 30s] (40s - 10s offset - 30s range, exclusive), last ends at 50s.
    expect([calls[0]!.minT, calls[0]!.maxT]).toEqual([1, s(50)]);
    expect(calls[0]!.opts?.hints).toMatchObject({ start: 1, end: s(50), step: s(10), range: s(30), func: 'rate' });
    calls.length = 0;
    await engine.instantQuery(spy, 'sum by (job) (c_total)', s(60));
    expect(calls[0]!.opts?.hints).toMatchObject({ step: 0, range: 0, func: 'sum', by: true, grouping: ['job'] });
  });
});

describe('API formatting', () => {
  it('formats floats like Go strconv.FormatFloat(f, \'f\', -1, 64)', () => {
    const cases: Array<[number, string]> = [
      [0, '0'],
      [-0, '-0'],
      [1, '1'],
      [-1.5, '-1.5'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e21, '1000000000000000000000'],
      [1.5e22, '15000000000000000000000'],
      [1e-7, '0.0000001'],
      [123456789.125, '123456789.125'],
      [2 ** 53 + 2, '9007199254740994'],
      [1 / 3, '0.3333333333333333'],
      [5e-324, '0.' + '0'.repeat(323) + '5'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
      [NaN, 'NaN'],
    ];
    for (const [n, want] of cases) expect(formatValue(n)).toBe(want);
  });

  it('produces the Prometheus API data shape', async () => {
    const r = await engine.instantQuery(q, 'x', 15_500);
    expect(toApiData(r.value)).toEqual({ resultType: 'vector', result: [{ metric: { __name__: 'x', job: 'a' }, value: [15.5, '1'] }] });
    expect(toApiData((await engine.instantQuery(q, '"hi"', 1000)).value)).toEqual({ resultType: 'string', result: [1, 'hi'] });
    expect(toApiData((await engine.instantQuery(q, '1/0', 1000)).value)).toEqual({ resultType: 'scalar', result: [1, '+Inf'] });
  });
});
