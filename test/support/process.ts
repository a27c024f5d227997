// Stopping a peer process started by a test (Prometheus, VictoriaMetrics, node-exporter…): SIGTERM so it
// shuts down cleanly, SIGKILL if it has not exited after the grace period.

import type { ChildProcess } from 'node:child_process';

export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
