// `trimtab agent` configuration: an explicit flag wins, then the environment variable, then the documented
// default (the project's rule, bin/config.ts). Validated once; an error names the flag or variable the
// user actually set. Repeatable flags (`--scrape-target`, `--external-label`, `--keep-metric`, …) take
// several values; their environment twins take a comma-separated list.

import { ConfigError, parseBytes, parseHostPort } from '../bin/config.ts';
import { parseDuration } from '../bin/duration.ts';
import type { Label } from '../protocol/types.ts';
import { SERVICE_ACCOUNT_DIR } from './kube.ts';

type Kind = 'string' | 'url' | 'path' | 'duration' | 'bytes' | 'count' | 'bool' | 'enum' | 'hostport' | 'list';

export interface AgentOptionSpec {
  key: keyof AgentFlagValues;
  flag: string;
  env: string;
  kind: Kind;
  default?: string;
  choices?: readonly string[];
  /** The flag may be given several times (parseArgs `multiple: true`); the variable is comma-separated. */
  multiple?: boolean;
  doc: string;
}

interface AgentFlagValues {
  remoteWriteUrl: string;
  remoteWriteVersion: string;
  bearerTokenFile: string;
  basicAuthUsername: string;
  basicAuthPasswordFile: string;
  tlsCaFile: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  tlsServerName: string;
  tlsInsecureSkipVerify: string;
  cluster: string;
  externalLabels: string;
  scrapeTargets: string;
  scrapeInterval: string;
  scrapeTimeout: string;
  nodeName: string;
  nodeIp: string;
  kubeconfig: string;
  kubeFacts: string;
  serviceAccountDir: string;
  kubeletUrl: string;
  kubeletPaths: string;
  kubeletTokenFile: string;
  kubeletCaFile: string;
  kubeletInsecureSkipVerify: string;
  ruleFiles: string;
  keepMetrics: string;
  dropLabels: string;
  bufferDir: string;
  bufferMemory: string;
  bufferMax: string;
  shards: string;
  maxSamplesPerSend: string;
  batchSendDeadline: string;
  minBackoff: string;
  maxBackoff: string;
  retryOn429: string;
  remoteTimeout: string;
  ownerLookupQps: string;
  ownerLookupBurst: string;
  listen: string;
  logLevel: string;
  shutdownTimeout: string;
}

