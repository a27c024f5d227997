// Compares two Prometheus-API query answers: same status (and errorType), same result type, the same
// label sets, the same timestamps, and values equal within 1e-9 relative (NaN equals NaN, infinities
// must match exactly). Order is compared only when the query defines it (sort, topk… in instant
// queries): then the sequence of values must match position by position.

import type { ApiResponse } from './prometheus.ts';

export const RELATIVE_TOLERANCE = 1e-9;

export function parseApiFloat(s: string): number {
  if (s === 'NaN') return NaN;
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

export function floatsEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= RELATIVE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
}

type Metric = Record<string, string>;
const metricKey = (m: Metric): string =>
  JSON.stringify(
    Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
const ms = (sec: number): number => Math.round(sec * 1000);

export function compareResponses(expected: ApiResponse, actual: ApiResponse, ordered: boolean): string[] {
  const diffs: string[] = [];
  if (expected.status !== actual.status) {
    const describe = (r: ApiResponse): string => (r.status === 'error' ? `error ${r.errorType}: ${r.error}` : `success ${r.data.resultType}`);
    return [`status: prometheus ${describe(expected)}, trimtab ${describe(actual)}`];
  }
  if (expected.status === 'error' && actual.status === 'error') {
    if (expected.errorType !== actual.errorType) diffs.push(`errorType: prometheus ${expected.errorType} (${expected.error}), trimtab ${actual.errorType} (${actual.error})`);
    return diffs;
  }
  if (expected.status !== 'success' || actual.status !== 'success') return diffs;
  const e = expected.data;
  const a = actual.data;
  if (e.resultType !== a.resultType) return [`resultType: prometheus ${e.resultType}, trimtab ${a.resultType}`];
  switch (e.resultType) {
    case 'scalar':
    case 'string': {
      const [et, ev] = e.result as [number, string];
      const [at, av] = a.result as [number, string];
      if (ms(et) !== ms(at)) diffs.push(`timestamp: ${et} vs ${at}`);
      if (e.resultType === 'string' ? ev !== av : !floatsEqual(parseApiFloat(ev), parseApiFloat(av))) diffs.push(`value: prometheus ${ev}, trimtab ${av}`);
      return diffs;
    }
    case 'vector': {
      const ev = e.result as Array<{ metric: Metric; value: [number, string] }>;
      const av = a.result as Array<{ metric: Metric; value: [number, string] }>;
      const em = new Map(ev.map((s) => [metricKey(s.metric), s]));
      const am = new Map(av.map((s) => [metricKey(s.metric), s]));
      if (em.size !== ev.length) diffs.push('prometheus returned duplicate label sets');
      if (am.size !== av.length) diffs.push('trimtab returned duplicate label sets');
      for (const [k, s] of em) {
        const o = am.get(k);
        if (!o) {
          diffs.push(`missing in trimtab: ${k} = ${s.value[1]}`);
          continue;
        }
        if (ms(s.value[0]) !== ms(o.value[0])) diffs.push(`${k}: timestamp ${s.value[0]} vs ${o.value[0]}`);
        if (!floatsEqual(parseApiFloat(s.value[1]), parseApiFloat(o.value[1]))) diffs.push(`${k}: prometheus ${s.value[1]}, trimtab ${o.value[1]}`);
      }
      for (const [k, s] of am) if (!em.has(k)) diffs.push(`extra in trimtab: ${k} = ${s.value[1]}`);
      if (ordered && diffs.length === 0) {
        for (let i = 0; i < ev.length; i++) {
          if (!floatsEqual(parseApiFloat(ev[i]!.value[1]), parseApiFloat(av[i]!.value[1]))) {
            diffs.push(`order: position ${i} is ${ev[i]!.value[1]} in prometheus, ${av[i]!.value[1]} in trimtab`);
            break;
          }
        }
      }
      return diffs;
    }
    case 'matrix': {
      const ev = e.result as Array<{ metric: Metric; values: Array<[number, string]> }>;
      const av = a.result as Array<{ metric: Metric; values: Array<[number, string]> }>;
      const em = new Map(ev.map((s) => [metricKey(s.metric), s]));
      const am = new Map(av.map((s) => [metricKey(s.metric), s]));
      for (const [k, s] of em) {
        const o = am.get(k);
        if (!o) {
          diffs.push(`missing in trimtab: ${k} (${s.values.length} points)`);
          continue;
        }
        const ep = new Map(s.values.map(([t, v]) => [ms(t), v]));
        const ap = new Map(o.values.map(([t, v]) => [ms(t), v]));
        let reported = 0;
        for (const [t, v] of ep) {
          const w = ap.get(t);
          if (w === undefined) {
            if (reported++ < 3) diffs.push(`${k} @${t}: missing in trimtab (prometheus ${v})`);
          } else if (!floatsEqual(parseApiFloat(v), parseApiFloat(w))) {
            if (reported++ < 3) diffs.push(`${k} @${t}: prometheus ${v}, trimtab ${w}`);
          }
        }
        for (const [t, w] of ap) if (!ep.has(t) && reported++ < 3) diffs.push(`${k} @${t}: extra in trimtab (${w})`);
        if (reported > 3) diffs.push(`${k}: ${reported - 3} more point differences`);
      }
      for (const [k, s] of am) if (!em.has(k)) diffs.push(`extra in trimtab: ${k} (${s.values.length} points)`);
      return diffs;
    }
    default:
      return [`unknown resultType ${e.resultType}`];
  }
}
