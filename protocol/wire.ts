// Minimal protobuf wire format: a bounds-checked reader over a Uint8Array and a growable writer.
//
// The reader is what the hand-written decoders run on, so it is built for their hot loops: one object
// whose `pos`/`end` fields the decoders move, small methods V8 inlines, and 64-bit integers returned as
// JS numbers (exact below 2^53; callers check Number.isSafeInteger where it matters). Every read is
// checked against `end`; anything that runs past it, overflows a varint or uses a group throws
// ProtocolError('malformed_protobuf') naming the byte offset, and nothing else is ever thrown.

import { ProtocolError } from './errors.ts';

/** Protobuf wire types (the low 3 bits of a tag). */
export const WireType = {
  VARINT: 0,
  I64: 1,
  LEN: 2,
  SGROUP: 3, // deprecated groups: never used by remote-write, refused
  EGROUP: 4,
  I32: 5,
} as const;
export type WireTypeValue = (typeof WireType)[keyof typeof WireType];

/** The tag value (as a number) for a field number and wire type; what a one- or two-byte tag varint decodes to. */
export function fieldTag(field: number, wireType: WireTypeValue): number {
  return ((field << 3) | wireType) >>> 0;
}

const TWO_32 = 4294967296;
/** Varints are at most 10 bytes (64 bits, 7 per byte). */
const MAX_VARINT_BYTES = 10;

export function malformed(what: string, offset: number): ProtocolError {
  return new ProtocolError('malformed_protobuf', `malformed protobuf: ${what} at byte ${offset}`);
}

export class Reader {
  buf: Uint8Array;
  /** Next byte to read. */
  pos: number;
  /** End (exclusive) of the message being read; decoders narrow it for nested messages and restore it after. */
  end: number;
  // Halves of the last 64-bit varint read by varint64Parts(); fields, not a returned object, to stay allocation-free.
  private lo = 0;
  private hi = 0;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** A field tag: a varint of at most 5 bytes with a non-zero field number. */
  tag(): number {
    const pos = this.pos;
    if (pos < this.end) {
      const b = this.buf[pos];
      if (b < 0x80) {
        this.pos = pos + 1;
        if (b < 8) throw malformed('field number 0', pos);
        return b;
      }
    }
    return this.tagSlow();
  }

  private tagSlow(): number {
    const start = this.pos;
    const v = this.uint32Strict();
    if (v >>> 3 === 0) throw malformed('field number 0', start);
    return v;
  }

