// Runs Debian's real Prometheus (2.42) on loopback for end-to-end tests: a temporary config and data
// directory, a free port, and helpers to read its own metrics. Prometheus is a real peer, not a fake.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopProcess } from './process.ts';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningPrometheus {
  url: string;
  process: ChildProcess;
  /** Everything Prometheus logged, for failure messages. */
  logs(): string;
  /** Parses Prometheus's own /metrics into name{labels} → value (sums series when labels are omitted). */
  metric(name: string, labelFilter?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export async function startPrometheus(configYaml: string, extraArgs: string[] = []): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'trimtab-prom-'));
  const configPath = join(dir, 'prometheus.yml');
  await writeFile(configPath, configYaml);
  const port = await freePort();
  let output = '';
  const child = spawn(
    'prometheus',
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=info',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`prometheus not ready after 30s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url,
    process: child,
    logs: () => output,
    async metric(name, labelFilter = {}) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
        const labels = line.includes('{') ? line.slice(line.indexOf('{') + 1, line.lastIndexOf('}')) : '';
        if (!Object.entries(labelFilter).every(([k, v]) => labels.includes(`${k}="${v}"`))) continue;
        sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
    async stop() {
      await stopProcess(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
