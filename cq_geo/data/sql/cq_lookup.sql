-- cq-geo shared store: the lookup in SQL, with the tolerances of the Python engine (cq_geo/engine.py).
-- Placeholders: @S@ schema. Idempotent (run again by init-shared --upgrade).
--
-- The rules of the Python engine (cq_geo/engine.py), exact: with d the distance from the point to the zone's
-- boundary, « inside » = in the zone and d > edge_m, « boundary » = d <= edge_m, « near » = outside and
-- d <= near_m. cq_lookup_index holds, per zone, its geometry, boundary, tolerances and, for the spatial index,
-- its bounding box grown by near_m (outer_g). It is rebuilt by cq_refresh_lookup_index() in the writer's
-- transaction (after each cq-geo change, and after each statement of a direct edit in QGIS), so a lookup only
-- ever sees committed perimeters.

-- (edge_m, near_m) per geometry status: filled by cq-geo from cq_geo.layers.DEFAULT_TOLERANCES
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

CREATE OR REPLACE FUNCTION @S@.cq_tolerance(st text, layer_edge double precision, layer_near double precision)
RETURNS double precision[] LANGUAGE sql STABLE AS $$
    -- as cq_geo.layers.LayerInfo: the layer's values, else the defaults of the status (near >= edge)
    SELECT ARRAY[coalesce(layer_edge, t.edge_m), coalesce(layer_near, greatest(t.near_m, coalesce(layer_edge, t.edge_m)))]
    FROM (SELECT coalesce((SELECT edge_m FROM @S@.cq_tolerances WHERE status = st),
                          (SELECT edge_m FROM @S@.cq_tolerances WHERE status = 'approximate')) AS edge_m,
                 coalesce((SELECT near_m FROM @S@.cq_tolerances WHERE status = st),
                          (SELECT near_m FROM @S@.cq_tolerances WHERE status = 'approximate')) AS near_m) t
$$;

-- the same choices as cq_geo.store.load_store_territory + cq_geo.territory.Territory
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
        SELECT q.geom, qst AS st, @S@.cq_tolerance(qst, qe, qn) AS tol
          FROM @S@.qpv q WHERE z.tier = 'qpv' AND q.code_qp = z.code
        UNION ALL
        SELECT p.geom, p.status, @S@.cq_tolerance(p.status, NULL, NULL) FROM @S@.poche p
         WHERE z.tier = 'poche' AND p.code = z.code
        UNION ALL
        SELECT v.geom, v.status, @S@.cq_tolerance(v.status, NULL, NULL) FROM @S@.qva v
         WHERE z.tier = 'qva' AND v.code = z.code
        UNION ALL  -- a whole-commune zone without a drawn perimeter: the commune outline
        SELECT c.geom, c.geometry_status, ARRAY[c.edge_m, c.near_m] FROM @S@.cq_lookup_index c
         WHERE z.geometry = 'commune' AND c.kind = 'commune' AND c.code = z.communes[1]
           AND NOT EXISTS (SELECT 1 FROM @S@.qpv WHERE z.tier = 'qpv' AND code_qp = z.code)
           AND NOT EXISTS (SELECT 1 FROM @S@.poche WHERE z.tier = 'poche' AND code = z.code)
           AND NOT EXISTS (SELECT 1 FROM @S@.qva WHERE z.tier = 'qva' AND code = z.code)
        LIMIT 1
    ) g ON true
    WHERE z.tier IN ('qpv', 'poche', 'qva');
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
    FOREACH t IN ARRAY ARRAY['communes', 'qpv', 'poche', 'qva', 'cq_layers'] LOOP
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
--   tier, zone_code, status: the zone that applies (priority qpv > poche > qva) and its status
--     (inside/boundary); when none applies, tier is NULL and zone_code/status/distance_m are those of the
--     nearest QPV (near, outside within 500 m; unknown where a QPV perimeter is missing);
--   distance_m: to that zone's edge; team: the territorial team of the commune (NULL outside the territory).
CREATE OR REPLACE FUNCTION @S@.cq_lookup(pt geometry)
RETURNS TABLE (tier text, zone_code text, status text, distance_m double precision, team text,
               commune_insee text, commune_status text,
               qpv_code text, qpv_status text, qpv_distance_m double precision,
               poche_code text, poche_status text, qva_code text, qva_status text)
LANGUAGE plpgsql STABLE SET search_path = @S@, public AS $$
DECLARE
    p geometry; r record; sc integer; k integer; kinds text[] := ARRAY['commune', 'qpv', 'poche', 'qva'];
    -- best zone per kind (1 commune, 2 qpv, 3 poche, 4 qva): score = status * 2 + in_zone, ties to the lower ord
    best_code text[] := ARRAY[NULL, NULL, NULL, NULL]; best_score integer[] := ARRAY[0, 0, 0, 0];
    best_ord integer[] := ARRAY[NULL, NULL, NULL, NULL]::integer[];
    com_pairs text[] := '{}'; near_outline boolean := false; search_codes text[] := '{}';
    in_terr boolean; cst integer; possible text[] := '{}'; unk text[];
    codes text[] := ARRAY[NULL, NULL, NULL]; sts integer[] := ARRAY[0, 0, 0]; qdist double precision; nq record;
