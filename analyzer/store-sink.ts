// Rule results into the store: a RuleResultSink that writes one tenant's samples (and staleness
// markers) through the same ingest writer the receiver uses, so recorded series are ordinary series of
// that tenant (rules chain; dashboards and the query API see them). The write runs the caller's
// prelude inside its transaction: the analyzer checks its fencing token there, so a deposed leader's
// results are refused by the database.

import { decodeWriteRequestV1, encodeWriteRequestV1, DEFAULT_WRITE_LIMITS, STALE_NAN, type SeriesInput, type WriteLimits } from '../protocol/index.ts';
import type { Labels } from '../promql/labels.ts';
import type { Prelude } from '../storage/analyzer-state.ts';
import type { IngestResult, IngestWriter, TenantId } from '../storage/types.ts';
import type { RuleResultSink } from './group-eval.ts';

export interface StoreSinkOptions {
  writer: IngestWriter;
  tenant: TenantId;
  prelude?: Prelude;
  limits?: WriteLimits;
  /** Told about every write (rejections, e.g. a conflicting value a previous leader wrote at the same time). */
  onWritten?: (result: IngestResult) => void;
}

export function storeSink(options: StoreSinkOptions): RuleResultSink {
  const limits = options.limits ?? DEFAULT_WRITE_LIMITS;
  return {
    async append(samples, stale, ts) {
      const series: SeriesInput[] = [];
      for (const s of samples) series.push({ labels: labelsOf(s.labels), samples: [{ value: s.value, timestamp: ts }] });
      for (const labels of stale) series.push({ labels: labelsOf(labels), samples: [{ value: STALE_NAN, timestamp: ts }] });
      if (series.length === 0) return;
      // Encoding and decoding costs ~1 µs per sample, next to the SQL it is noise, and it gives rule results
      // exactly the validation and storage path of remote-written data.
      const request = decodeWriteRequestV1(encodeWriteRequestV1({ series }));
      const result = await options.writer.write(options.tenant, request, limits, Date.now(), { prelude: options.prelude });
      options.onWritten?.(result);
    },
  };
}

function labelsOf(labels: Labels): Array<{ name: string; value: string }> {
  return labels.map((l) => ({ name: l.name, value: l.value }));
}
