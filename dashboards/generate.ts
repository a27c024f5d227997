// Writes the dashboards' JSON next to this file, or with --check verifies that the committed JSON is
// what the code generates (exit 1 and the names of the stale files otherwise).
//
//   node dashboards/generate.ts            write dashboards/*.json
//   node dashboards/generate.ts --check    compare only

import { readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, renderAll } from './index.ts';

export const DASHBOARDS_DIR = fileURLToPath(new URL('.', import.meta.url));

export interface Difference {
  file: string;
  problem: 'missing' | 'stale' | 'not generated';
}

/** Compares the generated JSON with the files in `dir`. A JSON file no dashboard generates is a difference too. */
export async function compare(dir = DASHBOARDS_DIR): Promise<Difference[]> {
  const generated = renderAll();
  const out: Difference[] = [];
  for (const [file, text] of generated) {
    let committed: string | null = null;
    try {
      committed = await readFile(join(dir, file), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (committed === null) out.push({ file, problem: 'missing' });
    else if (committed !== text) out.push({ file, problem: 'stale' });
  }
  for (const f of await readdir(dir)) {
    if (f.endsWith('.json') && f !== 'tsconfig.json' && !generated.has(f)) out.push({ file: f, problem: 'not generated' });
  }
  return out;
}

export async function write(dir = DASHBOARDS_DIR): Promise<string[]> {
  const generated = renderAll();
  const changed: string[] = [];
  for (const [file, text] of generated) {
    const path = join(dir, file);
    const before = await readFile(path, 'utf8').catch(() => null);
    if (before === text) continue;
    await writeFile(path, text);
    changed.push(file);
  }
  for (const f of await readdir(dir)) {
    if (f.endsWith('.json') && f !== 'tsconfig.json' && !generated.has(f)) {
      await unlink(join(dir, f));
      changed.push(`${f} (removed)`);
    }
  }
  return changed;
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check');
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length) {
    process.stderr.write(`usage: node dashboards/generate.ts [--check]\nunknown argument ${JSON.stringify(unknown[0])}\n`);
    return 2;
  }
  if (check) {
    const diffs = await compare();
    for (const d of diffs) process.stderr.write(`dashboards/${d.file}: ${d.problem}\n`);
    if (diffs.length) {
      process.stderr.write('the committed dashboards are not what the code generates: run node dashboards/generate.ts\n');
      return 1;
    }
    process.stdout.write(`${DASHBOARDS.length} dashboards up to date\n`);
    return 0;
  }
  const changed = await write();
  process.stdout.write(changed.length ? `wrote ${changed.map((f) => `dashboards/${f}`).join(', ')}\n` : `${DASHBOARDS.length} dashboards already up to date\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
