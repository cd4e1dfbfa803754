"""Commune and team assignment with REAL outlines (IGN, read from ../shared/data, never copied)."""


import numpy as np
import pytest
import shapely

from cq_geo.geo.crs import l93_to_lonlat
from cq_geo.geo.layers import LayerInfo, read_geojson_l93
from cq_geo.model import load_definition
from cq_geo.territory import Territory


@pytest.fixture(scope="module")
def reference(shared_data):
    geoms, _ = read_geojson_l93(shared_data / "communes_caph_ign2018.geojson", "insee")
    return geoms


def interior_points(reference, margin, per_commune, seed=11):
    """Random points at least *margin* metres inside each reference outline."""
    rng = np.random.default_rng(seed)
    xs, ys, codes = [], [], []
    for insee, geom in reference.items():
        inner = geom.buffer(-margin)
        if inner.is_empty:
            continue
        minx, miny, maxx, maxy = inner.bounds
        got = 0
        while got < per_commune:
            x, y = rng.uniform(minx, maxx, 200), rng.uniform(miny, maxy, 200)
            ok = shapely.contains_xy(inner, x, y)
            take = np.flatnonzero(ok)[: per_commune - got]
            xs.extend(x[take])
            ys.extend(y[take])
            codes.extend([insee] * len(take))
            got += len(take)
    return np.array(xs), np.array(ys), codes


def test_baseline_assigns_commune_and_team_well_inside(baseline_territory, reference):
    # 400 m inside the IGN outlines: beyond the baseline's worst deviation (375 m).
    x, y, codes = interior_points(reference, 400.0, 25)
    lon, lat = l93_to_lonlat(x, y)
    df = baseline_territory.lookup_many(lon=lon, lat=lat)
    assert len(set(codes)) >= 44  # communes large enough to hold such points
    assert list(df.cq_commune_insee) == codes
    d = baseline_territory.definition
    assert list(df.cq_team) == [(d.team_of(c).id if d.team_of(c) else "") for c in codes]
    assert df.cq_valid.all()


def test_single_lookup_in_each_commune(baseline_territory, reference):
    x, y, codes = interior_points(reference, 400.0, 1, seed=5)
    d = baseline_territory.definition
    for xi, yi, insee in zip(x, y, codes):
        lon, lat = l93_to_lonlat(xi, yi)
        r = baseline_territory.lookup(lon=float(lon), lat=float(lat))
        assert r.commune["insee"] == insee
        team = d.team_of(insee)
        assert (r.team or {}).get("id") == (team.id if team else None)
        if team is None:
            assert "commune sans équipe dans le tableau de gouvernance du contrat" in r.warnings


def test_territory_built_on_reference_outlines(reference):
    """The engine on precise-enough outlines: points 30 m inside are inside, not boundary."""
    info = LayerInfo("communes", status="official", source="IGN ADMIN EXPRESS COG 2018 (tests)")
    t = Territory(load_definition(), reference, info)
    x, y, codes = interior_points(reference, 30.0, 10, seed=2)
    df = t.lookup_many(x=x, y=y)
    assert list(df.cq_commune_insee) == codes
    assert (df.cq_commune_status == "inside").all()
    # outside the agglomeration, 2 km east of its eastern-most point
    union = shapely.union_all(list(reference.values()))
    minx, miny, maxx, maxy = union.bounds
    r = t.lookup(x=maxx + 2000, y=(miny + maxy) / 2)
    assert r.territory["inside"] is False and r.commune is None
