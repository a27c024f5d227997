// The analyzer's published state (migration 0003): rule-group documents for /api/v1/rules and
// /api/v1/alerts, and recommendations with their history. The analyzer leader writes (every write takes
// a `prelude`, where the analyzer checks its fencing token inside the same transaction); receivers read.
// Every statement runs in a tenant-scoped transaction, under row-level security.

import { TrimtabError } from '../protocol/errors.ts';
import { transaction, type Driver, type Tx } from './driver.ts';
import { wrapDbError } from './errors.ts';
import type { TenantId } from './types.ts';

export type Prelude = (tx: Tx) => Promise<void>;

export interface GroupStateRow {
  file: string;
  groupName: string;
  state: unknown;
  evaluatedAt: Date;
  epoch: number;
}

/** A firing recommendation as the analyzer sees it at one evaluation. */
export interface RecommendationInput {
  fingerprint: string;
  alertname: string;
  kind: string;
  severity: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  details: Record<string, unknown> | null;
  /** ms: when the alert became active. */
  activeAt: number;
}

export interface RecommendationRow {
  id: number;
  fingerprint: string;
  alertname: string;
  kind: string;
  severity: string;
  cluster: string;
  namespace: string;
  workload: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  details: Record<string, unknown> | null;
  activeAt: Date;
  firstSeen: Date;
  lastSeen: Date;
  resolvedAt: Date | null;
}

export interface RecommendationFilter {
  cluster?: string;
  namespace?: string;
  workload?: string;
  severity?: string[];
  kind?: string[];
  /** Include resolved episodes (history); default only open ones. */
  includeResolved?: boolean;
  limit?: number;
}

function toTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

export class PgAnalyzerState {
  readonly #driver: Driver;

  constructor(driver: Driver) {
    this.#driver = driver;
  }

