import { describe, expect, it } from 'vitest';
import { ConfigError } from '../bin/config.ts';
import { AGENT_OPTIONS, agentConfigurationMarkdown, resolveAgentConfig } from './config.ts';

const base = { 'remote-write-url': 'https://trimtab.example.com/api/v1/write', cluster: 'prod' };

describe('agent configuration: flag, then environment, then default', () => {
  it('applies the documented defaults', () => {
    const c = resolveAgentConfig(base, {});
    expect(c).toMatchObject({
      remoteWriteUrl: 'https://trimtab.example.com/api/v1/write',
      remoteWriteVersion: 1,
      cluster: 'prod',
      externalLabels: [{ name: 'cluster', value: 'prod' }],
      scrapeTargets: [],
      scrapeIntervalMs: 30_000,
      scrapeTimeoutMs: 10_000,
      kubeFacts: 'auto',
      serviceAccountDir: '/var/run/secrets/kubernetes.io/serviceaccount',
      kubelet: { paths: ['/metrics/cadvisor', '/metrics/resource'], insecureSkipVerify: false },
      dropLabels: ['id', 'name'],
      buffer: { dir: undefined, memoryBytes: 8 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 },
      shards: 2,
      maxSamplesPerSend: 2000,
      batchSendDeadlineMs: 5000,
      minBackoffMs: 100,
      maxBackoffMs: 10_000,
      retryOn429: true,
      remoteTimeoutMs: 30_000,
      listen: { host: '0.0.0.0', port: 9202 },
      logLevel: 'info',
      shutdownTimeoutMs: 25_000,
    });
  });

  it('takes the environment when no flag is given, and the flag over the environment', () => {
    const env = {
      TRIMTAB_REMOTE_WRITE_URL: 'http://env/api/v1/write',
      TRIMTAB_CLUSTER: 'from-env',
      TRIMTAB_SCRAPE_INTERVAL: '15s',
      TRIMTAB_SCRAPE_TARGETS: 'node-exporter=http://127.0.0.1:9100/metrics, http://10.0.0.1:8080/metrics',
      TRIMTAB_EXTERNAL_LABELS: 'region=eu,env=prod',
      TRIMTAB_BUFFER_DIR: '/buffer',
    };
    const c = resolveAgentConfig({ 'scrape-interval': '20s' }, env);
    expect(c.remoteWriteUrl).toBe('http://env/api/v1/write');
    expect(c.cluster).toBe('from-env');
    expect(c.scrapeIntervalMs).toBe(20_000);
    expect(c.scrapeTargets).toEqual([
      { job: 'node-exporter', url: 'http://127.0.0.1:9100/metrics' },
      { job: 'static', url: 'http://10.0.0.1:8080/metrics' },
    ]);
    expect(c.externalLabels).toEqual([
      { name: 'cluster', value: 'from-env' },
      { name: 'region', value: 'eu' },
      { name: 'env', value: 'prod' },
    ]);
    expect(c.buffer.dir).toBe('/buffer');
    const repeated = resolveAgentConfig({ ...base, 'scrape-target': ['a=http://a/metrics', 'b=http://b/metrics'], 'external-label': ['x=1'] }, env);
    expect(repeated.scrapeTargets.map((t) => t.job)).toEqual(['a', 'b']);
    expect(repeated.externalLabels.map((l) => l.name)).toEqual(['cluster', 'x']);
  });

  it.each([
    [{ 'remote-write-url': undefined }, /missing --remote-write-url/],
    [{ cluster: undefined }, /missing --cluster/],
    [{ 'remote-write-url': 'ftp://x' }, /invalid --remote-write-url \(value hidden\): expected an http:\/\/ or https:\/\/ URL/],
    [{ 'remote-write-url': 'https://user:pw@x/api/v1/write' }, /without credentials/],
    [{ 'scrape-interval': 'often' }, /invalid --scrape-interval "often"/],
    [{ 'scrape-timeout': '1m' }, /scrape timeout must not exceed the scrape interval/],
    [{ 'remote-write-version': '3' }, /invalid --remote-write-version "3": expected one of 1, 2/],
    [{ 'external-label': ['bad label=x'] }, /invalid --external-label "bad label=x"/],
    [{ 'external-label': ['cluster=x'] }, /use --cluster/],
    [{ 'scrape-target': ['job=notaurl'] }, /invalid --scrape-target "job=notaurl"/],
    [{ shards: '0' }, /invalid --shards "0": expected a whole number ≥ 1/],
    [{ 'buffer-max': 'lots' }, /invalid --buffer-max "lots"/],
    [{ 'retry-on-429': 'maybe' }, /invalid --retry-on-429 "maybe": expected true or false/],
    [{ 'basic-auth-username': 'u' }, /go together/],
    [{ 'tls-cert-file': '/c' }, /--tls-cert-file and --tls-key-file go together/],
    [{ 'min-backoff': '5s', 'max-backoff': '1s' }, /--max-backoff \(1s\) must be at least --min-backoff \(5s\)/],
    [{ listen: 'nope' }, /invalid --listen "nope"/],
    [{ 'kubelet-path': ['metrics'] }, /a path starting with \//],
  ] as Array<[Record<string, string | string[] | undefined>, RegExp]>)('rejects %j naming the key', (flags, message) => {
    expect(() => resolveAgentConfig({ ...base, ...flags }, {})).toThrowError(ConfigError);
    expect(() => resolveAgentConfig({ ...base, ...flags }, {})).toThrowError(message);
  });

  it('names the environment variable when the bad value came from it', () => {
    expect(() => resolveAgentConfig(base, { TRIMTAB_SHARDS: 'x' })).toThrowError(/invalid TRIMTAB_SHARDS "x"/);
  });

  it('documents every option with its env twin', () => {
    const md = agentConfigurationMarkdown();
    for (const o of AGENT_OPTIONS) {
      expect(md).toContain(`--${o.flag}`);
      expect(md).toContain(o.env);
      expect(o.env).toMatch(/^TRIMTAB_[A-Z0-9_]+$/);
    }
    expect(new Set(AGENT_OPTIONS.map((o) => o.flag)).size).toBe(AGENT_OPTIONS.length);
  });
});
