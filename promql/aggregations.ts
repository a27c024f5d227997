// Aggregation operators (sum avg min max count group stddev stdvar quantile topk bottomk count_values)
// with by/without, ported from Prometheus 3's aggregation(), aggregationK() and aggregationCountValues().

import type { AggregateExpr } from './ast.ts';
import { executionError, PromQLError } from './errors.ts';
import { collectSteps, countPoints, Gatherer, hasHistograms, type OutSample, type ScalarValue, type Steps, type VectorValue } from './eval.ts';
import { isValidLabelName, LabelSetIndex, LabelsBuilder, METRIC_NAME, type LabelProjection, type Labels } from './labels.ts';
import { kahanSumInc, quantile } from './mathutil.ts';
import { addHistograms, compactHistogram, copyHistogram, scaleHistogram, type FloatHistogram } from './native-histogram.ts';
import { formatValue } from './value.ts';

const INT64_MAX_FLOAT = 9223372036854774784;
const INT64_MIN_FLOAT = -9223372036854775808;

export function evalAggregate(ev: Steps, node: AggregateExpr, input: VectorValue, param: ScalarValue | string | null): VectorValue {
  const ctx = ev.ctx;
  const released = countPoints(input);
  let series;
  if (hasHistograms(input)) {
    if (node.op !== 'sum' && node.op !== 'avg' && node.op !== 'count') {
      throw new PromQLError('promql_unsupported', `aggregation "${node.op}" is not supported on native histograms`);
    }
    series = aggregateWithHistograms(ev, node, input);
  } else if (node.op === 'count_values') series = countValues(ev, node, input, param as string);
  else if (node.op === 'topk' || node.op === 'bottomk') series = topBottomK(ev, node, input, param as ScalarValue);
  else series = aggregate(ev, node, input, param as ScalarValue | null);
  ctx.release(released);
  return { kind: 'vector', series };
}

/** The labels that identify an aggregation's group (by / without; count_values adds its own label). */
function groupingProjection(node: AggregateExpr, extra?: string): LabelProjection {
  const names = new Set(node.grouping);
  if (node.without) {
    names.add(METRIC_NAME);
    return { keep: 'except', names };
  }
  if (extra !== undefined) names.add(extra);
  return { keep: 'only', names };
}

function groupingLabels(node: AggregateExpr, l: Labels, extra?: string): Labels {
  if (node.without) return new LabelsBuilder(l).del(...node.grouping, METRIC_NAME).labels();
  const keep = extra !== undefined ? [...node.grouping, extra] : node.grouping;
  if (keep.length === 0) return [];
  return new LabelsBuilder(l).keep(keep).labels();
}

function paramValues(param: ScalarValue | null): Float64Array | null {
  return param ? param.values : null;
}

/** The output group of each input series (by the aggregation's by/without), and each group's labels. */
function groupSeries(node: AggregateExpr, series: ReadonlyArray<{ labels: Labels }>): { groupOf: Int32Array; groupLabels: Labels[] } {
  const groups = new LabelSetIndex(groupingProjection(node));
  const groupOf = new Int32Array(series.length);
  const groupLabels: Labels[] = [];
  for (let i = 0; i < series.length; i++) {
    const labels = series[i]!.labels;
    const g = groups.ordinal(labels);
    if (g === groupLabels.length) groupLabels.push(groupingLabels(node, labels));
    groupOf[i] = g;
  }
  return { groupOf, groupLabels };
}

