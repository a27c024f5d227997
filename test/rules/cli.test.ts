// `trimtab rules check|test` as a user runs them: output in promtool's shape and exit codes 0 / 1 / 2.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../bin/trimtab.ts');

async function trimtab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('trimtab rules', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trimtab-rules-cli-'));
    await writeFile(join(dir, 'good.yml'), 'groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n');
    await writeFile(join(dir, 'bad.yml'), 'groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up\n');
    const test = (value: number) =>
      `rule_files: [good.yml]\ntests:\n- interval: 1m\n  input_series:\n  - series: 'up{job="a"}'\n    values: '1 1 1'\n  promql_expr_test:\n  - expr: job:up:sum\n    eval_time: 1m\n    exp_samples:\n    - labels: 'job:up:sum{job="a"}'\n      value: ${value}\n`;
    await writeFile(join(dir, 'pass.test.yml'), test(1));
    await writeFile(join(dir, 'fail.test.yml'), test(2));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('check: 0 for valid files, 1 with file:line and the reason for an invalid one', async () => {
    const ok = await trimtab(['rules', 'check', join(dir, 'good.yml')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('SUCCESS');
    const bad = await trimtab(['rules', 'check', join(dir, 'good.yml'), join(dir, 'bad.yml')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toContain(`${join(dir, 'bad.yml')}:5:`);
  });

  it('test: 0 when every test passes, 1 with what was expected and what came', async () => {
    const ok = await trimtab(['rules', 'test', join(dir, 'pass.test.yml')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`Unit Testing:  ${join(dir, 'pass.test.yml')}\n  SUCCESS\n`);
    const failed = await trimtab(['rules', 'test', join(dir, 'pass.test.yml'), join(dir, 'fail.test.yml')]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('FAILED');
    expect(failed.stderr).toMatch(/exp: \{__name__="job:up:sum", job="a"\} 2\n\s+got: \{__name__="job:up:sum", job="a"\} 1/);
  });

  it('usage errors exit 2', async () => {
    expect((await trimtab(['rules', 'lint', 'x'])).code).toBe(2);
    expect((await trimtab(['rules', 'test'])).code).toBe(2);
  });
});