  /** A varint that must fit 32 bits unsigned (at most 5 bytes, the 5th ≤ 0x0f). Used for tags. */
  private uint32Strict(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= end) throw malformed('truncated varint', pos);
      const b = buf[pos++];
      if (shift === 28 && b > 0x0f) throw malformed('tag varint overflows 32 bits', pos - 1);
      v |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return v >>> 0;
      }
    }
    throw malformed('tag varint overflows 32 bits', pos - 1);
  }

  /**
   * A uint32/int32/enum varint, truncated to its low 32 bits as protobuf does (negative int32 values are
   * sent as 10-byte varints). Returned unsigned; use `| 0` for int32.
   */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < this.end) {
      const b = buf[pos];
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    this.varint64Parts();
    return this.lo;
  }

  /**
   * An int64 varint as a JS number: exact when |v| < 2^53, otherwise the nearest double (callers that
   * need exactness check Number.isSafeInteger). Negative values are 10-byte two's complement varints.
   */
  int64(): number {
    // Fast path: up to 7 bytes (49 bits) is always positive and exact; covers millisecond timestamps.
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 7 && pos < end; i++) {
      const b = buf[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = pos;
        return v;
      }
      mul *= 128;
    }
    this.varint64Parts();
    return int64FromParts(this.lo, this.hi);
  }

  /** A uint64 varint as a JS number (nearest double above 2^53). */
  uint64(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 7 && pos < end; i++) {
      const b = buf[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = pos;
        return v;
      }
      mul *= 128;
    }
    this.varint64Parts();
    return this.hi * TWO_32 + this.lo;
  }

  /** A zigzag sint32. */
  sint32(): number {
    const v = this.uint32();
    return (v >>> 1) ^ -(v & 1);
  }

  /** A zigzag sint64 as a JS number (exact when |v| < 2^53). */
  sint64(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 7 && pos < end; i++) {
      const b = buf[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = pos;
        // v < 2^49: undo zigzag arithmetically (bit operators would truncate to 32 bits).
        return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
      }
      mul *= 128;
    }
    this.varint64Parts();
    const lo = this.lo;
    const hi = this.hi;
    const mask = -(lo & 1);
    return int64FromParts((((lo >>> 1) | (hi << 31)) ^ mask) >>> 0, ((hi >>> 1) ^ mask) >>> 0);
  }

  bool(): boolean {
    return this.uint64() !== 0;
  }

  /**
   * Reads a full varint of up to 10 bytes into lo/hi (unsigned 32-bit halves). The 10th byte may only
   * carry the 64th bit; anything longer or larger overflows 64 bits.
   */
  private varint64Parts(): void {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0;
    // Bytes 0..3 fill lo bits 0..27.
    for (let i = 0; i < 4; i++) {
      if (pos >= end) throw malformed('truncated varint', pos);
      b = buf[pos++];
      lo |= (b & 0x7f) << (i * 7);
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = 0;
        this.pos = pos;
        return;
      }
    }
    // Byte 4 straddles: 4 bits into lo (28..31), 3 bits into hi (0..2).
    if (pos >= end) throw malformed('truncated varint', pos);
    b = buf[pos++];
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b >= 0x80) {
      // Bytes 5..9 fill hi bits 3..31.
      for (let i = 0; ; i++) {
        if (i === 5) throw malformed('varint longer than 10 bytes', pos);
        if (pos >= end) throw malformed('truncated varint', pos);
        b = buf[pos++];
        if (i === 4 && b > 1) throw malformed('varint overflows 64 bits', pos - 1);
        hi |= (b & 0x7f) << (i * 7 + 3);
        if (b < 0x80) break;
      }
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    this.pos = pos;
  }

  /** A little-endian IEEE-754 double, as a number. Use copyDouble() where the NaN payload must survive a typed array. */
  double(): number {
    const pos = this.pos;
    if (pos + 8 > this.end) throw malformed('truncated fixed64', pos);
    const buf = this.buf;
    SCRATCH_U8[0] = buf[pos];
    SCRATCH_U8[1] = buf[pos + 1];
    SCRATCH_U8[2] = buf[pos + 2];
    SCRATCH_U8[3] = buf[pos + 3];
    SCRATCH_U8[4] = buf[pos + 4];
    SCRATCH_U8[5] = buf[pos + 5];
    SCRATCH_U8[6] = buf[pos + 6];
    SCRATCH_U8[7] = buf[pos + 7];
    this.pos = pos + 8;
    return SCRATCH_F64[0];
  }

  /** Copies the 8 bytes of a fixed64 double into dst at offset, never through a JS number (NaN payloads survive). */
  copyDouble(dst: Uint8Array, offset: number): void {
    const pos = this.pos;
    if (pos + 8 > this.end) throw malformed('truncated fixed64', pos);
    const buf = this.buf;
    dst[offset] = buf[pos];
    dst[offset + 1] = buf[pos + 1];
    dst[offset + 2] = buf[pos + 2];
    dst[offset + 3] = buf[pos + 3];
    dst[offset + 4] = buf[pos + 4];
    dst[offset + 5] = buf[pos + 5];
    dst[offset + 6] = buf[pos + 6];
    dst[offset + 7] = buf[pos + 7];
    this.pos = pos + 8;
  }

  /**
   * Reads a length prefix and returns the end offset of the bytes that follow; `pos` is left at their
   * start. Checked against the current `end`.
   */
  lenEnd(): number {
    const start = this.pos;
    let len: number;
    const b = start < this.end ? this.buf[start] : 0x80;
    if (b < 0x80) {
      this.pos = start + 1;
      len = b;
    } else {
      len = this.uint64();
    }
    const end = this.pos + len;
    if (end > this.end) throw malformed(`length ${len} runs past the end of the message`, start);
    return end;
  }

  /** Skips the value of a field whose tag was just read. Groups and undefined wire types are refused. */
  skip(tag: number): void {
    const wt = tag & 7;
    const start = this.pos;
    switch (wt) {
      case WireType.VARINT: {
        const buf = this.buf;
        const end = this.end;
        let pos = this.pos;
        for (let i = 0; ; i++) {
          if (i === MAX_VARINT_BYTES) throw malformed('varint longer than 10 bytes', pos);
          if (pos >= end) throw malformed('truncated varint', pos);
          if (buf[pos++] < 0x80) break;
        }
        this.pos = pos;
        return;
      }
      case WireType.I64:
        if (start + 8 > this.end) throw malformed('truncated fixed64', start);
        this.pos = start + 8;
        return;
      case WireType.LEN:
        this.pos = this.lenEnd();
        return;
      case WireType.I32:
        if (start + 4 > this.end) throw malformed('truncated fixed32', start);
        this.pos = start + 4;
        return;
      case WireType.SGROUP:
      case WireType.EGROUP:
        throw malformed(`group (wire type ${wt}) in field ${tag >>> 3}; groups are not supported`, start);
      default:
        throw malformed(`invalid wire type ${wt} in field ${tag >>> 3}`, start);
    }
  }
}

const SCRATCH_F64 = new Float64Array(1);
const SCRATCH_U8 = new Uint8Array(SCRATCH_F64.buffer);

/** Two's-complement 64-bit value from unsigned halves, as the nearest JS number. */
export function int64FromParts(lo: number, hi: number): number {
  if (hi & 0x80000000) {
    // Negate: ~x + 1, computed in doubles so the carry out of lo is kept.
    return -((~hi >>> 0) * TWO_32 + (~lo >>> 0) + 1);
  }
  return hi * TWO_32 + lo;
}

/** Bytes a value takes as a varint (for non-negative integers below 2^64). */
export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  v = Math.floor(v / 0x10000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 128);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------
// Writer

