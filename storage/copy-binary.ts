// PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"):
//
//   header:  11-byte signature "PGCOPY\n\377\r\n\0", int32 flags, int32 header-extension length (+ that many bytes)
//   tuple:   int16 field count, then per field int32 byte length (-1 = NULL) and the bytes
//   trailer: int16 -1
//
// All integers are big-endian. float8 is the IEEE-754 bit pattern, big-endian: values are copied byte by
// byte from a Float64Array's memory, never through a JS number, so every NaN payload (the stale marker
// 0x7ff0000000000002) survives both ways.

import { endianness } from 'node:os';

export const COPY_SIGNATURE = Uint8Array.of(0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00);
/** Signature, flags (int32) and header-extension length (int32). */
export const COPY_HEADER_LENGTH = COPY_SIGNATURE.length + 4 + 4;
/** Header flags bit 16: each tuple carries an OID (never requested here). */
export const COPY_FLAG_WITH_OIDS = 1 << 16;
/** The int16 field count that ends the data. */
export const COPY_TRAILER = -1;
/** The int32 field length that means NULL. */
export const COPY_NULL_LENGTH = -1;
export const INT2_BYTES = 2;
export const INT4_BYTES = 4;
export const INT8_BYTES = 8;
export const FLOAT8_BYTES = 8;

const TWO_32 = 4294967296;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';
const DEFAULT_CHUNK_BYTES = 1 << 20;
const utf8 = new TextEncoder();

/** Writes rows of binary COPY data into chunks of about `chunkBytes`; a row never spans two chunks. */
export class CopyBinaryWriter {
  readonly #chunkBytes: number;
  readonly #chunks: Uint8Array[] = [];
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  #rows = 0;
  #finished = false;

  constructor(options: { chunkBytes?: number; firstChunkBytes?: number } = {}) {
    this.#chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.#buf = new Uint8Array(Math.max(COPY_HEADER_LENGTH + INT2_BYTES, options.firstChunkBytes ?? this.#chunkBytes));
    this.#view = new DataView(this.#buf.buffer);
    this.#buf.set(COPY_SIGNATURE, 0);
    this.#view.setInt32(COPY_SIGNATURE.length, 0); // flags
    this.#view.setInt32(COPY_SIGNATURE.length + 4, 0); // no header extension
    this.#pos = COPY_HEADER_LENGTH;
  }

  get rows(): number {
    return this.#rows;
  }