function aggregate(ev: Steps, node: AggregateExpr, input: VectorValue, param: ScalarValue | null) {
  const op = node.op;
  const series = input.series;
  const { groupOf, groupLabels } = groupSeries(node, series);
  const G = groupLabels.length;
  const seen = new Uint8Array(G);
  const value = new Float64Array(G);
  const mean = new Float64Array(G);
  const comp = new Float64Array(G);
  const count = new Float64Array(G);
  const incremental = new Uint8Array(G);
  const heaps: number[][] = op === 'quantile' ? Array.from({ length: G }, () => []) : [];
  const params = paramValues(param);
  if (op === 'quantile' && params) {
    const bad = [...params].find((q) => q !== q || q < 0 || q > 1);
    if (bad !== undefined) ev.ctx.annotate('warning', `quantile value should be between 0 and 1, got ${formatValue(bad)}`, node.param);
  }
  const gather = new Gatherer(series);

  return collectSteps(ev, (t, step, out: OutSample[]) => {
    gather.gather(t);
    seen.fill(0);
    const idx = gather.idx;
    const vals = gather.vals;
    for (let j = 0; j < idx.length; j++) {
      const g = groupOf[idx[j]!]!;
      const f = vals[j]!;
      if (!seen[g]) {
        seen[g] = 1;
        value[g] = f;
        mean[g] = f;
        comp[g] = 0;
        count[g] = 1;
        incremental[g] = 0;
        if (op === 'stddev' || op === 'stdvar') value[g] = f !== f || f === Infinity || f === -Infinity ? NaN : 0;
        else if (op === 'group') value[g] = 1;
        else if (op === 'quantile') {
          heaps[g]!.length = 0;
          heaps[g]!.push(f);
        }
        continue;
      }
      switch (op) {
        case 'sum': {
          const [s, c] = kahanSumInc(f, value[g]!, comp[g]!);
          value[g] = s;
          comp[g] = c;
          break;
        }
        case 'avg': {
          count[g]!++;
          const n = count[g]!;
          if (!incremental[g]) {
            const [s, c] = kahanSumInc(f, value[g]!, comp[g]!);
            if (s !== Infinity && s !== -Infinity) {
              value[g] = s;
              comp[g] = c;
              break;
            }
            // The sum would overflow: continue with the incremental mean.
            incremental[g] = 1;
            mean[g] = value[g]! / (n - 1);
            comp[g] = comp[g]! / (n - 1);
          }
          const q = (n - 1) / n;
          const [m, c] = kahanSumInc(f / n, q * mean[g]!, q * comp[g]!);
          mean[g] = m;
          comp[g] = c;
          break;
        }
        case 'max':
          if (value[g]! < f || value[g] !== value[g]) value[g] = f;
          break;
        case 'min':
          if (value[g]! > f || value[g] !== value[g]) value[g] = f;
          break;
        case 'count':
          count[g]!++;
          break;
        case 'group':
          break;
        case 'stddev':
        case 'stdvar': {
          count[g]!++;
          const delta = f - mean[g]!;
          mean[g] = mean[g]! + delta / count[g]!;
          value[g] = value[g]! + delta * (f - mean[g]!);
          break;
        }
        case 'quantile':
          heaps[g]!.push(f);
          break;
        default:
          throw executionError(`expected aggregation operator but got "${op}"`);
      }
    }
    for (let g = 0; g < G; g++) {
      if (!seen[g]) continue;
      let v: number;
      switch (op) {
        case 'avg':
          v = incremental[g] ? mean[g]! + comp[g]! : value[g]! / count[g]! + comp[g]! / count[g]!;
          break;
        case 'count':
          v = count[g]!;
          break;
        case 'stdvar':
          v = value[g]! / count[g]!;
          break;
        case 'stddev':
          v = Math.sqrt(value[g]! / count[g]!);
          break;
        case 'quantile':
          v = quantile(params![step]!, heaps[g]!);
          break;
        case 'sum':
          v = value[g]! + comp[g]!;
          break;
        default:
          v = value[g]!;
      }
      out.push({ labels: groupLabels[g]!, v });
    }
  });
}

/**
 * sum, avg and count over an input with native histograms. A group whose samples at a step are all
 * histograms sums (averages) them into one histogram, added in input order with the lower schema
 * winning, then compacted (Prometheus' aggregation()); a group of floats only is summed as floats; a
 * group mixing both has no result at that step (with a warning, as Prometheus 3 gives). count counts
 * samples of both kinds.
 */
function aggregateWithHistograms(ev: Steps, node: AggregateExpr, input: VectorValue) {
  const op = node.op;
  const series = input.series;
  const { groupOf, groupLabels } = groupSeries(node, series);
  const G = groupLabels.length;
  const count = new Float64Array(G);
  const floats = new Uint8Array(G);
  const value = new Float64Array(G);
  const comp = new Float64Array(G);
  const hist: Array<FloatHistogram | undefined> = new Array<FloatHistogram | undefined>(G).fill(undefined);
  const gather = new Gatherer(series);
  let mixed = false;
  const out = collectSteps(ev, (t, _step, out: OutSample[]) => {
    gather.gather(t);
    count.fill(0);
    floats.fill(0);
    value.fill(0);
    comp.fill(0);
    hist.fill(undefined);
    for (let j = 0; j < gather.idx.length; j++) {
      const g = groupOf[gather.idx[j]!]!;
      count[g]!++;
      if (op === 'count') continue;
      const h = gather.hvals[j];
      if (h) {
        const acc = hist[g];
        hist[g] = acc ? addHistograms(acc, h) : h;
      } else {
        floats[g] = 1;
        const [sum, c] = kahanSumInc(gather.vals[j]!, value[g]!, comp[g]!);
        value[g] = sum;
        comp[g] = c;
      }
    }
    for (let g = 0; g < G; g++) {
      const n = count[g]!;
      if (n === 0) continue;
      if (op === 'count') {
        out.push({ labels: groupLabels[g]!, v: n });
        continue;
      }
      const h = hist[g];
      if (h && floats[g]) {
        mixed = true;
        continue;
      }
      if (h) {
        // A lone histogram is the input's own object: copy before changing it.
        const r = n === 1 ? copyHistogram(h) : h;
        if (op === 'avg') scaleHistogram(r, 1 / n);
        out.push({ labels: groupLabels[g]!, v: 0, h: compactHistogram(r) });
        continue;
      }
      const sum = value[g]! + comp[g]!;
      out.push({ labels: groupLabels[g]!, v: op === 'avg' ? value[g]! / n + comp[g]! / n : sum });
    }
  });
  if (mixed) ev.ctx.annotate('warning', 'encountered a mix of histograms and floats for aggregation', node);
  return out;
}

