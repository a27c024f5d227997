// Fencing: the database refuses writes from a deposed leader. client-go's leader election alone cannot
// promise that (a leader paused by GC, a slow disk or a partition keeps believing it leads until its own
// clock says otherwise); a fencing token checked by the store can.
//
// The token is the lease epoch (leader-election.ts): +1 on every acquisition. leader_fences (migration
// 0002) holds, per lease name, the latest epoch and its holder, and its epoch never goes down.
//
// fencedTransaction(driver, token, fn) opens a transaction whose FIRST statement is
//   SELECT epoch, holder_identity FROM leader_fences WHERE name = $1 FOR SHARE
// and throws FencedError (code 'fenced') unless the row still has the token's epoch and holder. The share
// lock is held until commit, and moving the fence needs a row lock that conflicts with it, so:
// - a takeover that starts while a fenced write is in flight waits until that write commits;
// - a fenced write that starts while a takeover is uncommitted waits for it and then sees the new epoch
//   (READ COMMITTED re-reads the row after the lock wait) and is refused.
// Every fenced write of epoch N therefore commits before the fence moves to N+1, and none after: the
// writes of two leaders never interleave. Only writes made through fencedTransaction are protected.
//
// Backends:
// - PostgreSQL lock: a trigger on leader_leases moves the fence in the same transaction as the lease update.
// - Kubernetes lock: the Lease lives in the API server, so the new leader mirrors its epoch into
//   leader_fences (postgresFenceMirror below, leader_fence_advance) BEFORE it starts leading; a mirror that
//   finds a later epoch fails and the elector gives the lease back. Limits: (1) between the Kubernetes
//   takeover and the mirror, the deposed leader can still write — harmless, because the new leader has
//   not written anything yet and its own first write waits for the mirror; (2) if the database is down the
//   new leader cannot mirror and does not lead (no writes would succeed anyway); (3) the epoch lives in an
//   annotation of the Lease: deleting the Lease restarts it at 1 and the fence refuses every leader until
//   the leader_fences row of that name is deleted too (an operator action, by design: failing closed).

import { TrimtabError } from '../protocol/errors.ts';
import { transaction, type Driver, type Tx, type TxScope } from '../storage/driver.ts';
import { wrapDbError } from '../storage/errors.ts';
import type { FenceMirror, Leadership } from './leader-election.ts';

/** What a fenced write carries: the lease name, the epoch of the term and its holder. */
export interface FencingToken {
  leaseName: string;
  epoch: number;
  identity: string;
}

export class FencedError extends TrimtabError {
  readonly token: FencingToken;
  readonly current: { epoch: number; holderIdentity: string } | null;
  constructor(token: FencingToken, current: { epoch: number; holderIdentity: string } | null) {
    const now = current ? `epoch ${current.epoch} held by ${current.holderIdentity || 'nobody (released)'}` : 'no fence row';
    super('fenced', `write refused: lease ${token.leaseName} epoch ${token.epoch} of ${token.identity} is no longer current (${now})`);
    this.token = token;
    this.current = current;
  }
}

export function tokenOf(leadership: Leadership): FencingToken {
  return { leaseName: leadership.leaseName, epoch: leadership.epoch, identity: leadership.identity };
}

/**
 * Checks the fence inside `tx` and keeps it locked (FOR SHARE) until the transaction ends. Call it as the
 * first statement of the transaction. Runs as the session user (the tenant role has no grant on
 * leader_fences), so it also works in tenant-scoped transactions.
 */
export async function assertFence(tx: Tx, token: FencingToken): Promise<void> {
  const { rows } = await tx.asOwner(() =>
    tx.query<{ epoch: string; holder_identity: string }>('SELECT epoch::text AS epoch, holder_identity FROM leader_fences WHERE name = $1 FOR SHARE', [token.leaseName]),
  );
  const row = rows[0];
  const current = row ? { epoch: Number(row.epoch), holderIdentity: row.holder_identity } : null;
  if (!current || current.epoch !== token.epoch || current.holderIdentity !== token.identity) throw new FencedError(token, current);
}

/** Runs `fn` in a transaction that commits only if `token` is still the current epoch and holder. */
export async function fencedTransaction<T>(driver: Driver, token: FencingToken, fn: (tx: Tx) => Promise<T>, scope: TxScope = {}): Promise<T> {
  return transaction(driver, scope, async (tx) => {
    await assertFence(tx, token);
    return fn(tx);
  });
}

/** The current fence of a lease (tests, status pages). */
export async function readFence(driver: Driver, leaseName: string): Promise<{ epoch: number; holderIdentity: string } | null> {
  try {
    const { rows } = await driver.query<{ epoch: string; holder_identity: string }>('SELECT epoch::text AS epoch, holder_identity FROM leader_fences WHERE name = $1', [leaseName]);
    return rows[0] ? { epoch: Number(rows[0].epoch), holderIdentity: rows[0].holder_identity } : null;
  } catch (error) {
    throw wrapDbError(error, `reading the fence of ${leaseName}`);
  }
}

/** For the Kubernetes backend: mirrors the Lease's epoch into leader_fences (see the header). */
export function postgresFenceMirror(driver: Driver): FenceMirror {
  return {
    async advance(leaseName, epoch, identity) {
      let ok: boolean;
      try {
        const { rows } = await driver.query<{ ok: boolean }>('SELECT leader_fence_advance($1, $2::bigint, $3) AS ok', [leaseName, String(epoch), identity]);
        ok = rows[0]?.ok === true;
      } catch (error) {
        throw wrapDbError(error, `moving the fence of ${leaseName}`);
      }
      if (!ok) throw new FencedError({ leaseName, epoch, identity }, await readFence(driver, leaseName).catch(() => null));
    },
    async release(leaseName, epoch, identity) {
      try {
        await driver.query('SELECT leader_fence_release($1, $2::bigint, $3)', [leaseName, String(epoch), identity]);
      } catch (error) {
        throw wrapDbError(error, `releasing the fence of ${leaseName}`);
      }
    },
  };
}
