// For the benchmark's --stripped variant: a copy of the agent's sources with the TypeScript types
// removed ahead of time (node:module stripTypeScriptTypes, the same transform Node applies when it runs
// .ts), so the agent process does not load the type stripper. It measures what a container image that
// ships pre-stripped JavaScript would use; the repository itself still runs the .ts sources directly.

import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { stripTypeScriptTypes } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const TREES = ['agent', 'protocol', 'lib', 'bin', 'promql', 'test/agent/support'];

async function* walkTs(dir: string): AsyncGenerator<string> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walkTs(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** Writes the stripped tree to a temp directory and returns the path of agent-main.js in it. */
export async function strippedAgentMain(): Promise<{ dir: string; main: string }> {
  const out = await mkdtemp(join(tmpdir(), 'trimtab-stripped-'));
  for (const tree of TREES) {
    for await (const file of walkTs(join(ROOT, tree))) {
      const code = stripTypeScriptTypes(await readFile(file, 'utf8'), { mode: 'strip' });
      const js = code.replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1$2.js$3');
      const target = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, js);
    }
  }
  await writeFile(join(out, 'package.json'), await readFile(join(ROOT, 'package.json')));
  await symlink(join(ROOT, 'node_modules'), join(out, 'node_modules'));
  return { dir: out, main: join(out, 'test', 'agent', 'support', 'agent-main.js') };
}

