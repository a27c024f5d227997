// Starting the server roles from a validated config. `all` is every role in one process (for now the
// receiver; the analyzer joins it in a later issue) and is the embedded default.

import type { Logger } from '../lib/log.ts';
import { openStorage } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';
import { createReceiver } from '../receiver/app.ts';
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
  stop(): Promise<void>;
}

export async function startServerRoles(config: ServerConfig, logger: Logger, version: string, announce: (line: string) => void): Promise<RunningRoles> {
  const storage = await openConfiguredStorage(config, logger);
  try {
    const { applied } = await storage.migrate();
    if (applied.length) logger.info('migrations applied', { applied });
    await bootstrapTenant(storage, config, logger, announce);
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
    const server = await startServer(receiver.app, config.listen, receiver.lifecycle, logger);
    return {
      storage,
      servers: [server],
      async stop() {
        await server.shutdown(config.shutdownTimeoutMs);
        await storage.close();
      },
    };
  } catch (error) {
    await storage.close().catch(() => {});
    throw error;
  }
}
