-- cq-geo shared store (PostGIS): schema @S@, created by `cq-geo data init-shared`.
-- Every statement is idempotent (IF NOT EXISTS / OR REPLACE): the file is run again by --upgrade.
-- Placeholders: @S@ schema, @R@ readers' role, @E@ editors' role.
-- Nothing here names a tier but the regulatory « qpv »: the tables, triggers and grants of the tiers drawn
-- locally (poche, qva, any tier the territory file adds) come from tier.sql, one run per tier (cq_geo/pgstore.py).

CREATE SCHEMA IF NOT EXISTS @S@;

CREATE TABLE IF NOT EXISTS @S@.cq_schema (key text PRIMARY KEY, value text NOT NULL);

-- the territory file's tiers (priority 1 = strongest; tolerances in metres, NULL: those of the geometry status)
CREATE TABLE IF NOT EXISTS @S@.cq_tiers (
    id text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_]{0,19}$'), label text NOT NULL DEFAULT '',
    priority integer NOT NULL, regulatory boolean NOT NULL DEFAULT false,
    edge_m double precision CHECK (edge_m >= 0), near_m double precision CHECK (near_m >= 0),
    teams boolean NOT NULL DEFAULT true, layer text NOT NULL,
    CONSTRAINT cq_tiers_priority_unique UNIQUE (priority) DEFERRABLE INITIALLY DEFERRED);

-- the territory file's zones and communes (tier of each zone code; team of each commune)
CREATE TABLE IF NOT EXISTS @S@.cq_zones (
    code text PRIMARY KEY, tier text NOT NULL, name text NOT NULL DEFAULT '', geometry text NOT NULL,
    communes text[] NOT NULL DEFAULT '{}', shared boolean NOT NULL DEFAULT false, ord integer NOT NULL DEFAULT 0,
    UNIQUE (code, tier));
CREATE TABLE IF NOT EXISTS @S@.cq_territory_communes (
    insee text PRIMARY KEY, name text NOT NULL DEFAULT '', team text NOT NULL DEFAULT '', ord integer NOT NULL DEFAULT 0);

-- provenance and status of each layer (as the GeoPackage's cq_layers)
CREATE TABLE IF NOT EXISTS @S@.cq_layers (
    fid serial PRIMARY KEY, layer text NOT NULL UNIQUE, source text, publisher text, licence text, vintage text,
    sha256 text, imported_at text,
    status text NOT NULL DEFAULT 'missing'
        CHECK (status IN ('official', 'validated', 'provisional', 'approximate', 'simplified', 'missing')),
    feature_count integer NOT NULL DEFAULT 0, edge_m double precision, near_m double precision, note text);

-- spatial layers: valid MultiPolygons in Lambert-93 (the typmod refuses any other SRID)
CREATE TABLE IF NOT EXISTS @S@.communes (
    fid serial PRIMARY KEY, geom geometry(MultiPolygon, 2154) NOT NULL,
    insee text NOT NULL UNIQUE, name text NOT NULL DEFAULT '',
    CONSTRAINT communes_geom_valid CHECK (ST_IsValid(geom)));
CREATE TABLE IF NOT EXISTS @S@.qpv (
    fid serial PRIMARY KEY, geom geometry(MultiPolygon, 2154) NOT NULL,
    code_qp text NOT NULL UNIQUE, lib_qp text NOT NULL DEFAULT '', insee_com text NOT NULL DEFAULT '',
    insee_territory text NOT NULL DEFAULT '', shared integer NOT NULL DEFAULT 0, repaired integer NOT NULL DEFAULT 0,
    CONSTRAINT qpv_geom_valid CHECK (ST_IsValid(geom)));
CREATE TABLE IF NOT EXISTS @S@.qpv2015 (
    fid serial PRIMARY KEY, geom geometry(MultiPolygon, 2154) NOT NULL,
    code_qp text NOT NULL UNIQUE, lib_qp text NOT NULL DEFAULT '', insee_com text NOT NULL DEFAULT '',
    insee_territory text NOT NULL DEFAULT '', shared integer NOT NULL DEFAULT 0, repaired integer NOT NULL DEFAULT 0,
    CONSTRAINT qpv2015_geom_valid CHECK (ST_IsValid(geom)));
-- one row per change (transaction): what, who
CREATE TABLE IF NOT EXISTS @S@.cq_change (
    txid bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), author text NOT NULL DEFAULT '',
    db_user text NOT NULL DEFAULT session_user, description text NOT NULL DEFAULT '');

