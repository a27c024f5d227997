// Kubernetes API access for the agent's pod/node facts: a list+watch of the pods on its own node (field
// selector spec.nodeName) and of its own node, and a shared, rate-limited, cached lookup of the
// ReplicaSets and Jobs that own those pods. No cluster-wide watch, so no series duplicated across agents.
//
// Connection: in a cluster, the service account (token re-read when the kubelet rotates it, CA) and
// KUBERNETES_SERVICE_HOST/PORT, exactly what client-go's InClusterConfig reads. Outside a cluster,
// --kubeconfig is loaded by @kubernetes/client-node's KubeConfig, which handles every kubeconfig
// authentication method (client certificates, tokens, token files, exec plugins, OIDC…); it is imported
// only then.
//
// The list+watch itself goes through node:https, not @kubernetes/client-node, for memory. Measured with
// test/agent/agent.bench.ts on the image's build of the agent (agent/build.ts, bin/trimtab.sh flags):
// peak RSS 74.4 MiB as is; 107.9 MiB (+33.5 MiB, anonymous 30.7 → 63.0 MiB) with the agent process
// merely loading @kubernetes/client-node 2.x and creating a KubeConfig, a CoreV1Api client and a Watch
// (its requests go through fetch, i.e. Node's bundled undici, on top of its own generated models), before
// it serves a single request. The agent's budget is 64 MiB in all, so a DaemonSet agent does not pay that.
//
// The watch follows client-go's reflector: list (resourceVersion from the list), then watch from that
// version with bookmarks; a closed watch resumes from the last version seen; 410 Gone (or an ERROR event
// saying so) relists; errors back off exponentially (1 s → 30 s).

import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { Logger } from '../lib/log.ts';
import type { Label } from '../protocol/types.ts';
import { TrimtabError } from '../protocol/errors.ts';
import { Endpoint, openStream, request, WatchedFile } from './http.ts';
import type { AgentMetrics } from './metrics.ts';
import { seriesKey } from './series.ts';
import { jobFacts, nodeFacts, ownersToLookUp, podFacts, projectNode, projectPod, replicaSetFacts, type FactEmitter, type Node, type ObjectMeta, type OwnedObject, type Pod } from './ksm.ts';

export class KubeError extends TrimtabError {}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeAccess {
  endpoint: Endpoint;
  /** Where the configuration came from, for the log. */
  source: string;
}

/** client-go's InClusterConfig: KUBERNETES_SERVICE_HOST/PORT, the service account token and CA. */
export async function inClusterAccess(env: NodeJS.ProcessEnv = process.env, serviceAccountDir = SERVICE_ACCOUNT_DIR): Promise<KubeAccess> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new KubeError('not_in_cluster', 'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not running in a cluster (give --kubeconfig)');
  const token = new WatchedFile(`${serviceAccountDir}/token`, 'service account token');
  await token.get();
  const endpoint = new Endpoint(`https://${host.includes(':') ? `[${host}]` : host}:${port}`, {
    tls: { caFile: `${serviceAccountDir}/ca.crt` },
    auth: { bearerTokenFile: `${serviceAccountDir}/token` },
    maxSockets: 4,
  });
  await endpoint.check();
  return { endpoint, source: `in-cluster (${serviceAccountDir})` };
}

