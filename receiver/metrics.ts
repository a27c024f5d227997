// The receiver's own metrics, in a registry per app instance (tests start several).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Storage } from '../storage/types.ts';

export interface ReceiverMetrics {
  registry: Registry;
  requests: Counter<'handler' | 'code'>;
  requestDuration: Histogram<'handler'>;
  ingestedSamples: Counter<'tenant'>;
  ingestedHistograms: Counter<'tenant'>;
  ingestedExemplars: Counter<'tenant'>;
  rejectedSamples: Counter<'tenant' | 'reason'>;
  rejectedHistograms: Counter<'tenant' | 'reason'>;
  rejectedExemplars: Counter<'tenant' | 'reason'>;
  duplicateSamples: Counter<'tenant'>;
  seriesCreated: Counter<'tenant'>;
  inflight: Gauge;
}

export function createReceiverMetrics(storage: Storage, version: string): ReceiverMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new Gauge({
    name: 'trimtab_build_info',
    help: 'Build information; the value is always 1.',
    labelNames: ['version', 'node_version', 'store'],
    registers,
  }).set({ version, node_version: process.version, store: storage.driver }, 1);
  new Gauge({
    name: 'trimtab_db_pool_connections',
    help: 'Database connections of this process by state (total, idle, waiting clients).',
    labelNames: ['state'],
    registers,
    collect() {
      const stats = storage.poolStats();
      this.set({ state: 'total' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
    },
  });
  return {
    registry,
    requests: new Counter({ name: 'trimtab_receiver_requests_total', help: 'HTTP requests by handler and status code.', labelNames: ['handler', 'code'], registers }),
    requestDuration: new Histogram({
      name: 'trimtab_receiver_request_duration_seconds',
      help: 'HTTP request latency by handler, from first byte to response.',
      labelNames: ['handler'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    ingestedSamples: new Counter({ name: 'trimtab_receiver_samples_ingested_total', help: 'Float samples committed to the store.', labelNames: ['tenant'], registers }),
    ingestedHistograms: new Counter({ name: 'trimtab_receiver_histograms_ingested_total', help: 'Native histogram samples committed to the store.', labelNames: ['tenant'], registers }),
    ingestedExemplars: new Counter({ name: 'trimtab_receiver_exemplars_ingested_total', help: 'Exemplars committed to the store.', labelNames: ['tenant'], registers }),
    rejectedSamples: new Counter({ name: 'trimtab_receiver_samples_rejected_total', help: 'Float samples refused, by reason.', labelNames: ['tenant', 'reason'], registers }),
    rejectedHistograms: new Counter({ name: 'trimtab_receiver_histograms_rejected_total', help: 'Native histogram samples refused, by reason.', labelNames: ['tenant', 'reason'], registers }),
    rejectedExemplars: new Counter({ name: 'trimtab_receiver_exemplars_rejected_total', help: 'Exemplars refused, by reason.', labelNames: ['tenant', 'reason'], registers }),
    duplicateSamples: new Counter({ name: 'trimtab_receiver_samples_duplicate_total', help: 'Samples already stored with identical values (resends); accepted, not stored twice.', labelNames: ['tenant'], registers }),
    seriesCreated: new Counter({ name: 'trimtab_receiver_series_created_total', help: 'New series added to the index.', labelNames: ['tenant'], registers }),
    inflight: new Gauge({ name: 'trimtab_receiver_inflight_requests', help: 'Requests being served now.', registers }),
  };
}
