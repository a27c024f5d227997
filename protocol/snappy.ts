// Snappy block format (https://github.com/google/snappy/blob/main/format_description.txt), the only
// compression remote-write allows. The framed/stream format is not accepted.
//
// A block is a varint of the decoded length followed by elements; the low two bits of each element's
// tag byte say what it is. The decoder here is hand-written rather than snappyjs's because it must be
// safe on hostile input, and snappyjs is not: it does not check that the output adds up to the declared
// length (a short block decodes "successfully" into zero-filled memory), it ignores copies that run past
// the output, and it throws plain Errors. The benchmark (test/bench/decode.bench.ts) also measures it
// faster. Guarantees: the declared length is checked against the caller's limit before any allocation,
// exactly that many bytes are allocated, every element is bounds-checked, each element consumes at least
// one input byte (so the loop always ends), and the only error thrown is ProtocolError.

import { compress } from 'snappyjs';
import { ProtocolError } from './errors.ts';

/** Element types (tag & 3). */
const ELEM_LITERAL = 0;
const ELEM_COPY_1 = 1; // 3-bit length (4..11) + 11-bit offset
const ELEM_COPY_2 = 2; // 6-bit length (1..64) + 16-bit offset
const ELEM_COPY_4 = 3; // 6-bit length (1..64) + 32-bit offset

/** A literal's length is stored in the tag up to 60; tags 60..63 mean 1..4 following length bytes. */
const LITERAL_INLINE_MAX = 59;
/** The decoded length is a uint32 varint: at most 5 bytes. */
const MAX_HEADER_BYTES = 5;
const UINT32_MAX = 0xffffffff;
/** Copies shorter than this go byte by byte; longer ones use the native copy. Measured, see the bench. */
const NATIVE_COPY_MIN = 32;

function corrupt(what: string, offset: number): ProtocolError {
  return new ProtocolError('corrupt_snappy', `corrupt snappy block: ${what} at byte ${offset}`);
}

// Header parsing reports both the length and where the elements start; kept in a module variable to
// avoid allocating a result object per request.
let headerBytes = 0;

function readHeader(buf: Uint8Array): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < MAX_HEADER_BYTES; i++) {
    if (i >= buf.length) throw corrupt('truncated length header', i);
    const b = buf[i];
    v += (b & 0x7f) * mul;
    if (b < 0x80) {
      if (v > UINT32_MAX) throw corrupt(`declared length ${v} exceeds 2^32-1`, 0);
      headerBytes = i + 1;
      return v;
    }
    mul *= 128;
  }
  throw corrupt('length header longer than 5 bytes', 0);
}

/** The decoded length a snappy block declares in its header. Throws ProtocolError('corrupt_snappy') on a bad header. */
export function snappyDecodedLength(buf: Uint8Array): number {
  return readHeader(buf);
}

/**
 * Decodes a snappy block. Throws ProtocolError('decoded_too_large') when the declared length exceeds
 * maxDecodedBytes (before allocating anything) and ProtocolError('corrupt_snappy') for any corrupt input.
 */
export function snappyDecode(src: Uint8Array, maxDecodedBytes: number): Buffer {
  const n = readHeader(src);
  if (n > maxDecodedBytes) {
    throw new ProtocolError(
      'decoded_too_large',
      `snappy block declares ${n} decoded bytes, more than the limit of ${maxDecodedBytes}`,
    );
  }
  // Unzeroed is safe: decoding only succeeds when every byte up to n has been written.
  const out = Buffer.allocUnsafe(n);
  const srcLen = src.length;
  let s = headerBytes;
  let d = 0;

  while (s < srcLen) {
    const tagPos = s;
    const tag = src[s++];
    let len: number;
    let offset: number;

    switch (tag & 3) {
      case ELEM_LITERAL: {
        len = tag >>> 2;
        if (len > LITERAL_INLINE_MAX) {
          const extra = len - LITERAL_INLINE_MAX; // 1..4 little-endian length bytes
          if (s + extra > srcLen) throw corrupt('truncated literal length', tagPos);
          len = src[s];
          if (extra > 1) len += src[s + 1] * 0x100;
          if (extra > 2) len += src[s + 2] * 0x10000;
          if (extra > 3) len += src[s + 3] * 0x1000000;
          s += extra;
        }
        len += 1;
        if (len > srcLen - s) throw corrupt(`literal of ${len} bytes runs past the input`, tagPos);
        if (len > n - d) throw corrupt(`literal of ${len} bytes runs past the declared length`, tagPos);
        if (len < NATIVE_COPY_MIN) {
          for (let i = 0; i < len; i++) out[d + i] = src[s + i];
        } else {
          out.set(src.subarray(s, s + len), d);
        }
        s += len;
        d += len;
        continue;
      }
      case ELEM_COPY_1:
        if (s >= srcLen) throw corrupt('truncated copy', tagPos);
        len = ((tag >>> 2) & 0x7) + 4;
        offset = ((tag >>> 5) << 8) | src[s];
        s += 1;
        break;
      case ELEM_COPY_2:
        if (s + 2 > srcLen) throw corrupt('truncated copy', tagPos);
        len = (tag >>> 2) + 1;
        offset = src[s] | (src[s + 1] << 8);
        s += 2;
        break;
      default: // ELEM_COPY_4
        if (s + 4 > srcLen) throw corrupt('truncated copy', tagPos);
        len = (tag >>> 2) + 1;
        offset = (src[s] | (src[s + 1] << 8) | (src[s + 2] << 16) | (src[s + 3] << 24)) >>> 0;
        s += 4;
        break;
    }
    if (offset === 0 || offset > d) throw corrupt(`copy offset ${offset} outside the ${d} bytes decoded so far`, tagPos);
    if (len > n - d) throw corrupt(`copy of ${len} bytes runs past the declared length`, tagPos);
    // Overlapping copies (offset < len) repeat a pattern and must go forward byte by byte.
    const from = d - offset;
    if (offset >= len && len >= NATIVE_COPY_MIN) {
      out.copyWithin(d, from, from + len);
    } else {
      for (let i = 0; i < len; i++) out[d + i] = out[from + i];
    }
    d += len;
  }
  if (d !== n) throw corrupt(`decoded ${d} bytes but the header declares ${n}`, srcLen);
  return out;
}

/**
 * Compresses into a snappy block (snappyjs's compressor, a port of the reference implementation). The
 * result owns exactly its bytes: snappyjs returns a view of its worst-case-sized output (~7/6 of the
 * input), which a sender's queue would otherwise keep alive — ~8× the compressed size it accounts for.
 */
export function snappyEncode(buf: Uint8Array): Uint8Array {
  const view = compress(buf) as Uint8Array;
  return view.byteLength === view.buffer.byteLength ? view : Uint8Array.prototype.slice.call(view);
}
