import { describe, expect, it } from 'vitest';
import { COPY_HEADER_LENGTH, COPY_SIGNATURE, CopyBinaryDecoder, CopyBinaryWriter, CopyFormatError, copyFloat8, readInt8 } from './copy-binary.ts';

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

const SPECIAL_BITS = [0x7ff0000000000002n, 0x7ff8000000000000n, 0xfff8000000000001n, 0x7ff0000000000000n, 0xfff0000000000000n, 0x8000000000000000n, 0n, 1n, 0x3ff0000000000000n, 0x7fefffffffffffffn];

/** Rows (int4, int8, int8, float8) with values given as bits. */
function encodeRows(rows: Array<[number, number, number, bigint]>, chunkBytes?: number): Uint8Array[] {
  const values = new Float64Array(rows.length);
  const bits = new BigUint64Array(values.buffer);
  rows.forEach((r, i) => (bits[i] = r[3]));
  const bytes = new Uint8Array(values.buffer);
  const w = new CopyBinaryWriter({ chunkBytes });
  rows.forEach((r, i) => {
    w.beginRow(4, 44);
    w.int4(r[0]);
    w.int8(r[1]);
    w.int8(r[2]);
    w.float8From(bytes, i);
  });
  return w.finish();
}

function decodeRows(data: Uint8Array[]): Array<[number, number, number, bigint]> {
  const out: Array<[number, number, number, bigint]> = [];
  const target = new Float64Array(1);
  const targetBytes = new Uint8Array(target.buffer);
  const targetBits = new BigUint64Array(target.buffer);
  const d = new CopyBinaryDecoder((buf, view, offsets, lengths, n) => {
    expect(n).toBe(4);
    expect([...lengths.subarray(0, 4)]).toEqual([4, 8, 8, 8]);
    copyFloat8(buf, offsets[3], targetBytes, 0);
    out.push([view.getInt32(offsets[0]), readInt8(view, offsets[1]), readInt8(view, offsets[2]), targetBits[0]]);
  });
  for (const c of data) d.push(c);
  d.end();
  return out;
}

describe('binary COPY', () => {
  const rows: Array<[number, number, number, bigint]> = SPECIAL_BITS.map((b, i) => [7, i + 1, 1_700_000_000_000 + i * 15_000, b]);
  rows.push([2147483647, 2 ** 53 - 1, -(2 ** 53 - 1), 0x7ff0000000000002n], [1, 1, -1, 0n]);

  it('writes the header, big-endian fields and the trailer as PostgreSQL documents them', () => {
    const [only] = encodeRows([[1, 2, 3, 0x3ff0000000000000n]]);
    expect([...only.subarray(0, COPY_SIGNATURE.length)]).toEqual([...Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')]);
    const v = new DataView(only.buffer, only.byteOffset, only.byteLength);
    expect(v.getInt32(11)).toBe(0); // flags
    expect(v.getInt32(15)).toBe(0); // no header extension
    let p = COPY_HEADER_LENGTH;
    expect(v.getInt16(p)).toBe(4);
    expect(v.getInt32(p + 2)).toBe(4);
    expect(v.getInt32(p + 6)).toBe(1);
    expect(v.getInt32(p + 10)).toBe(8);
    expect(v.getBigInt64(p + 14)).toBe(2n);
    expect(v.getBigInt64(p + 26)).toBe(3n);
    expect(v.getBigUint64(p + 38)).toBe(0x3ff0000000000000n);
    p += 46;
    expect(v.getInt16(p)).toBe(-1);
    expect(only.length).toBe(p + 2);
  });

  it('round-trips every value bit pattern, whatever the chunking', () => {
    const whole = concat(encodeRows(rows));
    expect(decodeRows([whole])).toEqual(rows);
    // Split at every possible point, and byte by byte.
    for (let cut = 1; cut < whole.length; cut += 7) expect(decodeRows([whole.subarray(0, cut), whole.subarray(cut)])).toEqual(rows);
    expect(decodeRows([...whole].map((b) => Uint8Array.of(b)))).toEqual(rows);
  });

  it('starts a new chunk instead of splitting a row', () => {
    const chunks = encodeRows(rows, 100);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks.slice(1, -1)) expect(c.length % 46).toBe(0);
    expect(decodeRows(chunks)).toEqual(rows);
  });

  it('decodes NULLs and skips a header extension', () => {
    const body = [0x00, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x2a, 0xff, 0xff];
    const data = Uint8Array.from([...COPY_SIGNATURE, 0, 0, 0, 0, 0, 0, 0, 3, 9, 9, 9, ...body]);
    const seen: Array<[number, number]> = [];
    const d = new CopyBinaryDecoder((buf, _view, offsets, lengths, n) => {
      expect(n).toBe(2);
      seen.push([lengths[0], buf[offsets[1]]]);
    });
    d.push(data);
    d.end();
    expect(seen).toEqual([[-1, 42]]);
  });

  it('refuses what is not binary COPY data, or ends early', () => {
    expect(() => new CopyBinaryDecoder(() => {}).push(new TextEncoder().encode('1\t2\t3\n and some more text'))).toThrow(CopyFormatError);
    const whole = concat(encodeRows(rows));
    const d = new CopyBinaryDecoder(() => {});
    d.push(whole.subarray(0, whole.length - 2));
    expect(() => d.end()).toThrow(/without its trailer/);
    const withOids = Uint8Array.from([...COPY_SIGNATURE, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(() => new CopyBinaryDecoder(() => {}).push(withOids)).toThrow(/OIDs/);
  });
});
