// Binary operators: arithmetic, comparisons (filtering or `bool`), set operators, and vector matching
// (on/ignoring, group_left/group_right) with Prometheus' cardinality errors.

import type { BinaryExpr, BinaryOp, VectorMatching } from './ast.ts';
import { executionError, PromQLError } from './errors.ts';
import {
  collectSteps,
  countPoints,
  Gatherer,
  mergeSameLabelset,
  stepIndex,
  type EvalValue,
  type OutSample,
  type ScalarValue,
  type StepSeries,
  type Steps,
  type VectorValue,
} from './eval.ts';
import {
  dropMetricName,
  getLabel,
  LabelSetIndex,
  LabelsBuilder,
  labelsToString,
  METRIC_NAME,
  type LabelProjection,
  type Labels,
} from './labels.ts';
import { goMod, goPow } from './mathutil.ts';
import { addHistograms, compactHistogram, copyHistogram, divideHistogram, scaleHistogram, subHistograms, type FloatHistogram } from './native-histogram.ts';
import { isComparison } from './parse.ts';

/** Operators that change what the metric measures, so the result loses __name__. */
function changesMetricSchema(op: BinaryOp): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '^' || op === 'atan2';
}

/** Scalar-scalar operation (comparisons give 0/1: they always carry `bool` there). */
export function scalarBinop(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '%':
      return goMod(l, r);
    case '^':
      return goPow(l, r);
    case 'atan2':
      return Math.atan2(l, r);
    case '==':
      return l === r ? 1 : 0;
    case '!=':
      return l !== r ? 1 : 0;
    case '>':
      return l > r ? 1 : 0;
    case '<':
      return l < r ? 1 : 0;
    case '>=':
      return l >= r ? 1 : 0;
    case '<=':
      return l <= r ? 1 : 0;
    default:
      throw executionError(`operator "${op}" not allowed for Scalar operations`);
  }
}

/** Element operation: for comparisons `keep` says whether the pair passes and the value is lhs. */
function elemBinop(op: BinaryOp, l: number, r: number): { v: number; keep: boolean } {
  switch (op) {
    case '==':
      return { v: l, keep: l === r };
    case '!=':
      return { v: l, keep: l !== r };
    case '>':
      return { v: l, keep: l > r };
    case '<':
      return { v: l, keep: l < r };
    case '>=':
      return { v: l, keep: l >= r };
    case '<=':
      return { v: l, keep: l <= r };
    default:
      return { v: scalarBinop(op, l, r), keep: true };
  }
}

/**
 * An element operation where at least one operand is a native histogram (Prometheus 3's
 * vectorElemBinop): histogram + histogram, histogram - histogram, histogram * float, float * histogram,
 * histogram / float give a histogram; every other combination has no result (Prometheus 3 drops it
 * with an annotation). `==`/`!=` and `bool` comparisons of histograms are not supported yet.
 */
function histogramElemBinop(node: BinaryExpr, l: number, r: number, hl: FloatHistogram | undefined, hr: FloatHistogram | undefined): FloatHistogram | undefined {
  const op = node.op;
  if (node.bool || op === '==' || op === '!=') {
    throw new PromQLError('promql_unsupported', `binary operator "${op}"${node.bool ? ' with bool' : ''} is not supported on native histograms`);
  }
  if (hl && hr) {
    if (op === '+') return compactHistogram(addHistograms(hl, hr));
    if (op === '-') return compactHistogram(subHistograms(hl, hr));
    return undefined;
  }
  if (hl) {
    if (op === '*') return scaleHistogram(copyHistogram(hl), r);
    if (op === '/') return divideHistogram(copyHistogram(hl), r);
    return undefined;
  }
  if (hr && op === '*') return scaleHistogram(copyHistogram(hr), l);
  return undefined;
}

export function evalBinary(ev: Steps, node: BinaryExpr, lhs: EvalValue, rhs: EvalValue): EvalValue {
  const ctx = ev.ctx;
  if (lhs.kind === 'scalar' && rhs.kind === 'scalar') {
    const out = new Float64Array(lhs.values.length);
    for (let i = 0; i < out.length; i++) out[i] = scalarBinop(node.op, lhs.values[i]!, rhs.values[i]!);
    return { kind: 'scalar', values: out };
  }
  const released = countPoints(lhs) + countPoints(rhs);
  let result: VectorValue;
  if (lhs.kind === 'vector' && rhs.kind === 'scalar') result = vectorScalar(ev, node, lhs, rhs, false);
  else if (lhs.kind === 'scalar' && rhs.kind === 'vector') result = vectorScalar(ev, node, rhs, lhs, true);
  else if (lhs.kind === 'vector' && rhs.kind === 'vector') {
    const vm = node.vectorMatching!;
    result = { kind: 'vector', series: vectorVector(ev, node, vm, lhs.series, rhs.series) };
  } else {
    throw executionError('binary expression must contain only scalar and instant vector types');
  }
  ctx.release(released);
  return result;
}

