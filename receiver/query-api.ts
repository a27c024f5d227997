// The Prometheus HTTP query API, tenant by tenant: what Grafana's Prometheus data source and other API
// clients speak. Same authentication as ingest (the token decides the tenant); every read goes through
// storage's tenant-scoped reader, so a tenant sees only its own series.
//
//   GET|POST /api/v1/query               instant query        (query, time, timeout, limit, lookback_delta, stats)
//   GET|POST /api/v1/query_range         range query          (query, start, end, step, timeout, limit, lookback_delta, stats)
//   GET|POST /api/v1/series              series by match[]    (match[]…, start, end, limit)
//   GET|POST /api/v1/labels              label names          (match[]…, start, end, limit)
//   GET      /api/v1/label/<name>/values label values         (match[]…, start, end, limit)
//   GET      /api/v1/metadata            metric metadata      (metric, limit, limit_per_metric)
//   GET      /api/v1/status/buildinfo    build information
//   GET|POST /api/v1/format_query        the query pretty-printed as Prometheus does (format.ts)
//
// Answers use Prometheus's JSON envelope ({status, data, errorType, error, warnings, infos}) and its
// status codes: 400 bad_data, 422 execution, 503 timeout, 499 canceled, 500 internal; 503 unavailable
// (with Retry-After) when the database cannot be reached. Parameters are parsed as Prometheus parses them
// (web/api/v1/api.go): times as RFC 3339 or float unix seconds, durations as Prometheus durations or float
// seconds, form-encoded POST bodies merged with the URL's parameters (body first, as Go's r.Form).

import type Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from '../lib/log.ts';
import { TrimtabError } from '../protocol/errors.ts';
import type { LabelMatcher, Storage, Tenant } from '../storage/types.ts';
import type { Expr, VectorSelector } from '../promql/ast.ts';
import { DEFAULT_LOOKBACK_DELTA, DEFAULT_MAX_SAMPLES, DEFAULT_TIMEOUT, Engine, type QueryResult } from '../promql/engine.ts';
import { ParseError, PromQLError } from '../promql/errors.ts';
import { statusForApiError, type ApiErrorType } from './errors.ts';
import { formatQuery } from '../promql/format.ts';
import { compareLabels, compareStrings, compileMatcher, isValidLabelName } from '../promql/labels.ts';
import { parseDuration as parsePromDuration } from '../promql/lexer.ts';
import { parse } from '../promql/parse.ts';
import { StorageQueryable } from '../promql/storage-queryable.ts';
import { toApiData, type QueryValue } from '../promql/value.ts';
import type { Authenticator } from './auth.ts';
import { readBody } from './body.ts';

export interface QueryEngineLimits {
  /** Samples a query may hold in memory (Prometheus --query.max-samples). Default 50,000,000. */
  maxSamples: number;
  /** Longest a query may run, ms (Prometheus --query.timeout); a request's `timeout` can only shorten it. Default 2m. */
  timeoutMs: number;
  /** Lookback of instant selectors, ms (Prometheus --query.lookback-delta). Default 5m. */
  lookbackDeltaMs: number;
}

export const DEFAULT_QUERY_LIMITS: QueryEngineLimits = {
  maxSamples: DEFAULT_MAX_SAMPLES,
  timeoutMs: DEFAULT_TIMEOUT,
  lookbackDeltaMs: DEFAULT_LOOKBACK_DELTA,
};

/** Go's http.Request.ParseForm reads at most 10 MB of a form body. */
export const DEFAULT_MAX_FORM_BYTES = 10 << 20;

/** Prometheus refuses range queries with more points than this per series. */
export const MAX_POINTS_PER_SERIES = 11_000;

/** The Prometheus version whose query API and PromQL semantics Trimtab implements (buildinfo `version`). */
export const PROMETHEUS_COMPATIBLE_VERSION = '3.0.0';

