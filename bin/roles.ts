// Starting the server roles from a validated config. `all` is every role in one process (receiver and
// analyzer) and is the embedded default.

import type { Logger } from '../lib/log.ts';
import { openStorage } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Analyzer } from '../analyzer/analyzer.ts';
import { resolveLeaderElectionConfig } from '../analyzer/config.ts';
import { createAnalyzerApp } from '../analyzer/http.ts';
import type { OpenStorage } from '../storage/open.ts';
import { createReceiver } from '../receiver/app.ts';
import type { Lifecycle } from '../receiver/health.ts';
import { startServer, type RunningServer } from '../receiver/server.ts';
import type { ServerConfig } from './config.ts';

export async function openConfiguredStorage(config: ServerConfig, logger: Logger): Promise<Storage> {
  return openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: config.dbPoolMax, seriesCacheSize: config.seriesCacheSize, logger });
}

/**
 * Creates tenant `default` when there is no tenant yet: with TRIMTAB_BOOTSTRAP_TOKEN as its token when set,
 * else with a new token printed once on stderr (not into the JSON log stream, which may be shipped away).
 */
export async function bootstrapTenant(storage: Storage, config: ServerConfig, logger: Logger, announce: (line: string) => void): Promise<void> {
  if ((await storage.tenants.countTenants()) > 0) return;
  try {
    const { token } = await storage.tenants.createTenant('default', config.bootstrapToken);
    if (config.bootstrapToken) {
      logger.info('created tenant default with the token from TRIMTAB_BOOTSTRAP_TOKEN');
    } else {
      logger.info('created tenant default; its token was printed once on stderr');
      announce(`\nCreated tenant "default". Its API token, shown only this once:\n\n  ${token}\n\nSend it as "Authorization: Bearer <token>" (or as the basic-auth password).\n`);
    }
  } catch (error) {
    // Another replica starting at the same moment may have created it first.
    if ((await storage.tenants.countTenants()) === 0) throw error;
  }
}

export interface RunningRoles {
  storage: Storage;
  servers: RunningServer[];
  analyzer: Analyzer | null;
  stop(): Promise<void>;
}

export type RoleSet = 'all' | 'receiver' | 'analyzer';

/**
 * Starts the server roles of `which`: the receiver, the analyzer, or both in one process (`all`). In `all`
 * the analyzer's metrics join the receiver's /metrics, and on the embedded store leader election defaults
 * to `none` (one process owns the data directory anyway).
 */
export async function startServerRoles(config: ServerConfig, logger: Logger, version: string, announce: (line: string) => void, which: RoleSet = 'all'): Promise<RunningRoles> {
  const storage = await openConfiguredStorage(config, logger);
  const servers: RunningServer[] = [];
  let analyzer: Analyzer | null = null;
  let lifecycle: Lifecycle = { shuttingDown: false };
  try {
    const { applied } = await storage.migrate();
    if (applied.length) logger.info('migrations applied', { applied });
    // Only a role that serves the API creates the first tenant: an analyzer starting first must not
    // create `default` with a random token and leave TRIMTAB_BOOTSTRAP_TOKEN of the receivers unused.
    if (which !== 'analyzer') await bootstrapTenant(storage, config, logger, announce);
    let registry: Registry | null = null;
    if (which !== 'analyzer') {
      const receiver = createReceiver({
        storage,
        logger: logger.child({ component: 'receiver' }),
        version,
        limits: {
          maxLabelsPerSeries: config.maxLabelsPerSeries,
          maxLabelNameLength: config.maxLabelNameLength,
          maxLabelValueLength: config.maxLabelValueLength,
          maxFutureMs: config.maxFutureMs,
          maxAgeMs: config.maxSampleAgeMs,
        },
        maxBodyBytes: config.maxBodyBytes,
        maxDecodedBytes: config.maxDecodedBytes,
        ingestionRate: config.ingestionRate,
        ingestionBurst: config.ingestionBurst,
        query: { maxSamples: config.queryMaxSamples, timeoutMs: config.queryTimeoutMs, lookbackDeltaMs: config.queryLookbackDeltaMs },
      });
      lifecycle = receiver.lifecycle;
      registry = receiver.metrics.registry;
      servers.push(await startServer(receiver.app, config.listen, receiver.lifecycle, logger));
    }
    if (which !== 'receiver') {
      const embedded = config.databaseUrl === undefined;
      const election = resolveLeaderElectionConfig(process.env, embedded && which === 'all' ? { defaultMode: 'none' } : {});
      if (!registry) {
        registry = new Registry();
        collectDefaultMetrics({ register: registry });
      }
      analyzer = new Analyzer({
        storage,
        driver: (storage as OpenStorage).db,
        logger: logger.child({ component: 'analyzer' }),
        registry,
        election,
        ruleFiles: config.ruleFiles,
        evaluationIntervalMs: config.evaluationIntervalMs,
        externalURL: config.externalUrl,
        query: { maxSamples: config.queryMaxSamples, timeoutMs: config.queryTimeoutMs, lookbackDeltaMs: config.queryLookbackDeltaMs },
      });
      await analyzer.start();
      logger.info('analyzer started', { leaderElection: election.mode, ruleFiles: analyzer.lastLoad?.files.length ?? 0, groups: analyzer.lastLoad?.groups ?? 0 });
      if (which === 'analyzer') {
        const app = createAnalyzerApp({ storage, analyzer, registry, isShuttingDown: () => lifecycle.shuttingDown });
        servers.push(await startServer(app, config.analyzerListen, lifecycle, logger));
      }
    }
    return {
      storage,
      servers,
      analyzer,
      async stop() {
        lifecycle.shuttingDown = true;
        await Promise.all(servers.map((s) => s.shutdown(config.shutdownTimeoutMs)));
        await analyzer?.stop();
        await storage.close();
      },
    };
  } catch (error) {
    await analyzer?.stop().catch(() => {});
    await Promise.all(servers.map((s) => s.shutdown(0).catch(() => {})));
    await storage.close().catch(() => {});
    throw error;
  }
}
