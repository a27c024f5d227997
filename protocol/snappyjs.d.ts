// snappyjs 0.7 ships no types. Only what protocol/ uses is declared.
declare module 'snappyjs' {
  /** Snappy block-format compression. */
  export function compress(uncompressed: Uint8Array): Uint8Array;
  /** Snappy block-format decompression; throws a plain Error on (some) corrupt input. */
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
}