BEGIN
    p := CASE WHEN ST_SRID(pt) = 2154 THEN pt WHEN ST_SRID(pt) = 0 THEN ST_SetSRID(pt, 2154)
              ELSE ST_Transform(pt, 2154) END;
    -- one index scan: every zone whose tolerance band holds the point
    FOR r IN SELECT c.kind, c.ord, c.code, c.inz,
                    CASE WHEN c.kind IN ('outline', 'qpv_search') THEN CASE WHEN c.d <= c.near_m THEN 1 ELSE 0 END
                         WHEN c.inz AND c.d > c.edge_m THEN 3 WHEN c.d <= c.edge_m THEN 2
                         WHEN NOT c.inz AND c.d <= c.near_m THEN 1 ELSE 0 END AS st
             FROM (SELECT i.kind, i.ord, i.code, i.edge_m, i.near_m, ST_Intersects(i.geom, p) AS inz,
                          CASE WHEN i.kind = 'outline' AND ST_Intersects(i.geom, p) THEN 0
                               ELSE ST_Distance(i.boundary_g, p) END AS d
                   FROM @S@.cq_lookup_index i WHERE ST_Intersects(i.outer_g, p) AND NOT i.missing) c LOOP
        IF r.st = 0 THEN
            CONTINUE;
        END IF;
        IF r.kind = 'outline' THEN
            near_outline := true;
            CONTINUE;
        ELSIF r.kind = 'qpv_search' THEN
            IF NOT r.inz THEN
                search_codes := search_codes || r.code;
            END IF;
            CONTINUE;
        END IF;
        k := array_position(kinds, r.kind);
        sc := r.st * 2 + r.inz::integer;
        IF k = 1 AND r.st >= 2 THEN
            com_pairs := com_pairs || r.code;
        END IF;
        IF sc > best_score[k] OR (sc = best_score[k] AND r.ord < best_ord[k]) THEN
            best_score[k] := sc; best_code[k] := r.code; best_ord[k] := r.ord;
        END IF;
    END LOOP;
    cst := best_score[1] / 2;
    in_terr := cst >= 2;
    commune_status := @S@.cq_status_name(cst);
    IF in_terr THEN
        commune_insee := best_code[1];
        possible := ARRAY[best_code[1]];
        SELECT nullif(d.team, '') INTO team FROM @S@.cq_territory_communes d WHERE d.insee = best_code[1];
    END IF;
    IF cst IN (1, 2) THEN  -- near a commune limit: the neighbours within tolerance too
        possible := possible || com_pairs;
    END IF;
    -- tiers with a zone without perimeter in a commune the point may be in (or shared with a neighbour)
    SELECT array_agg(m.kind) INTO unk FROM @S@.cq_missing_zones m
     WHERE m.communes && possible OR (m.shared AND NOT in_terr AND near_outline);
    FOR k IN 1..3 LOOP
        sts[k] := best_score[k + 1] / 2;
        codes[k] := best_code[k + 1];
        IF sts[k] < 2 AND kinds[k + 1] = ANY(coalesce(unk, '{}')) THEN
            sts[k] := 4; codes[k] := NULL;
        END IF;
    END LOOP;
    -- QPV distance: to the edge of its QPV, else of the nearest QPV within 500 m
    IF codes[1] IS NOT NULL THEN
        SELECT ST_Distance(i.boundary_g, p) INTO qdist FROM @S@.cq_lookup_index i WHERE i.kind = 'qpv' AND i.code = codes[1];
    ELSIF sts[1] = 0 AND cardinality(search_codes) > 0 THEN
        SELECT i.code, ST_Distance(i.boundary_g, p) AS d INTO nq FROM @S@.cq_lookup_index i
         WHERE i.kind = 'qpv' AND i.code = ANY(search_codes) ORDER BY 2, i.ord LIMIT 1;
        IF nq.d IS NOT NULL AND nq.d <= 500 THEN
            codes[1] := nq.code;
            qdist := nq.d;
        END IF;
    END IF;
    qpv_code := codes[1]; qpv_status := @S@.cq_status_name(sts[1]); qpv_distance_m := qdist;
    poche_code := codes[2]; poche_status := @S@.cq_status_name(sts[2]);
    qva_code := codes[3]; qva_status := @S@.cq_status_name(sts[3]);
    FOR k IN 1..3 LOOP
        IF sts[k] IN (2, 3) THEN
            tier := kinds[k + 1];
            zone_code := codes[k];
            status := @S@.cq_status_name(sts[k]);
            distance_m := CASE WHEN k = 1 THEN qdist ELSE
                (SELECT ST_Distance(i.boundary_g, p) FROM @S@.cq_lookup_index i WHERE i.kind = tier AND i.code = zone_code)
                END;
            RETURN NEXT;
            RETURN;
        END IF;
    END LOOP;
    status := qpv_status;
    distance_m := qdist;
    zone_code := codes[1];  -- no zone applies: the nearest QPV (near, or outside within 500 m), if any
    RETURN NEXT;
END $$;

GRANT SELECT ON @S@.cq_tolerances, @S@.cq_lookup_index, @S@.cq_missing_zones TO @R@;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA @S@ TO @R@;