function vectorScalar(ev: Steps, node: BinaryExpr, vec: VectorValue, scalar: ScalarValue, swap: boolean): VectorValue {
  const op = node.op;
  const comparison = isComparison(op);
  const dropName = changesMetricSchema(op) || node.bool;
  const out: StepSeries[] = [];
  let points = 0;
  for (const s of vec.series) {
    const ts: number[] = [];
    const vs: number[] = [];
    const hs: Array<FloatHistogram | undefined> = [];
    let anyHistogram = false;
    for (let i = 0; i < s.ts.length; i++) {
      const t = s.ts[i]!;
      const sv = scalar.values[stepIndex(ev, t)]!;
      const x = s.vs[i]!;
      const hx = s.hs?.[i];
      if (hx) {
        const h = swap ? histogramElemBinop(node, sv, x, undefined, hx) : histogramElemBinop(node, x, sv, hx, undefined);
        if (!h) continue;
        ts.push(t);
        vs.push(0);
        hs.push(h);
        anyHistogram = true;
        continue;
      }
      let { v, keep } = swap ? elemBinop(op, sv, x) : elemBinop(op, x, sv);
      // A comparison keeps the vector element's value even when the scalar is on the left.
      if (comparison && swap) v = x;
      if (node.bool) {
        v = keep ? 1 : 0;
        keep = true;
      }
      if (!keep) continue;
      ts.push(t);
      vs.push(v);
      hs.push(undefined);
    }
    if (ts.length > 0) {
      points += ts.length;
      const series: StepSeries = { labels: dropName ? dropMetricName(s.labels) : s.labels, ts, vs };
      if (anyHistogram) series.hs = hs;
      out.push(series);
    }
  }
  ev.ctx.add(points);
  return { kind: 'vector', series: dropName ? mergeSameLabelset(out) : out };
}

/** The labels a join matches on: the matching labels (on), or all but them and __name__ (ignoring). */
function signatureProjection(vm: VectorMatching): LabelProjection {
  if (vm.on) return { keep: 'only', names: new Set(vm.matchingLabels) };
  return { keep: 'except', names: new Set([...vm.matchingLabels, METRIC_NAME]) };
}

/** labels.MatchLabels: the labels a match group is identified by, for error messages. */
function matchLabels(l: Labels, vm: VectorMatching): Labels {
  const names = new Set(vm.matchingLabels);
  return l.filter((x) => (vm.on ? names.has(x.name) : !names.has(x.name) && x.name !== METRIC_NAME));
}

