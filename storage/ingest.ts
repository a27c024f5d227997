// The ingest writer: one decoded remote-write request → validated rows → one PostgreSQL transaction.
//
//  1. Series: a per-tenant cache maps DecodedSeries.key (raw label bytes) to the series id. Misses are
//     decoded (labelsOf), validated and sorted (protocol's validateSeriesLabels), hashed, and resolved in
//     one statement (INSERT … SELECT FROM unnest ORDER BY labels_hash ON CONFLICT DO NOTHING, then the
//     ids), committed on its own: a series row without data is harmless and invisible to reads.
//  2. Per-sample checks (checkSampleTimestamp), histograms (validateHistogram), exemplars
//     (validateExemplar). Everything refused is reported per reason in `rejected`; the rest is written.
//  3. Daily partitions for the days touched are created before the data transaction.
//  4. One transaction, scoped to the tenant (role trimtab_tenant, RLS): binary COPY into samples (values
//     byte for byte from the Float64Array, rows in series id order), then histograms, exemplars,
//     series_activity, start timestamps and metadata through INSERT … unnest. The COPY alone runs as the
//     session user (Tx.asOwner), because PostgreSQL refuses COPY FROM into a table with row-level
//     security; its rows carry the authenticated tenant id, put there by encodeSamples below.
//     A COPY that hits unique_violation (a resend, or one timestamp twice in the request) is rolled back
//     and the whole request redone through a temp table and INSERT … ON CONFLICT DO NOTHING; stored
//     bit-identical values count as `duplicates` (accepted, written once), a different value at a stored
//     timestamp is rejected as duplicate_sample_conflict and the first value stays.
//  5. Caches that describe committed rows (activity day, start timestamp, metadata) change only after
//     COMMIT. A failure to reach the database throws StorageUnavailableError with nothing committed.

import { checkSampleTimestamp, checkSeriesContents, TrimtabError, validateExemplar, validateHistogram, validateSeriesLabels } from '../protocol/index.ts';
import type { DecodedMetadata, DecodedWriteRequest, RejectReason, WriteLimits } from '../protocol/types.ts';
import type { Logger } from '../lib/log.ts';
import { GenerationalCache } from './cache.ts';
import { CopyBinaryWriter } from './copy-binary.ts';
import { tenantLiteral, transaction, type Driver, type Tx } from './driver.ts';
import { SqlState, sqlStateOf, wrapDbError } from './errors.ts';
import { formatLabels, hasNul, labelsHashHex, labelsJson, sortLabels } from './labels.ts';
import { DAY_MS, type PartitionManager } from './partitions.ts';
import type { IngestResult, IngestWriter, RejectionSummary, TenantId, WriteOptions } from './types.ts';

export interface IngestWriterOptions {
  partitions: PartitionManager;
  /** Series ids cached, all tenants together (default 500,000). */
  seriesCacheSize?: number;
  /** Metric families whose stored metadata is cached per tenant (default 50,000). */
  metadataCacheSize?: number;
  logger?: Logger;
}

/** What the writer knows about a stored series. Mutated only after the rows it describes are committed. */
interface SeriesEntry {
  id: number;
  /** Latest day known to have a series_activity row. */
  activeDay: number;
  /** Last start timestamp known to be stored (NaN: none known). */
  startTs: number;
}

interface TenantCaches {
  series: GenerationalCache<string, SeriesEntry>;
  metadata: GenerationalCache<string, string>;
}

const SAMPLE_ROW_FIELDS = 4; // tenant_id int4, series_id int8, ts int8, value float8
const SAMPLE_ROW_BYTES = 4 + 4 + 3 * (4 + 8);
const STAGE_ROW_FIELDS = 4; // ord int4, series_id int8, ts int8, value float8
const STAGE_ROW_BYTES = SAMPLE_ROW_BYTES;
const MAX_TX_ATTEMPTS = 4;
const COPY_CHUNK_BYTES = 1 << 20;

/** COPY into samples met an existing (tenant_id, series_id, ts): redo the request through the temp table. */
class CopyConflict extends Error {}

/** Collects rejections per reason, with the number of distinct series and the first message. */
class Rejections {
  readonly #byReason = new Map<RejectReason, { summary: RejectionSummary; series: Set<number> }>();
  readonly #describe: (seriesIndex: number) => string;

  constructor(describe: (seriesIndex: number) => string) {
    this.#describe = describe;
  }

