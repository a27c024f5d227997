// The `analyzer` role's own HTTP endpoints: /metrics (leader election, rule evaluation and the
// recommendation gauges), /-/healthy, and /-/ready (database reachable and migrated, rule files loaded;
// readiness does not depend on leading — a follower is a ready standby).

import Koa from 'koa';
import type { Registry } from 'prom-client';
import type { Storage } from '../storage/types.ts';
import type { Analyzer } from './analyzer.ts';

export function createAnalyzerApp(options: { storage: Storage; analyzer: Analyzer; registry: Registry; isShuttingDown: () => boolean }): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      return;
    }
    ctx.type = 'text/plain';
    switch (ctx.path) {
      case '/metrics':
        ctx.type = options.registry.contentType;
        ctx.body = await options.registry.metrics();
        return;
      case '/-/healthy':
        ctx.body = 'Trimtab analyzer is Healthy.\n';
        return;
      case '/-/ready': {
        if (options.isShuttingDown()) {
          ctx.status = 503;
          ctx.body = 'Trimtab analyzer is shutting down.\n';
          return;
        }
        const state = await options.storage.ready().catch((error: unknown) => ({ ok: false as const, reason: error instanceof Error ? error.message : String(error) }));
        const rules = options.analyzer.lastLoad;
        if (!state.ok) {
          ctx.status = 503;
          ctx.body = `Trimtab analyzer is not ready: ${state.reason}\n`;
        } else if (!rules) {
          ctx.status = 503;
          ctx.body = 'Trimtab analyzer is not ready: rule files not loaded yet\n';
        } else {
          ctx.body = `Trimtab analyzer is Ready (${options.analyzer.leading ? 'leader' : 'standby'}; ${rules.groups} groups, ${rules.rules} rules${rules.ok ? '' : `; last reload refused: ${rules.error}`}).\n`;
        }
        return;
      }
      default:
        ctx.status = 404;
        ctx.body = 'not found\n';
    }
  });
  return app;
}
