// The agent as JavaScript, built ahead of time: `node agent/build.ts OUT` (npm run build:agent; the
// Dockerfile runs it into /app/dist, and the agent benchmark and tests build their own copy).
//
// Starting from bin/agent.ts, every relative import the agent can reach (static and dynamic) is copied
// with its TypeScript types removed by node:module's stripTypeScriptTypes — the transform Node applies
// itself when it runs .ts, in 'strip' mode, so line and column numbers stay those of the sources — and
// its `.ts` specifiers renamed `.js`. Type-only imports disappear with the types, so nothing of storage/,
// receiver/ or analyzer/ is reached. package.json is copied (the agent reports its version); bare
// specifiers (prom-client, yaml…) resolve from the node_modules above OUT.
//
// Why: a process that runs .ts loads Node's TypeScript stripper (amaro, swc compiled to WebAssembly),
// which stays resident — ~30 MiB of a DaemonSet agent's memory (test/agent/agent.bench.ts).

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
export const AGENT_ENTRY = 'bin/agent.ts';

// `from './x.ts'`, `import './x.ts'`, `import('./x.ts')`, `export … from './x.ts'` — relative only.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\2/g;

export interface BuiltAgent {
  /** The JavaScript entry (OUT/bin/agent.js): `node OUT/bin/agent.js [agent flags]`. */
  entry: string;
  /** Files written, relative to OUT. */
  files: string[];
}

/** Writes the agent's JavaScript under `out` (created if needed; files of an earlier build are overwritten). */
export async function buildAgent(out: string): Promise<BuiltAgent> {
  const files: string[] = [];
  const seen = new Set<string>();
  const todo = [join(ROOT, AGENT_ENTRY)];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const rel = relative(ROOT, file);
    if (rel.startsWith('..')) throw new Error(`agent build: ${file} is outside the repository`);
    let text = await readFile(file, 'utf8');
    let target = rel;
    if (file.endsWith('.ts')) {
      const stripped = stripTypeScriptTypes(text, { mode: 'strip', sourceUrl: rel });
      text = stripped.replace(SPECIFIER, (_m, lead: string, quote: string, spec: string) => {
        todo.push(resolve(dirname(file), spec));
        return `${lead}${quote}${spec.replace(/\.ts$/, '.js')}${quote}`;
      });
      target = rel.replace(/\.ts$/, '.js');
    } else if (!file.endsWith('.json')) {
      throw new Error(`agent build: unexpected import of ${rel}`);
    }
    await mkdir(dirname(join(out, target)), { recursive: true });
    await writeFile(join(out, target), text);
    files.push(target);
  }
  return { entry: join(out, 'bin', 'agent.js'), files: files.sort() };
}

if (import.meta.main) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node agent/build.ts OUT_DIR\n');
    process.exitCode = 2;
  } else {
    const { files } = await buildAgent(resolve(out));
    process.stdout.write(`agent: ${files.length} files in ${out}\n`);
  }
}
