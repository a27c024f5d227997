// A receiver on 127.0.0.1 over a fresh store, for tests that speak real HTTP: PostgreSQL (a new database on
// the local server, optionally reached through a fault-injecting TCP proxy) or PGlite in a temp directory.

import { createLogger, silentLogger, type Logger } from '../../lib/log.ts';
import { DEFAULT_WRITE_LIMITS, type WriteLimits } from '../../protocol/types.ts';
import { createReceiver, type Receiver, type ReceiverOptions } from '../../receiver/app.ts';
import { startServer, type RunningServer } from '../../receiver/server.ts';
import { openStorage } from '../../storage/open.ts';
import type { Storage, Tenant } from '../../storage/types.ts';
import { createTestDatabase, tempDataDir } from './databases.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

export type Backend = 'pg' | 'pglite';
export const BACKENDS: Backend[] = ['pg', 'pglite'];

export interface TestReceiver {
  url: string;
  storage: Storage;
  receiver: Receiver;
  server: RunningServer;
  /** Present for 'pg' with `viaProxy`: cut it to make the database unreachable. */
  proxy: TcpProxy | null;
  tenants: Record<string, { tenant: Tenant; token: string }>;
  stop(): Promise<void>;
}

export interface TestReceiverOptions {
  tenants?: string[];
  viaProxy?: boolean;
  limits?: Partial<WriteLimits>;
  receiver?: Partial<Omit<ReceiverOptions, 'storage' | 'logger' | 'limits'>>;
  /** Where the receiver logs (default: nowhere, or stdout with TRIMTAB_TEST_LOGS=1). */
  logger?: Logger;
}

export async function startTestReceiver(backend: Backend, options: TestReceiverOptions = {}): Promise<TestReceiver> {
  let proxy: TcpProxy | null = null;
  let cleanup: () => Promise<void>;
  let storage: Storage;
  if (backend === 'pg') {
    const db = await createTestDatabase();
    let url = db.url;
    if (options.viaProxy) {
      const u = new URL(db.url);
      proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
      u.host = `127.0.0.1:${proxy.port}`;
      url = u.toString();
    }
    storage = await openStorage({ databaseUrl: url, dataDir: '', poolMax: 4 });
    cleanup = async () => {
      await proxy?.close();
      await db.drop();
    };
  } else {
    const dir = await tempDataDir();
    storage = await openStorage({ dataDir: dir.path });
    cleanup = () => dir.remove();
  }
  await storage.migrate();
  const tenants: TestReceiver['tenants'] = {};
  for (const name of options.tenants ?? ['alpha', 'beta']) tenants[name] = await storage.tenants.createTenant(name);

  const receiver = createReceiver({
    storage,
    logger: options.logger ?? (process.env.TRIMTAB_TEST_LOGS ? createLogger({ level: 'debug' }) : silentLogger),
    version: 'test',
    limits: { ...DEFAULT_WRITE_LIMITS, ...options.limits },
    maxBodyBytes: 1 << 20,
    maxDecodedBytes: 4 << 20,
    ingestionRate: 0,
    ingestionBurst: 1,
    ...options.receiver,
  });
  const server = await startServer(receiver.app, { host: '127.0.0.1', port: 0 }, receiver.lifecycle, silentLogger);
  return {
    url: `http://127.0.0.1:${server.address.port}`,
    storage,
    receiver,
    server,
    proxy,
    tenants,
    async stop() {
      await server.shutdown(5_000);
      await storage.close();
      await cleanup();
    },
  };
}
