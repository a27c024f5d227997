import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { agentConfigurationMarkdown } from '../agent/index.ts';
import { ConfigError, OPTIONS, configurationMarkdown, parseBytes, parseHostPort, resolveServerConfig } from './config.ts';
import { parseDuration } from './duration.ts';

describe('resolveServerConfig', () => {
  it('uses the documented defaults', () => {
    const c = resolveServerConfig({}, {});
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 9201 });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toBe('./data');
    expect(c.maxFutureMs).toBe(600_000);
    expect(c.maxBodyBytes).toBe(16 * 1024 * 1024);
    expect(c.maxDecodedBytes).toBe(32 * 1024 * 1024);
    expect(c.ingestionRate).toBe(100_000);
    expect(c.queryTimeoutMs).toBe(120_000);
    expect(c.queryLookbackDeltaMs).toBe(300_000);
  });

  it('prefers the flag over the environment over the default', () => {
    expect(resolveServerConfig({}, { TRIMTAB_LISTEN: '127.0.0.1:1' }).listen).toEqual({ host: '127.0.0.1', port: 1 });
    expect(resolveServerConfig({ listen: '[::1]:2' }, { TRIMTAB_LISTEN: '127.0.0.1:1' }).listen).toEqual({ host: '::1', port: 2 });
    expect(resolveServerConfig({}, { DATABASE_URL: 'postgres://u@h/db' }).databaseUrl).toBe('postgres://u@h/db');
  });

  it('names the flag or variable that is wrong', () => {
    expect(() => resolveServerConfig({ listen: 'nope' }, {})).toThrow(/--listen "nope": expected host:port/);
    expect(() => resolveServerConfig({}, { TRIMTAB_LISTEN: ':99999' })).toThrow(/TRIMTAB_LISTEN/);
    expect(() => resolveServerConfig({}, { TRIMTAB_MAX_FUTURE: '10 minutes' })).toThrow(/TRIMTAB_MAX_FUTURE "10 minutes": expected a duration/);
    expect(() => resolveServerConfig({ 'max-body-bytes': '-3' }, {})).toThrow(/--max-body-bytes/);
    expect(() => resolveServerConfig({}, { TRIMTAB_LOG_LEVEL: 'loud' })).toThrow(/TRIMTAB_LOG_LEVEL "loud": expected one of debug, info, warn, error/);
    expect(() => resolveServerConfig({}, { TRIMTAB_DB_POOL_MAX: '0' })).toThrow(ConfigError);
    expect(() => resolveServerConfig({ 'query-timeout': '0' }, {})).toThrow(/--query-timeout "0": expected a duration greater than zero/);
  });

  it('never echoes secrets in errors', () => {
    const tryIt = (env: NodeJS.ProcessEnv) => {
      try {
        resolveServerConfig({}, env);
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    };
    const shortToken = tryIt({ TRIMTAB_BOOTSTRAP_TOKEN: 'short secret' });
    expect(shortToken).toMatch(/TRIMTAB_BOOTSTRAP_TOKEN/);
    expect(shortToken).not.toContain('short secret');
    const badUrl = tryIt({ DATABASE_URL: 'mysql://user:hunter2@host/db' });
    expect(badUrl).toMatch(/DATABASE_URL/);
    expect(badUrl).not.toContain('hunter2');
  });

  it('parses sizes, durations and addresses', () => {
    expect(parseBytes('16MiB')).toBe(16 * 1024 * 1024);
    expect(parseBytes('500kB')).toBe(500_000);
    expect(parseBytes('12')).toBe(12);
    expect(parseBytes('12 parsecs')).toBeNull();
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('5')).toBeNull();
    expect(parseDuration('5s3')).toBeNull();
    expect(parseHostPort(':9201')).toEqual({ host: '0.0.0.0', port: 9201 });
    expect(parseHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 });
  });
});

describe('README', () => {
  it('documents every server and agent option in its configuration tables, exactly as generated', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(configurationMarkdown());
    expect(readme).toContain(agentConfigurationMarkdown());
    for (const o of OPTIONS) expect(readme).toContain(o.env);
  });
});