  #bucket(reason: RejectReason, seriesIndex: number, message: string | (() => string)) {
    let b = this.#byReason.get(reason);
    if (!b) {
      b = { summary: { reason, series: 0, samples: 0, histograms: 0, exemplars: 0, example: typeof message === 'string' ? message : message() }, series: new Set() };
      this.#byReason.set(reason, b);
    }
    if (!b.series.has(seriesIndex)) {
      b.series.add(seriesIndex);
      b.summary.series++;
    }
    return b.summary;
  }

  /** The whole series is refused. */
  series(seriesIndex: number, reason: RejectReason, message: string, counts: { samples: number; histograms: number; exemplars: number }): void {
    const s = this.#bucket(reason, seriesIndex, message);
    s.samples += counts.samples;
    s.histograms += counts.histograms;
    s.exemplars += counts.exemplars;
  }

  item(seriesIndex: number, reason: RejectReason, kind: 'samples' | 'histograms' | 'exemplars', count: number, message: string | (() => string)): void {
    const s = this.#bucket(reason, seriesIndex, () => `series ${this.#describe(seriesIndex)}: ${typeof message === 'string' ? message : message()}`);
    s[kind] += count;
  }

  list(): RejectionSummary[] {
    return [...this.#byReason.values()].map((b) => b.summary);
  }
}

function isoTime(ts: number): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : `${d.toISOString()} (${ts})`;
}