export interface QueryApiOptions {
  storage: Storage;
  auth: Authenticator;
  logger: Logger;
  /** Trimtab's version, reported in buildinfo. */
  version: string;
  limits?: Partial<QueryEngineLimits>;
  maxFormBytes?: number;
  now?: () => number;
}

// --- errors ---------------------------------------------------------------------------------------------


/** An error answered in the JSON envelope. */
export class ApiError extends TrimtabError {
  readonly errorType: ApiErrorType;
  constructor(errorType: ApiErrorType, message: string, options?: { cause?: unknown }) {
    super(`query_api_${errorType}`, message, options);
    this.errorType = errorType;
  }
}


function invalidParam(name: string, detail: string | Error): ApiError {
  const message = typeof detail === 'string' ? detail : detail.message;
  return new ApiError('bad_data', `invalid parameter ${JSON.stringify(name)}: ${message}`, { cause: typeof detail === 'string' ? undefined : detail });
}

function causeChain(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = error; e !== undefined && e !== null && out.length < 10; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/** The envelope error for anything a handler throws; null for errors the app's own middleware answers (401…). */
function toApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  const unavailable = causeChain(error).find((e) => e instanceof TrimtabError && e.code === 'storage_unavailable');
  if (unavailable) return new ApiError('unavailable', (unavailable as Error).message, { cause: error });
  // A regular expression PostgreSQL cannot compile is the query's fault.
  const badMatcher = causeChain(error).find((e) => e instanceof TrimtabError && e.code === 'invalid_matcher');
  if (badMatcher) return new ApiError('bad_data', (badMatcher as Error).message, { cause: error });
  if (error instanceof PromQLError) return new ApiError(error.errorType, error.message, { cause: error });
  if (error instanceof TrimtabError && error.name === 'ReceiverError') return null;
  return new ApiError('internal', error instanceof Error ? error.message : String(error), { cause: error });
}

// --- parameters -----------------------------------------------------------------------------------------

