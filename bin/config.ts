// Configuration: an explicit flag wins, then the environment variable, then the documented default
// (the order opentelemetry-js uses). Everything is validated once at start; an error names the key.

import { TrimtabError } from '../protocol/errors.ts';
import { fileURLToPath } from 'node:url';
import { parseDuration, formatDuration } from './duration.ts';

export class ConfigError extends TrimtabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_config', message, options);
  }
}

type Kind = 'string' | 'hostport' | 'bytes' | 'count' | 'duration' | 'enum' | 'url' | 'secret';

export interface OptionSpec {
  key: string;
  /** Command-line flag, without the leading dashes; absent for environment-only options (secrets). */
  flag?: string;
  env: string;
  kind: Kind;
  default?: string;
  choices?: readonly string[];
  doc: string;
}

/** Every option Trimtab's server roles read. README's configuration table is checked against this list. */
export const OPTIONS = [
  { key: 'listen', flag: 'listen', env: 'TRIMTAB_LISTEN', kind: 'hostport', default: '0.0.0.0:9201', doc: 'Address the HTTP server listens on (host:port; [::1]:port for IPv6).' },
  { key: 'databaseUrl', flag: 'database-url', env: 'DATABASE_URL', kind: 'url', doc: 'PostgreSQL URL (postgres://user:pass@host:5432/db). When absent, the embedded PGlite store under --data-dir is used.' },
  { key: 'dataDir', flag: 'data-dir', env: 'TRIMTAB_DATA_DIR', kind: 'string', default: './data', doc: 'Directory of the embedded PGlite store (only without DATABASE_URL).' },
  { key: 'bootstrapToken', env: 'TRIMTAB_BOOTSTRAP_TOKEN', kind: 'secret', doc: 'When set and no tenant exists, create tenant `default` with exactly this token (16+ printable characters). Environment only, so it never shows in `ps`.' },
  { key: 'logLevel', flag: 'log-level', env: 'TRIMTAB_LOG_LEVEL', kind: 'enum', choices: ['debug', 'info', 'warn', 'error'], default: 'info', doc: 'Minimum level of the JSON logs on stdout.' },
  { key: 'dbPoolMax', flag: 'db-pool-max', env: 'TRIMTAB_DB_POOL_MAX', kind: 'count', default: '8', doc: 'Maximum PostgreSQL connections per process.' },
  { key: 'seriesCacheSize', flag: 'series-cache-size', env: 'TRIMTAB_SERIES_CACHE_SIZE', kind: 'count', default: '500000', doc: 'Series ids the receiver keeps in memory, all tenants together (about 1 KiB each); tenants that wrote longest ago are evicted first.' },
  { key: 'maxBodyBytes', flag: 'max-body-bytes', env: 'TRIMTAB_MAX_BODY_BYTES', kind: 'bytes', default: '16MiB', doc: 'Largest compressed request body; larger gets 413.' },
  { key: 'maxDecodedBytes', flag: 'max-decoded-bytes', env: 'TRIMTAB_MAX_DECODED_BYTES', kind: 'bytes', default: '32MiB', doc: 'Largest decompressed write request (checked against the snappy header before allocating); larger gets 400.' },
  { key: 'maxLabelsPerSeries', flag: 'max-labels-per-series', env: 'TRIMTAB_MAX_LABELS_PER_SERIES', kind: 'count', default: '40', doc: 'Most labels (including `__name__`) one series may carry.' },
  { key: 'maxLabelNameLength', flag: 'max-label-name-length', env: 'TRIMTAB_MAX_LABEL_NAME_LENGTH', kind: 'count', default: '1024', doc: 'Longest label name, in bytes.' },
  { key: 'maxLabelValueLength', flag: 'max-label-value-length', env: 'TRIMTAB_MAX_LABEL_VALUE_LENGTH', kind: 'count', default: '2048', doc: 'Longest label value (and metric name), in bytes.' },
  { key: 'maxFuture', flag: 'max-future', env: 'TRIMTAB_MAX_FUTURE', kind: 'duration', default: '10m', doc: 'Samples further ahead of the receiver clock are refused with 400 (as Prometheus does).' },
  { key: 'maxSampleAge', flag: 'max-sample-age', env: 'TRIMTAB_MAX_SAMPLE_AGE', kind: 'duration', default: '0', doc: 'Samples older than this are refused with 400; 0 accepts any age.' },
  { key: 'ingestionRate', flag: 'ingestion-rate', env: 'TRIMTAB_INGESTION_RATE', kind: 'count', default: '100000', doc: 'Samples (plus histograms and exemplars) per second per tenant and receiver replica; over it gets 429 with Retry-After. 0 turns the limit off.' },
  { key: 'ingestionBurst', flag: 'ingestion-burst', env: 'TRIMTAB_INGESTION_BURST', kind: 'count', default: '1000000', doc: 'Token-bucket size of the per-tenant rate limit.' },
  { key: 'queryMaxSamples', flag: 'query-max-samples', env: 'TRIMTAB_QUERY_MAX_SAMPLES', kind: 'count', default: '50000000', doc: 'Most samples one PromQL query may hold in memory (Prometheus --query.max-samples); over it the query fails with 422.' },
  { key: 'queryTimeout', flag: 'query-timeout', env: 'TRIMTAB_QUERY_TIMEOUT', kind: 'duration', default: '2m', doc: 'Longest a PromQL query may run (Prometheus --query.timeout); a request\'s `timeout` can only shorten it.' },
  { key: 'queryLookbackDelta', flag: 'query-lookback-delta', env: 'TRIMTAB_QUERY_LOOKBACK_DELTA', kind: 'duration', default: '5m', doc: 'How far back an instant selector looks for a sample (Prometheus --query.lookback-delta).' },
  { key: 'analyzerListen', flag: 'analyzer-listen', env: 'TRIMTAB_ANALYZER_LISTEN', kind: 'hostport', default: '0.0.0.0:9203', doc: 'Address of the `analyzer` role\'s /metrics and health endpoints (in `all`, the analyzer\'s metrics are on the receiver\'s /metrics instead).' },
  { key: 'ruleFiles', flag: 'rule-files', env: 'TRIMTAB_RULE_FILES', kind: 'string', doc: 'Comma-separated globs of Prometheus rule files the analyzer evaluates; default the `rules/*.yml` shipped with Trimtab. Reloaded on SIGHUP and when a file changes.' },
  { key: 'evaluationInterval', flag: 'evaluation-interval', env: 'TRIMTAB_EVALUATION_INTERVAL', kind: 'duration', default: '1m', doc: 'Interval of rule groups that set none (Prometheus\' global evaluation_interval).' },
  { key: 'externalUrl', flag: 'external-url', env: 'TRIMTAB_EXTERNAL_URL', kind: 'string', doc: 'URL under which users reach Trimtab; `$externalURL` in alert templates.' },
  { key: 'shutdownTimeout', flag: 'shutdown-timeout', env: 'TRIMTAB_SHUTDOWN_TIMEOUT', kind: 'duration', default: '30s', doc: 'How long SIGTERM waits for in-flight requests before closing.' },
] as const satisfies readonly OptionSpec[];