-- every insert/update/delete of a layer or of cq_layers (trigger below): before/after row and geometry
CREATE TABLE IF NOT EXISTS @S@.history (
    fid bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), txid bigint NOT NULL DEFAULT txid_current(),
    layer text NOT NULL, code text NOT NULL DEFAULT '', action text NOT NULL, status text NOT NULL DEFAULT '',
    author text NOT NULL DEFAULT '', db_user text NOT NULL DEFAULT session_user, source text NOT NULL DEFAULT '',
    sha256 text NOT NULL DEFAULT '', row_fid integer,
    before_row jsonb, after_row jsonb,
    geom_before geometry(MultiPolygon, 2154), geom geometry(MultiPolygon, 2154));

CREATE INDEX IF NOT EXISTS communes_geom_idx ON @S@.communes USING gist (geom);
CREATE INDEX IF NOT EXISTS qpv_geom_idx ON @S@.qpv USING gist (geom);
CREATE INDEX IF NOT EXISTS qpv2015_geom_idx ON @S@.qpv2015 USING gist (geom);
CREATE INDEX IF NOT EXISTS history_code_idx ON @S@.history (code);
CREATE INDEX IF NOT EXISTS history_txid_idx ON @S@.history (txid);

-- the zone of a row, whatever the layer
CREATE OR REPLACE FUNCTION @S@.cq_row_code(layer text, r jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(r ->> CASE layer WHEN 'communes' THEN 'insee' WHEN 'qpv' THEN 'code_qp'
                                      WHEN 'qpv2015' THEN 'code_qp' WHEN 'cq_layers' THEN 'layer' ELSE 'code' END, '')
$$;

-- history trigger: one row per changed row; geometry kept as hex EWKB in the row copies (for rollback)
CREATE OR REPLACE FUNCTION @S@.cq_history_trigger() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = @S@, public AS $$
DECLARE
    b jsonb; a jsonb; act text; st text; g_b geometry; g_a geometry; who text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        b := to_jsonb(OLD);
        IF TG_TABLE_NAME <> 'cq_layers' THEN
            g_b := OLD.geom; b := b || jsonb_build_object('geom', encode(ST_AsEWKB(OLD.geom), 'hex'));
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        a := to_jsonb(NEW);
        IF TG_TABLE_NAME <> 'cq_layers' THEN
            g_a := NEW.geom; a := a || jsonb_build_object('geom', encode(ST_AsEWKB(NEW.geom), 'hex'));
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND a = b THEN
        RETURN NULL;
    END IF;
    act := CASE TG_OP WHEN 'INSERT' THEN 'add' WHEN 'DELETE' THEN 'remove' ELSE 'replace' END;
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME <> 'cq_layers' AND ST_Equals(g_a, g_b) THEN
        act := CASE WHEN a ->> 'status' = 'validated' AND b ->> 'status' IS DISTINCT FROM 'validated'
                    THEN 'validate' ELSE 'attributes' END;
    END IF;
    IF coalesce(current_setting('cq.restoring', true), '') = 'on' THEN
        act := 'rollback-' || act;
    END IF;
    st := coalesce(a ->> 'status', b ->> 'status', '');
    who := coalesce(nullif(current_setting('cq.author', true), ''), session_user);
    INSERT INTO @S@.history (layer, code, action, status, author, source, sha256, row_fid, before_row, after_row,
                             geom_before, geom)
    VALUES (TG_TABLE_NAME, @S@.cq_row_code(TG_TABLE_NAME, coalesce(a, b)), act, st, who,
            coalesce(a ->> 'source', b ->> 'source', ''), coalesce(a ->> 'sha256', b ->> 'sha256', ''),
            coalesce((a ->> 'fid')::integer, (b ->> 'fid')::integer), b, a, g_b, g_a);
    INSERT INTO @S@.cq_change (txid, author, description)
    VALUES (txid_current(), who, coalesce(nullif(current_setting('cq.description', true), ''),
                                          'modification directe (QGIS ou SQL)'))
    ON CONFLICT (txid) DO NOTHING;
    RETURN NULL;
END $$;

-- local zones (every tier but qpv): an edited perimeter goes back to « provisoire »; only validate-zone validates;
-- a zone stays within the territory (communes grown by their edge tolerance)
CREATE OR REPLACE FUNCTION @S@.cq_local_zone_trigger() RETURNS trigger LANGUAGE plpgsql
SET search_path = @S@, public AS $$
DECLARE
    tol double precision; outline geometry;
BEGIN
    IF coalesce(current_setting('cq.restoring', true), '') = 'on' THEN
        RETURN NEW;
    END IF;
    IF NOT ST_IsValid(NEW.geom) THEN
        RETURN NEW;  -- the CHECK constraint refuses it, with its name
    END IF;
    IF TG_OP = 'INSERT' OR NOT ST_Equals(NEW.geom, OLD.geom) THEN
        NEW.status := 'provisional'; NEW.validated_by := ''; NEW.validated_at := '';
        SELECT greatest(coalesce(edge_m, 100), 10) INTO tol FROM @S@.cq_layers WHERE layer = 'communes';
        SELECT ST_Union(geom) INTO outline FROM @S@.communes;
        IF outline IS NOT NULL AND NOT ST_CoveredBy(NEW.geom, ST_Buffer(outline, coalesce(tol, 100))) THEN
            RAISE EXCEPTION 'la zone % sort du territoire (au-delà de % m des contours communaux)',
                NEW.code, coalesce(tol, 100) USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NEW.status = 'validated' AND OLD.status IS DISTINCT FROM 'validated'
          AND coalesce(current_setting('cq.validating', true), '') <> 'on' THEN
        RAISE EXCEPTION 'la zone % se valide avec cq-geo data validate-zone % --by NOM', NEW.code, NEW.code
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['communes', 'qpv', 'qpv2015', 'cq_layers'] LOOP  -- the tiers' tables: tier.sql
        EXECUTE format('DROP TRIGGER IF EXISTS cq_history ON @S@.%I', t);
        EXECUTE format('CREATE TRIGGER cq_history AFTER INSERT OR UPDATE OR DELETE ON @S@.%I '
                       'FOR EACH ROW EXECUTE FUNCTION @S@.cq_history_trigger()', t);
    END LOOP;
END $$;

-- undo every recorded row change after history row `target` (newest first), in the caller's transaction
CREATE OR REPLACE FUNCTION @S@.cq_undo_after(target bigint) RETURNS integer LANGUAGE plpgsql
SET search_path = @S@, public AS $$
DECLARE
    h record; n integer := 0;
BEGIN
    PERFORM set_config('cq.restoring', 'on', true);
    FOR h IN SELECT * FROM @S@.history WHERE fid > target ORDER BY fid DESC LOOP
        IF h.after_row IS NOT NULL THEN
            EXECUTE format('DELETE FROM @S@.%I WHERE fid = $1', h.layer) USING h.row_fid;
        END IF;
        IF h.before_row IS NOT NULL THEN
            EXECUTE format('INSERT INTO @S@.%I SELECT * FROM jsonb_populate_record(NULL::@S@.%I, $1)',
                           h.layer, h.layer) USING h.before_row;
        END IF;
        n := n + 1;
    END LOOP;
    PERFORM set_config('cq.restoring', '', true);
    RETURN n;
END $$;

-- roles: readers (answers, maps) and editors (imports, drawing, validation)
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '@R@') THEN
        CREATE ROLE @R@ NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '@E@') THEN
        CREATE ROLE @E@ NOLOGIN;
    END IF;
END $$;
GRANT @R@ TO @E@;
GRANT USAGE ON SCHEMA @S@ TO @R@;
GRANT SELECT ON ALL TABLES IN SCHEMA @S@ TO @R@;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA @S@ FROM @R@;
GRANT INSERT, UPDATE, DELETE ON @S@.communes, @S@.qpv, @S@.qpv2015, @S@.cq_layers TO @E@;  -- tiers: tier.sql
-- the history is written by the trigger (SECURITY DEFINER) only: nobody but the owner rewrites it
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON @S@.history, @S@.cq_change FROM @E@;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA @S@ TO @E@;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA @S@ TO @R@;
