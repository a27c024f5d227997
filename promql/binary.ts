// Binary operators: arithmetic, comparisons (filtering or `bool`), set operators, and vector matching
// (on/ignoring, group_left/group_right) with Prometheus' cardinality errors.

import type { BinaryExpr, BinaryOp, VectorMatching } from './ast.ts';
import { executionError } from './errors.ts';
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
  keyForLabels,
  keyWithoutLabels,
  labelsKey,
  LabelsBuilder,
  labelsToString,
  METRIC_NAME,
  type Labels,
} from './labels.ts';
import { goMod, goPow } from './mathutil.ts';
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
    for (let i = 0; i < s.ts.length; i++) {
      const t = s.ts[i]!;
      const sv = scalar.values[stepIndex(ev, t)]!;
      const x = s.vs[i]!;
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
    }
    if (ts.length > 0) {
      points += ts.length;
      out.push({ labels: dropName ? dropMetricName(s.labels) : s.labels, ts, vs });
    }
  }
  ev.ctx.add(points);
  return { kind: 'vector', series: dropName ? mergeSameLabelset(out) : out };
}

/** The join signature of a series: the matching labels (on) or all but them and __name__ (ignoring). */
function signatureFn(vm: VectorMatching): (l: Labels) => string {
  if (vm.on) {
    const names = new Set(vm.matchingLabels);
    return (l) => keyForLabels(l, names);
  }
  const names = new Set([...vm.matchingLabels, METRIC_NAME]);
  return (l) => keyWithoutLabels(l, names);
}

/** labels.MatchLabels: the labels a match group is identified by, for error messages. */
function matchLabels(l: Labels, vm: VectorMatching): Labels {
  const names = new Set(vm.matchingLabels);
  return l.filter((x) => (vm.on ? names.has(x.name) : !names.has(x.name) && x.name !== METRIC_NAME));
}

function vectorVector(ev: Steps, node: BinaryExpr, vm: VectorMatching, lhs: StepSeries[], rhs: StepSeries[]): StepSeries[] {
  const sigf = signatureFn(vm);
  const ordinals = new Map<string, number>();
  const ord = (series: StepSeries[]): Int32Array => {
    const a = new Int32Array(series.length);
    series.forEach((s, i) => {
      const k = sigf(s.labels);
      let o = ordinals.get(k);
      if (o === undefined) {
        o = ordinals.size;
        ordinals.set(k, o);
      }
      a[i] = o;
    });
    return a;
  };
  const lsig = ord(lhs);
  const rsig = ord(rhs);
  const lg = new Gatherer(lhs);
  const rg = new Gatherer(rhs);
  const op = node.op;
  const present = new Uint8Array(ordinals.size);
  const clearPresent = (): void => {
    present.fill(0);
  };

  if (op === 'and' || op === 'or' || op === 'unless') {
    return collectSteps(ev, (t, _step, out) => {
      lg.gather(t);
      rg.gather(t);
      const push = (series: StepSeries[], idx: readonly number[], vals: readonly number[], filter: (i: number) => boolean): void => {
        for (let j = 0; j < idx.length; j++) if (filter(idx[j]!)) out.push({ labels: series[idx[j]!]!.labels, v: vals[j]! });
      };
      if (op === 'and') {
        if (lg.idx.length === 0 || rg.idx.length === 0) return;
        clearPresent();
        for (const i of rg.idx) present[rsig[i]!] = 1;
        push(lhs, lg.idx, lg.vals, (i) => present[lsig[i]!] === 1);
      } else if (op === 'or') {
        push(lhs, lg.idx, lg.vals, () => true);
        if (lg.idx.length === 0) {
          push(rhs, rg.idx, rg.vals, () => true);
          return;
        }
        if (rg.idx.length === 0) return;
        clearPresent();
        for (const i of lg.idx) present[lsig[i]!] = 1;
        push(rhs, rg.idx, rg.vals, (i) => present[rsig[i]!] === 0);
      } else {
        if (lg.idx.length === 0 || rg.idx.length === 0) {
          push(lhs, lg.idx, lg.vals, () => true);
          return;
        }
        clearPresent();
        for (const i of rg.idx) present[rsig[i]!] = 1;
        push(lhs, lg.idx, lg.vals, (i) => present[lsig[i]!] === 0);
      }
    });
  }

  // Arithmetic and comparisons: one-to-one, many-to-one (group_left) or one-to-many (group_right).
  const oneToMany = vm.card === 'one-to-many';
  const resultCache = new Map<string, Labels>();
  const resultMetric = (l: Labels, r: Labels): Labels => {
    const key = labelsKey(l) + '\u0000' + labelsKey(r);
    let m = resultCache.get(key);
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
      resultCache.set(key, m);
    }
    return m;
  };
  const rightBySig = new Map<number, number>(); // signature ordinal -> index into the "one" side's gathered arrays
  const matched = new Map<number, Set<string> | null>();
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
      let { v, keep } = oneToMany ? elemBinop(op, ovv, mv) : elemBinop(op, mv, ovv);
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
        const mk = labelsKey(metric);
        if (set.has(mk)) throw executionError('multiple matches for labels: grouping labels must ensure unique matches');
        set.add(mk);
      }
      if (!keep && !node.bool) continue;
      out.push({ labels: metric, v });
    }
  });
}
