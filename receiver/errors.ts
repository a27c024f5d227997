// The one place where error codes become HTTP statuses. Remote-write senders retry 5xx forever, so only
// failures that may succeed on retry (the database being unreachable) are 5xx; bad input is always 4xx.

import { TrimtabError } from '../protocol/errors.ts';

export type ReceiverErrorCode = 'unauthorized' | 'body_too_large' | 'rate_limited' | 'method_not_allowed' | 'not_ready';

export class ReceiverError extends TrimtabError {
  declare readonly code: ReceiverErrorCode;
  /** Seconds, for 429 and 503 answers. */
  readonly retryAfterSeconds: number | undefined;
  constructor(code: ReceiverErrorCode, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(code, message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

const STATUS_BY_CODE: Record<string, number> = {
  unsupported_content_type: 415,
  unsupported_content_encoding: 415,
  corrupt_snappy: 400,
  decoded_too_large: 400,
  malformed_protobuf: 400,
  unauthorized: 401,
  method_not_allowed: 405,
  body_too_large: 413,
  rate_limited: 429,
  storage_unavailable: 503,
  not_ready: 503,
};

/** Every per-item RejectReason from protocol/ is a 400: the data can never succeed. */
const BAD_DATA = 400;

export function statusFor(error: unknown): number {
  if (error instanceof TrimtabError) {
    const status = STATUS_BY_CODE[error.code];
    if (status !== undefined) return status;
    if (error.name === 'ProtocolError') return BAD_DATA;
  }
  return 500;
}

export function retryAfterFor(error: unknown): number | undefined {
  if (error instanceof ReceiverError) return error.retryAfterSeconds;
  if (error instanceof TrimtabError && error.code === 'storage_unavailable') return 1;
  return undefined;
}

/** Prometheus's query-API error types (web/api/v1/api.go) and the status each is answered with. */
export type ApiErrorType = 'bad_data' | 'execution' | 'canceled' | 'timeout' | 'internal' | 'unavailable' | 'not_found';

const STATUS_BY_API_ERROR: Record<ApiErrorType, number> = {
  bad_data: 400,
  execution: 422,
  canceled: 499,
  timeout: 503,
  internal: 500,
  unavailable: 503,
  not_found: 404,
};

export function statusForApiError(type: ApiErrorType): number {
  return STATUS_BY_API_ERROR[type];
}
