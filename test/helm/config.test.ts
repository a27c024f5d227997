// The chart and the CLI's configuration cannot drift apart: every environment variable the chart sets is
// one the role reads, every option a role has can be set through the chart (or is listed here with the
// reason it cannot), and the chart's default ports are the application's.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AGENT_OPTIONS } from '../../agent/config.ts';
import { OPTIONS } from '../../bin/config.ts';
import { CHART, chartDefaultValues, EVERYTHING, REPO, env, one, podSpec, render, type K8sObject } from './support.ts';

interface Option {
  key: string;
  env: string;
  default?: string;
}
const SERVER = OPTIONS as readonly Option[];
const AGENT = AGENT_OPTIONS as readonly Option[];
/** Leader election reads these itself (analyzer/config.ts). */
const ELECTION_ENV = ['TRIMTAB_LEADER_ELECTION', 'TRIMTAB_LEASE_NAME', 'TRIMTAB_LEASE_NAMESPACE', 'TRIMTAB_LEASE_DURATION', 'TRIMTAB_RENEW_DEADLINE', 'TRIMTAB_RETRY_PERIOD', 'TRIMTAB_IDENTITY'];
/** Read by Node or glibc, not by Trimtab. */
const RUNTIME_ENV = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'];

/** Options the chart deliberately does not offer, and why. */
const SERVER_NOT_IN_CHART: Record<string, string> = {
  dataDir: 'the chart always runs on PostgreSQL (DATABASE_URL); the embedded PGlite store is for `trimtab all` outside Kubernetes',
};
const AGENT_NOT_IN_CHART: Record<string, string> = {
  kubeconfig: 'in a cluster the agent uses its service account',
  serviceAccountDir: 'the service account is mounted where Kubernetes always mounts it',
  basicAuthUsername: 'the chart authenticates with a bearer token from a Secret',
  basicAuthPasswordFile: 'the chart authenticates with a bearer token from a Secret',
  tlsCertFile: 'client certificates (mTLS) to the receiver are not offered by the chart yet',
  tlsKeyFile: 'client certificates (mTLS) to the receiver are not offered by the chart yet',
};

const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as { definitions: Record<string, { properties: Record<string, unknown> }> };
const serverConfigKeys = Object.keys(schema.definitions.serverConfig.properties);
const agentConfigKeys = Object.keys(schema.definitions.agentConfig.properties);
const values = chartDefaultValues<{ receiver: { port: number }; analyzer: { port: number; leaderElection: Record<string, string> }; agent: { port: number } }>();

type Container = { env: { name: string; value?: string }[] };
let everything: K8sObject[];
const containerOf = (objects: K8sObject[], kind: string, name: string) => podSpec(one(objects, kind, name)).containers[0] as Container;
const names = (c: Container) => c.env.map((e) => e.name);

beforeAll(async () => {
  everything = await render(EVERYTHING);
});

describe('environment variables the chart sets are ones the roles read', () => {
  const serverEnv = new Set(SERVER.map((o) => o.env).concat('DATABASE_URL', 'TRIMTAB_BOOTSTRAP_TOKEN'));

  it('receiver and migrate: server options', () => {
    for (const name of [...names(containerOf(everything, 'Deployment', 'trimtab-receiver')), ...names(containerOf(everything, 'Job', 'trimtab-migrate'))]) {
      if (name === 'EXTRA' || RUNTIME_ENV.includes(name)) continue; // extraEnv of the test values
      expect(serverEnv.has(name), name).toBe(true);
    }
  });

  it('analyzer: server options and leader election', () => {
    const source = readFileSync(join(REPO, 'analyzer', 'config.ts'), 'utf8');
    for (const name of ELECTION_ENV) expect(source, `analyzer/config.ts reads ${name}`).toContain(name);
    for (const name of names(containerOf(everything, 'Deployment', 'trimtab-analyzer'))) {
      if (RUNTIME_ENV.includes(name)) continue;
      expect(serverEnv.has(name) || ELECTION_ENV.includes(name), name).toBe(true);
    }
  });

  it('agent: agent options', () => {
    const agentEnv = new Set(AGENT.map((o) => o.env));
    for (const name of names(containerOf(everything, 'DaemonSet', 'trimtab-agent'))) {
      if (RUNTIME_ENV.includes(name)) continue;
      expect(agentEnv.has(name), name).toBe(true);
    }
  });
});

