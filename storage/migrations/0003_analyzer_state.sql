-- Trimtab schema, version 3: what the analyzer leader publishes besides rule results (which are ordinary
-- series). Written only in fenced transactions (analyzer/fencing.ts) and read by every receiver replica,
-- so /api/v1/rules, /api/v1/alerts and /api/v1/recommendations answer the same whichever replica serves.
--
-- rule_group_state: per tenant and rule group, the group's rules with their health and last evaluation,
-- and the pending/firing alerts of its alerting rules, as one JSON document replaced after each
-- evaluation. `epoch` is the lease epoch of the leader that wrote it.
--
-- recommendations: firing alerts of rules labelled `trimtab_recommendation`, with history. One row per
-- episode: opened when the alert is first seen firing, `last_seen` moved on every evaluation it still
-- fires, `resolved_at` set when it stops. A recurrence opens a new row. `details` holds what the
-- recommendation assembler joins from the rule pack's recorded series (current and recommended
-- resources, savings).

CREATE TABLE rule_group_state (
  tenant_id int NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  file text NOT NULL,
  group_name text NOT NULL,
  state jsonb NOT NULL,
  evaluated_at timestamptz NOT NULL,
  epoch bigint NOT NULL,
  PRIMARY KEY (tenant_id, file, group_name)
);

CREATE TABLE recommendations (
  id bigserial PRIMARY KEY,
  tenant_id int NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- Hex hash of the alert's sorted labels: the identity of the recommendation.
  fingerprint text NOT NULL,
  alertname text NOT NULL,
  -- The trimtab_recommendation label: rightsize | risk | waste | insufficient_data | …
  kind text NOT NULL,
  severity text NOT NULL DEFAULT '',
  -- Copied out of labels for filtering ('' when the alert has no such label).
  cluster text NOT NULL DEFAULT '',
  namespace text NOT NULL DEFAULT '',
  workload text NOT NULL DEFAULT '',
  labels jsonb NOT NULL,
  annotations jsonb NOT NULL,
  value float8 NOT NULL,
  details jsonb,
  active_at timestamptz NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  resolved_at timestamptz,
  epoch bigint NOT NULL
);

CREATE UNIQUE INDEX recommendations_open ON recommendations (tenant_id, fingerprint) WHERE resolved_at IS NULL;
CREATE INDEX recommendations_by_workload ON recommendations (tenant_id, cluster, namespace, workload);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['rule_group_state', 'recommendations'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
                        USING (tenant_id = NULLIF(current_setting('trimtab.tenant_id', true), '')::int)
                        WITH CHECK (tenant_id = NULLIF(current_setting('trimtab.tenant_id', true), '')::int)$p$, t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO trimtab_tenant', t);
  END LOOP;
END
$$;

GRANT USAGE ON SEQUENCE recommendations_id_seq TO trimtab_tenant;