/** A kubeconfig file, through @kubernetes/client-node's KubeConfig (current context). */
export async function kubeconfigAccess(path: string): Promise<KubeAccess> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (cause) {
    throw new KubeError('invalid_kubeconfig', `cannot load the kubeconfig ${path}: ${(cause as Error).message}`, { cause });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeError('invalid_kubeconfig', `the kubeconfig ${path} has no current cluster`);
  const tls: Record<string, unknown> & { headers?: Record<string, string>; auth?: string } = {};
  await kc.applyToHTTPSOptions(tls);
  const authorization = async (): Promise<string | undefined> => {
    const o: { headers?: Record<string, string>; auth?: string } = {};
    await kc.applyToHTTPSOptions(o); // per request: exec plugins and token files refresh here
    if (o.headers?.Authorization) return o.headers.Authorization;
    if (o.auth) return `Basic ${Buffer.from(o.auth).toString('base64')}`;
    return undefined;
  };
  const endpoint = new Endpoint(cluster.server, {
    httpsOptions: {
      ca: tls.ca as Buffer | undefined,
      cert: tls.cert as Buffer | undefined,
      key: tls.key as Buffer | undefined,
      servername: tls.servername as string | undefined,
      ...(tls.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
    },
    auth: { authorization },
    maxSockets: 4,
  });
  return { endpoint, source: `kubeconfig ${path} (context ${kc.getCurrentContext()})` };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T & { code?: number; message?: string; reason?: string };
}

interface ListResponse<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/** JSON requests and watches against the API server, counted by resource, verb and code. */
export class KubeClient {
  readonly endpoint: Endpoint;
  private readonly metrics: AgentMetrics;
  private readonly timeoutMs: number;

  constructor(endpoint: Endpoint, metrics: AgentMetrics, timeoutMs = 30_000) {
    this.endpoint = endpoint;
    this.metrics = metrics;
    this.timeoutMs = timeoutMs;
  }

  async getJSON<T>(path: string, resource: string, verb: string, signal?: AbortSignal): Promise<{ status: number; body: T | null; text: string }> {
    let res;
    try {
      res = await request(this.endpoint, { path, headers: { Accept: 'application/json' }, timeoutMs: this.timeoutMs, maxBodyBytes: 256 * 1024 * 1024, signal });
    } catch (e) {
      this.metrics.kubeRequests.inc({ resource, verb, code: 'error' });
      throw e;
    }
    this.metrics.kubeRequests.inc({ resource, verb, code: String(res.status) });
    const text = res.body.toString('utf8');
    if (res.status < 200 || res.status >= 300) return { status: res.status, body: null, text };
    try {
      return { status: res.status, body: JSON.parse(text) as T, text };
    } catch (cause) {
      throw new KubeError('invalid_response', `${verb} ${resource}: the API server answered ${res.status} with a body that is not JSON`, { cause });
    }
  }

  /** Lists all pages of a collection. */
  async list<T>(path: string, resource: string, signal?: AbortSignal): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont = '';
    for (let page = 0; page < 10_000; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await this.getJSON<ListResponse<T>>(`${path}${sep}limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`, resource, 'list', signal);
      if (!res.body) throw new KubeError('list_failed', `list ${resource}: ${res.status} ${res.text.slice(0, 500)}`, { cause: { status: res.status } });
      items.push(...(res.body.items ?? []));
      cont = res.body.metadata?.continue ?? '';
      if (!cont) return { items, resourceVersion: res.body.metadata?.resourceVersion ?? '' };
    }
    throw new KubeError('list_failed', `list ${resource}: too many pages`);
  }

  /**
   * Watches from `resourceVersion` until the server ends the watch; resolves with 'expired' on 410 Gone.
   * Each event is handed to `onEvent` as it arrives.
   */
  async watch<T>(path: string, resource: string, resourceVersion: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal, timeoutSeconds: number): Promise<'closed' | 'expired'> {
    const sep = path.includes('?') ? '&' : '?';
    const full = `${path}${sep}watch=1&allowWatchBookmarks=true&timeoutSeconds=${timeoutSeconds}${resourceVersion ? `&resourceVersion=${encodeURIComponent(resourceVersion)}` : ''}`;
    let opened;
    try {
      opened = await openStream(this.endpoint, { path: full, headers: { Accept: 'application/json' }, timeoutMs: (timeoutSeconds + 30) * 1000, signal });
    } catch (e) {
      this.metrics.kubeRequests.inc({ resource, verb: 'watch', code: 'error' });
      throw e;
    }
    this.metrics.kubeRequests.inc({ resource, verb: 'watch', code: String(opened.status) });
    if (opened.status === 410) {
      opened.abort();
      return 'expired';
    }
    if (opened.status !== 200) {
      let text = '';
      for await (const c of opened.stream) if (text.length < 2000) text += String(c);
      throw new KubeError('watch_failed', `watch ${resource}: ${opened.status} ${text.slice(0, 500)}`);
    }
    const lines = streamLines(opened.stream);
    let expired = false;
    try {
      for await (const line of lines) {
        if (line.trim() === '') continue;
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type === 'ERROR') {
          if (event.object.code === 410) {
            expired = true;
            break;
          }
          throw new KubeError('watch_failed', `watch ${resource}: ERROR event ${event.object.code ?? ''} ${event.object.message ?? ''}`);
        }
        onEvent(event);
      }
    } finally {
      await lines.return(undefined);
      opened.abort();
    }
    return expired ? 'expired' : 'closed';
  }
}

