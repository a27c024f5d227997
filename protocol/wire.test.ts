import { describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { ProtocolError } from './errors.ts';
import { int64FromParts, Reader, varintSize, WireType, Writer } from './wire.ts';
import { rng } from './fixtures.ts';

const bytes = (...xs: number[]) => new Uint8Array(xs);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function written(fn: (w: Writer) => void): Uint8Array {
  const w = new Writer(16);
  fn(w);
  return w.finish();
}

function malformedAt(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).code).toBe('malformed_protobuf');
    expect((e as Error).message).toMatch(/at byte \d+/);
    return e as ProtocolError;
  }
  throw new Error('expected malformed_protobuf');
}

describe('varints', () => {
  const unsigned = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 49 - 1, 2 ** 49, 2 ** 53 - 1];

  it.each(unsigned)('round-trips %d as uint64 and int64, matching protobufjs bytes', (v) => {
    const b = written((w) => w.varint(v));
    expect(hex(b)).toBe(hex(protobuf.Writer.create().uint64(v).finish()));
    expect(b.length).toBe(varintSize(v));
    expect(new Reader(b).uint64()).toBe(v);
    expect(new Reader(b).int64()).toBe(v);
  });

  it('reads negative int64 from 10-byte two’s complement varints', () => {
    for (const v of [-1, -2, -128, -(2 ** 31), -(2 ** 32), -1_700_000_000_000, -(2 ** 53 - 1)]) {
      const b = written((w) => w.int64(v));
      expect(b.length).toBe(10);
      expect(hex(b)).toBe(hex(protobuf.Writer.create().int64(v).finish()));
      const r = new Reader(b);
      expect(r.int64()).toBe(v);
      expect(r.pos).toBe(10);
    }
    expect(hex(written((w) => w.int64(-1)))).toBe('ffffffffffffffffff01');
  });

  it('returns unsafe numbers for 64-bit values beyond ±2^53 (callers check Number.isSafeInteger)', () => {
    const big = written((w) => w.varintParts(1, 0x200000)); // 2^53 + 1
    expect(Number.isSafeInteger(new Reader(big).int64())).toBe(false);
    const min = written((w) => w.varintParts(0, 0x80000000)); // -2^63
    expect(new Reader(min).int64()).toBe(-(2 ** 63));
    const max = bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01); // 2^64 - 1 as uint64
    expect(new Reader(max).uint64()).toBe(2 ** 64);
    expect(int64FromParts(0xffffffff, 0xffffffff)).toBe(-1);
    expect(int64FromParts(0, 0x200000)).toBe(2 ** 53);
  });

  it('zigzag-decodes sint32 and sint64 like protobufjs encodes them', () => {
    const r = rng(5);
    const vals = [0, -1, 1, -2, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2 ** 40) - 3, 2 ** 53 - 1, -(2 ** 53 - 1)];
    for (let i = 0; i < 200; i++) vals.push(Math.floor((r() - 0.5) * 2 ** (1 + Math.floor(r() * 53))));
    for (const v of vals) {
      const b = written((w) => w.sint64(v));
      expect(hex(b)).toBe(hex(protobuf.Writer.create().sint64(v).finish()));
      expect(new Reader(b).sint64()).toBe(v);
      if (v >= -(2 ** 31) && v < 2 ** 31) {
        const b32 = written((w) => w.sint32(v));
        expect(hex(b32)).toBe(hex(protobuf.Writer.create().sint32(v).finish()));
        expect(new Reader(b32).sint32()).toBe(v);
      }
    }
  });

  it('truncates uint32 fields to 32 bits as protobuf does (negative int32 enums are 10 bytes)', () => {
    const b = written((w) => w.int64(-3));
    expect(new Reader(b).uint32() | 0).toBe(-3);
  });

  it('refuses varints longer than 10 bytes, a 10th byte above 1, and truncated varints', () => {
    malformedAt(() => new Reader(bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).int64());
    expect(malformedAt(() => new Reader(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02)).uint64()).message).toContain('64 bits');
    expect(malformedAt(() => new Reader(bytes(0x80, 0x80)).uint32()).message).toContain('truncated varint at byte 2');
    malformedAt(() => new Reader(bytes(0xff, 0xff, 0xff)).int64());
    malformedAt(() => new Reader(bytes()).sint64());
    malformedAt(() => new Reader(bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).skip(WireType.VARINT));
  });

  it('never reads past `end`, even inside a longer buffer', () => {
    const r = new Reader(bytes(0x96, 0x01, 0x05), 0, 1);
    malformedAt(() => r.uint32());
    const r2 = new Reader(bytes(0x08, 0x96, 0x01), 0, 2);
    expect(r2.tag()).toBe(0x08);
    malformedAt(() => r2.int64());
  });
});

