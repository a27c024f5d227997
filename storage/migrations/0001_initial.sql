-- Trimtab schema, version 1. The same SQL runs on PostgreSQL 15+ and on PGlite; it is applied once, in one
-- transaction, by storage/migrations.ts under an advisory lock, and recorded in schema_migrations.
--
-- Every table of customer data carries tenant_id as the first column of its primary key, so the schema
-- distributes by tenant (Citus: create_distributed_table(..., 'tenant_id')) without change. Row-level
-- security on those tables, under the NOLOGIN role trimtab_tenant, keeps a tenant-scoped transaction from
-- ever seeing or writing another tenant's rows. tenants and api_tokens are not granted to that role.

-- Roles are global to the cluster, and several databases (tests, staging) may share one: create it only
-- when missing, and tolerate another database's migration creating it at the same moment.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'trimtab_tenant') THEN
    CREATE ROLE trimtab_tenant NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

-- The service's own user switches to the role with SET LOCAL ROLE.
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'trimtab_tenant', 'MEMBER') THEN
    EXECUTE format('GRANT trimtab_tenant TO %I', current_user);
  END IF;
EXCEPTION WHEN unique_violation OR duplicate_object THEN
  NULL;
END
$$;

CREATE TABLE tenants (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
  id serial PRIMARY KEY,
  tenant_id int NOT NULL REFERENCES tenants (id),
  -- SHA-256 of the token; the token itself is never stored.
  token_hash bytea NOT NULL UNIQUE,
  -- The first characters of the token (e.g. tt_3fA9xZ), to tell tokens apart in listings and to revoke.
  prefix text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id);
CREATE INDEX api_tokens_prefix ON api_tokens (prefix);

-- One row per distinct label set per tenant.
CREATE TABLE series (
  tenant_id int NOT NULL REFERENCES tenants (id),
  id bigint GENERATED ALWAYS AS IDENTITY,
  -- First 16 bytes of SHA-256 over the sorted labels (name 0xff value 0xff ...).
  labels_hash bytea NOT NULL,
  metric_name text NOT NULL,
  -- Every label including __name__, as an object {name: value}; never an empty value.
  labels jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, labels_hash)
);
CREATE INDEX series_metric_name ON series (tenant_id, metric_name);
CREATE INDEX series_labels ON series USING gin (labels jsonb_path_ops);

-- Float samples. One partition per UTC day, created on demand by the writer (samples_YYYYMMDD), so
-- retention is DROP TABLE of a partition.
CREATE TABLE samples (
  tenant_id int NOT NULL,
  series_id bigint NOT NULL,
  ts bigint NOT NULL, -- milliseconds since the epoch
  value float8 NOT NULL, -- exact bit pattern as received (stale marker NaN 0x7ff0000000000002)
  PRIMARY KEY (tenant_id, series_id, ts)
) PARTITION BY RANGE (ts);

-- Native histograms, kept as the Histogram protobuf bytes as received; partitioned like samples.
CREATE TABLE histograms (
  tenant_id int NOT NULL,
  series_id bigint NOT NULL,
  ts bigint NOT NULL,
  start_ts bigint NOT NULL DEFAULT 0, -- 0 = unset
  raw bytea NOT NULL,
  PRIMARY KEY (tenant_id, series_id, ts)
) PARTITION BY RANGE (ts);

-- Exemplars; partitioned like samples. A resent exemplar is the same row.
CREATE TABLE exemplars (
  tenant_id int NOT NULL,
  series_id bigint NOT NULL,
  ts bigint NOT NULL,
  value float8 NOT NULL,
  labels jsonb NOT NULL,
  UNIQUE (tenant_id, series_id, ts, value, labels)
) PARTITION BY RANGE (ts);

-- Which series had data (sample, histogram or exemplar) on which UTC day (days since the epoch), written
-- once per (series, day). Selecting series for a time range reads this, never samples.
CREATE TABLE series_activity (
  tenant_id int NOT NULL,
  series_id bigint NOT NULL,
  day int NOT NULL,
  PRIMARY KEY (tenant_id, series_id, day)
);

-- Metric metadata (TYPE, HELP, UNIT) per metric family; the last one received wins.
CREATE TABLE metric_metadata (
  tenant_id int NOT NULL,
  metric_family_name text NOT NULL,
  type smallint NOT NULL, -- MetricType: 0 unspecified, 1 counter, 2 gauge, 3 histogram, 4 gaugehistogram, 5 summary, 6 info, 7 stateset
  help text NOT NULL DEFAULT '',
  unit text NOT NULL DEFAULT '',
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, metric_family_name)
);

-- Start (created) timestamps change only on a counter reset, so the distinct ones are stored, each with
-- the earliest sample timestamp it was seen with.
CREATE TABLE series_start_timestamps (
  tenant_id int NOT NULL,
  series_id bigint NOT NULL,
  start_ts bigint NOT NULL,
  first_seen_ts bigint NOT NULL,
  PRIMARY KEY (tenant_id, series_id, start_ts)
);

-- Row-level security on every customer table. NULLIF(..., '') makes an unset tenant match nothing (and
-- fail every WITH CHECK) instead of raising a cast error.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['series', 'samples', 'histograms', 'exemplars', 'series_activity', 'metric_metadata', 'series_start_timestamps'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
                        USING (tenant_id = NULLIF(current_setting('trimtab.tenant_id', true), '')::int)
                        WITH CHECK (tenant_id = NULLIF(current_setting('trimtab.tenant_id', true), '')::int)$p$, t);
    EXECUTE format('GRANT SELECT, INSERT ON %I TO trimtab_tenant', t);
  END LOOP;
END
$$;

-- Upserts (last metadata wins; the earliest first_seen_ts wins).
GRANT UPDATE ON metric_metadata, series_start_timestamps TO trimtab_tenant;
