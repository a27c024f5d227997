// Byte-to-string helpers for the decoders: latin1 keys straight from the wire bytes, and strict UTF-8.

import { ProtocolError } from './errors.ts';

// Buffer#latin1Slice is the native routine behind buf.toString('latin1', …) without its argument
// normalisation; it is on Buffer.prototype in every Node version but not in @types/node.
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}
const hasLatin1Slice = typeof (Buffer.prototype as unknown as Partial<Latin1Slicer>).latin1Slice === 'function';

/** One char per byte (U+0000..U+00FF); an injective, allocation-light view of raw bytes as a string key. */
export function latin1(buf: Buffer, start: number, end: number): string {
  return hasLatin1Slice
    ? (buf as unknown as Latin1Slicer).latin1Slice(start, end)
    : buf.toString('latin1', start, end);
}

/** A Buffer view of the same memory (no copy); the decoders need Buffer's native string routines. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// fatal: invalid UTF-8 is an error, never U+FFFD. ignoreBOM: a leading U+FEFF is part of the value.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict UTF-8 decoding of buf[start, end); null when the bytes are not valid UTF-8. */
export function utf8OrNull(buf: Buffer, start: number, end: number): string | null {
  // ASCII is the norm for label names and most values: then latin1 and UTF-8 agree.
  let i = start;
  while (i < end && buf[i] < 0x80) i++;
  if (i === end) return latin1(buf, start, end);
  try {
    return utf8Decoder.decode(buf.subarray(start, end));
  } catch {
    return null;
  }
}

/** Strict UTF-8 decoding; throws ProtocolError('invalid_utf8') naming `what`. */
export function utf8(buf: Buffer, start: number, end: number, what: string): string {
  const s = utf8OrNull(buf, start, end);
  if (s === null) throw invalidUtf8(what, buf, start, end);
  return s;
}

/** The error for bytes that are not UTF-8, showing them. */
export function invalidUtf8(what: string, buf: Uint8Array, start: number, end: number): ProtocolError {
  return new ProtocolError('invalid_utf8', `${what} is not valid UTF-8 (bytes ${describeBytes(buf, start, end)})`);
}

/** A short, printable rendering of raw bytes for error messages: ASCII kept, others as \xNN. */
export function describeBytes(buf: Uint8Array, start: number, end: number, max = 64): string {
  let out = '"';
  const stop = Math.min(end, start + max);
  for (let i = start; i < stop; i++) {
    const b = buf[i];
    out += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out + (end > stop ? '…"' : '"');
}
