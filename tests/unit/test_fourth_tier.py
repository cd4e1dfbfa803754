"""A tier added in the territory file reaches every face with no code change (issue 16, item 1).

The SYNTHETIC territory of tests/unit/synthetic.py gets a fourth tier, « friche urbaine »
(made up for the test: a 70 m square in commune A, outside its QPV and its former QVA).
Its words (noun, plural, gender, colour) come only from the definition below.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from shapely import box

from cq_geo.geo.engine import STATUS_NAMES
from cq_geo.geo.layers import LayerInfo
from cq_geo.model import parse_definition
from cq_geo.territory import Territory
from tests.unit import synthetic
from tests.unit.synthetic import COMMUNE_A, COMMUNE_B, QPV_A, QPV_B, QVA_A, X0, Y0

FRICHE = box(X0 + 20, Y0 + 20, X0 + 90, Y0 + 90)
POCHE = box(X0 + 700, Y0 + 100, X0 + 800, Y0 + 200)
IN_FRICHE = (X0 + 55, Y0 + 55)


@pytest.fixture(scope="module")
def terr():
    d = copy.deepcopy(synthetic.DEFINITION)
    d["tiers"]["friche"] = {"label": "Friche urbaine synthétique", "short_label": "Friche", "name": "friche urbaine",
                            "plural": "friches urbaines", "feminine": True, "priority": 4, "colour": "#aa00aa",
                            "heading": "Friche urbaine", "edge_m": 3}
    d["zones"].append({"tier": "friche", "code": "FRICHE-SYN-1", "name": "Friche synthétique",
                       "communes": ["99001"], "geometry": "perimeter"})
    definition = parse_definition(d, where="synthétique à quatre niveaux")
    info = LayerInfo("communes", status="official", source="synthétique", vintage="test")
    zones = {"QN09901S": (QPV_A, "official"), "QN09902S": (QPV_B, "official"), "QVA-SYN-A": (QVA_A, "provisional"),
             "POCHE-SYN-A": (POCHE, "provisional"), "FRICHE-SYN-1": (FRICHE, "provisional")}
    return Territory(definition, {"99001": COMMUNE_A, "99002": COMMUNE_B}, info, zone_geoms=zones)


def test_definition_orders_the_tiers_by_priority(terr):
    assert terr.tier_ids == ("qpv", "poche", "qva", "friche")
    assert terr.definition.tiers["friche"].of_the == "de la friche urbaine"


def test_lookup_names_the_fourth_tier(terr):
    r = terr.lookup(x=IN_FRICHE[0], y=IN_FRICHE[1])
    assert r.primary == {"tier": "friche", "code": "FRICHE-SYN-1"}
    assert [z["code"] for z in r.zones if z["tier"] == "friche" and z["status"] == "inside"] == ["FRICHE-SYN-1"]
    # near its limit: the tier's own warning, worded from the file
    edge = terr.lookup(x=X0 + 91, y=Y0 + 55)
    assert "près de la limite de la friche urbaine : à vérifier" in edge.warnings


def test_lookup_arrays_and_many(terr):
    xs, ys = np.array([IN_FRICHE[0], X0 + 500]), np.array([IN_FRICHE[1], Y0 + 500])
    a = terr.lookup_arrays(x=xs, y=ys, codes=True)
    assert a["friche_code"].tolist() == ["FRICHE-SYN-1", ""]
    assert STATUS_NAMES[a["friche_status"][0]] == "inside"
    assert a["primary_tier_name"].tolist() == ["friche", "qpv"]
    df = terr.lookup_many(x=xs, y=ys)
    assert list(df.columns) == terr.lookup_columns and "cq_friche" in df.columns
    assert df["cq_friche"].tolist() == ["Friche synthétique", ""]
    assert df["cq_primary_tier"].tolist() == ["friche", "qpv"]


def test_batch_summary_and_map(terr):
    pd = pytest.importorskip("pandas")
    from cq_geo.bulk.run import batch
    from cq_geo.bulk.summary import build_summary

    data = pd.DataFrame({"x": [IN_FRICHE[0], X0 + 500, X0 + 1500], "y": [IN_FRICHE[1], Y0 + 500, Y0 + 900]})
    out, summary = batch(data, territory=terr, x_col="x", y_col="y")
    assert "cq_friche" in out.columns and "cq_friche_status" in out.columns
    assert out["cq_status"].iloc[0] == "ok", out["cq_reason"].iloc[0]
    assert out["cq_reason"].iloc[0] == "Synthétique-A : dans la friche urbaine Friche synthétique"
    assert summary.by_tier.equals(build_summary(out, terr).by_tier)
    by_tier = dict(zip(summary.by_tier.iloc[:, 0], summary.by_tier["Lignes"]))
    assert by_tier["Friche urbaine"] == 1

    pytest.importorskip("folium")
    pytest.importorskip("xstatic.pkg.leaflet")
    from cq_geo.maps.webmap import make_map, map_html

    html = map_html(make_map(terr, tiles=False, date="2026-11-27"))
    assert "Friches urbaines (1)" in html and "#aa00aa" in html and "cq-friche" in html


def test_eligibility_sheet_has_a_row_for_the_fourth_tier(terr):
    from cq_geo.maps.fiche import fiche_html

    answer = terr.lookup(x=IN_FRICHE[0], y=IN_FRICHE[1]).to_dict()
    html = fiche_html(terr, answer)
    assert "<th>Friche urbaine</th>" in html and "Friche synthétique (FRICHE-SYN-1)" in html
