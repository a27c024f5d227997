// `trimtab agent`: scrape this node's kubelet (cAdvisor, resource metrics) and the configured extra
// targets, compute the kube-state-metrics series of this node's pods and of the node, keep what the rules
// need, and remote-write it. Serves /metrics, /-/healthy and /-/ready; stop() flushes the buffer.

import type { Server } from 'node:http';
import { createLogger, type Logger } from '../lib/log.ts';
import type { Label } from '../protocol/types.ts';
import type { AgentConfig } from './config.ts';
import { FACT_FAMILIES, type Node } from './ksm.ts';
import { Endpoint } from './http.ts';
import { defaultKeepList, KeepList, keepListFromRuleFiles } from './keep.ts';
import { inClusterAccess, KubeClient, kubeconfigAccess, KubeFacts, type KubeAccess } from './kube.ts';
import { createAgentMetrics, type AgentMetrics } from './metrics.ts';
import { ScrapeTarget } from './scrape.ts';
import { RemoteWriteSender } from './sender.ts';
import { SeriesRegistry, TargetSeries } from './series.ts';
import pkg from '../package.json' with { type: 'json' };

// Not `import … from 'node:http'`: see agent/http.ts (that import loads Node's bundled undici).
const { createServer } = process.getBuiltinModule('node:http');

export interface AgentOptions {
  logger?: Logger;
  /** Test hooks: extra environment for in-cluster detection (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
  /** Register Node's default process metrics (CPU, RSS, GC) on /metrics; default true. */
  defaultMetrics?: boolean;
  /** Random source for retry jitter (tests). */
  random?: () => number;
  /** Kubernetes watch timeout range in seconds (tests use short ones). */
  watchTimeoutSeconds?: [number, number];
}

export interface RunningAgent {
  /** The address /metrics, /-/healthy and /-/ready are served on. */
  address: { host: string; port: number };
  metrics: AgentMetrics;
  sender: RemoteWriteSender;
  keep: KeepList;
  targets: ScrapeTarget[];
  kube: KubeFacts | null;
  /** Resolves after the next complete scrape round (tests). */
  nextRound(): Promise<number>;
  /** Scrape rounds completed. */
  readonly rounds: number;
  ready(): boolean;
  /** Stops scraping, flushes the buffer (up to the shutdown timeout) and closes the server. */
  stop(): Promise<{ delivered: boolean; persisted: number; dropped: number }>;
}

