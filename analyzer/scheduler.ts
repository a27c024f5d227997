// The rule scheduler: while this replica leads, every rule group runs at its interval, aligned to
// multiples of it (a group with a 1m interval evaluates at :00 of every minute, so recorded series have
// round timestamps), once per tenant, with Prometheus' semantics per evaluation (group-eval.ts).
//
// - An evaluation that overruns its interval skips the slots it missed (counted in
//   trimtab_rule_group_iterations_missed_total), as Prometheus does; it never queues them up.
// - Everything written — rule results, group state, recommendations — goes through the term's prelude,
//   which checks the fencing token inside each transaction: once deposed, nothing more lands.
// - A new term starts with fresh evaluators that are not yet restored: the first evaluation writes no
//   ALERTS series, then each alerting rule's `for` state is restored from ALERTS_FOR_STATE (Prometheus'
//   RestoreForState, outage tolerance 1h, grace period 10m), exactly as after a Prometheus restart.
// - A reload (setRules) keeps the evaluators of unchanged groups; a changed group takes over the state of
//   the old one rule by rule (Prometheus' CopyState: alerts, staleness tracking, stale markers for the
//   series of removed rules).

import type { Logger } from '../lib/log.ts';
import type { Engine } from '../promql/engine.ts';
import { getLabel, labelsKey, labelsToRecord, type Labels } from '../promql/labels.ts';
import { StorageQueryable } from '../promql/storage-queryable.ts';
import { isStaleAt, bitsView } from '../promql/value.ts';
import type { Prelude } from '../storage/analyzer-state.ts';
import type { Storage, Tenant } from '../storage/types.ts';
import { labelsHashHex } from '../storage/labels.ts';
import { DEFAULT_FOR_GRACE_PERIOD_MS, DEFAULT_OUTAGE_TOLERANCE_MS, type Alert } from './alerting.ts';
import { expandAlertTemplates, type TemplateCache } from './alert-templates.ts';
import type { AnalyzerMetrics } from './export.ts';
import { GroupEvaluator, type RuleResultSink } from './group-eval.ts';
import { RECOMMENDATION_LABEL, type RecommendationAssembler } from './recommendations.ts';
import type { RuleFile, RuleGroup } from './rule-types.ts';
import { storeSink } from './store-sink.ts';

export interface SchedulerOptions {
  storage: Storage;
  engine: Engine;
  logger: Logger;
  metrics?: AnalyzerMetrics;
  externalLabels?: Record<string, string>;
  externalURL?: string;
  outageToleranceMs?: number;
  forGracePeriodMs?: number;
  /** Joins the rule pack's recorded series into recommendations (recommendations.ts). */
  assembler?: RecommendationAssembler;
  /** Recommenders run beside the rule groups (node consolidation). */
  builtins?: readonly BuiltinRecommender[];
  /** For tests: the wall clock. */
  now?: () => number;
}

/** One leadership term (or the whole life of a process without leader election). */
export interface Term {
  epoch: number;
  /** Checks the fencing token inside a write's transaction; absent without leader election. */
  prelude?: Prelude;
  signal: AbortSignal;
}

/**
 * A recommender PromQL cannot express (node consolidation), run by the scheduler like a rule group: at
 * its interval, aligned, once per tenant, only while leading, with the term's fencing prelude for writes.
 */
export interface BuiltinRecommender {
  name: string;
  intervalMs: number;
  run(ctx: BuiltinContext): Promise<void>;
}

export interface BuiltinContext {
  tenant: Tenant;
  ts: number;
  term: Term;
  storage: Storage;
  engine: Engine;
  queryable: StorageQueryable;
}

/** What the scheduler runs on a timer: a rule group or a built-in recommender. */
interface ScheduledRun {
  key: string;
  intervalMs: number;
  group: RuleGroup | null;
  builtin: BuiltinRecommender | null;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
}

