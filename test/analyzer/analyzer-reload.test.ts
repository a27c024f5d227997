// Rule files are reloaded when they change (and on request, as SIGHUP does); a file that fails
// validation is reported with file, line and reason, and the previous good set stays active.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log.ts';
import { Analyzer } from '../../analyzer/analyzer.ts';
import { openTestStorage, type TestStorage } from '../support/storage.ts';

const GOOD = `groups:
- name: one
  rules:
  - record: a:sum
    expr: sum(a)
`;
const GOOD2 = `groups:
- name: one
  rules:
  - record: a:sum
    expr: sum(a)
  - record: b:sum
    expr: sum(b)
- name: two
  interval: 30s
  rules:
  - alert: Broken
    expr: up == 0
`;
const BAD = `groups:
- name: one
  rules:
  - record: a:sum
    expr: sum(a
`;

describe('analyzer rule reloading', () => {
  let ts: TestStorage;
  let dir: string;
  const lines: string[] = [];
  let analyzer: Analyzer;
  let registry: Registry;

  beforeAll(async () => {
    ts = await openTestStorage('pglite');
    dir = await mkdtemp(join(tmpdir(), 'trimtab-reload-'));
    await writeFile(join(dir, 'rules.yml'), GOOD);
    registry = new Registry();
    analyzer = new Analyzer({
      storage: ts.storage,
      driver: ts.storage.db,
      logger: createLogger({ level: 'info', write: (l) => lines.push(l) }),
      registry,
      election: { mode: 'none', identity: 'x', leaseName: 'x', leaseNamespace: 'default', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      ruleFiles: [join(dir, '*.yml')],
      evaluationIntervalMs: 60_000,
    });
    await analyzer.start();
  }, 60_000);
  afterAll(async () => {
    await analyzer?.stop();
    await ts?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const metric = async (name: string) => Number((await registry.getSingleMetricAsString(name)).match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm'))?.[1]);
  const waitFor = async (fn: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!fn()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('starts with the files and reloads when one changes', async () => {
    expect(analyzer.scheduler.groups.map((g) => g.name)).toEqual(['one']);
    expect(analyzer.lastLoad).toMatchObject({ ok: true, groups: 1, rules: 1 });
    await writeFile(join(dir, 'rules.yml'), GOOD2);
    await waitFor(() => analyzer.scheduler.groups.length === 2, 'the reload after the change');
    expect(analyzer.scheduler.groups.map((g) => [g.name, g.intervalMs, g.rules.length])).toEqual([
      ['one', 60_000, 2],
      ['two', 30_000, 1],
    ]);
    expect(await metric('trimtab_rule_files_last_reload_successful')).toBe(1);
  });

  it('keeps the previous set when the new one is invalid, and says where and why', async () => {
    await writeFile(join(dir, 'rules.yml'), BAD);
    await waitFor(() => analyzer.lastLoad?.ok === false, 'the refused reload');
    expect(analyzer.scheduler.groups.map((g) => g.name)).toEqual(['one', 'two']);
    expect(analyzer.lastLoad!.error).toContain(`${join(dir, 'rules.yml')}:5:`);
    expect(await metric('trimtab_rule_files_last_reload_successful')).toBe(0);
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'rule files refused; the previous rules stay active');
    expect(logged?.error).toContain('rules.yml:5:');
    // An explicit reload (what SIGHUP triggers) of a fixed file recovers.
    await writeFile(join(dir, 'rules.yml'), GOOD);
    const status = await analyzer.reload();
    expect(status).toMatchObject({ ok: true, groups: 1 });
    expect(analyzer.scheduler.groups.map((g) => g.name)).toEqual(['one']);
  });

  it('a replica refuses to start with invalid rule files', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'trimtab-reload-bad-'));
    try {
      await writeFile(join(bad, 'x.yml'), BAD);
      const replica = (ruleFiles: string[]) =>
        new Analyzer({
          storage: ts.storage,
          driver: ts.storage.db,
          logger: createLogger({ level: 'error', write: () => {} }),
          registry: new Registry(),
          election: { mode: 'none', identity: 'y', leaseName: 'y', leaseNamespace: 'default', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
          ruleFiles,
          evaluationIntervalMs: 60_000,
        });
      await expect(replica([join(bad, '*.yml')]).start()).rejects.toThrow(/x\.yml:5:/);
      // A glob that matches nothing is an error too (a typo must not silently evaluate nothing).
      await expect(replica([join(bad, 'none-*.yml')]).start()).rejects.toThrow(/none-\*\.yml/);
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});
