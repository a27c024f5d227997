// Hostile input: every decoder entry point must fail with ProtocolError (never another exception, never
// a hang) on truncated, mutated or random bytes.

import { describe, expect, it } from 'vitest';
import {
  decodeHistogram,
  decodeWriteRequest,
  DEFAULT_WRITE_LIMITS,
  encodeWriteRequestV1,
  encodeWriteRequestV2,
  ProtocolError,
  snappyDecode,
  snappyEncode,
  validateExemplar,
  validateHistogram,
  validateSeriesLabels,
  type RemoteWriteVersion,
  type WriteRequestInput,
} from './index.ts';
import { Reader } from './wire.ts';
import { cadvisorRequest, randomRequest, rng } from './fixtures.ts';

/** Runs fn; returns 'ok' or the ProtocolError code. Any other exception fails the test. */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw new Error(`non-ProtocolError thrown: ${(e as Error)?.stack ?? String(e)}`);
    return e.code;
  }
}

/** Decodes and then uses everything a consumer would: labels, validators, histogram raw bytes. */
function consume(version: RemoteWriteVersion, bytes: Uint8Array): void {
  const d = decodeWriteRequest(version, bytes);
  for (let i = 0; i < d.series.length; i++) {
    const code = outcome(() => {
      const labels = d.labelsOf(i);
      validateSeriesLabels(labels, DEFAULT_WRITE_LIMITS, version);
    });
    expect(['ok', 'invalid_utf8', 'invalid_label_ref']).toContain(code);
  }
  for (const h of d.histograms) {
    validateHistogram(h);
    expect(decodeHistogram(h.raw).count).toEqual(h.count);
  }
  for (const e of d.exemplars) validateExemplar(e);
  expect(d.samples.length).toBe(d.series.reduce((n, s) => n + s.sampleCount, 0));
}

function richRequest(version: RemoteWriteVersion): WriteRequestInput {
  const r = rng(4242);
  const req = randomRequest(r, { v2: version === 2, maxSeries: 10 });
  req.series.push(...cadvisorRequest(6, 2).series);
  req.series.push({
    labels: [{ name: '__name__', value: 'h' }],
    histograms: [
      { timestamp: 5, count: 3, sum: 1, schema: 0, positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [1, 1], startTimestamp: 2 },
      { timestamp: 6, isFloat: true, count: 2, sum: 1, schema: -53, positiveSpans: [{ offset: 0, length: 1 }], positiveCounts: [2], customValues: [1] },
    ],
    exemplars: [{ labels: [{ name: 'trace_id', value: 't' }], value: 1, timestamp: 3 }],
  });
  req.metadata = [{ metricFamilyName: 'h', type: 3, help: 'A histogram.', unit: 'seconds' }];
  return req;
}

/** Offsets where a top-level field ends: cutting there leaves a valid (shorter) message. */
function topLevelBoundaries(bytes: Uint8Array): Set<number> {
  const r = new Reader(bytes);
  const out = new Set<number>([0]);
  while (r.pos < bytes.length) {
    r.skip(r.tag());
    out.add(r.pos);
  }
  return out;
}

describe.each([1, 2] as const)('hostile %s.0 input', (version) => {
  const encode = version === 1 ? encodeWriteRequestV1 : encodeWriteRequestV2;

  it('a request truncated at every byte offset throws ProtocolError (unless cut between top-level fields)', () => {
    const bytes = encode(richRequest(version));
    expect(bytes.length).toBeGreaterThan(2000);
    const boundaries = topLevelBoundaries(bytes);
    let thrown = 0;
    for (let n = 0; n < bytes.length; n++) {
      const cut = bytes.subarray(0, n);
      const code = outcome(() => consume(version, cut));
      if (boundaries.has(n)) {
        expect(code, `offset ${n} is a field boundary`).toBe('ok');
      } else {
        expect(code, `truncated at ${n} of ${bytes.length}`).toBe('malformed_protobuf');
        thrown++;
      }
    }
    expect(thrown).toBeGreaterThan(bytes.length * 0.9);
  });

  it('random byte mutations never throw anything but ProtocolError', () => {
    const r = rng(version * 7 + 3);
    const base = encode(richRequest(version));
    const codes = new Map<string, number>();
    for (let i = 0; i < 2500; i++) {
      const b = Uint8Array.from(base);
      const k = r();
      if (k < 0.6) {
        const flips = 1 + Math.floor(r() * 6);
        for (let f = 0; f < flips; f++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      } else if (k < 0.8) {
        // Splice a random chunk of the message into another place.
        const from = Math.floor(r() * b.length);
        const to = Math.floor(r() * b.length);
        b.copyWithin(to, from, from + Math.floor(r() * 40));
      } else {
        for (let f = 0; f < b.length; f += 1 + Math.floor(r() * 50)) b[f] ^= 0x80; // continuation bits
      }
      const code = outcome(() => consume(version, b));
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect([...codes.keys()].every((c) => ['ok', 'malformed_protobuf', 'invalid_utf8'].includes(c))).toBe(true);
    expect(codes.get('malformed_protobuf') ?? 0).toBeGreaterThan(500);
  });

  it('random bytes never throw anything but ProtocolError', () => {
    const r = rng(version * 31 + 1);
    for (let i = 0; i < 3000; i++) {
      const b = new Uint8Array(Math.floor(r() * 300));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(r() * 256);
      outcome(() => consume(version, b));
    }
  });

  it('mutated snappy bodies never throw anything but ProtocolError through the whole pipeline', () => {
    const r = rng(version * 5 + 9);
    const body = snappyEncode(encode(richRequest(version)));
    for (let i = 0; i < 1500; i++) {
      const b = Uint8Array.from(body);
      const flips = 1 + Math.floor(r() * 3);
      for (let f = 0; f < flips; f++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      outcome(() => consume(version, snappyDecode(b, 1 << 20)));
    }
  });
});

describe('hostile histogram bytes', () => {
  it('decodeHistogram() throws only ProtocolError', () => {
    const r = rng(77);
    for (let i = 0; i < 3000; i++) {
      const b = new Uint8Array(Math.floor(r() * 80));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(r() * 256);
      outcome(() => validateHistogram(decodeHistogram(b)));
    }
  });

  it('refuses packed doubles that are not a multiple of 8 bytes', () => {
    // Field 13 (positive_counts), LEN 5.
    expect(outcome(() => decodeHistogram(new Uint8Array([0x6a, 5, 1, 2, 3, 4, 5])))).toBe('malformed_protobuf');
  });
});