const INITIAL_WRITER_BYTES = 1024;
/** Below this many chars, Writer.string() copies ASCII in JS; measured against Buffer#write. */
const SHORT_STRING_CHARS = 32;

/**
 * A growable protobuf writer. Nested messages are written in place: `beginLen()` reserves one byte for
 * the length, `endLen()` writes it and, in the rare case the body needed a longer varint, shifts the
 * body right. Output is canonical (minimal varints, fields in the order written).
 */
export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(initialBytes = INITIAL_WRITER_BYTES) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialBytes));
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A varint of a non-negative integer (exact below 2^53). */
  varint(v: number): void {
    if (!(v >= 0)) throw new RangeError(`varint of ${v}: must be a non-negative integer`);
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    if (v < 0x80000000) {
      // 32-bit fast path; `v` is a non-negative small integer here.
      while (v > 0x7f) {
        buf[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[pos++] = v;
    } else {
      while (v > 0x7f) {
        buf[pos++] = (v % 128) | 0x80;
        v = Math.floor(v / 128);
      }
      buf[pos++] = v;
    }
    this.pos = pos;
  }

  tag(field: number, wireType: WireTypeValue): void {
    const t = fieldTag(field, wireType);
    if (t < 0x80) {
      this.ensure(1);
      this.buf[this.pos++] = t;
    } else {
      this.varint(t);
    }
  }

  /** An int64 varint; negative values take 10 bytes (two's complement). |v| must be < 2^63. */
  int64(v: number): void {
    if (v >= 0) {
      this.varint(v);
      return;
    }
    // Two's complement of |v| split into 32-bit halves.
    const a = -v;
    let lo = (a % TWO_32) >>> 0;
    let hi = Math.floor(a / TWO_32) >>> 0;
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
    this.varintParts(lo, hi);
  }

  /** A zigzag sint64 (exact for |v| < 2^53). */
  sint64(v: number): void {
    if (v > -0x40000000 && v < 0x40000000) {
      this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
      return;
    }
    // 2|v| (minus 1 when negative) can exceed 2^53, so shift in 32-bit halves.
    const a = Math.abs(v);
    const lo = (a % TWO_32) >>> 0;
    const hi = Math.floor(a / TWO_32) >>> 0;
    let zlo = (lo << 1) >>> 0;
    let zhi = ((hi << 1) | (lo >>> 31)) >>> 0;
    if (v < 0) {
      if (zlo === 0) {
        zhi = (zhi - 1) >>> 0;
        zlo = 0xffffffff;
      } else {
        zlo -= 1;
      }
    }
    this.varintParts(zlo, zhi);
  }

  /** A zigzag sint32. */
  sint32(v: number): void {
    this.varint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** A varint from unsigned 32-bit halves (up to 10 bytes). */
  varintParts(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (hi !== 0 || lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  /** A double, bit-exact: the number goes through a Float64Array, which keeps NaN payloads. */
  double(v: number): void {
    this.ensure(8);
    SCRATCH_F64[0] = v;
    this.rawDouble(SCRATCH_U8, 0);
  }

  /** Copies 8 bytes of a double from src (e.g. the bytes of a Float64Array) verbatim. */
  rawDouble(src: Uint8Array, offset: number): void {
    this.ensure(8);
    const buf = this.buf;
    const pos = this.pos;
    buf[pos] = src[offset];
    buf[pos + 1] = src[offset + 1];
    buf[pos + 2] = src[offset + 2];
    buf[pos + 3] = src[offset + 3];
    buf[pos + 4] = src[offset + 4];
    buf[pos + 5] = src[offset + 5];
    buf[pos + 6] = src[offset + 6];
    buf[pos + 7] = src[offset + 7];
    this.pos = pos + 8;
  }

  /** A little-endian fixed32. */
  fixed32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  /** Length-prefixed bytes. */
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Length-prefixed UTF-8 string. */
  string(s: string): void {
    const n = s.length;
    // Short ASCII strings are copied char by char (cheaper than a native call); longer ones go through
    // Buffer's native UTF-8 writer.
    if (n < SHORT_STRING_CHARS) {
      this.ensure(n + 1);
      const buf = this.buf;
      let pos = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[pos++] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = pos;
        return;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.varint(len);
    this.ensure(len);
    this.buf.write(s, this.pos, len, 'utf8');
    this.pos += len;
  }

  /** Starts a length-delimited field body; returns the marker endLen() needs. */
  beginLen(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Ends a body started with beginLen(), writing its length before it. */
  endLen(marker: number): void {
    const len = this.pos - marker - 1;
    if (len < 0x80) {
      this.buf[marker] = len;
      return;
    }
    const size = varintSize(len);
    this.ensure(size - 1);
    this.buf.copyWithin(marker + size, marker + 1, this.pos);
    this.pos += size - 1;
    const end = this.pos;
    this.pos = marker;
    this.varint(len);
    this.pos = end;
  }

  /** The bytes written so far (a copy, so the writer's buffer can be reused or dropped). */
  finish(): Uint8Array {
    return Uint8Array.prototype.slice.call(this.buf, 0, this.pos);
  }
}