/**
 * The lines of a watch response (one JSON event per line). Not node:readline, which loads seven more
 * builtin modules into the agent for this.
 */
async function* streamLines(stream: Readable): AsyncGenerator<string, void, undefined> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    rest += decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n', start)) {
      yield rest.charCodeAt(nl - 1) === 13 ? rest.slice(start, nl - 1) : rest.slice(start, nl);
      start = nl + 1;
    }
    rest = rest.slice(start);
  }
  rest += decoder.end();
  if (rest !== '') yield rest;
}

export interface ReflectorOptions<T> {
  resource: string;
  /** Collection path with its selectors, e.g. /api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1. */
  path: string;
  project(o: T): T;
  logger: Logger;
  metrics: AgentMetrics;
  /** Server-side watch timeout range (s); a random value in it is used per watch, as client-go does. */
  watchTimeoutSeconds?: [number, number];
}

/** A list+watch cache of one collection, keyed by namespace/name. */
export class Reflector<T extends { metadata: ObjectMeta }> {
  readonly items = new Map<string, T>();
  private readonly client: KubeClient;
  private readonly opts: ReflectorOptions<T>;
  private resourceVersion = '';
  synced = false;
  /** Incremented on every change (tests wait on it). */
  revision = 0;

  constructor(client: KubeClient, opts: ReflectorOptions<T>) {
    this.client = client;
    this.opts = opts;
  }

