// Evaluating one rule group for one tenant at one timestamp, as Prometheus' Group.Eval does
// (rules/group.go): rules run in file order; each rule's results are appended (and so visible to the
// rules after it at the same timestamp) before the next rule runs; series a rule produced last time but
// not this time get a staleness marker; a failing rule is recorded and the next one still runs.
//
// The evaluator keeps, per tenant and group, what Prometheus keeps per group: the alert states, the
// series of the previous evaluation (for staleness), and each rule's health for /api/v1/rules.
// Where the results go is the caller's: the scheduler appends to the store (fenced), the rule tester
// to memory.

import type { Engine } from '../promql/engine.ts';
import { labelsKey, normalizeLabels, type Labels } from '../promql/labels.ts';
import type { Queryable } from '../promql/queryable.ts';
import type { Sample } from '../promql/value.ts';
import { AlertingRuleState, RuleEvaluationError, type AlertExpander } from './alerting.ts';
import type { Rule, RuleGroup } from './rule-types.ts';

export type RuleHealth = 'ok' | 'err' | 'unknown';

export interface RuleStatus {
  health: RuleHealth;
  lastError: string;
  /** ms since the epoch; 0 before the first evaluation. */
  lastEvaluation: number;
  evaluationMs: number;
}

/** Where a rule's results go. Called once per rule evaluation that produced output or staleness. */
export interface RuleResultSink {
  /**
   * Appends `samples` at ts, and a staleness marker at ts for each of `stale`. When this returns, the
   * samples must be visible to the Queryable (later rules of the group read them).
   */
  append(samples: ReadonlyArray<{ labels: Labels; value: number }>, stale: readonly Labels[], ts: number): Promise<void>;
}

export interface GroupEvalContext {
  engine: Engine;
  queryable: Queryable;
  sink: RuleResultSink;
  /** Expands alert label/annotation templates (template.ts with the tenant's query function). */
  expand: AlertExpander;
  signal?: AbortSignal;
}

export interface GroupEvalResult {
  ts: number;
  evaluationMs: number;
  failures: number;
  samplesWritten: number;
}

export class GroupEvaluator {
  readonly group: RuleGroup;
  readonly alertStates: Array<AlertingRuleState | null>;
  readonly status: RuleStatus[];
  lastEvaluation = 0;
  evaluationMs = 0;
  /** Series each rule produced at its last successful evaluation, by key (for staleness markers). */
  readonly #previous: Array<Map<string, Labels>>;
  /** Series of rules removed by a reload, to be marked stale at the next evaluation. */
  #staleSeries: Labels[] = [];

  constructor(group: RuleGroup, options: { restored: boolean }) {
    this.group = group;
    this.alertStates = group.rules.map((r) => (r.kind === 'alerting' ? new AlertingRuleState(r, { restored: options.restored }) : null));
    this.status = group.rules.map(() => ({ health: 'unknown', lastError: '', lastEvaluation: 0, evaluationMs: 0 }));
    this.#previous = group.rules.map(() => new Map());
  }

  /**
   * After a reload replaced `from` by this group: Prometheus' Group.CopyState. Rules are matched by name
   * and labels (the first unmatched one of that identity); a matched rule keeps its previous series (for
   * staleness) and, for an alerting rule, its alerts and restored flag; the series of rules that are gone
   * get staleness markers at the next evaluation.
   */
  copyStateFrom(from: GroupEvaluator): void {
    const identity = (r: Rule) => JSON.stringify([r.kind === 'alerting' ? r.alert : r.record, Object.entries(r.labels).sort()]);
    const unmatched = new Map<string, number[]>();
    from.group.rules.forEach((r, i) => {
      const k = identity(r);
      unmatched.set(k, [...(unmatched.get(k) ?? []), i]);
    });
    this.group.rules.forEach((r, i) => {
      const list = unmatched.get(identity(r));
      if (!list || list.length === 0) return;
      const fi = list.shift()!;
      this.#previous[i] = from.#previous[fi]!;
      const to = this.alertStates[i];
      const old = from.alertStates[fi];
      if (to && old) {
        for (const [k, a] of old.active) to.active.set(k, a);
        to.restored = old.restored;
      }
    });
    this.#staleSeries = [...from.#staleSeries];
    for (const list of unmatched.values()) for (const fi of list) this.#staleSeries.push(...from.#previous[fi]!.values());
    this.lastEvaluation = from.lastEvaluation;
    this.evaluationMs = from.evaluationMs;
  }