export type OptionKey = (typeof OPTIONS)[number]['key'];

export interface ServerConfig {
  listen: { host: string; port: number };
  databaseUrl: string | undefined;
  dataDir: string;
  bootstrapToken: string | undefined;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  dbPoolMax: number;
  seriesCacheSize: number;
  maxBodyBytes: number;
  maxDecodedBytes: number;
  maxLabelsPerSeries: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  maxFutureMs: number;
  maxSampleAgeMs: number;
  ingestionRate: number;
  ingestionBurst: number;
  queryMaxSamples: number;
  queryTimeoutMs: number;
  queryLookbackDeltaMs: number;
  shutdownTimeoutMs: number;
  analyzerListen: { host: string; port: number };
  /** Globs; the shipped rules/*.yml when not configured. */
  ruleFiles: string[];
  evaluationIntervalMs: number;
  externalUrl: string;
}

/** The rule pack shipped with Trimtab (the repository's / image's rules/ directory). */
export const DEFAULT_RULE_FILES = [fileURLToPath(new URL('../rules/*.yml', import.meta.url))];

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

export function parseBytes(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return null;
  const unit = BYTE_UNITS[m[2].toLowerCase()];
  if (unit === undefined) return null;
  const n = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : null;
}

export function parseHostPort(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** Where a value came from, so an error can name the key the user actually set. */
function origin(spec: OptionSpec, fromFlag: boolean): string {
  return fromFlag && spec.flag ? `--${spec.flag}` : spec.env;
}

function fail(spec: OptionSpec, fromFlag: boolean, value: string, expected: string): never {
  const shown = spec.kind === 'secret' || spec.kind === 'url' ? '(value hidden)' : JSON.stringify(value);
  throw new ConfigError(`invalid ${origin(spec, fromFlag)} ${shown}: expected ${expected}`);
}

/**
 * Resolves every option from parsed flags and the environment. `flags` maps a flag name (without dashes) to
 * its value. Unknown flags are the CLI's concern (it rejects them before calling this).
 */
export function resolveServerConfig(flags: Record<string, string>, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const raw = new Map<string, { value: string | undefined; fromFlag: boolean }>();
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    const flagValue = spec.flag !== undefined ? flags[spec.flag] : undefined;
    const envValue = env[spec.env];
    if (flagValue !== undefined) raw.set(spec.key, { value: flagValue, fromFlag: true });
    else if (envValue !== undefined && envValue !== '') raw.set(spec.key, { value: envValue, fromFlag: false });
    else raw.set(spec.key, { value: spec.default, fromFlag: false });
  }
  const specOf = (key: OptionKey) => (OPTIONS as readonly OptionSpec[]).find((o) => o.key === key)!;
  const get = (key: OptionKey) => raw.get(key)!;

  const count = (key: OptionKey, min = 0): number => {
    const { value, fromFlag } = get(key);
    const n = Number(value);
    if (value === undefined || !/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      fail(specOf(key), fromFlag, value ?? '', `a whole number ≥ ${min}`);
    }
    return n;
  };
  const bytes = (key: OptionKey): number => {
    const { value, fromFlag } = get(key);
    const n = value === undefined ? null : parseBytes(value);
    if (n === null || n <= 0) fail(specOf(key), fromFlag, value ?? '', 'a positive size such as 16MiB, 500kB or 1048576');
    return n;
  };
  const duration = (key: OptionKey): number => {
    const { value, fromFlag } = get(key);
    const n = value === undefined ? null : parseDuration(value);
    if (n === null) fail(specOf(key), fromFlag, value ?? '', 'a duration such as 30s, 500ms, 10m or 1h30m');
    return n;
  };

  const positive = (key: OptionKey, ms: number): number => {
    if (ms <= 0) fail(specOf(key), get(key).fromFlag, get(key).value ?? '', 'a duration greater than zero');
    return ms;
  };

  const listenRaw = get('listen');
  const listen = parseHostPort(listenRaw.value ?? '');
  if (!listen) fail(specOf('listen'), listenRaw.fromFlag, listenRaw.value ?? '', 'host:port, e.g. 0.0.0.0:9201 or [::1]:9201');

  const dbRaw = get('databaseUrl');
  let databaseUrl = dbRaw.value?.trim() || undefined;
  if (databaseUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(databaseUrl);
    } catch (cause) {
      throw new ConfigError(`invalid ${origin(specOf('databaseUrl'), dbRaw.fromFlag)}: not a URL (value hidden, it may hold a password)`, { cause });
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      fail(specOf('databaseUrl'), dbRaw.fromFlag, databaseUrl, `a postgres:// or postgresql:// URL, got scheme ${url.protocol}`);
    }
  }

  const dataDir = get('dataDir').value ?? './data';
  if (dataDir.trim() === '') fail(specOf('dataDir'), get('dataDir').fromFlag, dataDir, 'a directory path');

  const tokenRaw = get('bootstrapToken');
  const bootstrapToken = tokenRaw.value;
  if (bootstrapToken !== undefined && !/^[\x21-\x7e]{16,512}$/.test(bootstrapToken)) {
    fail(specOf('bootstrapToken'), false, bootstrapToken, '16 to 512 printable ASCII characters without spaces');
  }

  const levelRaw = get('logLevel');
  const levels = specOf('logLevel').choices!;
  if (!levels.includes(levelRaw.value ?? '')) fail(specOf('logLevel'), levelRaw.fromFlag, levelRaw.value ?? '', `one of ${levels.join(', ')}`);

  const analyzerListenRaw = get('analyzerListen');
  const analyzerListen = parseHostPort(analyzerListenRaw.value ?? '');
  if (!analyzerListen) fail(specOf('analyzerListen'), analyzerListenRaw.fromFlag, analyzerListenRaw.value ?? '', 'host:port, e.g. 0.0.0.0:9203');

  const rulesRaw = get('ruleFiles');
  const ruleFiles = rulesRaw.value === undefined ? DEFAULT_RULE_FILES : rulesRaw.value.split(',').map((g) => g.trim()).filter((g) => g !== '');
  if (ruleFiles.length === 0) fail(specOf('ruleFiles'), rulesRaw.fromFlag, rulesRaw.value ?? '', 'one or more comma-separated file globs, e.g. rules/*.yml');

  const externalRaw = get('externalUrl');
  const externalUrl = externalRaw.value?.trim() ?? '';
  if (externalUrl !== '') {
    let url: URL | null = null;
    try {
      url = new URL(externalUrl);
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail(specOf('externalUrl'), externalRaw.fromFlag, externalUrl, 'an http:// or https:// URL');
  }

  return {
    analyzerListen,
    ruleFiles,
    evaluationIntervalMs: positive('evaluationInterval', duration('evaluationInterval')),
    externalUrl,
    listen,
    databaseUrl,
    dataDir,
    bootstrapToken,
    logLevel: levelRaw.value as ServerConfig['logLevel'],
    dbPoolMax: count('dbPoolMax', 1),
    seriesCacheSize: count('seriesCacheSize', 2),
    maxBodyBytes: bytes('maxBodyBytes'),
    maxDecodedBytes: bytes('maxDecodedBytes'),
    maxLabelsPerSeries: count('maxLabelsPerSeries', 1),
    maxLabelNameLength: count('maxLabelNameLength', 1),
    maxLabelValueLength: count('maxLabelValueLength', 1),
    maxFutureMs: duration('maxFuture'),
    maxSampleAgeMs: duration('maxSampleAge'),
    ingestionRate: count('ingestionRate'),
    ingestionBurst: count('ingestionBurst', 1),
    queryMaxSamples: count('queryMaxSamples', 1),
    queryTimeoutMs: positive('queryTimeout', duration('queryTimeout')),
    queryLookbackDeltaMs: positive('queryLookbackDelta', duration('queryLookbackDelta')),
    shutdownTimeoutMs: duration('shutdownTimeout'),
  };
}

/** The configuration table of README.md, generated from OPTIONS so the two cannot drift. */
export function configurationMarkdown(): string {
  const rows = (OPTIONS as readonly OptionSpec[]).map((o) => {
    const flag = o.flag ? `\`--${o.flag}\`` : '—';
    const def = o.default === undefined ? '—' : `\`${o.kind === 'duration' ? formatDuration(parseDuration(o.default)!) : o.default}\``;
    return `| ${flag} | \`${o.env}\` | ${def} | ${o.doc} |`;
  });
  return ['| flag | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
