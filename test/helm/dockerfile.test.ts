// The Dockerfile cannot be built here (no container engine), so its invariants are checked by parsing it:
// a multi-stage build on an exact Node 24 release, production dependencies only, a non-root numeric
// user, and a runtime stage that copies exactly the folders the CLI's imports reach (plus the rule pack).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './support.ts';

interface Instruction {
  cmd: string;
  args: string;
  line: number;
}
interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions with continuation lines joined and comments dropped; ARGs before the first FROM collected. */
export function parseDockerfile(text: string): { globalArgs: Map<string, string>; stages: Stage[] } {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i];
    if (/^\s*(#.*)?$/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i++;
      if (/^\s*#/.test(lines[i])) continue;
      line = line.replace(/\\\s*$/, ' ') + lines[i].trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse ${JSON.stringify(line)}`);
    const ins: Instruction = { cmd: m[1].toUpperCase(), args: m[2].trim(), line: start + 1 };
    if (ins.cmd === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!from) throw new Error(`Dockerfile line ${ins.line}: bad FROM`);
      stages.push({ image: from[1], name: from[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.cmd !== 'ARG') throw new Error(`Dockerfile line ${ins.line}: only ARG may precede FROM`);
      const [k, v = ''] = ins.args.split('=');
      globalArgs.set(k.trim(), v.trim());
    } else {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

function substitute(text: string, args: Map<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => {
    const v = args.get((a ?? b)!);
    if (v === undefined) throw new Error(`undefined build argument ${a ?? b}`);
    return v;
  });
}

/** Sources of a COPY/ADD without --from: paths in the build context. */
function copySources(ins: Instruction): string[] {
  const parts = ins.args.split(/\s+/).filter((p) => !p.startsWith('--'));
  return parts.slice(0, -1);
}

/** Top-level entries of the repository that bin/trimtab.ts reaches through relative imports (static and dynamic). */
function importClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [resolve(REPO, entry)];
  const spec = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith('.ts')) continue;
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(spec)) {
      const target = resolve(dirname(file), m[1]);
      // A missing target is the type-checker's business, not this test's.
      if (existsSync(target)) todo.push(target);
    }
  }
  return new Set([...seen].map((f) => relative(REPO, f).split('/')[0]));
}

const dockerfile = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
const runtime = dockerfile.stages[dockerfile.stages.length - 1];
const deps = dockerfile.stages.find((s) => s.name === 'deps');
const runtimeCopies = runtime.instructions.filter((i) => i.cmd === 'COPY' && !i.args.includes('--from='));
const copied = runtimeCopies.flatMap(copySources).map((s) => s.replace(/\/$/, ''));

describe('Dockerfile', () => {
  it('has a deps stage and a final runtime stage', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    expect(deps).toBeTruthy();
    expect(runtime.name).toBe('runtime');
  });

  it('builds on an exact Node 24 release (the one the tests run on), never `latest`', () => {
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    const testedNode = lock.packages['node_modules/node']?.version;
    expect(testedNode, 'package-lock.json pins the node dev dependency').toMatch(/^24\.\d+\.\d+$/);
    expect(dockerfile.globalArgs.get('NODE_VERSION')).toBe(testedNode);
    const stageNames = new Set(dockerfile.stages.map((s) => s.name).filter(Boolean));
    for (const stage of dockerfile.stages) {
      const image = substitute(stage.image, dockerfile.globalArgs);
      if (stageNames.has(image)) continue;
      expect(image).not.toMatch(/:latest$/);
      expect(image, 'an image needs an explicit tag or digest').toMatch(/[:@]/);
      expect(image).toMatch(/^(node:24\.\d+\.\d+-[a-z]+-slim|gcr\.io\/distroless\/nodejs24-debian\d+(:[\w.-]+)?)(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('deps: `npm ci --omit=dev` from package.json and the lockfile', () => {
    const copies = deps!.instructions.filter((i) => i.cmd === 'COPY').flatMap(copySources);
    expect(copies.sort()).toEqual(['package-lock.json', 'package.json']);
    const run = deps!.instructions.filter((i) => i.cmd === 'RUN').map((i) => i.args).join(' ');
    expect(run).toMatch(/\bnpm ci\b[^&;]*--omit=dev/);
    expect(run).not.toMatch(/\bnpm (install|i)\b/);
  });

  it('runtime: WORKDIR /app, the node_modules of deps only, a non-root numeric user, the CLI as entrypoint', () => {
    const of = (cmd: string) => runtime.instructions.filter((i) => i.cmd === cmd);
    expect(of('WORKDIR').map((i) => i.args)).toEqual(['/app']);
    const fromDeps = of('COPY').filter((i) => i.args.includes('--from='));
    expect(fromDeps.map((i) => i.args)).toEqual(['--from=deps /app/node_modules ./node_modules']);
    const users = of('USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1].args).toBe('65532:65532');
    // Nothing runs or is copied as root after the switch, and the switch is not undone.
    expect(runtime.instructions.slice(runtime.instructions.indexOf(users[users.length - 1])).filter((i) => ['RUN', 'COPY', 'ADD'].includes(i.cmd))).toEqual([]);
    // bin/trimtab.sh: `agent` runs the build of agent/build.ts, everything else `node bin/trimtab.ts`.
    expect(JSON.parse(of('ENTRYPOINT').at(-1)!.args)).toEqual(['/bin/sh', 'bin/trimtab.sh']);
    const entry = readFileSync(join(REPO, 'bin', 'trimtab.sh'), 'utf8');
    expect(entry).toMatch(/exec node "\$app\/bin\/trimtab\.ts" "\$@"/);
    expect(entry).toMatch(/exec node [^\n]*"\$app\/dist\/bin\/agent\.js" "\$@"/);
    // The agent's build runs in the image, before the switch to the non-root user.
    const build = of('RUN').find((i) => /\bnode\b[^&;]*\bagent\/build\.ts dist\b/.test(i.args));
    expect(build, 'RUN node agent/build.ts dist').toBeTruthy();
    expect(runtime.instructions.indexOf(build!)).toBeLessThan(runtime.instructions.indexOf(users[users.length - 1]));
    expect(of('ADD')).toEqual([]);
    expect(runtime.instructions.filter((i) => i.cmd === 'RUN').map((i) => i.args).join(' ')).not.toMatch(/\bnpm\b/);
  });

  it('copies every folder the CLI imports, the rule pack, and nothing else', () => {
    const reached = importClosure('bin/trimtab.ts');
    reached.delete('bin');
    for (const top of reached) expect(copied, `bin/trimtab.ts reaches ${top}/`).toContain(top);
    expect(copied).toContain('rules');
    const runtimeFolders = new Set([...reached, 'bin', 'rules', 'analyzer', 'package.json']);
    for (const c of copied) expect(runtimeFolders.has(c), `${c} is not needed at run time`).toBe(true);
    for (const never of ['test', 'helm', 'dashboards', 'node_modules', 'data', '.git']) expect(copied).not.toContain(never);
  });

  it('the copied folders exist in the repository', () => {
    for (const c of copied.filter((c) => c !== 'rules')) expect(existsSync(join(REPO, c)), c).toBe(true);
  });

  it.skipIf(!existsSync(join(REPO, 'rules')))('rules/, the default rule pack the image ships, exists (skipped: rules/ is not in the repository yet)', () => {
    expect(statSync(join(REPO, 'rules')).isDirectory()).toBe(true);
  });

  it('exposes the receiver and analyzer/agent default ports', async () => {
    const { OPTIONS } = await import('../../bin/config.ts');
    const { AGENT_OPTIONS } = await import('../../agent/config.ts');
    const port = (hostport: string | undefined) => hostport!.split(':').at(-1);
    const exposed = runtime.instructions.filter((i) => i.cmd === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    expect(exposed).toContain(port(OPTIONS.find((o) => o.key === 'listen')!.default));
    expect(exposed).toContain(port(AGENT_OPTIONS.find((o) => o.key === 'listen')!.default));
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(join(REPO, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('is an allow-list: everything excluded, then exactly what the Dockerfile copies re-included', () => {
    expect(patterns[0]).toBe('*');
    const allowed = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1).replace(/\/$/, ''));
    const contextSources = [...new Set([...copied, ...deps!.instructions.filter((i) => i.cmd === 'COPY').flatMap(copySources)])];
    expect(allowed.sort()).toEqual(contextSources.sort());
  });

  it('keeps tests out of the image', () => {
    expect(patterns).toContain('**/*.test.ts');
  });
});
