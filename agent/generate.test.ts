// The generated Prometheus remote_write block is checked by the real promtool inside a minimal full
// config, and by the real Prometheus relabelling: a Prometheus 2.42 scrapes a target with kept and
// unkept series and remote-writes through the generated block to a recording receiver. The Alloy
// component is checked structurally (no Alloy binary is available here).

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeReceiver, until, type FakeReceiver } from '../test/agent/support/fake-receiver.ts';
import { startPrometheus, type RunningPrometheus } from '../test/support/prometheus.ts';
import { generateConfig } from './generate.ts';
import { DEFAULT_KEEP_METRICS, KeepList } from './keep.ts';

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trimtab-gen-'));
  await writeFile(join(dir, 'token'), 'secret-token');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function promtoolCheck(remoteWrite: string): Promise<{ ok: boolean; output: string }> {
  const file = join(dir, `prometheus-${Math.random().toString(36).slice(2)}.yml`);
  await writeFile(file, `global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:9090']\n${remoteWrite}`);
  try {
    const { stdout, stderr } = await run('promtool', ['check', 'config', file]);
    return { ok: true, output: stdout + stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, output: (err.stdout ?? '') + (err.stderr ?? '') };
  }
}

describe('Prometheus remote_write block', () => {
  it('passes promtool check config inside a minimal full config', async () => {
    const text = generateConfig({ format: 'prometheus', remoteWriteUrl: 'https://trimtab.example.com/api/v1/write', bearerTokenFile: join(dir, 'token'), cluster: "prod-eu-1 'quoted'" });
    const r = await promtoolCheck(text);
    expect(r.output).toContain('SUCCESS');
    expect(r.ok).toBe(true);
    expect(text).toContain('credentials_file:');
    expect(text).toContain('action: keep');
  });

  it('is rejected by promtool when broken, so the check above is meaningful', async () => {
    const broken = generateConfig({ format: 'prometheus', remoteWriteUrl: 'https://x/api/v1/write' }).replace('action: keep', 'action: kepp');
    const r = await promtoolCheck(broken);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/kepp/);
  });

  it('keeps exactly the keep-list through the real Prometheus relabelling', async () => {
    const receiver: FakeReceiver = await startFakeReceiver();
    const target = createServer((_req, res) =>
      res.end(
        [
          'container_cpu_usage_seconds_total{container="app",pod="p1",namespace="n"} 5',
          'container_cpu_usage_seconds_total{id="/system.slice"} 9',
          'container_memory_rss{container="app",pod="p1",namespace="n"} 7',
          'kube_pod_owner{pod="p1",namespace="n",owner_kind="ReplicaSet",owner_name="rs"} 1',
          'kube_horizontalpodautoscaler_spec_max_replicas{horizontalpodautoscaler="h",namespace="n"} 10',
          'node_load1 0.5',
          'machine_cpu_cores 8',
          '',
        ].join('\n'),
      ),
    );
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    let prom: RunningPrometheus | undefined;
    try {
      const block = generateConfig({ format: 'prometheus', remoteWriteUrl: receiver.url, cluster: 'gen-test' })
        .replace('    metadata_config:', '    queue_config:\n      batch_send_deadline: 1s\n    metadata_config:');
      prom = await startPrometheus(`global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: t\n    static_configs:\n      - targets: ['127.0.0.1:${(target.address() as { port: number }).port}']\n${block}`);
      await until('samples from Prometheus', () => receiver.requests.some((q) => q.samples.some((s) => s.labels.__name__ === 'kube_pod_owner')), 30_000);
      await new Promise((r) => setTimeout(r, 1500));
      const names = new Set(receiver.requests.flatMap((q) => q.samples.map((s) => s.labels.__name__)));
      expect([...names].sort()).toEqual(['container_cpu_usage_seconds_total', 'kube_horizontalpodautoscaler_spec_max_replicas', 'kube_pod_owner', 'machine_cpu_cores']);
      const cpu = receiver.requests.flatMap((q) => q.samples).filter((s) => s.labels.__name__ === 'container_cpu_usage_seconds_total');
      expect(cpu.every((s) => s.labels.pod === 'p1' && s.labels.cluster === 'gen-test')).toBe(true);
    } finally {
      await prom?.stop();
      await new Promise<void>((resolve) => target.close(() => resolve()));
      await receiver.close();
    }
  }, 60_000);

  it('uses the keep-list it is given (rule files), escaping regex characters in names', () => {
    const text = generateConfig({ format: 'prometheus', remoteWriteUrl: 'http://r/api/v1/write', keep: new KeepList(['a_total', 'b:c'], ['kube_hpa_.*']) });
    expect(text).toContain("regex: 'a_total|b:c|kube_hpa_.*'");
  });
});

describe('Alloy prometheus.remote_write component', () => {
  it('has the endpoint, the token file, the keep and drop rules, and the cluster label', () => {
    const text = generateConfig({ format: 'alloy', remoteWriteUrl: 'https://trimtab.example.com/api/v1/write', bearerTokenFile: '/var/run/secrets/trimtab/token', cluster: 'prod "eu"' });
    expect(text).toContain('prometheus.remote_write "trimtab" {');
    expect(text).toContain('url = "https://trimtab.example.com/api/v1/write"');
    expect(text).toContain('bearer_token_file = "/var/run/secrets/trimtab/token"');
    expect(text).toContain('cluster = "prod \\"eu\\"",');
    const keepRegex = /regex\s+= "([^"]*)"\s+action\s+= "keep"/.exec(text)?.[1];
    expect(keepRegex?.split('|').sort()).toEqual([...DEFAULT_KEEP_METRICS].sort());
    expect(text).toMatch(/source_labels = \["__name__", "pod"\]\s+regex\s+= "container_\.\*;"\s+action\s+= "drop"/);
    // Balanced braces: a structurally complete block.
    expect((text.match(/\{/g) ?? []).length).toBe((text.match(/\}/g) ?? []).length);
  });

  it('escapes backslashes in patterns for Alloy strings', () => {
    const text = generateConfig({ format: 'alloy', remoteWriteUrl: 'http://r/api/v1/write', keep: new KeepList([], ['a\\.b']) });
    expect(text).toContain('regex         = "a\\\\.b"');
  });
});
