// A bounded map that approximates LRU cheaply: two generations. Lookups hit the young generation, or move
// an entry up from the old one; when the young generation is full it becomes the old one and the previous
// old one is dropped wholesale. So at most 2 × generationSize entries are kept, recently used ones survive,
// and nothing is ever scanned.

export class GenerationalCache<K, V> {
  readonly #generationSize: number;
  #young = new Map<K, V>();
  #old = new Map<K, V>();

  constructor(maxEntries: number) {
    if (!(maxEntries >= 2)) throw new RangeError(`cache size must be at least 2, got ${maxEntries}`);
    this.#generationSize = Math.floor(maxEntries / 2);
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  get(key: K): V | undefined {
    const v = this.#young.get(key);
    if (v !== undefined) return v;
    const o = this.#old.get(key);
    if (o !== undefined) {
      this.#old.delete(key);
      this.set(key, o);
    }
    return o;
  }

  set(key: K, value: V): void {
    this.#young.set(key, value);
    if (this.#young.size >= this.#generationSize) {
      this.#old = this.#young;
      this.#young = new Map();
    }
  }

  delete(key: K): void {
    this.#young.delete(key);
    this.#old.delete(key);
  }

  clear(): void {
    this.#young.clear();
    this.#old.clear();
  }
}
