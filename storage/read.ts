// Reading back: series by PromQL-style matchers (pushed down to SQL), samples as a binary COPY stream cut
// into bounded blocks, histograms, exemplars, label names/values and metadata. Every statement runs in a
// transaction scoped to the tenant (role trimtab_tenant + RLS), and also names tenant_id explicitly so
// the indexes are used.
//
// Time ranges select series through series_activity (which series had data on which UTC day), so a series
// is returned when it has data on a day overlapping [minT, maxT]: a superset at day granularity, like
// Prometheus selecting by block, and never a scan of samples.

import { CopyBinaryDecoder, copyFloat8, readInt8 } from './copy-binary.ts';
import { tenantLiteral, transaction, type Driver, type OpenTx, type Tx } from './driver.ts';
import { StorageError, wrapDbError } from './errors.ts';
import { compareLabels, labelsFromJson } from './labels.ts';
import { DAY_MS } from './partitions.ts';
import type { LabelMatcher, SampleBlock, SeriesReader, SeriesRef, StoredExemplar, StoredHistogram, StoredMetadata, TenantId } from './types.ts';

export const DEFAULT_PAGE_SAMPLES = 8192;
/** Series ids per COPY (pg) or per keyset query (PGlite). */
const SERIES_PER_QUERY = 5000;
/** Rows per query on PGlite, whose COPY TO returns the whole result at once. */
const PGLITE_PAGE_ROWS = 100_000;
/** Labels fetched per round trip when listing series. */
const SERIES_PAGE = 5000;
const HISTOGRAM_PAGE = 2000;
const EXEMPLAR_SERIES_PER_QUERY = 500;

const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;
const INT4_MIN = -(2 ** 31);
const INT4_MAX = 2 ** 31 - 1;

/** An int8 SQL literal for a time bound: ±Infinity and out-of-range values clamp. */
function int8Literal(v: number, round: 'ceil' | 'floor'): string {
  if (Number.isNaN(v)) throw new RangeError('time bound is NaN');
  if (v === -Infinity) return String(INT8_MIN);
  if (v === Infinity) return String(INT8_MAX);
  let b = BigInt(round === 'ceil' ? Math.ceil(v) : Math.floor(v));
  if (b < INT8_MIN) b = INT8_MIN;
  if (b > INT8_MAX) b = INT8_MAX;
  return String(b);
}

function dayBound(v: number, round: 'ceil' | 'floor'): number {
  if (Number.isNaN(v)) throw new RangeError('time bound is NaN');
  const d = Math.floor((round === 'ceil' ? Math.ceil(v) : Math.floor(v)) / DAY_MS);
  return Math.min(INT4_MAX, Math.max(INT4_MIN, Number.isFinite(d) ? d : v < 0 ? INT4_MIN : INT4_MAX));
}

/** Validated, de-duplicated, ascending series ids. */
function seriesIdList(ids: readonly number[]): number[] {
  const out = new Set<number>();
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id <= 0) throw new RangeError(`invalid series id ${id}`);
    out.add(id);
  }
  return [...out].sort((a, b) => a - b);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// --- matchers → SQL ---------------------------------------------------------------------------------------

const REGEX_META = /[\\.^$*+?()[\]{}|]/;

/** The literal alternatives of a regex made only of literals and '|' ("a|b|c"), else null. */
export function literalAlternatives(re: string): string[] | null {
  const parts = re.split('|');
  for (const p of parts) if (REGEX_META.test(p)) return null;
  return parts;
}

/** A PostgreSQL ARE anchored like Prometheus anchors its regexes: ^(?:re)$, embedded options kept first. */
export function anchoredRegex(re: string): string {
  const m = /^\(\?([a-z]+)\)/.exec(re);
  if (m) return `(?${m[1]})^(?:${re.slice(m[0].length)})$`;
  return `^(?:${re})$`;
}

export interface MatcherSql {
  conditions: string[];
  params: unknown[];
}

/**
 * SQL conditions on `s` (series) for the matchers; parameters are numbered from params.length + 1.
 * Semantics as PromQL: a missing label has the value "", so `x=""` means absent and `x!=""` present.
 */
