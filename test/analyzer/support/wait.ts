// Polling helpers for the election tests.

import { setTimeout as sleep } from 'node:timers/promises';

export async function waitFor<T>(fn: () => T | undefined | null | false, what: string, timeoutMs = 10_000, stepMs = 20): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    const value = fn();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** Samples `fn` every stepMs for durationMs; fails on the first sample where it is false. */
export async function holdsFor(fn: () => boolean, what: string, durationMs: number, stepMs = 20): Promise<void> {
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    if (!fn()) throw new Error(`${what} stopped holding`);
    await sleep(stepMs);
  }
}

/**
 * Allowance for timer and event-loop lag on a loaded two-core machine (PostgreSQL, child processes and
 * another test file share it). Bounds in the tests are the design bound plus this; the ordering
 * assertions (old leader stopped before the new one started) need no allowance.
 */
export const SCHEDULING_SLACK_MS = 400;
