// PGlite is PostgreSQL in this process: two processes opening one data directory would both write its
// files and corrupt it. A lock file (created exclusively, holding the owner's pid) keeps the directory to
// one process; a lock left by a process that no longer exists is taken over.

import { open, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from './errors.ts';

export const LOCK_FILE = 'trimtab.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory's lock or throws StorageError('store_locked'); returns the release function. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        await unlink(path).catch(() => {});
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new StorageError(
          'store_locked',
          `the embedded store in ${dir} is in use by process ${owner}; stop it first, or run against PostgreSQL with DATABASE_URL`,
        );
      }
      // Stale (its process is gone) or unreadable: take it over.
      await unlink(path).catch(() => {});
    }
  }
  // Lost a race for a stale lock twice: report it rather than loop.
  await writeFile(path, '', { flag: 'a' });
  throw new StorageError('store_locked', `could not take the lock ${path}; another process is starting on the same data directory`);
}
