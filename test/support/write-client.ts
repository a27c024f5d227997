// Sends remote-write requests over real HTTP for tests, and reads back what the store kept.

import { CONTENT_TYPE_V1, CONTENT_TYPE_V2, encodeWriteRequestV1, encodeWriteRequestV2, snappyEncode, type WriteRequestInput } from '../../protocol/index.ts';
import type { Label } from '../../protocol/types.ts';
import type { LabelMatcher, Storage } from '../../storage/types.ts';

export interface WriteResponse {
  status: number;
  body: string;
  headers: Headers;
  written: { samples: string | null; histograms: string | null; exemplars: string | null };
}

export function encodeBody(request: WriteRequestInput, version: 1 | 2): Uint8Array {
  return snappyEncode(version === 1 ? encodeWriteRequestV1(request) : encodeWriteRequestV2(request));
}

export async function postWrite(
  url: string,
  body: Uint8Array | string,
  options: { version?: 1 | 2; token?: string | null; headers?: Record<string, string>; method?: string } = {},
): Promise<WriteResponse> {
  const version = options.version ?? 1;
  const headers: Record<string, string> = {
    'Content-Type': version === 1 ? CONTENT_TYPE_V1 : CONTENT_TYPE_V2,
    'Content-Encoding': 'snappy',
    'X-Prometheus-Remote-Write-Version': version === 1 ? '0.1.0' : '2.0.0',
    ...options.headers,
  };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const res = await fetch(`${url}/api/v1/write`, { method: options.method ?? 'POST', headers, body: options.method === 'GET' ? undefined : body });
  return {
    status: res.status,
    body: await res.text(),
    headers: res.headers,
    written: {
      samples: res.headers.get('x-prometheus-remote-write-samples-written'),
      histograms: res.headers.get('x-prometheus-remote-write-histograms-written'),
      exemplars: res.headers.get('x-prometheus-remote-write-exemplars-written'),
    },
  };
}

export interface StoredSeries {
  labels: Record<string, string>;
  samples: Array<{ t: number; v: number; bits: bigint }>;
}

/** Every series matching the matchers with its samples, as one tenant sees them. */
export async function readBack(storage: Storage, tenantId: number, matchers: LabelMatcher[], minT = 0, maxT = 8.64e15): Promise<StoredSeries[]> {
  const out: StoredSeries[] = [];
  const byId = new Map<number, StoredSeries>();
  for await (const ref of storage.reader.selectSeries(tenantId, matchers, minT, maxT)) {
    const s: StoredSeries = { labels: Object.fromEntries(ref.labels.map((l: Label) => [l.name, l.value])), samples: [] };
    byId.set(ref.id, s);
    out.push(s);
  }
  if (byId.size === 0) return out;
  for await (const block of storage.reader.readSamples(tenantId, [...byId.keys()], minT, maxT)) {
    const bits = new BigUint64Array(block.values.buffer, block.values.byteOffset, block.values.length);
    const s = byId.get(block.seriesId)!;
    for (let i = 0; i < block.timestamps.length; i++) s.samples.push({ t: block.timestamps[i], v: block.values[i], bits: bits[i] });
  }
  return out;
}

export const name = (metric: string): LabelMatcher => ({ type: '=', name: '__name__', value: metric });
