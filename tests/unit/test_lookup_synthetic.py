"""Lookup statuses on the SYNTHETIC squares of tests/unit/synthetic.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cq_geo.errors import DataError, InvalidCoordinates
from cq_geo.geo.crs import l93_to_lonlat

from . import synthetic as s

X0, Y0 = s.X0, s.Y0


@pytest.fixture(scope="module")
def terr():
    return s.territory()


def qpv_row(terr, x, y):
    df = terr.lookup_many(x=[x], y=[y])
    return df.iloc[0]


@pytest.mark.parametrize(
    "dx, dy, status, distance",
    [
        (400, 400, "inside", 200.0),  # centre of QPV A
        (203, 400, "inside", 3.0),  # 3 m inside: official edge tolerance is 1 m
        (200, 400, "boundary", 0.0),  # exactly on the west edge
        (200.5, 400, "boundary", 0.5),  # half a metre inside
        (199.2, 400, "boundary", 0.8),  # 0.8 m outside: still on the edge at 1 m precision
        (197, 400, "near", 3.0),  # 3 m outside, near tolerance 10 m
        (600, 600, "boundary", 0.0),  # a corner
        (150, 400, "outside", 50.0),  # 50 m outside: nearest QPV within the 500 m search
    ],
)
def test_qpv_status_and_distance(terr, dx, dy, status, distance):
    row = qpv_row(terr, X0 + dx, Y0 + dy)
    assert row.cq_qpv_status == status
    assert row.cq_qpv_distance_m == pytest.approx(distance, abs=0.05)
    assert row.cq_qpv_code == "QN09901S"
    assert row.cq_commune_insee == "99001"


def test_far_from_any_qpv_has_no_code_nor_distance():
    terr = s.territory(qpv_search_m=100.0)
    row = qpv_row(terr, X0 + 950, Y0 + 950)
    assert row.cq_qpv_status == "outside"
    assert row.cq_qpv_code == ""
    assert math.isnan(row.cq_qpv_distance_m)


def test_single_lookup_agrees_with_lookup_many(terr):
    rng = np.random.default_rng(7)
    xs = X0 - 200 + rng.random(400) * 2400
    ys = Y0 - 200 + rng.random(400) * 1400
    df = terr.lookup_many(x=xs, y=ys)
    for i in range(0, 400, 9):
        r = terr.lookup(x=float(xs[i]), y=float(ys[i])).to_dict()
        row = df.iloc[i]
        assert (r["commune"] or {}).get("insee", "") == row.cq_commune_insee
        assert (r["team"] or {}).get("id", "") == row.cq_team
        assert (r["primary"] or {}).get("tier", "") == row.cq_primary_tier
        qpv = [z for z in r["zones"] if z["tier"] == "qpv" and z["status"] != "unknown"]
        if row.cq_qpv_code:
            assert qpv[0]["code"] == row.cq_qpv_code
            assert qpv[0]["status"] == row.cq_qpv_status
            assert qpv[0]["distance_m"] == pytest.approx(row.cq_qpv_distance_m, abs=0.1)
        assert "; ".join(r["warnings"]) == row.cq_warnings


def test_lonlat_and_lambert_inputs_agree(terr):
    lon, lat = l93_to_lonlat(np.array([X0 + 400, X0 + 1500]), np.array([Y0 + 400, Y0 + 500]))
    a = terr.lookup_many(lon=lon, lat=lat)
    b = terr.lookup_many(x=[X0 + 400, X0 + 1500], y=[Y0 + 400, Y0 + 500])
    assert a.drop(columns="cq_qpv_distance_m").astype(str).equals(b.drop(columns="cq_qpv_distance_m").astype(str))
    assert np.allclose(a.cq_qpv_distance_m, b.cq_qpv_distance_m, atol=0.01)


def test_missing_poche_is_unknown_only_in_its_commune(terr):
    df = terr.lookup_many(x=[X0 + 800, X0 + 1800], y=[Y0 + 800, Y0 + 800])
    assert list(df.cq_poche_status) == ["unknown", "outside"]
    assert "poche de pauvreté non dessiné" in df.cq_warnings[0]
    assert "poche" not in df.cq_warnings[1]


def test_missing_qpv_layer_gives_unknown_not_outside():
    terr = s.territory(zone_geoms={})
    r = terr.lookup(x=X0 + 400, y=Y0 + 400)
    qpv = [z for z in r.zones if z["tier"] == "qpv"]
    assert [z["status"] for z in qpv] == ["unknown"]
    assert qpv[0]["code"] == "QN09901S"
    assert r.layers["qpv"]["status"] == "missing"
    assert any("QPV non installés" in w for w in r.warnings)


def test_whole_commune_qva_and_primary_tier(terr):
    # In B: the QPV of B overlaps the whole-commune QVA of B → primary QPV
    r = terr.lookup(x=X0 + 1500, y=Y0 + 500)
    assert r.primary == {"tier": "qpv", "code": "QN09902S"}
    tiers = {z["tier"]: z["status"] for z in r.zones}
    assert tiers["qva"] == "inside"
    # In B outside its QPV: primary is the QVA
    r = terr.lookup(x=X0 + 1900, y=Y0 + 900)
    assert r.primary == {"tier": "qva", "code": "QVA-99002"}


def test_team_leads_and_cite_emploi(terr):
    r = terr.lookup(x=X0 + 400, y=Y0 + 400).to_dict()
    assert r["team"]["id"] == "nord"
    assert [lead["id"] for lead in r["team"]["leads"]] == ["cp1"]
    assert [lead["id"] for lead in r["qpv_leads"]] == ["ce"]
    assert r["territory"] == {"inside": True, "siren": "999999999", "name": "Territoire synthétique", "status": "inside"}


def test_commune_without_team_is_null_with_warning(terr):
    r = terr.lookup(x=X0 + 1800, y=Y0 + 800)
    assert r.team is None
    assert "commune sans équipe dans le tableau de gouvernance du contrat" in r.warnings


def test_shared_qpv_is_flagged(terr):
    r = terr.lookup(x=X0 + 1500, y=Y0 + 500)
    assert "QPV partagé avec une commune hors SYN" in r.warnings  # the agglomeration named by the file


def test_point_outside_territory_is_a_valid_answer(terr):
    r = terr.lookup(x=X0 + 5000, y=Y0 + 5000)
    assert r.commune is None and r.team is None and r.primary is None
    assert r.territory["inside"] is False
    assert "point hors du territoire de la SYN" in r.warnings


def test_commune_edge_warns(terr):
    r = terr.lookup(x=X0 + 1000.5, y=Y0 + 500)  # on the A/B limit
    assert r.commune["status"] == "boundary"
    assert any("limite communale" in w for w in r.warnings)


def test_json_keys_other_tools_rely_on(terr):
    d = terr.lookup(x=X0 + 400, y=Y0 + 400).to_dict()
    assert set(d["point"]) == {"lon", "lat", "x", "y"}
    assert set(d) >= {"point", "territory", "commune", "team", "zones", "primary", "warnings", "layers"}
    z = d["zones"][0]
    assert set(z) >= {"tier", "code", "name", "status", "distance_m"}
    assert set(d["layers"]) == {"communes", "qpv", "poche", "qva"}
    assert set(d["layers"]["qpv"]) >= {"status", "source", "vintage"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lon": float("nan"), "lat": 50.0}, "manquantes ou non numériques"),
        ({"lon": math.inf, "lat": 50.0}, "manquantes ou non numériques"),
        ({"lon": 50.33, "lat": 3.39}, "inversées"),
        ({"lon": -73.98, "lat": 40.75}, "hors de la France métropolitaine"),
        ({"x": 7025762.0, "y": 728212.0}, "inversées"),
        ({"x": 10.0, "y": 20.0}, "hors de la France métropolitaine"),
        ({"lon": 3.0}, "soit lon et lat"),
        ({"lon": "abc", "lat": 50.0}, "manquantes ou non numériques"),
        ({"lon": [3.0, 3.1], "lat": [50.0, 50.1]}, "un seul point"),
    ],
)
def test_bad_single_inputs_raise_french_errors(terr, kwargs, message):
    with pytest.raises(InvalidCoordinates, match=message):
        terr.lookup(**kwargs)


def test_bad_rows_do_not_stop_lookup_many(terr):
    lon, lat = l93_to_lonlat(X0 + 400, Y0 + 400)
    df = terr.lookup_many(lon=[float(lon), np.nan, 50.33, "3,5"], lat=[float(lat), 50.0, 3.39, "x"])
    assert list(df.cq_valid) == [True, False, False, False]
    assert df.cq_warnings[1] == "coordonnées manquantes ou non numériques"
    assert df.cq_warnings[2] == "latitude et longitude semblent inversées"
    assert df.cq_commune[1] == "" and df.cq_qpv_status[1] == ""


def test_lookup_many_length_mismatch(terr):
    with pytest.raises(InvalidCoordinates, match="même longueur"):
        terr.lookup_many(lon=[3.0, 3.1], lat=[50.0])


def test_empty_arrays(terr):
    df = terr.lookup_many(lon=[], lat=[])
    assert len(df) == 0 and "cq_qpv_status" in df


def test_unknown_zone_geometry_is_refused():
    with pytest.raises(DataError, match="zones inconnues"):
        s.territory(zone_geoms={"QN00000X": (s.QPV_A, "official")})


def test_unknown_zones_listed_are_those_of_the_possible_communes():
    terr = s.territory(zone_geoms={})
    # deep in A: only A's missing zones; on the A/B limit: those of A and B
    deep = {z["code"] for z in terr.lookup(x=X0 + 300, y=Y0 + 300).zones if z["status"] == "unknown"}
    assert deep == {"QN09901S", "POCHE-SYN-A", "QVA-SYN-A"}
    edge = {z["code"] for z in terr.lookup(x=X0 + 1000.5, y=Y0 + 500).zones if z["status"] == "unknown"}
    assert edge == {"QN09901S", "QN09902S", "POCHE-SYN-A", "QVA-SYN-A"}
