// Storage errors. A database that cannot be reached (refused, reset, shut down, too many connections) is
// StorageUnavailableError, code 'storage_unavailable': retryable, the receiver answers 503. Every other
// database error is wrapped as StorageError with the driver's error as `cause`, so nothing the database
// says is lost and nothing is misread as "try again".

import { TrimtabError } from '../protocol/errors.ts';

export type StorageErrorCode =
  | 'storage_unavailable' // retryable: 503
  | 'storage_error' // any other database failure: 500
  | 'tenant_exists'
  | 'tenant_not_found'
  | 'invalid_token'
  | 'invalid_matcher' // a regex PostgreSQL cannot compile: the query's fault (400)
  | 'store_locked'; // the embedded store's directory is open in another process

export class StorageError extends TrimtabError {
  declare readonly code: StorageErrorCode;
  /** SQLSTATE of the underlying database error, when there was one. */
  readonly sqlState: string | undefined;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.sqlState = sqlStateOf(options?.cause);
  }
}

export class StorageUnavailableError extends StorageError {
  declare readonly code: 'storage_unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super('storage_unavailable', message, options);
  }
}

/** SQLSTATE values the storage code branches on. */
export const SqlState = {
  UNIQUE_VIOLATION: '23505',
  CHECK_VIOLATION: '23514', // also "no partition of relation … found for row"
  DUPLICATE_TABLE: '42P07',
  DUPLICATE_OBJECT: '42710',
  INVALID_OBJECT_DEFINITION: '42P17',
  UNDEFINED_TABLE: '42P01',
  INVALID_REGULAR_EXPRESSION: '2201B',
  DEADLOCK_DETECTED: '40P01',
  SERIALIZATION_FAILURE: '40001',
  ADMIN_SHUTDOWN: '57P01',
  CRASH_SHUTDOWN: '57P02',
  CANNOT_CONNECT_NOW: '57P03',
  TOO_MANY_CONNECTIONS: '53300',
} as const;

const UNAVAILABLE_SQLSTATES = new Set<string>([SqlState.ADMIN_SHUTDOWN, SqlState.CRASH_SHUTDOWN, SqlState.CANNOT_CONNECT_NOW, SqlState.TOO_MANY_CONNECTIONS]);

/** Node socket errors that mean the server went away or is not there. */
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/** Messages node-postgres and PGlite use for a connection that is gone (they carry no code). */
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /connection ended/i,
  /client has encountered a connection error/i,
  /timeout exceeded when trying to connect/i,
  /cannot use a pool after calling end/i,
  /client was closed and is not queryable/i,
  /pglite is closed/i,
];

export function sqlStateOf(error: unknown): string | undefined {
  // Node's system errors (EPIPE, ECONNRESET…) also have a `code`, some of five capitals like a SQLSTATE;
  // they carry `syscall`/`errno`, which database errors never do.
  if (error && typeof error === 'object' && 'code' in error && !('syscall' in error) && !('errno' in error)) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** True when the error means the database could not be reached or dropped us: worth retrying later. */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true;
  if (error instanceof StorageError) return false;
  if (!error || typeof error !== 'object') return false;
  const sqlState = sqlStateOf(error);
  // Class 08 is "connection exception", except 08P01 (protocol violation): a bug on our side, not an outage.
  if (sqlState !== undefined) return UNAVAILABLE_SQLSTATES.has(sqlState) || (sqlState.startsWith('08') && sqlState !== '08P01');
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_ERRNOS.has(code)) return true;
  const message = (error as { message?: unknown }).message;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((re) => re.test(message))) return true;
  // AggregateError (a refused connection to every address of "localhost") and wrapped causes.
  if (error instanceof AggregateError && error.errors.length > 0 && error.errors.every(isUnavailable)) return true;
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isUnavailable(cause);
}

/** Wraps a driver error: StorageUnavailableError when retryable, else StorageError; storage errors pass through. */
export function wrapDbError(error: unknown, what: string): StorageError {
  if (error instanceof StorageError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  if (isUnavailable(error)) return new StorageUnavailableError(`database unavailable while ${what}: ${detail}`, { cause: error });
  if (sqlStateOf(error) === SqlState.INVALID_REGULAR_EXPRESSION) return new StorageError('invalid_matcher', `invalid regular expression in a matcher: ${detail}`, { cause: error });
  return new StorageError('storage_error', `database error while ${what}: ${detail}`, { cause: error });
}
