-- cq-geo shared store: the lookup in SQL, with the tolerances of the Python engine (cq_geo/engine.py).
-- Placeholders: @S@ schema. Idempotent (run again by init-shared --upgrade).
--
-- cq_lookup_index holds, per zone, the polygons the Python engine builds (cq_geo.engine.ZoneIndex): the zone,
-- shrunk by edge_m (inner), grown by edge_m (edge) and by near_m (outer), buffers with 8 segments per quarter
-- circle. It is rebuilt by cq_refresh_lookup_index() in the writer's transaction (after each cq-geo change, and
-- after each statement of a direct edit in QGIS), so a lookup only ever sees committed perimeters.

-- (edge_m, near_m) per geometry status: filled by cq-geo from cq_geo.layers.DEFAULT_TOLERANCES
CREATE TABLE IF NOT EXISTS @S@.cq_tolerances (status text PRIMARY KEY, edge_m double precision NOT NULL,
                                              near_m double precision NOT NULL);

CREATE TABLE IF NOT EXISTS @S@.cq_lookup_index (
    kind text NOT NULL, ord integer NOT NULL, code text NOT NULL, name text NOT NULL DEFAULT '',
    geometry_status text NOT NULL DEFAULT '', edge_m double precision, near_m double precision,
    communes text[] NOT NULL DEFAULT '{}', shared boolean NOT NULL DEFAULT false, missing boolean NOT NULL DEFAULT false,
    geom geometry(Geometry, 2154), inner_g geometry(Geometry, 2154), edge_g geometry(Geometry, 2154),
    outer_g geometry(Geometry, 2154), boundary_g geometry(Geometry, 2154),
    PRIMARY KEY (kind, ord));
CREATE INDEX IF NOT EXISTS cq_lookup_index_outer_idx ON @S@.cq_lookup_index USING gist (outer_g);

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
    UPDATE @S@.cq_lookup_index SET
        inner_g = CASE WHEN edge_m > 0 THEN ST_Buffer(geom, -edge_m, 'quad_segs=8') ELSE ST_Buffer(geom, 0, 'quad_segs=8') END,
        edge_g = ST_Buffer(geom, edge_m, 'quad_segs=8'),
        outer_g = ST_Buffer(geom, near_m, 'quad_segs=8'),
        boundary_g = ST_Boundary(geom)
    WHERE geom IS NOT NULL;
    -- every QPV grown by the search radius (500 m): the nearest QPV of outside points
    INSERT INTO @S@.cq_lookup_index (kind, ord, code, geom, edge_m, near_m, boundary_g, outer_g, inner_g, edge_g)
    SELECT 'qpv_search', ord, code, geom, 0, 500, boundary_g, ST_Buffer(geom, 500, 'quad_segs=8'), inner_g, edge_g
    FROM @S@.cq_lookup_index WHERE kind = 'qpv' AND NOT missing;
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

-- every zone of *k* closer than its near_m to p: (ord, code, status, in_zone)
CREATE OR REPLACE FUNCTION @S@.cq_pairs(k text, p geometry)
RETURNS TABLE (ord integer, code text, status integer, in_zone boolean) LANGUAGE sql STABLE AS $$
    SELECT i.ord, i.code,
           CASE WHEN ST_Intersects(i.inner_g, p) AND ST_Contains(i.inner_g, p) THEN 3
                WHEN ST_Intersects(i.edge_g, p) THEN 2 ELSE 1 END,
           ST_Contains(i.inner_g, p) OR ST_Intersects(i.geom, p)
    FROM @S@.cq_lookup_index i
    WHERE i.kind = k AND NOT i.missing AND ST_Intersects(i.outer_g, p)
$$;

-- the best zone of *k* for p: inside > boundary (in the zone first) > near; on a tie the first zone
CREATE OR REPLACE FUNCTION @S@.cq_best(k text, p geometry)
RETURNS TABLE (ord integer, code text, status integer, in_zone boolean) LANGUAGE sql STABLE AS $$
    SELECT * FROM @S@.cq_pairs(k, p) x ORDER BY x.status * 2 + x.in_zone::integer DESC, x.ord LIMIT 1
