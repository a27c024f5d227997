// The agent's public surface, for `trimtab agent` and `trimtab agent config` (bin/trimtab.ts):
//
//   resolveAgentConfig(flags, env)  → AgentConfig (flag, then env, then default; ConfigError names the key)
//   AGENT_OPTIONS                    every flag with its env twin, default, `multiple` and doc
//   startAgent(config, options?)     → RunningAgent (address, metrics, stop() that flushes)
//   generateConfig({ format, remoteWriteUrl, bearerTokenFile?, cluster?, keep? }) → text
//   keepListFromRuleFiles(globs, extra) / defaultKeepList(extra)   the keep-list for generateConfig
//
// The agent depends on protocol/ (and promql/'s parser for rule files), never on storage/.
//
// Memory (test/agent/agent.bench.ts, 110 pods / 250 containers): the image runs the agent as JavaScript
// built ahead of time (agent/build.ts) through bin/trimtab.sh, with Maglev as the top JIT tier
// (--no-turbofan), a 1 MiB young generation and small malloc thresholds (not --optimize-for-size: it made
// V8 recompile the hot loops every round); the figures per lever are in the bench's header and in
// bin/trimtab.sh. Most of its peak RSS is pages of the node binary itself (file-backed; an idle `node`
// maps ~35 MiB of them, TLS, zlib, the compiler and the module loader the rest); ~31 MiB is anonymous
// (V8 heap, malloc, thread stacks and arenas). --jitless saves another ~11 MiB at ~2.5x the CPU; it is
// not on by default.

export { AGENT_OPTIONS, agentConfigurationMarkdown, resolveAgentConfig, type AgentConfig, type AgentFlags, type AgentOptionSpec } from './config.ts';
export { startAgent, type AgentOptions, type RunningAgent } from './agent.ts';
export { generateConfig, type GenerateConfigOptions } from './generate.ts';
export { DEFAULT_KEEP_METRICS, defaultKeepList, KeepList, keepListFromRuleFiles } from './keep.ts';
