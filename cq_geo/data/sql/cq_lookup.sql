-- cq-geo shared store: the lookup in SQL, with the tolerances of the Python engine (cq_geo/engine.py).
-- Placeholders: @S@ schema; in cq_lookup, filled by cq_geo/pgstore.py from the territory file's tiers (quoted
-- with psycopg2.sql, ids checked against [a-z][a-z0-9_]*): TIER_KINDS the tier ids by priority (literals),
-- TIER_COLUMNS the output columns of the locally drawn tiers, TIER_OUTPUTS their assignments, TIER_N, TIER_QPV,
-- TIER_NULLS[1], TIER_ZEROS[1] the tiers' count, the QPV's position and array constants (numbers). Idempotent (run
-- again by init-shared --upgrade). The tiers' tolerances are read from cq_tiers (filled from the file).
--
-- The rules of the Python engine (cq_geo/engine.py), exact: with d the distance from the point to the zone's
-- boundary, « inside » = in the zone and d > edge_m, « boundary » = d <= edge_m, « near » = outside and
-- d <= near_m. cq_lookup_index holds, per zone, its geometry, boundary, tolerances and, for the spatial index,
-- its bounding box grown by near_m (outer_g). It is rebuilt by cq_refresh_lookup_index() in the writer's
-- transaction (after each cq-geo change, and after each statement of a direct edit in QGIS), so a lookup only
-- ever sees committed perimeters.

-- (edge_m, near_m) per geometry status: filled by cq-geo from cq_geo.geo.layers.DEFAULT_TOLERANCES
CREATE TABLE IF NOT EXISTS @S@.cq_tolerances (status text PRIMARY KEY, edge_m double precision NOT NULL,
                                              near_m double precision NOT NULL);

CREATE TABLE IF NOT EXISTS @S@.cq_lookup_index (
    kind text NOT NULL, ord integer NOT NULL, code text NOT NULL, name text NOT NULL DEFAULT '',
    geometry_status text NOT NULL DEFAULT '', edge_m double precision, near_m double precision,
    communes text[] NOT NULL DEFAULT '{}', shared boolean NOT NULL DEFAULT false, missing boolean NOT NULL DEFAULT false,
    geom geometry(Geometry, 2154), outer_g geometry(Geometry, 2154), boundary_g geometry(Geometry, 2154),
    PRIMARY KEY (kind, ord));
-- zones without a perimeter (answers « unknown » in their communes), small: read once per lookup
CREATE TABLE IF NOT EXISTS @S@.cq_missing_zones (kind text NOT NULL, code text NOT NULL, communes text[] NOT NULL,
                                                 shared boolean NOT NULL, PRIMARY KEY (kind, code));
CREATE INDEX IF NOT EXISTS cq_lookup_index_outer_idx ON @S@.cq_lookup_index USING gist (outer_g);
CREATE INDEX IF NOT EXISTS cq_lookup_index_code_idx ON @S@.cq_lookup_index (kind, code);