/** Every `trimtab agent` option: flag, environment twin, default, meaning. */
export const AGENT_OPTIONS: readonly AgentOptionSpec[] = [
  { key: 'remoteWriteUrl', flag: 'remote-write-url', env: 'TRIMTAB_REMOTE_WRITE_URL', kind: 'url', doc: 'Where to send remote-write requests (http or https), e.g. https://trimtab.example.com/api/v1/write. Required.' },
  { key: 'remoteWriteVersion', flag: 'remote-write-version', env: 'TRIMTAB_REMOTE_WRITE_VERSION', kind: 'enum', choices: ['1', '2'], default: '1', doc: 'Remote-write protocol: 1 (prometheus.WriteRequest) or 2 (io.prometheus.write.v2.Request; falls back to 1 for good on 415).' },
  { key: 'bearerTokenFile', flag: 'bearer-token-file', env: 'TRIMTAB_BEARER_TOKEN_FILE', kind: 'path', doc: 'File holding the bearer token sent to the remote-write URL; re-read when it changes.' },
  { key: 'basicAuthUsername', flag: 'basic-auth-username', env: 'TRIMTAB_BASIC_AUTH_USERNAME', kind: 'string', doc: 'Basic-auth user name for the remote-write URL (with --basic-auth-password-file).' },
  { key: 'basicAuthPasswordFile', flag: 'basic-auth-password-file', env: 'TRIMTAB_BASIC_AUTH_PASSWORD_FILE', kind: 'path', doc: 'File holding the basic-auth password; re-read when it changes.' },
  { key: 'tlsCaFile', flag: 'tls-ca-file', env: 'TRIMTAB_TLS_CA_FILE', kind: 'path', doc: 'CA bundle to verify the remote-write server (default: the system CAs).' },
  { key: 'tlsCertFile', flag: 'tls-cert-file', env: 'TRIMTAB_TLS_CERT_FILE', kind: 'path', doc: 'Client certificate for mTLS to the remote-write server (with --tls-key-file); reloaded when it changes.' },
  { key: 'tlsKeyFile', flag: 'tls-key-file', env: 'TRIMTAB_TLS_KEY_FILE', kind: 'path', doc: 'Private key of --tls-cert-file.' },
  { key: 'tlsServerName', flag: 'tls-server-name', env: 'TRIMTAB_TLS_SERVER_NAME', kind: 'string', doc: 'Server name to verify in the remote-write server certificate (default: the URL host).' },
  { key: 'tlsInsecureSkipVerify', flag: 'tls-insecure-skip-verify', env: 'TRIMTAB_TLS_INSECURE_SKIP_VERIFY', kind: 'bool', default: 'false', doc: 'Do not verify the remote-write server certificate (testing only).' },
  { key: 'cluster', flag: 'cluster', env: 'TRIMTAB_CLUSTER', kind: 'string', doc: 'Value of the `cluster` label added to every series (unless the series has one). Required.' },
  { key: 'externalLabels', flag: 'external-label', env: 'TRIMTAB_EXTERNAL_LABELS', kind: 'list', multiple: true, doc: 'NAME=VALUE added to every series that lacks NAME (Prometheus external_labels). Repeatable; the variable is comma-separated.' },
  { key: 'scrapeTargets', flag: 'scrape-target', env: 'TRIMTAB_SCRAPE_TARGETS', kind: 'list', multiple: true, doc: 'Extra target to scrape: URL or JOB=URL (job defaults to "static"), e.g. node-exporter=http://127.0.0.1:9100/metrics. Repeatable; the variable is comma-separated.' },
  { key: 'scrapeInterval', flag: 'scrape-interval', env: 'TRIMTAB_SCRAPE_INTERVAL', kind: 'duration', default: '30s', doc: 'How often every target is scraped and the Kubernetes facts sampled.' },
  { key: 'scrapeTimeout', flag: 'scrape-timeout', env: 'TRIMTAB_SCRAPE_TIMEOUT', kind: 'duration', default: '10s', doc: 'Timeout of one scrape; at most the scrape interval.' },
  { key: 'nodeName', flag: 'node-name', env: 'TRIMTAB_NODE_NAME', kind: 'string', doc: 'This node (in the chart: the downward API spec.nodeName). Needed for the Kubernetes facts and the kubelet.' },
  { key: 'nodeIp', flag: 'node-ip', env: 'TRIMTAB_NODE_IP', kind: 'string', doc: "This node's IP for the kubelet URL (downward API status.hostIP); default: the node's InternalIP from the API." },
  { key: 'kubeconfig', flag: 'kubeconfig', env: 'TRIMTAB_KUBECONFIG', kind: 'path', doc: 'Kubeconfig to reach the API server from outside a cluster (loaded with @kubernetes/client-node). In a cluster the service account is used.' },
  { key: 'kubeFacts', flag: 'kube-facts', env: 'TRIMTAB_KUBE_FACTS', kind: 'enum', choices: ['auto', 'true', 'false'], default: 'auto', doc: 'Produce the kube-state-metrics series from the API server: auto = when in a cluster or given --kubeconfig, with --node-name.' },
  { key: 'serviceAccountDir', flag: 'service-account-dir', env: 'TRIMTAB_SERVICE_ACCOUNT_DIR', kind: 'path', default: SERVICE_ACCOUNT_DIR, doc: 'Where the service account token and ca.crt are mounted.' },
  { key: 'kubeletUrl', flag: 'kubelet-url', env: 'TRIMTAB_KUBELET_URL', kind: 'url', doc: "The kubelet's base URL; default in a cluster: https://<node IP>:10250. Outside a cluster the kubelet is scraped only when this is set." },
  { key: 'kubeletPaths', flag: 'kubelet-path', env: 'TRIMTAB_KUBELET_PATHS', kind: 'list', multiple: true, default: '/metrics/cadvisor,/metrics/resource', doc: 'Kubelet endpoints to scrape. Repeatable; the variable is comma-separated.' },
  { key: 'kubeletTokenFile', flag: 'kubelet-token-file', env: 'TRIMTAB_KUBELET_TOKEN_FILE', kind: 'path', doc: 'Bearer token for the kubelet (default: the service account token); re-read when it changes.' },
  { key: 'kubeletCaFile', flag: 'kubelet-ca-file', env: 'TRIMTAB_KUBELET_CA_FILE', kind: 'path', doc: "CA that signed the kubelet's serving certificate (default: the service account ca.crt)." },
  { key: 'kubeletInsecureSkipVerify', flag: 'kubelet-insecure-skip-verify', env: 'TRIMTAB_KUBELET_INSECURE_SKIP_VERIFY', kind: 'bool', default: 'false', doc: "Do not verify the kubelet's certificate (kubeadm's default self-signed kubelet certificates need it)." },
  { key: 'ruleFiles', flag: 'rule-files', env: 'TRIMTAB_RULE_FILES', kind: 'list', multiple: true, doc: 'Glob(s) of Prometheus rule files whose expressions define the keep-list (default: the built-in list of the rule pack inputs). Repeatable; the variable is comma-separated.' },
  { key: 'keepMetrics', flag: 'keep-metric', env: 'TRIMTAB_KEEP_METRICS', kind: 'list', multiple: true, doc: 'Extra metric name (or regex) to keep. Repeatable; the variable is comma-separated.' },
  { key: 'dropLabels', flag: 'drop-label', env: 'TRIMTAB_DROP_LABELS', kind: 'list', multiple: true, default: 'id,name', doc: 'High-cardinality labels removed from the kubelet cAdvisor series (cgroup path and runtime container name by default). Repeatable; the variable is comma-separated.' },
  { key: 'bufferDir', flag: 'buffer-dir', env: 'TRIMTAB_BUFFER_DIR', kind: 'path', doc: 'Directory the send buffer spills to beyond --buffer-memory (chart: an emptyDir with a sizeLimit). Without it the buffer is memory only.' },
  { key: 'bufferMemory', flag: 'buffer-memory', env: 'TRIMTAB_BUFFER_MEMORY', kind: 'bytes', default: '8MiB', doc: 'Encoded samples kept in memory; beyond it blocks go to --buffer-dir (or, without one, the oldest are dropped).' },
  { key: 'bufferMax', flag: 'buffer-max', env: 'TRIMTAB_BUFFER_MAX', kind: 'bytes', default: '64MiB', doc: 'Bound of the buffer (memory + directory); beyond it the oldest blocks are dropped and counted.' },
  { key: 'shards', flag: 'shards', env: 'TRIMTAB_SHARDS', kind: 'count', default: '2', doc: 'Parallel send queues; series are hash-sharded so that each keeps its order.' },
  { key: 'maxSamplesPerSend', flag: 'max-samples-per-send', env: 'TRIMTAB_MAX_SAMPLES_PER_SEND', kind: 'count', default: '2000', doc: 'Samples per remote-write request at most.' },
  { key: 'batchSendDeadline', flag: 'batch-send-deadline', env: 'TRIMTAB_BATCH_SEND_DEADLINE', kind: 'duration', default: '5s', doc: 'Longest a sample waits for its batch to fill (batches are also sealed after every scrape round).' },
  { key: 'minBackoff', flag: 'min-backoff', env: 'TRIMTAB_MIN_BACKOFF', kind: 'duration', default: '100ms', doc: 'First retry delay; doubles up to --max-backoff, with jitter.' },
  { key: 'maxBackoff', flag: 'max-backoff', env: 'TRIMTAB_MAX_BACKOFF', kind: 'duration', default: '10s', doc: 'Longest retry delay (a 429 Retry-After is honoured up to 10 minutes).' },
  { key: 'retryOn429', flag: 'retry-on-429', env: 'TRIMTAB_RETRY_ON_429', kind: 'bool', default: 'true', doc: 'Retry requests answered 429 (after Retry-After); false drops them like other 4xx.' },
  { key: 'remoteTimeout', flag: 'remote-timeout', env: 'TRIMTAB_REMOTE_TIMEOUT', kind: 'duration', default: '30s', doc: 'Timeout of one remote-write request.' },
  { key: 'ownerLookupQps', flag: 'owner-lookup-qps', env: 'TRIMTAB_OWNER_LOOKUP_QPS', kind: 'count', default: '5', doc: 'ReplicaSet/Job owner lookups per second against the API server (cached, shared by all pods).' },
  { key: 'ownerLookupBurst', flag: 'owner-lookup-burst', env: 'TRIMTAB_OWNER_LOOKUP_BURST', kind: 'count', default: '10', doc: 'Burst of owner lookups.' },
  { key: 'listen', flag: 'listen', env: 'TRIMTAB_AGENT_LISTEN', kind: 'hostport', default: '0.0.0.0:9202', doc: 'Address of the agent’s /metrics, /-/healthy and /-/ready.' },
  { key: 'logLevel', flag: 'log-level', env: 'TRIMTAB_LOG_LEVEL', kind: 'enum', choices: ['debug', 'info', 'warn', 'error'], default: 'info', doc: 'Minimum level of the JSON logs on stdout.' },
  { key: 'shutdownTimeout', flag: 'shutdown-timeout', env: 'TRIMTAB_SHUTDOWN_TIMEOUT', kind: 'duration', default: '25s', doc: 'How long SIGTERM spends flushing the buffer before exiting (what is left goes to --buffer-dir).' },
];

