// Label sets as storage keeps them: sorted by name, hashed to a 16-byte identity per tenant, and stored as a
// jsonb object {name: value} (including __name__).

import { createHash } from 'node:crypto';
import type { Label } from '../protocol/types.ts';

/** Bytes of SHA-256 kept as series.labels_hash. */
export const LABELS_HASH_BYTES = 16;

/** Orders label names by UTF-8 bytes (= code points), as Prometheus and protocol's validator sort them. */
export function compareLabels(a: Label, b: Label): number {
  const x = a.name;
  const y = b.name;
  if (x === y) return 0;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    let c = x.charCodeAt(i);
    let d = y.charCodeAt(i);
    if (c === d) continue;
    // Surrogates encode code points above U+FFFF: lift them above the rest of the BMP.
    if (c >= 0xd800 && c <= 0xdfff) c += 0x10000;
    if (d >= 0xd800 && d <= 0xdfff) d += 0x10000;
    return c - d;
  }
  return x.length - y.length;
}

export function sortLabels(labels: readonly Label[]): Label[] {
  return [...labels].sort(compareLabels);
}

const SEPARATOR = Buffer.from([0xff]); // never part of valid UTF-8, so name/value boundaries are unambiguous

/** Hex of the first 16 bytes of SHA-256 over name 0xff value 0xff … for labels already sorted. */
export function labelsHashHex(sorted: readonly Label[]): string {
  const h = createHash('sha256');
  for (const l of sorted) {
    h.update(l.name, 'utf8');
    h.update(SEPARATOR);
    h.update(l.value, 'utf8');
    h.update(SEPARATOR);
  }
  return h.digest().subarray(0, LABELS_HASH_BYTES).toString('hex');
}

/** The jsonb text of a label set: an object in label order. */
export function labelsJson(sorted: readonly Label[]): string {
  const o: Record<string, string> = {};
  for (const l of sorted) o[l.name] = l.value;
  return JSON.stringify(o);
}

/** Labels from a jsonb object, sorted by name. */
export function labelsFromJson(value: unknown): Label[] {
  const o = (typeof value === 'string' ? JSON.parse(value) : value) as Record<string, string>;
  return Object.keys(o)
    .map((name) => ({ name, value: o[name] }))
    .sort(compareLabels);
}

/** PostgreSQL text and jsonb cannot hold U+0000. */
export function hasNul(labels: readonly Label[]): boolean {
  for (const l of labels) if (l.name.includes('\0') || l.value.includes('\0')) return true;
  return false;
}

/** Prometheus's rendering of a label set: {__name__="x", a="b"}, long values cut. */
export function formatLabels(labels: readonly Label[]): string {
  return `{${labels.map((l) => `${l.name}=${JSON.stringify(l.value.length > 120 ? `${l.value.slice(0, 120)}…` : l.value)}`).join(', ')}}`;
}