-- @S@.cq_local_zones (tier, code, status, geom): the perimeters of every tier drawn locally, as one view
-- (made by cq_geo/pgstore.py after tier.sql, from the territory file's tiers)

CREATE OR REPLACE FUNCTION @S@.cq_tolerance(st text, layer_edge double precision, layer_near double precision)
RETURNS double precision[] LANGUAGE sql STABLE AS $$
    -- as cq_geo.geo.layers.LayerInfo: the layer's values, else the defaults of the status (near >= edge)
    SELECT ARRAY[coalesce(layer_edge, t.edge_m), coalesce(layer_near, greatest(t.near_m, coalesce(layer_edge, t.edge_m)))]
    FROM (SELECT coalesce((SELECT edge_m FROM @S@.cq_tolerances WHERE status = st),
                          (SELECT edge_m FROM @S@.cq_tolerances WHERE status = 'approximate')) AS edge_m,
                 coalesce((SELECT near_m FROM @S@.cq_tolerances WHERE status = st),
                          (SELECT near_m FROM @S@.cq_tolerances WHERE status = 'approximate')) AS near_m) t
$$;

-- the tolerances of a zone of tier *tier_id*: the layer's, else the territory file's for the tier, else the status'
CREATE OR REPLACE FUNCTION @S@.cq_tier_tolerance(tier_id text, st text, layer_edge double precision,
                                                 layer_near double precision)
RETURNS double precision[] LANGUAGE sql STABLE AS $$
    SELECT @S@.cq_tolerance(st, coalesce(layer_edge, t.edge_m), coalesce(layer_near, t.near_m))
    FROM (SELECT max(edge_m) AS edge_m, max(near_m) AS near_m FROM @S@.cq_tiers WHERE id = tier_id) t
$$;

-- the same choices as cq_geo.data.store.load_store_territory + cq_geo.territory.Territory
CREATE OR REPLACE FUNCTION @S@.cq_refresh_lookup_index() RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = @S@, public AS $$
DECLARE
    cst text; ce double precision; cn double precision; tol double precision[]; n integer;
    qst text; qe double precision; qn double precision;
BEGIN
    DELETE FROM @S@.cq_lookup_index;
    SELECT coalesce(status, 'missing'), edge_m, near_m INTO cst, ce, cn FROM @S@.cq_layers WHERE layer = 'communes';
    tol := @S@.cq_tolerance(cst, ce, cn);
    INSERT INTO @S@.cq_lookup_index (kind, ord, code, name, geometry_status, edge_m, near_m, communes, geom)
    SELECT 'commune', row_number() OVER (ORDER BY d.ord) - 1, d.insee, d.name, cst, tol[1], tol[2],
           ARRAY[d.insee], c.geom
    FROM @S@.cq_territory_communes d JOIN @S@.communes c ON c.insee = d.insee;
    INSERT INTO @S@.cq_lookup_index (kind, ord, code, geom, edge_m, near_m)
    SELECT 'outline', 0, '', ST_Union(geom), 0, 3000 FROM @S@.cq_lookup_index WHERE kind = 'commune';
    SELECT CASE WHEN status IN ('official', 'validated', 'provisional', 'simplified', 'approximate', 'missing')
                THEN status ELSE 'provisional' END, edge_m, near_m
      INTO qst, qe, qn FROM @S@.cq_layers WHERE layer = 'qpv';
    -- zones of each tier, in the territory file's order; missing ones keep their communes (status unknown)
    INSERT INTO @S@.cq_lookup_index (kind, ord, code, name, geometry_status, edge_m, near_m, communes, shared, missing,
                                     geom)
    SELECT z.tier, row_number() OVER (PARTITION BY z.tier ORDER BY z.ord) - 1, z.code, z.name,
           coalesce(g.st, 'missing'), (g.tol)[1], (g.tol)[2], z.communes, z.shared, g.geom IS NULL, g.geom
    FROM @S@.cq_zones z
    LEFT JOIN LATERAL (
        SELECT q.geom, qst AS st, @S@.cq_tier_tolerance('qpv', qst, qe, qn) AS tol
          FROM @S@.qpv q WHERE z.tier = 'qpv' AND q.code_qp = z.code
        UNION ALL  -- every other tier: its own table (cq_local_zones), its tolerances from cq_tiers
        SELECT l.geom, l.status, @S@.cq_tier_tolerance(z.tier, l.status, NULL, NULL) FROM @S@.cq_local_zones l
         WHERE l.tier = z.tier AND l.code = z.code
        UNION ALL  -- a whole-commune zone without a drawn perimeter: the commune outline
        SELECT c.geom, c.geometry_status, ARRAY[c.edge_m, c.near_m] FROM @S@.cq_lookup_index c
         WHERE z.geometry = 'commune' AND c.kind = 'commune' AND c.code = z.communes[1]
           AND NOT EXISTS (SELECT 1 FROM @S@.qpv q2 WHERE z.tier = 'qpv' AND q2.code_qp = z.code)
           AND NOT EXISTS (SELECT 1 FROM @S@.cq_local_zones l2 WHERE l2.tier = z.tier AND l2.code = z.code)
        LIMIT 1
    ) g ON true
    WHERE z.tier IN (SELECT t.id FROM @S@.cq_tiers t);
    UPDATE @S@.cq_lookup_index SET outer_g = ST_Expand(ST_Envelope(geom), near_m), boundary_g = ST_Boundary(geom)
    WHERE geom IS NOT NULL;
    -- every QPV within the search radius (500 m): the nearest QPV of outside points
    INSERT INTO @S@.cq_lookup_index (kind, ord, code, geom, edge_m, near_m, boundary_g, outer_g)
    SELECT 'qpv_search', ord, code, geom, 0, 500, boundary_g, ST_Expand(ST_Envelope(geom), 500)
    FROM @S@.cq_lookup_index WHERE kind = 'qpv' AND NOT missing;
    DELETE FROM @S@.cq_missing_zones;
    INSERT INTO @S@.cq_missing_zones SELECT kind, code, communes, shared FROM @S@.cq_lookup_index WHERE missing;
    SELECT count(*) INTO n FROM @S@.cq_lookup_index;
    RETURN n;
END $$;

-- statement trigger: direct edits (QGIS) rebuild the index; cq-geo sets cq.batch and rebuilds once per change
CREATE OR REPLACE FUNCTION @S@.cq_refresh_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('cq.batch', true), '') <> 'on' THEN
        PERFORM @S@.cq_refresh_lookup_index();
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['communes', 'qpv', 'cq_layers'] LOOP  -- the tiers' tables: tier.sql
        EXECUTE format('DROP TRIGGER IF EXISTS cq_refresh ON @S@.%I', t);
        EXECUTE format('CREATE TRIGGER cq_refresh AFTER INSERT OR UPDATE OR DELETE ON @S@.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION @S@.cq_refresh_trigger()', t);
    END LOOP;
