-- cq-geo shared store: the table of ONE tier drawn locally (poche, qva, or any tier the territory file adds).
-- Run by cq-geo data init-shared (and --upgrade) once per such tier of the territory file, after
-- shared_schema.sql and cq_lookup.sql; idempotent. A template of psycopg2.sql (cq_geo/pgstore.py fills it):
-- {schema} {table} {geom_valid} {zone_of_tier} {geom_idx} {readers} {editors} are quoted identifiers,
-- {tier} the tier id as a quoted literal. Tier ids are checked ([a-z][a-z0-9_]{{0,19}}) before.

CREATE TABLE IF NOT EXISTS {schema}.{table} (
    fid serial PRIMARY KEY, geom geometry(MultiPolygon, 2154) NOT NULL,
    code text NOT NULL UNIQUE, tier text NOT NULL DEFAULT {tier} CHECK (tier = {tier}),
    name text NOT NULL DEFAULT '', status text NOT NULL DEFAULT 'provisional' CHECK (status IN ('provisional', 'validated')),
    communes text NOT NULL DEFAULT '', source text NOT NULL DEFAULT '', sha256 text NOT NULL DEFAULT '',
    imported_at text NOT NULL DEFAULT '', validated_by text NOT NULL DEFAULT '', validated_at text NOT NULL DEFAULT '',
    overlap_accepted integer NOT NULL DEFAULT 0,
    CONSTRAINT {geom_valid} CHECK (ST_IsValid(geom)),
    CONSTRAINT {zone_of_tier} FOREIGN KEY (code, tier) REFERENCES {schema}.cq_zones (code, tier));

CREATE INDEX IF NOT EXISTS {geom_idx} ON {schema}.{table} USING gist (geom);

-- every change in the history; an edited perimeter back to « provisoire »; direct edits rebuild the lookup index
DROP TRIGGER IF EXISTS cq_history ON {schema}.{table};
CREATE TRIGGER cq_history AFTER INSERT OR UPDATE OR DELETE ON {schema}.{table}
    FOR EACH ROW EXECUTE FUNCTION {schema}.cq_history_trigger();
DROP TRIGGER IF EXISTS cq_local_zone ON {schema}.{table};
CREATE TRIGGER cq_local_zone BEFORE INSERT OR UPDATE ON {schema}.{table}
    FOR EACH ROW EXECUTE FUNCTION {schema}.cq_local_zone_trigger();
DROP TRIGGER IF EXISTS cq_refresh ON {schema}.{table};
CREATE TRIGGER cq_refresh AFTER INSERT OR UPDATE OR DELETE ON {schema}.{table}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.cq_refresh_trigger();

-- readers read it, editors draw in it (the history stays the trigger's)
GRANT SELECT ON {schema}.{table} TO {readers};
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {schema}.{table} FROM {readers};
GRANT INSERT, UPDATE, DELETE ON {schema}.{table} TO {editors};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {editors};