function vectorVector(ev: Steps, node: BinaryExpr, vm: VectorMatching, lhs: StepSeries[], rhs: StepSeries[]): StepSeries[] {
  const signatures = new LabelSetIndex(signatureProjection(vm));
  const ord = (series: StepSeries[]): Int32Array => {
    const a = new Int32Array(series.length);
    for (let i = 0; i < series.length; i++) a[i] = signatures.ordinal(series[i]!.labels);
    return a;
  };
  const lsig = ord(lhs);
  const rsig = ord(rhs);
  const lg = new Gatherer(lhs);
  const rg = new Gatherer(rhs);
  const op = node.op;
  const present = new Uint8Array(signatures.size);
  const clearPresent = (): void => {
    present.fill(0);
  };

  if (op === 'and' || op === 'or' || op === 'unless') {
    return collectSteps(ev, (t, _step, out) => {
      lg.gather(t);
      rg.gather(t);
      const push = (series: StepSeries[], g: Gatherer, filter: (i: number) => boolean): void => {
        for (let j = 0; j < g.idx.length; j++) {
          if (!filter(g.idx[j]!)) continue;
          const h = g.hvals[j];
          out.push(h ? { labels: series[g.idx[j]!]!.labels, v: 0, h } : { labels: series[g.idx[j]!]!.labels, v: g.vals[j]! });
        }
      };
      if (op === 'and') {
        if (lg.idx.length === 0 || rg.idx.length === 0) return;
        clearPresent();
        for (const i of rg.idx) present[rsig[i]!] = 1;
        push(lhs, lg, (i) => present[lsig[i]!] === 1);
      } else if (op === 'or') {
        push(lhs, lg, () => true);
        if (lg.idx.length === 0) {
          push(rhs, rg, () => true);
          return;
        }
        if (rg.idx.length === 0) return;
        clearPresent();
        for (const i of lg.idx) present[lsig[i]!] = 1;
        push(rhs, rg, (i) => present[rsig[i]!] === 0);
      } else {
        if (lg.idx.length === 0 || rg.idx.length === 0) {
          push(lhs, lg, () => true);
          return;
        }
        clearPresent();
        for (const i of rg.idx) present[rsig[i]!] = 1;
        push(lhs, lg, (i) => present[lsig[i]!] === 0);
      }
    });
  }

  // Arithmetic and comparisons: one-to-one, many-to-one (group_left) or one-to-many (group_right).
  const oneToMany = vm.card === 'one-to-many';
  // By the identity of the operands' label arrays, which stay the same from step to step.
  const resultCache = new Map<Labels, Map<Labels, Labels>>();
  const resultMetric = (l: Labels, r: Labels): Labels => {
    let byRight = resultCache.get(l);
    if (byRight === undefined) resultCache.set(l, (byRight = new Map()));
    let m = byRight.get(r);
    if (m === undefined) {
      const b = new LabelsBuilder(l);
      if (changesMetricSchema(op)) b.del(METRIC_NAME);
      if (vm.card === 'one-to-one') {
        if (vm.on) b.keep(vm.matchingLabels);
        else b.del(...vm.matchingLabels);
      }
      for (const name of vm.include) b.set(name, getLabel(r, name));
      m = b.labels();
      if (node.bool) m = dropMetricName(m);
      byRight.set(r, m);
    }
    return m;
  };
  const rightBySig = new Map<number, number>(); // signature ordinal -> index into the "one" side's gathered arrays
  const matched = new Map<number, Set<number> | null>();
  const metrics = new LabelSetIndex();
  return collectSteps(ev, (t, _step, out: OutSample[]) => {
    lg.gather(t);
    rg.gather(t);
    if (lg.idx.length === 0 || rg.idx.length === 0) return;
    // Normalise so that the "many" side is `many` and the "one" side is `one`.
    const [many, manySeries, manySig, one, oneSeries, oneSig] = oneToMany
      ? [rg, rhs, rsig, lg, lhs, lsig]
      : [lg, lhs, lsig, rg, rhs, rsig];
    rightBySig.clear();
    for (let j = 0; j < one.idx.length; j++) {
      const si = one.idx[j]!;
      const sig = oneSig[si]!;
      const dup = rightBySig.get(sig);
      if (dup !== undefined) {
        const a = oneSeries[si]!.labels;
        const b = oneSeries[one.idx[dup]!]!.labels;
        throw executionError(
          `found duplicate series for the match group ${labelsToString(matchLabels(a, vm))} on the ${oneToMany ? 'left' : 'right'} hand-side of the operation: [${labelsToString(a)}, ${labelsToString(b)}];many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      rightBySig.set(sig, j);
    }
    matched.clear();
    for (let j = 0; j < many.idx.length; j++) {
      const si = many.idx[j]!;
      const sig = manySig[si]!;
      const oj = rightBySig.get(sig);
      if (oj === undefined) continue;
      const ml = manySeries[si]!.labels;
      const ol = oneSeries[one.idx[oj]!]!.labels;
      const mv = many.vals[j]!;
      const ovv = one.vals[oj]!;
      const mh = many.hvals[j];
      const oh = one.hvals[oj];
      let h: FloatHistogram | undefined;
      let keep = true;
      let v = 0;
      if (mh || oh) {
        h = oneToMany ? histogramElemBinop(node, ovv, mv, oh, mh) : histogramElemBinop(node, mv, ovv, mh, oh);
        keep = h !== undefined;
      } else ({ v, keep } = oneToMany ? elemBinop(op, ovv, mv) : elemBinop(op, mv, ovv));
      if (node.bool) {
        v = keep ? 1 : 0;
      }
      const metric = resultMetric(ml, ol);
      if (vm.card === 'one-to-one') {
        if (matched.has(sig)) throw executionError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        matched.set(sig, null);
      } else {
        let set = matched.get(sig);
        if (!set) {
          set = new Set();
          matched.set(sig, set);
        }
        const mk = metrics.ordinal(metric);
        if (set.has(mk)) throw executionError('multiple matches for labels: grouping labels must ensure unique matches');
        set.add(mk);
      }
      if (!keep && !node.bool) continue;
      out.push(h ? { labels: metric, v: 0, h } : { labels: metric, v });
    }
  });
}
