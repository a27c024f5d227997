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
// built ahead of time (agent/build.ts) through bin/trimtab.sh, with a 1 MiB young generation and small
// malloc thresholds (not --optimize-for-size: it made V8 recompile the hot loops every round); the
// figures per lever are in the bench's header. Most
// of its peak RSS is pages of the node binary itself (file-backed; an idle `node` maps ~34 MiB of them,
// the optimizing compilers, TLS, zlib and the module loader the rest); ~31 MiB is anonymous (V8 heap
// ~17 MiB, malloc ~7 MiB, the rest thread stacks and arenas). --jitless would save ~14 MiB of the
// binary's pages at ~2.7x the CPU; it is not on by default.

export { AGENT_OPTIONS, agentConfigurationMarkdown, resolveAgentConfig, type AgentConfig, type AgentFlags, type AgentOptionSpec } from './config.ts';
export { startAgent, type AgentOptions, type RunningAgent } from './agent.ts';
export { generateConfig, type GenerateConfigOptions } from './generate.ts';
export { DEFAULT_KEEP_METRICS, defaultKeepList, KeepList, keepListFromRuleFiles } from './keep.ts';