END $$;

-- status codes as the engine: 0 outside, 1 near, 2 boundary, 3 inside, 4 unknown
CREATE OR REPLACE FUNCTION @S@.cq_status_name(s integer) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT (ARRAY['outside', 'near', 'boundary', 'inside', 'unknown'])[s + 1]
$$;

DROP FUNCTION IF EXISTS @S@.cq_best(text, geometry);
DROP FUNCTION IF EXISTS @S@.cq_pairs(text, geometry);

-- The answer for one point (any SRID; Lambert-93 metres are used as is):
--   tier, zone_code, status: the zone that applies (the tier of highest priority in the territory file whose
--     status is inside/boundary) and its status; when none applies, tier is NULL and zone_code/status/distance_m
--     are those of the nearest QPV (near, outside within 500 m; unknown where a QPV perimeter is missing);
--   distance_m: to that zone's edge; team: the territorial team of the commune (NULL outside the territory);
--   qpv_code, qpv_status, qpv_distance_m, then <tier>_code, <tier>_status for every other tier of the file
--     (poche_code, poche_status, qva_code, qva_status for the CAPH), by priority.
-- Local variables start with « _ » (tier ids start with a letter: no clash with an output column).
CREATE OR REPLACE FUNCTION @S@.cq_lookup(pt geometry)
RETURNS TABLE (tier text, zone_code text, status text, distance_m double precision, team text,
               commune_insee text, commune_status text,
               qpv_code text, qpv_status text, qpv_distance_m double precision@TIER_COLUMNS@)
LANGUAGE plpgsql STABLE SET search_path = @S@, public AS $$
DECLARE
    _p geometry; _r record; _sc integer; _k integer;
    -- kind of each slot: 1 commune, then the tiers by priority
    _kinds text[] := ARRAY['commune', @TIER_KINDS@];
    _n integer := @TIER_N@;  -- number of tiers
    _qi integer := @TIER_QPV@;  -- the regulatory tier's position among the tiers
    -- best zone per kind: score = status * 2 + in_zone, ties to the lower ord
    _best_code text[] := ARRAY[@TIER_NULLS1@]::text[]; _best_score integer[] := ARRAY[@TIER_ZEROS1@];
    _best_ord integer[] := ARRAY[@TIER_NULLS1@]::integer[];
    _com_pairs text[] := '{}'; _near_outline boolean := false; _search_codes text[] := '{}';
    _in_terr boolean; _cst integer; _possible text[] := '{}'; _unk text[];
    _codes text[] := ARRAY[@TIER_NULLS@]::text[]; _sts integer[] := ARRAY[@TIER_ZEROS@]; _qdist double precision;
    _nq record;