function reasonText(reason: RejectReason): string {
  return reason.replaceAll('_', ' ');
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** A float8 as SQL text that round-trips exactly for every non-NaN value (including -0). */
function float8Text(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

const RESOLVE_SERIES_SQL = `
WITH input AS (
  SELECT decode(h, 'hex') AS labels_hash, n AS metric_name, l::jsonb AS labels
    FROM unnest($2::text[], $3::text[], $4::text[]) AS u(h, n, l)
), ins AS (
  INSERT INTO series (tenant_id, labels_hash, metric_name, labels)
  SELECT $1, labels_hash, metric_name, labels FROM input ORDER BY labels_hash
  ON CONFLICT (tenant_id, labels_hash) DO NOTHING
  RETURNING id, labels_hash
)
SELECT id, encode(labels_hash, 'hex') AS h, true AS created FROM ins
UNION ALL
SELECT s.id, encode(s.labels_hash, 'hex') AS h, false AS created
  FROM series s JOIN input i ON s.tenant_id = $1 AND s.labels_hash = i.labels_hash`;

const SELECT_SERIES_SQL = `
SELECT id, encode(labels_hash, 'hex') AS h FROM series
 WHERE tenant_id = $1 AND labels_hash = ANY (SELECT decode(h, 'hex') FROM unnest($2::text[]) AS u(h))`;

const STAGE_TABLE = 'trimtab_stage_samples';
const CREATE_STAGE_SQL = `CREATE TEMP TABLE IF NOT EXISTS ${STAGE_TABLE} (
  ord int4 NOT NULL, series_id bigint NOT NULL, ts bigint NOT NULL, value float8 NOT NULL
) ON COMMIT DELETE ROWS`;

const INSERT_STAGED_SQL = `
WITH ins AS (
  INSERT INTO samples (tenant_id, series_id, ts, value)
  SELECT $1, series_id, ts, value FROM ${STAGE_TABLE} ORDER BY ord
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT count(*)::int AS inserted FROM ins`;

// After the insert every staged row has a stored row with its key: the same bits (it was inserted, or it
// was there already: a duplicate) or other bits (a conflict: the stored value stays).
const CLASSIFY_STAGED_SQL = `
SELECT st.series_id,
       count(*) FILTER (WHERE float8send(s.value) = float8send(st.value))::int AS same,
       count(*) FILTER (WHERE float8send(s.value) <> float8send(st.value))::int AS differ,
       min(st.ts) FILTER (WHERE float8send(s.value) <> float8send(st.value)) AS first_conflict_ts
  FROM ${STAGE_TABLE} st
  JOIN samples s ON s.tenant_id = $1 AND s.series_id = st.series_id AND s.ts = st.ts
 WHERE s.ts BETWEEN $2 AND $3
 GROUP BY st.series_id`;

// Rows not inserted are either already stored (compare the bytes) or were inserted by a concurrent
// transaction after this statement's snapshot (h.raw is NULL: counted as a duplicate).
const INSERT_HISTOGRAMS_SQL = `
WITH input AS (
  SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[]) AS u(series_id, ts, start_ts, raw_hex)
), ins AS (
  INSERT INTO histograms (tenant_id, series_id, ts, start_ts, raw)
  SELECT $1, series_id, ts, start_ts, decode(raw_hex, 'hex') FROM input ORDER BY series_id, ts
  ON CONFLICT DO NOTHING
  RETURNING series_id, ts
)
SELECT i.series_id, i.ts, (h.raw = decode(i.raw_hex, 'hex')) AS same
  FROM input i
  LEFT JOIN ins ON ins.series_id = i.series_id AND ins.ts = i.ts
  LEFT JOIN histograms h ON h.tenant_id = $1 AND h.series_id = i.series_id AND h.ts = i.ts
 WHERE ins.series_id IS NULL`;

const INSERT_EXEMPLARS_SQL = `
INSERT INTO exemplars (tenant_id, series_id, ts, value, labels)
SELECT $1, s, t, v::float8, l::jsonb FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[]) AS u(s, t, v, l)
 ORDER BY s, t
ON CONFLICT DO NOTHING`;

const INSERT_ACTIVITY_SQL = `
INSERT INTO series_activity (tenant_id, series_id, day)
SELECT $1, s, d FROM unnest($2::bigint[], $3::int[]) AS u(s, d) ORDER BY s, d
ON CONFLICT DO NOTHING`;

const INSERT_START_TS_SQL = `
INSERT INTO series_start_timestamps (tenant_id, series_id, start_ts, first_seen_ts)
SELECT $1, s, st, f FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) AS u(s, st, f) ORDER BY s, st
ON CONFLICT (tenant_id, series_id, start_ts) DO UPDATE SET first_seen_ts = EXCLUDED.first_seen_ts
 WHERE series_start_timestamps.first_seen_ts > EXCLUDED.first_seen_ts`;

const UPSERT_METADATA_SQL = `
INSERT INTO metric_metadata (tenant_id, metric_family_name, type, help, unit)
SELECT $1, n, t, h, u FROM unnest($2::text[], $3::int2[], $4::text[], $5::text[]) AS x(n, t, h, u) ORDER BY n
ON CONFLICT (tenant_id, metric_family_name) DO UPDATE
   SET type = EXCLUDED.type, help = EXCLUDED.help, unit = EXCLUDED.unit, updated_at = now()
 WHERE (metric_metadata.type, metric_metadata.help, metric_metadata.unit)
       IS DISTINCT FROM (EXCLUDED.type, EXCLUDED.help, EXCLUDED.unit)`;

interface PendingHistogram {
  seriesIndex: number;
  seriesId: number;
  ts: number;
  startTs: number;
  raw: Uint8Array;
}

interface PendingExemplar {
  seriesId: number;
  ts: number;
  value: number;
  labelsJson: string;
}

/** Everything the transaction writes, prepared (and validated) before it starts. */
interface Plan {
  tenant: number;
  req: DecodedWriteRequest;
  entries: (SeriesEntry | undefined)[];
  /** 1 where samples[j] is written. */
  accepted: Uint8Array;
  acceptedSamples: number;
  minTs: number;
  maxTs: number;
  histograms: PendingHistogram[];
  /** Histograms repeated bit for bit inside the request (written once, counted as duplicates). */
  histogramDuplicates: number;
  exemplars: PendingExemplar[];
  activity: Array<{ entry: SeriesEntry; day: number }>;
  startTimestamps: Map<string, { entry: SeriesEntry; startTs: number; firstSeen: number }>;
  metadata: DecodedMetadata[];
  copyChunks?: Uint8Array[];
  stageChunks?: Uint8Array[];
}

interface Outcome {
  samplesWritten: number;
  sampleDuplicates: number;
  /** Per series id: conflicting samples and the first conflicting timestamp. */
  sampleConflicts: Map<number, { count: number; firstTs: number }>;
  histogramDuplicates: number;
  histogramConflicts: Array<{ seriesIndex: number; ts: number }>;
}


function metadataSignature(m: DecodedMetadata): string {
  return JSON.stringify([m.type, m.help, m.unit]);
}

/** Carries an error of WriteOptions.prelude out of the transaction, so it is not retried or rewrapped. */
class PreludeFailed extends Error {
  constructor(cause: unknown) {
    super('write prelude failed', { cause });
  }
}

function isRetryable(error: unknown): boolean {
  const code = sqlStateOf(error);
  return code === SqlState.DEADLOCK_DETECTED || code === SqlState.SERIALIZATION_FAILURE;
}

export class PgIngestWriter implements IngestWriter {
  readonly #driver: Driver;
  readonly #partitions: PartitionManager;
  readonly #logger: Logger | undefined;
  readonly #seriesCacheSize: number;
  readonly #metadataCacheSize: number;
  readonly #tenants = new Map<number, TenantCaches>();

  constructor(driver: Driver, options: IngestWriterOptions) {
    this.#driver = driver;
    this.#partitions = options.partitions;
    this.#logger = options.logger;
    this.#seriesCacheSize = options.seriesCacheSize ?? 500_000;
    this.#metadataCacheSize = options.metadataCacheSize ?? 50_000;
  }

  /** The tenant's caches, kept in order of last write (most recent last) for the budget below. */
  #caches(tenant: number): TenantCaches {
    let c = this.#tenants.get(tenant);
    if (c) {
      this.#tenants.delete(tenant); // re-inserted below
    } else {
      c = { series: new GenerationalCache(this.#seriesCacheSize), metadata: new GenerationalCache(this.#metadataCacheSize) };
    }
    this.#tenants.set(tenant, c);
    return c;
  }

  /**
   * The series-cache size is one budget for all tenants together: when the caches add up to more, the
   * tenants that wrote longest ago lose theirs (they rebuild from the database on their next write).
   */
  #enforceSeriesBudget(tenant: number): void {
    let total = 0;
    for (const caches of this.#tenants.values()) total += caches.series.size;
    for (const [other, caches] of this.#tenants) {
      if (total <= this.#seriesCacheSize || other === tenant) break;
      total -= caches.series.size;
      this.#tenants.delete(other);
    }
  }

  /** Tenants whose caches are kept, least recently written first (tests, diagnostics). */
  get cachedTenants(): number[] {
    return [...this.#tenants.keys()];
  }

  /** Forgets every cached series id, activity day and metadata (after series or partitions were deleted). */
  clearCaches(): void {
    this.#tenants.clear();
  }

  async write(tenant: TenantId, req: DecodedWriteRequest, limits: WriteLimits, nowMs: number, options: WriteOptions = {}): Promise<IngestResult> {
    tenantLiteral(tenant);
    const caches = this.#caches(tenant);
    const describe = (i: number): string => {
      try {
        return formatLabels(sortLabels(req.labelsOf(i)));
      } catch {
        return `#${i} (labels unreadable)`;
      }
    };
    const rej = new Rejections(describe);
    const countsOf = (i: number) => ({ samples: req.series[i].sampleCount, histograms: req.series[i].histogramCount, exemplars: req.series[i].exemplarCount });

    // 1. Series.
    const n = req.series.length;
    const entries: (SeriesEntry | undefined)[] = new Array(n);
    const misses: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = req.series[i];
      if (s.error) {
        rej.series(i, s.error.reason, s.error.message, countsOf(i));
        continue;
      }
      const contents = checkSeriesContents(s, req.version);
      if (contents !== null) {
        const problem = contents === 'no_samples' ? 'a series needs at least one sample or histogram' : 'a remote-write 2.0 series must not carry both samples and histograms';
        rej.series(i, contents, `series ${describe(i)}: ${problem}`, countsOf(i));
        continue;
      }
      // A 1.0 series without samples or histograms is nothing to write (Prometheus does the same).
      if (s.sampleCount === 0 && s.histogramCount === 0) continue;
      const e = caches.series.get(s.key);
      if (e) entries[i] = e;
      else misses.push(i);
    }
    let seriesCreated = 0;
    if (misses.length > 0) {
      seriesCreated = await this.#resolveSeries(tenant, req, misses, entries, limits, rej, caches, countsOf);
      this.#enforceSeriesBudget(tenant);
    }

    // 2. Samples, histograms, exemplars, metadata.
    const plan = this.#plan(tenant, req, entries, limits, nowMs, rej, caches);
    const empty = plan.acceptedSamples === 0 && plan.histograms.length === 0 && plan.exemplars.length === 0 && plan.metadata.length === 0;
    let outcome: Outcome = { samplesWritten: 0, sampleDuplicates: 0, sampleConflicts: new Map(), histogramDuplicates: 0, histogramConflicts: [] };
    if (!empty) {
      // 3. Partitions for every day touched.
      await this.#partitions.ensure(this.#days(plan));
      // 4. The transaction.
      outcome = await this.#commit(plan, options.prelude);
      // 5. Caches, now that the rows exist.
      for (const a of plan.activity) if (a.day > a.entry.activeDay) a.entry.activeDay = a.day;
      for (const s of plan.startTimestamps.values()) s.entry.startTs = s.startTs;
      for (const m of plan.metadata) caches.metadata.set(m.metricFamilyName, metadataSignature(m));
    }

    // Conflicts found by the database become rejections.
    let conflictSamples = 0;
    if (outcome.sampleConflicts.size > 0) {
      const indexById = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const e = entries[i];
        if (e && !indexById.has(e.id)) indexById.set(e.id, i);
      }
      for (const [seriesId, c] of outcome.sampleConflicts) {
        conflictSamples += c.count;
        rej.item(indexById.get(seriesId) ?? 0, 'duplicate_sample_conflict', 'samples', c.count, () => `sample at ${isoTime(c.firstTs)} differs from the value already stored for that timestamp (the first value is kept)`);
      }
    }
    for (const c of outcome.histogramConflicts) {
      rej.item(c.seriesIndex, 'duplicate_sample_conflict', 'histograms', 1, () => `histogram at ${isoTime(c.ts)} differs from the one already stored for that timestamp (the first is kept)`);
    }

    return {
      written: {
        samples: plan.acceptedSamples - conflictSamples,
        histograms: plan.histograms.length + plan.histogramDuplicates - outcome.histogramConflicts.length,
        exemplars: plan.exemplars.length,
      },
      rejected: rej.list(),
      duplicates: outcome.sampleDuplicates + plan.histogramDuplicates + outcome.histogramDuplicates,
      seriesCreated,
    };
  }

  /** Decodes, validates and resolves the series the cache does not know; returns how many were created. */
  async #resolveSeries(
    tenant: number,
    req: DecodedWriteRequest,
    misses: number[],
    entries: (SeriesEntry | undefined)[],
    limits: WriteLimits,
    rej: Rejections,
    caches: TenantCaches,
    countsOf: (i: number) => { samples: number; histograms: number; exemplars: number },
  ): Promise<number> {
    const groups = new Map<string, { metricName: string; json: string; indexes: number[] }>();
    for (const i of misses) {
      let raw;
      try {
        raw = req.labelsOf(i);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        const reason = (typeof code === 'string' && code !== 'malformed_protobuf' ? code : 'invalid_utf8') as RejectReason;
        rej.series(i, reason, `series #${i}: ${(error as Error).message}`, countsOf(i));
        continue;
      }
      const v = validateSeriesLabels(raw, limits, req.version);
      if (!v.ok) {
        rej.series(i, v.rejection.reason, v.rejection.message, countsOf(i));
        continue;
      }
      const sorted = sortLabels(v.labels);
      if (hasNul(sorted)) {
        rej.series(i, 'invalid_utf8', `series ${formatLabels(sorted)}: a label contains U+0000, which cannot be stored`, countsOf(i));
        continue;
      }
      const hash = labelsHashHex(sorted);
      let g = groups.get(hash);
      if (!g) {
        g = { metricName: v.metricName, json: labelsJson(sorted), indexes: [] };
        groups.set(hash, g);
      }
      g.indexes.push(i);
    }
    if (groups.size === 0) return 0;

    const hashes = [...groups.keys()].sort();
    const ids = new Map<string, number>();
    let created = 0;
    try {
      await transaction(this.#driver, { tenant }, async (tx) => {
        const { rows } = await tx.query<{ id: string | number; h: string; created: boolean }>(RESOLVE_SERIES_SQL, [
          tenant,
          hashes,
          hashes.map((h) => groups.get(h)!.metricName),
          hashes.map((h) => groups.get(h)!.json),
        ]);
        for (const r of rows) {
          ids.set(r.h, Number(r.id));
          if (r.created) created++;
        }
        // Inserted concurrently by another transaction after this statement's snapshot: look again.
        const missing = hashes.filter((h) => !ids.has(h));
        if (missing.length > 0) {
          const again = await tx.query<{ id: string | number; h: string }>(SELECT_SERIES_SQL, [tenant, missing]);
          for (const r of again.rows) ids.set(r.h, Number(r.id));
        }
      });
    } catch (error) {
      throw wrapDbError(error, 'resolving series');
    }
    for (const [hash, g] of groups) {
      const id = ids.get(hash);
      if (id === undefined) throw wrapDbError(new Error(`series ${g.json} was neither inserted nor found`), 'resolving series');
      const entry: SeriesEntry = { id, activeDay: -Infinity, startTs: NaN };
      for (const i of g.indexes) {
        entries[i] = entry;
        caches.series.set(req.series[i].key, entry);
      }
    }
    return created;
  }

  /** Per-item checks; builds everything the transaction will write. */
  #plan(tenant: number, req: DecodedWriteRequest, entries: (SeriesEntry | undefined)[], limits: WriteLimits, nowMs: number, rej: Rejections, caches: TenantCaches): Plan {
    const cols = req.samples;
    const accepted = new Uint8Array(cols.length);
    let acceptedSamples = 0;
    let minTs = Infinity;
    let maxTs = -Infinity;
    const activity: Plan['activity'] = [];
    const activityKeys = new Set<string>();
    const startTimestamps: Plan['startTimestamps'] = new Map();

    const addActivity = (entry: SeriesEntry, day: number) => {
      if (day === entry.activeDay) return;
      const key = `${entry.id}:${day}`;
      if (activityKeys.has(key)) return;
      activityKeys.add(key);
      activity.push({ entry, day });
    };
    const addStart = (entry: SeriesEntry, startTs: number, ts: number) => {
      const key = `${entry.id}:${startTs}`;
      const known = startTimestamps.get(key);
      if (known) {
        if (ts < known.firstSeen) known.firstSeen = ts;
        // Keep insertion order = last seen last, so the cache ends on the latest start timestamp.
        startTimestamps.delete(key);
        startTimestamps.set(key, known);
      } else {
        startTimestamps.set(key, { entry, startTs, firstSeen: ts });
      }
    };

    for (let i = 0; i < req.series.length; i++) {
      const entry = entries[i];
      const s = req.series[i];
      if (!entry || s.sampleCount === 0) continue;
      let lastDay = NaN;
      let lastStart = entry.startTs;
      const end = s.sampleStart + s.sampleCount;
      for (let j = s.sampleStart; j < end; j++) {
        const ts = cols.timestamps[j];
        const bad = checkSampleTimestamp(ts, nowMs, limits);
        if (bad !== null) {
          rej.item(i, bad, 'samples', 1, () => `sample at ${isoTime(ts)}: ${reasonText(bad)}`);
          continue;
        }
        accepted[j] = 1;
        acceptedSamples++;
        if (ts < minTs) minTs = ts;
        if (ts > maxTs) maxTs = ts;
        const day = Math.floor(ts / DAY_MS);
        if (day !== lastDay) {
          lastDay = day;
          addActivity(entry, day);
        }
        const st = cols.startTimestamps[j];
        if (st !== 0 && st !== lastStart) {
          lastStart = st;
          addStart(entry, st, ts);
        }
      }
    }

    // Histograms: validated, checked, and de-duplicated within the request by (series, timestamp).
    const histograms: PendingHistogram[] = [];
    let histogramDuplicates = 0;
    const seenHistograms = new Map<string, Uint8Array>();
    for (const h of req.histograms) {
      const i = h.seriesIndex;
      const entry = entries[i];
      if (!entry) continue; // its series was refused, and counted there
      const invalid = validateHistogram(h);
      if (invalid) {
        rej.item(i, invalid.reason, 'histograms', 1, invalid.message);
        continue;
      }
      const bad = checkSampleTimestamp(h.timestamp, nowMs, limits);
      if (bad !== null) {
        rej.item(i, bad, 'histograms', 1, () => `histogram at ${isoTime(h.timestamp)}: ${reasonText(bad)}`);
        continue;
      }
      const key = `${entry.id}:${h.timestamp}`;
      const seen = seenHistograms.get(key);
      if (seen) {
        if (bytesEqual(seen, h.raw)) histogramDuplicates++;
        else rej.item(i, 'duplicate_sample_conflict', 'histograms', 1, () => `histogram at ${isoTime(h.timestamp)} appears twice in the request with different contents (the first is kept)`);
        continue;
      }
      seenHistograms.set(key, h.raw);
      histograms.push({ seriesIndex: i, seriesId: entry.id, ts: h.timestamp, startTs: h.startTimestamp, raw: h.raw });
      addActivity(entry, Math.floor(h.timestamp / DAY_MS));
      if (h.startTimestamp !== 0 && h.startTimestamp !== entry.startTs) addStart(entry, h.startTimestamp, h.timestamp);
    }

    const exemplars: PendingExemplar[] = [];
    for (const x of req.exemplars) {
      const i = x.seriesIndex;
      const entry = entries[i];
      if (!entry) continue;
      const invalid = validateExemplar(x);
      if (invalid) {
        rej.item(i, invalid.reason, 'exemplars', 1, invalid.message);
        continue;
      }
      const bad = checkSampleTimestamp(x.timestamp, nowMs, limits);
      if (bad !== null) {
        rej.item(i, bad, 'exemplars', 1, () => `exemplar at ${isoTime(x.timestamp)}: ${reasonText(bad)}`);
        continue;
      }
      if (hasNul(x.labels)) {
        rej.item(i, 'invalid_exemplar', 'exemplars', 1, () => `exemplar at ${isoTime(x.timestamp)}: a label contains U+0000, which cannot be stored`);
        continue;
      }
      exemplars.push({ seriesId: entry.id, ts: x.timestamp, value: x.value, labelsJson: labelsJson(sortLabels(x.labels)) });
      addActivity(entry, Math.floor(x.timestamp / DAY_MS));
    }

    // Metadata: the last entry per family wins; unchanged ones (per the cache) are skipped.
    const latest = new Map<string, DecodedMetadata>();
    for (const m of req.metadata) {
      if (!m.metricFamilyName || m.metricFamilyName.includes('\0') || m.help.includes('\0') || m.unit.includes('\0')) continue;
      latest.set(m.metricFamilyName, m);
    }
    const metadata: DecodedMetadata[] = [];
    for (const m of latest.values()) if (caches.metadata.get(m.metricFamilyName) !== metadataSignature(m)) metadata.push(m);

    return { tenant, req, entries, accepted, acceptedSamples, minTs, maxTs, histograms, histogramDuplicates, exemplars, activity, startTimestamps, metadata };
  }

  #days(plan: Plan): Set<number> {
    const days = new Set<number>();
    if (plan.acceptedSamples > 0) {
      const ts = plan.req.samples.timestamps;
      let last = NaN;
      for (let j = 0; j < ts.length; j++) {
        if (plan.accepted[j] === 0) continue;
        const d = Math.floor(ts[j] / DAY_MS);
        if (d !== last) {
          days.add(d);
          last = d;
        }
      }
    }
    for (const h of plan.histograms) days.add(Math.floor(h.ts / DAY_MS));
    for (const x of plan.exemplars) days.add(Math.floor(x.ts / DAY_MS));
    return days;
  }

  /** Runs the data transaction: COPY first; on a key conflict, again through the temp table. */
  async #commit(plan: Plan, prelude?: (tx: Tx) => Promise<void>): Promise<Outcome> {
    let staged = false;
    let repartitioned = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await transaction(this.#driver, { tenant: plan.tenant }, async (tx) => {
          if (prelude) {
            try {
              await prelude(tx);
            } catch (error) {
              throw new PreludeFailed(error);
            }
          }
          return this.#transact(tx, plan, staged);
        });
      } catch (error) {
        if (error instanceof CopyConflict && !staged) {
          staged = true;
          continue;
        }
        if (sqlStateOf(error) === SqlState.CHECK_VIOLATION && !repartitioned) {
          // "no partition of relation … found for row": a cached partition was dropped (retention).
          repartitioned = true;
          this.#partitions.forget();
          await this.#partitions.ensure(this.#days(plan));
          continue;
        }
        if (isRetryable(error) && attempt < MAX_TX_ATTEMPTS) {
          this.#logger?.warn('ingest transaction retried', { attempt, sqlState: sqlStateOf(error) });
          continue;
        }
        // The prelude's own refusal (e.g. the analyzer's FencedError) passes through unchanged.
        if (error instanceof PreludeFailed) throw error.cause instanceof TrimtabError ? error.cause : wrapDbError(error.cause, 'writing samples');
        throw wrapDbError(error, 'writing samples');
      }
    }
  }

  async #transact(tx: Tx, plan: Plan, staged: boolean): Promise<Outcome> {
    const tenant = plan.tenant;
    const outcome: Outcome = { samplesWritten: 0, sampleDuplicates: 0, sampleConflicts: new Map(), histogramDuplicates: 0, histogramConflicts: [] };

    if (plan.acceptedSamples > 0) {
      if (!staged) {
        plan.copyChunks ??= encodeSamples(plan, false);
        try {
          await tx.asOwner(() => tx.copyFrom('samples (tenant_id, series_id, ts, value)', plan.copyChunks!));
        } catch (error) {
          if (sqlStateOf(error) === SqlState.UNIQUE_VIOLATION) throw new CopyConflict('samples already stored', { cause: error });
          throw error;
        }
        outcome.samplesWritten = plan.acceptedSamples;
      } else {
        plan.stageChunks ??= encodeSamples(plan, true);
        await tx.query(CREATE_STAGE_SQL);
        await tx.copyFrom(`${STAGE_TABLE} (ord, series_id, ts, value)`, plan.stageChunks);
        const { rows } = await tx.query<{ inserted: number }>(INSERT_STAGED_SQL, [tenant]);
        const inserted = Number(rows[0].inserted);
        outcome.samplesWritten = inserted;
        if (inserted < plan.acceptedSamples) {
          const classified = await tx.query<{ series_id: string | number; same: number; differ: number; first_conflict_ts: string | number | null }>(CLASSIFY_STAGED_SQL, [tenant, plan.minTs, plan.maxTs]);
          let same = 0;
          for (const r of classified.rows) {
            same += Number(r.same);
            const differ = Number(r.differ);
            if (differ > 0) outcome.sampleConflicts.set(Number(r.series_id), { count: differ, firstTs: Number(r.first_conflict_ts) });
          }
          outcome.sampleDuplicates = same - inserted;
        }
      }
    }

    if (plan.histograms.length > 0) {
      const hs = plan.histograms;
      const { rows } = await tx.query<{ series_id: string | number; ts: string | number; same: boolean | null }>(INSERT_HISTOGRAMS_SQL, [
        tenant,
        hs.map((h) => h.seriesId),
        hs.map((h) => h.ts),
        hs.map((h) => h.startTs),
        hs.map((h) => hex(h.raw)),
      ]);
      if (rows.length > 0) {
        const byKey = new Map(hs.map((h) => [`${h.seriesId}:${h.ts}`, h]));
        for (const r of rows) {
          if (r.same === false) {
            const h = byKey.get(`${Number(r.series_id)}:${Number(r.ts)}`);
            outcome.histogramConflicts.push({ seriesIndex: h?.seriesIndex ?? 0, ts: Number(r.ts) });
          } else {
            outcome.histogramDuplicates++;
          }
        }
      }
    }

    if (plan.exemplars.length > 0) {
      const xs = plan.exemplars;
      await tx.query(INSERT_EXEMPLARS_SQL, [tenant, xs.map((x) => x.seriesId), xs.map((x) => x.ts), xs.map((x) => float8Text(x.value)), xs.map((x) => x.labelsJson)]);
    }

    if (plan.activity.length > 0) {
      await tx.query(INSERT_ACTIVITY_SQL, [tenant, plan.activity.map((a) => a.entry.id), plan.activity.map((a) => a.day)]);
    }

    if (plan.startTimestamps.size > 0) {
      const st = [...plan.startTimestamps.values()];
      await tx.query(INSERT_START_TS_SQL, [tenant, st.map((s) => s.entry.id), st.map((s) => s.startTs), st.map((s) => s.firstSeen)]);
    }

    if (plan.metadata.length > 0) {
      const ms = plan.metadata;
      await tx.query(UPSERT_METADATA_SQL, [tenant, ms.map((m) => m.metricFamilyName), ms.map((m) => m.type), ms.map((m) => m.help), ms.map((m) => m.unit)]);
    }
    return outcome;
  }
}

