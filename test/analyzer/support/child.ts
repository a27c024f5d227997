// Spawns support/elector-child.ts and collects its JSON event lines.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export interface ElectorChild {
  proc: ChildProcess;
  events: Array<Record<string, unknown> & { event: string; at: number }>;
  exited: Promise<void>;
  kill(signal: NodeJS.Signals): void;
}

const SCRIPT = fileURLToPath(new URL('./elector-child.ts', import.meta.url));

export function spawnElector(env: Record<string, string>): ElectorChild {
  const proc = spawn(process.execPath, [SCRIPT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const events: ElectorChild['events'] = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      events.push({ ...(JSON.parse(line) as { event: string }), at: performance.now() });
    } catch {
      // not ours
    }
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return { proc, events, exited, kill: (signal) => void proc.kill(signal) };
}
