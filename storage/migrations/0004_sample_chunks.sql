-- Trimtab schema, version 4: compacted float samples.
--
-- A row of `samples` costs ~120 bytes on disk (tuple header, index entry) and a few hundred nanoseconds
-- to read, so 14 days of 5-minute history for 10,000 containers (~40 M rows) took minutes to read back.
-- Once a UTC day is closed (and its late writes are in), storage/compaction.ts moves its rows, per
-- series, into one row here: the day's timestamps and values as arrays, in time order. Reading a series'
-- day is then one row. The move is one statement (DELETE … RETURNING feeding the INSERT), so a row is
-- in exactly one place at every snapshot, and a write arriving later for that day lands in `samples`
-- again and is compacted by a later pass under the next `seq`.
--
-- vals keeps each float8's bit pattern (the stale-marker NaN included). A (series, ts) may appear twice
-- only when a resend arrived after its day was compacted: readers keep the first written (the lowest
-- seq, then the chunk before the raw row), as the INSERT … ON CONFLICT DO NOTHING of ingest would.

CREATE TABLE sample_chunks (
  tenant_id int NOT NULL,
  series_id bigint NOT NULL,
  day int NOT NULL, -- UTC day (days since the epoch) of every ts in the row
  seq int NOT NULL, -- compaction pass of this (series, day): 0, then 1… for late writes
  min_ts bigint NOT NULL,
  max_ts bigint NOT NULL,
  n int NOT NULL, -- samples in the row
  ts bytea NOT NULL, -- n int8, big-endian (int8send), ascending milliseconds since the epoch
  vals bytea NOT NULL, -- n float8, big-endian (float8send): the exact bit patterns
  PRIMARY KEY (tenant_id, series_id, day, seq)
);
-- Raw bytes rather than arrays, uncompressed: a read is then a copy, not a per-element conversion and a
-- decompression (measured on bench:analyze's 14-day reads: int8[]/float8[] with the default compression
-- cost PostgreSQL ~0.6 µs per sample to send; 16 bytes per sample on disk against ~120 for a row of
-- samples).
ALTER TABLE sample_chunks ALTER COLUMN ts SET STORAGE EXTERNAL, ALTER COLUMN vals SET STORAGE EXTERNAL;

ALTER TABLE sample_chunks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sample_chunks
  USING (tenant_id = NULLIF(current_setting('trimtab.tenant_id', true), '')::int)
  WITH CHECK (tenant_id = NULLIF(current_setting('trimtab.tenant_id', true), '')::int);
-- Tenants read; only the service (table owner) compacts.
GRANT SELECT ON sample_chunks TO trimtab_tenant;