  async #tx<T>(tenant: TenantId, what: string, prelude: Prelude | undefined, fn: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await transaction(this.#driver, { tenant }, async (tx) => {
        if (prelude) await prelude(tx);
        return fn(tx);
      });
    } catch (error) {
      // A prelude's refusal (the analyzer's FencedError) and storage's own errors pass through as they are.
      if (error instanceof TrimtabError) throw error;
      throw wrapDbError(error, what);
    }
  }

  /** Replaces the state document of one group for the tenant. */
  async saveGroupState(tenant: TenantId, file: string, groupName: string, state: unknown, evaluatedAt: number, epoch: number, prelude?: Prelude): Promise<void> {
    await this.#tx(tenant, 'saving rule group state', prelude, async (tx) => {
      await tx.query(
        `INSERT INTO rule_group_state (tenant_id, file, group_name, state, evaluated_at, epoch) VALUES ($1, $2, $3, $4::jsonb, $5, $6)
         ON CONFLICT (tenant_id, file, group_name) DO UPDATE SET state = EXCLUDED.state, evaluated_at = EXCLUDED.evaluated_at, epoch = EXCLUDED.epoch`,
        [tenant, file, groupName, JSON.stringify(state), toTimestamp(evaluatedAt), String(epoch)],
      );
    });
  }

  /** Deletes the tenant's group documents of groups no longer loaded. */
  async deleteGroupStatesExcept(tenant: TenantId, keep: ReadonlyArray<{ file: string; groupName: string }>, prelude?: Prelude): Promise<number> {
    return this.#tx(tenant, 'deleting rule group state', prelude, async (tx) => {
      const { rowCount } = await tx.query(
        `DELETE FROM rule_group_state s WHERE tenant_id = $1
           AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($2::jsonb) AS k(file text, group_name text) WHERE k.file = s.file AND k.group_name = s.group_name)`,
        [tenant, JSON.stringify(keep.map((k) => ({ file: k.file, group_name: k.groupName })))],
      );
      return rowCount;
    });
  }

  async listGroupStates(tenant: TenantId): Promise<GroupStateRow[]> {
    return this.#tx(tenant, 'reading rule group state', undefined, async (tx) => {
      const { rows } = await tx.query<{ file: string; group_name: string; state: unknown; evaluated_at: Date | string; epoch: string }>(
        'SELECT file, group_name, state, evaluated_at, epoch::text AS epoch FROM rule_group_state WHERE tenant_id = $1 ORDER BY file, group_name',
        [tenant],
      );
      return rows.map((r) => ({ file: r.file, groupName: r.group_name, state: parseJson(r.state), evaluatedAt: new Date(r.evaluated_at), epoch: Number(r.epoch) }));
    });
  }

  /**
   * Brings the tenant's open recommendations of the given alert names in line with one evaluation at ts:
   * episodes no longer firing are resolved, still-firing ones updated, new ones opened.
   */
  async syncRecommendations(
    tenant: TenantId,
    alertnames: readonly string[],
    firing: readonly RecommendationInput[],
    ts: number,
    epoch: number,
    prelude?: Prelude,
  ): Promise<{ opened: number; resolved: number }> {
    if (alertnames.length === 0) return { opened: 0, resolved: 0 };
    const at = toTimestamp(ts);
    return this.#tx(tenant, 'saving recommendations', prelude, async (tx) => {
      const resolved = await tx.query(
        `UPDATE recommendations SET resolved_at = $2, epoch = $3
          WHERE tenant_id = $1 AND resolved_at IS NULL AND alertname = ANY($4::text[]) AND NOT (fingerprint = ANY($5::text[]))`,
        [tenant, at, String(epoch), alertnames, firing.map((r) => r.fingerprint)],
      );
      let opened = 0;
      if (firing.length > 0) {
        const rows = firing.map((r) => ({
          fingerprint: r.fingerprint,
          alertname: r.alertname,
          kind: r.kind,
          severity: r.severity,
          cluster: r.labels.cluster ?? '',
          namespace: r.labels.namespace ?? '',
          workload: r.labels.workload ?? '',
          labels: r.labels,
          annotations: r.annotations,
          // Text, so NaN and ±Inf survive JSON (PostgreSQL's float8 input takes NaN, Infinity, -Infinity).
          value: String(r.value),
          details: r.details,
          active_at: toTimestamp(r.activeAt),
        }));
        const { rows: result } = await tx.query<{ inserted: boolean }>(
          `INSERT INTO recommendations AS r (tenant_id, fingerprint, alertname, kind, severity, cluster, namespace, workload, labels, annotations, value, details, active_at, first_seen, last_seen, epoch)
           SELECT $1, x.fingerprint, x.alertname, x.kind, x.severity, x.cluster, x.namespace, x.workload, x.labels, x.annotations, x.value::float8, x.details, x.active_at, $2, $2, $3
             FROM jsonb_to_recordset($4::jsonb) AS x(fingerprint text, alertname text, kind text, severity text, cluster text, namespace text, workload text,
                                                     labels jsonb, annotations jsonb, value text, details jsonb, active_at timestamptz)
           ON CONFLICT (tenant_id, fingerprint) WHERE resolved_at IS NULL DO UPDATE
             SET last_seen = EXCLUDED.last_seen, value = EXCLUDED.value, severity = EXCLUDED.severity, labels = EXCLUDED.labels,
                 annotations = EXCLUDED.annotations, details = EXCLUDED.details, epoch = EXCLUDED.epoch
           RETURNING (xmax = 0) AS inserted`,
          [tenant, at, String(epoch), JSON.stringify(rows)],
        );
        opened = result.filter((r) => r.inserted).length;
      }
      return { opened, resolved: resolved.rowCount };
    });
  }

  /** Resolves open recommendations whose rule is gone (after a reload removed it). */
  async resolveRecommendationsExcept(tenant: TenantId, alertnames: readonly string[], ts: number, epoch: number, prelude?: Prelude): Promise<number> {
    return this.#tx(tenant, 'resolving recommendations of removed rules', prelude, async (tx) => {
      const { rowCount } = await tx.query(
        'UPDATE recommendations SET resolved_at = $2, epoch = $3 WHERE tenant_id = $1 AND resolved_at IS NULL AND NOT (alertname = ANY($4::text[]))',
        [tenant, toTimestamp(ts), String(epoch), alertnames],
      );
      return rowCount;
    });
  }

  async listRecommendations(tenant: TenantId, filter: RecommendationFilter = {}): Promise<RecommendationRow[]> {
    const where = ['tenant_id = $1'];
    const params: unknown[] = [tenant];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (!filter.includeResolved) where.push('resolved_at IS NULL');
    if (filter.cluster !== undefined) add('cluster = ?', filter.cluster);
    if (filter.namespace !== undefined) add('namespace = ?', filter.namespace);
    if (filter.workload !== undefined) add('workload = ?', filter.workload);
    if (filter.severity?.length) add('severity = ANY(?::text[])', filter.severity);
    if (filter.kind?.length) add('kind = ANY(?::text[])', filter.kind);
    let sql = `SELECT id::text AS id, fingerprint, alertname, kind, severity, cluster, namespace, workload, labels, annotations, value::text AS value, details,
                      active_at, first_seen, last_seen, resolved_at
                 FROM recommendations WHERE ${where.join(' AND ')} ORDER BY cluster, namespace, workload, alertname, fingerprint, first_seen`;
    if (filter.limit !== undefined) {
      params.push(filter.limit);
      sql += ` LIMIT $${params.length}`;
    }
    return this.#tx(tenant, 'reading recommendations', undefined, async (tx) => {
      const { rows } = await tx.query<Record<string, unknown>>(sql, params);
      return rows.map((r) => ({
        id: Number(r.id),
        fingerprint: String(r.fingerprint),
        alertname: String(r.alertname),
        kind: String(r.kind),
        severity: String(r.severity),
        cluster: String(r.cluster),
        namespace: String(r.namespace),
        workload: String(r.workload),
        labels: parseJson(r.labels) as Record<string, string>,
        annotations: parseJson(r.annotations) as Record<string, string>,
        value: Number(r.value),
        details: (parseJson(r.details) as Record<string, unknown> | null) ?? null,
        activeAt: new Date(r.active_at as string),
        firstSeen: new Date(r.first_seen as string),
        lastSeen: new Date(r.last_seen as string),
        resolvedAt: r.resolved_at ? new Date(r.resolved_at as string) : null,
      }));
    });
  }
}

/** pg parses jsonb itself; PGlite too, but a text column or an older driver may hand over a string. */
function parseJson(v: unknown): unknown {
  return typeof v === 'string' ? JSON.parse(v) : v;
}
