// The agent's own metrics (prom-client), served on its /metrics. One registry per agent instance.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface AgentMetrics {
  registry: Registry;
  scrapes: Counter<'job' | 'result'>;
  scrapeDuration: Histogram<'job'>;
  samplesScraped: Counter<'job'>;
  samplesSkipped: Counter<'reason'>;
  staleMarkers: Counter;
  samplesSent: Counter;
  samplesFailed: Counter<'code'>;
  samplesRetried: Counter;
  samplesDropped: Counter<'reason'>;
  requests: Counter<'code'>;
  sendDuration: Histogram;
  queueSamples: Gauge;
  queueBytes: Gauge<'location'>;
  remoteWriteVersion: Gauge;
  kubeRequests: Counter<'resource' | 'verb' | 'code'>;
  kubeWatchRestarts: Counter<'resource' | 'reason'>;
  kubeObjects: Gauge<'resource'>;
  ownerLookups: Counter<'result'>;
}

export function createAgentMetrics(version: string, options: { defaultMetrics?: boolean } = {}): AgentMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new Gauge({ name: 'trimtab_agent_build_info', help: 'Build information; the value is always 1.', labelNames: ['version', 'node_version'], registers }).set(
    { version, node_version: process.version },
    1,
  );
  return {
    registry,
    scrapes: new Counter({ name: 'trimtab_agent_scrapes_total', help: 'Scrapes by job and result (success, failure).', labelNames: ['job', 'result'], registers }),
    scrapeDuration: new Histogram({
      name: 'trimtab_agent_scrape_duration_seconds',
      help: 'Time to scrape and parse one target (or to compute the Kubernetes facts).',
      labelNames: ['job'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    samplesScraped: new Counter({ name: 'trimtab_agent_samples_scraped_total', help: 'Samples kept from scrapes (after the keep-list and relabelling), by job.', labelNames: ['job'], registers }),
    samplesSkipped: new Counter({
      name: 'trimtab_agent_samples_skipped_total',
      help: 'Scraped samples not queued: duplicate_timestamp (the target repeated an explicit timestamp), out_of_order, duplicate_series (two lines with the same labels in one scrape), invalid_labels.',
      labelNames: ['reason'],
      registers,
    }),
    staleMarkers: new Counter({ name: 'trimtab_agent_stale_markers_total', help: 'Staleness markers queued for series that disappeared.', registers }),
    samplesSent: new Counter({ name: 'trimtab_agent_samples_sent_total', help: 'Samples the remote endpoint accepted (2xx).', registers }),
    samplesFailed: new Counter({
      name: 'trimtab_agent_samples_failed_total',
      help: 'Samples the remote endpoint refused for good (4xx other than 429, or 415 after falling back to 1.0), by status code; never retried.',
      labelNames: ['code'],
      registers,
    }),
    samplesRetried: new Counter({ name: 'trimtab_agent_samples_retried_total', help: 'Samples sent again after a 5xx, a 429, a network error or a 415 fallback.', registers }),
    samplesDropped: new Counter({
      name: 'trimtab_agent_samples_dropped_total',
      help: 'Samples dropped before being sent: buffer_full (the buffer bound was reached; oldest first), shutdown (unsent at exit without a buffer directory), corrupt_spill (an unreadable spill file).',
      labelNames: ['reason'],
      registers,
    }),
    requests: new Counter({ name: 'trimtab_agent_remote_write_requests_total', help: 'Remote-write requests by status code ("error" for network errors).', labelNames: ['code'], registers }),
    sendDuration: new Histogram({
      name: 'trimtab_agent_remote_write_duration_seconds',
      help: 'Latency of one remote-write request.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    queueSamples: new Gauge({ name: 'trimtab_agent_queue_samples', help: 'Samples waiting to be sent (open batches and buffered blocks).', registers }),
    queueBytes: new Gauge({ name: 'trimtab_agent_queue_bytes', help: 'Bytes of encoded blocks waiting to be sent, by location (memory, disk).', labelNames: ['location'], registers }),
    remoteWriteVersion: new Gauge({ name: 'trimtab_agent_remote_write_version', help: 'Remote-write protocol major version in use (2 falls back to 1 on 415).', registers }),
    kubeRequests: new Counter({ name: 'trimtab_agent_kube_api_requests_total', help: 'Kubernetes API requests by resource, verb and status code.', labelNames: ['resource', 'verb', 'code'], registers }),
    kubeWatchRestarts: new Counter({ name: 'trimtab_agent_kube_watch_restarts_total', help: 'Kubernetes watches restarted, by resource and reason (expired = 410 Gone, relist).', labelNames: ['resource', 'reason'], registers }),
    kubeObjects: new Gauge({ name: 'trimtab_agent_kube_objects', help: 'Kubernetes objects in the agent cache, by resource.', labelNames: ['resource'], registers }),
    ownerLookups: new Counter({ name: 'trimtab_agent_owner_lookups_total', help: 'ReplicaSet/Job owner lookups by result (hit, fetched, not_found, error, throttled).', labelNames: ['result'], registers }),
  };
}
