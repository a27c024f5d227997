// The state of one alerting rule for one tenant: Prometheus' AlertingRule (rules/alerting.go, 2.42 with
// keep_firing_for), step for step, so that `trimtab rules test` agrees with `promtool test rules` and a
// failover behaves as a Prometheus restart does.
//
// Per evaluation at time ts with the expression's result vector:
// - every result sample becomes an alert identified by its labels after the rule's labels are applied
//   (`__name__` dropped, `alertname` set); two samples with the same identity are an error;
// - a new identity starts pending with activeAt = ts; a known one keeps its timers and takes the new
//   value and annotations;
// - a pending alert fires once ts - activeAt >= for;
// - an alert missing from the result: pending → dropped; firing → kept firing while keep_firing_for has
//   not run out since it was first missing, then inactive (resolvedAt = ts) and kept for 15 minutes so a
//   recurrence starts afresh but the resolution stays visible;
// - output (once restored): ALERTS{alertstate="pending|firing"} = 1 and ALERTS_FOR_STATE = activeAt in
//   seconds, for every pending or firing alert;
// - more alerts than the group's limit: error, and every alert of the rule is forgotten.
//
// Restoring (after a restart or a leader change): restoreForState() applies Prometheus'
// RestoreForState to the alerts of the first evaluation, from the last ALERTS_FOR_STATE sample of each.

import type { Label } from '../protocol/types.ts';
import { labelsKey, normalizeLabels, type Labels } from '../promql/labels.ts';
import type { Sample } from '../promql/value.ts';
import { TrimtabError } from '../protocol/errors.ts';
import type { AlertingRule } from './rule-types.ts';

export type AlertState = 'pending' | 'firing' | 'inactive';

export const ALERTS_METRIC = 'ALERTS';
export const ALERTS_FOR_STATE_METRIC = 'ALERTS_FOR_STATE';
export const ALERT_NAME_LABEL = 'alertname';
export const ALERT_STATE_LABEL = 'alertstate';
/** How long a resolved alert is kept (Prometheus' resolvedRetention). */
export const RESOLVED_RETENTION_MS = 15 * 60_000;
/** Prometheus' --rules.alert.for-outage-tolerance default. */
export const DEFAULT_OUTAGE_TOLERANCE_MS = 60 * 60_000;
/** Prometheus' --rules.alert.for-grace-period default. */
export const DEFAULT_FOR_GRACE_PERIOD_MS = 10 * 60_000;

export interface Alert {
  /** Identity: the sample's labels without __name__, the rule's labels applied, alertname set. Sorted. */
  labels: Labels;
  annotations: Record<string, string>;
  state: AlertState;
  value: number;
  /** ms */
  activeAt: number;
  /** ms; 0 when never fired. */
  firedAt: number;
  /** ms; 0 while active. */
  resolvedAt: number;
  /** ms; 0 unless firing only because of keep_firing_for. */
  keepFiringSince: number;
}

export class RuleEvaluationError extends TrimtabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('rule_evaluation', message, options);
  }
}

/** Expands the rule's label and annotation templates for one sample (template.ts does the work). */
export type AlertExpander = (alertName: string, templates: Record<string, string>, labels: Record<string, string>, value: number) => Promise<Record<string, string>>;

export interface AlertEvalOutput {
  /** ALERTS and ALERTS_FOR_STATE samples to append at ts (empty until restored). */
  samples: Array<{ labels: Labels; value: number }>;
}

export class AlertingRuleState {
  readonly rule: AlertingRule;
  /** Alerts by identity key; includes resolved alerts within their retention. */
  readonly active = new Map<string, Alert>();
  /** False until restoreForState() has run (or for a state that starts restored, e.g. in tests). */
  restored: boolean;

  constructor(rule: AlertingRule, options: { restored: boolean }) {
    this.rule = rule;
    this.restored = options.restored;
  }