  /** Whether every alerting rule has had its `for` state restored. */
  get restored(): boolean {
    return this.alertStates.every((s) => s === null || s.restored);
  }

  async evaluate(ts: number, ctx: GroupEvalContext, onRule?: (index: number, ms: number, failed: boolean) => void): Promise<GroupEvalResult> {
    const began = performance.now();
    let failures = 0;
    let samplesWritten = 0;
    if (this.#staleSeries.length > 0) {
      // Series of rules a reload removed: mark them stale so they end now, not after the lookback.
      await ctx.sink.append([], this.#staleSeries, ts);
      this.#staleSeries = [];
    }
    for (let i = 0; i < this.group.rules.length; i++) {
      ctx.signal?.throwIfAborted();
      const rule = this.group.rules[i]!;
      const ruleBegan = performance.now();
      const status = this.status[i]!;
      try {
        const output = await this.#evalRule(i, rule, ts, ctx);
        const current = new Map<string, Labels>();
        for (const s of output) current.set(labelsKey(s.labels), s.labels);
        const stale: Labels[] = [];
        for (const [key, labels] of this.#previous[i]!) if (!current.has(key)) stale.push(labels);
        if (output.length > 0 || stale.length > 0) await ctx.sink.append(output, stale, ts);
        this.#previous[i] = current;
        samplesWritten += output.length;
        status.health = 'ok';
        status.lastError = '';
      } catch (error) {
        if (ctx.signal?.aborted) throw error;
        failures++;
        status.health = 'err';
        status.lastError = error instanceof Error ? error.message : String(error);
      }
      status.lastEvaluation = ts;
      status.evaluationMs = performance.now() - ruleBegan;
      onRule?.(i, status.evaluationMs, status.health === 'err');
    }
    this.lastEvaluation = ts;
    this.evaluationMs = performance.now() - began;
    return { ts, evaluationMs: this.evaluationMs, failures, samplesWritten };
  }

  async #evalRule(index: number, rule: Rule, ts: number, ctx: GroupEvalContext): Promise<Array<{ labels: Labels; value: number }>> {
    const vector = await queryVector(ctx, rule, ts);
    if (rule.kind === 'recording') return recordingOutput(rule.record, rule.labels, vector, this.group.limit);
    const state = this.alertStates[index]!;
    const { samples } = await state.eval(vector, ts, ctx.expand, this.group.limit);
    return samples;
  }
}

/** Runs the rule's expression at ts; a scalar becomes a one-sample vector without labels (EngineQueryFunc). */
async function queryVector(ctx: GroupEvalContext, rule: Rule, ts: number): Promise<Sample[]> {
  const { value } = await ctx.engine.instantQuery(ctx.queryable, rule.exprAst, ts, { signal: ctx.signal });
  switch (value.resultType) {
    case 'vector':
      return value.result;
    case 'scalar':
      return [{ metric: [], t: value.result.t, v: value.result.v }];
    default:
      throw new RuleEvaluationError('rule result is not a vector or scalar');
  }
}

/** A recording rule's output: __name__ set, the rule's labels applied (an empty value removes the label). */
export function recordingOutput(record: string, ruleLabels: Record<string, string>, vector: Sample[], limit: number): Array<{ labels: Labels; value: number }> {
  const out: Array<{ labels: Labels; value: number }> = [];
  const seen = new Set<string>();
  const extra = Object.entries(ruleLabels);
  for (const s of vector) {
    const m = new Map<string, string>();
    for (const l of s.metric) m.set(l.name, l.value);
    m.set('__name__', record);
    for (const [name, value] of extra) m.set(name, value);
    const labels = normalizeLabels([...m].map(([name, value]) => ({ name, value })));
    const key = labelsKey(labels);
    if (seen.has(key)) throw new RuleEvaluationError('vector contains metrics with the same labelset after applying rule labels');
    seen.add(key);
    out.push({ labels, value: s.v });
  }
  if (limit > 0 && out.length > limit) throw new RuleEvaluationError(`exceeded limit of ${limit} with ${out.length} series`);
  return out;
}
