// What storage offers the rest of Trimtab. The receiver writes through IngestWriter; later issues (PromQL,
// analyzer) read through SeriesReader. Every call is scoped to one tenant, and the SQL enforces it too
// (row-level security under the trimtab_tenant role), so a bug in a caller still cannot cross tenants.

import type { DecodedWriteRequest, Label, RejectReason, WriteLimits } from '../protocol/types.ts';
import type { PgAnalyzerState } from './analyzer-state.ts';
import type { Compactor } from './compaction.ts';
import type { Tx } from './driver.ts';

export type TenantId = number;

export interface Tenant {
  id: TenantId;
  name: string;
  createdAt: Date;
}

export interface TokenInfo {
  id: number;
  tenantId: TenantId;
  tenantName: string;
  createdAt: Date;
  revokedAt: Date | null;
  /** First characters of the token, safe to show (e.g. "tt_3fA9"); the token itself is stored only hashed. */
  prefix: string;
}

export interface TenantStore {
  /** Creates a tenant and its first token; returns the token in clear, the only time it is ever shown. */
  createTenant(name: string, token?: string): Promise<{ tenant: Tenant; token: string }>;
  listTenants(): Promise<Array<Tenant & { activeTokens: number }>>;
  /** Adds another token to an existing tenant (rotation). */
  createToken(tenantName: string, token?: string): Promise<{ token: string; info: TokenInfo }>;
  listTokens(tenantName?: string): Promise<TokenInfo[]>;
  /** Revokes by token id or by the token's visible prefix; returns how many were revoked. */
  revokeToken(idOrPrefix: string): Promise<number>;
  /** Resolves a presented token to its tenant, or null when unknown or revoked. Constant-time on the hash. */
  authenticate(token: string): Promise<Tenant | null>;
  countTenants(): Promise<number>;
}

export interface WrittenCounts {
  samples: number;
  histograms: number;
  exemplars: number;
}

export interface RejectionSummary {
  reason: RejectReason;
  series: number;
  samples: number;
  histograms: number;
  exemplars: number;
  /** The first message seen for this reason, naming the series. */
  example: string;
}

export interface IngestResult {
  /** Durable after commit; a resent duplicate counts as written (idempotent), a conflicting value does not. */
  written: WrittenCounts;
  rejected: RejectionSummary[];
  /**
   * Samples (and native histograms) already stored with bit-identical values — a resend, or the same
   * point twice in one request: accepted and counted in `written`, not stored twice.
   */
  duplicates: number;
  seriesCreated: number;
}

export interface IngestWriter {
  /**
   * Validates (with protocol's validators and these limits) and writes one decoded request in one
   * transaction. Invalid items are left out and reported in `rejected`; the valid rest is committed.
   * Throws StorageUnavailableError when the database cannot be reached (retryable, 503); nothing is
   * committed then.
   */
  write(tenant: TenantId, request: DecodedWriteRequest, limits: WriteLimits, nowMs: number, options?: WriteOptions): Promise<IngestResult>;
}

export interface WriteOptions {
  /**
   * Runs first inside the transaction that commits the samples (every attempt of it); throwing aborts the
   * write. The analyzer checks its fencing token here, so a deposed leader's results are never committed.
   */
  prelude?: (tx: Tx) => Promise<void>;
}

/** A PromQL-style label matcher. */
export interface LabelMatcher {
  type: '=' | '!=' | '=~' | '!~';
  name: string;
  value: string;
}

export interface SeriesRef {
  id: number;
  /** Sorted by name; includes __name__. */
  labels: Label[];
}

/** A page of samples of one series, in timestamp order. Values are exact bit patterns. */
export interface SampleBlock {
  seriesId: number;
  timestamps: Float64Array;
  values: Float64Array;
}

export interface StoredHistogram {
  seriesId: number;
  timestamp: number;
  startTimestamp: number;
  /** The Histogram protobuf bytes as received; decode with protocol's decodeHistogram. */
  raw: Uint8Array;
}

export interface StoredExemplar {
  seriesId: number;
  timestamp: number;
  value: number;
  labels: Label[];
}

export interface StoredMetadata {
  metricFamilyName: string;
  type: number;
  help: string;
  unit: string;
}

export interface SeriesReader {
  /**
   * Series matching all matchers with at least one sample, histogram or exemplar in [minT, maxT] (ms,
   * inclusive), ascending by id. The time test is at UTC-day granularity (series_activity, never a scan
   * of samples): a series with data on a day that overlaps the range is returned even if its points on
   * that day fall just outside it. Matchers follow PromQL: a missing label equals "", regexes are fully
   * anchored (evaluated as PostgreSQL regular expressions, which agree with RE2 on common syntax).
   */
  selectSeries(tenant: TenantId, matchers: LabelMatcher[], minT: number, maxT: number): AsyncIterable<SeriesRef>;
  /**
   * Samples of the given series in [minT, maxT], streamed in bounded pages (at most `pageSamples` per
   * block, default 8192): blocks come in ascending series id, a series' blocks are consecutive and in
   * timestamp order. Ids of another tenant yield nothing.
   */
  readSamples(tenant: TenantId, seriesIds: number[], minT: number, maxT: number, pageSamples?: number): AsyncIterable<SampleBlock>;
  readHistograms(tenant: TenantId, seriesIds: number[], minT: number, maxT: number): AsyncIterable<StoredHistogram>;
  readExemplars(tenant: TenantId, seriesIds: number[], minT: number, maxT: number): AsyncIterable<StoredExemplar>;
  labelNames(tenant: TenantId, matchers: LabelMatcher[], minT: number, maxT: number): Promise<string[]>;
  labelValues(tenant: TenantId, name: string, matchers: LabelMatcher[], minT: number, maxT: number): Promise<string[]>;
  metadata(tenant: TenantId, metric?: string): Promise<StoredMetadata[]>;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface Storage {
  readonly driver: 'pg' | 'pglite';
  readonly tenants: TenantStore;
  readonly writer: IngestWriter;
  readonly reader: SeriesReader;
  /** The analyzer's published rule state and recommendations (analyzer-state.ts). */
  readonly analyzerState: PgAnalyzerState;
  /** Moves closed days of samples into per-series chunks (compaction.ts). */
  readonly compactor: Compactor;
  /** Applies pending migrations (idempotent; serialised across processes with an advisory lock). */
  migrate(): Promise<{ applied: string[] }>;
  /** Database reachable and every known migration applied. */
  ready(): Promise<{ ok: true } | { ok: false; reason: string }>;
  poolStats(): PoolStats;
  close(): Promise<void>;
}
