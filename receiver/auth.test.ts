import { describe, expect, it } from 'vitest';
import type { Tenant, TenantStore } from '../storage/types.ts';
import { AUTH_CACHE_TTL_MS, Authenticator, tokenFromAuthorization } from './auth.ts';

describe('tokenFromAuthorization', () => {
  it('reads bearer tokens and the basic-auth password', () => {
    expect(tokenFromAuthorization('Bearer abc')).toBe('abc');
    expect(tokenFromAuthorization('bearer   abc  ')).toBe('abc');
    expect(tokenFromAuthorization(`Basic ${Buffer.from('prometheus:tok:en').toString('base64')}`)).toBe('tok:en');
    expect(tokenFromAuthorization(`Basic ${Buffer.from('user:').toString('base64')}`)).toBeNull();
    expect(tokenFromAuthorization('Digest x')).toBeNull();
    expect(tokenFromAuthorization('Bearer')).toBeNull();
    expect(tokenFromAuthorization(undefined)).toBeNull();
  });
});

describe('Authenticator', () => {
  // A counting stand-in for the tenant store: the cache behaviour is what is under test here; the real
  // store is exercised against PostgreSQL and PGlite in storage/ and through HTTP in test/.
  function countingStore(valid: Map<string, Tenant>) {
    const calls: string[] = [];
    const store = { authenticate: async (token: string) => (calls.push(token), valid.get(token) ?? null) } as unknown as TenantStore;
    return { store, calls };
  }
  const tenant: Tenant = { id: 1, name: 'a', createdAt: new Date(0) };

  it('caches lookups briefly, including misses, and expires them', async () => {
    let now = 0;
    const valid = new Map([['good-token', tenant]]);
    const { store, calls } = countingStore(valid);
    const auth = new Authenticator(store, () => now);
    await expect(auth.authenticate('Bearer good-token')).resolves.toEqual(tenant);
    await expect(auth.authenticate('Bearer good-token')).resolves.toEqual(tenant);
    await expect(auth.authenticate('Bearer bad-token')).rejects.toThrow(/invalid or revoked/);
    await expect(auth.authenticate('Bearer bad-token')).rejects.toThrow(/invalid or revoked/);
    expect(calls).toEqual(['good-token', 'bad-token']);
    valid.delete('good-token'); // revoked
    now += AUTH_CACHE_TTL_MS + 1;
    await expect(auth.authenticate('Bearer good-token')).rejects.toThrow(/invalid or revoked/);
    await expect(auth.authenticate(undefined)).rejects.toThrow(/missing credentials/);
  });
});