// --- topk / bottomk: Go's container/heap with Prometheus' Less functions, for identical tie-breaking.

interface HeapItem {
  labels: Labels;
  v: number;
}

type Less = (a: number, b: number) => boolean;
const topLess: Less = (a, b) => a !== a || a < b; // vectorByValueHeap: NaN first, then ascending
const bottomLess: Less = (a, b) => a !== a || a > b; // vectorByReverseValueHeap

function heapUp(h: HeapItem[], j: number, less: Less): void {
  while (j > 0) {
    const i = (j - 1) >> 1;
    if (!less(h[j]!.v, h[i]!.v)) break;
    [h[i], h[j]] = [h[j]!, h[i]!];
    j = i;
  }
}

function heapDown(h: HeapItem[], i0: number, n: number, less: Less): boolean {
  let i = i0;
  while (true) {
    const j1 = 2 * i + 1;
    if (j1 >= n) break;
    let j = j1;
    const j2 = j1 + 1;
    if (j2 < n && less(h[j2]!.v, h[j1]!.v)) j = j2;
    if (!less(h[j]!.v, h[i]!.v)) break;
    [h[i], h[j]] = [h[j]!, h[i]!];
    i = j;
  }
  return i > i0;
}

function topBottomK(ev: Steps, node: AggregateExpr, input: VectorValue, param: ScalarValue) {
  const top = node.op === 'topk';
  const less = top ? topLess : bottomLess;
  const series = input.series;
  const groups = new LabelSetIndex(groupingProjection(node));
  const groupOf = new Int32Array(series.length);
  for (let i = 0; i < series.length; i++) groupOf[i] = groups.ordinal(series[i]!.labels);
  const G = groups.size;
  const ks = param.values;
  let max = -Infinity;
  let min = Infinity;
  for (const k of ks) {
    if (k !== k) throw executionError('Parameter value is NaN');
    if (k > max) max = k;
    if (k < min) min = k;
  }
  if (ks.length === 0 || max < 1) return [];
  if (min <= INT64_MIN_FLOAT) throw executionError(`Scalar value ${formatValue(min)} underflows int64`);
  if (max >= INT64_MAX_FLOAT) throw executionError(`Scalar value ${formatValue(max)} overflows int64`);
  const heaps: HeapItem[][] = Array.from({ length: G }, () => []);
  const seen = new Uint8Array(G);
  const gather = new Gatherer(series);
  return collectSteps(ev, (t, step, out) => {
    gather.gather(t);
    const k = Math.min(Math.trunc(ks[step]!), series.length);
    if (k < 1) return;
    seen.fill(0);
    const order: number[] = [];
    for (let j = 0; j < gather.idx.length; j++) {
      const si = gather.idx[j]!;
      const g = groupOf[si]!;
      const item = { labels: series[si]!.labels, v: gather.vals[j]! };
      const h = heaps[g]!;
      if (!seen[g]) {
        seen[g] = 1;
        order.push(g);
        h.length = 0;
        h.push(item);
        continue;
      }
      if (h.length < k) {
        h.push(item);
        heapUp(h, h.length - 1, less);
      } else if (top ? h[0]!.v < item.v || (h[0]!.v !== h[0]!.v && item.v === item.v) : h[0]!.v > item.v || (h[0]!.v !== h[0]!.v && item.v === item.v)) {
        h[0] = item;
        if (k > 1) {
          if (!heapDown(h, 0, h.length, less)) heapUp(h, 0, less);
        }
      }
    }
    for (const g of order) {
      // The heap keeps the weakest element on top: output in reverse heap order (best first).
      const sorted = heaps[g]!.slice().sort((a, b) => (less(a.v, b.v) ? 1 : less(b.v, a.v) ? -1 : 0));
      for (const it of sorted) out.push({ labels: it.labels, v: it.v });
    }
  });
}

function countValues(ev: Steps, node: AggregateExpr, input: VectorValue, valueLabel: string) {
  if (!isValidLabelName(valueLabel)) throw executionError(`invalid label name "${valueLabel}"`);
  const groupsIndex = new LabelSetIndex(groupingProjection(node, valueLabel));
  const gather = new Gatherer(input.series);
  const labelsOfGroup: Labels[] = [];
  return collectSteps(ev, (t, _step, out) => {
    gather.gather(t);
    const counts = new Map<number, number>();
    for (let j = 0; j < gather.idx.length; j++) {
      const base = input.series[gather.idx[j]!]!.labels;
      const metric = new LabelsBuilder(base).set(valueLabel, formatValue(gather.vals[j]!)).labels();
      const g = groupsIndex.ordinal(metric);
      if (g === labelsOfGroup.length) labelsOfGroup.push(groupingLabels(node, metric, valueLabel));
      counts.set(g, (counts.get(g) ?? 0) + 1);
    }
    for (const [g, count] of counts) out.push({ labels: labelsOfGroup[g]!, v: count });
  });
}