export interface ScrapeTargetConfig {
  job: string;
  url: string;
}

export interface AgentConfig {
  remoteWriteUrl: string;
  remoteWriteVersion: 1 | 2;
  bearerTokenFile?: string;
  basicAuth?: { username: string; passwordFile: string };
  tls: { caFile?: string; certFile?: string; keyFile?: string; serverName?: string; insecureSkipVerify: boolean };
  cluster: string;
  externalLabels: Label[];
  scrapeTargets: ScrapeTargetConfig[];
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  nodeName?: string;
  nodeIp?: string;
  kubeconfig?: string;
  kubeFacts: 'auto' | 'true' | 'false';
  serviceAccountDir: string;
  kubelet: { url?: string; paths: string[]; tokenFile?: string; caFile?: string; insecureSkipVerify: boolean };
  ruleFiles: string[];
  keepMetrics: string[];
  dropLabels: string[];
  buffer: { dir?: string; memoryBytes: number; maxBytes: number };
  shards: number;
  maxSamplesPerSend: number;
  batchSendDeadlineMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  retryOn429: boolean;
  remoteTimeoutMs: number;
  ownerLookupQps: number;
  ownerLookupBurst: number;
  listen: { host: string; port: number };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  shutdownTimeoutMs: number;
}

export type AgentFlags = Record<string, string | string[] | boolean | undefined>;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Resolves the agent configuration. `flags` maps a flag name (without dashes) to its value: a string, or
 * an array for repeatable flags (parseArgs `multiple: true`). Unknown flags are the CLI's concern.
 */
