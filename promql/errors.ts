// Errors of the PromQL engine. Each carries a machine-readable `code` (the receiver maps codes to HTTP
// statuses in one place) and the Prometheus API `errorType` the query API must answer with:
//
//   bad_data   400  the query does not parse or type-check, or its parameters are invalid
//   execution  422  the query is valid but cannot be evaluated (many-to-many matching, too many samples…)
//   timeout    503  the query ran past its deadline
//   canceled   503  the caller aborted the query (client went away)
//   internal   500  a bug, or the storage failed
//
// Messages follow Prometheus's wording so that clients that pattern-match them (Grafana does for a few)
// keep working.

import { TrimtabError } from '../protocol/errors.ts';

export type PromQLErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal';

export type PromQLErrorCode =
  | 'promql_parse' // syntax or type error, bad_data
  | 'promql_bad_query' // invalid query parameters (range query over a range vector, bad step…), bad_data
  | 'promql_execution' // runtime evaluation error, execution
  | 'promql_too_many_samples' // the sample limit was hit, execution
  | 'promql_unsupported' // a valid PromQL feature Trimtab does not implement yet, execution
  | 'promql_timeout' // timeout
  | 'promql_canceled' // canceled
  | 'promql_storage' // the Queryable failed, internal
  | 'promql_internal'; // a bug, internal

const typeOfCode: Record<PromQLErrorCode, PromQLErrorType> = {
  promql_parse: 'bad_data',
  promql_bad_query: 'bad_data',
  promql_execution: 'execution',
  promql_too_many_samples: 'execution',
  promql_unsupported: 'execution',
  promql_timeout: 'timeout',
  promql_canceled: 'canceled',
  promql_storage: 'internal',
  promql_internal: 'internal',
};

export class PromQLError extends TrimtabError {
  declare readonly code: PromQLErrorCode;
  /** The Prometheus HTTP API `errorType` for this error. */
  readonly errorType: PromQLErrorType;
  constructor(code: PromQLErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.errorType = typeOfCode[code];
  }
}

/** A syntax or type error, formatted like Prometheus: `1:5: parse error: unexpected …`. */
export class ParseError extends PromQLError {
  /** Offset (UTF-16 code units) of the start of the offending range in the query. */
  readonly start: number;
  readonly end: number;
  /** 1-based line and column (the column counts UTF-8 bytes, as Prometheus does). */
  readonly line: number;
  readonly column: number;
  /** The message without the position prefix. */
  readonly detail: string;
  constructor(query: string, start: number, end: number, detail: string) {
    const { line, column } = positionOf(query, start);
    super('promql_parse', `${line}:${column}: parse error: ${detail}`);
    this.start = start;
    this.end = end;
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}

export function positionOf(query: string, offset: number): { line: number; column: number } {
  const pos = Math.max(0, Math.min(offset, query.length));
  let line = 1;
  let lastBreak = -1;
  for (let i = 0; i < pos; i++) {
    if (query.charCodeAt(i) === 10) {
      line++;
      lastBreak = i;
    }
  }
  const column = Buffer.byteLength(query.slice(lastBreak + 1, pos), 'utf8') + 1;
  return { line, column };
}

export function tooManySamples(): PromQLError {
  return new PromQLError(
    'promql_too_many_samples',
    'query processing would load too many samples into memory in query execution',
  );
}

export function timeoutError(where: string): PromQLError {
  return new PromQLError('promql_timeout', `query timed out in ${where}`);
}

export function canceledError(where: string, cause?: unknown): PromQLError {
  return new PromQLError('promql_canceled', `query was canceled in ${where}`, { cause });
}

export function executionError(message: string): PromQLError {
  return new PromQLError('promql_execution', message);
}
