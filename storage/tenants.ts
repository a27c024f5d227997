// Tenants and their API tokens. A token is "tt_" + 32 random bytes in base64url; only its SHA-256 is stored
// (with the first few characters as a visible prefix), so a database dump reveals no usable token.
// Authenticating hashes the presented token and looks the hash up. Tokens are never logged.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Driver } from './driver.ts';
import { SqlState, sqlStateOf, StorageError, wrapDbError } from './errors.ts';
import type { Tenant, TenantStore, TokenInfo } from './types.ts';

export const TOKEN_PREFIX = 'tt_';
/** Characters of the token kept in clear as its visible prefix (tt_ plus six). */
export const VISIBLE_PREFIX_LENGTH = TOKEN_PREFIX.length + 6;
/** A caller-supplied token (bootstrap) must look like this: printable ASCII, no spaces. */
const SUPPLIED_TOKEN = /^[\x21-\x7e]{16,512}$/;

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function visiblePrefix(token: string): string {
  return token.slice(0, VISIBLE_PREFIX_LENGTH);
}

function checkSupplied(token: string): void {
  if (!SUPPLIED_TOKEN.test(token)) throw new StorageError('invalid_token', 'a supplied token must be 16 to 512 printable ASCII characters without spaces');
}

interface TenantRow {
  id: number;
  name: string;
  created_at: Date;
}

interface TokenRow {
  id: number;
  tenant_id: number;
  tenant_name: string;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

function toTenant(r: TenantRow): Tenant {
  return { id: Number(r.id), name: r.name, createdAt: new Date(r.created_at) };
}

function toTokenInfo(r: TokenRow): TokenInfo {
  return {
    id: Number(r.id),
    tenantId: Number(r.tenant_id),
    tenantName: r.tenant_name,
    prefix: r.prefix,
    createdAt: new Date(r.created_at),
    revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
  };
}

// bytea parameters travel as hex text and are decoded in SQL: the same on both drivers.
const hex = (b: Buffer) => b.toString('hex');

export class PgTenantStore implements TenantStore {
  readonly #driver: Driver;

  constructor(driver: Driver) {
    this.#driver = driver;
  }

  async createTenant(name: string, token?: string): Promise<{ tenant: Tenant; token: string }> {
    if (token !== undefined) checkSupplied(token);
    const clear = token ?? generateToken();
    const tx = await this.#driver.begin({}).catch((error: unknown) => {
      throw wrapDbError(error, 'creating a tenant');
    });
    try {
      const { rows } = await tx.query<TenantRow>('INSERT INTO tenants (name) VALUES ($1) RETURNING id, name, created_at', [name]);
      const tenant = toTenant(rows[0]);
      await tx.query("INSERT INTO api_tokens (tenant_id, token_hash, prefix) VALUES ($1, decode($2, 'hex'), $3)", [tenant.id, hex(hashToken(clear)), visiblePrefix(clear)]);
      await tx.commit();
      return { tenant, token: clear };
    } catch (error) {
      await tx.rollback();
      if (sqlStateOf(error) === SqlState.UNIQUE_VIOLATION) {
        const constraint = (error as { constraint?: string }).constraint ?? '';
        if (constraint.includes('token')) throw new StorageError('invalid_token', 'that token is already in use', { cause: error });
        throw new StorageError('tenant_exists', `tenant ${JSON.stringify(name)} already exists`, { cause: error });
      }
      throw wrapDbError(error, 'creating a tenant');
    }
  }

  async listTenants(): Promise<Array<Tenant & { activeTokens: number }>> {
    try {
      const { rows } = await this.#driver.query<TenantRow & { active_tokens: number }>(
        `SELECT t.id, t.name, t.created_at, count(k.id) FILTER (WHERE k.revoked_at IS NULL)::int AS active_tokens
           FROM tenants t LEFT JOIN api_tokens k ON k.tenant_id = t.id
          GROUP BY t.id ORDER BY t.name`,
      );
      return rows.map((r) => ({ ...toTenant(r), activeTokens: Number(r.active_tokens) }));
    } catch (error) {
      throw wrapDbError(error, 'listing tenants');
    }
  }

  async createToken(tenantName: string, token?: string): Promise<{ token: string; info: TokenInfo }> {
    if (token !== undefined) checkSupplied(token);
    const clear = token ?? generateToken();
    let rows: TokenRow[];
    try {
      ({ rows } = await this.#driver.query<TokenRow>(
        `INSERT INTO api_tokens (tenant_id, token_hash, prefix)
         SELECT t.id, decode($2, 'hex'), $3 FROM tenants t WHERE t.name = $1
         RETURNING id, tenant_id, $1::text AS tenant_name, prefix, created_at, revoked_at`,
        [tenantName, hex(hashToken(clear)), visiblePrefix(clear)],
      ));
    } catch (error) {
      if (sqlStateOf(error) === SqlState.UNIQUE_VIOLATION) throw new StorageError('invalid_token', 'that token is already in use', { cause: error });
      throw wrapDbError(error, 'creating a token');
    }
    if (rows.length === 0) throw new StorageError('tenant_not_found', `no tenant named ${JSON.stringify(tenantName)}`);
    return { token: clear, info: toTokenInfo(rows[0]) };
  }

  async listTokens(tenantName?: string): Promise<TokenInfo[]> {
    try {
      const { rows } = await this.#driver.query<TokenRow>(
        `SELECT k.id, k.tenant_id, t.name AS tenant_name, k.prefix, k.created_at, k.revoked_at
           FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id
          WHERE $1::text IS NULL OR t.name = $1
          ORDER BY t.name, k.id`,
        [tenantName ?? null],
      );
      return rows.map(toTokenInfo);
    } catch (error) {
      throw wrapDbError(error, 'listing tokens');
    }
  }

  async revokeToken(idOrPrefix: string): Promise<number> {
    const byId = /^\d{1,9}$/.test(idOrPrefix);
    try {
      const { rowCount } = await this.#driver.query(
        byId
          ? 'UPDATE api_tokens SET revoked_at = now() WHERE id = $1::int AND revoked_at IS NULL'
          : 'UPDATE api_tokens SET revoked_at = now() WHERE prefix = $1 AND revoked_at IS NULL',
        [idOrPrefix],
      );
      return rowCount;
    } catch (error) {
      throw wrapDbError(error, 'revoking a token');
    }
  }

  async authenticate(token: string): Promise<Tenant | null> {
    const hash = hashToken(token);
    let rows: Array<TenantRow & { token_hash: Uint8Array }>;
    try {
      ({ rows } = await this.#driver.query<TenantRow & { token_hash: Uint8Array }>(
        `SELECT t.id, t.name, t.created_at, k.token_hash
           FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id
          WHERE k.token_hash = decode($1, 'hex') AND k.revoked_at IS NULL`,
        [hex(hash)],
      ));
    } catch (error) {
      throw wrapDbError(error, 'authenticating a token');
    }
    if (rows.length === 0) return null;
    // The index found it by equality; confirm in constant time so nothing depends on how the bytes compare.
    const stored = Buffer.from(rows[0].token_hash);
    if (stored.length !== hash.length || !timingSafeEqual(stored, hash)) return null;
    return toTenant(rows[0]);
  }

  async countTenants(): Promise<number> {
    try {
      const { rows } = await this.#driver.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants');
      return Number(rows[0].n);
    } catch (error) {
      throw wrapDbError(error, 'counting tenants');
    }
  }
}
