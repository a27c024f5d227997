// The remote-write sender (reference §6, "what a well-behaved sender does").
//
//  - Samples are hash-sharded by series, so one series always goes through the same shard; each shard
//    sends one request at a time and moves on only when it succeeded or failed for good: per-series
//    order holds however many shards there are.
//  - A shard's samples are batched up to `maxSamplesPerSend` or `batchDeadlineMs`, whichever comes
//    first, encoded as a remote-write 1.0 request (one TimeSeries per sample, its labels copied from the
//    series' pre-encoded bytes, as Prometheus' queue manager does), snappy-compressed and queued in the
//    SpillBuffer (memory, then the buffer directory, oldest dropped beyond the bound). Empty requests are
//    never sent. A 2.0 request is transcoded from the buffered 1.0 block when it is sent.
//  - Remote-write 1.0 by default; 2.0 on request, falling back to 1.0 for good on a 415 or on a 2xx that
//    carries none of the X-Prometheus-Remote-Write-*-Written headers (a 1.0-only receiver that decoded
//    nothing), the request being resent as 1.0 at once.
//  - 5xx, network errors and timeouts are retried forever with exponential backoff and jitter; 429 is
//    retried after its Retry-After (seconds or an HTTP date) when given, else with the backoff. Other
//    4xx are never retried: the samples are counted as failed and the body logged verbatim.
//  - stop() seals the open batches and sends what it can before its deadline; what is left is written to
//    the buffer directory for the next run (or counted as dropped when there is none).

import type { Logger } from '../lib/log.ts';
import { CONTENT_TYPE_V2, PROTOBUF_MEDIA_TYPE } from '../protocol/content-type.ts';
import { decodeWriteRequestV1 } from '../protocol/decode-v1.ts';
import { encodeSamplesV1, encodeWriteRequestV2, type MetadataInput, type SampleInput, type SeriesInput } from '../protocol/encode.ts';
import { snappyDecode, snappyEncode } from '../protocol/snappy.ts';
import { MetricType, type MetricTypeValue } from '../protocol/types.ts';
import { SpillBuffer, type Block } from './buffer.ts';
import type { FamilyMeta } from './exposition.ts';
import { familyOf } from './exposition.ts';
import { request, type Endpoint } from './http.ts';
import type { AgentMetrics } from './metrics.ts';
import type { SampleAppender, SeriesRef } from './series.ts';

export interface SenderOptions {
  endpoint: Endpoint;
  /** 1 (default) or 2. */
  version: 1 | 2;
  shards: number;
  maxSamplesPerSend: number;
  batchDeadlineMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  retryOn429: boolean;
  /** Longest honoured Retry-After. */
  maxRetryAfterMs: number;
  timeoutMs: number;
  buffer: { dir?: string; memoryBytes: number; maxBytes: number };
  metrics: AgentMetrics;
  logger: Logger;
  userAgent: string;
  /** Largest error body kept for the log. */
  maxErrorBodyBytes?: number;
  /** Random source for the jitter (tests). */
  random?: () => number;
}

interface OpenBatch {
  refs: SeriesRef[];
  values: Float64Array;
  timestamps: Float64Array;
  n: number;
  timer: NodeJS.Timeout | null;
}

type Outcome = 'sent' | 'failed' | 'aborted';

const METRIC_TYPES: Record<string, MetricTypeValue> = {
  counter: MetricType.COUNTER,
  gauge: MetricType.GAUGE,
  histogram: MetricType.HISTOGRAM,
  gaugehistogram: MetricType.GAUGEHISTOGRAM,
  summary: MetricType.SUMMARY,
  info: MetricType.INFO,
  stateset: MetricType.STATESET,
};

const TYPE_NAMES: Record<number, FamilyMeta['type']> = {
  [MetricType.COUNTER]: 'counter',
  [MetricType.GAUGE]: 'gauge',
  [MetricType.HISTOGRAM]: 'histogram',
  [MetricType.GAUGEHISTOGRAM]: 'gaugehistogram',
  [MetricType.SUMMARY]: 'summary',
  [MetricType.INFO]: 'info',
  [MetricType.STATESET]: 'stateset',
};

