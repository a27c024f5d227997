-- Trimtab schema, version 2: the analyzer's leader election and fencing (analyzer/leader-election.ts,
-- analyzer/lock-postgres.ts, analyzer/fencing.ts). The same SQL runs on PostgreSQL 15+ and on PGlite.
--
-- leader_leases is the PostgreSQL lock backend: one row per lease name, the fields of client-go's
-- LeaderElectionRecord plus a fencing epoch, updated only by compare-and-swap on resource_version.
-- The timestamps are informational: electors judge expiry on their own monotonic clocks, never by
-- comparing these remote times.
--
-- leader_fences is what writes are checked against: one row per lease name holding the current epoch and
-- its holder. Its epoch never goes down. With the PostgreSQL backend the triggers below keep it in step with
-- leader_leases in the same transaction as the lease update; with the Kubernetes backend the new leader
-- mirrors its Lease's epoch into it (leader_fence_advance) before it starts working. A fenced transaction
-- takes FOR SHARE on the row, so a takeover (which must update the row) waits for in-flight fenced writes
-- to commit, and every fenced write after it sees the new epoch and is refused.

CREATE TABLE leader_leases (
  name text PRIMARY KEY,
  -- '' when released (client-go's ReleaseOnCancel clears the holder).
  holder_identity text NOT NULL DEFAULT '',
  lease_duration_ms integer NOT NULL CHECK (lease_duration_ms > 0),
  acquire_time timestamptz,
  renew_time timestamptz,
  lease_transitions integer NOT NULL DEFAULT 0 CHECK (lease_transitions >= 0),
  -- Fencing token: incremented on every acquisition (a new leadership term), kept on renewals.
  epoch bigint NOT NULL DEFAULT 0 CHECK (epoch >= 0),
  -- Optimistic concurrency, as metadata.resourceVersion on a Kubernetes Lease.
  resource_version bigint NOT NULL DEFAULT 1
);

CREATE TABLE leader_fences (
  name text PRIMARY KEY,
  epoch bigint NOT NULL CHECK (epoch >= 0),
  -- '' once the holder of this epoch has released the lease: its writes are refused from then on too.
  holder_identity text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Moves the fence to (epoch, holder). Returns false, changing nothing, when the fence is already at a
-- higher epoch or the same epoch belongs to another holder: the caller is a deposed leader.
CREATE FUNCTION leader_fence_advance(p_name text, p_epoch bigint, p_holder text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO leader_fences AS f (name, epoch, holder_identity) VALUES (p_name, p_epoch, p_holder)
  ON CONFLICT (name) DO UPDATE SET epoch = EXCLUDED.epoch, holder_identity = EXCLUDED.holder_identity, updated_at = now()
  WHERE f.epoch < EXCLUDED.epoch OR (f.epoch = EXCLUDED.epoch AND f.holder_identity = EXCLUDED.holder_identity);
  RETURN FOUND;
END
$$;

-- Marks the fence of (epoch, holder) released; a no-op when the fence has moved on.
CREATE FUNCTION leader_fence_release(p_name text, p_epoch bigint, p_holder text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE leader_fences SET holder_identity = '', updated_at = now()
  WHERE name = p_name AND epoch = p_epoch AND holder_identity = p_holder;
  RETURN FOUND;
END
$$;

-- PostgreSQL backend: the lease row and the fence change in one transaction. An acquisition whose epoch
-- the fence has already passed is rejected, so the lease table can never hand out a stale epoch.
CREATE FUNCTION leader_leases_sync_fence() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.holder_identity = '' THEN
    IF TG_OP = 'UPDATE' AND OLD.holder_identity <> '' THEN
      PERFORM leader_fence_release(NEW.name, OLD.epoch, OLD.holder_identity);
    END IF;
  ELSIF NOT leader_fence_advance(NEW.name, NEW.epoch, NEW.holder_identity) THEN
    RAISE EXCEPTION 'lease % epoch % is behind its fence', NEW.name, NEW.epoch USING ERRCODE = '40001';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER leader_leases_fence_insert AFTER INSERT ON leader_leases
  FOR EACH ROW EXECUTE FUNCTION leader_leases_sync_fence();
CREATE TRIGGER leader_leases_fence_update AFTER UPDATE ON leader_leases
  FOR EACH ROW WHEN (OLD.epoch IS DISTINCT FROM NEW.epoch OR OLD.holder_identity IS DISTINCT FROM NEW.holder_identity)
  EXECUTE FUNCTION leader_leases_sync_fence();
