// A separate process running one elector on PostgreSQL, so a test can SIGKILL a real leader (no release,
// no clean shutdown). Reads TRIMTAB_TEST_DB_URL, TRIMTAB_IDENTITY, TRIMTAB_LEASE_NAME and the three
// timings (milliseconds) from the environment; prints one JSON line per event on stdout.

import { LeaderElector } from '../../../analyzer/leader-election.ts';
import { PostgresLeaseLock } from '../../../analyzer/lock-postgres.ts';
import { openStorage } from '../../../storage/open.ts';

const env = process.env;
const storage = await openStorage({ databaseUrl: env.TRIMTAB_TEST_DB_URL, dataDir: '/nonexistent', poolMax: 2 });
const say = (event: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(event) + '\n');
};
const elector = new LeaderElector({
  lock: new PostgresLeaseLock({ driver: storage.db, name: env.TRIMTAB_LEASE_NAME }),
  identity: env.TRIMTAB_IDENTITY!,
  leaseDurationMs: Number(env.LEASE_MS),
  renewDeadlineMs: Number(env.RENEW_MS),
  retryPeriodMs: Number(env.RETRY_MS),
  callbacks: {
    onStartedLeading: (l) => say({ event: 'started', epoch: l.epoch }),
    onStoppedLeading: () => say({ event: 'stopped' }),
    onNewLeader: (identity) => say({ event: 'newLeader', identity }),
  },
});
process.on('SIGTERM', () => {
  void elector.stop().then(() => storage.close()).then(() => process.exit(0));
});
elector.start();
say({ event: 'ready' });
