// Liveness says the process serves HTTP; readiness says it can do its job: the database answers and every
// migration is applied, and it is not shutting down (so a load balancer drains it first).

import type Koa from 'koa';
import type { Storage } from '../storage/types.ts';

export interface Lifecycle {
  shuttingDown: boolean;
}

export function healthy(): Koa.Middleware {
  return (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'Trimtab is Healthy.\n';
  };
}

export function ready(storage: Storage, lifecycle: Lifecycle): Koa.Middleware {
  return async (ctx) => {
    ctx.type = 'text/plain';
    if (lifecycle.shuttingDown) {
      ctx.status = 503;
      ctx.body = 'Trimtab is shutting down.\n';
      return;
    }
    const state = await storage.ready().catch((error: unknown) => ({ ok: false as const, reason: error instanceof Error ? error.message : String(error) }));
    if (state.ok) {
      ctx.body = 'Trimtab is Ready.\n';
    } else {
      ctx.status = 503;
      ctx.body = `Trimtab is not ready: ${state.reason}\n`;
    }
  };
}