export function matchersToSql(matchers: readonly LabelMatcher[], params: unknown[]): string[] {
  const conditions: string[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const contains: Record<string, string> = {};
  let containsUsed = false;
  for (const m of matchers) {
    if (m.type !== '=' && m.type !== '!=' && m.type !== '=~' && m.type !== '!~') throw new StorageError('invalid_matcher', `unknown matcher type ${JSON.stringify(m.type)}`);
    const isName = m.name === '__name__';
    const col = () => (isName ? 's.metric_name' : `coalesce(s.labels ->> ${p(m.name)}, '')`);
    if (m.type === '=' || m.type === '!=') {
      const eq = m.type === '=';
      if (m.value === '') {
        // Absent (=) or present (!=). A metric name is never empty.
        if (isName) conditions.push(eq ? 'false' : 'true');
        else conditions.push(`(s.labels ->> ${p(m.name)}) IS ${eq ? '' : 'NOT '}NULL`);
      } else if (eq && !isName) {
        if (m.name in contains && contains[m.name] !== m.value) conditions.push('false');
        contains[m.name] = m.value;
        containsUsed = true;
      } else {
        conditions.push(`${col()} ${eq ? '=' : '<>'} ${p(m.value)}`);
      }
      continue;
    }
    const positive = m.type === '=~';
    if (m.value === '.*') {
      if (!positive) conditions.push('false');
      continue;
    }
    if (m.value === '.+' && !isName) {
      conditions.push(`(s.labels ->> ${p(m.name)}) IS ${positive ? 'NOT ' : ''}NULL`);
      continue;
    }
    const literals = literalAlternatives(m.value);
    if (literals) {
      conditions.push(`${col()} ${positive ? '= ANY' : '<> ALL'} (${p(literals)}::text[])`);
    } else {
      conditions.push(`${col()} ${positive ? '~' : '!~'} ${p(anchoredRegex(m.value))}`);
    }
  }
  if (containsUsed) conditions.push(`s.labels @> ${p(JSON.stringify(contains))}::jsonb`);
  return conditions;
}

/** WHERE clause for series of a tenant matching matchers with activity in [minT, maxT]. */
function seriesWhere(tenant: number, matchers: readonly LabelMatcher[], minT: number, maxT: number): { where: string; params: unknown[] } {
  const params: unknown[] = [tenant, dayBound(minT, 'ceil'), dayBound(maxT, 'floor')];
  const conditions = [
    's.tenant_id = $1',
    'EXISTS (SELECT 1 FROM series_activity a WHERE a.tenant_id = $1 AND a.series_id = s.id AND a.day BETWEEN $2 AND $3)',
    ...matchersToSql(matchers, params),
  ];
  return { where: conditions.join('\n   AND '), params };
}

// --- samples: COPY stream → blocks --------------------------------------------------------------------------

/**
 * Turns the rows of samplesSelect (series by series: the series' chunks, then its raw rows) into
 * SampleBlocks of at most pageSamples, keeping only [minT, maxT]. A series' samples are gathered before
 * they go out: chunks hold whole days and, after a late write, a chunk of a later seq or a raw row may
 * repeat or precede what came before, so the series is sorted by time when needed and a repeated
 * timestamp keeps its first (earliest written) sample.
 */
class BlockBuilder {
  readonly #page: number;
  readonly #minT: number;
  readonly #maxT: number;
  readonly #ready: SampleBlock[] = [];
  #series = -1;
  #n = 0;
  #sorted = true;
  #ts = new Float64Array(256);
  #valueBytes = new Uint8Array(256 * 8);
  lastSeries = 0;
  /** The ordering key of the last row (raw: its ts; chunk: day and seq, see samplesSelect). */
  lastKind = 0;
  lastKey = 0;

  constructor(pageSamples: number, minT: number, maxT: number) {
    this.#page = pageSamples;
    this.#minT = minT;
    this.#maxT = maxT;
  }

  /** Tuple handler for CopyBinaryDecoder: series_id int8, kind int4, key int8, ts int8, value float8, cts bytea, cvals bytea. */
  readonly onTuple = (buf: Uint8Array, view: DataView, offsets: Int32Array, lengths: Int32Array, fieldCount: number): void => {
    if (fieldCount !== 7 || lengths[0] !== 8 || lengths[1] !== 4 || lengths[2] !== 8) throw new Error('unexpected row shape in samples COPY');
    const series = readInt8(view, offsets[0]);
    if (series !== this.#series) {
      this.flush();
      this.#series = series;
    }
    this.lastSeries = series;
    this.lastKind = view.getInt32(offsets[1]);
    this.lastKey = readInt8(view, offsets[2]);
    if (lengths[5]! >= 0) {
      this.#addChunk(buf, view, offsets[5]!, lengths[5]!, offsets[6]!, lengths[6]!);
    } else {
      if (lengths[3] !== 8 || lengths[4] !== 8) throw new Error('unexpected row shape in samples COPY');
      this.#add(readInt8(view, offsets[3]), buf, offsets[4]);
    }
  };

  #add(ts: number, buf: Uint8Array, valueOffset: number): void {
    if (ts < this.#minT || ts > this.#maxT) return;
    if (this.#n === this.#ts.length) this.#grow();
    if (this.#n > 0 && ts <= this.#ts[this.#n - 1]!) this.#sorted = false;
    this.#ts[this.#n] = ts;
    copyFloat8(buf, valueOffset, this.#valueBytes, this.#n);
    this.#n++;
  }

  /** A chunk: n int8 timestamps and n float8 values, big-endian, back to back (bytea fields). */
  #addChunk(buf: Uint8Array, view: DataView, tsAt: number, tsLength: number, valuesAt: number, valuesLength: number): void {
    if (tsLength !== valuesLength || tsLength % 8 !== 0) throw new Error('sample chunk with timestamps and values of different lengths');
    const n = tsLength / 8;
    for (let i = 0; i < n; i++) this.#add(readInt8(view, tsAt + i * 8), buf, valuesAt + i * 8);
  }

  #grow(): void {
    const ts = new Float64Array(this.#ts.length * 2);
    const bytes = new Uint8Array(ts.length * 8);
    ts.set(this.#ts);
    bytes.set(this.#valueBytes); // bytes: NaN payloads intact
    this.#ts = ts;
    this.#valueBytes = bytes;
  }

  /** Ends the current series (if any): sorts and de-duplicates it when needed and queues its blocks. */
  flush(): void {
    let n = this.#n;
    if (n === 0) {
      this.#sorted = true;
      return;
    }
    let ts = this.#ts.subarray(0, n);
    let values = new Float64Array(this.#valueBytes.buffer, 0, n);
    if (!this.#sorted) {
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ts[a]! - ts[b]! || a - b);
      const sortedTs = new Float64Array(n);
      const sortedValues = new Float64Array(n);
      const src = new Uint8Array(values.buffer, 0, n * 8);
      const dst = new Uint8Array(sortedValues.buffer);
      let m = 0;
      for (const i of order) {
        if (m > 0 && sortedTs[m - 1] === ts[i]) continue; // first written wins
        sortedTs[m] = ts[i]!;
        dst.set(src.subarray(i * 8, i * 8 + 8), m * 8);
        m++;
      }
      n = m;
      ts = sortedTs.subarray(0, n);
      values = sortedValues.subarray(0, n);
    }
    for (let from = 0; from < n; from += this.#page) {
      const to = Math.min(n, from + this.#page);
      // Copies (slice): the builder's buffers are reused for the next series.
      this.#ready.push({ seriesId: this.#series, timestamps: ts.slice(from, to), values: values.slice(from, to) });
    }
    this.#n = 0;
    this.#sorted = true;
  }

  take(): SampleBlock[] {
    return this.#ready.splice(0, this.#ready.length);
  }
}

/** Ordering key of a chunk row within its series: day, then seq (2^20 seqs per day is far beyond any). */
const CHUNK_KEY = (day: string, seq: string): string => `(${day}::bigint * 1048576 + ${seq})`;

/**
 * The samples of `ids` in [minT, maxT]: the compacted chunks of the days the range touches (kind 0,
 * keyed by day and seq), then the raw rows (kind 1, keyed by ts), per series. One statement, so one
 * snapshot: a compaction committing meanwhile cannot make a sample appear twice or not at all. `after`
 * continues a keyset page (PGlite) after the last row read.
 */
function samplesSelect(tenant: number, ids: readonly number[], minT: number, maxT: number, after?: { series: number; kind: number; key: number }, limit?: number): string {
  const lo = int8Literal(minT, 'ceil');
  const hi = int8Literal(maxT, 'floor');
  const t = tenantLiteral(tenant);
  const idList = `'{${ids.join(',')}}'::bigint[]`;
  const dayLo = Math.floor(Number(lo) / DAY_MS);
  const dayHi = Math.floor(Number(hi) / DAY_MS);
  const chunkDays = Number.isSafeInteger(dayLo) && Number.isSafeInteger(dayHi) ? `AND day BETWEEN ${Math.max(dayLo, INT4_MIN)} AND ${Math.min(dayHi, INT4_MAX)}` : '';
  let sql = `SELECT series_id, kind, key, ts, value, cts, cvals FROM (
      SELECT series_id, 0 AS kind, ${CHUNK_KEY('day', 'seq')} AS key, NULL::bigint AS ts, NULL::float8 AS value, ts AS cts, vals AS cvals
        FROM sample_chunks WHERE tenant_id = ${t} AND series_id = ANY (${idList}) ${chunkDays} AND max_ts >= ${lo} AND min_ts <= ${hi}
      UNION ALL
      SELECT series_id, 1, ts, ts, value, NULL, NULL
        FROM samples WHERE tenant_id = ${t} AND series_id = ANY (${idList}) AND ts BETWEEN ${lo} AND ${hi}
    ) rows`;
  if (after) sql += ` WHERE (series_id, kind, key) > (${after.series}, ${after.kind}, ${int8Literal(after.key, 'floor')})`;
  sql += ' ORDER BY series_id, kind, key';
  if (limit !== undefined) sql += ` LIMIT ${limit}`;
  return sql;
}

export interface SeriesReaderOptions {
  /** Rows per keyset query where COPY TO is not streamed (PGlite); default 100,000. */
  batchRows?: number;
}

export class PgSeriesReader implements SeriesReader {
  readonly #driver: Driver;
  readonly #batchRows: number;

  constructor(driver: Driver, options: SeriesReaderOptions = {}) {
    this.#driver = driver;
    this.#batchRows = options.batchRows ?? PGLITE_PAGE_ROWS;
  }

  async #scoped<T>(tenant: number, what: string, fn: (tx: Tx) => Promise<T>, indexReads = false): Promise<T> {
    tenantLiteral(tenant);
    try {
      return await transaction(this.#driver, { tenant, indexReads }, fn);
    } catch (error) {
      throw wrapDbError(error, what);
    }
  }

  async *selectSeries(tenant: TenantId, matchers: LabelMatcher[], minT: number, maxT: number): AsyncIterable<SeriesRef> {
    const { where, params } = seriesWhere(tenant, matchers, minT, maxT);
    const ids = await this.#scoped(tenant, 'selecting series', async (tx) => {
      const { rows } = await tx.query<{ id: string | number }>(`SELECT s.id FROM series s WHERE ${where} ORDER BY s.id`, params);
      return rows.map((r) => Number(r.id));
    });
    for (const page of chunks(ids, SERIES_PAGE)) {
      const rows = await this.#scoped(tenant, 'reading series labels', async (tx) => {
        const r = await tx.query<{ id: string | number; labels: unknown }>('SELECT id, labels FROM series WHERE tenant_id = $1 AND id = ANY ($2::bigint[]) ORDER BY id', [tenant, page]);
        return r.rows;
      });
      for (const r of rows) yield { id: Number(r.id), labels: labelsFromJson(r.labels) };
    }
  }

  async *readSamples(tenant: TenantId, seriesIds: number[], minT: number, maxT: number, pageSamples: number = DEFAULT_PAGE_SAMPLES): AsyncIterable<SampleBlock> {
    tenantLiteral(tenant);
    if (!Number.isSafeInteger(pageSamples) || pageSamples < 1) throw new RangeError(`pageSamples must be a positive integer, got ${pageSamples}`);
    const ids = seriesIdList(seriesIds);
    if (ids.length === 0 || minT > maxT) return;
    if (this.#driver.streamsCopyTo) {
      for (const group of chunks(ids, SERIES_PER_QUERY)) yield* this.#streamSamples(tenant, group, minT, maxT, pageSamples);
    } else {
      for (const group of chunks(ids, SERIES_PER_QUERY)) yield* this.#pagedSamples(tenant, group, minT, maxT, pageSamples);
    }
  }

  /** pg: one COPY per group of series, parsed as it arrives; the consumer's pace holds the stream back. */
  async *#streamSamples(tenant: number, ids: number[], minT: number, maxT: number, pageSamples: number): AsyncIterable<SampleBlock> {
    let tx: OpenTx;
    try {
      tx = await this.#driver.begin({ tenant, indexReads: true });
    } catch (error) {
      throw wrapDbError(error, 'reading samples');
    }
    const blocks = new BlockBuilder(pageSamples, minT, maxT);
    const decoder = new CopyBinaryDecoder(blocks.onTuple);
    let ok = false;
    try {
      try {
        for await (const chunk of tx.copyTo(samplesSelect(tenant, ids, minT, maxT))) {
          decoder.push(chunk);
          const ready = blocks.take();
          for (const b of ready) yield b;
        }
        decoder.end();
      } catch (error) {
        throw wrapDbError(error, 'reading samples');
      }
      blocks.flush();
      for (const b of blocks.take()) yield b;
      ok = true;
    } finally {
      if (ok) await tx.commit().catch(() => tx.rollback());
      else await tx.rollback();
    }
  }

  /** PGlite: COPY TO returns everything at once, so read keyset pages of bounded size. */
  async *#pagedSamples(tenant: number, ids: number[], minT: number, maxT: number, pageSamples: number): AsyncIterable<SampleBlock> {
    const blocks = new BlockBuilder(pageSamples, minT, maxT);
    let after: { series: number; kind: number; key: number } | undefined;
    for (;;) {
      const decoder = new CopyBinaryDecoder(blocks.onTuple);
      await this.#scoped(
        tenant,
        'reading samples',
        async (tx) => {
          for await (const chunk of tx.copyTo(samplesSelect(tenant, ids, minT, maxT, after, this.#batchRows))) decoder.push(chunk);
          decoder.end();
        },
        true,
      );
      // Blocks may continue across pages: only the completed ones go out now.
      const rows = decoder.tuples;
      if (rows < this.#batchRows) {
        blocks.flush();
        for (const b of blocks.take()) yield b;
        return;
      }
      for (const b of blocks.take()) yield b;
      after = { series: blocks.lastSeries, kind: blocks.lastKind, key: blocks.lastKey };
    }
  }

  async *readHistograms(tenant: TenantId, seriesIds: number[], minT: number, maxT: number): AsyncIterable<StoredHistogram> {
    const ids = seriesIdList(seriesIds);
    if (ids.length === 0 || minT > maxT) return;
    const lo = int8Literal(minT, 'ceil');
    const hi = int8Literal(maxT, 'floor');
    for (const group of chunks(ids, SERIES_PER_QUERY)) {
      let afterSeries = 0;
      let afterTs = String(INT8_MIN);
      for (;;) {
        const rows = await this.#scoped(tenant, 'reading histograms', async (tx) => {
          const r = await tx.query<{ series_id: string | number; ts: string | number; start_ts: string | number; raw: Uint8Array }>(
            `SELECT series_id, ts, start_ts, raw FROM histograms
              WHERE tenant_id = $1 AND series_id = ANY ($2::bigint[]) AND ts BETWEEN $3::bigint AND $4::bigint
                AND (series_id, ts) > ($5::bigint, $6::bigint)
              ORDER BY series_id, ts LIMIT ${HISTOGRAM_PAGE}`,
            [tenant, group, lo, hi, afterSeries, afterTs],
          );
          return r.rows;
        });
        for (const r of rows) {
          yield { seriesId: Number(r.series_id), timestamp: Number(r.ts), startTimestamp: Number(r.start_ts), raw: new Uint8Array(r.raw) };
        }
        if (rows.length < HISTOGRAM_PAGE) break;
        const last = rows[rows.length - 1];
        afterSeries = Number(last.series_id);
        afterTs = String(last.ts);
      }
    }
  }

  async *readExemplars(tenant: TenantId, seriesIds: number[], minT: number, maxT: number): AsyncIterable<StoredExemplar> {
    const ids = seriesIdList(seriesIds);
    if (ids.length === 0 || minT > maxT) return;
    const lo = int8Literal(minT, 'ceil');
    const hi = int8Literal(maxT, 'floor');
    for (const group of chunks(ids, EXEMPLAR_SERIES_PER_QUERY)) {
      const rows = await this.#scoped(tenant, 'reading exemplars', async (tx) => {
        const r = await tx.query<{ series_id: string | number; ts: string | number; v: Uint8Array; labels: unknown }>(
          `SELECT series_id, ts, float8send(value) AS v, labels FROM exemplars
            WHERE tenant_id = $1 AND series_id = ANY ($2::bigint[]) AND ts BETWEEN $3::bigint AND $4::bigint
            ORDER BY series_id, ts, value`,
          [tenant, group, lo, hi],
        );
        return r.rows;
      });
      for (const r of rows) {
        const v = new Uint8Array(8);
        copyFloat8(r.v, 0, v, 0);
        yield { seriesId: Number(r.series_id), timestamp: Number(r.ts), value: new Float64Array(v.buffer)[0], labels: labelsFromJson(r.labels) };
      }
    }
  }

  async labelNames(tenant: TenantId, matchers: LabelMatcher[], minT: number, maxT: number): Promise<string[]> {
    const { where, params } = seriesWhere(tenant, matchers, minT, maxT);
    const rows = await this.#scoped(tenant, 'listing label names', async (tx) => {
      const r = await tx.query<{ k: string }>(`SELECT DISTINCT k FROM series s CROSS JOIN LATERAL jsonb_object_keys(s.labels) AS k WHERE ${where}`, params);
      return r.rows;
    });
    return rows.map((r) => r.k).sort(compareStrings);
  }

  async labelValues(tenant: TenantId, name: string, matchers: LabelMatcher[], minT: number, maxT: number): Promise<string[]> {
    const { where, params } = seriesWhere(tenant, matchers, minT, maxT);
    let sql: string;
    if (name === '__name__') {
      sql = `SELECT DISTINCT s.metric_name AS v FROM series s WHERE ${where}`;
    } else {
      params.push(name);
      sql = `SELECT DISTINCT s.labels ->> $${params.length} AS v FROM series s WHERE ${where} AND (s.labels ->> $${params.length}) IS NOT NULL`;
    }
    const rows = await this.#scoped(tenant, 'listing label values', async (tx) => (await tx.query<{ v: string }>(sql, params)).rows);
    return rows.map((r) => r.v).sort(compareStrings);
  }

  async metadata(tenant: TenantId, metric?: string): Promise<StoredMetadata[]> {
    const rows = await this.#scoped(tenant, 'reading metadata', async (tx) => {
      const r = await tx.query<{ metric_family_name: string; type: number; help: string; unit: string }>(
        `SELECT metric_family_name, type, help, unit FROM metric_metadata
          WHERE tenant_id = $1 AND ($2::text IS NULL OR metric_family_name = $2)`,
        [tenant, metric ?? null],
      );
      return r.rows;
    });
    return rows
      .map((r) => ({ metricFamilyName: r.metric_family_name, type: Number(r.type), help: r.help, unit: r.unit }))
      .sort((a, b) => compareStrings(a.metricFamilyName, b.metricFamilyName));
  }
}

/** UTF-8 byte order, as Prometheus sorts names and values. */
function compareStrings(a: string, b: string): number {
  return compareLabels({ name: a, value: '' }, { name: b, value: '' });
}

