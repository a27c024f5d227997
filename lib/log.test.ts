import { describe, expect, it } from 'vitest';
import { createLogger } from './log.ts';

describe('createLogger', () => {
  it('writes one JSON object per line, filtered by level, with child fields', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', write: (l) => lines.push(l), base: { role: 'receiver' } });
    log.debug('hidden');
    log.child({ component: 'x' }).warn('shown', { n: 1 });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'warn', msg: 'shown', role: 'receiver', component: 'x', n: 1 });
  });

  it('redacts fields named like credentials and serialises errors with their cause and code', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    const error = Object.assign(new Error('outer', { cause: new Error('inner') }), { code: 'storage_unavailable' });
    log.error('failed', { token: 'tt_secret', Authorization: 'Bearer tt_secret', password: 'p', error });
    expect(lines[0]).not.toContain('tt_secret');
    const record = JSON.parse(lines[0]);
    expect(record.token).toBe('[redacted]');
    expect(record.error).toEqual({ message: 'outer', name: 'Error', code: 'storage_unavailable', cause: { message: 'inner', name: 'Error' } });
  });
});
