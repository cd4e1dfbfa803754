"""« La voie traverse le périmètre » : the one check (cq_geo.geocode.lookup.street_crossings), on the SYNTHETIC territory.

Each street is a row of known positions (like the BAN geocoder's ``Candidate.support``); what the
check says is compared with shapely's answer on the same synthetic squares, position by position.
"""

from __future__ import annotations

import pytest
import shapely

from cq_geo.geo.crs import l93_to_lonlat
from cq_geo.geocode.base import Candidate, GeocodeResult
from cq_geo.geocode.lookup import position_warnings, street_crossing_texts, street_crossings
from tests.unit import synthetic as s

#: the synthetic zones by tier and name (perimeters, and the whole commune B for its QVA)
ZONES = {
    "qpv": {"QPV synthétique": s.QPV_A, "QPV synthétique partagé": s.QPV_B},
    "qva": {"QVA synthétique A": s.QVA_A, "QVA synthétique B (commune entière)": s.COMMUNE_B},
}
Y = 410.0  # every street runs east-west, 10 m or more from any edge at its positions
STREETS = {  # name: (x of the known positions, x of the answer), metres east of the synthetic origin
    "traverse le QPV A": (range(150, 580, 40), 400),
    "reste dans B": (range(1100, 1340, 40), 1200),
    "traverse le QVA puis le QPV": (range(50, 460, 40), 300),
    "traverse les deux QPV": (range(500, 1560, 60), 900),
}


def _lonlat(dx):
    lon, lat = l93_to_lonlat(s.X0 + dx, s.Y0 + Y)
    return float(lon), float(lat)


def _result(name, quality="approximate", kind="street"):
    xs, x = STREETS[name]
    cand = Candidate(*_lonlat(x), label=name, score=0.7, type=kind, support=tuple(_lonlat(v) for v in xs))
    return GeocodeResult(name, quality, [cand], reason="voie seule")


def _reference(name):
    """(tier, zone names) crossed, from shapely: the zone of each position differs along the street."""
    xs, x = STREETS[name]
    points = [shapely.Point(s.X0 + v, s.Y0 + Y) for v in list(xs) + [x]]
    out = []
    for tier, zones in ZONES.items():
        per_point = [next((z for z, g in zones.items() if g.contains(p)), "") for p in points]
        if len(set(per_point)) > 1:
            out.append((tier, sorted({z for z in per_point if z})))
    return out


@pytest.fixture(scope="module")
def territory():
    return s.territory()


def test_crossings_agree_with_shapely_in_one_call_and_one_by_one(territory):
    names = list(STREETS)
    results = [_result(n) for n in names]
    together = street_crossings(territory, results)
    assert together == [_reference(n) for n in names]
    assert together == [street_crossings(territory, [r])[0] for r in results]
    assert [t for t, _ in together[2]] == ["qpv", "qva"]  # tier order
    assert together[3] == [("qpv", ["QPV synthétique", "QPV synthétique partagé"]),
                           ("qva", ["QVA synthétique A", "QVA synthétique B (commune entière)"])]
    assert together[1] == []


def test_precise_or_unsupported_answers_are_not_checked(territory):
    precise = _result("traverse le QPV A", quality="precise", kind="housenumber")
    lone = _result("traverse le QPV A")
    lone.best.support = lone.best.support[:1]
    nothing = GeocodeResult("x", "not_found", [], reason="")
    assert street_crossings(territory, [precise, lone, nothing]) == [[], [], []]


@pytest.mark.parametrize("kind, position", [
    ("street", "de la voie"), ("housenumber", "du numéro le plus proche"), ("locality", "du lieu-dit"),
])
def test_the_same_text_for_lookup_and_batch(territory, kind, position):
    result = _result("traverse le QPV A", kind=kind)
    texts = street_crossing_texts(territory, [result])[0]
    assert texts == [f"la voie traverse le périmètre du QPV QPV synthétique (position {position}, pas du numéro)"]
    # the address lookup (cq-geo lookup "adresse", the QGIS locator) says it with « à vérifier : »
    assert position_warnings(territory, result, lookup=None) == [f"à vérifier : {texts[0]}"]