describe('tags and skipping', () => {
  it('refuses field number 0 and over-long tags', () => {
    expect(malformedAt(() => new Reader(bytes(0x00)).tag()).message).toContain('field number 0');
    malformedAt(() => new Reader(bytes(0x80, 0x00)).tag());
    malformedAt(() => new Reader(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0x01)).tag());
    expect(new Reader(bytes(0x88, 0x01)).tag()).toBe((17 << 3) | WireType.VARINT);
  });

  it('skips every wire type and refuses groups and undefined wire types', () => {
    const b = written((w) => {
      w.tag(1, WireType.VARINT);
      w.int64(-1);
      w.tag(2, WireType.I64);
      w.double(1);
      w.tag(3, WireType.LEN);
      w.string('hello');
      w.tag(4, WireType.I32);
      w.fixed32(7);
      w.tag(5, WireType.VARINT);
      w.varint(1);
    });
    const r = new Reader(b);
    const fields: number[] = [];
    while (r.pos < b.length) {
      const t = r.tag();
      fields.push(t >>> 3);
      if (t >>> 3 === 5) expect(r.uint32()).toBe(1);
      else r.skip(t);
    }
    expect(fields).toEqual([1, 2, 3, 4, 5]);
    expect(malformedAt(() => new Reader(bytes(0x0b)).skip(new Reader(bytes(0x0b)).tag())).message).toContain('group');
    expect(malformedAt(() => new Reader(bytes(0x0c)).skip(0x0c)).message).toContain('group');
    expect(malformedAt(() => new Reader(bytes()).skip(0x0e)).message).toContain('invalid wire type 6');
    malformedAt(() => new Reader(bytes()).skip(0x0f));
    malformedAt(() => new Reader(bytes(1, 2, 3)).skip(0x09)); // fixed64 truncated
    malformedAt(() => new Reader(bytes(1, 2, 3)).skip(0x0d)); // fixed32 truncated
    malformedAt(() => new Reader(bytes(0x05, 1, 2)).skip(0x0a)); // length past end
  });

  it('refuses a length that runs past the enclosing message', () => {
    const r = new Reader(bytes(0x03, 1, 2, 3, 4), 0, 3);
    expect(malformedAt(() => r.lenEnd()).message).toContain('runs past');
    const huge = written((w) => w.varint(2 ** 50));
    malformedAt(() => new Reader(huge).lenEnd());
  });
});

describe('doubles', () => {
  it('copies the 8 bytes verbatim (NaN payloads) and reads numbers', () => {
    const src = bytes(0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f);
    const dst = new Uint8Array(16);
    const r = new Reader(src);
    r.copyDouble(dst, 8);
    expect(hex(dst.subarray(8))).toBe('020000000000f07f');
    expect(Number.isNaN(new Reader(src).double())).toBe(true);
    malformedAt(() => new Reader(src.subarray(0, 7)).double());
    malformedAt(() => new Reader(src.subarray(0, 7)).copyDouble(dst, 0));
    const w = new Writer();
    w.double(new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0]);
    expect(hex(w.finish())).toBe('020000000000f07f');
  });
});

describe('Writer', () => {
  it.each([0, 1, 127, 128, 16383, 16384, 70000])('writes nested bodies of %d bytes with a minimal length prefix', (n) => {
    const body = new Uint8Array(n).map((_, i) => i & 0xff);
    const b = written((w) => {
      w.tag(1, WireType.LEN);
      const m = w.beginLen();
      w.ensure(n);
      w.buf.set(body, w.pos);
      w.pos += n;
      w.endLen(m);
      w.tag(2, WireType.VARINT);
      w.varint(9);
    });
    expect(b.length).toBe(1 + varintSize(n) + n + 2);
    const r = new Reader(b);
    expect(r.tag()).toBe(0x0a);
    const end = r.lenEnd();
    expect(Buffer.from(b.subarray(r.pos, end)).equals(Buffer.from(body))).toBe(true);
    r.pos = end;
    expect(r.tag()).toBe(0x10);
    expect(r.uint32()).toBe(9);
  });

  it('writes strings as UTF-8 like protobufjs', () => {
    for (const s of ['', 'ascii', 'x'.repeat(31), 'y'.repeat(200), 'ünïcødé', '😀'.repeat(50), 'a\u0000b', `${'z'.repeat(20)}é`]) {
      expect(hex(written((w) => w.string(s)))).toBe(hex(protobuf.Writer.create().string(s).finish()));
    }
  });

  it('grows from a tiny initial buffer', () => {
    const w = new Writer(1);
    for (let i = 0; i < 10_000; i++) w.varint(i);
    const r = new Reader(w.finish());
    for (let i = 0; i < 10_000; i++) expect(r.uint32()).toBe(i);
  });
});
