// Recommendations are firing alerts of rules labelled `trimtab_recommendation` (rules/README.md has the
// contract). A right-sizing alert's value is the recommended request; the numbers around it (current
// request and limit, recommended limit, replicas, monthly savings) are series the rule pack records with
// the same six identity labels. The assembler joins them to each alert in memory: one instant query per
// contract series and tenant per evaluation, not one per alert.

import type { Engine } from '../promql/engine.ts';
import { getLabel, type Labels } from '../promql/labels.ts';
import type { Queryable } from '../promql/queryable.ts';
import type { Alert } from './alerting.ts';

export const RECOMMENDATION_LABEL = 'trimtab_recommendation';

/** The labels that identify a container's resource in the rule pack's contract series. */
export const IDENTITY_LABELS = ['cluster', 'namespace', 'workload', 'workload_kind', 'container', 'resource'] as const;

/** The rule pack's contract series (rules/README.md). */
export const CONTRACT_SERIES = {
  currentRequest: 'workload_container:trimtab_requests:current',
  currentLimit: 'workload_container:trimtab_limits:current',
  recommendedRequest: 'workload_container:trimtab_requests:recommended',
  recommendedLimit: 'workload_container:trimtab_limits:recommended',
  monthlySavings: 'workload_container:trimtab_monthly_savings_dollars:recommended',
  replicas: 'workload_container:trimtab_replicas:current',
} as const;

export type ContractField = keyof typeof CONTRACT_SERIES;

/** What a right-sizing recommendation carries besides its labels. Absent numbers are null. */
export interface RecommendationDetails {
  current: { request: number | null; limit: number | null };
  recommended: { request: number | null; limit: number | null };
  replicas: number | null;
  monthlySavings: number | null;
}

export interface RecommendationAssembler {
  details(queryable: Queryable, engine: Engine, firing: readonly Alert[], ts: number): Promise<Map<Alert, Record<string, unknown>>>;
}

export function identityKey(labels: Labels): string {
  let k = '';
  for (const name of IDENTITY_LABELS) k += `${getLabel(labels, name)}\u0000`;
  return k;
}

/** The default assembler over the contract series. */
export const contractAssembler: RecommendationAssembler = {
  async details(queryable, engine, firing, ts) {
    const out = new Map<Alert, Record<string, unknown>>();
    const sized = firing.filter((a) => getLabel(a.labels, 'resource') !== '' && getLabel(a.labels, 'container') !== '');
    if (sized.length === 0) return out;
    const values = new Map<ContractField, Map<string, number>>();
    for (const [field, metric] of Object.entries(CONTRACT_SERIES) as Array<[ContractField, string]>) {
      const byKey = new Map<string, number>();
      const { value } = await engine.instantQuery(queryable, metric, ts);
      if (value.resultType === 'vector') for (const s of value.result) byKey.set(identityKey(s.metric), s.v);
      values.set(field, byKey);
    }
    const get = (field: ContractField, key: string): number | null => {
      const v = values.get(field)?.get(key);
      return v === undefined || Number.isNaN(v) ? null : v;
    };
    for (const a of sized) {
      const key = identityKey(a.labels);
      const rightsize = getLabel(a.labels, RECOMMENDATION_LABEL) === 'rightsize';
      const details: RecommendationDetails = {
        current: { request: get('currentRequest', key), limit: get('currentLimit', key) },
        // Only a right-sizing alert's value is a recommended request (the contract); other kinds carry other
        // numbers (a point count, a usage) that must never pass for one.
        recommended: { request: get('recommendedRequest', key) ?? (rightsize && Number.isFinite(a.value) ? a.value : null), limit: get('recommendedLimit', key) },
        replicas: get('replicas', key),
        monthlySavings: get('monthlySavings', key),
      };
      out.set(a, details as unknown as Record<string, unknown>);
    }
    return out;
  },
};
