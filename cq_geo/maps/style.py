"""What the council map looks like: colours, outline styles, marker shapes, legend swatches.

The colours of the tiers, teams and result points stay apart under the common
colour-vision deficiencies (checked by ``tests/unit/test_map_colours.py``) and
every category has a non-colour cue too (outline style, hatching, marker shape).
Only the standard library and numpy: the QGIS plugin and the sheet can read it.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

#: Display simplification tolerance (metres, Lambert-93) applied to every polygon.
DEFAULT_SIMPLIFY_M = 10.0
#: Decimals kept for polygon vertices (5 ≈ 1 m) and result points (4 ≈ 10 m).
POLYGON_DECIMALS = 5
POINT_DECIMALS = 4
#: French words for the geometry statuses of :data:`cq_geo.model.GEOMETRY_STATUSES`.
STATUS_LABELS = {
    "official": "officiel",
    "validated": "validé",
    "provisional": "provisoire",
    "simplified": "simplifié",
    "approximate": "approximatif",
    "missing": "non installé",
}
#: The same words in the plural (« contours officiels »).
STATUS_PLURAL = {"official": "officiels", "validated": "validés", "provisional": "provisoires",
                 "simplified": "simplifiés", "approximate": "approximatifs", "missing": "non installés"}
#: Point categories of batch results: (key, French label, colour). Points are
#: coloured by their status; « ok » points by the tier that covers them. The
#: colours stay apart under the common colour-vision deficiencies (checked in
#: the tests with Machado et al. 2009) and each category has its own marker
#: shape (:data:`POINT_SHAPES`), so colour is never the only cue.
POINT_CATEGORIES = [
    ("qpv", "Dans un QPV", "#d55e00"),
    ("poche", "Dans une poche de pauvreté", "#332288"),
    ("qva", "Dans un ancien QVA", "#56b4e9"),
    ("none", "Dans le territoire, hors géographie prioritaire", "#999999"),
    ("to_check", "À vérifier", "#ffffff"),
    ("outside", "Hors du territoire", "#661100"),
]
#: Marker shape of each point category (same order as :data:`POINT_CATEGORIES`).
POINT_SHAPES = ["square", "diamond", "triangle", "circle", "triangle-down", "cross"]
#: Marker shapes of the points in a tier the table above does not know (a tier added in the territory file).
EXTRA_TIER_SHAPES = ["pentagon", "hexagon"]
#: Map background (no tiles) and team fills: blue / orange (Okabe & Ito), drawn at TEAM_FILL_OPACITY.
MAP_BACKGROUND = "#f4f2ec"
TEAM_FILL_OPACITY = 0.35
TEAM_COLOURS = {"nord": "#0072b2", "sud": "#e69f00"}
OTHER_TEAM_COLOURS = ["#009e73", "#cc79a7", "#f0e442"]
NO_TEAM_COLOUR = "#ffffff"
NO_TEAM_OPACITY = 0.5
#: Tier styles: each has a non-colour cue too (QPV: thick solid outline and cross-hatching; poches: dashed
#: outline and dots; former QVA: diagonal hatching, whole communes).
TIER_STYLE = {
    "qpv": {"color": "#1b0a24", "fillColor": "#3d1454", "fillOpacity": 0.6, "weight": 2.5},
    "poche": {"color": "#0b3d1c", "fillColor": "#117733", "fillOpacity": 0.7, "weight": 2, "dashArray": "6 4"},
    "qva": {"color": "#661100", "fillColor": "url(#cq-hatch-qva)", "fillOpacity": 1.0, "weight": 2.5,
            "dashArray": "1 5", "lineCap": "round"},
}


def tier_style(definition, tier: str) -> dict:
    """Leaflet style of a tier's zones: the measured styles of the CAPH tiers, else one from the
    tier's colour in the territory file (solid outline, dotted when its priority is low)."""
    if tier in TIER_STYLE:
        return TIER_STYLE[tier]
    colour = definition.tiers[tier].colour
    return {"color": colour, "fillColor": colour, "fillOpacity": 0.45, "weight": 2, "dashArray": "2 3"}


