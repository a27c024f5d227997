// Real peers for the agent tests, from Debian's apt (test/support/ensure-peers.sh installs them): the
// Prometheus node exporter as a scrape target, and VictoriaMetrics as a remote-write receiver no one here
// wrote. Each runs on 127.0.0.1 on a free port (VictoriaMetrics on a temp data directory) and is stopped
// by the test.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/prometheus.ts';
import { stopProcess } from '../../support/process.ts';

export interface Peer {
  url: string;
  process: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

async function spawnPeer(cmd: string, args: string[], url: string, readyPath: string, cleanup: () => Promise<void> = async () => {}): Promise<Peer> {
  let output = '';
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (output = (output + d).slice(-20_000)));
  child.stderr!.on('data', (d) => (output = (output + d).slice(-20_000)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${cmd} exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(url + readyPath);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${cmd} not ready after 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    logs: () => output,
    async stop() {
      await stopProcess(child);
      await cleanup();
    },
  };
}

/** Debian's prometheus-node-exporter on 127.0.0.1. */
export async function startNodeExporter(): Promise<Peer> {
  const port = await freePort();
  return spawnPeer('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], `http://127.0.0.1:${port}`, '/metrics');
}

export interface VictoriaMetrics extends Peer {
  writeUrl: string;
  /** Makes freshly ingested rows visible to queries. */
  flush(): Promise<void>;
  /** /api/v1/export: every raw sample of the series matching `match` (a series selector). */
  export(match: string): Promise<Array<{ metric: Record<string, string>; values: number[]; timestamps: number[] }>>;
}

/** Debian's victoria-metrics (single node) on 127.0.0.1 with a temporary data directory. */
export async function startVictoriaMetrics(): Promise<VictoriaMetrics> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'trimtab-vm-'));
  const url = `http://127.0.0.1:${port}`;
  const peer = await spawnPeer(
    'victoria-metrics',
    [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir}`, '-retentionPeriod=1', '-search.latencyOffset=0s', '-loggerLevel=WARN', '-memory.allowedBytes=256MiB'],
    url,
    '/health',
    () => rm(dir, { recursive: true, force: true }),
  );
  const flush = async () => {
    const res = await fetch(`${url}/internal/force_flush`);
    if (!res.ok) throw new Error(`force_flush: ${res.status}`);
  };
  return {
    ...peer,
    writeUrl: `${url}/api/v1/write`,
    flush,
    async export(match: string) {
      await flush();
      const res = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent(match)}`);
      if (!res.ok) throw new Error(`export: ${res.status} ${await res.text()}`);
      const text = await res.text();
      return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l));
    },
  };
}
