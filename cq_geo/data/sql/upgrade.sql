-- cq-geo shared store: migrations of older schemas (run by init-shared, idempotent). Placeholder @S@.
-- version 0 (before history kept the database account and the changed row's id)
ALTER TABLE @S@.history ADD COLUMN IF NOT EXISTS db_user text NOT NULL DEFAULT session_user;
ALTER TABLE @S@.history ADD COLUMN IF NOT EXISTS row_fid integer;
ALTER TABLE @S@.cq_change ADD COLUMN IF NOT EXISTS db_user text NOT NULL DEFAULT session_user;
-- version 1 (tiers fixed in the SQL: qpv, poche, qva) → 2 (tiers from the territory file): nothing to alter here;
-- cq_tiers comes from shared_schema.sql, each tier's table, constraints, triggers and grants from tier.sql (an
-- existing poche/qva table is kept as it is), the cq_local_zones view and cq_lookup's columns from cq_geo/pgstore.py.
