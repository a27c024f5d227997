import { describe, expect, it } from 'vitest';
import { StorageUnavailableError, isUnavailable, sqlStateOf, wrapDbError } from './errors.ts';

function systemError(code: string): Error {
  return Object.assign(new Error(`write ${code}`), { code, errno: -32, syscall: 'write' });
}

describe('database error classification', () => {
  it('treats lost connections as retryable, including errno codes that look like a SQLSTATE', () => {
    for (const code of ['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT']) {
      const error = systemError(code);
      expect(sqlStateOf(error), code).toBeUndefined();
      expect(isUnavailable(error), code).toBe(true);
      expect(wrapDbError(error, 'writing samples')).toBeInstanceOf(StorageUnavailableError);
    }
    expect(isUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' }))).toBe(true);
    expect(isUnavailable(Object.assign(new Error('connection failure'), { code: '08006', severity: 'FATAL' }))).toBe(true);
  });

  it('keeps SQL errors that a retry cannot fix out of the retryable class', () => {
    const syntax = Object.assign(new Error('syntax error'), { code: '42601', severity: 'ERROR' });
    expect(sqlStateOf(syntax)).toBe('42601');
    expect(isUnavailable(syntax)).toBe(false);
    expect(isUnavailable(Object.assign(new Error('protocol violation'), { code: '08P01', severity: 'ERROR' }))).toBe(false);
    expect(wrapDbError(syntax, 'x').code).toBe('storage_error');
  });
});
