// The analyzer's published state, served by every receiver replica from the database:
//   GET /api/v1/rules            Prometheus' rules API (groups, rules, health, alerts), per tenant
//   GET /api/v1/alerts           Prometheus' alerts API (pending and firing alerts)
//   GET /api/v1/recommendations  Trimtab's recommendations: JSON records, or ?format=yaml for
//                                apply-ready resources patches per workload
// The analyzer leader writes what these read (storage/analyzer-state.ts) after every evaluation, so the
// answers do not depend on which replica serves them or which analyzer replica leads.

import { stringify } from 'yaml';
import type { RecommendationFilter, RecommendationRow } from '../storage/analyzer-state.ts';
import type { Storage } from '../storage/types.ts';
import { ApiError, success, type ApiRoute, type Handler, type Params } from './query-api.ts';

interface AlertDoc {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt: string;
  keepFiringSince?: string;
  value: string;
}

interface RuleDoc {
  name: string;
  type: 'alerting' | 'recording';
  alerts?: AlertDoc[];
  [k: string]: unknown;
}

interface GroupDoc {
  name: string;
  file: string;
  rules: RuleDoc[];
  [k: string]: unknown;
}

/** Go's strconv.FormatFloat(v, 'e', -1, 64), which Prometheus uses for alert values. */
export function goExponent(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  const [mantissa, exp] = value.toExponential().split('e') as [string, string];
  const sign = exp.startsWith('-') ? '-' : '+';
  const digits = exp.replace(/^[+-]/, '');
  return `${mantissa}e${sign}${digits.padStart(2, '0')}`;
}

function alertOut(a: AlertDoc): AlertDoc {
  const out: AlertDoc = { labels: a.labels, annotations: a.annotations, state: a.state, activeAt: a.activeAt, value: goExponent(Number(a.value)) };
  if (a.keepFiringSince) out.keepFiringSince = a.keepFiringSince;
  return out;
}

