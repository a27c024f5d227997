// The HTTP server around a Koa app, with graceful shutdown: stop accepting, let in-flight requests finish
// (bounded by a timeout), then close what is left.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import type { Logger } from '../lib/log.ts';
import type { Lifecycle } from './health.ts';

export interface RunningServer {
  server: Server;
  /** The bound address, e.g. for listen port 0 in tests. */
  address: AddressInfo;
  /** Resolves once every in-flight request has finished or the timeout forced the rest closed. */
  shutdown(timeoutMs: number): Promise<void>;
}

export async function startServer(app: Koa, listen: { host: string; port: number }, lifecycle: Lifecycle, logger: Logger): Promise<RunningServer> {
  let inflight = 0;
  let drained: (() => void) | null = null;
  const handle = app.callback();
  const server = createServer((req, res) => {
    inflight++;
    res.once('close', () => {
      inflight--;
      if (inflight === 0 && drained) drained();
    });
    void handle(req, res);
  });
  // Longer than the idle timeouts of common load balancers and ingresses (60 s), so they close first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`cannot listen on ${listen.host}:${listen.port}: ${error.message}`, { cause: error })));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  logger.info('listening', { address: address.address, port: address.port });

  return {
    server,
    address,
    async shutdown(timeoutMs: number) {
      lifecycle.shuttingDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inflight > 0) {
        logger.info('waiting for in-flight requests', { inflight });
        const done = new Promise<void>((resolve) => {
          drained = resolve;
        });
        const timer = setTimeout(() => {
          logger.warn('shutdown timeout reached; closing remaining connections', { inflight });
          server.closeAllConnections();
        }, timeoutMs);
        await Promise.race([done, closed]);
        clearTimeout(timer);
      }
      server.closeIdleConnections();
      server.closeAllConnections();
      await closed;
    },
  };
}
