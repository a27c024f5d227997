// `trimtab agent [flags]` and `trimtab agent config …`: the agent's command line. bin/trimtab.ts hands
// the `agent` command here; the container image runs this file directly, as JavaScript built ahead of
// time (agent/build.ts → dist/bin/agent.js, started by bin/trimtab.sh with the agent's Node flags), so
// that the DaemonSet's process carries neither Node's TypeScript stripper nor the server roles' code.
//
//   node bin/agent.ts [flags]            the same as `node bin/trimtab.ts agent [flags]`

import { AGENT_OPTIONS, defaultKeepList, generateConfig, keepListFromRuleFiles, resolveAgentConfig, startAgent } from '../agent/index.ts';
import { exitWith, UsageError } from './cli.ts';

// Not `import … from 'node:util'`: an ES module import of a builtin reads every export, and node:util's
// lazy ones load worker_threads, the assert diff and a dozen more modules the agent never uses.
const { parseArgs } = process.getBuiltinModule('node:util');

/** Flags of `trimtab agent config`; repeatable ones collect into arrays. */
const AGENT_CONFIG_FLAGS = {
  format: { type: 'string' },
  'remote-write-url': { type: 'string' },
  'bearer-token-file': { type: 'string' },
  cluster: { type: 'string' },
  'rule-files': { type: 'string', multiple: true },
  'keep-metric': { type: 'string', multiple: true },
  help: { type: 'boolean' },
} as const;

export async function agentUsage(): Promise<string> {
  const rows = AGENT_OPTIONS.map((o) => `  --${o.flag}=…${o.multiple ? ' (repeatable)' : ''}`.padEnd(44) + `${o.env}${o.default !== undefined ? ` (default ${o.default})` : ''}`);
  return `Usage: trimtab agent [flags]\n       trimtab agent config --format prometheus|alloy --remote-write-url URL [--bearer-token-file F] [--cluster NAME] [--rule-files GLOB]… [--keep-metric NAME]…\n\nAgent flags (flag, then environment variable, then default):\n${rows.join('\n')}\n`;
}

export async function agentMain(argv: string[]): Promise<number> {
  if (argv[0] === 'config') {
    let values;
    try {
      ({ values } = parseArgs({ args: argv.slice(1), options: AGENT_CONFIG_FLAGS, strict: true }));
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error });
    }
    if (values.help) {
      process.stdout.write(await agentUsage());
      return 0;
    }
    if (values.format !== 'prometheus' && values.format !== 'alloy') throw new UsageError(`--format must be prometheus or alloy, got ${JSON.stringify(values.format ?? '')}`);
    if (!values['remote-write-url']) throw new UsageError('--remote-write-url is required');
    try {
      new URL(values['remote-write-url']);
    } catch (cause) {
      throw new UsageError(`--remote-write-url ${JSON.stringify(values['remote-write-url'])} is not a URL`, { cause });
    }
    const extra = values['keep-metric'] ?? [];
    let keep = defaultKeepList(extra);
    if (values['rule-files']?.length) {
      const derived = await keepListFromRuleFiles(values['rule-files'], extra);
      for (const warning of derived.warnings) process.stderr.write(`trimtab: ${warning}\n`);
      keep = derived.keep;
    }
    process.stdout.write(
      generateConfig({ format: values.format, remoteWriteUrl: values['remote-write-url'], bearerTokenFile: values['bearer-token-file'], cluster: values.cluster, keep }),
    );
    return 0;
  }
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } };
  for (const o of AGENT_OPTIONS) options[o.flag] = { type: 'string', ...(o.multiple ? { multiple: true } : {}) };
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true }));
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  if (values.help) {
    process.stdout.write(await agentUsage());
    return 0;
  }
  const { help: _help, ...flags } = values;
  const agent = await startAgent(resolveAgentConfig(flags as Record<string, string | string[]>));
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await agent.stop();
  return 0;
}

if (import.meta.main) exitWith(agentMain(process.argv.slice(2)));
