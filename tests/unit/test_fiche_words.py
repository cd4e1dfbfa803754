"""The eligibility sheet's and the map's words come from the territory file (issue 16, items 1 and 3).

Found while moving the map code: the sheet's map excerpt labelled every non-QPV perimeter « Poche »,
so the two former-QVA quarters of Saint-Amand-les-Eaux (SYNTHETIC squares here) were called « Poche … »
on a document filed as proof. The labels, the excerpt's legend and the sources now use each tier's
words from the definition.
"""

from __future__ import annotations

import re

import pytest

from cq_geo.maps.fiche import fiche_html
from tests.browser.synthetic_zones import territory_with_synthetic_zones
from tests.unit.test_fourth_tier import IN_FRICHE, terr  # noqa: F401 (fixture)


def labels(page: str) -> list[str]:
    """The names written on the sheet's map excerpt."""
    return re.findall(r'paint-order="stroke">([^<]*)<', page)


@pytest.fixture(scope="module")
def synthetic():
    return territory_with_synthetic_zones()


def test_former_qva_perimeter_is_not_called_a_poche(synthetic):
    qva = synthetic.tiers["qva"]
    zone, geom = next((z, g) for z, g in zip(qva.zones, qva.index.geoms) if z.geometry == "perimeter")
    centre = geom.centroid
    page = fiche_html(synthetic, synthetic.lookup(x=centre.x, y=centre.y).to_dict(), date="2026-11-27")
    shown = labels(page)
    assert f"Ancien QVA {zone.name}" in shown, shown
    assert not any(text.startswith("Poche") and "Saint-Amand" in text for text in shown), shown


def test_poche_label_is_the_tier_short_label(synthetic):
    poche = synthetic.tiers["poche"]
    zone, geom = poche.zones[0], poche.index.geoms[0]
    centre = geom.centroid
    page = fiche_html(synthetic, synthetic.lookup(x=centre.x, y=centre.y).to_dict(), date="2026-11-27")
    assert f"Poche de pauvreté {zone.name}" in labels(page)


def test_fourth_tier_in_the_sheet_legend_map_and_sources(terr):  # noqa: F811
    page = fiche_html(terr, terr.lookup(x=IN_FRICHE[0], y=IN_FRICHE[1]).to_dict(), date="2026-11-27")
    legend = re.search(r"<div class='legend'>(.*?)</div>", page).group(1)
    assert re.sub(r"<[^>]+>", "|", legend).strip("|").split("||") == ["QPV", "Poche de pauvreté", "Ancien QVA",
                                                                       "Friche", "Adresse"]
    assert "Friche Friche synthétique" in labels(page)
    assert "<th>Friches urbaines</th>" in page  # the layer's name in the sources table (its plural, capitalised)


def test_missing_perimeters_words_follow_the_tier(terr):  # noqa: F811
    v = terr.vocabulary
    assert v.missing_perimeters("qpv") == "périmètres QPV non installés"
    assert v.missing_perimeters("friche") == "périmètres des friches urbaines non installés"
