import { describe, expect, it } from 'vitest';
import { parse } from '../promql/index.ts';
import { labelsFromRecord, labelsToRecord } from '../promql/labels.ts';
import type { Sample } from '../promql/value.ts';
import { AlertingRuleState, RESOLVED_RETENTION_MS, type AlertExpander } from './alerting.ts';
import type { AlertingRule } from './rule-types.ts';

const MIN = 60_000;

function rule(over: Partial<AlertingRule> = {}): AlertingRule {
  return {
    kind: 'alerting',
    alert: 'High',
    expr: 'x > 0',
    exprAst: parse('x > 0'),
    forMs: 2 * MIN,
    keepFiringForMs: 0,
    labels: { severity: 'warning' },
    annotations: { summary: 'v={{ $value }}' },
    position: { file: 'f.yml', line: 1 },
    ...over,
  };
}

// Substitutes $value only: enough to see that annotations follow the latest value.
const expand: AlertExpander = async (_name, templates, _labels, value) =>
  Object.fromEntries(Object.entries(templates).map(([k, v]) => [k, v.replace('{{ $value }}', String(value))]));

function vec(...items: Array<[Record<string, string>, number]>): Sample[] {
  return items.map(([labels, v]) => ({ metric: labelsFromRecord(labels), t: 0, v }));
}

