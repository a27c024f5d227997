// Runs the agent as its own process, as `trimtab agent` will (bin/trimtab.ts wires the same functions):
// flags per AGENT_OPTIONS (repeatable ones with `multiple`), environment twins, JSON logs on stdout,
// SIGTERM/SIGINT stop it with a flush. Used by the benchmark to measure the agent's process alone.

import { parseArgs } from 'node:util';
import { AGENT_OPTIONS, resolveAgentConfig, startAgent } from '../../../agent/index.ts';

const options: Record<string, { type: 'string'; multiple?: boolean }> = {};
for (const o of AGENT_OPTIONS) options[o.flag] = { type: 'string', ...(o.multiple ? { multiple: true } : {}) };
const { values } = parseArgs({ args: process.argv.slice(2), options, strict: true });
const agent = await startAgent(resolveAgentConfig(values as Record<string, string | string[]>));
const stop = async (signal: string) => {
  process.stdout.write(JSON.stringify({ msg: 'stopping', signal }) + '\n');
  await agent.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
