// Metric metadata collected while decoding, deduplicated within a request.

import type { DecodedMetadata, MetricTypeValue } from './types.ts';

export class MetadataSet {
  readonly list: DecodedMetadata[] = [];
  // Family name → indexes into list; a family normally has one entry, so lookups stay short.
  private readonly byFamily = new Map<string, number[]>();

  /** Adds an entry unless an identical one is already there; returns its index in list. */
  add(metricFamilyName: string, type: MetricTypeValue, help: string, unit: string): number {
    let idxs = this.byFamily.get(metricFamilyName);
    if (idxs) {
      for (const i of idxs) {
        const m = this.list[i];
        if (m.type === type && m.help === help && m.unit === unit) return i;
      }
    } else {
      idxs = [];
      this.byFamily.set(metricFamilyName, idxs);
    }
    const i = this.list.length;
    this.list.push({ metricFamilyName, type, help, unit });
    idxs.push(i);
    return i;
  }
}