/**
 * Binary COPY rows for the accepted samples, values copied byte for byte, in ascending series id order
 * (each series' samples stay in request order). Concurrent transactions that insert the same keys (a
 * resend racing the original) then take row locks in the same order and cannot deadlock, and the
 * primary-key index is filled in key order. For `samples` the first column is tenant_id; for the stage
 * table it is the row's position, so of two values for one timestamp the first one wins.
 */
function encodeSamples(plan: Plan, staged: boolean): Uint8Array[] {
  const req = plan.req;
  const cols = req.samples;
  const total = plan.acceptedSamples * SAMPLE_ROW_BYTES + 64;
  const w = new CopyBinaryWriter({ chunkBytes: COPY_CHUNK_BYTES, firstChunkBytes: Math.min(total, COPY_CHUNK_BYTES) });
  const valueBytes = new Uint8Array(cols.values.buffer, cols.values.byteOffset, cols.values.byteLength);
  const accepted = plan.accepted;
  const entries = plan.entries;
  const ts = cols.timestamps;
  const tenant = plan.tenant;

  const order: number[] = [];
  let sorted = true;
  let lastId = -Infinity;
  for (let i = 0; i < req.series.length; i++) {
    const e = entries[i];
    if (!e || req.series[i].sampleCount === 0) continue;
    if (e.id < lastId) sorted = false;
    lastId = e.id;
    order.push(i);
  }
  if (!sorted) order.sort((a, b) => entries[a]!.id - entries[b]!.id); // stable: equal ids keep request order

  let row = 0;
  for (const i of order) {
    const id = entries[i]!.id;
    const s = req.series[i];
    const end = s.sampleStart + s.sampleCount;
    for (let j = s.sampleStart; j < end; j++) {
      if (accepted[j] === 0) continue;
      if (staged) {
        w.beginRow(STAGE_ROW_FIELDS, STAGE_ROW_BYTES);
        w.int4(row++);
      } else {
        w.beginRow(SAMPLE_ROW_FIELDS, SAMPLE_ROW_BYTES);
        w.int4(tenant);
      }
      w.int8(id);
      w.int8(ts[j]);
      w.float8From(valueBytes, j);
    }
  }
  return w.finish();
}
