// The chart carries copies of the generated dashboards (Helm cannot read files outside the chart); this
// fails when the copies are not exactly dashboards/*.json, and checks the script that makes them.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEST, SOURCE, dashboardFiles, differences } from '../../helm/sync-dashboards.ts';
import { REPO } from './support.ts';

const SCRIPT = join(REPO, 'helm', 'sync-dashboards.ts');
const generated = dashboardFiles(SOURCE);

describe('the chart’s dashboards', () => {
  it.skipIf(generated.length === 0)('are exactly dashboards/*.json (skipped: dashboards/ has no generated *.json yet)', () => {
    const diff = differences(SOURCE, DEST);
    expect(diff, `helm/trimtab/dashboards is out of date: run \`node helm/sync-dashboards.ts\`\n${JSON.stringify(diff)}`).toEqual([]);
  });

  it.skipIf(generated.length === 0)('each fits in a ConfigMap (skipped: no dashboards yet)', () => {
    for (const f of dashboardFiles(DEST)) {
      expect(statSync(join(DEST, f)).size, f).toBeLessThan(900 * 1024);
      expect(() => JSON.parse(readFileSync(join(DEST, f), 'utf8')), f).not.toThrow();
    }
  });
});

describe('helm/sync-dashboards.ts', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const run = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });

  it('copies new and changed dashboards, removes stale ones, leaves other files alone; --check reports', () => {
    const root = mkdtempSync(join(tmpdir(), 'trimtab-sync-'));
    dirs.push(root);
    const src = join(root, 'src');
    const dest = join(root, 'dest');
    mkdirSync(src);
    mkdirSync(dest);
    writeFileSync(join(src, 'overview.json'), '{"title":"Overview"}\n');
    writeFileSync(join(src, 'health.json'), '{"title":"Health v2"}\n');
    writeFileSync(join(src, 'tsconfig.json'), '{}');
    writeFileSync(join(src, 'overview.ts'), '// source');
    writeFileSync(join(dest, 'health.json'), '{"title":"Health v1"}\n');
    writeFileSync(join(dest, 'removed.json'), '{}');
    writeFileSync(join(dest, '.gitkeep'), '');

    const check = run('--check', '--source', src, '--dest', dest);
    expect(check.status).toBe(1);
    expect(check.stderr).toContain('missing: overview.json');
    expect(check.stderr).toContain('stale: health.json');
    expect(check.stderr).toContain('extra: removed.json');

    const copy = run('--source', src, '--dest', dest);
    expect(copy.status, copy.stderr).toBe(0);
    expect(readdirSync(dest).sort()).toEqual(['.gitkeep', 'health.json', 'overview.json']);
    expect(readFileSync(join(dest, 'health.json'), 'utf8')).toBe('{"title":"Health v2"}\n');
    expect(run('--check', '--source', src, '--dest', dest).status).toBe(0);
  });

  it('runs with plain node, no npm', () => {
    expect(execFileSync(process.execPath, [SCRIPT, '--check', '--source', SOURCE, '--dest', SOURCE], { encoding: 'utf8' })).toMatch(/up to date/);
  });
});