export class RuleScheduler {
  readonly #options: SchedulerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #groups: RuleGroup[] = [];
  /** Per tenant and group key, the evaluator of the current term. */
  #evaluators = new Map<string, GroupEvaluator>();
  #runs = new Map<string, ScheduledRun>();
  #term: Term | null = null;
  /** Alert templates compiled once for all tenants and evaluations (texts change only with a reload). */
  #templates: TemplateCache = new Map();

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'rule-scheduler' });
    this.#now = options.now ?? Date.now;
  }

  get groups(): readonly RuleGroup[] {
    return this.#groups;
  }

  /** Installs a (re)loaded rule set. Running terms switch to it at the next slot of each group. */
  setRules(files: readonly RuleFile[]): void {
    const groups = files.flatMap((f) => f.groups);
    const previous = new Map(this.#groups.map((g) => [groupKey(g), g]));
    const next = new Map<string, GroupEvaluator>();
    for (const g of groups) {
      const key = groupKey(g);
      const old = previous.get(key);
      const unchanged = old !== undefined && sameGroup(old, g);
      for (const [evKey, ev] of this.#evaluators) {
        if (!evKey.endsWith(`\u0000${key}`)) continue;
        if (unchanged) {
          next.set(evKey, ev);
        } else {
          const fresh = new GroupEvaluator(g, { restored: ev.restored });
          fresh.copyStateFrom(ev);
          next.set(evKey, fresh);
        }
      }
    }
    this.#evaluators = next;
    this.#groups = groups;
    this.#templates = new Map();
    this.#options.metrics?.setGroups(groups);
    if (this.#term) this.#reschedule();
  }

  /** Starts evaluating for a term; stop() or the term's signal ends it. */
  start(term: Term): void {
    this.stop();
    this.#term = term;
    this.#evaluators.clear();
    term.signal.addEventListener('abort', () => this.#term === term && this.stop(), { once: true });
    this.#reschedule();
    void this.#sweepRemovedRecommendations(term);
  }

  /** Stops scheduling; an evaluation in flight is aborted through the term's signal by the caller. */
  stop(): void {
    for (const run of this.#runs.values()) if (run.timer) clearTimeout(run.timer);
    this.#runs.clear();
    this.#term = null;
    this.#evaluators.clear();
  }

  /** Waits for evaluations in flight (shutdown, tests). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#runs.values()].map((r) => r.running).filter((p) => p !== null));
  }

  #reschedule(): void {
    const builtins = this.#options.builtins ?? [];
    const keys = new Set([...this.#groups.map(groupKey), ...builtins.map((b) => `builtin:${b.name}`)]);
    for (const [key, run] of this.#runs) {
      if (!keys.has(key)) {
        if (run.timer) clearTimeout(run.timer);
        this.#runs.delete(key);
      }
    }
    for (const g of this.#groups) {
      const key = groupKey(g);
      const run = this.#runs.get(key);
      if (run) {
        run.group = g;
        run.intervalMs = g.intervalMs;
        continue;
      }
      const fresh: ScheduledRun = { key, intervalMs: g.intervalMs, group: g, builtin: null, timer: null, running: null };
      this.#runs.set(key, fresh);
      this.#arm(fresh);
    }
    for (const b of builtins) {
      const key = `builtin:${b.name}`;
      if (this.#runs.has(key)) continue;
      const fresh: ScheduledRun = { key, intervalMs: b.intervalMs, group: null, builtin: b, timer: null, running: null };
      this.#runs.set(key, fresh);
      this.#arm(fresh);
    }
  }

  #arm(run: ScheduledRun): void {
    const term = this.#term;
    if (!term) return;
    const interval = run.intervalMs;
    const now = this.#now();
    const slot = Math.ceil(now / interval) * interval;
    run.timer = setTimeout(() => {
      run.timer = null;
      if (this.#term !== term || this.#runs.get(run.key) !== run) return;
      run.running = this.#tick(run, slot, term).finally(() => {
        run.running = null;
        if (this.#term === term && this.#runs.get(run.key) === run) {
          const missed = Math.floor((this.#now() - slot) / interval);
          if (missed > 0 && run.group) this.#options.metrics?.iterationsMissed(run.group, missed);
          this.#arm(run);
        }
      });
    }, Math.max(0, slot - now));
    run.timer.unref?.();
  }

  /** Evaluates one group (or runs one built-in recommender) at `ts` for every tenant. */
  async #tick(run: ScheduledRun, ts: number, term: Term): Promise<void> {
    const what = run.group ? run.group.name : run.key;
    if (run.group) this.#options.metrics?.iteration(run.group);
    let tenants: Tenant[];
    try {
      tenants = await this.#options.storage.tenants.listTenants();
    } catch (error) {
      this.#log.warn('rule evaluation skipped: cannot list tenants', { group: what, error: errorText(error) });
      return;
    }
    for (const tenant of tenants) {
      if (term.signal.aborted) return;
      try {
        if (run.group) await this.evaluateTenant(run.group, tenant, ts, term);
        else await this.runBuiltin(run.builtin!, tenant, ts, term);
      } catch (error) {
        if (term.signal.aborted) return;
        this.#log.warn(run.group ? 'rule group evaluation failed' : 'built-in recommender failed', { group: what, tenant: tenant.name, error: errorText(error) });
      }
    }
  }

  /** One built-in recommender, one tenant, one timestamp (public for tests and the benchmark). */
  async runBuiltin(builtin: BuiltinRecommender, tenant: Tenant, ts: number, term: Term): Promise<void> {
    const { storage, engine } = this.#options;
    await builtin.run({ tenant, ts, term, storage, engine, queryable: new StorageQueryable(storage.reader, tenant.id) });
  }

  /** One group, one tenant, one timestamp (public for tests and the benchmark). */
  async evaluateTenant(group: RuleGroup, tenant: Tenant, ts: number, term: Term): Promise<void> {
    const { storage, engine, metrics } = this.#options;
    const evKey = `${tenant.id}\u0000${groupKey(group)}`;
    let evaluator = this.#evaluators.get(evKey);
    if (!evaluator || evaluator.group !== group) {
      const fresh = new GroupEvaluator(group, { restored: false });
      if (evaluator) fresh.copyStateFrom(evaluator);
      evaluator = fresh;
      this.#evaluators.set(evKey, evaluator);
    }
    // One queryable per group evaluation: windows aggregated by one rule answer the next (e.g. the
    // 14-day count after the 14-day quantile over the same series) until a rule writes their metric.
    const queryable = new StorageQueryable(storage.reader, tenant.id, { memoizeWindows: true });
    const expand = expandAlertTemplates({
      externalLabels: this.#options.externalLabels ?? {},
      externalURL: this.#options.externalURL ?? '',
      engine,
      queryable,
      cache: this.#templates,
    });
    const store = storeSink({
      writer: storage.writer,
      tenant: tenant.id,
      prelude: term.prelude,
      onWritten: (result) => {
        const written = result.written.samples;
        metrics?.samplesWritten(tenant.name, written);
        for (const r of result.rejected) {
          this.#log.warn('rule results refused by storage', { group: group.name, tenant: tenant.name, reason: r.reason, samples: r.samples, example: r.example });
        }
      },
    });
    const sink: RuleResultSink = {
      async append(samples, stale, at) {
        const names = new Set<string>();
        for (const x of samples) names.add(getLabel(x.labels, '__name__'));
        for (const labels of stale) names.add(getLabel(labels, '__name__'));
        queryable.forgetMetrics(names);
        await store.append(samples, stale, at);
      },
    };
    const wasRestored = evaluator.restored;
    const result = await evaluator.evaluate(ts, { engine, queryable, sink, expand: expand(ts), signal: term.signal }, (i, ms, failed) =>
      metrics?.ruleEvaluated(tenant.name, group, ms, failed),
    );
    if (!wasRestored) {
      await this.#restore(evaluator, tenant, ts, queryable);
    }
    metrics?.groupEvaluated(tenant.name, group, result.evaluationMs, ts);

    // Published state: the group document and the recommendations among its firing alerts.
    const alerts = evaluator.alertStates.flatMap((s) => (s ? s.activeAlerts().map((a) => ({ rule: s.rule, alert: a })) : []));
    metrics?.setAlerts(tenant.name, group, alerts.map((a) => a.alert));
    await storage.analyzerState.saveGroupState(tenant.id, group.position.file, group.name, groupDocument(evaluator), ts, term.epoch, term.prelude);
    const recRules = group.rules.filter((r) => r.kind === 'alerting' && r.labels[RECOMMENDATION_LABEL] !== undefined);
    if (recRules.length > 0) {
      const firing = alerts.filter((a) => a.alert.state === 'firing' && a.rule.labels[RECOMMENDATION_LABEL] !== undefined).map((a) => a.alert);
      const details = this.#options.assembler ? await this.#options.assembler.details(queryable, engine, firing, ts) : new Map<Alert, Record<string, unknown>>();
      const inputs = firing.map((a) => {
        const labels = labelsToRecord(a.labels);
        return {
          fingerprint: labelsHashHex(a.labels),
          alertname: labels.alertname ?? '',
          kind: labels[RECOMMENDATION_LABEL] ?? '',
          severity: labels.severity ?? '',
          labels,
          annotations: a.annotations,
          value: a.value,
          details: details.get(a) ?? null,
          activeAt: a.activeAt,
        };
      });
      const names = [...new Set(recRules.map((r) => (r.kind === 'alerting' ? r.alert : '')))];
      await storage.analyzerState.syncRecommendations(tenant.id, names, inputs, ts, term.epoch, term.prelude);
      metrics?.setRecommendations(tenant.name, group, inputs);
    }
  }

  async #restore(evaluator: GroupEvaluator, tenant: Tenant, ts: number, queryable: StorageQueryable): Promise<void> {
    const tolerance = this.#options.outageToleranceMs ?? DEFAULT_OUTAGE_TOLERANCE_MS;
    const lastForState = async (labels: Labels): Promise<{ t: number; v: number } | null> => {
      const matchers = labels.map((l) => ({ type: '=' as const, name: l.name, value: l.value }));
      let last: { t: number; v: number } | null = null;
      for await (const s of queryable.select(matchers, ts - tolerance, ts)) {
        if (labelsKey(s.labels) !== labelsKey(labels)) continue;
        const bits = bitsView(s.values);
        for (let i = s.timestamps.length - 1; i >= 0; i--) {
          if (isStaleAt(bits, i)) continue;
          if (!last || s.timestamps[i]! > last.t) last = { t: s.timestamps[i]!, v: s.values[i]! };
          break;
        }
      }
      return last;
    };
    for (const state of evaluator.alertStates) {
      if (!state) continue;
      try {
        await state.restoreForState(ts, lastForState, { forGracePeriodMs: this.#options.forGracePeriodMs ?? DEFAULT_FOR_GRACE_PERIOD_MS });
      } catch (error) {
        // Prometheus logs and carries on without the old timers.
        state.restored = true;
        this.#log.warn('restoring alert state failed', { alert: state.rule.alert, tenant: tenant.name, error: errorText(error) });
      }
    }
  }

  /** At the start of a term: resolve open recommendations of rules that are no longer loaded. */
  async #sweepRemovedRecommendations(term: Term): Promise<void> {
    const names = this.#groups.flatMap((g) => g.rules.flatMap((r) => (r.kind === 'alerting' && r.labels[RECOMMENDATION_LABEL] !== undefined ? [r.alert] : [])));
    try {
      const tenants = await this.#options.storage.tenants.listTenants();
      for (const t of tenants) {
        if (term.signal.aborted) return;
        await this.#options.storage.analyzerState.resolveRecommendationsExcept(t.id, names, this.#now(), term.epoch, term.prelude);
        await this.#options.storage.analyzerState.deleteGroupStatesExcept(
          t.id,
          this.#groups.map((g) => ({ file: g.position.file, groupName: g.name })),
          term.prelude,
        );
      }
    } catch (error) {
      if (!term.signal.aborted) this.#log.warn('cleaning up state of removed rules failed', { error: errorText(error) });
    }
  }
}

export function groupKey(g: RuleGroup): string {
  return `${g.position.file}\u0000${g.name}`;
}

function sameGroup(a: RuleGroup, b: RuleGroup): boolean {
  return JSON.stringify(groupShape(a)) === JSON.stringify(groupShape(b));
}

function groupShape(g: RuleGroup): unknown {
  return { i: g.intervalMs, l: g.limit, r: g.rules.map((r) => ({ ...r, exprAst: undefined, position: undefined })) };
}

/** The group document /api/v1/rules and /api/v1/alerts are served from (Prometheus' API shapes). */
export function groupDocument(ev: GroupEvaluator): unknown {
  const g = ev.group;
  return {
    name: g.name,
    file: g.position.file,
    interval: g.intervalMs / 1000,
    limit: g.limit,
    lastEvaluation: new Date(ev.lastEvaluation).toISOString(),
    evaluationTime: ev.evaluationMs / 1000,
    rules: g.rules.map((r, i) => {
      const st = ev.status[i]!;
      const common = {
        name: r.kind === 'alerting' ? r.alert : r.record,
        query: r.expr,
        labels: r.labels,
        health: st.health,
        lastError: st.lastError || undefined,
        evaluationTime: st.evaluationMs / 1000,
        lastEvaluation: new Date(st.lastEvaluation).toISOString(),
        type: r.kind,
      };
      if (r.kind === 'recording') return common;
      const state = ev.alertStates[i]!;
      return {
        ...common,
        state: state.state(),
        duration: r.forMs / 1000,
        keepFiringFor: r.keepFiringForMs / 1000,
        annotations: r.annotations,
        alerts: state.activeAlerts().map((a) => ({
          labels: labelsToRecord(a.labels),
          annotations: a.annotations,
          state: a.state,
          activeAt: new Date(a.activeAt).toISOString(),
          keepFiringSince: a.keepFiringSince ? new Date(a.keepFiringSince).toISOString() : undefined,
          value: String(a.value),
        })),
      };
    }),
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