  /**
   * One evaluation. `result` is the expression's value at ts (a vector; a scalar result is an error,
   * as in Prometheus). `limit` is the group's limit (0: none).
   */
  async eval(result: Sample[], ts: number, expand: AlertExpander, limit: number): Promise<AlertEvalOutput> {
    const rule = this.rule;
    const seen = new Set<string>();
    const fresh = new Map<string, Alert>();
    for (const sample of result) {
      const sampleLabels: Record<string, string> = {};
      for (const l of sample.metric) if (l.name !== '__name__') sampleLabels[l.name] = l.value;
      const templateLabels: Record<string, string> = {};
      for (const l of sample.metric) templateLabels[l.name] = l.value;
      const expandedLabels = Object.keys(rule.labels).length ? await expand(rule.alert, rule.labels, templateLabels, sample.v) : {};
      const identity: Record<string, string> = { ...sampleLabels, ...expandedLabels, [ALERT_NAME_LABEL]: rule.alert };
      const labels = normalizeLabels(Object.entries(identity).map(([name, value]) => ({ name, value })));
      const key = labelsKey(labels);
      if (seen.has(key)) {
        throw new RuleEvaluationError('vector contains metrics with the same labelset after applying alert labels');
      }
      seen.add(key);
      const annotations = Object.keys(rule.annotations).length ? await expand(rule.alert, rule.annotations, templateLabels, sample.v) : {};
      fresh.set(key, { labels, annotations, state: 'pending', value: sample.v, activeAt: ts, firedAt: 0, resolvedAt: 0, keepFiringSince: 0 });
    }

    for (const [key, alert] of fresh) {
      const known = this.active.get(key);
      if (known && known.state !== 'inactive') {
        known.value = alert.value;
        known.annotations = alert.annotations;
        continue;
      }
      this.active.set(key, alert);
    }

    const samples: Array<{ labels: Labels; value: number }> = [];
    let activeCount = 0;
    for (const [key, alert] of this.active) {
      if (!seen.has(key)) {
        let keepFiring = false;
        if (alert.state === 'firing' && rule.keepFiringForMs > 0) {
          if (alert.keepFiringSince === 0) alert.keepFiringSince = ts;
          if (ts - alert.keepFiringSince < rule.keepFiringForMs) keepFiring = true;
        }
        if (alert.state === 'pending' || (alert.resolvedAt !== 0 && ts - alert.resolvedAt > RESOLVED_RETENTION_MS)) {
          this.active.delete(key);
        }
        if (alert.state !== 'inactive' && !keepFiring) {
          alert.state = 'inactive';
          alert.resolvedAt = ts;
        }
        if (!keepFiring) continue;
      } else {
        alert.keepFiringSince = 0;
      }
      activeCount++;
      if (alert.state === 'pending' && ts - alert.activeAt >= rule.forMs) {
        alert.state = 'firing';
        alert.firedAt = ts;
      }
      if (this.restored) {
        samples.push({ labels: withName(alert.labels, ALERTS_METRIC, alert.state), value: 1 });
        samples.push({ labels: withName(alert.labels, ALERTS_FOR_STATE_METRIC), value: Math.floor(alert.activeAt / 1000) });
      }
    }
    if (limit > 0 && activeCount > limit) {
      this.active.clear();
      throw new RuleEvaluationError(`exceeded limit of ${limit} with ${activeCount} alerts`);
    }
    return { samples };
  }

  /** Pending and firing alerts (not the resolved ones kept for retention), sorted by labels. */
  activeAlerts(): Alert[] {
    return [...this.active.values()].filter((a) => a.state !== 'inactive').sort((a, b) => (labelsKey(a.labels) < labelsKey(b.labels) ? -1 : 1));
  }

  /** The rule's state: firing > pending > inactive. */
  state(): AlertState {
    let s: AlertState = 'inactive';
    for (const a of this.active.values()) {
      if (a.state === 'firing') return 'firing';
      if (a.state === 'pending') s = 'pending';
    }
    return s;
  }

  /**
   * Prometheus' RestoreForState for this rule, at ts (the first evaluation after start). `lastForState`
   * returns the last ALERTS_FOR_STATE sample of an alert within [ts - outageTolerance, ts], or null.
   */
  async restoreForState(
    ts: number,
    lastForState: (labels: Labels) => Promise<{ t: number; v: number } | null>,
    options: { forGracePeriodMs?: number } = {},
  ): Promise<void> {
    const grace = options.forGracePeriodMs ?? DEFAULT_FOR_GRACE_PERIOD_MS;
    const hold = this.rule.forMs;
    if (hold < grace) {
      // Waiting out the grace period would take longer than the rule's own `for`: start afresh.
      this.restored = true;
      return;
    }
    for (const alert of this.active.values()) {
      const last = await lastForState(withName(alert.labels, ALERTS_FOR_STATE_METRIC));
      if (!last || !(last.v > 0)) continue;
      // Prometheus works in whole seconds here (time.Unix(t/1000, 0) and time.Unix(int64(v), 0)).
      const downAt = Math.trunc(last.t / 1000) * 1000;
      let restoredActiveAt = Math.trunc(last.v) * 1000;
      const remaining = hold - (downAt - restoredActiveAt);
      if (remaining <= 0) {
        // It was firing when the previous evaluator stopped: it fires again on the next evaluation.
      } else if (remaining < grace) {
        restoredActiveAt = ts + grace - hold;
      } else {
        restoredActiveAt += ts - downAt;
      }
      alert.activeAt = restoredActiveAt;
    }
    this.restored = true;
  }
}

/** The alert's labels plus __name__ (and alertstate for ALERTS), sorted. */
export function withName(labels: Labels, name: string, state?: AlertState): Labels {
  const out: Label[] = labels.map((l) => ({ name: l.name, value: l.value }));
  out.push({ name: '__name__', value: name });
  if (state) out.push({ name: ALERT_STATE_LABEL, value: state });
  return normalizeLabels(out);
}
