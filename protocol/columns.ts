// Growable columns of float samples, filled by the decoders and handed out as SampleColumns.
//
// Values are written as raw bytes through a Uint8Array view of the values' buffer, never as JS numbers,
// so NaN payloads (the stale marker 0x7ff0000000000002) are kept; a number stored into a Float64Array
// may keep its payload too, but one that passed through a plain number[] would not.

import type { SampleColumns } from './types.ts';

const MIN_CAPACITY = 64;

export class SampleColumnsBuilder {
  length = 0;
  capacity: number;
  timestamps: Float64Array;
  values: Float64Array;
  /** Byte view of `values`; the decoders copy the wire doubles into it. */
  valueBytes: Uint8Array;
  startTimestamps: Float64Array;
  series: Uint32Array;

  constructor(expected: number) {
    const cap = Math.max(MIN_CAPACITY, expected | 0);
    this.capacity = cap;
    this.timestamps = new Float64Array(cap);
    this.values = new Float64Array(cap);
    this.valueBytes = new Uint8Array(this.values.buffer);
    this.startTimestamps = new Float64Array(cap);
    this.series = new Uint32Array(cap);
  }

  /** Doubles the capacity, keeping what is written. */
  grow(): void {
    const cap = this.capacity * 2;
    const timestamps = new Float64Array(cap);
    timestamps.set(this.timestamps);
    const values = new Float64Array(cap);
    // Copy bytes, not numbers: Float64Array#set between same-typed arrays is a memcpy, but say so.
    new Uint8Array(values.buffer).set(this.valueBytes);
    const startTimestamps = new Float64Array(cap);
    startTimestamps.set(this.startTimestamps);
    const series = new Uint32Array(cap);
    series.set(this.series);
    this.capacity = cap;
    this.timestamps = timestamps;
    this.values = values;
    this.valueBytes = new Uint8Array(values.buffer);
    this.startTimestamps = startTimestamps;
    this.series = series;
  }

  /** The filled part (views, no copy). */
  finish(): SampleColumns {
    const n = this.length;
    return {
      length: n,
      timestamps: this.timestamps.subarray(0, n),
      values: this.values.subarray(0, n),
      startTimestamps: this.startTimestamps.subarray(0, n),
      series: this.series.subarray(0, n),
    };
  }
}
