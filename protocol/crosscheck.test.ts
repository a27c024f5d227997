// The hand-written encoders and decoders against protobufjs (protocol/schema.ts), an independent
// implementation, on randomized requests.

import { describe, expect, it } from 'vitest';
import {
  decodeHistogram,
  decodeWriteRequest,
  encodeWriteRequestV1,
  encodeWriteRequestV2,
  type DecodedWriteRequest,
  type RemoteWriteVersion,
} from './index.ts';
import { makeSchema, referenceDecode, schema, toProtobufjsV1, toProtobufjsV2 } from './schema.ts';
import { randomRequest, rng } from './fixtures.ts';

function columnBytes(a: Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
}

function expectSameDecoding(mine: DecodedWriteRequest, ref: DecodedWriteRequest): void {
  expect(mine.series.length).toBe(ref.series.length);
  for (let i = 0; i < ref.series.length; i++) {
    expect(mine.labelsOf(i)).toEqual(ref.labelsOf(i));
    const { key: k1, ...a } = mine.series[i];
    const { key: k2, ...b } = ref.series[i];
    void k1;
    void k2;
    expect(a).toEqual(b);
  }
  // Keys: equal exactly when the reference (string-built) keys are equal.
  for (let i = 0; i < ref.series.length; i++) {
    for (let j = i + 1; j < ref.series.length; j++) {
      expect(mine.series[i].key === mine.series[j].key).toBe(ref.series[i].key === ref.series[j].key);
    }
  }
  expect(mine.samples.length).toBe(ref.samples.length);
  expect(columnBytes(mine.samples.values)).toBe(columnBytes(ref.samples.values));
  expect(Array.from(mine.samples.timestamps)).toEqual(Array.from(ref.samples.timestamps));
  expect(Array.from(mine.samples.startTimestamps)).toEqual(Array.from(ref.samples.startTimestamps));
  expect(Array.from(mine.samples.series)).toEqual(Array.from(ref.samples.series));
  expect(mine.histograms.map(({ raw, ...h }) => (void raw, h))).toEqual(ref.histograms.map(({ raw, ...h }) => (void raw, h)));
  // raw differs in layout only if protobufjs re-encodes differently; its content must decode the same.
  mine.histograms.forEach((h, k) => {
    const { startTimestamp: s1, ...a } = decodeHistogram(h.raw);
    const { startTimestamp: s2, ...b } = decodeHistogram(ref.histograms[k].raw);
    void s1;
    void s2;
    expect(a).toEqual(b);
  });
  expect(mine.exemplars).toEqual(ref.exemplars);
  expect(mine.metadata).toEqual(ref.metadata);
}

describe.each([1, 2] as const)('cross-check with protobufjs, %s.0', (version: RemoteWriteVersion) => {
  const encodeMine = version === 1 ? encodeWriteRequestV1 : encodeWriteRequestV2;
  const toPbjs = version === 1 ? toProtobufjsV1 : toProtobufjsV2;
  const type = version === 1 ? schema.WriteRequestV1 : schema.RequestV2;

  it('the hand-written encoder produces protobufjs’s bytes exactly (300 random requests)', () => {
    const r = rng(version * 101);
    for (let k = 0; k < 300; k++) {
      const req = randomRequest(r, { v2: version === 2 });
      const mine = Buffer.from(encodeMine(req));
      const theirs = Buffer.from(type.encode(toPbjs(req)).finish());
      expect(mine.toString('hex')).toBe(theirs.toString('hex'));
    }
  });

  it('the hand-written decoder agrees with protobufjs on protobufjs-encoded requests (300 random)', () => {
    const r = rng(version * 211);
    for (let k = 0; k < 300; k++) {
      const bytes = type.encode(toPbjs(randomRequest(r, { v2: version === 2 }))).finish();
      expectSameDecoding(decodeWriteRequest(version, bytes), referenceDecode(version, bytes));
    }
  });

  if (version === 2) {
    it('agrees on unpacked encodings too', () => {
      const unpacked = makeSchema({ unpacked: true });
      const r = rng(977);
      for (let k = 0; k < 100; k++) {
        const bytes = unpacked.RequestV2.encode(toProtobufjsV2(randomRequest(r, { v2: true }))).finish();
        expectSameDecoding(decodeWriteRequest(2, bytes), referenceDecode(2, bytes, unpacked));
      }
    });
  }
});
