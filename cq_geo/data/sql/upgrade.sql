-- cq-geo shared store: migrations of older schemas (run by init-shared, idempotent). Placeholder @S@.
-- version 0 (before history kept the database account and the changed row's id)
ALTER TABLE @S@.history ADD COLUMN IF NOT EXISTS db_user text NOT NULL DEFAULT session_user;
ALTER TABLE @S@.history ADD COLUMN IF NOT EXISTS row_fid integer;
ALTER TABLE @S@.cq_change ADD COLUMN IF NOT EXISTS db_user text NOT NULL DEFAULT session_user;
