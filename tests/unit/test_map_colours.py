"""The map's colours under simulated colour-vision deficiencies.

Simulation: Machado, Oliveira & Fernandes (2009), « A physiologically-based
model for simulation of color vision deficiency », IEEE TVCG 15(6), the
published matrices for severity 1.0 (protanopia, deuteranopia, tritanopia),
applied to linear sRGB. Difference: CIE 1976 ΔE*ab in CIELAB (D65).

Every pair of colours seen together on the map (:func:`legend_colour_groups`:
the teams, each team with the tiers drawn over it, the result points) must
stay at least :data:`MIN_DELTA_E` apart for every deficiency. The palette of
the issue (red QPV points vs green QVA points, red QPV fill on the orange
South team) is the negative control: it fails the same test.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cq_geo.maps.webmap import POINT_CATEGORIES, POINT_SHAPES, legend_colour_groups
from cq_geo.model import load_definition

MACHADO_2009 = {
    "protanopie": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deutéranopie": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopie": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.148602],
                            [0.004733, 0.691367, 0.303900]]),
    "vision normale": np.eye(3),
}
MIN_DELTA_E = 20.0


def _lab(hex_colour: str, matrix: np.ndarray) -> np.ndarray:
    srgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    linear = np.clip(matrix @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def worst_pairs(groups: dict[str, dict[str, str]]) -> list[tuple[float, str, str, str, str]]:
    """(ΔE, deficiency, group, colour name a, colour name b) of every pair under MIN_DELTA_E."""
    bad = []
    for group, colours in groups.items():
        for (na, a), (nb, b) in itertools.combinations(colours.items(), 2):
            for kind, matrix in MACHADO_2009.items():
                delta = float(np.linalg.norm(_lab(a, matrix) - _lab(b, matrix)))
                if delta < MIN_DELTA_E:
                    bad.append((round(delta, 1), kind, group, na, nb))
    return bad


def test_the_simulation_reproduces_the_issue_with_the_old_palette():
    from cq_geo.maps.style import MAP_BACKGROUND, over

    sud = over("#e67e22", 0.42, MAP_BACKGROUND)
    old = {"Points": {"QPV": "#c0392b", "poche": "#8e44ad", "QVA": "#1e8449", "hors": "#5d6d7e",
                      "à vérifier": "#f1c40f", "hors territoire": "#17202a"},
           "Sur Sud": {"Sud": sud, "QPV": over("#e74c3c", 0.55, sud)}}
    bad = worst_pairs(old)
    assert any(kind == "protanopie" and {a, b} == {"QPV", "QVA"} for _, kind, _, a, b in bad), bad
    assert any(group == "Sur Sud" and kind == "deutéranopie" for _, kind, group, _, _ in bad), bad


def test_map_colours_stay_apart_for_colour_blind_readers():
    groups = legend_colour_groups(load_definition())
    assert {"Équipes", "Points"} <= set(groups) and any(g.startswith("Sur ") for g in groups)
    assert worst_pairs(groups) == []


def test_every_category_has_a_non_colour_cue_too():
    assert len(set(POINT_SHAPES)) == len(POINT_CATEGORIES)  # one marker shape per point category
    from cq_geo.maps.style import TIER_STYLE

    outlines = {(s["weight"], s.get("dashArray")) for s in TIER_STYLE.values()}
    assert len(outlines) == len(TIER_STYLE)  # one outline style per tier
    assert TIER_STYLE["qva"]["fillColor"].startswith("url(#")  # hatching


def test_the_legend_draws_those_colours(tmp_path):
    pytest.importorskip("folium")
    pytest.importorskip("xstatic.pkg.leaflet")
    import pandas as pd

    from cq_geo.maps.style import TEAM_COLOURS, TEAM_FILL_OPACITY
    from cq_geo.maps.webmap import export_map
    from cq_geo.territory import load_territory

    territory = load_territory()
    html = export_map(tmp_path / "c.html", territory, results=pd.DataFrame({"lon": [3.3957, 2.35], "lat": [50.329, 48.85]}),
                      tiles=False, date="2026-11-27").read_text(encoding="utf-8")
    for colour in TEAM_COLOURS.values():
        assert f"fill='{colour}' fill-opacity='{TEAM_FILL_OPACITY}'" in html
    for (_, label, colour), shape in zip(POINT_CATEGORIES, POINT_SHAPES):
        assert colour in html
