// PromQL conformance: the same data in Trimtab's engine (over MemoryQueryable) and in a real Prometheus
// 2.42 started by this test; every query of queries.ts is evaluated by both, as instant queries at
// several times and as a range query, and the answers must agree (see compare.ts for what "agree"
// means, DIFFERENCES.md for the deliberate differences and how the data avoids Prometheus 2/3
// differences).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../promql/engine.ts';
import { PromQLError } from '../../promql/errors.ts';
import { MemoryQueryable } from '../../promql/memory-queryable.ts';
import { toApiData } from '../../promql/value.ts';
import { compareResponses } from './compare.ts';
import { buildDataset, INSTANT_TIMES, RANGE, T0 } from './data.ts';
import { queryInstant, queryRange, remoteWrite, startReferencePrometheus, type ApiResponse, type ReferencePrometheus } from './prometheus.ts';
import { CASES } from './queries.ts';

interface Evaluation {
  name: string;
  expr: string;
  kind: 'instant' | 'range';
  time: number;
  ordered: boolean;
  adjust?: 'drop-metric-name';
}

const evaluations: Evaluation[] = CASES.flatMap((c) => {
  const out: Evaluation[] = [];
  if (c.instant !== false) {
    for (const time of INSTANT_TIMES) {
      out.push({ name: `instant @${(time - T0) / 1000}s: ${c.expr}`, expr: c.expr, kind: 'instant', time, ordered: c.ordered ?? false, adjust: c.difference?.adjust });
    }
  }
  if (c.range !== false) out.push({ name: `range: ${c.expr}`, expr: c.expr, kind: 'range', time: RANGE.start, ordered: false, adjust: c.difference?.adjust });
  return out;
});

const dataset = buildDataset();
const memory = new MemoryQueryable();
for (const s of dataset) memory.add(s.labels, s.samples);
const engine = new Engine({ lookbackDelta: 5 * 60_000, noStepSubqueryInterval: 60_000 });

async function trimtab(e: { expr: string; kind: 'instant' | 'range'; time: number }): Promise<ApiResponse> {
  try {
    const r =
      e.kind === 'instant'
        ? await engine.instantQuery(memory, e.expr, e.time)
        : await engine.rangeQuery(memory, e.expr, RANGE.start, RANGE.end, RANGE.step);
    return { status: 'success', data: toApiData(r.value) };
  } catch (err) {
    if (err instanceof PromQLError) return { status: 'error', errorType: err.errorType, error: err.message };
    throw err;
  }
}

/** Applies a documented Prometheus 2.42 → 3 difference to the reference answer (see DIFFERENCES.md). */
function adjust(r: ApiResponse, how: Evaluation['adjust']): ApiResponse {
  if (!how || r.status !== 'success' || !Array.isArray(r.data.result)) return r;
  const result = (r.data.result as Array<{ metric: Record<string, string> }>).map((s) => {
    const { __name__: _dropped, ...metric } = s.metric;
    return { ...s, metric };
  });
  return { ...r, data: { ...r.data, result } };
}

let prom: ReferencePrometheus | undefined;
const outcomes: Array<{ ok: boolean; nonEmpty: boolean; error: boolean }> = [];

beforeAll(async () => {
  prom = await startReferencePrometheus();
  await remoteWrite(prom.url, dataset);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
});

describe('reference data', () => {
  it('Prometheus holds every series', async () => {
    // The number of series with a live sample at 30m and at 90m, counted from the dataset itself.
    const live = (t: number): number =>
      dataset.filter((s) => {
        const last = s.samples.filter(([ts]) => ts <= t).at(-1);
        return last !== undefined && last[0] > t - 5 * 60_000 && last[1] !== 'stale';
      }).length;
    const t = T0 + 30 * 60_000 + 123;
    const r = await queryInstant(prom!.url, 'count({__name__=~".+"} offset -1h) + count({__name__=~".+"})', t);
    expect(r.status).toBe('success');
    const value = r.status === 'success' ? Number((r.data.result as Array<{ value: [number, string] }>)[0]!.value[1]) : 0;
    expect(value).toBe(live(t) + live(t + 3600_000));
    expect(value).toBeGreaterThan(dataset.length);
  });

  it('stale markers reached Prometheus and end the series in both engines', async () => {
    const t = T0 + 41 * 60_000 + 123; // one minute after flappy_gauge's stale marker
    const expected = await queryInstant(prom!.url, 'flappy_gauge', t);
    const actual = await trimtab({ expr: 'flappy_gauge', kind: 'instant', time: t });
    expect(expected).toMatchObject({ status: 'success', data: { result: [] } });
    expect(actual).toMatchObject({ status: 'success', data: { result: [] } });
    // Without the marker the last sample (under a minute old) would still be returned.
    const before = await trimtab({ expr: 'flappy_gauge', kind: 'instant', time: T0 + 39 * 60_000 + 123 });
    expect(before).toMatchObject({ status: 'success', data: { result: [{ metric: { __name__: 'flappy_gauge' } }] } });
  });
});

describe('PromQL conformance with Prometheus 2.42', () => {
  for (const e of evaluations) {
    it(e.name, async () => {
      const expected = adjust(
        e.kind === 'instant'
          ? await queryInstant(prom!.url, e.expr, e.time)
          : await queryRange(prom!.url, e.expr, RANGE.start, RANGE.end, RANGE.step),
        e.adjust,
      );
      const actual = await trimtab(e);
      const diffs = compareResponses(expected, actual, e.ordered);
      const result = expected.status === 'success' ? (expected.data.result as unknown) : null;
      outcomes.push({
        ok: diffs.length === 0,
        error: expected.status === 'error',
        nonEmpty: Array.isArray(result) ? result.length > 0 : result !== null,
      });
      expect(diffs, `${e.name}\n${diffs.join('\n')}`).toEqual([]);
    });
  }

  it('compares at least 200 evaluations, nearly all of them with data', () => {
    expect(evaluations.length).toBeGreaterThanOrEqual(200);
    expect(outcomes.length).toBe(evaluations.length);
    expect(outcomes.filter((o) => o.ok).length).toBe(evaluations.length);
    // Guard against a vacuous pass (e.g. data missing in both engines): most answers carry samples.
    const withData = outcomes.filter((o) => o.nonEmpty && !o.error).length;
    expect(withData / evaluations.length).toBeGreaterThan(0.8);
  });
});
