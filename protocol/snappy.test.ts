import { describe, expect, it } from 'vitest';
import { compress as snappyjsCompress } from 'snappyjs';
import { ProtocolError } from './errors.ts';
import { snappyDecode, snappyDecodedLength, snappyEncode } from './snappy.ts';
import { encodeWriteRequestV1 } from './encode.ts';
import { cadvisorRequest, rng } from './fixtures.ts';

const MiB = 1 << 20;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw new Error(`expected a ProtocolError, got ${String(e)}`);
    return e.code;
  }
  return 'ok';
}

function uvarint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}

function randomBytes(r: () => number, n: number, alphabet = 256): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * alphabet);
  return b;
}

describe('snappy round trip', () => {
  const r = rng(11);
  const inputs: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['one byte', new Uint8Array([42])],
    ['incompressible 100 KiB', randomBytes(r, 100 * 1024)],
    ['low-entropy 300 KiB', randomBytes(r, 300 * 1024, 4)],
    ['runs (overlapping copies)', new Uint8Array(70_000).fill(7)],
    ['a real 1.0 request', encodeWriteRequestV1(cadvisorRequest(500, 2))],
  ];

  it.each(inputs)('%s', (_, input) => {
    const compressed = snappyEncode(input);
    expect(snappyDecodedLength(compressed)).toBe(input.length);
    const out = snappyDecode(compressed, 64 * MiB);
    expect(out.length).toBe(input.length);
    expect(Buffer.from(out).equals(Buffer.from(input))).toBe(true);
  });

  it('decodes long literals (3-byte length) and 4-byte-offset copies written by hand', () => {
    const lit = randomBytes(r, 70_000);
    const block = Buffer.concat([
      Buffer.from(uvarint(lit.length + 10)),
      // Literal: tag 62 = "length-1 in the next 3 bytes".
      Buffer.from([62 << 2, (lit.length - 1) & 0xff, ((lit.length - 1) >> 8) & 0xff, (lit.length - 1) >> 16]),
      lit,
      // Copy 10 bytes from 70,000 back, with a 4-byte offset.
      Buffer.from([((10 - 1) << 2) | 3, 0x70, 0x11, 0x01, 0x00]),
    ]);
    const out = snappyDecode(block, MiB);
    expect(Buffer.from(out.subarray(0, lit.length)).equals(Buffer.from(lit))).toBe(true);
    expect(Buffer.from(out.subarray(lit.length)).equals(Buffer.from(lit.subarray(0, 10)))).toBe(true);
  });

  it('decodes what snappyjs compresses, and snappyjs output is what snappyEncode returns', () => {
    const input = encodeWriteRequestV1(cadvisorRequest(100, 1));
    const a = snappyjsCompress(input);
    expect(Buffer.from(snappyEncode(input)).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from(snappyDecode(a, MiB)).equals(Buffer.from(input))).toBe(true);
  });

  it('snappyEncode returns bytes that own their memory (not a view of the worst-case output)', () => {
    for (const input of [encodeWriteRequestV1(cadvisorRequest(100, 1)), new Uint8Array(encodeWriteRequestV1(cadvisorRequest(50, 2))), new Uint8Array(0)]) {
      const out = snappyEncode(input);
      expect(out.buffer.byteLength).toBe(out.byteLength);
      expect(Buffer.from(snappyDecode(out, MiB)).equals(Buffer.from(input))).toBe(true);
    }
    // Compressible input given as a Buffer (what the encoders return): snappyjs hands back a view of the
    // worst-case allocation, far larger than the compressed block.
    const zeros = Buffer.alloc(100_000);
    expect(snappyjsCompress(zeros).buffer.byteLength).toBeGreaterThan(100_000);
    expect(snappyEncode(zeros).buffer.byteLength).toBeLessThan(10_000);
  });
});

describe('snappy limits and corrupt input', () => {
  it('rejects a 5-byte header declaring ~4 GiB before allocating anything', () => {
    const header = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]); // 2^32 - 1 bytes declared
    expect(snappyDecodedLength(header)).toBe(2 ** 32 - 1);
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 100; i++) expect(codeOf(() => snappyDecode(header, 32 * MiB))).toBe('decoded_too_large');
    // Nothing near the declared size (or even the limit) was allocated.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(MiB);
    // Exactly 4 GiB does not fit the uint32 the format allows: corrupt.
    expect(codeOf(() => snappyDecode(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x10]), 32 * MiB))).toBe('corrupt_snappy');
  });

  it('rejects a declared length just over the limit, accepts one at the limit', () => {
    const input = new Uint8Array(1000).fill(1);
    const c = snappyEncode(input);
    expect(codeOf(() => snappyDecode(c, 999))).toBe('decoded_too_large');
    expect(snappyDecode(c, 1000).length).toBe(1000);
  });

  const corrupt: [string, number[]][] = [
    ['empty input', []],
    ['truncated header', [0x80]],
    ['header longer than 5 bytes', [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
    ['no elements for a non-empty output', [0x05]],
    ['literal past the input', [0x05, 4 << 2, 1, 2]],
    ['literal past the declared length', [0x02, 2 << 2, 1, 2, 3]],
    ['truncated literal length', [0x05, 61 << 2, 0x01]],
    ['copy before any output', [0x04, 0x01, 0x01]],
    ['copy with offset 0', [0x08, 3 << 2, 1, 2, 3, 4, 0x01, 0x00]],
    ['copy offset beyond the output', [0x08, 3 << 2, 1, 2, 3, 4, 0x01, 0x05]],
    ['copy past the declared length', [0x06, 1 << 2, 1, 2, (7 << 2) | 1, 0x02]],
    ['truncated 1-byte-offset copy', [0x08, 3 << 2, 1, 2, 3, 4, 0x01]],
    ['truncated 2-byte-offset copy', [0x08, 3 << 2, 1, 2, 3, 4, 0x02, 0x01]],
    ['truncated 4-byte-offset copy', [0x08, 3 << 2, 1, 2, 3, 4, 0x03, 0x01, 0x00, 0x00]],
    ['output shorter than declared', [0x09, 3 << 2, 1, 2, 3, 4]],
    ['framed (stream) format', [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]],
  ];

  it.each(corrupt)('%s → corrupt_snappy', (_, b) => {
    expect(codeOf(() => snappyDecode(new Uint8Array(b), MiB))).toBe('corrupt_snappy');
  });

  it('never throws anything but ProtocolError on mutated or random input, and never exceeds the declared length', () => {
    const r = rng(99);
    const valid = snappyEncode(encodeWriteRequestV1(cadvisorRequest(40, 1)));
    let failures = 0;
    for (let i = 0; i < 3000; i++) {
      let b: Uint8Array;
      const k = r();
      if (k < 0.4) {
        b = Uint8Array.from(valid);
        const flips = 1 + Math.floor(r() * 4);
        for (let f = 0; f < flips; f++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      } else if (k < 0.7) {
        b = valid.subarray(0, Math.floor(r() * valid.length));
      } else {
        b = randomBytes(r, Math.floor(r() * 200));
      }
      let out: Uint8Array | null = null;
      const code = codeOf(() => (out = snappyDecode(b, MiB)));
      if (code === 'ok') {
        expect(out!.length).toBe(snappyDecodedLength(b));
      } else {
        expect(['corrupt_snappy', 'decoded_too_large']).toContain(code);
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(1000);
  });
});