describe('AlertingRuleState', () => {
  it('goes pending, then firing once `for` has passed, and writes ALERTS and ALERTS_FOR_STATE', async () => {
    const s = new AlertingRuleState(rule(), { restored: true });
    const v = vec([{ __name__: 'x', pod: 'a' }, 5]);
    const out0 = await s.eval(v, 0, expand, 0);
    expect(s.activeAlerts().map((a) => a.state)).toEqual(['pending']);
    expect(out0.samples.map((x) => labelsToRecord(x.labels))).toEqual([
      { __name__: 'ALERTS', alertname: 'High', alertstate: 'pending', pod: 'a', severity: 'warning' },
      { __name__: 'ALERTS_FOR_STATE', alertname: 'High', pod: 'a', severity: 'warning' },
    ]);
    expect(out0.samples[1]!.value).toBe(0);
    await s.eval(v, MIN, expand, 0);
    expect(s.state()).toBe('pending');
    const out2 = await s.eval(vec([{ __name__: 'x', pod: 'a' }, 7]), 2 * MIN, expand, 0);
    const [a] = s.activeAlerts();
    expect(a!.state).toBe('firing');
    expect(a!.firedAt).toBe(2 * MIN);
    expect(a!.activeAt).toBe(0);
    expect(a!.annotations).toEqual({ summary: 'v=7' });
    expect(labelsToRecord(out2.samples[0]!.labels).alertstate).toBe('firing');
  });

  it('drops a pending alert at once when its condition goes away, and restarts its timer', async () => {
    const s = new AlertingRuleState(rule(), { restored: true });
    await s.eval(vec([{ pod: 'a' }, 1]), 0, expand, 0);
    const gone = await s.eval([], MIN, expand, 0);
    expect(gone.samples).toEqual([]);
    expect(s.active.size).toBe(0);
    await s.eval(vec([{ pod: 'a' }, 1]), 2 * MIN, expand, 0);
    expect(s.activeAlerts()[0]!.activeAt).toBe(2 * MIN);
  });

  it('keeps a resolved alert for 15 minutes without output, and a recurrence starts pending anew', async () => {
    const s = new AlertingRuleState(rule({ forMs: 0 }), { restored: true });
    await s.eval(vec([{ pod: 'a' }, 1]), 0, expand, 0);
    expect(s.state()).toBe('firing');
    const out = await s.eval([], MIN, expand, 0);
    expect(out.samples).toEqual([]);
    expect(s.active.size).toBe(1);
    expect([...s.active.values()][0]!.state).toBe('inactive');
    expect([...s.active.values()][0]!.resolvedAt).toBe(MIN);
    expect(s.activeAlerts()).toEqual([]);
    await s.eval([], MIN + RESOLVED_RETENTION_MS, expand, 0);
    expect(s.active.size).toBe(1);
    await s.eval([], MIN + RESOLVED_RETENTION_MS + 1, expand, 0);
    expect(s.active.size).toBe(0);
  });

  it('keep_firing_for keeps a firing alert firing after its condition is gone, then resolves it', async () => {
    const s = new AlertingRuleState(rule({ forMs: 0, keepFiringForMs: 3 * MIN }), { restored: true });
    await s.eval(vec([{ pod: 'a' }, 1]), 0, expand, 0);
    for (const t of [1, 2, 3]) {
      const out = await s.eval([], t * MIN, expand, 0);
      expect(s.state(), `at ${t}m`).toBe('firing');
      expect(out.samples.length).toBe(2);
      expect(s.activeAlerts()[0]!.keepFiringSince).toBe(MIN);
    }
    await s.eval([], 4 * MIN, expand, 0);
    expect(s.state()).toBe('inactive');
    // Coming back while kept firing resets keepFiringSince.
    const t = new AlertingRuleState(rule({ forMs: 0, keepFiringForMs: 3 * MIN }), { restored: true });
    await t.eval(vec([{ pod: 'a' }, 1]), 0, expand, 0);
    await t.eval([], MIN, expand, 0);
    await t.eval(vec([{ pod: 'a' }, 1]), 2 * MIN, expand, 0);
    expect(t.activeAlerts()[0]!.keepFiringSince).toBe(0);
    expect(t.activeAlerts()[0]!.activeAt).toBe(0);
  });

  it('refuses two samples with the same identity after the rule labels are applied', async () => {
    const s = new AlertingRuleState(rule({ labels: { pod: 'fixed' } }), { restored: true });
    await expect(s.eval(vec([{ pod: 'a' }, 1], [{ pod: 'b' }, 2]), 0, expand, 0)).rejects.toThrow(
      'vector contains metrics with the same labelset after applying alert labels',
    );
  });

  it('fails over the group limit and forgets every alert of the rule', async () => {
    const s = new AlertingRuleState(rule(), { restored: true });
    await s.eval(vec([{ pod: 'a' }, 1]), 0, expand, 2);
    await expect(s.eval(vec([{ pod: 'a' }, 1], [{ pod: 'b' }, 1], [{ pod: 'c' }, 1]), MIN, expand, 2)).rejects.toThrow('exceeded limit of 2 with 3 alerts');
    expect(s.active.size).toBe(0);
  });

  it('writes nothing until restored', async () => {
    const s = new AlertingRuleState(rule(), { restored: false });
    const out = await s.eval(vec([{ pod: 'a' }, 1]), 0, expand, 0);
    expect(out.samples).toEqual([]);
    expect(s.state()).toBe('pending');
  });

  describe('restoreForState (Prometheus RestoreForState, grace 10m)', () => {
    const ts = 100 * MIN;
    async function restored(forMs: number, last: { t: number; v: number } | null): Promise<number> {
      const s = new AlertingRuleState(rule({ forMs }), { restored: false });
      await s.eval(vec([{ pod: 'a' }, 1]), ts, expand, 0);
      await s.restoreForState(ts, async (labels) => {
        expect(labelsToRecord(labels)).toEqual({ __name__: 'ALERTS_FOR_STATE', alertname: 'High', pod: 'a', severity: 'warning' });
        return last;
      });
      expect(s.restored).toBe(true);
      return s.activeAlerts()[0]!.activeAt;
    }

    it('shifts activeAt by the downtime when more than the grace period remained', async () => {
      // Pending since 80m, last written at 85m (5m spent), 20m `for`: 15m remained; down 15m → 95m.
      expect(await restored(20 * MIN, { t: 85 * MIN, v: (80 * MIN) / 1000 })).toBe(95 * MIN);
    });

    it('gives the grace period when less than it remained', async () => {
      // 12m `for`, 5m spent → 7m remained < 10m: fires at ts + 10m, so activeAt = ts + 10m - 12m.
      expect(await restored(12 * MIN, { t: 85 * MIN, v: (80 * MIN) / 1000 })).toBe(ts - 2 * MIN);
    });

    it('keeps the original activeAt of an alert that was already firing', async () => {
      expect(await restored(15 * MIN, { t: 99 * MIN, v: (60 * MIN) / 1000 })).toBe(60 * MIN);
    });

    it('skips rules whose `for` is shorter than the grace period, and alerts without history', async () => {
      expect(await restored(5 * MIN, { t: 99 * MIN, v: (60 * MIN) / 1000 })).toBe(ts);
      expect(await restored(20 * MIN, null)).toBe(ts);
    });

    it('works in whole seconds, as Prometheus does', async () => {
      expect(await restored(20 * MIN, { t: 85 * MIN + 999, v: (80 * MIN) / 1000 + 0.9 })).toBe(95 * MIN);
    });
  });
});
