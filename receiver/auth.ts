// Bearer token, or HTTP basic auth with the token as the password (what Prometheus's `basic_auth` sends).
// The token alone decides the tenant. Lookups are cached briefly by the token's hash, so a revoked token
// stops working within AUTH_CACHE_TTL_MS on every replica, and the clear token is never kept or logged.

import { createHash } from 'node:crypto';
import type { Tenant, TenantStore } from '../storage/types.ts';
import { ReceiverError } from './errors.ts';

export const AUTH_CACHE_TTL_MS = 10_000;
const AUTH_CACHE_MAX_ENTRIES = 10_000;

/** Extracts the presented token from an Authorization header, or null when there is none usable. */
export function tokenFromAuthorization(header: string | undefined): string | null {
  if (!header) return null;
  const space = header.indexOf(' ');
  if (space < 0) return null;
  const scheme = header.slice(0, space).toLowerCase();
  const credentials = header.slice(space + 1).trim();
  if (scheme === 'bearer') return credentials || null;
  if (scheme === 'basic') {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    return password || null;
  }
  return null;
}

export class Authenticator {
  readonly #store: TenantStore;
  readonly #now: () => number;
  readonly #cache = new Map<string, { tenant: Tenant | null; expires: number }>();

  constructor(store: TenantStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  /** Resolves the request's tenant or throws ReceiverError('unauthorized'); storage failures propagate (503). */
  async authenticate(authorization: string | undefined): Promise<Tenant> {
    const token = tokenFromAuthorization(authorization);
    if (token === null) {
      throw new ReceiverError('unauthorized', 'missing credentials: send "Authorization: Bearer <token>" or basic auth with the token as password');
    }
    const key = createHash('sha256').update(token).digest('base64');
    const now = this.#now();
    const cached = this.#cache.get(key);
    let tenant: Tenant | null;
    if (cached && cached.expires > now) {
      tenant = cached.tenant;
    } else {
      tenant = await this.#store.authenticate(token);
      if (this.#cache.size >= AUTH_CACHE_MAX_ENTRIES) this.#cache.clear();
      this.#cache.set(key, { tenant, expires: now + AUTH_CACHE_TTL_MS });
    }
    if (!tenant) throw new ReceiverError('unauthorized', 'invalid or revoked token');
    return tenant;
  }
}
