"""The eligibility sheet's and the map's words come from the territory file (issue 16, items 1 and 3).

Found while moving the map code: the sheet's map excerpt labelled every non-QPV perimeter « Poche »,
so the two former-QVA quarters of Saint-Amand-les-Eaux (SYNTHETIC squares here) were called « Poche … »
on a document filed as proof. The labels, the excerpt's legend and the sources now use each tier's
words from the definition. On the council map, the points of a tier added in the file were drawn as
« hors géographie prioritaire »: each tier now has its point category (words from the vocabulary).
"""

from __future__ import annotations

import html
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


def test_excerpt_labels_stay_inside_the_window(synthetic):
    """The longer tier labels must not run off the excerpt (seen cut at the left edge in Chromium)."""
    checked = 0
    for tier in ("poche", "qva", "qpv"):
        data = synthetic.tiers[tier]
        for zone, geom in zip(data.zones, data.index.geoms):
            if zone.geometry != "perimeter":
                continue
            centre = geom.centroid
            page = fiche_html(synthetic, synthetic.lookup(x=centre.x, y=centre.y).to_dict(), date="2026-11-27")
            width = float(re.search(r'class="fiche-map"[^>]*viewBox="0 0 ([\d.]+) ', page).group(1))
            for x, size, text in re.findall(r'<text x="([\d.-]+)" y="[\d.-]+" font-size="([\d.]+)" text-anchor="middle" '
                                            r'font-weight="700" fill="#1b2631" stroke="#fff"[^>]*>([^<]*)<', page):
                half = len(html.unescape(text)) * float(size) * 0.3
                slack = 1 + len(html.unescape(text)) * 0.5 * 0.3  # the font size is written rounded
                if 2 * half > width:  # wider than the window (a 60-character name): centred
                    assert abs(float(x) - width / 2) <= slack, (zone.name, text, x, width)
                else:
                    assert float(x) - half >= -slack and float(x) + half <= width + slack, (zone.name, text, x, width)
                checked += 1
    assert checked > 20


def test_points_in_a_fourth_tier_get_their_own_category(terr):  # noqa: F811
    """A point whose main geography is the added tier was drawn as « hors géographie prioritaire »."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("folium")
    pytest.importorskip("xstatic.pkg.leaflet")
    from cq_geo.geo.crs import l93_to_lonlat
    from cq_geo.maps.webmap import make_map, map_html, read_results
    from tests.unit.synthetic import X0, Y0

    lon, lat = l93_to_lonlat([IN_FRICHE[0], X0 + 500, X0 + 1500], [IN_FRICHE[1], Y0 + 500, Y0 + 900])
    table = pd.DataFrame({"lon": lon, "lat": lat})
    res = read_results(table, terr)
    keys = [key for key, _, _ in res.categories]
    assert keys[:4] == ["qpv", "poche", "qva", "friche"] and len(set(res.shapes)) == len(res.shapes)
    assert res.categories[3] == ("friche", "Dans une friche", "#aa00aa")  # its short label
    assert keys[res.category[0]] == "friche"
    page = map_html(make_map(terr, results=table, tiles=False, date="2026-11-27"))
    assert "fill='#aa00aa' stroke='#1b2631' stroke-width='1.2'/></svg>Dans une friche : 1</div>" in page
