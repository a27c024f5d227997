import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDataDir } from '../test/support/databases.ts';
import { LOCK_FILE, lockDataDir } from './data-dir-lock.ts';
import { openStorage } from './open.ts';

describe('embedded store lock', () => {
  // Opens PGlite in the test itself (the point of it): seconds each, more on a loaded machine.
  it('keeps a data directory to one process and takes over a stale lock', { timeout: 90_000 }, async () => {
    const dir = await tempDataDir();
    try {
      // A live foreign owner: a child process that sleeps.
      const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
      await writeFile(join(dir.path, LOCK_FILE), `${child.pid}\n`);
      await expect(openStorage({ dataDir: dir.path })).rejects.toThrow(new RegExp(`in use by process ${child.pid}`));
      child.kill();
      await new Promise((r) => child.once('exit', r));
      // Its owner is gone: the lock is stale and is taken over.
      const storage = await openStorage({ dataDir: dir.path });
      expect((await readFile(join(dir.path, LOCK_FILE), 'utf8')).trim()).toBe(String(process.pid));
      await storage.close();
      await expect(readFile(join(dir.path, LOCK_FILE))).rejects.toThrow(/ENOENT/);
      const release = await lockDataDir(dir.path);
      await release();
    } finally {
      await dir.remove();
    }
  });
});
