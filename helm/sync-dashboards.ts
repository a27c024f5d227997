// Copies the generated Grafana dashboards (dashboards/*.json, made by `node dashboards/generate.ts`) into
// the chart (helm/trimtab/dashboards/), because Helm reads only files inside the chart directory. Copies
// whose source is gone are removed. No npm, no dependencies: Node runs this file as it is.
//
//   node helm/sync-dashboards.ts            copy
//   node helm/sync-dashboards.ts --check    exit 1, listing the differences, when the chart is out of date
//   (--source DIR / --dest DIR override the two folders; the tests use them)

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const REPO = fileURLToPath(new URL('..', import.meta.url));
export const SOURCE = join(REPO, 'dashboards');
export const DEST = join(REPO, 'helm', 'trimtab', 'dashboards');

/** The dashboard files of a folder: *.json, except a TypeScript project file. */
export function dashboardFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'tsconfig.json')
    .sort();
}

export interface Difference {
  file: string;
  problem: 'missing' | 'stale' | 'extra';
}

export function differences(source = SOURCE, dest = DEST): Difference[] {
  const out: Difference[] = [];
  const wanted = dashboardFiles(source);
  for (const file of wanted) {
    const copy = join(dest, file);
    if (!existsSync(copy)) out.push({ file, problem: 'missing' });
    else if (!readFileSync(copy).equals(readFileSync(join(source, file)))) out.push({ file, problem: 'stale' });
  }
  for (const file of dashboardFiles(dest)) if (!wanted.includes(file)) out.push({ file, problem: 'extra' });
  return out;
}

/** Makes dest hold exactly the dashboards of source; returns what changed. */
export function sync(source = SOURCE, dest = DEST): Difference[] {
  const changes = differences(source, dest);
  mkdirSync(dest, { recursive: true });
  for (const { file, problem } of changes) {
    if (problem === 'extra') unlinkSync(join(dest, file));
    else copyFileSync(join(source, file), join(dest, file));
  }
  return changes;
}

function main(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { check: { type: 'boolean' }, source: { type: 'string' }, dest: { type: 'string' } }, strict: true });
  const source = resolve(values.source ?? SOURCE);
  const dest = resolve(values.dest ?? DEST);
  if (!existsSync(source)) {
    process.stderr.write(`sync-dashboards: ${source} does not exist\n`);
    return 2;
  }
  if (values.check) {
    const diff = differences(source, dest);
    if (diff.length === 0) {
      process.stdout.write(`${dashboardFiles(source).length} dashboards in the chart are up to date\n`);
      return 0;
    }
    for (const d of diff) process.stderr.write(`${d.problem}: ${d.file}\n`);
    process.stderr.write('run: node helm/sync-dashboards.ts\n');
    return 1;
  }
  const changes = sync(source, dest);
  process.stdout.write(changes.length ? `${changes.map((c) => `${c.problem === 'extra' ? 'removed' : 'copied'} ${c.file}`).join('\n')}\n` : 'dashboards already up to date\n');
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