/** Starts the agent from a resolved configuration. */
export async function startAgent(config: AgentConfig, options: AgentOptions = {}): Promise<RunningAgent> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, base: { role: 'agent' } });
  const env = options.env ?? process.env;
  const metrics = createAgentMetrics(pkg.version, { defaultMetrics: options.defaultMetrics });

  // Keep-list: from the rule files, else the built-in list; plus --keep-metric.
  let keep: KeepList;
  if (config.ruleFiles.length) {
    const r = await keepListFromRuleFiles(config.ruleFiles, config.keepMetrics);
    for (const w of r.warnings) logger.warn(w);
    keep = r.keep;
    logger.info('keep-list from rule files', { files: r.files, names: keep.names.size, patterns: keep.patterns.length });
  } else {
    keep = defaultKeepList(config.keepMetrics);
    logger.info('keep-list: built-in rule pack inputs', { names: keep.names.size, patterns: keep.patterns.length });
  }

  const remote = new Endpoint(config.remoteWriteUrl, {
    tls: config.tls,
    auth: { bearerTokenFile: config.bearerTokenFile, basicAuth: config.basicAuth },
    maxSockets: config.shards,
  });
  await remote.check();
  const sender = new RemoteWriteSender({
    endpoint: remote,
    version: config.remoteWriteVersion,
    shards: config.shards,
    maxSamplesPerSend: config.maxSamplesPerSend,
    batchDeadlineMs: config.batchSendDeadlineMs,
    minBackoffMs: config.minBackoffMs,
    maxBackoffMs: config.maxBackoffMs,
    retryOn429: config.retryOn429,
    maxRetryAfterMs: 10 * 60_000,
    timeoutMs: config.remoteTimeoutMs,
    buffer: config.buffer,
    metrics,
    logger: logger.child({ component: 'sender' }),
    userAgent: `Trimtab-Agent/${pkg.version}`,
    random: options.random,
  });

  const registry = new SeriesRegistry(config.shards, config.externalLabels);
  const nodeLabel: Label[] = config.nodeName ? [{ name: 'node', value: config.nodeName }] : [];

  // Kubernetes: in a cluster (service account) or through --kubeconfig.
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT);
  let access: KubeAccess | null = null;
  const wantFacts = config.kubeFacts === 'true' || (config.kubeFacts === 'auto' && (inCluster || config.kubeconfig !== undefined) && config.nodeName !== undefined);
  if (wantFacts) {
    if (!config.nodeName) throw new Error('--kube-facts=true needs --node-name (TRIMTAB_NODE_NAME)');
    access = config.kubeconfig ? await kubeconfigAccess(config.kubeconfig) : await inClusterAccess(env, config.serviceAccountDir);
    logger.info('Kubernetes API access', { source: access.source, server: access.endpoint.url.origin, node: config.nodeName });
  }
  const kube = access
    ? new KubeFacts({
        client: new KubeClient(access.endpoint, metrics),
        nodeName: config.nodeName!,
        want: (name) => keep.has(name),
        logger: logger.child({ component: 'kube' }),
        metrics,
        ownerQps: config.ownerLookupQps,
        ownerBurst: config.ownerLookupBurst,
        watchTimeoutSeconds: options.watchTimeoutSeconds,
      })
    : null;

  // Targets: the configured extra targets now, the kubelet once its address is known.
  const targets: ScrapeTarget[] = [];
  for (const t of config.scrapeTargets) {
    const url = new URL(t.url);
    targets.push(
      new ScrapeTarget(registry, {
        job: t.job,
        endpoint: new Endpoint(url, { maxSockets: 1 }),
        labels: [{ name: 'job', value: t.job }, { name: 'instance', value: url.host }, ...nodeLabel],
        timeoutMs: config.scrapeTimeoutMs,
      }),
    );
  }
  let kubeletAdded = false;
  const addKubelet = (base: string) => {
    if (kubeletAdded) return;
    kubeletAdded = true;
    const tokenFile = config.kubelet.tokenFile ?? (inCluster ? `${config.serviceAccountDir}/token` : undefined);
    const caFile = config.kubelet.caFile ?? (inCluster ? `${config.serviceAccountDir}/ca.crt` : undefined);
    const baseUrl = new URL(base);
    for (const path of config.kubelet.paths) {
      const url = new URL(path, baseUrl);
      targets.push(
        new ScrapeTarget(registry, {
          job: 'kubelet',
          endpoint: new Endpoint(url, { tls: { caFile, insecureSkipVerify: config.kubelet.insecureSkipVerify }, auth: { bearerTokenFile: tokenFile }, maxSockets: 1 }),
          labels: [{ name: 'job', value: 'kubelet' }, { name: 'instance', value: baseUrl.host }, { name: 'metrics_path', value: path }, ...nodeLabel],
          relabel: path === '/metrics/cadvisor' ? { dropLabels: new Set(config.dropLabels), dropNonPodContainers: true } : undefined,
          timeoutMs: config.scrapeTimeoutMs,
        }),
      );
    }
    logger.info('scraping the kubelet', { url: baseUrl.origin, paths: config.kubelet.paths });
  };
  const kubeletFromNode = (node: Node | undefined): string | undefined => {
    const ip = config.nodeIp ?? node?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    return ip ? `https://${ip.includes(':') ? `[${ip}]` : ip}:10250` : undefined;
  };
  if (config.kubelet.url) addKubelet(config.kubelet.url);
  else if (inCluster && config.nodeIp) addKubelet(kubeletFromNode(undefined)!);

  // The facts "target": kube-state-metrics' series, with job="kube-state-metrics" and no instance label
  // (owner series must be identical across agents).
  const factTarget = new TargetSeries(registry, [{ name: 'job', value: 'kube-state-metrics' }]);
  const factFamilies = new Map(Array.from(FACT_FAMILIES, ([name, f]) => [name, { name, type: f.type, help: f.help, unit: '' }] as const));

  await sender.start();
  kube?.start();

  let rounds = 0;
  const consecutiveFailures = new Map<ScrapeTarget, number>();
  let waiters: Array<(n: number) => void> = [];
  let stopping = false;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<void> | null = null;

  const round = async () => {
    const t0 = Date.now();
    if (kube && !kubeletAdded && inCluster && !config.kubelet.url) {
      const url = kubeletFromNode(kube.node());
      if (url) addKubelet(url);
    }
    const jobs = targets.map(async (t) => {
      const r = await t.scrape(sender, keep);
      metrics.scrapes.inc({ job: t.job, result: r.ok ? 'success' : 'failure' });
      metrics.scrapeDuration.observe({ job: t.job }, r.durationMs / 1000);
      metrics.samplesScraped.inc({ job: t.job }, r.samples);
      const s = t.series.stats;
      if (s.duplicateTimestamp) metrics.samplesSkipped.inc({ reason: 'duplicate_timestamp' }, s.duplicateTimestamp);
      if (s.outOfOrder) metrics.samplesSkipped.inc({ reason: 'out_of_order' }, s.outOfOrder);
      if (s.duplicateSeries) metrics.samplesSkipped.inc({ reason: 'duplicate_series' }, s.duplicateSeries);
      if (s.invalid) metrics.samplesSkipped.inc({ reason: 'invalid_labels' }, s.invalid);
      if (s.stale) metrics.staleMarkers.inc(s.stale);
      // Log a failing target when it starts failing, then every 20th failure, not every interval.
      const failures = r.ok ? 0 : (consecutiveFailures.get(t) ?? 0) + 1;
      if (!r.ok && (failures === 1 || failures % 20 === 0)) {
        const tlsHint = t.job === 'kubelet' && /self[- ]signed|unable to verify|certificate/i.test(String(r.error?.message))
          ? "the kubelet's serving certificate is not signed by the CA given (kubeadm's default kubelet certificates are self-signed): set --kubelet-ca-file or --kubelet-insecure-skip-verify"
          : undefined;
        logger.warn('scrape failed', { job: t.job, url: t.url, error: r.error, consecutive_failures: failures, hint: tlsHint });
      } else if (r.ok && (consecutiveFailures.get(t) ?? 0) > 0) {
        logger.info('scrape recovered', { job: t.job, url: t.url });
      }
      consecutiveFailures.set(t, failures);
    });
    if (kube && kube.synced) {
      const started = performance.now();
      factTarget.begin(factFamilies);
      kube.collect((f) => {
        factTarget.addLabels(sender, f.key, () => ({ labels: [{ name: '__name__', value: f.name }, ...f.labels], family: factFamilies.get(f.name) ?? null, shared: f.shared }), f.value, t0);
      });
      factTarget.end(sender, t0);
      const s = factTarget.stats;
      metrics.scrapes.inc({ job: 'kube-state-metrics', result: 'success' });
      metrics.scrapeDuration.observe({ job: 'kube-state-metrics' }, (performance.now() - started) / 1000);
      metrics.samplesScraped.inc({ job: 'kube-state-metrics' }, s.kept);
      if (s.stale) metrics.staleMarkers.inc(s.stale);
      if (s.invalid) metrics.samplesSkipped.inc({ reason: 'invalid_labels' }, s.invalid);
    }
    await Promise.all(jobs);
    sender.flush();
    rounds++;
    if (logger !== undefined) {
      // Under --expose-gc (diagnostics), measure live memory rather than what the collector has not reclaimed yet.
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      logger.debug('scrape round done', { round: rounds, ms: Date.now() - t0, series: registry.size, pending: sender.pendingSamples, rss: m.rss, heap_used: m.heapUsed, heap_total: m.heapTotal, external: m.external, array_buffers: m.arrayBuffers });
    }
    const w = waiters;
    waiters = [];
    for (const f of w) f(rounds);
  };

  const schedule = (delay: number) => {
    if (stopping) return;
    timer = setTimeout(async () => {
      const started = Date.now();
      current = round().catch((error: unknown) => logger.error('scrape round failed', { error }));
      await current;
      current = null;
      // Keep the cadence: the next round starts one interval after this one started.
      schedule(Math.max(0, config.scrapeIntervalMs - (Date.now() - started)));
    }, delay);
  };

  // Wait briefly for the first list of pods and the node, so that the first round has them.
  if (kube) {
    const deadline = Date.now() + Math.min(10_000, config.scrapeIntervalMs);
    while (!kube.synced && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
  schedule(0);

  const ready = () => !stopping && rounds > 0 && (!kube || kube.synced);
  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      try {
        const body = await metrics.registry.metrics();
        res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(body);
      } catch (error) {
        res.writeHead(500).end(String((error as Error).message));
      }
    } else if (path === '/-/healthy') {
      res.writeHead(stopping ? 503 : 200, { 'Content-Type': 'text/plain' }).end(stopping ? 'stopping\n' : 'Trimtab agent is healthy.\n');
    } else if (path === '/-/ready') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'Trimtab agent is ready.\n' : 'not ready\n');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const addr = server.address() as { address: string; port: number };
  logger.info('agent started', {
    listen: `${addr.address}:${addr.port}`,
    remote_write: new URL(config.remoteWriteUrl).origin,
    version: config.remoteWriteVersion,
    targets: targets.map((t) => t.url),
    kube_facts: kube !== null,
    cluster: config.cluster,
  });

  return {
    address: { host: addr.address, port: addr.port },
    metrics,
    sender,
    keep,
    targets,
    kube,
    get rounds() {
      return rounds;
    },
    nextRound: () => new Promise<number>((resolve) => waiters.push(resolve)),
    ready,
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      // Let a round in progress finish (bounded by the scrape timeout): its samples are flushed below.
      // Scrapes are not aborted, which would mark every series stale.
      if (current) await current;
      await kube?.stop();
      const result = await sender.stop(config.shutdownTimeoutMs);
      for (const t of targets) t.options.endpoint.destroy();
      access?.endpoint.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      logger.info('agent stopped', result);
      const w = waiters;
      waiters = [];
      for (const f of w) f(rounds);
      return result;
    },
  };
}
