// Scraping one target: GET with Prometheus's Accept header (OpenMetrics preferred, text 0.0.4 otherwise)
// and gzip, parse the body as it streams in with the keep-list pushed down into the parser, resolve each
// kept line to its series, and only when the whole exposition parsed queue the samples (a scrape is all
// or nothing, as in Prometheus). A failed scrape marks the target's series stale. Synthetic `up` and
// `scrape_duration_seconds` series are produced when the keep-list asks for them.

import type { Label } from '../protocol/types.ts';
import { ExpositionParser, formatForContentType, SCRAPE_ACCEPT, type FamilyMeta } from './exposition.ts';
import { openStream, type Endpoint } from './http.ts';
import type { KeepList } from './keep.ts';
import { TargetSeries, type RawEntry, type RelabelOptions, type SampleAppender, type SeriesRegistry } from './series.ts';

export interface ScrapeTargetOptions {
  job: string;
  endpoint: Endpoint;
  /** Labels added to every series of the target (job, instance, and e.g. node, metrics_path). */
  labels: Label[];
  relabel?: RelabelOptions;
  timeoutMs: number;
  /** Largest body accepted (decompressed); a bigger one fails the scrape. */
  maxBodyBytes?: number;
}

export interface ScrapeResult {
  ok: boolean;
  /** Samples queued (kept, after deduplication). */
  samples: number;
  /** Sample lines in the exposition, kept or not. */
  linesSeen: number;
  bytes: number;
  durationMs: number;
  error?: Error;
  format?: string;
}

const UP_FAMILY: FamilyMeta = { name: 'up', type: 'gauge', help: 'Whether the last scrape of the target succeeded (1) or not (0).', unit: '' };
const DURATION_FAMILY: FamilyMeta = { name: 'scrape_duration_seconds', type: 'gauge', help: 'Duration of the last scrape of the target.', unit: 'seconds' };

export class ScrapeTarget {
  readonly job: string;
  readonly options: ScrapeTargetOptions;
  readonly series: TargetSeries;
  /** Series of the synthetic up / scrape_duration_seconds. */
  private readonly meta: TargetSeries;
  lastResult: ScrapeResult | null = null;

  constructor(registry: SeriesRegistry, options: ScrapeTargetOptions) {
    this.job = options.job;
    this.options = options;
    this.series = new TargetSeries(registry, options.labels, options.relabel);
    this.meta = new TargetSeries(registry, options.labels);
  }

  get url(): string {
    return this.options.endpoint.url.toString();
  }

  async scrape(out: SampleAppender, keep: KeepList, signal?: AbortSignal): Promise<ScrapeResult> {
    const started = performance.now();
    const startedMs = Date.now();
    const maxBody = this.options.maxBodyBytes ?? 256 * 1024 * 1024;
    let result: ScrapeResult;
    const entries: RawEntry[] = [];
    let values = new Float64Array(1024);
    let stamps = new Float64Array(1024);
    let n = 0;
    let bytes = 0;
    try {
      const res = await openStream(this.options.endpoint, {
        headers: {
          Accept: SCRAPE_ACCEPT,
          'Accept-Encoding': 'gzip',
          'User-Agent': 'Trimtab-Agent',
          'X-Prometheus-Scrape-Timeout-Seconds': String(this.options.timeoutMs / 1000),
        },
        timeoutMs: this.options.timeoutMs,
        signal,
      });
      if (res.status !== 200) {
        res.abort();
        throw new Error(`server returned HTTP status ${res.status}`);
      }
      const format = formatForContentType(String(res.headers['content-type'] ?? ''));
      const parser = new ExpositionParser(format, (name) => keep.has(name), (name, series, value, ts) => {
        if (n === values.length) {
          const v = new Float64Array(n * 2);
          v.set(values);
          values = v;
          const t = new Float64Array(n * 2);
          t.set(stamps);
          stamps = t;
        }
        entries.push(this.series.entry(name, series));
        values[n] = value;
        stamps[n] = ts ?? startedMs;
        n++;
      });
      this.series.begin(parser.families);
      try {
        for await (const chunk of res.stream) {
          bytes += (chunk as Buffer).length;
          if (bytes > maxBody) throw new Error(`body larger than ${maxBody} bytes`);
          parser.write(chunk as Buffer);
        }
        parser.end();
      } finally {
        res.abort();
      }
      // The whole exposition parsed: queue its samples, then mark what disappeared.
      for (let i = 0; i < n; i++) this.series.pushEntry(out, entries[i], values[i], stamps[i]);
      this.series.end(out, startedMs);
      result = { ok: true, samples: this.series.stats.kept, linesSeen: parser.samplesSeen, bytes, durationMs: performance.now() - started, format };
    } catch (error) {
      this.series.fail(out, startedMs);
      result = { ok: false, samples: 0, linesSeen: 0, bytes, durationMs: performance.now() - started, error: error as Error };
    }
    this.emitMeta(out, keep, result, startedMs);
    this.lastResult = result;
    return result;
  }

  private emitMeta(out: SampleAppender, keep: KeepList, result: ScrapeResult, tsMs: number): void {
    const wantUp = keep.has('up');
    const wantDuration = keep.has('scrape_duration_seconds');
    if (!wantUp && !wantDuration) return;
    this.meta.begin(new Map());
    if (wantUp) this.meta.addLabels(out, 'up', () => ({ labels: [{ name: '__name__', value: 'up' }], family: UP_FAMILY, shared: false }), result.ok ? 1 : 0, tsMs);
    if (wantDuration) {
      this.meta.addLabels(out, 'scrape_duration_seconds', () => ({ labels: [{ name: '__name__', value: 'scrape_duration_seconds' }], family: DURATION_FAMILY, shared: false }), result.durationMs / 1000, tsMs);
    }
    this.meta.end(out, tsMs);
  }
}
