// The receiver's Koa application: routes, the error-to-status mapping, request metrics and access logs.

import Koa from 'koa';
import Router from '@koa/router';
import type { WriteLimits } from '../protocol/types.ts';
import type { Storage } from '../storage/types.ts';
import type { Logger } from '../lib/log.ts';
import { Authenticator } from './auth.ts';
import { ReceiverError, retryAfterFor, statusFor } from './errors.ts';
import { healthy, ready, type Lifecycle } from './health.ts';
import { createReceiverMetrics, type ReceiverMetrics } from './metrics.ts';
import { registerQueryApi, type QueryEngineLimits } from './query-api.ts';
import { rulesApiRoutes } from './rules-api.ts';
import { TenantRateLimiter } from './rate-limit.ts';
import { createWriteHandler } from './write.ts';

export interface ReceiverOptions {
  storage: Storage;
  logger: Logger;
  version: string;
  limits: WriteLimits;
  maxBodyBytes: number;
  maxDecodedBytes: number;
  /** Items per second per tenant (0 = off) and bucket size. */
  ingestionRate: number;
  ingestionBurst: number;
  /** PromQL engine limits of the query API (defaults: 50M samples, 2m timeout, 5m lookback). */
  query?: Partial<QueryEngineLimits>;
  now?: () => number;
}

export interface Receiver {
  app: Koa;
  metrics: ReceiverMetrics;
  lifecycle: Lifecycle;
}

/** Only these methods are served on each path; anything else is 405 with an Allow header. */
const ALLOWED: Record<string, string[]> = {
  '/api/v1/write': ['POST'],
  '/-/healthy': ['GET', 'HEAD'],
  '/-/ready': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
};

/** The route (as registered, e.g. '/api/v1/label/:name/values') a path belongs to, if any. */
function routeMatcher(allowed: Record<string, string[]>): (path: string) => string | undefined {
  const patterns = Object.keys(allowed)
    .filter((route) => route.includes(':'))
    .map((route) => ({ route, re: new RegExp(`^${route.split('/').map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`) }));
  return (path) => (allowed[path] ? path : patterns.find((p) => p.re.test(path))?.route);
}

export function createReceiver(options: ReceiverOptions): Receiver {
  const { storage, logger } = options;
  const metrics = createReceiverMetrics(storage, options.version);
  const lifecycle: Lifecycle = { shuttingDown: false };
  const auth = new Authenticator(storage.tenants);
  const limiter = new TenantRateLimiter(options.ingestionRate, options.ingestionBurst);
  const router = new Router();
  const allowed: Record<string, string[]> = {
    ...ALLOWED,
    ...registerQueryApi(router, { storage, auth, logger, version: options.version, limits: options.query, now: options.now }, rulesApiRoutes(storage)),
  };
  const routeOf = routeMatcher(allowed);

  const app = new Koa();
  app.proxy = true;
  app.silent = true; // errors are logged here, once, without request headers (they may hold tokens)

  app.use(async (ctx, next) => {
    const route = routeOf(ctx.path);
    const handler = route ?? 'other';
    const stop = metrics.requestDuration.startTimer({ handler });
    metrics.inflight.inc();
    try {
      const methods = route ? allowed[route] : undefined;
      if (methods && !methods.includes(ctx.method)) {
        ctx.set('Allow', methods.join(', '));
        throw new ReceiverError('method_not_allowed', `method ${ctx.method} not allowed on ${ctx.path}; use ${methods.join(' or ')}`);
      }
      await next();
    } catch (error) {
      const status = statusFor(error);
      const retryAfter = retryAfterFor(error);
      if (retryAfter !== undefined) ctx.set('Retry-After', String(retryAfter));
      ctx.status = status;
      // Answering before the body was read: the rest of it is still on the wire, so this connection
      // cannot carry another request.
      if (!ctx.req.complete) ctx.set('Connection', 'close');
      ctx.type = 'text/plain';
      const message = error instanceof Error ? error.message : String(error);
      ctx.body = status >= 500 && status !== 503 ? 'internal error\n' : `${message}\n`;
      const fields = { method: ctx.method, path: ctx.path, status, error };
      if (status >= 500) logger.error('request failed', fields);
      else logger.info('request refused', { method: ctx.method, path: ctx.path, status, reason: message });
    } finally {
      metrics.inflight.dec();
      stop();
      metrics.requests.inc({ handler, code: String(ctx.status) });
    }
  });

  router.post('/api/v1/write', createWriteHandler({
    storage,
    auth,
    limiter,
    metrics,
    logger,
    limits: options.limits,
    maxBodyBytes: options.maxBodyBytes,
    maxDecodedBytes: options.maxDecodedBytes,
    now: options.now,
  }));
  router.get('/-/healthy', healthy());
  router.get('/-/ready', ready(storage, lifecycle));
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  app.use(router.routes());

  return { app, metrics, lifecycle };
}