BEGIN
    _p := CASE WHEN ST_SRID(pt) = 2154 THEN pt WHEN ST_SRID(pt) = 0 THEN ST_SetSRID(pt, 2154)
               ELSE ST_Transform(pt, 2154) END;
    -- one index scan: every zone whose tolerance band holds the point
    FOR _r IN SELECT c.kind, c.ord, c.code, c.inz,
                     CASE WHEN c.kind IN ('outline', 'qpv_search') THEN CASE WHEN c.d <= c.near_m THEN 1 ELSE 0 END
                          WHEN c.inz AND c.d > c.edge_m THEN 3 WHEN c.d <= c.edge_m THEN 2
                          WHEN NOT c.inz AND c.d <= c.near_m THEN 1 ELSE 0 END AS st
              FROM (SELECT i.kind, i.ord, i.code, i.edge_m, i.near_m, ST_Intersects(i.geom, _p) AS inz,
                           CASE WHEN i.kind = 'outline' AND ST_Intersects(i.geom, _p) THEN 0
                                ELSE ST_Distance(i.boundary_g, _p) END AS d
                    FROM @S@.cq_lookup_index i WHERE ST_Intersects(i.outer_g, _p) AND NOT i.missing) c LOOP
        IF _r.st = 0 THEN
            CONTINUE;
        END IF;
        IF _r.kind = 'outline' THEN
            _near_outline := true;
            CONTINUE;
        ELSIF _r.kind = 'qpv_search' THEN
            IF NOT _r.inz THEN
                _search_codes := _search_codes || _r.code;
            END IF;
            CONTINUE;
        END IF;
        _k := array_position(_kinds, _r.kind);
        IF _k IS NULL THEN
            CONTINUE;  -- a tier no longer declared by the territory file
        END IF;
        _sc := _r.st * 2 + _r.inz::integer;
        IF _k = 1 AND _r.st >= 2 THEN
            _com_pairs := _com_pairs || _r.code;
        END IF;
        IF _sc > _best_score[_k] OR (_sc = _best_score[_k] AND _r.ord < _best_ord[_k]) THEN
            _best_score[_k] := _sc; _best_code[_k] := _r.code; _best_ord[_k] := _r.ord;
        END IF;
    END LOOP;
    _cst := _best_score[1] / 2;
    _in_terr := _cst >= 2;
    commune_status := @S@.cq_status_name(_cst);
    IF _in_terr THEN
        commune_insee := _best_code[1];
        _possible := ARRAY[_best_code[1]];
        SELECT nullif(d.team, '') INTO team FROM @S@.cq_territory_communes d WHERE d.insee = _best_code[1];
    END IF;
    IF _cst IN (1, 2) THEN  -- near a commune limit: the neighbours within tolerance too
        _possible := _possible || _com_pairs;
    END IF;
    -- tiers with a zone without perimeter in a commune the point may be in (or shared with a neighbour)
    SELECT array_agg(m.kind) INTO _unk FROM @S@.cq_missing_zones m
     WHERE m.communes && _possible OR (m.shared AND NOT _in_terr AND _near_outline);
    FOR _k IN 1.._n LOOP
        _sts[_k] := _best_score[_k + 1] / 2;
        _codes[_k] := _best_code[_k + 1];
        IF _sts[_k] < 2 AND _kinds[_k + 1] = ANY(coalesce(_unk, '{}')) THEN
            _sts[_k] := 4; _codes[_k] := NULL;
        END IF;
    END LOOP;
    -- QPV distance: to the edge of its QPV, else of the nearest QPV within 500 m
    IF _codes[_qi] IS NOT NULL THEN
        SELECT ST_Distance(i.boundary_g, _p) INTO _qdist FROM @S@.cq_lookup_index i
         WHERE i.kind = 'qpv' AND i.code = _codes[_qi];
    ELSIF _sts[_qi] = 0 AND cardinality(_search_codes) > 0 THEN
        SELECT i.code, ST_Distance(i.boundary_g, _p) AS d INTO _nq FROM @S@.cq_lookup_index i
         WHERE i.kind = 'qpv' AND i.code = ANY(_search_codes) ORDER BY 2, i.ord LIMIT 1;
        IF _nq.d IS NOT NULL AND _nq.d <= 500 THEN
            _codes[_qi] := _nq.code;
            _qdist := _nq.d;
        END IF;
    END IF;
    qpv_code := _codes[_qi]; qpv_status := @S@.cq_status_name(_sts[_qi]); qpv_distance_m := _qdist;
@TIER_OUTPUTS@
    FOR _k IN 1.._n LOOP  -- by priority: the first tier whose zone holds the point
        IF _sts[_k] IN (2, 3) THEN
            tier := _kinds[_k + 1];
            zone_code := _codes[_k];
            status := @S@.cq_status_name(_sts[_k]);
            distance_m := CASE WHEN _k = _qi THEN _qdist ELSE
                (SELECT ST_Distance(i.boundary_g, _p) FROM @S@.cq_lookup_index i
                  WHERE i.kind = _kinds[_k + 1] AND i.code = _codes[_k])
                END;
            RETURN NEXT;
            RETURN;
        END IF;
    END LOOP;
    status := qpv_status;
    distance_m := _qdist;
    zone_code := _codes[_qi];  -- no zone applies: the nearest QPV (near, or outside within 500 m), if any
    RETURN NEXT;
END $$;

GRANT SELECT ON @S@.cq_tolerances, @S@.cq_lookup_index, @S@.cq_missing_zones, @S@.cq_tiers TO @R@;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA @S@ TO @R@;