CHORO_COLOURS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]


def team_colours(definition) -> dict[str, str]:
    colours, extra = {}, iter(OTHER_TEAM_COLOURS)
    for tid in definition.teams:
        colours[tid] = TEAM_COLOURS.get(tid) or next(extra, "#76448a")
    return colours


def status_text(info) -> str:
    return STATUS_LABELS.get(info.status, info.status)


def over(colour: str, alpha: float, background: str) -> str:
    """*colour* drawn with opacity *alpha* over *background* (hex colours).

    >>> over("#000000", 0.5, "#ffffff")
    '#808080'
    """
    fg = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    bg = [int(background[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{int(round(alpha * f + (1 - alpha) * b)):02x}" for f, b in zip(fg, bg))


def legend_colour_groups(definition=None) -> dict[str, dict[str, str]]:
    """The colours seen side by side on the map, as drawn over the plain background.

    One group for the teams, one per team with the tiers of the territory file
    drawn over it (their fills, or the lines of a hatching), and one for the result
    points. Every pair inside a group must stay distinguishable for the common
    colour-vision deficiencies (checked by the tests). The names are the tiers'
    short labels.

    >>> groups = legend_colour_groups()
    >>> sorted(groups["Sur Équipe Sud"]), groups["Points"]["Dans un QPV"]
    (['Hachures : Ancien QVA', 'Poche de pauvreté', 'QPV', 'Équipe Sud'], '#d55e00')
    """
    from ..vocabulary import Vocabulary

    if definition is None:
        from ..model import load_definition

        definition = load_definition()
    colours = team_colours(definition)
    teams = {team.name: over(colours[tid], TEAM_FILL_OPACITY, MAP_BACKGROUND) for tid, team in definition.teams.items()}
    teams["Sans équipe territoriale"] = over(NO_TEAM_COLOUR, NO_TEAM_OPACITY, MAP_BACKGROUND)
    groups = {"Équipes": dict(teams)}
    for name, base in teams.items():
        group = {name: base}
        for tier in definition.tier_ids:
            style = tier_style(definition, tier)
            label = definition.tiers[tier].short_label
            if str(style["fillColor"]).startswith("url("):  # a hatching: its lines, in the outline colour
                group[f"Hachures : {label}"] = style["color"]
            else:
                group[label] = over(style["fillColor"], style["fillOpacity"], base)
        groups[f"Sur {name}"] = group
    categories, _ = point_categories(Vocabulary(definition))
    groups["Points"] = {label: colour for _, label, colour in categories}
    return groups


#: Unit marker shapes (vertices, y down); "circle" is drawn as a circle.
MARKER_SHAPES = {
    "square": [[-0.85, -0.85], [0.85, -0.85], [0.85, 0.85], [-0.85, 0.85]],
    "diamond": [[0, -1.25], [1.1, 0], [0, 1.25], [-1.1, 0]],
    "triangle": [[0, -1.2], [1.1, 0.75], [-1.1, 0.75]],
    "triangle-down": [[0, 1.2], [1.1, -0.75], [-1.1, -0.75]],
    "cross": [[-1, -0.6], [-0.6, -1], [0, -0.4], [0.6, -1], [1, -0.6], [0.4, 0], [1, 0.6], [0.6, 1], [0, 0.4],
              [-0.6, 1], [-1, 0.6], [-0.4, 0]],
    "pentagon": [[0, -1.15], [1.1, -0.35], [0.68, 0.95], [-0.68, 0.95], [-1.1, -0.35]],
    "hexagon": [[-0.55, -0.95], [0.55, -0.95], [1.1, 0], [0.55, 0.95], [-0.55, 0.95], [-1.1, 0]],
}


def point_categories(vocabulary) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(categories, marker shapes) of a territory's result points: one per tier in priority order, then
    « hors géographie prioritaire », « à vérifier », « hors du territoire ».

    The tiers of :data:`POINT_CATEGORIES` keep their checked colours and shapes; another tier gets its
    colour from the territory file and a shape of its own. The words come from the vocabulary.

    >>> from cq_geo.model import load_definition
    >>> from cq_geo.vocabulary import Vocabulary
    >>> point_categories(Vocabulary(load_definition())) == (POINT_CATEGORIES, POINT_SHAPES)
    True
    """
    known = {key: (colour, shape) for (key, _, colour), shape in zip(POINT_CATEGORIES, POINT_SHAPES)}
    d = vocabulary.definition
    extra = iter(EXTRA_TIER_SHAPES)
    categories, shapes = [], []
    for tier in d.tier_ids:
        colour, shape = known.get(tier) or (d.tiers[tier].colour or "#7f8c8d", next(extra, "circle"))
        categories.append((tier, vocabulary.inside_a(tier), colour))
        shapes.append(shape)
    for key, label, colour in POINT_CATEGORIES:
        if key in ("none", "to_check", "outside"):
            categories.append((key, label, colour))
            shapes.append(known[key][1])
    return categories, shapes


def shape_path(shape: str, cx: float, cy: float, r: float) -> str:
    """SVG path data of a marker *shape* of radius *r* centred on (cx, cy)."""
    if shape not in MARKER_SHAPES:
        return f"M{cx - r:.2f} {cy:.2f}a{r:.2f} {r:.2f} 0 1 0 {2 * r:.2f} 0a{r:.2f} {r:.2f} 0 1 0 {-2 * r:.2f} 0z"
    return "M" + "L".join(f"{cx + x * r:.2f} {cy + y * r:.2f}" for x, y in MARKER_SHAPES[shape]) + "z"


def marker_svg(shape: str, colour: str) -> str:
    """A legend marker: the same shape and colour as the points on the map."""
    return (f"<svg class='cq-mk' width='18' height='16' viewBox='0 0 18 16' aria-hidden='true'>"
            f"<path d='{shape_path(shape, 9, 8, 5.5)}' fill='{colour}' stroke='#1b2631' stroke-width='1.2'/></svg>")


def swatch(fill: str, opacity: float, stroke: str, weight: float, dash: str | None = None) -> str:
    """A legend swatch drawn like the polygons on the map (fill, outline style, hatching)."""
    dash_attr = f" stroke-dasharray='{dash}'" if dash else ""
    return (f"<svg class='cq-sw' width='22' height='15' viewBox='0 0 22 15' aria-hidden='true'>"
            f"<rect x='0' y='0' width='22' height='15' fill='{MAP_BACKGROUND}'/>"
            f"<rect x='1.5' y='1.5' width='19' height='12' fill='{fill}' fill-opacity='{opacity}' stroke='{stroke}' "
            f"stroke-width='{min(weight, 2.5)}'{dash_attr}/></svg>")


def choropleth_breaks(counts: Iterable[int]) -> list[int]:
    """Upper bounds of up to 5 classes for positive counts (rounded, increasing).

    >>> choropleth_breaks([0, 1, 2, 3, 50, 100, 1000])
    [2, 3, 50, 100, 1000]
    >>> choropleth_breaks([1, 1, 1, 5])
    [1, 5]
    >>> choropleth_breaks([0, 0])
    []
    """
    values = np.array([c for c in counts if c > 0], dtype="float64")
    if not len(values):
        return []
    qs = np.quantile(values, [0.2, 0.4, 0.6, 0.8, 1.0], method="higher")
    out: list[int] = []
    for q in qs:
        q = int(q)
        if not out or q > out[-1]:
            out.append(q)
    return out


def class_of(count: int, breaks: list[int]) -> int:
    for i, b in enumerate(breaks):
        if count <= b:
            return i
    return len(breaks) - 1