describe('every option can be set through the chart', () => {
  it('server options: set by the chart, or a key of receiver.config / analyzer.config', () => {
    const set = new Set([...names(containerOf(everything, 'Deployment', 'trimtab-receiver')), ...names(containerOf(everything, 'Deployment', 'trimtab-analyzer'))]);
    for (const o of SERVER) {
      if (o.key in SERVER_NOT_IN_CHART) continue;
      expect(set.has(o.env) || serverConfigKeys.includes(o.key), `${o.key} (${o.env}) cannot be set through the chart`).toBe(true);
    }
  });

  it('agent options: set by the chart, or a key of agent.config', () => {
    const set = new Set(names(containerOf(everything, 'DaemonSet', 'trimtab-agent')));
    for (const o of AGENT) {
      if (o.key in AGENT_NOT_IN_CHART) continue;
      expect(set.has(o.env) || agentConfigKeys.includes(o.key), `${o.key} (${o.env}) cannot be set through the chart`).toBe(true);
    }
  });

  it('each config key becomes the environment variable of the option of that name', async () => {
    const serverConfig = Object.fromEntries(serverConfigKeys.map((k) => [k, `x-${k}`]));
    const agentConfig = Object.fromEntries(agentConfigKeys.map((k) => [k, `x-${k}`]));
    const objects = await render({ receiver: { config: serverConfig }, analyzer: { config: serverConfig }, agent: { config: agentConfig } });
    const check = (c: Container, keys: string[], options: readonly Option[]) => {
      for (const key of keys) {
        const option = options.find((o) => o.key === key);
        expect(option, `config key ${key} is no option`).toBeTruthy();
        expect(env(c, option!.env), `${key} → ${option!.env}`).toBe(`x-${key}`);
      }
    };
    check(containerOf(objects, 'Deployment', 'trimtab-receiver'), serverConfigKeys, SERVER);
    check(containerOf(objects, 'Deployment', 'trimtab-analyzer'), serverConfigKeys, SERVER);
    check(containerOf(objects, 'DaemonSet', 'trimtab-agent'), agentConfigKeys, AGENT);
  });

  it('list options take arrays, rendered comma-separated as the CLI reads them', async () => {
    const objects = await render({ agent: { config: { dropLabels: ['id', 'name', 'image'] } } });
    expect(env(containerOf(objects, 'DaemonSet', 'trimtab-agent'), 'TRIMTAB_DROP_LABELS')).toBe('id,name,image');
  });
});

describe("the chart's defaults are the application's", () => {
  const port = (o: Option | undefined) => Number(o?.default?.split(':').at(-1));

  it('ports', () => {
    expect(values.receiver.port).toBe(port(SERVER.find((o) => o.key === 'listen')));
    expect(values.analyzer.port).toBe(port(SERVER.find((o) => o.key === 'analyzerListen')));
    expect(values.agent.port).toBe(port(AGENT.find((o) => o.key === 'listen')));
  });

  it('leader-election timings (client-go’s 15 s / 10 s / 2 s)', () => {
    expect(values.analyzer.leaderElection).toMatchObject({ leaseDuration: '15s', renewDeadline: '10s', retryPeriod: '2s' });
    const source = readFileSync(join(REPO, 'analyzer', 'leader-election.ts'), 'utf8');
    expect(source).toMatch(/DEFAULT_LEASE_DURATION_MS\s*=\s*15_?000/);
    expect(source).toMatch(/DEFAULT_RENEW_DEADLINE_MS\s*=\s*10_?000/);
    expect(source).toMatch(/DEFAULT_RETRY_PERIOD_MS\s*=\s*2_?000/);
  });

  it('grace periods outlast the roles’ own shutdown timeouts', () => {
    const seconds = (d: string | undefined) => Number(/^(\d+)s$/.exec(d ?? '')?.[1]);
    const server = seconds(SERVER.find((o) => o.key === 'shutdownTimeout')?.default);
    const agent = seconds(AGENT.find((o) => o.key === 'shutdownTimeout')?.default);
    expect(podSpec(one(everything, 'Deployment', 'trimtab-receiver')).terminationGracePeriodSeconds).toBeGreaterThan(server);
    expect(podSpec(one(everything, 'Deployment', 'trimtab-analyzer')).terminationGracePeriodSeconds).toBeGreaterThan(server);
    expect(podSpec(one(everything, 'DaemonSet', 'trimtab-agent')).terminationGracePeriodSeconds).toBeGreaterThan(agent);
  });
});
