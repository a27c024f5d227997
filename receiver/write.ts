// POST /api/v1/write: remote-write 1.0 and 2.0. The schema comes from Content-Type, the tenant from the
// token; the store commits the valid part of a request in one transaction and reports what it refused.

import type Koa from 'koa';
import { checkContentEncoding, decodeWriteRequest, remoteWriteVersionFor, snappyDecode } from '../protocol/index.ts';
import type { RemoteWriteVersion, WriteLimits } from '../protocol/types.ts';
import type { IngestResult, Storage, Tenant, WrittenCounts } from '../storage/types.ts';
import type { Logger } from '../lib/log.ts';
import type { Authenticator } from './auth.ts';
import { readBody } from './body.ts';
import { ReceiverError } from './errors.ts';
import type { ReceiverMetrics } from './metrics.ts';
import type { TenantRateLimiter } from './rate-limit.ts';

export const WRITTEN_HEADERS = {
  samples: 'X-Prometheus-Remote-Write-Samples-Written',
  histograms: 'X-Prometheus-Remote-Write-Histograms-Written',
  exemplars: 'X-Prometheus-Remote-Write-Exemplars-Written',
} as const;

export interface WriteHandlerOptions {
  storage: Storage;
  auth: Authenticator;
  limiter: TenantRateLimiter;
  metrics: ReceiverMetrics;
  logger: Logger;
  limits: WriteLimits;
  maxBodyBytes: number;
  maxDecodedBytes: number;
  now?: () => number;
}

/** RW 2.0 answers carry the Written headers whatever the outcome; 1.0 answers never do (client_golang#1927). */
function setWritten(ctx: Koa.Context, version: RemoteWriteVersion | null, written: WrittenCounts): void {
  if (version !== 2) return;
  ctx.set(WRITTEN_HEADERS.samples, String(written.samples));
  ctx.set(WRITTEN_HEADERS.histograms, String(written.histograms));
  ctx.set(WRITTEN_HEADERS.exemplars, String(written.exemplars));
}

const NOTHING_WRITTEN: WrittenCounts = { samples: 0, histograms: 0, exemplars: 0 };

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A readable 400 body: how much was refused, why, and one example per reason. */
export function describeRejections(result: IngestResult): string {
  const lines = result.rejected.map((r) => {
    const parts = [r.samples && plural(r.samples, 'sample'), r.histograms && plural(r.histograms, 'histogram'), r.exemplars && plural(r.exemplars, 'exemplar')].filter(Boolean);
    return `${r.reason} (${parts.join(', ') || plural(r.series, 'series')}): ${r.example}`;
  });
  const w = result.written;
  return `some data was refused and not written; written: ${plural(w.samples, 'sample')}, ${plural(w.histograms, 'histogram')}, ${plural(w.exemplars, 'exemplar')}\n${lines.join('\n')}\n`;
}

export function createWriteHandler(options: WriteHandlerOptions): Koa.Middleware {
  const { storage, auth, limiter, metrics, logger, limits } = options;
  const now = options.now ?? Date.now;

  return async (ctx) => {
    let version: RemoteWriteVersion | null = null;
    let tenant: Tenant | null = null;
    try {
      // The version is read first so that every answer to a 2.0 request, even a 401, carries the Written
      // headers; a bad Content-Type is reported only after authentication so strangers learn nothing.
      let contentTypeError: unknown = null;
      try {
        version = remoteWriteVersionFor(ctx.get('content-type') || undefined);
      } catch (error) {
        contentTypeError = error;
      }
      tenant = await auth.authenticate(ctx.get('authorization') || undefined);
      if (contentTypeError !== null || version === null) throw contentTypeError;
      checkContentEncoding(ctx.get('content-encoding') || undefined);
      const body = await readBody(ctx.req, options.maxBodyBytes);
      const request = decodeWriteRequest(version, snappyDecode(body, options.maxDecodedBytes));

      const items = request.samples.length + request.histograms.length + request.exemplars.length;
      const decision = limiter.take(tenant.id, items);
      if (!decision.allowed) {
        metrics.rejectedSamples.inc({ tenant: tenant.name, reason: 'rate_limited' }, request.samples.length);
        metrics.rejectedHistograms.inc({ tenant: tenant.name, reason: 'rate_limited' }, request.histograms.length);
        metrics.rejectedExemplars.inc({ tenant: tenant.name, reason: 'rate_limited' }, request.exemplars.length);
        throw new ReceiverError('rate_limited', `tenant ${tenant.name} is over its ingestion rate; retry after ${decision.retryAfterSeconds}s`, {
          retryAfterSeconds: decision.retryAfterSeconds,
        });
      }

      const result = await storage.writer.write(tenant.id, request, limits, now());
      record(metrics, tenant.name, result);
      setWritten(ctx, version, result.written);
      if (result.rejected.length > 0) {
        ctx.status = 400;
        ctx.type = 'text/plain';
        ctx.body = describeRejections(result);
        logger.info('write partly refused', { tenant: tenant.name, version, written: result.written, rejected: result.rejected.map((r) => ({ reason: r.reason, samples: r.samples, histograms: r.histograms, exemplars: r.exemplars })) });
        return;
      }
      ctx.status = 204;
    } catch (error) {
      setWritten(ctx, version, NOTHING_WRITTEN);
      throw error;
    }
  };
}

function record(metrics: ReceiverMetrics, tenant: string, result: IngestResult): void {
  metrics.ingestedSamples.inc({ tenant }, result.written.samples);
  metrics.ingestedHistograms.inc({ tenant }, result.written.histograms);
  metrics.ingestedExemplars.inc({ tenant }, result.written.exemplars);
  if (result.duplicates) metrics.duplicateSamples.inc({ tenant }, result.duplicates);
  if (result.seriesCreated) metrics.seriesCreated.inc({ tenant }, result.seriesCreated);
  for (const r of result.rejected) {
    if (r.samples) metrics.rejectedSamples.inc({ tenant, reason: r.reason }, r.samples);
    if (r.histograms) metrics.rejectedHistograms.inc({ tenant, reason: r.reason }, r.histograms);
    if (r.exemplars) metrics.rejectedExemplars.inc({ tenant, reason: r.reason }, r.exemplars);
  }
}