  private key(o: T): string {
    return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger, metrics, resource } = this.opts;
    let failures = 0;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          const { items, resourceVersion } = await this.client.list<T>(this.opts.path, resource, signal);
          this.items.clear();
          for (const o of items) this.items.set(this.key(o), this.opts.project(o));
          this.resourceVersion = resourceVersion;
          this.synced = true;
          this.revision++;
          needList = false;
          metrics.kubeObjects.set({ resource }, this.items.size);
          logger.debug('listed', { resource, count: items.length, resource_version: resourceVersion });
        }
        const [lo, hi] = this.opts.watchTimeoutSeconds ?? [300, 600];
        const timeout = Math.floor(lo + Math.random() * (hi - lo));
        const result = await this.client.watch<T>(this.opts.path, resource, this.resourceVersion, (e) => this.apply(e), signal, timeout);
        failures = 0;
        if (result === 'expired') {
          metrics.kubeWatchRestarts.inc({ resource, reason: 'expired' });
          logger.info('watch expired (410 Gone); listing again', { resource });
          needList = true;
        } else {
          metrics.kubeWatchRestarts.inc({ resource, reason: 'closed' });
        }
      } catch (error) {
        if (signal.aborted) return;
        failures++;
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5)) * (0.5 + Math.random() / 2);
        metrics.kubeWatchRestarts.inc({ resource, reason: 'error' });
        logger.warn('list/watch failed; retrying', { resource, error, retry_in_ms: Math.round(delay) });
        // After repeated failures the cached version may be too old to resume from; list again.
        if (failures >= 3) needList = true;
        await sleep(delay, signal);
      }
    }
  }

  private apply(e: WatchEvent<T>): void {
    const rv = e.object?.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (e.type === 'BOOKMARK') return;
    const o = e.object as T;
    if (e.type === 'DELETED') this.items.delete(this.key(o));
    else this.items.set(this.key(o), this.opts.project(o));
    this.revision++;
    this.opts.metrics.kubeObjects.set({ resource: this.opts.resource }, this.items.size);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface OwnerLookupOptions {
  /** Sustained lookups per second and burst (token bucket). */
  qps: number;
  burst: number;
  /** How long a fetched owner is trusted before it is fetched again (kept meanwhile). */
  ttlMs: number;
  /** How long a 404 is remembered. */
  notFoundTtlMs: number;
  /** Entries nobody asked for in this long are forgotten. */
  idleMs: number;
  logger: Logger;
  metrics: AgentMetrics;
}

type OwnerKind = 'ReplicaSet' | 'Job';

interface OwnerEntry {
  kind: OwnerKind;
  namespace: string;
  name: string;
  object: OwnedObject | null;
  fetchedAt: number;
  usedAt: number;
  queued: boolean;
}

/**
 * The owners (ReplicaSets, Jobs) of this node's pods, fetched one GET at a time through a token bucket,
 * cached, shared by every pod that names them (thirty pods of a Deployment cost one request), refreshed
 * after `ttlMs` while the old answer keeps being used, and forgotten when no pod names them any more.
 */
export class OwnerLookup {
  private readonly client: KubeClient;
  private readonly opts: OwnerLookupOptions;
  private readonly entries = new Map<string, OwnerEntry>();
  private readonly queue: OwnerEntry[] = [];
  private tokens: number;
  private refillAt = Date.now();
  private pumping = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(client: KubeClient, opts: OwnerLookupOptions) {
    this.client = client;
    this.opts = opts;
    this.tokens = opts.burst;
  }

  get size(): number {
    return this.entries.size;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** The cached owner object: undefined while unknown (a fetch is queued), null when it does not exist. */
  get(kind: OwnerKind, namespace: string, name: string): OwnedObject | null | undefined {
    const k = `${kind}/${namespace}/${name}`;
    const now = Date.now();
    let e = this.entries.get(k);
    if (!e) {
      e = { kind, namespace, name, object: null, fetchedAt: 0, usedAt: now, queued: false };
      this.entries.set(k, e);
      this.enqueue(e);
      this.opts.metrics.ownerLookups.inc({ result: 'queued' });
      return undefined;
    }
    e.usedAt = now;
    if (e.fetchedAt === 0) return undefined;
    const ttl = e.object ? this.opts.ttlMs : this.opts.notFoundTtlMs;
    if (now - e.fetchedAt > ttl) this.enqueue(e);
    this.opts.metrics.ownerLookups.inc({ result: 'hit' });
    return e.object;
  }

  /** Forgets entries no pod asked for in `idleMs`. */
  prune(): void {
    const cutoff = Date.now() - this.opts.idleMs;
    for (const [k, e] of this.entries) if (e.usedAt < cutoff && !e.queued) this.entries.delete(k);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private enqueue(e: OwnerEntry): void {
    if (e.queued || this.stopped) return;
    e.queued = true;
    this.queue.push(e);
    void this.pump();
  }

  private takeToken(): number {
    const now = Date.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((now - this.refillAt) / 1000) * this.opts.qps);
    this.refillAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return ((1 - this.tokens) / this.opts.qps) * 1000;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length && !this.stopped) {
        const wait = this.takeToken();
        if (wait > 0) {
          this.opts.metrics.ownerLookups.inc({ result: 'throttled' });
          this.timer = setTimeout(() => {
            this.timer = null;
            void this.pump();
          }, wait);
          return;
        }
        const e = this.queue.shift()!;
        await this.fetch(e);
        e.queued = false;
      }
    } finally {
      this.pumping = false;
    }
  }

  private async fetch(e: OwnerEntry): Promise<void> {
    const path =
      e.kind === 'ReplicaSet'
        ? `/apis/apps/v1/namespaces/${encodeURIComponent(e.namespace)}/replicasets/${encodeURIComponent(e.name)}`
        : `/apis/batch/v1/namespaces/${encodeURIComponent(e.namespace)}/jobs/${encodeURIComponent(e.name)}`;
    const resource = e.kind === 'ReplicaSet' ? 'replicasets' : 'jobs';
    try {
      const res = await this.client.getJSON<OwnedObject>(path, resource, 'get');
      if (res.body) {
        e.object = { metadata: { name: res.body.metadata.name, namespace: res.body.metadata.namespace, ownerReferences: res.body.metadata.ownerReferences?.map((o) => ({ kind: o.kind, name: o.name, controller: o.controller })) } };
        e.fetchedAt = Date.now();
        this.opts.metrics.ownerLookups.inc({ result: 'fetched' });
      } else if (res.status === 404) {
        e.object = null;
        e.fetchedAt = Date.now();
        this.opts.metrics.ownerLookups.inc({ result: 'not_found' });
      } else {
        this.opts.metrics.ownerLookups.inc({ result: 'error' });
        this.opts.logger.warn('owner lookup failed', { kind: e.kind, namespace: e.namespace, name: e.name, status: res.status, body: res.text.slice(0, 500) });
      }
    } catch (error) {
      this.opts.metrics.ownerLookups.inc({ result: 'error' });
      this.opts.logger.warn('owner lookup failed', { kind: e.kind, namespace: e.namespace, name: e.name, error });
    }
  }
}

/** One kube-state-metrics series and its value. */
export interface Fact {
  readonly name: string;
  /** Labels without __name__, in kube-state-metrics' order (empty values kept). */
  readonly labels: Label[];
  readonly value: number;
  /** Emitted alike by several agents (owner series). */
  readonly shared: boolean;
  /** Identity of the series among the facts (seriesKey of name and labels). */
  readonly key: string;
}

