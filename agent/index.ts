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
// Memory (test/agent/agent.bench.ts, 110 pods / 250 containers): most of the agent's resident memory is
// Node itself — the node binary's mapped pages (~50 MiB, reclaimable page cache) and, when the .ts
// sources run through Node's type stripping, the stripper (~30 MiB). For the DaemonSet:
// NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size=64" (a small young generation) and
// MALLOC_ARENA_MAX=2, and ideally pre-stripped JavaScript in the image.

export { AGENT_OPTIONS, agentConfigurationMarkdown, resolveAgentConfig, type AgentConfig, type AgentFlags, type AgentOptionSpec } from './config.ts';
export { startAgent, type AgentOptions, type RunningAgent } from './agent.ts';
export { generateConfig, type GenerateConfigOptions } from './generate.ts';
export { DEFAULT_KEEP_METRICS, defaultKeepList, KeepList, keepListFromRuleFiles } from './keep.ts';
