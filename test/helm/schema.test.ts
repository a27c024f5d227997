// values.schema.json (draft-07) and the template checks refuse bad values before anything is installed,
// with a message that names the key to fix.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AGENT_ONLY, CHART, chartDefaultValues, EVERYTHING, template, type Values } from './support.ts';

const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Record<string, unknown> & { properties: Record<string, unknown> };

async function refused(values: Values): Promise<string> {
  const r = await template(values);
  expect(r.code, `expected helm template to fail for ${JSON.stringify(values)}`).not.toBe(0);
  expect(r.stdout).toBe('');
  return r.stderr;
}

describe('values.schema.json', () => {
  it('is draft-07, closed at the top level, and covers every key of values.yaml', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.additionalProperties).toBe(false);
    const values = chartDefaultValues();
    expect(Object.keys(values).filter((k) => !(k in schema.properties))).toEqual([]);
  });

  const cases: [string, Values, RegExp[]][] = [
    ['a wrong type', { receiver: { replicas: 'three' } }, [/'\/receiver\/replicas'/, /got string, want integer/]],
    ['negative replicas', { analyzer: { replicas: -1 } }, [/'\/analyzer\/replicas'/, /minimum: got -1, want 1/]],
    ['zero autoscaling minimum', { receiver: { autoscaling: { minReplicas: 0 } } }, [/'\/receiver\/autoscaling\/minReplicas'/]],
    ['an unknown top-level key', { replica: 3 }, [/additional properties 'replica' not allowed/]],
    ['a misspelt nested key', { receiver: { autoscalling: { enabled: false } } }, [/'\/receiver'/, /additional properties 'autoscalling' not allowed/]],
    ['an unknown option in a config map', { agent: { config: { shard: 3 } } }, [/'\/agent\/config'/, /'shard'/]],
    ['an unknown leader-election mode', { analyzer: { leaderElection: { mode: 'zookeeper' } } }, [/'\/analyzer\/leaderElection\/mode'/, /kubernetes/]],
    ['an unknown migration mode', { migrations: { mode: 'later' } }, [/'\/migrations\/mode'/, /'hook', 'startup'/]],
    ['a duration that is not one', { analyzer: { leaderElection: { leaseDuration: '15 seconds' } } }, [/'\/analyzer\/leaderElection\/leaseDuration'/]],
    ['a port out of range', { receiver: { port: 70000 } }, [/'\/receiver\/port'/, /maximum/]],
    ['a PDB that blocks every drain', { receiver: { pdb: { maxUnavailable: 0 } } }, [/'\/receiver\/pdb\/maxUnavailable'/]],
    ['a remote-write URL that is not http(s)', { agent: { remoteWrite: { url: 'trimtab.example.com' } } }, [/'\/agent\/remoteWrite\/url'/]],
    ['an unknown remote-write version', { agent: { remoteWrite: { version: 3 } } }, [/'\/agent\/remoteWrite\/version'/]],
    ['a bad log level', { logLevel: 'verbose' }, [/'\/logLevel'/]],
    ['a bad image digest', { image: { digest: 'latest' } }, [/'\/image\/digest'/]],
    ['a CPU target over 100 %', { receiver: { autoscaling: { targetCPUUtilizationPercentage: 170 } } }, [/'\/receiver\/autoscaling\/targetCPUUtilizationPercentage'/]],
  ];
  it.each(cases)('refuses %s, naming the field', async (_what, values, patterns) => {
    const stderr = await refused(values);
    for (const p of patterns) expect(stderr).toMatch(p);
  });
});

describe('combinations the schema cannot express (template checks)', () => {
  const cases: [string, Values, string][] = [
    ['nothing enabled', { controlPlane: { enabled: false }, agent: { enabled: false } }, 'controlPlane.enabled and agent.enabled are both false'],
    ['agent only without a URL', { controlPlane: { enabled: false }, agent: { cluster: 'c1' } }, 'agent.remoteWrite.url is required when controlPlane.enabled is false'],
    ['agent only without a cluster name', { controlPlane: { enabled: false }, agent: { remoteWrite: { url: 'https://t.example/api/v1/write' } } }, 'agent.cluster is required when controlPlane.enabled is false'],
    ['several analyzers without leader election', { analyzer: { leaderElection: { mode: 'none' } } }, 'analyzer.replicas is 2 but analyzer.leaderElection.mode is none'],
    ['autoscaling minimum above maximum', { receiver: { autoscaling: { minReplicas: 12 } } }, 'receiver.autoscaling.minReplicas (12) is greater than receiver.autoscaling.maxReplicas (10)'],
    ['a buffer volume no larger than the buffer', { agent: { buffer: { maxMiB: 64, volumeMiB: 64 } } }, 'agent.buffer.volumeMiB (64) must be greater than agent.buffer.maxMiB (64)'],
    ['more buffer memory than buffer', { agent: { buffer: { memoryMiB: 48, maxMiB: 32 } } }, 'agent.buffer.memoryMiB (48) is greater than agent.buffer.maxMiB (32)'],
    ['an Ingress without hosts', { receiver: { ingress: { enabled: true, hosts: [] } } }, 'receiver.ingress.hosts'],
  ];
  it.each(cases)('refuses %s', async (_what, values, message) => {
    expect(await refused(values)).toContain(message);
  });

  it('accepts the good combinations', async () => {
    for (const values of [{}, AGENT_ONLY, EVERYTHING, { analyzer: { replicas: 1, leaderElection: { mode: 'none' } } }, { controlPlane: { enabled: false }, agent: { enabled: true, cluster: 'c', remoteWrite: { url: 'http://t:9201/api/v1/write' } } }]) {
      const r = await template(values);
      expect(r.stderr, JSON.stringify(values)).toBe('');
      expect(r.code).toBe(0);
    }
  });
});