/** Parses Retry-After: delay-seconds or an HTTP date. Null when absent or unparsable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return null;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const date = Date.parse(t);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

export class RemoteWriteSender implements SampleAppender {
  readonly buffer: SpillBuffer;
  private readonly opts: SenderOptions;
  private readonly open: OpenBatch[];
  private readonly wakers: Array<(() => void) | null>;
  private readonly loops: Promise<void>[] = [];
  private readonly random: () => number;
  private useV2: boolean;
  private stopping = false;
  /** Set at the shutdown deadline: abandon waits and in-flight requests. */
  private readonly hardStop = new AbortController();
  private recoveryDone: Promise<void> = Promise.resolve();
  private started = false;
  /** The last time a request succeeded (ms), for readiness. */
  lastSuccessMs = 0;

  constructor(opts: SenderOptions) {
    this.opts = opts;
    this.random = opts.random ?? Math.random;
    this.useV2 = opts.version === 2;
    this.buffer = new SpillBuffer({
      ...opts.buffer,
      shards: opts.shards,
      logger: opts.logger,
      onDrop: (samples, reason) => opts.metrics.samplesDropped.inc({ reason }, samples),
    });
    this.open = Array.from({ length: opts.shards }, () => ({
      refs: [],
      values: new Float64Array(opts.maxSamplesPerSend),
      timestamps: new Float64Array(opts.maxSamplesPerSend),
      n: 0,
      timer: null,
    }));
    this.wakers = Array.from({ length: opts.shards }, () => null);
    opts.metrics.remoteWriteVersion.set(this.useV2 ? 2 : 1);
  }

  /** The protocol version currently in use (2 until a fallback). */
  get version(): 1 | 2 {
    return this.useV2 ? 2 : 1;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.buffer.open();
    this.updateGauges();
    this.recoveryDone = this.drainRecovered();
    for (let s = 0; s < this.opts.shards; s++) this.loops.push(this.shardLoop(s));
  }

  append(ref: SeriesRef, value: number, timestampMs: number): void {
    if (this.stopping) return;
    const b = this.open[ref.shard];
    b.refs[b.n] = ref;
    b.values[b.n] = value;
    b.timestamps[b.n] = timestampMs;
    b.n++;
    if (b.n >= this.opts.maxSamplesPerSend) this.seal(ref.shard);
    else if (!b.timer) b.timer = setTimeout(() => this.seal(ref.shard), this.opts.batchDeadlineMs);
  }

  /** Seals every open batch now (the scrape loop calls it after a scrape when batching is not wanted). */
  flush(): void {
    for (let s = 0; s < this.opts.shards; s++) this.seal(s);
  }

  /** Samples not yet acknowledged: open batches plus buffered blocks. */
  get pendingSamples(): number {
    return this.open.reduce((n, b) => n + b.n, 0) + this.buffer.samples;
  }

  private seal(shard: number): void {
    const b = this.open[shard];
    if (b.timer) {
      clearTimeout(b.timer);
      b.timer = null;
    }
    if (b.n === 0) return;
    const body = snappyEncode(encodeSamplesV1(b.n, (i) => b.refs[i].key, b.values, b.timestamps, this.metadataOf(b)));
    const samples = b.n;
    b.n = 0;
    b.refs.length = 0;
    this.buffer.push(shard, body, samples);
    this.updateGauges();
    this.wakers[shard]?.();
  }

  /** WriteRequest.metadata for a batch: each family of its series once. */
  private metadataOf(b: OpenBatch): MetadataInput[] {
    const families = new Set<FamilyMeta>();
    for (let i = 0; i < b.n; i++) {
      const f = b.refs[i].family;
      if (f) families.add(f);
    }
    const metadata: MetadataInput[] = [];
    for (const f of families) metadata.push({ metricFamilyName: f.name, type: METRIC_TYPES[f.type] ?? MetricType.UNSPECIFIED, help: f.help, unit: f.unit });
    return metadata;
  }

  private updateGauges(): void {
    this.opts.metrics.queueSamples.set(this.pendingSamples);
    this.opts.metrics.queueBytes.set({ location: 'memory' }, this.buffer.memBytes);
    this.opts.metrics.queueBytes.set({ location: 'disk' }, this.buffer.diskBytes);
  }

  private async waitForWork(shard: number): Promise<void> {
    if (this.buffer.peek(shard) || this.stopping) return;
    await new Promise<void>((resolve) => {
      this.wakers[shard] = () => {
        this.wakers[shard] = null;
        resolve();
      };
    });
  }

  private async drainRecovered(): Promise<void> {
    while (this.buffer.recovered.length && !this.hardStop.signal.aborted) {
      const block = this.buffer.recovered[0];
      await this.deliver(block);
    }
  }

  private async shardLoop(shard: number): Promise<void> {
    await this.recoveryDone;
    for (;;) {
      if (this.hardStop.signal.aborted) return;
      const block = this.buffer.peek(shard);
      if (!block) {
        if (this.stopping) return;
        await this.waitForWork(shard);
        continue;
      }
      await this.deliver(block);
    }
  }

  /** Sends one block until it is delivered, refused for good, dropped, or the sender is hard-stopped. */
  private async deliver(block: Block): Promise<void> {
    block.inflight = true;
    try {
      const data = await this.buffer.load(block);
      if (!data) return;
      const outcome = await this.sendWithRetries(block, data);
      if (outcome === 'aborted') return;
      this.buffer.remove(block);
    } finally {
      block.inflight = false;
      this.updateGauges();
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.opts.maxBackoffMs, this.opts.minBackoffMs * 2 ** Math.min(attempt, 30));
    return base / 2 + (this.random() * base) / 2;
  }

  private async sleep(ms: number): Promise<boolean> {
    if (this.hardStop.signal.aborted) return false;
    return new Promise<boolean>((resolve) => {
      const onAbort = () => {
        clearTimeout(t);
        resolve(false);
      };
      const t = setTimeout(() => {
        this.hardStop.signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      this.hardStop.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async sendWithRetries(block: Block, v1: Uint8Array): Promise<Outcome> {
    const { metrics, logger } = this.opts;
    let attempt = 0;
    let v2Body: Uint8Array | null = null;
    for (;;) {
      if (this.hardStop.signal.aborted) return 'aborted';
      const useV2 = this.useV2;
      if (useV2 && !v2Body) v2Body = transcodeToV2(v1);
      const body = useV2 ? v2Body! : v1;
      const started = performance.now();
      let status = 0;
      let headers: Record<string, string | string[] | undefined> = {};
      let text = '';
      let truncated = false;
      let networkError: Error | null = null;
      try {
        const res = await request(this.opts.endpoint, {
          method: 'POST',
          headers: {
            'Content-Type': useV2 ? CONTENT_TYPE_V2 : PROTOBUF_MEDIA_TYPE,
            'Content-Encoding': 'snappy',
            'X-Prometheus-Remote-Write-Version': useV2 ? '2.0.0' : '0.1.0',
            'User-Agent': this.opts.userAgent,
          },
          body,
          timeoutMs: this.opts.timeoutMs,
          signal: this.hardStop.signal,
          maxBodyBytes: this.opts.maxErrorBodyBytes ?? 16 * 1024,
        });
        status = res.status;
        headers = res.headers;
        text = res.body.toString('utf8');
        truncated = res.truncated;
      } catch (e) {
        networkError = e as Error;
      }
      metrics.sendDuration.observe((performance.now() - started) / 1000);
      if (this.hardStop.signal.aborted) return 'aborted';
      metrics.requests.inc({ code: networkError ? 'error' : String(status) });

      if (!networkError && status >= 200 && status < 300) {
        if (useV2 && !hasWrittenHeaders(headers)) {
          // A 1.0-only receiver decodes a 2.0 body as an empty 1.0 request and says 2xx: treat as 415.
          this.fallBackToV1(`${status} without X-Prometheus-Remote-Write-*-Written headers`);
          metrics.samplesRetried.inc(block.samples);
          continue;
        }
        metrics.samplesSent.inc(block.samples);
        this.lastSuccessMs = Date.now();
        return 'sent';
      }
      if (!networkError && status === 415 && useV2) {
        this.fallBackToV1(`415 ${text.slice(0, 200)}`);
        metrics.samplesRetried.inc(block.samples);
        continue;
      }
      let delay: number;
      if (networkError) {
        delay = this.backoff(attempt);
        logger.warn('remote write failed; retrying', { error: networkError, attempt: attempt + 1, retry_in_ms: Math.round(delay), samples: block.samples });
      } else if (status === 429 && this.opts.retryOn429) {
        const retryAfter = parseRetryAfter(headers['retry-after']);
        delay = retryAfter === null ? this.backoff(attempt) : Math.min(retryAfter, this.opts.maxRetryAfterMs);
        logger.warn('remote write throttled (429); retrying', { attempt: attempt + 1, retry_in_ms: Math.round(delay), retry_after: headers['retry-after'] ?? null, samples: block.samples });
      } else if (status >= 500 || (status > 0 && status < 200) || (status >= 300 && status < 400)) {
        delay = this.backoff(attempt);
        logger.warn('remote write failed; retrying', { status, body: text, attempt: attempt + 1, retry_in_ms: Math.round(delay), samples: block.samples });
      } else {
        // 4xx other than 429 (and 415 on 1.0): the request can never succeed. Count, log verbatim, drop.
        metrics.samplesFailed.inc({ code: String(status) }, block.samples);
        logger.error('remote write refused; dropping the request (not retried)', { status, body: text, body_truncated: truncated, samples: block.samples });
        return 'failed';
      }
      metrics.samplesRetried.inc(block.samples);
      attempt++;
      if (!(await this.sleep(delay))) return 'aborted';
    }
  }

  private fallBackToV1(why: string): void {
    if (!this.useV2) return;
    this.useV2 = false;
    this.opts.metrics.remoteWriteVersion.set(1);
    this.opts.logger.warn('the receiver does not accept remote-write 2.0; falling back to 1.0 for good', { why });
  }

  /**
   * Stops: no more samples are accepted, open batches are sealed, and the queues are sent until they
   * are empty or `timeoutMs` passes. Then in-flight work is abandoned; blocks not delivered are written
   * to the buffer directory (the next run sends them) or counted as dropped.
   */
  async stop(timeoutMs: number): Promise<{ delivered: boolean; persisted: number; dropped: number }> {
    this.flush();
    this.stopping = true;
    for (const w of this.wakers) w?.();
    const drained = Promise.all([this.recoveryDone, ...this.loops]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    this.hardStop.abort();
    await drained;
    let persisted = 0;
    let dropped = 0;
    if (timedOut || this.buffer.samples > 0) {
      persisted = await this.buffer.persistAll();
      dropped = this.buffer.samples - persisted;
      if (dropped > 0) this.opts.metrics.samplesDropped.inc({ reason: 'shutdown' }, dropped);
    }
    this.updateGauges();
    this.opts.endpoint.destroy();
    return { delivered: !timedOut && this.buffer.samples === 0, persisted, dropped };
  }
}

function hasWrittenHeaders(headers: Record<string, string | string[] | undefined>): boolean {
  return (
    headers['x-prometheus-remote-write-samples-written'] !== undefined ||
    headers['x-prometheus-remote-write-histograms-written'] !== undefined ||
    headers['x-prometheus-remote-write-exemplars-written'] !== undefined
  );
}

/** Re-encodes a buffered 1.0 block as a 2.0 request, metadata attached to each series by its family. */
export function transcodeToV2(v1Snappy: Uint8Array): Uint8Array {
  const decoded = decodeWriteRequestV1(snappyDecode(v1Snappy, 256 * 1024 * 1024));
  const families = new Map<string, FamilyMeta>();
  for (const m of decoded.metadata) families.set(m.metricFamilyName, { name: m.metricFamilyName, type: TYPE_NAMES[m.type] ?? 'unknown', help: m.help, unit: m.unit });
  const cols = decoded.samples;
  const series: SeriesInput[] = [];
  for (let i = 0; i < decoded.series.length; i++) {
    const s = decoded.series[i];
    const labels = decoded.labelsOf(i);
    const samples: SampleInput[] = [];
    for (let j = s.sampleStart; j < s.sampleStart + s.sampleCount; j++) samples.push({ value: cols.values[j], timestamp: cols.timestamps[j] });
    const name = labels.find((l) => l.name === '__name__')?.value ?? '';
    const f = familyOf(name, families);
    series.push({ labels, samples, metadata: f ? { type: METRIC_TYPES[f.type] ?? MetricType.UNSPECIFIED, help: f.help, unit: f.unit } : undefined });
  }
  return snappyEncode(encodeWriteRequestV2({ series }));
}