  /** Makes room for `bytes` contiguous bytes, starting a new chunk if needed. */
  #reserve(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    this.#chunks.push(this.#buf.subarray(0, this.#pos));
    this.#buf = new Uint8Array(Math.max(this.#chunkBytes, bytes));
    this.#view = new DataView(this.#buf.buffer);
    this.#pos = 0;
  }

  /** Starts a tuple of `fieldCount` fields whose encoded size (lengths included) is at most `maxBytes`. */
  beginRow(fieldCount: number, maxBytes: number): void {
    this.#reserve(INT2_BYTES + maxBytes);
    this.#view.setInt16(this.#pos, fieldCount);
    this.#pos += INT2_BYTES;
    this.#rows++;
  }

  int4(value: number): void {
    const v = this.#view;
    v.setInt32(this.#pos, INT4_BYTES);
    v.setInt32(this.#pos + 4, value);
    this.#pos += 4 + INT4_BYTES;
  }

  /** An int8 from a JS number that is an exact integer (|v| < 2^53). */
  int8(value: number): void {
    const v = this.#view;
    const hi = Math.floor(value / TWO_32);
    v.setInt32(this.#pos, INT8_BYTES);
    v.setInt32(this.#pos + 4, hi);
    v.setUint32(this.#pos + 8, value - hi * TWO_32);
    this.#pos += 4 + INT8_BYTES;
  }

  /** A float8 copied from the 8 bytes of a Float64Array element: `bytes` views the array's memory. */
  float8From(bytes: Uint8Array, index: number): void {
    const buf = this.#buf;
    this.#view.setInt32(this.#pos, FLOAT8_BYTES);
    const p = this.#pos + 4;
    swapFloat8(bytes, index * 8, buf, p);
    this.#pos = p + FLOAT8_BYTES;
  }

  /** Variable-length bytes; `beginRow` must have reserved 4 + length for it. */
  bytes(value: Uint8Array): void {
    this.#view.setInt32(this.#pos, value.length);
    this.#buf.set(value, this.#pos + 4);
    this.#pos += 4 + value.length;
  }

  null(): void {
    this.#view.setInt32(this.#pos, COPY_NULL_LENGTH);
    this.#pos += 4;
  }

  /** Appends the trailer and returns the chunks. */
  finish(): Uint8Array[] {
    if (this.#finished) throw new Error('CopyBinaryWriter already finished');
    this.#finished = true;
    this.#reserve(INT2_BYTES);
    this.#view.setInt16(this.#pos, COPY_TRAILER);
    this.#pos += INT2_BYTES;
    this.#chunks.push(this.#buf.subarray(0, this.#pos));
    return this.#chunks;
  }
}

/** Encoded size of a text value. */
export function textBytes(value: string): Uint8Array {
  return utf8.encode(value);
}

/**
 * Called once per tuple. `buf`/`view` hold the tuple; field i starts at `offsets[i]` with `lengths[i]`
 * bytes (-1 for NULL). The arrays are reused: copy what you keep.
 */
export type TupleHandler = (buf: Uint8Array, view: DataView, offsets: Int32Array, lengths: Int32Array, fieldCount: number) => void;

export class CopyFormatError extends Error {}

/**
 * Incremental decoder: feed chunks as they arrive (any split, even mid-field), complete tuples are handed
 * to the handler. Only the unfinished tail of a chunk is ever copied.
 */
export class CopyBinaryDecoder {
  readonly #onTuple: TupleHandler;
  readonly #maxFields: number;
  #offsets: Int32Array;
  #lengths: Int32Array;
  #pending: Uint8Array = new Uint8Array(0);
  #headerDone = false;
  #ended = false;
  #tuples = 0;

  constructor(onTuple: TupleHandler, options: { maxFields?: number } = {}) {
    this.#onTuple = onTuple;
    this.#maxFields = options.maxFields ?? 64;
    this.#offsets = new Int32Array(this.#maxFields);
    this.#lengths = new Int32Array(this.#maxFields);
  }

  get tuples(): number {
    return this.#tuples;
  }

  /** True once the trailer has been read. */
  get ended(): boolean {
    return this.#ended;
  }

  push(chunk: Uint8Array): void {
    if (this.#ended) {
      if (chunk.length > 0) throw new CopyFormatError('data after the COPY trailer');
      return;
    }
    let buf: Uint8Array;
    if (this.#pending.length === 0) {
      buf = chunk;
    } else {
      buf = new Uint8Array(this.#pending.length + chunk.length);
      buf.set(this.#pending, 0);
      buf.set(chunk, this.#pending.length);
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = 0;
    const end = buf.length;

    if (!this.#headerDone) {
      if (end < COPY_HEADER_LENGTH) {
        this.#pending = buf.slice();
        return;
      }
      for (let i = 0; i < COPY_SIGNATURE.length; i++) {
        if (buf[i] !== COPY_SIGNATURE[i]) throw new CopyFormatError('not binary COPY data (bad signature)');
      }
      const flags = view.getInt32(COPY_SIGNATURE.length);
      if (flags & COPY_FLAG_WITH_OIDS) throw new CopyFormatError('binary COPY data with OIDs is not supported');
      const extension = view.getInt32(COPY_SIGNATURE.length + 4);
      if (end < COPY_HEADER_LENGTH + extension) {
        this.#pending = buf.slice();
        return;
      }
      pos = COPY_HEADER_LENGTH + extension;
      this.#headerDone = true;
    }

    const offsets = this.#offsets;
    const lengths = this.#lengths;
    for (;;) {
      if (pos + INT2_BYTES > end) break;
      const fieldCount = view.getInt16(pos);
      if (fieldCount === COPY_TRAILER) {
        this.#ended = true;
        pos += INT2_BYTES;
        if (pos !== end) throw new CopyFormatError('data after the COPY trailer');
        break;
      }
      if (fieldCount < 0 || fieldCount > this.#maxFields) throw new CopyFormatError(`bad field count ${fieldCount}`);
      let p = pos + INT2_BYTES;
      let complete = true;
      for (let f = 0; f < fieldCount; f++) {
        if (p + 4 > end) {
          complete = false;
          break;
        }
        const len = view.getInt32(p);
        p += 4;
        if (len === COPY_NULL_LENGTH) {
          offsets[f] = p;
          lengths[f] = -1;
          continue;
        }
        if (len < 0) throw new CopyFormatError(`bad field length ${len}`);
        if (p + len > end) {
          complete = false;
          break;
        }
        offsets[f] = p;
        lengths[f] = len;
        p += len;
      }
      if (!complete) break;
      this.#onTuple(buf, view, offsets, lengths, fieldCount);
      this.#tuples++;
      pos = p;
    }
    this.#pending = pos < end ? buf.slice(pos) : new Uint8Array(0);
  }

  /** Call when the input is exhausted: throws if the trailer was not seen. */
  end(): void {
    if (!this.#ended) throw new CopyFormatError(this.#headerDone ? 'COPY data ended without its trailer' : 'COPY data ended before its header');
  }
}

/** Reads an int8 field as a JS number (exact for |v| < 2^53). */
export function readInt8(view: DataView, offset: number): number {
  return view.getInt32(offset) * TWO_32 + view.getUint32(offset + 4);
}

/**
 * Copies 8 bytes of a double between host order and big-endian (the wire order of binary COPY). The swap
 * is its own inverse, so it serves both directions; bytes are moved, never read as a number, so NaN
 * payloads (the stale marker) survive.
 */
function swapFloat8(src: Uint8Array, s: number, dst: Uint8Array, d: number): void {
  if (LITTLE_ENDIAN_HOST) {
    dst[d] = src[s + 7];
    dst[d + 1] = src[s + 6];
    dst[d + 2] = src[s + 5];
    dst[d + 3] = src[s + 4];
    dst[d + 4] = src[s + 3];
    dst[d + 5] = src[s + 2];
    dst[d + 6] = src[s + 1];
    dst[d + 7] = src[s];
  } else {
    dst.set(src.subarray(s, s + 8), d);
  }
}

/** Copies a big-endian float8 field into element `index` of the Float64Array whose memory `target` views. */
export function copyFloat8(buf: Uint8Array, offset: number, target: Uint8Array, index: number): void {
  swapFloat8(buf, offset, target, index * 8);
}