function listParam(params: Params, name: string): string[] {
  return params.all(name).concat(params.all(`${name}[]`)).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

export function rulesApiRoutes(storage: Storage): ApiRoute[] {
  const groupsOf = async (tenant: number): Promise<GroupDoc[]> => (await storage.analyzerState.listGroupStates(tenant)).map((r) => r.state as GroupDoc);

  const rules: Handler = async (ctx, tenant, params) => {
    const type = params.get('type');
    if (type !== '' && type !== 'alert' && type !== 'record') {
      throw new ApiError('bad_data', `invalid parameter "type": not supported value ${JSON.stringify(type)}; use alert or record`);
    }
    const names = new Set(params.all('rule_name[]'));
    const groupNames = new Set(params.all('rule_group[]'));
    const files = new Set(params.all('file[]'));
    const excludeAlerts = params.get('exclude_alerts') === 'true';
    const groups: GroupDoc[] = [];
    for (const g of await groupsOf(tenant.id)) {
      if (groupNames.size && !groupNames.has(g.name)) continue;
      if (files.size && !files.has(g.file)) continue;
      const kept = g.rules
        .filter((r) => (type === 'alert' ? r.type === 'alerting' : type === 'record' ? r.type === 'recording' : true))
        .filter((r) => !names.size || names.has(r.name))
        .map((r) => {
          if (r.type !== 'alerting') return r;
          return excludeAlerts ? { ...r, alerts: undefined } : { ...r, alerts: (r.alerts ?? []).map(alertOut) };
        });
      // Prometheus leaves out groups that filtering emptied.
      if (kept.length === 0 && (type !== '' || names.size > 0)) continue;
      groups.push({ ...g, rules: kept });
    }
    success(ctx, { groups });
  };

  const alerts: Handler = async (ctx, tenant) => {
    const out: AlertDoc[] = [];
    for (const g of await groupsOf(tenant.id)) {
      for (const r of g.rules) if (r.type === 'alerting') for (const a of r.alerts ?? []) out.push(alertOut(a));
    }
    success(ctx, { alerts: out });
  };

  const recommendations: Handler = async (ctx, tenant, params) => {
    const format = params.get('format') || 'json';
    if (format !== 'json' && format !== 'yaml') throw new ApiError('bad_data', `invalid parameter "format": ${JSON.stringify(format)}; use json or yaml`);
    const limitText = params.get('limit');
    let limit: number | undefined;
    if (limitText !== '') {
      limit = Number(limitText);
      if (!Number.isSafeInteger(limit) || limit < 0) throw new ApiError('bad_data', `invalid parameter "limit": ${JSON.stringify(limitText)} is not a non-negative integer`);
      if (limit === 0) limit = undefined;
    }
    const history = params.get('history');
    if (history !== '' && history !== 'true' && history !== 'false') throw new ApiError('bad_data', `invalid parameter "history": ${JSON.stringify(history)}; use true or false`);
    const filter: RecommendationFilter = { includeResolved: history === 'true', limit };
    for (const key of ['cluster', 'namespace', 'workload'] as const) {
      const v = params.get(key);
      if (v !== '') filter[key] = v;
    }
    const severity = listParam(params, 'severity');
    if (severity.length) filter.severity = severity;
    const type = listParam(params, 'type');
    if (type.length) filter.kind = type;
    const rows = await storage.analyzerState.listRecommendations(tenant.id, filter);
    const records = rows.map(recordOf);
    if (format === 'yaml') {
      ctx.status = 200;
      ctx.type = 'application/yaml';
      ctx.body = patchesYaml(records);
      return;
    }
    success(ctx, { recommendations: records });
  };

  return [
    ['/api/v1/rules', ['GET'], 'rules', rules],
    ['/api/v1/alerts', ['GET'], 'alerts', alerts],
    ['/api/v1/recommendations', ['GET'], 'recommendations', recommendations],
  ];
}

/** A recommendation as the JSON API returns it (issue contract: cluster … monthlySavings, reason). */
export interface RecommendationRecord {
  cluster: string;
  namespace: string;
  workload: string;
  kind: string;
  container: string;
  resource: string;
  type: string;
  alertname: string;
  severity: string;
  current: { request: number | null; limit: number | null };
  recommended: { request: number | null; limit: number | null };
  replicas: number | null;
  monthlySavings: number | null;
  reason: string;
  value: number | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  activeAt: string;
  firstSeen: string;
  lastSeen: string;
  resolvedAt: string | null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function recordOf(r: RecommendationRow): RecommendationRecord {
  const d = (r.details ?? {}) as { current?: { request?: unknown; limit?: unknown }; recommended?: { request?: unknown; limit?: unknown }; replicas?: unknown; monthlySavings?: unknown };
  return {
    cluster: r.cluster,
    namespace: r.namespace,
    workload: r.workload,
    kind: r.labels.workload_kind ?? '',
    container: r.labels.container ?? '',
    resource: r.labels.resource ?? '',
    type: r.kind,
    alertname: r.alertname,
    severity: r.severity,
    current: { request: num(d.current?.request), limit: num(d.current?.limit) },
    recommended: { request: num(d.recommended?.request), limit: num(d.recommended?.limit) },
    replicas: num(d.replicas),
    monthlySavings: num(d.monthlySavings),
    reason: r.annotations.description ?? r.annotations.summary ?? '',
    value: Number.isFinite(r.value) ? r.value : null,
    labels: r.labels,
    annotations: r.annotations,
    activeAt: r.activeAt.toISOString(),
    firstSeen: r.firstSeen.toISOString(),
    lastSeen: r.lastSeen.toISOString(),
    resolvedAt: r.resolvedAt ? r.resolvedAt.toISOString() : null,
  };
}

/** Kubernetes quantities, rounded up so a recommendation never lands below what was computed. */
export function cpuQuantity(cores: number): string {
  return `${Math.max(1, Math.ceil(cores * 1000 - 1e-9))}m`;
}

export function memoryQuantity(bytes: number): string {
  return `${Math.max(1, Math.ceil(bytes / 2 ** 20 - 1e-9))}Mi`;
}

const PATCH_TARGET: Record<string, { apiVersion: string; podSpecPath: string[] }> = {
  Deployment: { apiVersion: 'apps/v1', podSpecPath: ['spec', 'template', 'spec'] },
  StatefulSet: { apiVersion: 'apps/v1', podSpecPath: ['spec', 'template', 'spec'] },
  DaemonSet: { apiVersion: 'apps/v1', podSpecPath: ['spec', 'template', 'spec'] },
  ReplicaSet: { apiVersion: 'apps/v1', podSpecPath: ['spec', 'template', 'spec'] },
  Job: { apiVersion: 'batch/v1', podSpecPath: ['spec', 'template', 'spec'] },
  CronJob: { apiVersion: 'batch/v1', podSpecPath: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] },
};

/**
 * One YAML document per workload: a strategic-merge patch of its containers' resources that
 * `kubectl patch <kind> <name> -n <namespace> --patch-file` applies (or that can be committed). Only
 * right-sizing recommendations with a recommended value are included; bare pods get a comment (a pod's
 * resources are not patchable in place: change whatever creates it).
 */
export function patchesYaml(records: readonly RecommendationRecord[]): string {
  const byWorkload = new Map<string, RecommendationRecord[]>();
  for (const r of records) {
    if (r.type !== 'rightsize' || r.recommended.request === null || !r.container || !r.workload) continue;
    const key = JSON.stringify([r.cluster, r.namespace, r.kind, r.workload]);
    const list = byWorkload.get(key) ?? [];
    list.push(r);
    byWorkload.set(key, list);
  }
  const docs: string[] = [];
  for (const list of byWorkload.values()) {
    const first = list[0]!;
    const savings = list.reduce((s, r) => s + (r.monthlySavings ?? 0), 0);
    const header = `# cluster ${first.cluster || '(none)'}: ${first.kind} ${first.namespace}/${first.workload}, ${savings >= 0 ? 'saves' : 'costs'} $${Math.abs(savings).toFixed(2)} per month\n`;
    const target = PATCH_TARGET[first.kind];
    if (!target) {
      docs.push(`${header}# a ${first.kind || 'bare pod'} cannot be patched in place; set these resources where it is created:\n${stringify(containersOf(list)).replace(/^(?=.)/gm, '#   ')}`);
      continue;
    }
    let spec: Record<string, unknown> = { containers: containersOf(list) };
    for (const part of [...target.podSpecPath].reverse()) spec = { [part]: spec };
    const doc = { apiVersion: target.apiVersion, kind: first.kind, metadata: { name: first.workload, namespace: first.namespace }, ...spec };
    docs.push(header + stringify(doc));
  }
  return docs.join('---\n');
}

function containersOf(list: readonly RecommendationRecord[]): Array<{ name: string; resources: { requests?: Record<string, string>; limits?: Record<string, string> } }> {
  const byContainer = new Map<string, { requests?: Record<string, string>; limits?: Record<string, string> }>();
  for (const r of list) {
    const res = byContainer.get(r.container) ?? {};
    const q = r.resource === 'cpu' ? cpuQuantity : memoryQuantity;
    if (r.recommended.request !== null) (res.requests ??= {})[r.resource] = q(r.recommended.request);
    if (r.recommended.limit !== null) (res.limits ??= {})[r.resource] = q(r.recommended.limit);
    byContainer.set(r.container, res);
  }
  return [...byContainer].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, resources]) => ({ name, resources }));
}