/** Request parameters as Go's r.Form: a form-encoded body's values first, then the URL's. */
export class Params {
  readonly #body: URLSearchParams | null;
  readonly #query: URLSearchParams;
  constructor(query: URLSearchParams, body: URLSearchParams | null) {
    this.#query = query;
    this.#body = body;
  }
  /** The first value, or '' (r.FormValue). */
  get(name: string): string {
    return this.all(name)[0] ?? '';
  }
  all(name: string): string[] {
    return [...(this.#body?.getAll(name) ?? []), ...this.#query.getAll(name)];
  }
}

async function readParams(ctx: Koa.Context, maxFormBytes: number): Promise<Params> {
  const query = new URLSearchParams(ctx.querystring);
  if (ctx.method !== 'POST') return new Params(query, null);
  const type = (ctx.get('content-type') || '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    ctx.req.resume(); // Go's ParseForm ignores other bodies
    return new Params(query, null);
  }
  const body = await readBody(ctx.req, maxFormBytes).catch((error: unknown) => {
    throw new ApiError('bad_data', `error parsing form values: ${(error as Error).message}`, { cause: error });
  });
  return new Params(query, new URLSearchParams(body.toString('utf8')));
}

// Go's strconv.ParseFloat for decimal input (hex floats and digit separators are not accepted here).
const FLOAT_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_FLOAT_RE = /^[+-]?(?:inf|infinity|nan)$/i;

function parseGoFloat(s: string): number | null {
  if (FLOAT_RE.test(s)) return Number(s);
  if (SPECIAL_FLOAT_RE.test(s)) return /nan/i.test(s) ? NaN : s.startsWith('-') ? -Infinity : Infinity;
  return null;
}

/** The times Prometheus uses for "no bound" (and accepts back in their RFC 3339 form). */
const MIN_TIME_FORMATTED = '-292273086-05-16T16:47:06Z';
const MAX_TIME_FORMATTED = '292277025-08-18T07:12:54.999999999Z';

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Prometheus's parseTime: float unix seconds (rounded to ms) or RFC 3339; in ms. ±Infinity for its min/max times. */
export function parseTime(s: string): number {
  const f = parseGoFloat(s);
  if (f !== null) {
    if (!Number.isFinite(f) || Math.abs(f) > 9.2e15) throw new Error(`cannot parse ${JSON.stringify(s)} to a valid timestamp`);
    const whole = Math.trunc(f);
    const frac = Math.round((f - whole) * 1000);
    return whole * 1000 + frac;
  }
  const m = RFC3339_RE.exec(s);
  if (m) {
    const [, y, mo, d, h, mi, sec, frac, , sign, oh, om] = m;
    const month = Number(mo);
    const day = Number(d);
    const hour = Number(h);
    const minute = Number(mi);
    const second = Number(sec);
    const daysInMonth = new Date(Date.UTC(Number(y), month, 0)).getUTCDate();
    const valid = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59 && Number(oh ?? 0) <= 23 && Number(om ?? 0) <= 59;
    if (valid) {
      let ms = Date.UTC(Number(y), month - 1, day, hour, minute, second);
      if (frac) ms += Number(frac.padEnd(9, '0').slice(0, 3)); // timestamp.FromTime truncates to ms
      if (sign) ms -= (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
      return ms;
    }
  }
  if (s === MIN_TIME_FORMATTED) return -Infinity;
  if (s === MAX_TIME_FORMATTED) return Infinity;
  throw new Error(`cannot parse ${JSON.stringify(s)} to a valid timestamp`);
}

/** Prometheus's parseTimeParam: an optional time, with its error wording. */
function timeParam(params: Params, name: string, fallback: number): number {
  const v = params.get(name);
  if (v === '') return fallback;
  try {
    return parseTime(v);
  } catch (error) {
    throw invalidParam(name, `Invalid time value for '${name}': ${(error as Error).message}`);
  }
}

/** A required time (query_range's start and end), parsed without parseTimeParam's wording. */
function requiredTime(params: Params, name: string): number {
  const v = params.get(name);
  let t: number;
  try {
    t = parseTime(v);
  } catch (error) {
    throw invalidParam(name, error as Error);
  }
  if (!Number.isFinite(t)) throw invalidParam(name, `cannot parse ${JSON.stringify(v)} to a valid timestamp`);
  return t;
}

/** Prometheus's parseDuration: float seconds or a Prometheus duration ("5m", "1h30m"); in ms (may be fractional). */
export function parseDuration(s: string): number {
  const f = parseGoFloat(s);
  if (f !== null) {
    const ns = f * 1e9;
    if (Number.isNaN(f) || ns > 9223372036854775807 || ns < -9223372036854775808) {
      throw new Error(`cannot parse ${JSON.stringify(s)} to a valid duration. It overflows int64`);
    }
    return Math.trunc(ns) / 1e6;
  }
  try {
    return parsePromDuration(s);
  } catch {
    throw new Error(`cannot parse ${JSON.stringify(s)} to a valid duration`);
  }
}

/** Prometheus's parseLimitParam: '' is 0 (no limit). */
function limitParam(params: Params): number {
  const s = params.get('limit');
  if (s === '') return 0;
  if (!/^[+-]?\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw invalidParam('limit', `strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (n < 0) throw invalidParam('limit', 'limit must be non-negative');
  return n;
}

// Errors Prometheus finds when it creates a query (parse and type errors) are bad_data. Prometheus 2.42,
// the reference, names the parameter for instant queries ('invalid parameter "query": 1:5: parse error:
// …') but not for range queries ('1:5: parse error: …'); Trimtab answers the same.

/** Runs the engine; its bad_data errors are query-creation errors. */
async function evaluate(run: () => Promise<QueryResult>, nameParam: boolean): Promise<QueryResult> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof PromQLError && error.errorType === 'bad_data') throw nameParam ? invalidParam('query', error) : new ApiError('bad_data', error.message, { cause: error });
    throw error;
  }
}

function parseQuery(params: Params, nameParam = true): Expr {
  try {
    return parse(params.get('query'));
  } catch (error) {
    if (error instanceof PromQLError) throw nameParam ? invalidParam('query', error) : new ApiError('bad_data', error.message, { cause: error });
    throw error;
  }
}

/** Prometheus's parseMatchersParam: each match[] a series selector; every set needs a matcher that rejects "". */
export function parseMatchersParam(values: string[]): LabelMatcher[][] {
  const sets: LabelMatcher[][] = [];
  for (const v of values) {
    let expr: Expr;
    try {
      expr = parse(v);
    } catch (error) {
      // Prometheus parses match[] without the AST check that refuses such selectors, then refuses them
      // itself, below, with its own message.
      if (error instanceof ParseError && error.detail === 'vector selector must contain at least one non-empty matcher') {
        throw new ApiError('bad_data', 'match[] must contain at least one non-empty matcher');
      }
      if (error instanceof PromQLError) throw invalidParam('match[]', error);
      throw error;
    }
    if (expr.type !== 'VectorSelector' || expr.offset !== 0 || expr.at !== null) {
      const pos = expr.type === 'VectorSelector' ? (expr as VectorSelector).pos.end : 0;
      throw invalidParam('match[]', new ParseError(v, pos, pos, `expected a series selector such as 'up{job="x"}'`));
    }
    sets.push(expr.matchers);
  }
  for (const set of sets) {
    if (!set.some((m) => !compileMatcher(m).matches(''))) throw new ApiError('bad_data', 'match[] must contain at least one non-empty matcher');
  }
  return sets;
}

/** model.UnescapeName with ValueEncodingEscaping ("U__" names), as Prometheus 3 does for label names in paths. */
export function unescapeName(name: string): string {
  if (!name.startsWith('U__')) return name;
  const escaped = Buffer.from(name.slice(3), 'utf8');
  const out: number[] = [];
  const push = (cp: number) => out.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
  for (let i = 0; i < escaped.length; i++) {
    if (escaped[i] !== 0x5f) {
      out.push(escaped[i]!);
      continue;
    }
    i++;
    if (i >= escaped.length) return name;
    if (escaped[i] === 0x5f) {
      out.push(0x5f);
      continue;
    }
    let cp = 0;
    let closed = false;
    for (let j = 0; i < escaped.length; j++, i++) {
      if (j >= 6) return name;
      const c = escaped[i]!;
      if (c === 0x5f) {
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return name;
        push(cp);
        closed = true;
        break;
      }
      const h = String.fromCharCode(c).toLowerCase();
      if (!/^[0-9a-f]$/.test(h)) return name;
      cp = cp * 16 + parseInt(h, 16);
    }
    if (!closed) return name;
  }
  return Buffer.from(out).toString('utf8');
}

// --- responses ------------------------------------------------------------------------------------------

interface Envelope {
  status: 'success' | 'error';
  data?: unknown;
  errorType?: string;
  error?: string;
  warnings?: string[];
  infos?: string[];
}

function respond(ctx: Koa.Context, status: number, body: Envelope): void {
  if (body.warnings && body.warnings.length === 0) delete body.warnings;
  if (body.infos && body.infos.length === 0) delete body.infos;
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

export function success(ctx: Koa.Context, data: unknown, warnings: string[] = [], infos: string[] = []): void {
  respond(ctx, 200, { status: 'success', data, warnings, infos });
}

const TRUNCATED = 'results truncated due to limit';

/** Truncates a vector or matrix result to `limit` series (Prometheus 3's query `limit`). */
function truncateResult(value: QueryValue, limit: number): boolean {
  if (limit <= 0) return false;
  if ((value.resultType === 'vector' || value.resultType === 'matrix') && value.result.length > limit) {
    value.result.length = limit;
    return true;
  }
  return false;
}

const METRIC_TYPES = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'];

// --- the API ----------------------------------------------------------------------------------------------

export type Handler = (ctx: Koa.Context, tenant: Tenant, params: Params, signal: AbortSignal) => Promise<void>;

/** An endpoint served with the query API's authentication, parameters and error envelope. */
export type ApiRoute = [path: string, methods: string[], name: string, handler: Handler];

/**
 * Registers the query API on `router` and returns its paths (in the router's syntax, e.g.
 * '/api/v1/label/:name/values') with the methods each accepts.
 */
export function registerQueryApi(router: Router, options: QueryApiOptions, extraRoutes: readonly ApiRoute[] = []): Record<string, string[]> {
  const { storage, auth, logger } = options;
  const limits: QueryEngineLimits = { ...DEFAULT_QUERY_LIMITS, ...options.limits };
  for (const [k, v] of Object.entries(limits)) if (!(typeof v === 'number' && v > 0)) throw new RangeError(`query limit ${k} must be a positive number, got ${v}`);
  const maxFormBytes = options.maxFormBytes ?? DEFAULT_MAX_FORM_BYTES;
  const now = options.now ?? Date.now;
  const defaultEngine = new Engine({ maxSamples: limits.maxSamples, timeout: limits.timeoutMs, lookbackDelta: limits.lookbackDeltaMs, nativeHistograms: true });
  const reader = storage.reader;

  /** The engine for a request: the configured one, or one with a shorter timeout (the `timeout` parameter). */
  const engineFor = (params: Params): Engine => {
    const to = params.get('timeout');
    if (to === '') return defaultEngine;
    let ms: number;
    try {
      ms = parseDuration(to);
    } catch (error) {
      throw invalidParam('timeout', error as Error);
    }
    // A deadline already past times out at once, as in Prometheus.
    ms = Math.max(1, Math.min(limits.timeoutMs, ms));
    if (ms === limits.timeoutMs) return defaultEngine;
    return new Engine({ maxSamples: limits.maxSamples, timeout: ms, lookbackDelta: limits.lookbackDeltaMs, nativeHistograms: true });
  };

  const lookbackFor = (params: Params): number | undefined => {
    const s = params.get('lookback_delta');
    if (s === '') return undefined;
    try {
      return parseDuration(s);
    } catch (error) {
      throw new ApiError('bad_data', `error parsing lookback delta duration: ${(error as Error).message}`);
    }
  };

  const queryData = (result: QueryResult, params: Params, limit: number): { data: Record<string, unknown>; warnings: string[] } => {
    const warnings = [...result.warnings];
    if (truncateResult(result.value, limit)) warnings.push(TRUNCATED);
    const data: Record<string, unknown> = { ...toApiData(result.value) };
    if (params.get('stats') !== '') {
      const seconds = result.stats.evalMs / 1000;
      data.stats = {
        timings: { evalTotalTime: seconds, resultSortTime: 0, queryPreparationTime: 0, innerEvalTime: seconds, execQueueTime: 0, execTotalTime: seconds },
        samples: { totalQueryableSamples: result.stats.samplesLoaded, peakSamples: result.stats.peakSamples },
      };
    }
    return { data, warnings };
  };

  const instantQuery: Handler = async (ctx, tenant, params, signal) => {
    const limit = limitParam(params);
    const time = timeParam(params, 'time', now());
    const engine = engineFor(params);
    const lookbackDelta = lookbackFor(params);
    const expr = parseQuery(params);
    const result = await evaluate(() => engine.instantQuery(new StorageQueryable(reader, tenant.id), expr, time, { signal, lookbackDelta }), true);
    const { data, warnings } = queryData(result, params, limit);
    success(ctx, data, warnings, result.infos);
  };

  const rangeQuery: Handler = async (ctx, tenant, params, signal) => {
    const limit = limitParam(params);
    const start = requiredTime(params, 'start');
    const end = requiredTime(params, 'end');
    if (end < start) throw invalidParam('end', 'end timestamp must not be before start time');
    let step: number;
    try {
      step = parseDuration(params.get('step'));
    } catch (error) {
      throw invalidParam('step', error as Error);
    }
    if (!(step > 0)) throw invalidParam('step', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
    // Go divides durations in integer nanoseconds.
    if (Math.floor(((end - start) * 1e6) / Math.round(step * 1e6)) > MAX_POINTS_PER_SERIES) {
      throw new ApiError('bad_data', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    }
    const engine = engineFor(params);
    const lookbackDelta = lookbackFor(params);
    const expr = parseQuery(params, false);
    // The engine steps in whole milliseconds (Prometheus's step is in ns, its timestamps in ms).
    const stepMs = Math.max(1, Math.round(step));
    const result = await evaluate(() => engine.rangeQuery(new StorageQueryable(reader, tenant.id), expr, start, end, stepMs, { signal, lookbackDelta }), false);
    const { data, warnings } = queryData(result, params, limit);
    success(ctx, data, warnings, result.infos);
  };

  /** start, end (default: unbounded), limit and the match[] sets of the metadata endpoints. */
  const selection = (params: Params, requireMatch: boolean) => {
    const matches = params.all('match[]');
    if (requireMatch && matches.length === 0) throw new ApiError('bad_data', 'no match[] parameter provided');
    const limit = limitParam(params);
    const start = timeParam(params, 'start', -Infinity);
    const end = timeParam(params, 'end', Infinity);
    const sets = parseMatchersParam(matches);
    return { limit, start, end, sets };
  };

  const series: Handler = async (ctx, tenant, params, signal) => {
    const { limit, start, end, sets } = selection(params, true);
    const seen = new Set<number>();
    const out: Array<{ labels: Array<{ name: string; value: string }> }> = [];
    for (const set of sets) {
      for await (const ref of reader.selectSeries(tenant.id, set, start, end)) {
        signal.throwIfAborted();
        if (seen.has(ref.id)) continue;
        seen.add(ref.id);
        out.push(ref);
      }
    }
    out.sort((a, b) => compareLabels(a.labels, b.labels));
    const warnings: string[] = [];
    if (limit > 0 && out.length > limit) {
      out.length = limit;
      warnings.push(TRUNCATED);
    }
    success(ctx, out.map((s) => Object.fromEntries(s.labels.map((l) => [l.name, l.value]))), warnings);
  };

  const union = (lists: string[][]): string[] => [...new Set(lists.flat())].sort(compareStrings);

  const truncated = (values: string[], limit: number): { values: string[]; warnings: string[] } =>
    limit > 0 && values.length > limit ? { values: values.slice(0, limit), warnings: [TRUNCATED] } : { values, warnings: [] };

  const labelNames: Handler = async (ctx, tenant, params) => {
    const { limit, start, end, sets } = selection(params, false);
    const lists = await Promise.all((sets.length > 0 ? sets : [[]]).map((set) => reader.labelNames(tenant.id, set, start, end)));
    const { values, warnings } = truncated(union(lists), limit);
    success(ctx, values, warnings);
  };

  const labelValues: Handler = async (ctx, tenant, params) => {
    const raw = String(ctx.params?.name ?? '');
    const name = unescapeName(raw);
    if (!isValidLabelName(name)) throw new ApiError('bad_data', `invalid label name: ${JSON.stringify(name)}`);
    const { limit, start, end, sets } = selection(params, false);
    const lists = await Promise.all((sets.length > 0 ? sets : [[]]).map((set) => reader.labelValues(tenant.id, name, set, start, end)));
    const { values, warnings } = truncated(union(lists), limit);
    success(ctx, values, warnings);
  };

  const metadata: Handler = async (ctx, tenant, params) => {
    const number = (name: string): number => {
      const s = params.get(name);
      if (s === '') return -1;
      if (!/^[+-]?\d+$/.test(s)) throw new ApiError('bad_data', `${name} must be a number`);
      return Number(s);
    };
    const limit = number('limit');
    const limitPerMetric = number('limit_per_metric');
    const metric = params.get('metric');
    const rows = await reader.metadata(tenant.id, metric === '' ? undefined : metric);
    const data: Record<string, Array<{ type: string; help: string; unit: string }>> = {};
    let families = 0;
    for (const r of rows) {
      if (!(r.metricFamilyName in data)) {
        if (limit >= 0 && families >= limit) break;
        data[r.metricFamilyName] = [];
        families++;
      }
      const list = data[r.metricFamilyName]!;
      if (limitPerMetric > 0 && list.length >= limitPerMetric) continue;
      list.push({ type: METRIC_TYPES[r.type] ?? 'unknown', help: r.help, unit: r.unit });
    }
    success(ctx, data);
  };

  const buildinfo: Handler = async (ctx) => {
    success(ctx, {
      version: PROMETHEUS_COMPATIBLE_VERSION,
      revision: options.version,
      branch: 'trimtab',
      buildUser: 'trimtab',
      buildDate: '',
      goVersion: `node${process.versions.node}`,
      application: 'trimtab',
      trimtabVersion: options.version,
    });
  };

  const format: Handler = async (ctx, _tenant, params) => {
    success(ctx, formatQuery(parseQuery(params)));
  };

  /** Authentication, parameters, cancellation when the client goes away, and the error envelope. */
  const wrap = (name: string, handler: Handler): Koa.Middleware => async (ctx) => {
    const tenant = await auth.authenticate(ctx.get('authorization') || undefined);
    const controller = new AbortController();
    const onClose = (): void => {
      if (!ctx.res.writableFinished) controller.abort(new Error('the client closed the connection'));
    };
    ctx.res.once('close', onClose);
    const began = Date.now();
    try {
      const params = await readParams(ctx, maxFormBytes);
      await handler(ctx, tenant, params, controller.signal);
      logger.debug('query api', { endpoint: name, tenant: tenant.name, ms: Date.now() - began });
    } catch (error) {
      const apiError = toApiError(controller.signal.aborted && !(error instanceof PromQLError) ? new ApiError('canceled', 'the client closed the connection', { cause: error }) : error);
      if (!apiError) throw error;
      const status = statusForApiError(apiError.errorType);
      if (apiError.errorType === 'unavailable') ctx.set('Retry-After', '1');
      if (!ctx.req.complete) ctx.set('Connection', 'close');
      const message = status === 500 ? 'internal error' : apiError.message;
      respond(ctx, status, { status: 'error', errorType: apiError.errorType, error: message });
      const fields = { endpoint: name, tenant: tenant.name, status, errorType: apiError.errorType, ms: Date.now() - began };
      if (status === 500) logger.error('query failed', { ...fields, error: apiError.cause ?? apiError });
      else logger.info('query refused', { ...fields, reason: apiError.message });
    } finally {
      ctx.res.off('close', onClose);
    }
  };

  const routes: ApiRoute[] = [
    ['/api/v1/query', ['GET', 'POST'], 'query', instantQuery],
    ['/api/v1/query_range', ['GET', 'POST'], 'query_range', rangeQuery],
    ['/api/v1/series', ['GET', 'POST'], 'series', series],
    ['/api/v1/labels', ['GET', 'POST'], 'labels', labelNames],
    ['/api/v1/label/:name/values', ['GET'], 'label_values', labelValues],
    ['/api/v1/metadata', ['GET'], 'metadata', metadata],
    ['/api/v1/status/buildinfo', ['GET'], 'buildinfo', buildinfo],
    ['/api/v1/format_query', ['GET', 'POST'], 'format_query', format],
    ...extraRoutes,
  ];
  const allowed: Record<string, string[]> = {};
  for (const [path, methods, name, handler] of routes) {
    const middleware = wrap(name, handler);
    for (const m of methods) {
      if (m === 'GET') router.get(path, middleware);
      else router.post(path, middleware);
    }
    allowed[path] = methods;
  }
  return allowed;
}
