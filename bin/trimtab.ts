#!/usr/bin/env node
// The one CLI: `trimtab receiver | all | migrate | tenant … | token …`. Flags are validated strictly; an
// unknown flag or a bad value is an error naming the key, and the exit code is 2 for usage errors.

import { parseArgs } from 'node:util';
import pkg from '../package.json' with { type: 'json' };
import { createLogger } from '../lib/log.ts';
import { exitWith, UsageError } from './cli.ts';
import { OPTIONS, resolveServerConfig, type OptionSpec, type ServerConfig } from './config.ts';
import type { Storage } from '../storage/types.ts';

// Each command loads only what it runs (the agent, the server roles and the rule tools are imported on
// demand), so `trimtab rules test` or `trimtab version` start fast.
const rolesModule = () => import('./roles.ts');

const USAGE = `Trimtab ${pkg.version}: Kubernetes right-sizing from Prometheus remote-write.

Usage:
  trimtab all                     every server role in one process (the embedded default)
  trimtab receiver                the remote-write receiver and the query, rules and recommendations API
  trimtab analyzer                the rule evaluator (leader-elected; TRIMTAB_LEADER_ELECTION, see README)
  trimtab rules check FILE…       validate Prometheus rule files (as promtool check rules)
  trimtab rules test FILE…        run rule unit tests in promtool's test format
  trimtab migrate                 apply database migrations and exit
  trimtab tenant create NAME      create a tenant; prints its token alone on stdout
  trimtab tenant list             list tenants
  trimtab token create TENANT     add a token to a tenant (rotation); prints it alone on stdout
  trimtab token list [TENANT]     list tokens (id, prefix, state), never the tokens themselves
  trimtab token revoke ID|PREFIX  revoke a token by id or by its shown prefix
  trimtab agent [flags]           the lightweight remote-write sender (DaemonSet); 'trimtab agent --help'
  trimtab agent config --format prometheus|alloy --remote-write-url URL [--bearer-token-file F]
                                  print a remote_write block for your own Prometheus or Alloy
  trimtab version

Options (flag, then environment variable, then default):
${(OPTIONS as readonly OptionSpec[])
  .filter((o) => o.flag)
  .map((o) => `  --${o.flag}=…`.padEnd(34) + `${o.env}${o.default !== undefined ? ` (default ${o.default})` : ''}`)
  .join('\n')}
  TRIMTAB_BOOTSTRAP_TOKEN         environment only; see README
`;


const TENANT_NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

function parse(argv: string[]): { positionals: string[]; flags: Record<string, string>; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const o of OPTIONS as readonly OptionSpec[]) if (o.flag) options[o.flag] = { type: 'string' };
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    const { help, ...rest } = values as Record<string, string | boolean | undefined>;
    const flags: Record<string, string> = {};
    for (const [k, v] of Object.entries(rest)) if (typeof v === 'string') flags[k] = v;
    return { positionals, flags, help: help === true };
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

function tenantName(name: string | undefined): string {
  if (!name) throw new UsageError('missing tenant name');
  if (!TENANT_NAME.test(name)) throw new UsageError(`invalid tenant name ${JSON.stringify(name)}: use 1-63 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit`);
  return name;
}

