// What every command-line entry shares: usage errors (exit code 2, with a pointer to --help), the
// configuration errors of bin/config.ts (exit code 2), and any other failure (exit code 1). Used by
// bin/trimtab.ts and by bin/agent.ts, which the container image runs directly for `trimtab agent`.

import { ConfigError } from './config.ts';

export class UsageError extends Error {}

/** Sets the exit code from a command's result or failure (never calls process.exit: output drains first). */
export function exitWith(run: Promise<number>): void {
  run.then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof UsageError || error instanceof ConfigError) {
        process.stderr.write(`trimtab: ${error.message}\n${error instanceof UsageError ? "run 'trimtab --help' for usage\n" : ''}`);
        process.exitCode = 2;
        return;
      }
      const e = error as Error;
      process.stderr.write(`trimtab: ${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}\n`);
      process.exitCode = 1;
    },
  );
}
