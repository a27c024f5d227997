// Per-tenant token bucket on ingested items (samples + histograms + exemplars) per second, per replica.
// A request is admitted while the bucket is positive and may take it into debt, so a request larger than
// the burst still gets through once the bucket is full, and the long-run rate is what was configured.

export interface RateDecision {
  allowed: boolean;
  /** When refused: seconds until the bucket is positive again. */
  retryAfterSeconds: number;
}

export class TenantRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<number, { tokens: number; at: number }>();

  /** rate in items per second (0 = unlimited), burst in items. */
  constructor(rate: number, burst: number, now: () => number = () => performance.now()) {
    this.#rate = rate;
    this.#burst = burst;
    this.#now = now;
  }

  take(tenant: number, items: number): RateDecision {
    if (this.#rate === 0 || items === 0) return { allowed: true, retryAfterSeconds: 0 };
    const now = this.#now();
    let bucket = this.#buckets.get(tenant);
    if (!bucket) {
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(tenant, bucket);
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    if (bucket.tokens <= 0) {
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(-bucket.tokens / this.#rate)) };
    }
    bucket.tokens -= items;
    return { allowed: true, retryAfterSeconds: 0 };
  }
}
