import { describe, expect, it } from 'vitest';
import { TenantRateLimiter } from './rate-limit.ts';

describe('TenantRateLimiter', () => {
  it('admits up to the burst, then refuses with the time until the bucket refills', () => {
    let now = 0;
    const limiter = new TenantRateLimiter(100, 1000, () => now);
    expect(limiter.take(1, 1000).allowed).toBe(true);
    const refused = limiter.take(1, 1);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBe(1);
    now += 500; // +50 tokens
    expect(limiter.take(1, 10).allowed).toBe(true);
  });

  it('lets one request larger than the burst through on a full bucket, then charges the debt', () => {
    let now = 0;
    const limiter = new TenantRateLimiter(1000, 2000, () => now);
    expect(limiter.take(7, 5000).allowed).toBe(true);
    const refused = limiter.take(7, 1);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 3 });
    now += 3001;
    expect(limiter.take(7, 1).allowed).toBe(true);
  });

  it('keeps tenants apart and can be turned off', () => {
    const limiter = new TenantRateLimiter(10, 10, () => 0);
    expect(limiter.take(1, 10).allowed).toBe(true);
    expect(limiter.take(1, 1).allowed).toBe(false);
    expect(limiter.take(2, 1).allowed).toBe(true);
    const off = new TenantRateLimiter(0, 1, () => 0);
    for (let i = 0; i < 5; i++) expect(off.take(1, 1e9).allowed).toBe(true);
  });
});
