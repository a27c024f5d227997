import { describe, expect, it } from 'vitest';
import { resolveLeaderElectionConfig } from '../../analyzer/config.ts';
import { ConfigError } from '../../bin/config.ts';

const opts = { hostname: 'analyzer-0', pid: 42, readNamespaceFile: () => undefined };

describe('resolveLeaderElectionConfig', () => {
  it('defaults: postgres outside a cluster, kubernetes inside, client-go timings, hostname_pid', () => {
    expect(resolveLeaderElectionConfig({}, opts)).toEqual({
      mode: 'postgres',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      identity: 'analyzer-0_42',
      leaseName: 'trimtab-analyzer',
      leaseNamespace: 'default',
    });
    const inCluster = resolveLeaderElectionConfig({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, { ...opts, readNamespaceFile: () => 'monitoring' });
    expect(inCluster).toMatchObject({ mode: 'kubernetes', leaseNamespace: 'monitoring' });
    expect(resolveLeaderElectionConfig({}, { ...opts, defaultMode: 'none' }).mode).toBe('none');
  });

  it('reads every variable', () => {
    const c = resolveLeaderElectionConfig(
      {
        TRIMTAB_LEADER_ELECTION: 'kubernetes',
        TRIMTAB_LEASE_DURATION: '1500ms',
        TRIMTAB_RENEW_DEADLINE: '1s',
        TRIMTAB_RETRY_PERIOD: '200ms',
        TRIMTAB_IDENTITY: 'me',
        TRIMTAB_LEASE_NAME: 'my-lease',
        TRIMTAB_LEASE_NAMESPACE: 'trimtab',
      },
      opts,
    );
    expect(c).toEqual({ mode: 'kubernetes', leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200, identity: 'me', leaseName: 'my-lease', leaseNamespace: 'trimtab' });
  });

  it.each([
    [{ TRIMTAB_LEADER_ELECTION: 'etcd' }, 'TRIMTAB_LEADER_ELECTION'],
    [{ TRIMTAB_LEASE_DURATION: 'soon' }, 'TRIMTAB_LEASE_DURATION'],
    [{ TRIMTAB_RETRY_PERIOD: '0' }, 'TRIMTAB_RETRY_PERIOD'],
    [{ TRIMTAB_LEASE_DURATION: '10s' }, 'TRIMTAB_LEASE_DURATION'], // not greater than the 10 s renew deadline
    [{ TRIMTAB_RENEW_DEADLINE: '2s' }, 'TRIMTAB_RENEW_DEADLINE'], // not greater than 1.2 × 2 s
    [{ TRIMTAB_LEASE_NAME: 'Bad_Name' }, 'TRIMTAB_LEASE_NAME'],
    [{ TRIMTAB_LEASE_NAMESPACE: 'a.b' }, 'TRIMTAB_LEASE_NAMESPACE'],
  ])('%o is a ConfigError naming %s', (env, key) => {
    let error: unknown;
    try {
      resolveLeaderElectionConfig(env, opts);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('invalid_config');
    expect((error as Error).message.startsWith(`${key}:`)).toBe(true);
  });
});