async function withStorage<T>(config: ServerConfig, fn: (storage: Storage) => Promise<T>): Promise<T> {
  const { openConfiguredStorage } = await rolesModule();
  const logger = createLogger({ level: config.logLevel, write: (line) => process.stderr.write(line + '\n') });
  const storage = await openConfiguredStorage(config, logger);
  try {
    await storage.migrate();
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

/** `trimtab rules check|test FILE…`: exit 0 when every file passes, 1 when one fails (as promtool). */
async function rulesMain(sub: string | undefined, files: string[]): Promise<number> {
  if (sub !== 'check' && sub !== 'test') throw new UsageError(`unknown rules command ${JSON.stringify(sub ?? '')}; use check or test`);
  if (files.length === 0) throw new UsageError(`trimtab rules ${sub} needs at least one file`);
  if (sub === 'check') {
    const { checkRuleFiles } = await import('../analyzer/rule-file.ts');
    const { ok, output } = await checkRuleFiles(files);
    (ok ? process.stdout : process.stderr).write(output);
    return ok ? 0 : 1;
  }
  const { formatRuleTestReport, runRuleTestFile } = await import('../analyzer/rule-test.ts');
  const reports = [];
  for (const f of files) reports.push(await runRuleTestFile(f));
  const ok = reports.every((r) => r.ok);
  (ok ? process.stdout : process.stderr).write(formatRuleTestReport(reports));
  return ok ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  // The agent has its own flags (it runs in customer clusters, apart from the server roles).
  // bin/agent.ts; the container image runs its pre-built JavaScript directly (agent/build.ts).
  if (argv[0] === 'agent') return (await import('./agent.ts')).agentMain(argv.slice(1));
  const { positionals, flags, help } = parse(argv);
  const [command, sub, arg] = positionals;
  if (help || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined && !help ? 2 : 0;
  }
  if (command === 'rules') return rulesMain(sub, positionals.slice(2));
  if (command === 'version') {
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const config = resolveServerConfig(flags);

  switch (command) {
    case 'all':
    case 'receiver':
    case 'analyzer': {
      const logger = createLogger({ level: config.logLevel, base: { role: command } });
      const { startServerRoles } = await rolesModule();
      const roles = await startServerRoles(config, logger, pkg.version, (line) => process.stderr.write(line + '\n'), command);
      // SIGHUP reloads the rule files, as it does for Prometheus.
      const onHup = () => void roles.analyzer?.reload();
      if (roles.analyzer) process.on('SIGHUP', onHup);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info('shutting down', { signal });
          resolve();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      process.off('SIGHUP', onHup);
      await roles.stop();
      logger.info('stopped');
      return 0;
    }
    case 'migrate':
      return withStorage(config, async (storage) => {
        const { applied } = await storage.migrate();
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'up to date\n');
        return 0;
      });
    case 'tenant':
      if (sub === 'create') {
        const name = tenantName(arg);
        return withStorage(config, async (storage) => {
          const { token } = await storage.tenants.createTenant(name);
          process.stdout.write(`${token}\n`);
          return 0;
        });
      }
      if (sub === 'list') {
        return withStorage(config, async (storage) => {
          const rows = await storage.tenants.listTenants();
          process.stdout.write(['ID\tNAME\tACTIVE_TOKENS\tCREATED', ...rows.map((t) => `${t.id}\t${t.name}\t${t.activeTokens}\t${t.createdAt.toISOString()}`)].join('\n') + '\n');
          return 0;
        });
      }
      throw new UsageError(`unknown tenant command ${JSON.stringify(sub ?? '')}; use create or list`);
    case 'token':
      if (sub === 'create') {
        const name = tenantName(arg);
        return withStorage(config, async (storage) => {
          const { token } = await storage.tenants.createToken(name);
          process.stdout.write(`${token}\n`);
          return 0;
        });
      }
      if (sub === 'list') {
        return withStorage(config, async (storage) => {
          const rows = await storage.tenants.listTokens(arg ? tenantName(arg) : undefined);
          process.stdout.write(['ID\tTENANT\tPREFIX\tSTATE\tCREATED', ...rows.map((t) => `${t.id}\t${t.tenantName}\t${t.prefix}\t${t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : 'active'}\t${t.createdAt.toISOString()}`)].join('\n') + '\n');
          return 0;
        });
      }
      if (sub === 'revoke') {
        if (!arg) throw new UsageError('token revoke needs a token id or prefix (see `trimtab token list`)');
        return withStorage(config, async (storage) => {
          const n = await storage.tenants.revokeToken(arg);
          if (n === 0) {
            process.stderr.write(`no active token matches ${JSON.stringify(arg)}\n`);
            return 1;
          }
          process.stdout.write(`revoked ${n} token${n === 1 ? '' : 's'}\n`);
          return 0;
        });
      }
      throw new UsageError(`unknown token command ${JSON.stringify(sub ?? '')}; use create, list or revoke`);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

exitWith(main(process.argv.slice(2)));