$$;

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
    p geometry; com record; in_terr boolean; possible text[] := '{}'; neighbour boolean;
    t text; b record; unk boolean; codes text[] := ARRAY[NULL, NULL, NULL]; sts integer[] := ARRAY[0, 0, 0];
    k integer; qdist double precision; near_q record;
BEGIN
    p := CASE WHEN ST_SRID(pt) = 2154 THEN pt WHEN ST_SRID(pt) = 0 THEN ST_SetSRID(pt, 2154)
              ELSE ST_Transform(pt, 2154) END;
    SELECT * INTO com FROM @S@.cq_best('commune', p);
    in_terr := coalesce(com.status, 0) >= 2;
    commune_status := @S@.cq_status_name(coalesce(com.status, 0));
    IF in_terr THEN
        commune_insee := com.code;
        possible := ARRAY[com.code];
        SELECT nullif(d.team, '') INTO team FROM @S@.cq_territory_communes d WHERE d.insee = com.code;
    END IF;
    IF coalesce(com.status, 0) IN (1, 2) THEN
        possible := possible || ARRAY(SELECT x.code FROM @S@.cq_pairs('commune', p) x WHERE x.status >= 2);
    END IF;
    FOR k IN 1..3 LOOP
        t := (ARRAY['qpv', 'poche', 'qva'])[k];
        SELECT * INTO b FROM @S@.cq_best(t, p);
        IF coalesce(b.status, 0) < 2 THEN
            unk := EXISTS (SELECT 1 FROM @S@.cq_lookup_index m WHERE m.kind = t AND m.missing
                           AND m.communes && possible);
            IF NOT unk AND EXISTS (SELECT 1 FROM @S@.cq_lookup_index m WHERE m.kind = t AND m.missing AND m.shared) THEN
                IF neighbour IS NULL THEN
                    neighbour := NOT in_terr AND EXISTS (SELECT 1 FROM @S@.cq_lookup_index o
                                                          WHERE o.kind = 'outline' AND ST_Intersects(o.outer_g, p));
                END IF;
                unk := neighbour;
            END IF;
            IF unk THEN
                b := NULL;
                sts[k] := 4;
                CONTINUE;
            END IF;
        END IF;
        codes[k] := b.code;
        sts[k] := coalesce(b.status, 0);
    END LOOP;
    -- QPV distance: to the edge of its QPV, else of the nearest QPV within 500 m
    IF codes[1] IS NOT NULL THEN
        SELECT ST_Distance(i.boundary_g, p) INTO qdist FROM @S@.cq_lookup_index i WHERE i.kind = 'qpv' AND i.code = codes[1];
    ELSIF sts[1] = 0 THEN
        SELECT i.code, ST_Distance(i.boundary_g, p) AS d INTO near_q FROM @S@.cq_lookup_index i
         WHERE i.kind = 'qpv_search' AND ST_Intersects(i.outer_g, p) ORDER BY 2, i.ord LIMIT 1;
        IF near_q.d IS NOT NULL AND near_q.d <= 500 THEN
            codes[1] := near_q.code;
            qdist := near_q.d;
        END IF;
    END IF;
    qpv_code := codes[1]; qpv_status := @S@.cq_status_name(sts[1]); qpv_distance_m := qdist;
    poche_code := codes[2]; poche_status := @S@.cq_status_name(sts[2]);
    qva_code := codes[3]; qva_status := @S@.cq_status_name(sts[3]);
    FOR k IN 1..3 LOOP
        IF sts[k] IN (2, 3) THEN
            tier := (ARRAY['qpv', 'poche', 'qva'])[k];
            zone_code := codes[k];
            status := @S@.cq_status_name(sts[k]);
            SELECT ST_Distance(i.boundary_g, p) INTO distance_m FROM @S@.cq_lookup_index i
             WHERE i.kind = tier AND i.code = zone_code;
            RETURN NEXT;
            RETURN;
        END IF;
    END LOOP;
    status := qpv_status;
    distance_m := qdist;
    zone_code := codes[1];  -- no zone applies: the nearest QPV (near, or outside within 500 m), if any
    RETURN NEXT;
END $$;

GRANT SELECT ON @S@.cq_tolerances, @S@.cq_lookup_index TO @R@;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA @S@ TO @R@;