export interface KubeFactsOptions {
  client: KubeClient;
  nodeName: string;
  want(name: string): boolean;
  logger: Logger;
  metrics: AgentMetrics;
  ownerQps: number;
  ownerBurst: number;
  ownerTtlMs?: number;
  watchTimeoutSeconds?: [number, number];
}

/** Everything the agent knows from the API server, turned into kube-state-metrics series on demand. */
export class KubeFacts {
  readonly pods: Reflector<Pod>;
  readonly nodes: Reflector<Node>;
  readonly owners: OwnerLookup;
  private readonly opts: KubeFactsOptions;
  private readonly abort = new AbortController();
  private runs: Promise<void>[] = [];
  /** Facts per object version (dropped with the object). */
  private readonly facts = new WeakMap<object, Fact[]>();

  constructor(opts: KubeFactsOptions) {
    this.opts = opts;
    const sel = (s: string) => `fieldSelector=${encodeURIComponent(s)}`;
    this.pods = new Reflector<Pod>(opts.client, {
      resource: 'pods',
      path: `/api/v1/pods?${sel(`spec.nodeName=${opts.nodeName}`)}`,
      project: projectPod,
      logger: opts.logger,
      metrics: opts.metrics,
      watchTimeoutSeconds: opts.watchTimeoutSeconds,
    });
    this.nodes = new Reflector<Node>(opts.client, {
      resource: 'nodes',
      path: `/api/v1/nodes?${sel(`metadata.name=${opts.nodeName}`)}`,
      project: projectNode,
      logger: opts.logger,
      metrics: opts.metrics,
      watchTimeoutSeconds: opts.watchTimeoutSeconds,
    });
    this.owners = new OwnerLookup(opts.client, {
      qps: opts.ownerQps,
      burst: opts.ownerBurst,
      ttlMs: opts.ownerTtlMs ?? 30 * 60_000,
      notFoundTtlMs: 60_000,
      idleMs: 60 * 60_000,
      logger: opts.logger,
      metrics: opts.metrics,
    });
  }

  start(): void {
    this.runs = [this.pods.run(this.abort.signal), this.nodes.run(this.abort.signal)];
  }

  get synced(): boolean {
    return this.pods.synced && this.nodes.synced;
  }

  node(): Node | undefined {
    return this.nodes.items.get(`/${this.opts.nodeName}`);
  }

  /**
   * Emits the current facts. `shared` marks owner series: other agents emit the same ones (pods of one
   * ReplicaSet run on several nodes), so they must carry no per-agent label and get no stale markers.
   * An object's facts are computed once per version of it (the reflectors and the owner lookup replace
   * an object when it changes) and re-emitted every round as they are.
   */
  collect(emit: (fact: Fact) => void): void {
    const want = this.opts.want;
    const n = this.node();
    if (n) for (const f of this.factsOf(n, false, (e) => nodeFacts(n, e, want))) emit(f);
    const wantRs = want('kube_replicaset_owner');
    const wantJob = want('kube_job_owner');
    const seen = new Set<string>();
    for (const pod of this.pods.items.values()) {
      for (const f of this.factsOf(pod, false, (e) => podFacts(pod, e, want))) emit(f);
      if (!wantRs && !wantJob) continue;
      for (const o of ownersToLookUp(pod)) {
        if ((o.kind === 'ReplicaSet' && !wantRs) || (o.kind === 'Job' && !wantJob)) continue;
        const k = `${o.kind}/${o.namespace}/${o.name}`;
        if (seen.has(k)) continue;
        seen.add(k);
        const obj = this.owners.get(o.kind, o.namespace, o.name);
        if (!obj) continue;
        for (const f of this.factsOf(obj, true, (e) => (o.kind === 'ReplicaSet' ? replicaSetFacts(obj, e) : jobFacts(obj, e)))) emit(f);
      }
    }
    this.owners.prune();
  }

  private factsOf(obj: object, shared: boolean, compute: (emit: FactEmitter) => void): Fact[] {
    let facts = this.facts.get(obj);
    if (!facts) {
      const list: Fact[] = [];
      compute((name, labels, value) => list.push({ name, labels, value, shared, key: seriesKey(labels, name) }));
      this.facts.set(obj, list);
      facts = list;
    }
    return facts;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.owners.stop();
    await Promise.all(this.runs);
  }
}