export function resolveAgentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const specOf = (key: AgentOptionSpec['key']) => AGENT_OPTIONS.find((o) => o.key === key)!;
  const raw = (key: AgentOptionSpec['key']): { value: string | undefined; list: string[]; origin: string } => {
    const spec = specOf(key);
    const f = flags[spec.flag];
    if (f !== undefined && f !== false) {
      const values = (Array.isArray(f) ? f : [String(f)]).map((v) => String(v));
      return { value: values[values.length - 1], list: spec.multiple ? values.flatMap(splitList) : values, origin: `--${spec.flag}` };
    }
    const e = env[spec.env];
    if (e !== undefined && e !== '') return { value: e, list: splitList(e), origin: spec.env };
    return { value: spec.default, list: spec.default === undefined ? [] : splitList(spec.default), origin: `--${spec.flag} (default)` };
  };
  const fail = (origin: string, shown: string, expected: string): never => {
    throw new ConfigError(`invalid ${origin} ${shown}: expected ${expected}`);
  };
  const str = (key: AgentOptionSpec['key']): string | undefined => {
    const v = raw(key).value?.trim();
    return v === '' ? undefined : v;
  };
  const duration = (key: AgentOptionSpec['key'], min = 0): number => {
    const { value, origin } = raw(key);
    const n = value === undefined ? null : parseDuration(value);
    if (n === null || n < min) fail(origin, JSON.stringify(value ?? ''), `a duration${min > 0 ? ` of at least ${min} ms` : ''} such as 30s, 500ms or 1m`);
    return n!;
  };
  const count = (key: AgentOptionSpec['key'], min: number): number => {
    const { value, origin } = raw(key);
    const n = Number(value);
    if (value === undefined || !/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) fail(origin, JSON.stringify(value ?? ''), `a whole number ≥ ${min}`);
    return n;
  };
  const bytes = (key: AgentOptionSpec['key']): number => {
    const { value, origin } = raw(key);
    const n = value === undefined ? null : parseBytes(value);
    if (n === null || n <= 0) fail(origin, JSON.stringify(value ?? ''), 'a positive size such as 8MiB or 1048576');
    return n!;
  };
  const bool = (key: AgentOptionSpec['key']): boolean => {
    const { value, origin } = raw(key);
    const v = (value ?? '').trim().toLowerCase();
    if (v === 'true' || v === '1' || v === 'yes') return true;
    if (v === 'false' || v === '0' || v === 'no') return false;
    return fail(origin, JSON.stringify(value ?? ''), 'true or false');
  };
  const choice = <T extends string>(key: AgentOptionSpec['key']): T => {
    const { value, origin } = raw(key);
    const choices = specOf(key).choices!;
    if (!choices.includes(value ?? '')) fail(origin, JSON.stringify(value ?? ''), `one of ${choices.join(', ')}`);
    return value as T;
  };
  const httpUrl = (key: AgentOptionSpec['key'], required: boolean): string | undefined => {
    const { value, origin } = raw(key);
    const v = value?.trim();
    if (!v) {
      if (required) throw new ConfigError(`missing ${specOf(key).flag === 'remote-write-url' ? '--remote-write-url (or TRIMTAB_REMOTE_WRITE_URL)' : `--${specOf(key).flag}`}: it is required`);
      return undefined;
    }
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return fail(origin, '(value hidden)', 'an http:// or https:// URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(origin, '(value hidden)', `an http:// or https:// URL, got scheme ${u.protocol}`);
    if (u.username || u.password) fail(origin, '(value hidden)', 'a URL without credentials (use --bearer-token-file or --basic-auth-*)');
    return v;
  };

  const remoteWriteUrl = httpUrl('remoteWriteUrl', true)!;
  const cluster = str('cluster');
  if (!cluster) throw new ConfigError('missing --cluster (or TRIMTAB_CLUSTER): every series carries a `cluster` label; name this cluster');

  const externalLabels: Label[] = [{ name: 'cluster', value: cluster }];
  const ext = raw('externalLabels');
  for (const item of ext.list) {
    const eq = item.indexOf('=');
    const name = eq > 0 ? item.slice(0, eq).trim() : '';
    const value = eq > 0 ? item.slice(eq + 1).trim() : '';
    if (!LABEL_NAME.test(name) || name.startsWith('__') || value === '') fail(ext.origin, JSON.stringify(item), 'NAME=VALUE with a label name [a-zA-Z_][a-zA-Z0-9_]* not starting with __ and a non-empty value');
    if (externalLabels.some((l) => l.name === name)) fail(ext.origin, JSON.stringify(item), `one value per label name (${name} is given twice${name === 'cluster' ? '; use --cluster' : ''})`);
    externalLabels.push({ name, value });
  }

  const targetsRaw = raw('scrapeTargets');
  const scrapeTargets: ScrapeTargetConfig[] = [];
  for (const item of targetsRaw.list) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_.-]*)=(.+)$/.exec(item);
    const job = m ? m[1] : 'static';
    const url = (m ? m[2] : item).trim();
    let u: URL | null = null;
    try {
      u = new URL(url);
    } catch {
      u = null;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) fail(targetsRaw.origin, JSON.stringify(item), 'URL or JOB=URL with an http:// or https:// URL');
    scrapeTargets.push({ job, url });
  }

  const scrapeIntervalMs = duration('scrapeInterval', 1000);
  const scrapeTimeoutMs = duration('scrapeTimeout', 100);
  if (scrapeTimeoutMs > scrapeIntervalMs) {
    throw new ConfigError(`invalid ${raw('scrapeTimeout').origin} ${raw('scrapeTimeout').value}: the scrape timeout must not exceed the scrape interval (${raw('scrapeInterval').value})`);
  }

  const basicUser = str('basicAuthUsername');
  const basicFile = str('basicAuthPasswordFile');
  if ((basicUser === undefined) !== (basicFile === undefined)) throw new ConfigError('--basic-auth-username and --basic-auth-password-file go together');
  const bearerTokenFile = str('bearerTokenFile');
  if (bearerTokenFile && basicUser) throw new ConfigError('choose one of --bearer-token-file and --basic-auth-*');
  const certFile = str('tlsCertFile');
  const keyFile = str('tlsKeyFile');
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError('--tls-cert-file and --tls-key-file go together');

  const kubeletPaths = raw('kubeletPaths').list;
  for (const p of kubeletPaths) if (!p.startsWith('/')) fail(raw('kubeletPaths').origin, JSON.stringify(p), 'a path starting with /');

  const memoryBytes = bytes('bufferMemory');
  const maxBytes = bytes('bufferMax');
  const bufferDir = str('bufferDir');
  if (bufferDir && maxBytes < memoryBytes) throw new ConfigError(`--buffer-max (${raw('bufferMax').value}) must be at least --buffer-memory (${raw('bufferMemory').value})`);

  const minBackoffMs = duration('minBackoff', 1);
  const maxBackoffMs = duration('maxBackoff', 1);
  if (maxBackoffMs < minBackoffMs) throw new ConfigError(`--max-backoff (${raw('maxBackoff').value}) must be at least --min-backoff (${raw('minBackoff').value})`);

  const listenRaw = raw('listen');
  const listen = parseHostPort(listenRaw.value ?? '');
  if (!listen) fail(listenRaw.origin, JSON.stringify(listenRaw.value ?? ''), 'host:port, e.g. 0.0.0.0:9202');

  for (const l of raw('dropLabels').list) if (!LABEL_NAME.test(l)) fail(raw('dropLabels').origin, JSON.stringify(l), 'label names');

  return {
    remoteWriteUrl,
    remoteWriteVersion: choice<'1' | '2'>('remoteWriteVersion') === '2' ? 2 : 1,
    bearerTokenFile,
    basicAuth: basicUser && basicFile ? { username: basicUser, passwordFile: basicFile } : undefined,
    tls: { caFile: str('tlsCaFile'), certFile, keyFile, serverName: str('tlsServerName'), insecureSkipVerify: bool('tlsInsecureSkipVerify') },
    cluster,
    externalLabels,
    scrapeTargets,
    scrapeIntervalMs,
    scrapeTimeoutMs,
    nodeName: str('nodeName'),
    nodeIp: str('nodeIp'),
    kubeconfig: str('kubeconfig'),
    kubeFacts: choice('kubeFacts'),
    serviceAccountDir: str('serviceAccountDir') ?? SERVICE_ACCOUNT_DIR,
    kubelet: {
      url: httpUrl('kubeletUrl', false),
      paths: kubeletPaths,
      tokenFile: str('kubeletTokenFile'),
      caFile: str('kubeletCaFile'),
      insecureSkipVerify: bool('kubeletInsecureSkipVerify'),
    },
    ruleFiles: raw('ruleFiles').list,
    keepMetrics: raw('keepMetrics').list,
    dropLabels: raw('dropLabels').list,
    buffer: { dir: bufferDir, memoryBytes, maxBytes },
    shards: count('shards', 1),
    maxSamplesPerSend: count('maxSamplesPerSend', 1),
    batchSendDeadlineMs: duration('batchSendDeadline', 1),
    minBackoffMs,
    maxBackoffMs,
    retryOn429: bool('retryOn429'),
    remoteTimeoutMs: duration('remoteTimeout', 100),
    ownerLookupQps: count('ownerLookupQps', 1),
    ownerLookupBurst: count('ownerLookupBurst', 1),
    listen: listen!,
    logLevel: choice('logLevel'),
    shutdownTimeoutMs: duration('shutdownTimeout'),
  };
}

function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/** The options table (flag, environment, default, meaning) in Markdown, for the README. */
export function agentConfigurationMarkdown(): string {
  const rows = AGENT_OPTIONS.map((o) => `| \`--${o.flag}\`${o.multiple ? ' (repeatable)' : ''} | \`${o.env}\` | ${o.default === undefined ? '—' : `\`${o.default}\``} | ${o.doc} |`);
  return ['| flag | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
