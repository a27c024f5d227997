// The agent's JavaScript build (agent/build.ts), which the image runs for `trimtab agent` through
// bin/trimtab.sh: it holds only what the agent reaches, carries no TypeScript, and runs from the image's
// layout (/app/bin/trimtab.sh, /app/dist, /app/node_modules).

import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgent } from '../../agent/build.ts';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');

describe('agent build', () => {
  let app = '';
  let files: string[] = [];
  beforeAll(async () => {
    app = await mkdtemp(join(tmpdir(), 'trimtab-agent-build-'));
    await mkdir(join(app, 'bin'));
    await copyFile(join(REPO, 'bin', 'trimtab.sh'), join(app, 'bin', 'trimtab.sh'));
    await symlink(join(REPO, 'node_modules'), join(app, 'node_modules'));
    ({ files } = await buildAgent(join(app, 'dist')));
  }, 60_000);
  afterAll(async () => {
    if (app) await rm(app, { recursive: true, force: true });
  });

  it('contains the agent and what it imports, and nothing of the server roles', () => {
    expect(files).toContain('bin/agent.js');
    expect(files).toContain('agent/agent.js');
    expect(files).toContain('package.json');
    for (const f of files) {
      expect(f).toMatch(/^(bin|agent|protocol|lib|promql)\/[\w.-]+\.js$|^package\.json$/);
      expect(f).not.toMatch(/\.test\.js$/);
    }
  });

  it('is JavaScript: no type annotations left, relative imports renamed to .js', async () => {
    const source = await readFile(join(app, 'dist', 'agent', 'agent.js'), 'utf8');
    expect(source).not.toMatch(/(from|import\s*\(?)\s*['"]\.{1,2}\/[^'"]+\.ts['"]/);
    expect(source).not.toMatch(/\binterface\s+\w+\s*\{/);
    expect(source).toMatch(/from '\.\/series\.js'/);
  });

  it('runs through the image entry point: `trimtab.sh agent --help` and `agent config`', async () => {
    const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    const help = await run('/bin/sh', [join(app, 'bin', 'trimtab.sh'), 'agent', '--help'], { env });
    expect(help.stdout).toContain('Usage: trimtab agent [flags]');
    const config = await run('/bin/sh', [join(app, 'bin', 'trimtab.sh'), 'agent', 'config', '--format', 'prometheus', '--remote-write-url', 'https://trimtab.example/api/v1/write'], { env });
    expect(config.stdout).toContain('https://trimtab.example/api/v1/write');
    // A usage error exits 2, as the TypeScript CLI does.
    await expect(run('/bin/sh', [join(app, 'bin', 'trimtab.sh'), 'agent', '--no-such-flag'], { env })).rejects.toMatchObject({ code: 2 });
  }, 60_000);
});
