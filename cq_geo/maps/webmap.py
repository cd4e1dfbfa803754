"""Council maps: one self-contained HTML file that draws without any network.

:func:`make_map` builds a Folium map of the territory: communes coloured by
team, the three tiers (QPV, poches de pauvreté, former QVA) as separate
toggleable layers, commune names, a legend, a title with the date, a footer
giving every layer's source, vintage and status, a scale bar, a fullscreen
button and a minimap; optionally the points of a batch result, clustered and
coloured by status, with point counts per commune and per QPV as choropleths.
:func:`export_map` writes it as ONE HTML file (atomically) in which Leaflet,
jQuery, Leaflet.markercluster and every image are inlined: nothing is fetched
to draw the map. Only the Plan IGN v2 background tiles come from the network;
when they cannot be loaded the map keeps a plain background with the commune
outlines and names, and says so.

A layer without geometry is never replaced by something else: the legend says
what is missing (« périmètres QPV non installés »).

Examples
--------
>>> from cq_geo.territory import load_territory
>>> m = make_map(load_territory(), date="2026-11-27")
>>> html = map_html(m)
>>> "périmètres QPV non installés" in html, 'src="http' in html
(True, False)
"""

from __future__ import annotations

import base64
import datetime as _dt
import html as _html
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import CqGeoError, MissingDependency

__all__ = [
    "make_map",
    "export_map",
    "map_html",
    "read_results",
    "MapInputError",
    "POINT_CATEGORIES",
    "DEFAULT_SIMPLIFY_M",
    "STATUS_LABELS",
]

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

_STATUS_PLURAL = {"official": "officiels", "validated": "validés", "provisional": "provisoires",
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
_CAT_INDEX = {key: i for i, (key, _, _) in enumerate(POINT_CATEGORIES)}
#: Values of ``cq_status`` (batch output) and what the map does with them.
BATCH_STATUSES = ("ok", "to_check", "outside_territory", "not_found", "invalid")

#: Map background (no tiles) and team fills: blue / orange (Okabe & Ito), drawn at TEAM_FILL_OPACITY.
MAP_BACKGROUND = "#f4f2ec"
TEAM_FILL_OPACITY = 0.35
_TEAM_COLOURS = {"nord": "#0072b2", "sud": "#e69f00"}
_OTHER_TEAM_COLOURS = ["#009e73", "#cc79a7", "#f0e442"]
_NO_TEAM_COLOUR = "#ffffff"
_NO_TEAM_OPACITY = 0.5
#: Tier styles: each has a non-colour cue too (QPV: thick solid outline and cross-hatching; poches: dashed
#: outline and dots; former QVA: diagonal hatching, whole communes).
_TIER_STYLE = {
    "qpv": {"color": "#1b0a24", "fillColor": "#3d1454", "fillOpacity": 0.6, "weight": 2.5},
    "poche": {"color": "#0b3d1c", "fillColor": "#117733", "fillOpacity": 0.7, "weight": 2, "dashArray": "6 4"},
    "qva": {"color": "#661100", "fillColor": "url(#cq-hatch-qva)", "fillOpacity": 1.0, "weight": 2.5,
            "dashArray": "1 5", "lineCap": "round"},
}
#: Colour of the former-QVA hatching lines.
QVA_HATCH_COLOUR = "#661100"


def _tier_style(definition, tier: str) -> dict:
    """Leaflet style of a tier's zones: the measured styles of the CAPH tiers, else one from the
    tier's colour in the territory file (solid outline, dotted when its priority is low)."""
    if tier in _TIER_STYLE:
        return _TIER_STYLE[tier]
    colour = definition.tiers[tier].colour
    return {"color": colour, "fillColor": colour, "fillOpacity": 0.45, "weight": 2, "dashArray": "2 3"}


_CHORO_COLOURS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"]
_ASSETS = Path(__file__).resolve().parent / "assets"


class MapInputError(CqGeoError, ValueError):
    """A results file (or table) given to the map cannot be used; the message says why, in French."""


# -- small helpers -------------------------------------------------------------------------
def _esc(value: Any) -> str:
    return _html.escape(str(value), quote=True)


def _fr_int(n: int) -> str:
    """French thousands separator (narrow no-break space).

    >>> _fr_int(158351)
    '158\\u202f351'
    """
    from ..report import fr_int

    return fr_int(int(n))


def _fr_date(day: _dt.date) -> str:
    """A date the French way.

    >>> _fr_date(_dt.date(2026, 11, 1))
    '1er novembre 2026'
    """
    return f"{'1er' if day.day == 1 else day.day} {_MONTHS[day.month - 1]} {day.year}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{_fr_int(n)} {word if n <= 1 else (plural or word + 's')}"


def _lonlat_geojson(geom, decimals: int = POLYGON_DECIMALS) -> dict:
    """A Lambert-93 shapely geometry as a GeoJSON dict in WGS84, coordinates rounded."""
    import shapely

    from ..geo.crs import l93_to_lonlat

    def project(coords):
        lon, lat = l93_to_lonlat(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([lon, lat]), decimals)

    return json.loads(shapely.to_geojson(shapely.transform(geom, project)))


def _simplify(geoms: list, tolerance: float, coverage: bool = False) -> list:
    import shapely

    if tolerance <= 0 or not geoms:
        return list(geoms)
    arr = np.asarray(geoms, dtype=object)
    if coverage and hasattr(shapely, "coverage_simplify"):
        try:  # keeps shared limits shared (no slivers between communes)
            out = shapely.coverage_simplify(arr, tolerance)
            if all(g is not None and not g.is_empty for g in out):
                return list(out)
        except Exception:  # pragma: no cover - GEOS < 3.12 or an invalid coverage
            pass
    out = shapely.simplify(arr, tolerance, preserve_topology=True)
    return [o if not o.is_empty else g for o, g in zip(out, arr)]


def _over(colour: str, alpha: float, background: str) -> str:
    """*colour* drawn with opacity *alpha* over *background* (hex colours).

    >>> _over("#000000", 0.5, "#ffffff")
    '#808080'
    """
    fg = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    bg = [int(background[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{int(round(alpha * f + (1 - alpha) * b)):02x}" for f, b in zip(fg, bg))


def legend_colour_groups(definition=None) -> dict[str, dict[str, str]]:
    """The colours seen side by side on the map, as drawn over the plain background.

    One group for the teams, one per team with the tiers drawn over it (QPV,
    poches, and the former-QVA hatching lines), and one for the result points.
    Every pair inside a group must stay distinguishable for the common
    colour-vision deficiencies (checked by the tests).

    >>> groups = legend_colour_groups()
    >>> sorted(groups["Sur Équipe Sud"]), groups["Points"]["Dans un QPV"]
    (['Hachures des anciens QVA', 'Poche de pauvreté', 'QPV', 'Équipe Sud'], '#d55e00')
    """
    if definition is None:
        from ..model import load_definition

        definition = load_definition()
    colours = _team_colours(definition)
    teams = {team.name: _over(colours[tid], TEAM_FILL_OPACITY, MAP_BACKGROUND) for tid, team in definition.teams.items()}
    teams["Sans équipe territoriale"] = _over(_NO_TEAM_COLOUR, _NO_TEAM_OPACITY, MAP_BACKGROUND)
    groups = {"Équipes": dict(teams)}
    for name, base in teams.items():
        groups[f"Sur {name}"] = {
            name: base,
            "QPV": _over(_TIER_STYLE["qpv"]["fillColor"], _TIER_STYLE["qpv"]["fillOpacity"], base),
            "Poche de pauvreté": _over(_TIER_STYLE["poche"]["fillColor"], _TIER_STYLE["poche"]["fillOpacity"], base),
            "Hachures des anciens QVA": QVA_HATCH_COLOUR,
        }
    groups["Points"] = {label: colour for _, label, colour in POINT_CATEGORIES}
    return groups


#: Unit marker shapes (vertices, y down); "circle" is drawn as a circle.
_SHAPES = {
    "square": [[-0.85, -0.85], [0.85, -0.85], [0.85, 0.85], [-0.85, 0.85]],
    "diamond": [[0, -1.25], [1.1, 0], [0, 1.25], [-1.1, 0]],
    "triangle": [[0, -1.2], [1.1, 0.75], [-1.1, 0.75]],
    "triangle-down": [[0, 1.2], [1.1, -0.75], [-1.1, -0.75]],
    "cross": [[-1, -0.6], [-0.6, -1], [0, -0.4], [0.6, -1], [1, -0.6], [0.4, 0], [1, 0.6], [0.6, 1], [0, 0.4],
              [-0.6, 1], [-1, 0.6], [-0.4, 0]],
}


def _shape_path(shape: str, cx: float, cy: float, r: float) -> str:
    """SVG path data of a marker *shape* of radius *r* centred on (cx, cy)."""
    if shape not in _SHAPES:
        return f"M{cx - r:.2f} {cy:.2f}a{r:.2f} {r:.2f} 0 1 0 {2 * r:.2f} 0a{r:.2f} {r:.2f} 0 1 0 {-2 * r:.2f} 0z"
    return "M" + "L".join(f"{cx + x * r:.2f} {cy + y * r:.2f}" for x, y in _SHAPES[shape]) + "z"


def _marker_svg(shape: str, colour: str) -> str:
    """A legend marker: the same shape and colour as the points on the map."""
    return (f"<svg class='cq-mk' width='18' height='16' viewBox='0 0 18 16' aria-hidden='true'>"
            f"<path d='{_shape_path(shape, 9, 8, 5.5)}' fill='{colour}' stroke='#1b2631' stroke-width='1.2'/></svg>")


def _swatch(fill: str, opacity: float, stroke: str, weight: float, dash: str | None = None) -> str:
    """A legend swatch drawn like the polygons on the map (fill, outline style, hatching)."""
    dash_attr = f" stroke-dasharray='{dash}'" if dash else ""
    return (f"<svg class='cq-sw' width='22' height='15' viewBox='0 0 22 15' aria-hidden='true'>"
            f"<rect x='0' y='0' width='22' height='15' fill='{MAP_BACKGROUND}'/>"
            f"<rect x='1.5' y='1.5' width='19' height='12' fill='{fill}' fill-opacity='{opacity}' stroke='{stroke}' "
            f"stroke-width='{min(weight, 2.5)}'{dash_attr}/></svg>")


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


# -- inlined assets ----------------------------------------------------------------------------
def _asset_texts(with_cluster: bool) -> tuple[list[str], list[str]]:
    """(css texts, js texts) to inline: Leaflet (images as data URIs), jQuery, markercluster."""
    try:
        import xstatic.pkg.jquery as xjquery
        import xstatic.pkg.leaflet as xleaflet
    except ImportError as exc:  # pragma: no cover - the map extra installs them
        raise MissingDependency(
            "les cartes ont besoin de XStatic-Leaflet et XStatic-jQuery : pip install \"cq-geo[map]\""
        ) from exc
    leaflet_dir = Path(xleaflet.BASE_DIR)
    css = (leaflet_dir / "leaflet.css").read_text(encoding="utf-8")

    def image(match: re.Match) -> str:
        path = leaflet_dir / "images" / match.group(1)
        return f"url({_data_uri(path, 'image/png')})"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", image, css)
    js = [(leaflet_dir / "leaflet.js").read_text(encoding="utf-8"),
          (Path(xjquery.BASE_DIR) / "jquery.min.js").read_text(encoding="utf-8")]
    # Leaflet finds its marker images from the CSS path: give it data URIs instead.
    icons = {name: _data_uri(leaflet_dir / "images" / name, "image/png")
             for name in ("marker-icon.png", "marker-icon-2x.png", "marker-shadow.png")}
    js.append(
        "L.Icon.Default.mergeOptions({iconUrl:%s,iconRetinaUrl:%s,shadowUrl:%s});L.Icon.Default.prototype._getIconUrl="
        "function(n){return this.options[n+'Url'];};"
        % (json.dumps(icons["marker-icon.png"]), json.dumps(icons["marker-icon-2x.png"]),
           json.dumps(icons["marker-shadow.png"]))
    )
    css_texts = [css]
    if with_cluster:
        for name in ("MarkerCluster.css", "MarkerCluster.Default.css"):
            css_texts.append((_ASSETS / name).read_text(encoding="utf-8"))
        js.append(_strip_source_map((_ASSETS / "leaflet.markercluster.js").read_text(encoding="utf-8")))
    css_texts = [_strip_source_map(c) for c in css_texts]
    return css_texts, [_strip_source_map(j) for j in js]


def _strip_source_map(text: str) -> str:
    return re.sub(r"^[ \t]*(//|/\*)# sourceMappingURL=.*$", "", text, flags=re.MULTILINE)


def _script(text: str) -> str:
    # "</script" inside inlined code would end the element early
    return "<script>" + text.replace("</script", "<\\/script") + "</script>"


_CSS = r"""
html, body { width: 100%; height: 100%; margin: 0; padding: 0; }
body { font-family: "Segoe UI", "DejaVu Sans", Roboto, Helvetica, Arial, sans-serif; color: #1c2833; }
.leaflet-container { background: #f4f2ec; font-family: inherit; font-size: 13px; }
.cq-title { background: rgba(255,255,255,0.95); padding: 8px 14px; border-radius: 6px; max-width: 520px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); }
.cq-title-main { font-size: 19px; font-weight: 700; line-height: 1.2; color: #1b2631; }
.cq-title-sub { font-size: 13px; color: #34495e; margin-top: 2px; }
.cq-title-date { font-size: 12px; color: #5d6d7e; margin-top: 2px; }
.cq-legend { background: rgba(255,255,255,0.95); padding: 8px 12px; border-radius: 6px; max-width: 330px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); font-size: 12.5px; line-height: 1.35; max-height: 62vh; overflow-y: auto; }
.cq-legend-title { font-weight: 700; font-size: 14px; margin-bottom: 4px; }
.cq-leg-h { font-weight: 600; margin: 6px 0 2px; color: #1b2631; }
.cq-leg-row { display: flex; align-items: center; margin: 2px 0; }
.cq-leg-note { font-size: 11.5px; color: #5d6d7e; margin: 1px 0 2px 26px; }
.cq-missing { font-style: italic; color: #922b21; }
.cq-sw { flex: none; width: 22px; height: 15px; margin-right: 8px; }
span.cq-sw { width: 18px; height: 13px; border: 2px solid #555; box-sizing: border-box; }
.cq-mk { flex: none; margin: 0 10px 0 2px; }
.cq-sw-missing { background: repeating-linear-gradient(-45deg, #fff 0 3px, #d5d8dc 3px 5px) !important;
  border: 2px dashed #922b21 !important; }
.cq-footer { background: rgba(255,255,255,0.92); padding: 4px 8px; border-radius: 4px; max-width: 560px;
  font-size: 11px; line-height: 1.3; color: #2c3e50; box-shadow: 0 1px 4px rgba(0,0,0,0.25); }
.cq-footer b, .cq-footer .cq-fold { font-weight: 600; }
.cq-fold { cursor: pointer; user-select: none; }
.cq-fold::after { content: " \25BE"; color: #5d6d7e; }
.cq-folded .cq-fold::after { content: " \25B8"; }
.cq-folded .cq-body { display: none; }
.cq-offline { display: none; color: #5d6d7e; font-style: italic; }
.cq-folded .cq-offline, .cq-folded.cq-tiles-failed .cq-offline { display: none; }
.cq-tiles-failed .cq-offline { display: block; }
.cq-label { background: none; border: none; }
.cq-label span { position: absolute; transform: translate(-50%, -50%); white-space: nowrap; font-size: 11px;
  font-weight: 600; color: #1b2631; pointer-events: none;
  text-shadow: -1px -1px 0 #fff, 1px -1px 0 #fff, -1px 1px 0 #fff, 1px 1px 0 #fff, 0 0 3px #fff; }
.cq-label-major span { font-size: 12.5px; font-weight: 700; }
.cq-with-points .cq-label span { transform: translate(-50%, -50%) translateY(-22px); }
.cq-zoom-low .cq-label-minor { display: none; }
.cq-popup h3 { margin: 0 0 4px; font-size: 15px; }
.cq-popup .cq-tier { font-size: 11.5px; text-transform: uppercase; letter-spacing: .03em; color: #5d6d7e; }
.cq-popup table { border-collapse: collapse; font-size: 12.5px; }
.cq-popup th { text-align: left; vertical-align: top; padding: 2px 8px 2px 0; color: #34495e; font-weight: 600;
  white-space: nowrap; }
.cq-popup td { padding: 2px 0; vertical-align: top; }
.cq-fullscreen a { font-size: 18px; line-height: 30px; font-weight: 700; }
.cq-minimap { width: 170px; height: 150px; border: 2px solid rgba(0,0,0,0.3); border-radius: 4px; background: #f4f2ec;
  box-shadow: 0 1px 4px rgba(0,0,0,0.25); }
.cq-minimap .leaflet-container { background: #f4f2ec; }
.cq-cluster div { width: 100%; height: 100%; border-radius: 50%; display: flex; align-items: center;
  justify-content: center; box-shadow: 0 0 0 2px rgba(255,255,255,0.9), 0 1px 4px rgba(0,0,0,0.5); }
.cq-cluster span { background: #fff; border-radius: 50%; min-width: 58%; height: 58%; display: flex;
  align-items: center; justify-content: center; font-weight: 700; font-size: 11.5px; color: #1b2631; padding: 0 2px; }
.leaflet-container .leaflet-control-attribution { font-size: 11px; }
.cq-label-minor span { font-size: 10.5px; font-weight: 600; color: #2c3e50; }
.leaflet-control-layers-expanded { font-size: 12.5px; max-height: 55vh; overflow-y: auto; }
.leaflet-control-layers label.cq-layer-missing { color: #922b21; font-style: italic; }
.cq-label-qpv span { font-size: 10.5px; font-style: italic; font-weight: 700; color: #3d1454; }
.cq-tech { margin-top: 3px; color: #5d6d7e; }
.cq-tech summary { cursor: pointer; font-weight: 600; color: #34495e; }
.cq-print { display: none; }
/* phones and narrow windows: everything starts folded (see the script), smaller boxes, no minimap */
@media (max-width: 700px) {
  .cq-title { max-width: calc(100vw - 76px); padding: 5px 9px; box-sizing: border-box; }
  .cq-title-main { font-size: 15px; }
  .cq-title-sub { font-size: 11.5px; }
  .cq-minimap { display: none; }
  .cq-legend { max-width: calc(100vw - 24px); max-height: 45vh; box-sizing: border-box; }
  .cq-footer { max-width: calc(100vw - 24px); box-sizing: border-box; }
  .leaflet-control-layers-expanded { max-width: calc(100vw - 24px); max-height: 50vh; }
}
/* printing: the interactive map is replaced by a vector drawing of the whole territory (built by the
   script at print time) that fits the page whatever the window, A4 or A3, portrait or landscape */
@page { margin: 8mm; }
@media print {
  * { -webkit-print-color-adjust: exact !important; print-color-adjust: exact !important; }
  html, body { width: 100%; height: 100%; margin: 0; overflow: visible; }
  body > *:not(.cq-print):not(.cq-defs) { display: none !important; }
  .cq-print { display: block !important; width: 100%; height: 100vh; box-sizing: border-box; container-type: size;
    page-break-inside: avoid; break-inside: avoid; overflow: hidden; }
  .cq-print-page { display: flex; flex-direction: column; width: 100%; height: 100%; }
  .cq-print-title { flex: none; margin-bottom: 2mm; }
  .cq-print-title .cq-title-main { font-size: 15pt; font-weight: 700; }
  .cq-print-title .cq-title-sub, .cq-print-title .cq-title-date { font-size: 9.5pt; display: inline; margin-right: 4mm; }
  .cq-print-main { flex: 1 1 auto; display: flex; flex-direction: row; min-height: 0; gap: 4mm; }
  .cq-print-map { flex: 1 1 auto; min-width: 0; min-height: 0; position: relative; border: 0.3mm solid #999;
    background: #f4f2ec; }
  .cq-print-map svg { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }
  .cq-print-side { flex: 0 0 72mm; font-size: 7pt; line-height: 1.2; overflow: hidden; }
  .cq-print-side .cq-legend, .cq-print-side .cq-footer { max-width: none; max-height: none; overflow: visible;
    box-shadow: none; border: 0.3mm solid #999; padding: 1.2mm 2mm; margin-bottom: 1.5mm; font-size: 7pt;
    border-radius: 1mm; background: #fff; }
  .cq-print-side .cq-legend-title { font-size: 9pt; }
  .cq-print-side .cq-fold::after, .cq-print-side .cq-offline, .cq-print-side .cq-tech summary { display: none; }
  .cq-print-side .cq-body, .cq-print-side .cq-tech { display: block !important; }
  .cq-print-side .cq-footer { font-size: 6.5pt; }
  .cq-print-side .cq-tech { font-size: 5.6pt; line-height: 1.15; }
  .cq-print-side .cq-leg-note { font-size: 6.5pt; margin-left: 9mm; }
  .cq-print-side .cq-leg-row { margin: 0.4mm 0; }
  .cq-print-side .cq-leg-h { margin: 1.2mm 0 0.5mm; }
}
/* a portrait page (the print media queries on orientation follow the window, not the paper: a container
   query on the page box does follow the paper) */
@container (aspect-ratio < 1.15) {
  .cq-print-main { flex-direction: column; }
  .cq-print-side { flex: none; display: flex; gap: 3mm; align-items: flex-start; }
  .cq-print-side > * { flex: 1 1 50%; }
}
"""

# Hatching for the former QVA (whole communes): the team colour stays visible underneath.
_SVG_DEFS = (
    '<svg class="cq-defs" width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
    '<pattern id="cq-hatch-qva" patternUnits="userSpaceOnUse" width="9" height="9" patternTransform="rotate(45)">'
    '<rect width="2.6" height="9" fill="#661100" fill-opacity="0.85"/></pattern></defs></svg>'
)


# -- results (batch output) -----------------------------------------------------------------
@dataclass
class _Results:
    lon: np.ndarray
    lat: np.ndarray
    category: np.ndarray  # index into POINT_CATEGORIES, -1 = not drawn
    commune_insee: np.ndarray
    commune: np.ndarray
    qpv_code: np.ndarray
    zone: np.ndarray  # names of the zones that cover the point (text)
    reason: np.ndarray
    total: int
    source: str
    first_row: int = 1  # number shown for the first row (2 in a CSV: its header is line 1)

    @property
    def drawn(self) -> np.ndarray:
        return self.category >= 0


def read_results_table(path: Path):
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        try:
            import geopandas as gpd
        except ImportError as exc:
            raise MissingDependency("lire un GeoPackage demande geopandas : pip install \"cq-geo[geo]\"") from exc
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:
            raise MapInputError(f"GeoPackage illisible : {path} ({exc})") from exc
        if gdf.geometry is None or len(gdf) and not (gdf.geometry.geom_type.dropna() == "Point").all():
            raise MapInputError(f"{path} : une couche de points est attendue")
        if gdf.crs is not None and len(gdf):
            gdf = gdf.to_crs(4326)
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        empty = gdf.geometry.isna() | gdf.geometry.is_empty
        df["cq_lon"] = np.where(empty, np.nan, gdf.geometry.x.where(~empty))
        df["cq_lat"] = np.where(empty, np.nan, gdf.geometry.y.where(~empty))
        return df
    if suffix == ".xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError as exc:
            raise MissingDependency("lire un fichier XLSX demande openpyxl : pip install \"cq-geo[batch]\"") from exc
        try:
            return pd.read_excel(path, dtype=str, keep_default_na=False)
        except Exception as exc:
            raise MapInputError(f"{path} : classeur XLSX illisible ({exc})") from exc
    if suffix not in (".csv", ".txt", ".tsv"):
        raise MapInputError(f"{path} : format non pris en charge (CSV, XLSX ou GeoPackage attendu)")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise MapInputError(f"{path} : fichier vide")
    sep = max((";", ",", "\t"), key=first.count)
    import io

    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except Exception as exc:
        raise MapInputError(f"{path} : CSV illisible ({exc})") from exc


def _column(df, *names):
    lower = {str(c).lower(): c for c in df.columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def read_results(results, territory) -> _Results:
    """Read batch results (a CSV, XLSX or GeoPackage path, or a pandas DataFrame) for the map.

    Coordinates come from ``cq_lon``/``cq_lat`` (or ``lon``/``lat``) in WGS84
    degrees. ``cq_status`` and the lookup columns are used when present; for
    missing columns the points are classified as ``cq-geo batch`` does (:func:`cq_geo.bulk.run.batch`).
    The input is only read.

    Examples
    --------
    >>> import pandas as pd
    >>> from cq_geo.territory import load_territory
    >>> r = read_results(pd.DataFrame({"lon": [3.3957, 2.35, None], "lat": [50.329, 48.85, None]}), load_territory())
    >>> [POINT_CATEGORIES[c][0] if c >= 0 else None for c in r.category]
    ['to_check', 'outside', None]
    """
    import pandas as pd

    from ..territory import to_float

    source, first_row = "table", 1
    if not isinstance(results, pd.DataFrame):
        path = Path(results)
        if not path.is_file():
            raise MapInputError(f"fichier de résultats introuvable : {path}")
        df = read_results_table(path)
        source = path.name
        first_row = 1 if path.suffix.lower() == ".gpkg" else 2
    else:
        df = results
    lon_col, lat_col = _column(df, "cq_lon", "lon", "longitude"), _column(df, "cq_lat", "lat", "latitude")
    if lon_col is None or lat_col is None:
        raise MapInputError(
            f"{source} : colonnes de coordonnées introuvables (cq_lon/cq_lat ou lon/lat attendues ; "
            f"colonnes présentes : {', '.join(map(str, df.columns[:20])) or 'aucune'})"
        )

    def floats(col):
        values = df[col].to_numpy()
        try:
            return np.asarray(values, dtype="float64")
        except (TypeError, ValueError):
            return np.array([to_float(v) if str(v).strip() not in ("", "nan", "None") else np.nan for v in values],
                            dtype="float64")

    lon, lat = floats(lon_col), floats(lat_col)
    n = len(df)
    have = {c: _column(df, c) for c in ("cq_status", "cq_primary_tier", "cq_commune_insee", "cq_commune",
                                         "cq_qpv_code", "cq_qpv_name", "cq_qpv_status", "cq_reason",
                                         "cq_warnings", *(f"cq_{t}" for t in territory.definition.local_tier_ids))}
    need_lookup = any(have[c] is None for c in ("cq_status", "cq_primary_tier", "cq_commune_insee", "cq_qpv_code"))
    looked = None
    if need_lookup and n:  # classify the points the way ``cq-geo batch`` does (same statuses, same reasons)
        from ..bulk.run import batch

        looked, _ = batch(pd.DataFrame({"lon": lon, "lat": lat}), territory=territory, lon_col="lon", lat_col="lat",
                          geocoder="none")

    def text(col: str) -> np.ndarray:
        if have.get(col) is not None:
            return df[have[col]].fillna("").astype(str).to_numpy(dtype=object)
        if looked is not None and col in looked.columns:
            return looked[col].astype(str).to_numpy(dtype=object)
        return np.full(n, "", dtype=object)

    tier = text("cq_primary_tier")
    if have["cq_status"] is not None:
        status = np.array([s.strip().lower() for s in text("cq_status")], dtype=object)
        bad = sorted(set(status) - set(BATCH_STATUSES) - {""})
        if bad:
            raise MapInputError(
                f"{source} : valeur(s) de cq_status inconnue(s) : {', '.join(map(repr, bad[:5]))} "
                f"(valeurs attendues : {', '.join(BATCH_STATUSES)})"
            )
    else:
        status = text("cq_status") if looked is not None else np.full(n, "invalid", dtype=object)
    finite = np.isfinite(lon) & np.isfinite(lat)
    category = np.full(n, -1, dtype="int64")
    for i in range(n):
        s = status[i]
        if not finite[i] or s in ("not_found", "invalid"):
            continue
        if s == "to_check":
            category[i] = _CAT_INDEX["to_check"]
        elif s == "outside_territory":
            category[i] = _CAT_INDEX["outside"]
        else:
            category[i] = _CAT_INDEX.get(str(tier[i]).strip().lower() or "none", _CAT_INDEX["none"])
    zone_cols = ["cq_qpv_name"] + [f"cq_{t}" for t in territory.definition.local_tier_ids]
    zone = np.array([" ; ".join(v for v in vals if v) for vals in zip(*(text(c) for c in zone_cols))], dtype=object)
    reason = text("cq_reason") if (have["cq_reason"] is not None or looked is not None) else text("cq_warnings")
    qpv_code = text("cq_qpv_code")
    if have["cq_qpv_status"] is not None or looked is not None:
        qstatus = text("cq_qpv_status")
        qpv_code = np.where(np.isin(qstatus, ["inside", "boundary"]), qpv_code, "")
    return _Results(lon=lon, lat=lat, category=category, commune_insee=text("cq_commune_insee"),
                    commune=text("cq_commune"), qpv_code=qpv_code, zone=zone, reason=reason, total=n, source=source,
                    first_row=first_row)


# -- folium pieces ----------------------------------------------------------------------------------
def _folium():
    try:
        import folium
        from folium.map import Layer
    except ImportError as exc:
        raise MissingDependency("les cartes ont besoin de folium : pip install \"cq-geo[map]\"") from exc
    return folium, Layer


def _classes():
    """Folium classes defined lazily (folium is an optional dependency)."""
    folium, Layer = _folium()
    from branca.element import Element, MacroElement
    from jinja2 import Template

    class OfflineMap(folium.Map):
        """A folium Map that links nothing from a CDN (assets are inlined by :func:`make_map`)."""

        default_js: list = []
        default_css: list = []

    class JsLayer(Layer):
        """A layer built by a JavaScript expression (``js``); listed in the layer control."""

        _template = Template(
            "{% macro script(this, kwargs) %}var {{ this.get_name() }} = {{ this.js }};{% endmacro %}"
        )

        def __init__(self, js: str, name: str, show: bool = True):
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = "CqLayer"
            self.js = js

    class Script(MacroElement):
        """Raw JavaScript run after the map and its layers exist."""

        _template = Template("{% macro script(this, kwargs) %}{{ this.js }}{% endmacro %}")

        def __init__(self, js: str):
            super().__init__()
            self._name = "CqScript"
            self.js = js

    return folium, OfflineMap, JsLayer, Script, Element


def _leads_html(definition, leads) -> str:
    items = []
    for lead in leads:
        detail = " ; ".join(x for x in (lead.orientation_detail, lead.axis_detail) if x)
        items.append(f"{_esc(lead.title)}" + (f" <span style='color:#5d6d7e'>({_esc(detail)})</span>" if detail else ""))
    return "<br>".join(items)


def _popup(title: str, rows: list[tuple[str, str]], kicker: str = "") -> str:
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{v}</td></tr>" for k, v in rows if v)
    kick = f"<div class='cq-tier'>{_esc(kicker)}</div>" if kicker else ""
    return f"<div class='cq-popup'>{kick}<h3>{_esc(title)}</h3><table>{body}</table></div>"


def _team_colours(definition) -> dict[str, str]:
    colours, extra = {}, iter(_OTHER_TEAM_COLOURS)
    for tid in definition.teams:
        colours[tid] = _TEAM_COLOURS.get(tid) or next(extra, "#76448a")
    return colours


def _status_text(info) -> str:
    return STATUS_LABELS.get(info.status, info.status)


def _choropleth_breaks(counts: Iterable[int]) -> list[int]:
    """Upper bounds of up to 5 classes for positive counts (rounded, increasing).

    >>> _choropleth_breaks([0, 1, 2, 3, 50, 100, 1000])
    [2, 3, 50, 100, 1000]
    >>> _choropleth_breaks([1, 1, 1, 5])
    [1, 5]
    >>> _choropleth_breaks([0, 0])
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


def _class_of(count: int, breaks: list[int]) -> int:
    for i, b in enumerate(breaks):
        if count <= b:
            return i
    return len(breaks) - 1


def make_map(territory=None, results=None, title: str | None = None, *, subtitle: str | None = None,
             tiles: bool = True, simplify_m: float = DEFAULT_SIMPLIFY_M, date=None, cluster: bool = True):
    """Build the council map (a :class:`folium.Map` whose assets are inlined).

    Parameters
    ----------
    territory : a :class:`~cq_geo.territory.Territory` (default: :func:`~cq_geo.territory.load_territory`).
    results : optional batch results: path of a CSV / GeoPackage, or a DataFrame (see :func:`read_results`).
    title, subtitle : texts at the top left (French defaults).
    tiles : add the Plan IGN v2 background (needs the network to show; the map draws without it).
    simplify_m : display simplification tolerance in metres (stated in the footer).
    date : the date printed on the map (``datetime.date`` or ``"YYYY-MM-DD"``; default today).
    cluster : cluster the result points (Leaflet.markercluster).

    Examples
    --------
    >>> from cq_geo.territory import load_territory
    >>> m = make_map(load_territory(), title="Essai", tiles=False, date="2026-11-27")
    >>> html = map_html(m)
    >>> "Essai" in html and "27 novembre 2026" in html and "data.geopf.fr" not in html
    True
    """
    import shapely

    from .._version import __version__

    folium, OfflineMap, JsLayer, Script, Element = _classes()
    if territory is None:
        from ..territory import load_territory

        territory = load_territory()
    if simplify_m < 0:
        raise MapInputError("la tolérance de simplification doit être positive ou nulle")
    if date is None:
        day = _dt.date.today()
    elif isinstance(date, _dt.date):
        day = date
    else:
        try:
            day = _dt.date.fromisoformat(str(date))
        except ValueError:
            raise MapInputError(f"date invalide : {date!r} (format attendu AAAA-MM-JJ)") from None
    d = territory.definition
    res = read_results(results, territory) if results is not None else None

    # -- geometry, simplified for display ----------------------------------------------------------
    codes = list(territory.commune_codes)
    commune_geoms = _simplify(list(territory.communes.geoms), simplify_m, coverage=True)
    commune_simple = dict(zip(codes, commune_geoms))
    outline = shapely.union_all(np.asarray(commune_geoms, dtype=object))
    x0, y0, x1, y1 = shapely.total_bounds(outline)
    from ..geo.crs import l93_to_lonlat

    (lon0, lon1), (lat0, lat1) = l93_to_lonlat(np.array([x0, x1]), np.array([y0, y1]))
    bounds = [[float(lat0), float(lon0)], [float(lat1), float(lon1)]]
    team_colour = _team_colours(d)

    m = OfflineMap(location=[(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2], zoom_start=11,
                   tiles=None, zoom_control=False, control_scale=False, zoomSnap=0.25, minZoom=7, maxZoom=19)
    m.fit_bounds(bounds, padding=(10, 10))
    root = m.get_root()
    css_texts, js_texts = _asset_texts(with_cluster=res is not None and cluster)
    for i, css in enumerate(css_texts + [_CSS]):
        root.header.add_child(Element(f"<style>{css}</style>"), name=f"cq_css_{i}")
    for i, js in enumerate(js_texts):
        root.header.add_child(Element(_script(js)), name=f"cq_js_{i}")
    root.header.add_child(Element(f"<title>{_esc(title or 'Carte du Contrat Quartiers 2030')}</title>"), name="cq_title")
    root.html.add_child(Element(_SVG_DEFS), name="cq_svg_defs")

    # -- base layers --------------------------------------------------------------------------------
    tile_layer = None
    if tiles:
        import xyzservices.providers as xyz

        plan = xyz.GeoportailFrance.plan
        tile_layer = folium.TileLayer(
            tiles=plan.build_url(), name="Plan IGN v2 (en ligne)",
            attr=plan.html_attribution + " — Plan IGN v2, © IGN", max_zoom=19, overlay=False, show=True,
        )
        tile_layer.add_to(m)
        folium.FeatureGroup(name="Fond neutre (hors ligne)", overlay=False, show=False).add_to(m)

    # -- communes by team -------------------------------------------------------------------------------
    features = []
    team_count: dict[str, int] = {}
    zones_by_commune: dict[str, list] = {}
    for z in d.zones:
        for c in z.communes:
            zones_by_commune.setdefault(c, []).append(z)
    for code, geom in zip(codes, commune_geoms):
        commune = d.communes[code]
        team = d.team_of(code)
        tid = team.id if team else ""
        team_count[tid] = team_count.get(tid, 0) + 1
        geo_lines = []
        for tier in d.tier_ids:
            zs = [z for z in zones_by_commune.get(code, []) if z.tier == tier]
            if not zs:
                continue
            drawn = {z.code for z in territory.tiers[tier].zones}
            names = ", ".join(
                _esc(z.name) + ("" if z.code in drawn else " <i>(périmètre non installé)</i>") for z in zs
            )
            geo_lines.append(f"<b>{_esc(d.tiers[tier].short_label)}</b> : {names}")
        rows = [
            ("Code INSEE", _esc(code)),
            ("Population", f"{_fr_int(commune.population)} hab. (population municipale)" if commune.population else ""),
            ("Équipe", _esc(team.name) if team else "aucune équipe territoriale dans le contrat"),
            ("Chefs de projet référents", _leads_html(d, d.team_leads(tid)) if team else ""),
            ("Géographie prioritaire", "<br>".join(geo_lines) or "aucune zone du contrat"),
        ]
        features.append({"type": "Feature", "id": code, "geometry": _lonlat_geojson(geom),
                         "properties": {"insee": code, "name": commune.name, "team": tid,
                                        "popup": _popup(commune.name, rows, "Commune")}})
    commune_fc = {"type": "FeatureCollection", "features": features}

    bind = folium.JsCode(
        "function(feature, layer) { layer.bindPopup(feature.properties.popup, {maxWidth: 380});"
        " layer.bindTooltip(feature.properties.name, {sticky: true}); }"
    )

    def team_style(feature):
        tid = feature["properties"]["team"]
        colour = team_colour.get(tid, _NO_TEAM_COLOUR)
        if not tid:
            return {"color": "#566573", "weight": 1.2, "dashArray": "4 3", "fillColor": colour,
                    "fillOpacity": _NO_TEAM_OPACITY}
        return {"color": colour, "weight": 1.2, "fillColor": colour, "fillOpacity": TEAM_FILL_OPACITY}

    fg = folium.FeatureGroup(name="Communes par équipe", overlay=True, show=True)
    folium.GeoJson(commune_fc, style_function=team_style, on_each_feature=bind, className="cq-commune",
                   highlight_function=lambda f: {"weight": 3}).add_to(fg)
    fg.add_to(m)

    # -- tiers (lowest priority first, so the QPV are drawn on top) -------------------------------------
    tier_layers = {}
    for tier in reversed(d.tier_ids):
        data = territory.tiers[tier]
        info = data.info
        label = territory.vocabulary.layer_name(tier)
        if data.index is None:
            name = f"{label} — périmètres non installés"
        elif data.missing:
            name = f"{label} ({len(data.zones)} sur {len(data.zones) + len(data.missing)})"
        else:
            name = f"{label} ({len(data.zones)})"
        group = folium.FeatureGroup(name=name, overlay=True, show=True)
        tier_layers[tier] = group
        if data.index is not None:
            feats = []
            for z, geom, status in zip(data.zones, data.index.geoms, data.statuses):
                if z.geometry == "commune" and z.communes[0] in commune_simple:
                    shape = commune_simple[z.communes[0]]
                else:
                    shape = _simplify([geom], simplify_m)[0]
                teams = sorted({d.team_of(c).name for c in z.communes if d.team_of(c)})
                team_ids = sorted({d.team_of(c).id for c in z.communes if d.team_of(c)})
                leads = [lead for t in team_ids for lead in d.team_leads(t)] + d.tier_leads(tier)
                communes = ", ".join(_esc(d.commune_name(c)) for c in z.communes)
                others = ", ".join(_esc(f"{name} ({insee})") for insee, name in z.other_communes)
                rows = [
                    ("Code", _esc(z.code)),
                    ("Commune(s)", communes),
                    (f"Hors {territory.vocabulary.agglo}", others),
                    ("Population", f"{_fr_int(z.population)} hab." if z.population else ""),
                    ("Équipe", _esc(", ".join(teams)) if teams else "aucune équipe territoriale"),
                    ("Chefs de projet", _leads_html(d, leads)),
                    ("Périmètre", _esc(
                        ("commune entière, " if z.geometry == "commune" else "") + STATUS_LABELS.get(status, status)
                        + (f" — {info.source}" if info.source else "") + (f", {info.vintage}" if info.vintage else "")
                    )),
                ]
                feats.append({"type": "Feature", "id": z.code, "geometry": _lonlat_geojson(shape),
                              "properties": {"code": z.code, "name": z.name,
                                             "popup": _popup(z.name, rows, d.tiers[tier].label)}})
            style = dict(_tier_style(d, tier))
            folium.GeoJson({"type": "FeatureCollection", "features": feats}, style_function=lambda f, s=style: s,
                           on_each_feature=bind, className=f"cq-zone cq-{tier}",
                           highlight_function=lambda f: {"weight": 4}).add_to(group)
        group.add_to(m)

    # -- commune names --------------------------------------------------------------------------------------
    # priority (the declutter keeps the higher first): communes of a team, then the QPV names, then the other
    # communes by population
    labels = []
    for code, geom in zip(codes, commune_geoms):
        centre = shapely.get_point(shapely.maximum_inscribed_circle(geom, 20.0), 0)
        lon, lat = l93_to_lonlat(np.array([centre.x]), np.array([centre.y]))
        pop = d.communes[code].population or 0
        in_team = d.team_of(code) is not None
        labels.append([round(float(lat[0]), 5), round(float(lon[0]), 5), _esc(d.commune_name(code)),
                       "cq-label-major" if in_team or pop >= 5000 else "cq-label-minor",
                       (2e7 if in_team else 0) + pop])

    def label_layer(items: list, name: str):
        js = (
            "(function(){var mp=%s;if(!mp.getPane('cqLabels')){mp.createPane('cqLabels').style.zIndex=640;}"
            "var g=L.layerGroup();%s.forEach(function(l){L.marker([l[0],l[1]],{pane:'cqLabels',icon:L.divIcon({"
            "className:'cq-label '+l[3],html:'<span data-p=\"'+l[4]+'\">'+l[2]+'</span>',iconSize:null}),"
            "interactive:false,keyboard:false}).addTo(g);});return g;})()"
            % (m.get_name(), json.dumps(items, ensure_ascii=False))
        )
        JsLayer(js, name).add_to(m)

    label_layer(labels, "Noms des communes")
    qpv_labels = []
    qdata = territory.tiers["qpv"]
    if qdata.index is not None:
        for z, geom in zip(qdata.zones, qdata.index.geoms):
            centre = shapely.get_point(shapely.maximum_inscribed_circle(geom, 5.0), 0)
            lon, lat = l93_to_lonlat(np.array([centre.x]), np.array([centre.y]))
            qpv_labels.append([round(float(lat[0]), 5), round(float(lon[0]), 5), _esc(f"QPV {z.name}"),
                               "cq-label-qpv", 1e7 + (z.population or 0)])
        label_layer(qpv_labels, "Noms des QPV")

    # -- results: points and choropleths ----------------------------------------------------------------------
    choro_layers = {}
    points_layer = None
    if res is not None:
        drawn = np.flatnonzero(res.drawn)
        strings: dict[str, int] = {"": 0}
        table = [""]

        def sid(value) -> int:
            value = str(value or "")
            if value not in strings:
                strings[value] = len(table)
                table.append(_esc(value))
            return strings[value]

        pts = [[round(float(res.lat[i]), POINT_DECIMALS), round(float(res.lon[i]), POINT_DECIMALS),
                int(res.category[i]), int(i) + res.first_row, sid(res.commune[i]), sid(res.zone[i]), sid(res.reason[i])]
               for i in drawn]
        cats = [[_esc(label), colour, _SHAPES.get(shape)] for (_, label, colour), shape in zip(POINT_CATEGORIES,
                                                                                               POINT_SHAPES)]
        payload = json.dumps({"p": pts, "s": table, "c": cats}, ensure_ascii=False, separators=(",", ":"))
        group_js = (
            "L.markerClusterGroup({chunkedLoading:true,maxClusterRadius:50,showCoverageOnHover:false,"
            "spiderfyOnMaxZoom:true,disableClusteringAtZoom:17,iconCreateFunction:function(cl){"
            "var n=new Array(D.c.length).fill(0);cl.getAllChildMarkers().forEach(function(mk){n[mk.options.cqCat]++;});"
            "var t=cl.getChildCount(),a=0,st=[];n.forEach(function(v,k){if(v){var b=a+360*v/t;"
            "st.push(D.c[k][1]+' '+a.toFixed(1)+'deg '+b.toFixed(1)+'deg');a=b;}});"
            "var s=t<10?30:(t<100?36:(t<1000?44:52));"
            "return L.divIcon({html:'<div style=\"background:conic-gradient('+st.join(',')+')\"><span>'+t+'</span></div>',"
            "className:'cq-cluster',iconSize:L.point(s,s)});}})"
            if cluster else "L.featureGroup()"
        )
        points_js = (
            "(function(){var D=%s;window.cqPointData=D;var Shape=L.CircleMarker.extend({_updatePath:function(){"
            "var v=this.options.cqShape;if(!v||!this._renderer._setPath){return L.CircleMarker.prototype._updatePath.call(this);}"
            "var p=this._point,r=this._radius,d='';v.forEach(function(q,i){d+=(i?'L':'M')+(p.x+q[0]*r).toFixed(1)+' '"
            "+(p.y+q[1]*r).toFixed(1);});this._renderer._setPath(this,d+'z');}});"
            "var g=%s;var mk=[];D.p.forEach(function(p){mk.push(new Shape([p[0],p[1]],"
            "{radius:6,color:'#1b2631',weight:1.2,fillColor:D.c[p[2]][1],fillOpacity:0.95,className:'cq-point',cqShape:D.c[p[2]][2],"
            "cqCat:p[2],cqRow:p[3],cqCom:p[4],cqZone:p[5],cqWhy:p[6]}));});"
            "if(g.addLayers){g.addLayers(mk);}else{mk.forEach(function(x){g.addLayer(x);});}"
            "g.on('click',function(e){var o=e.layer.options;var h='<div class=\"cq-popup\"><div class=\"cq-tier\">'"
            "+%s+o.cqRow+'</div><h3>'+D.c[o.cqCat][0]+'</h3><table>';"
            "if(o.cqCom){h+='<tr><th>Commune</th><td>'+D.s[o.cqCom]+'</td></tr>';}"
            "if(o.cqZone){h+='<tr><th>Zone(s)</th><td>'+D.s[o.cqZone]+'</td></tr>';}"
            "if(o.cqWhy){h+='<tr><th>Remarque</th><td>'+D.s[o.cqWhy]+'</td></tr>';}"
            "L.popup({maxWidth:340}).setLatLng(e.layer.getLatLng()).setContent(h+'</table></div>').openOn(%s);});"
            "return g;})()" % (payload, group_js, json.dumps("Entité n° " if res.source.lower().endswith(".gpkg") else "Ligne "),
                               m.get_name())
        )
        points_layer = JsLayer(points_js, f"Points de la table ({_fr_int(len(drawn))})")
        points_layer.add_to(m)

        # counts per commune and per QPV (points classified inside)
        counts_c: dict[str, int] = {}
        for code in res.commune_insee[res.drawn]:
            if code:
                counts_c[str(code)] = counts_c.get(str(code), 0) + 1
        choro_specs = [("commune", "Nombre de points par commune", commune_fc["features"],
                        lambda f: counts_c.get(f["properties"]["insee"], 0))]
        qdata = territory.tiers["qpv"]
        if qdata.index is not None:
            counts_q: dict[str, int] = {}
            for code in res.qpv_code[res.drawn]:
                if code:
                    counts_q[str(code)] = counts_q.get(str(code), 0) + 1
            qfeats = [{"type": "Feature", "id": z.code, "geometry": _lonlat_geojson(_simplify([g], simplify_m)[0]),
                       "properties": {"code": z.code, "name": z.name}}
                      for z, g in zip(qdata.zones, qdata.index.geoms)]
            choro_specs.append(("qpv", "Nombre de points par QPV", qfeats,
                                lambda f: counts_q.get(f["properties"]["code"], 0)))
        for key, cname, feats, count_of in choro_specs:
            counts = [count_of(f) for f in feats]
            breaks = _choropleth_breaks(counts)
            cfeats = []
            for f, count in zip(feats, counts):
                colour = _CHORO_COLOURS[_class_of(count, breaks)] if count else "#ffffff"
                name = f["properties"]["name"]
                cfeats.append({"type": "Feature", "id": f["id"], "geometry": f["geometry"],
                               "properties": {"name": name, "colour": colour,
                                              "popup": _popup(name, [("Points", _fr_int(count))], cname)}})
            group = folium.FeatureGroup(name=cname, overlay=True, show=False)
            folium.GeoJson({"type": "FeatureCollection", "features": cfeats},
                           style_function=lambda f: {"color": "#424949", "weight": 1,
                                                     "fillColor": f["properties"]["colour"], "fillOpacity": 0.8},
                           on_each_feature=bind, className=f"cq-choro cq-choro-{key}").add_to(group)
            group.add_to(m)
            choro_layers[key] = (group, cname, breaks)

    folium.LayerControl(position="topright", collapsed=False).add_to(m)

    # -- legend, title, footer, controls ---------------------------------------------------------------------
    legend = ["<div class='cq-legend-title cq-fold' title='Afficher ou masquer'>Légende</div>",
              "<div class='cq-body'>",
              "<div class='cq-leg-h'>Communes par équipe territoriale</div>"]
    for tid, team in d.teams.items():
        colour = team_colour[tid]
        legend.append(f"<div class='cq-leg-row'>{_swatch(colour, TEAM_FILL_OPACITY, colour, 1.5)}"
                      f"{_esc(team.name)} ({_plural(team_count.get(tid, 0), 'commune')})</div>")
    if team_count.get(""):
        legend.append(f"<div class='cq-leg-row'>{_swatch(_NO_TEAM_COLOUR, _NO_TEAM_OPACITY, '#566573', 1.5, '3 2')}"
                      f"Sans équipe territoriale ({_plural(team_count[''], 'commune')})</div>")
    legend.append("<div class='cq-leg-h'>Géographie prioritaire</div>")
    for tier in d.tier_ids:
        data = territory.tiers[tier]
        style = _tier_style(d, tier)
        label = territory.vocabulary.layer_name(tier)
        missing = ("périmètres QPV non installés" if tier == "qpv"
                   else f"périmètres des {d.tiers[tier].plural} non installés")
        total = len(data.zones) + len(data.missing)
        if data.index is None:
            legend.append(f"<div class='cq-leg-row'><span class='cq-sw cq-sw-missing'></span><span>{_esc(label)} : "
                          f"<span class='cq-missing'>{_esc(missing)}</span></span></div>")
            legend.append(f"<div class='cq-leg-note'>{_plural(total, 'zone')} dans le contrat, aucune dessinée"
                          "</div>")
            continue
        swatch = _swatch(style["fillColor"], style["fillOpacity"], style["color"], style["weight"],
                         style.get("dashArray"))
        whole = sum(1 for z in data.zones if z.geometry == "commune")
        detail = (f"{_plural(whole, 'commune entière', 'communes entières')}" if whole == len(data.zones)
                  else _plural(len(data.zones), "périmètre"))
        status = ", ".join(sorted({_STATUS_PLURAL.get(s, s) for s in data.statuses}))
        legend.append(f"<div class='cq-leg-row'>{swatch}{_esc(label)} ({detail})</div>")
        legend.append(f"<div class='cq-leg-note'>contours {status}</div>")
        if data.missing:
            names = ", ".join(_esc(z.name) for z in data.missing)
            count = _plural(len(data.missing), "périmètre non installé", "périmètres non installés")
            legend.append(f"<div class='cq-leg-note cq-missing'>{count} : {names}</div>")
    if res is not None:
        n_drawn = int(res.drawn.sum())
        legend.append(f"<div class='cq-leg-h'>Points de la table ({_fr_int(n_drawn)} sur {_fr_int(res.total)})</div>")
        for k, (key, label, colour) in enumerate(POINT_CATEGORIES):
            count = int((res.category == k).sum())
            if count:
                legend.append(f"<div class='cq-leg-row'>{_marker_svg(POINT_SHAPES[k], colour)}"
                              f"{_esc(label)} : {_fr_int(count)}</div>")
        if res.total - n_drawn:
            legend.append(f"<div class='cq-leg-note'>{_fr_int(res.total - n_drawn)} non localisé(s) ou invalide(s), "
                          "non dessiné(s)</div>")
        for key, (group, cname, breaks) in choro_layers.items():
            rows = [f"<div class='cq-leg-h'>{_esc(cname)}</div>",
                    "<div class='cq-leg-row'><span class='cq-sw' style='background:#fff;border-color:#424949'></span>0</div>"]
            low = 1
            for i, b in enumerate(breaks):
                text = f"{_fr_int(low)}" if b == low else f"{_fr_int(low)} à {_fr_int(b)}"
                rows.append(f"<div class='cq-leg-row'><span class='cq-sw' style='background:{_CHORO_COLOURS[i]};"
                            f"border-color:#424949'></span>{text}</div>")
                low = b + 1
            legend.append(f"<div class='cq-leg-choro' data-layer='{group.get_name()}' style='display:none'>"
                          + "".join(rows) + "</div>")

    legend.append("</div>")
    title_text = title or f"Contrat Quartiers 2030 — {d.short_name or d.name}"
    sub_text = subtitle if subtitle is not None else f"{d.name} : géographie prioritaire et équipes territoriales"
    title_html = (f"<div class='cq-title-main'>{_esc(title_text)}</div>"
                  + (f"<div class='cq-title-sub'>{_esc(sub_text)}</div>" if sub_text else "")
                  + f"<div class='cq-title-date'>Carte du {_fr_date(day)}</div>")

    # sources: plain French for the audience; the technical provenance in a folded « détails techniques »
    plain_names = {"communes": "Limites des communes", "qpv": "Quartiers prioritaires (QPV 2024)",
                   **{t: territory.vocabulary.layer_name(t) for t in d.local_tier_ids}}
    layer_names = {"communes": "Communes", **{t: territory.vocabulary.layer_name(t) for t in d.tier_ids}}
    plain, technical = [], []
    for key, info in territory.layers.items():
        name = plain_names.get(key, key)
        if info.status == "missing":
            plain.append(f"<b>{name}</b> : périmètres pas encore disponibles, non dessinés sur cette carte")
            how = ("<code>cq-geo data update</code> ou <code>cq-geo data import qpv FICHIER</code>" if key == "qpv"
                   else "<code>cq-geo data import local FICHIER --tier " + _esc(key) + "</code>")
            technical.append(f"{layer_names.get(key, key)} : aucun périmètre installé ({how})")
            continue
        who = info.publisher.split(",")[0].strip() if info.publisher else ""
        if key == "communes":
            text = "contours de l'IGN" + (f" ({_esc(who)})" if who and "IGN" not in who else "")
        elif key == "qva":
            text = ("communes entières, d'après le contrat" if all(z.geometry == "commune" for z in territory.tiers["qva"].zones)
                    else "d'après le contrat")
        else:
            text = f"périmètres {_STATUS_PLURAL.get(info.status, info.status)}" + (f", {_esc(who)}" if who else "")
        plain.append(f"<b>{name}</b> : {text}")
        parts = [p for p in (info.source, info.vintage) if p and not (p is info.vintage and p in info.source)]
        tech = f"{layer_names.get(key, key)} : {_esc(' — '.join(parts))} ; statut {_status_text(info)}"
        if info.sha256:
            tech += f" ; empreinte SHA-256 {_esc(info.sha256[:16])}…"
        technical.append(tech)
    plain.append(f"<b>Équipes et chefs de projet</b> : Contrat Quartiers 2030 ({_esc(d.short_name or d.name)}, "
                 f"{_plural(len(d.communes), 'commune')})")
    plain.append(f"Carte du {_fr_date(day)} ; contours simplifiés pour l'affichage : pour une adresse, "
                 "demandez une fiche d'éligibilité")
    technical.append(f"Définition du territoire : {_esc(getattr(d, 'source_path', '') and Path(d.source_path).name or 'territory.toml')}")
    technical.append(f"Contours simplifiés pour l'affichage (tolérance {simplify_m:g} m)"
                     + (" ; points arrondis à environ 10 m" if res is not None else ""))
    if tiles:
        technical.append("Fond de plan à l'écran : Plan IGN v2 © IGN (chargé en ligne) ; jamais imprimé : "
                         "l'impression redessine la carte en vecteurs, nette à toute taille")
    else:
        technical.append("Sans fond de plan (carte produite avec --no-tiles : aucune requête réseau)")
    technical.append(f"Carte produite avec cq-geo {_esc(__version__)} le {_fr_date(day)}")
    footer_html = ("<div class='cq-fold' title='Afficher ou masquer'>Sources</div><div class='cq-body'>"
                   + "<br>".join(plain)
                   + "<details class='cq-tech'><summary>Détails techniques</summary>" + "<br>".join(technical)
                   + "</details></div><div class='cq-offline'>Fond de plan IGN non chargé (pas de réseau) : "
                   "fond neutre à l'écran ; l'impression n'en dépend pas.</div>")

    minimap = {
        "outline": _lonlat_geojson(_simplify([outline], 150.0)[0], 4),
        "teams": [
            [team_colour[tid], _lonlat_geojson(_simplify([shapely.union_all(
                np.asarray([commune_simple[c] for c in team.communes if c in commune_simple], dtype=object))], 150.0)[0], 4)]
            for tid, team in d.teams.items() if any(c in commune_simple for c in team.communes)
        ],
    }
    cfg = {"title": title_html, "legend": "".join(legend), "footer": footer_html, "bounds": bounds,
           "mini": minimap, "tileUrl": tile_layer.tiles if tile_layer is not None else None}
    tiles_var = tile_layer.get_name() if tile_layer is not None else "null"
    choro_js = "{" + ",".join(f"{json.dumps(g.get_name())}: {g.get_name()}" for g, _, _ in choro_layers.values()) + "}"
    Script(_CHROME_JS.replace("__MAP__", m.get_name()).replace("__TILES__", tiles_var).replace("__CHORO__", choro_js)
           .replace("__POINTS__", points_layer.get_name() if points_layer is not None else "null")
           .replace("__CFG__", json.dumps(cfg, ensure_ascii=False))).add_to(m)
    return m


_CHROME_JS = r"""
(function(){
var map = __MAP__, tiles = __TILES__, cfg = __CFG__;
var c = map.getContainer();
var Box = L.Control.extend({
  initialize: function(html, cls, pos){ this._html = html; this._cls = cls; L.setOptions(this, {position: pos}); },
  onAdd: function(){ var d = L.DomUtil.create('div', this._cls); d.innerHTML = this._html;
    L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d); return d; }
});
new Box(cfg.title, 'cq-title', 'topleft').addTo(map);
L.control.zoom({position: 'topleft', zoomInTitle: 'Zoomer', zoomOutTitle: 'Dézoomer'}).addTo(map);
var Full = L.Control.extend({options: {position: 'topleft'}, onAdd: function(){
  var bar = L.DomUtil.create('div', 'leaflet-bar cq-fullscreen'); var a = L.DomUtil.create('a', '', bar);
  a.href = '#'; a.title = 'Plein écran'; a.setAttribute('role', 'button'); a.setAttribute('aria-label', 'Plein écran');
  a.innerHTML = '<svg width="16" height="16" viewBox="0 0 16 16" style="vertical-align:middle"><path d="M1 6V1h5M10 1h5v5M15 10v5h-5M6 15H1v-5" fill="none" stroke="#222" stroke-width="2"/></svg>';
  L.DomEvent.on(a, 'click', function(e){ L.DomEvent.preventDefault(e);
    if (document.fullscreenElement) { document.exitFullscreen(); }
    else if (c.requestFullscreen) { c.requestFullscreen(); }
    else { alert('Plein écran non disponible : touche F11 du navigateur.'); } });
  L.DomEvent.disableClickPropagation(bar); return bar; }});
new Full().addTo(map);
document.addEventListener('fullscreenchange', function(){ map.invalidateSize(); });
var legend = new Box(cfg.legend, 'cq-legend', 'bottomleft').addTo(map);
L.control.scale({position: 'bottomleft', imperial: false, maxWidth: 160}).addTo(map);
var footer = new Box(cfg.footer, 'cq-footer', 'bottomright').addTo(map);
// legend and sources fold on a click on their heading (small screens); printing unfolds them
[legend, footer].forEach(function(box){ var el = box.getContainer(), h = el.querySelector('.cq-fold');
  if (h) L.DomEvent.on(h, 'click', function(){ el.classList.toggle('cq-folded'); }); });
map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
// minimap: the territory (team colours) and the current view; tiles too when online
var Mini = L.Control.extend({options: {position: 'bottomright'}, onAdd: function(){
  var d = L.DomUtil.create('div', 'cq-minimap'); L.DomEvent.disableClickPropagation(d); return d; }});
var mc = new Mini(); mc.addTo(map);
var mini = L.map(mc.getContainer(), {attributionControl: false, zoomControl: false, dragging: false,
  scrollWheelZoom: false, doubleClickZoom: false, boxZoom: false, keyboard: false, touchZoom: false, zoomSnap: 0.25});
if (cfg.tileUrl) { L.tileLayer(cfg.tileUrl, {maxZoom: 19}).addTo(mini); }
cfg.mini.teams.forEach(function(t){ L.geoJSON(t[1], {interactive: false, style: {stroke: false, fillColor: t[0],
  fillOpacity: 0.55}}).addTo(mini); });
L.geoJSON(cfg.mini.outline, {interactive: false, style: {color: '#1b2631', weight: 1.2, fill: false}}).addTo(mini);
mini.fitBounds(cfg.bounds, {animate: false}); mini.setZoom(mini.getZoom() - 0.75, {animate: false});
var view = L.rectangle(map.getBounds(), {color: '#c0392b', weight: 2, fillOpacity: 0.08, interactive: false}).addTo(mini);
mini.on('click', function(e){ map.panTo(e.latlng); });
function sync(){ view.setBounds(map.getBounds()); c.classList.toggle('cq-zoom-low', map.getZoom() < 9.5); }
map.on('moveend zoomend', sync); sync();
// names: the higher priority first (team communes, QPV, then by population); a name that would overlap a name
// already shown or a cluster bubble tries just above and below, then hides
function declutter(){ var shown = [], spans = Array.prototype.slice.call(c.querySelectorAll('.cq-label span'));
  Array.prototype.forEach.call(c.querySelectorAll('.cq-cluster'), function(b){ var r = b.getBoundingClientRect();
    if (r.width) shown.push(r); });
  spans.sort(function(a, b){ return (+b.getAttribute('data-p')) - (+a.getAttribute('data-p')); });
  spans.forEach(function(s){ s.style.visibility = ''; s.style.transform = ''; var r0 = s.getBoundingClientRect();
    if (!r0.width) return;
    var step = r0.height + 4, side = r0.width / 2 + 8, placed = false;
    [[0, 0], [0, -step], [0, step], [0, -2 * step], [0, 2 * step], [side, 0], [-side, 0], [side, step], [-side, -step],
     [side, -step], [-side, step]].some(function(d){
      var r = {left: r0.left + d[0], right: r0.right + d[0], top: r0.top + d[1], bottom: r0.bottom + d[1]};
      var hit = shown.some(function(o){ return r.left < o.right + 2 && r.right > o.left - 2 && r.top < o.bottom && r.bottom > o.top; });
      if (!hit) { if (d[0] || d[1]) s.style.transform = 'translate(-50%, -50%) translate(' + d[0] + 'px, ' + d[1] + 'px)';
        shown.push(r); placed = true; }
      return placed; });
    if (!placed) s.style.visibility = 'hidden'; }); }
map.on('zoomend moveend overlayadd overlayremove resize', function(){ setTimeout(declutter, 0); }); setTimeout(declutter, 0);
// phones and narrow windows: layer list, legend and sources start folded (a tap opens them)
if (window.innerWidth < 700) {
  var lc = c.querySelector('.leaflet-control-layers');
  if (lc) { lc.classList.remove('leaflet-control-layers-expanded');
    var toggle = lc.querySelector('.leaflet-control-layers-toggle');
    if (toggle) L.DomEvent.on(toggle, 'click', function(e){ L.DomEvent.preventDefault(e); lc.classList.add('leaflet-control-layers-expanded'); });
    map.on('click', function(){ lc.classList.remove('leaflet-control-layers-expanded'); }); }
  [legend, footer].forEach(function(box){ box.getContainer().classList.add('cq-folded'); });
}
// tiles that cannot load: plain background, outlines and names stay; say it in the footer
if (tiles) { var failed = 0; tiles.on('tileerror', function(){ failed++;
  if (failed === 1) { c.classList.add('cq-tiles-failed'); footer.getContainer().classList.add('cq-tiles-failed'); } });
  tiles.on('tileload', function(){ c.classList.remove('cq-tiles-failed'); footer.getContainer().classList.remove('cq-tiles-failed'); }); }
// legends of the choropleths follow their layers
var choro = __CHORO__;
function legendFor(layer, on){ var id = null; for (var k in choro) { if (choro[k] === layer) { id = k; break; } }
  if (!id) return; var el = legend.getContainer().querySelector('[data-layer="' + id + '"]'); if (el) el.style.display = on ? '' : 'none'; }
map.on('overlayadd', function(e){ legendFor(e.layer, true); });
map.on('overlayremove', function(e){ legendFor(e.layer, false); });
var points = __POINTS__;
if (points && points.on) { points.on('animationend spiderfied unspiderfied', function(){ setTimeout(declutter, 0); }); }
// print: a vector drawing of the whole territory (visible layers), scaled by the page itself (SVG viewBox),
// so the result does not depend on the window; title, legend and sources beside (landscape) or below (portrait)
var printBox = null;
function escText(t){ return String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'); }
function printSvg(){
  var crs = L.CRS.EPSG3857, b = L.latLngBounds(cfg.bounds);
  var sw = crs.project(b.getSouthWest()), ne = crs.project(b.getNorthEast());
  var pad = Math.max(ne.x - sw.x, ne.y - sw.y) * 0.025;
  var x0 = sw.x - pad, y0 = -ne.y - pad, w = ne.x - sw.x + 2 * pad, h = ne.y - sw.y + 2 * pad;
  var u = Math.max(w, h) / 1000;  // one unit = 1/1000 of the longer side
  function xy(ll){ var p = crs.project(ll); return [p.x - x0, -p.y - y0]; }
  function rings(lls){ if (!lls.length) return ''; if (lls[0] instanceof L.LatLng) {
      return lls.map(function(ll, i){ var p = xy(ll); return (i ? 'L' : 'M') + p[0].toFixed(0) + ' ' + p[1].toFixed(0); }).join('') + 'z'; }
    return lls.map(rings).join(''); }
  var out = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ' + w.toFixed(0) + ' ' + h.toFixed(0) +
    '" preserveAspectRatio="xMidYMid meet" class="cq-print-svg"><defs><pattern id="cq-print-hatch" patternUnits="userSpaceOnUse" width="' +
    (8 * u).toFixed(1) + '" height="' + (8 * u).toFixed(1) + '" patternTransform="rotate(45)"><rect width="' + (1.6 * u).toFixed(1) +
    '" height="' + (8 * u).toFixed(1) + '" fill="#661100" fill-opacity="0.7"/></pattern></defs>'];
  var n = 0;
  map.eachLayer(function(l){ if (!(l instanceof L.Polygon)) return; var o = l.options;
    var fill = String(o.fillColor || o.color || 'none').indexOf('url(') === 0 ? 'url(#cq-print-hatch)' : (o.fill === false ? 'none' : (o.fillColor || o.color));
    out.push('<path d="' + rings(l.getLatLngs()) + '" fill="' + fill + '" fill-opacity="' + (o.fillOpacity == null ? 0.2 : o.fillOpacity) +
      '" fill-rule="evenodd" stroke="' + (o.stroke === false ? 'none' : o.color) + '" stroke-width="' + (o.weight * u * 0.9).toFixed(2) +
      '" stroke-linejoin="round"' + (o.dashArray ? ' stroke-dasharray="' + String(o.dashArray).split(/[ ,]+/).map(function(v){ return (v * u * 0.9).toFixed(2); }).join(' ') + '"' : '') +
      (o.lineCap ? ' stroke-linecap="' + o.lineCap + '"' : '') + ' class="' + (o.className || '') + '"/>'); n++; });
  var D = window.cqPointData;
  if (points && map.hasLayer(points) && D) {
    var r = u * Math.max(1.3, 3.2 * Math.min(1, Math.sqrt(2000 / Math.max(1, D.p.length))));  // smaller when many
    D.p.forEach(function(p){ var q = xy(L.latLng(p[0], p[1])), shape = D.c[p[2]][2], d;
      if (shape) { d = shape.map(function(v, i){ return (i ? 'L' : 'M') + (q[0] + v[0] * r).toFixed(0) + ' ' + (q[1] + v[1] * r).toFixed(0); }).join('') + 'z'; }
      else { d = 'M' + (q[0] - r).toFixed(0) + ' ' + q[1].toFixed(0) + 'a' + r.toFixed(0) + ' ' + r.toFixed(0) + ' 0 1 0 ' + (2 * r).toFixed(0) + ' 0a' + r.toFixed(0) + ' ' + r.toFixed(0) + ' 0 1 0 ' + (-2 * r).toFixed(0) + ' 0z'; }
      out.push('<path d="' + d + '" fill="' + D.c[p[2]][1] + '" stroke="#1b2631" stroke-width="' + (0.5 * u).toFixed(1) + '" class="cq-print-point"/>'); });
  }
  // names, decluttered at the scale of the drawing (priority as on screen)
  var labels = [];
  map.eachLayer(function(l){ if (!(l instanceof L.Marker) || !l.options.icon || !/cq-label/.test(l.options.icon.options.className || '')) return;
    var html = l.options.icon.options.html, m = /data-p="([^"]*)">(.*)<\/span>/.exec(html); if (!m) return;
    var cls = l.options.icon.options.className, size = /qpv/.test(cls) ? 10 : (/major/.test(cls) ? 13 : 10.5);
    var tmp = document.createElement('span'); tmp.innerHTML = m[2];
    labels.push({p: +m[1], t: tmp.textContent, at: xy(l.getLatLng()), s: size * u, cls: /qpv/.test(cls) ? 'qpv' : (/major/.test(cls) ? 'major' : 'minor')}); });
  labels.sort(function(a, b){ return b.p - a.p; });
  var taken = [];
  labels.forEach(function(lb){ var wd = lb.t.length * lb.s * 0.56, ht = lb.s * 1.15, sd = wd / 2 + ht / 2;
    [[0, 0], [0, -ht], [0, ht], [0, -2 * ht], [0, 2 * ht], [sd, 0], [-sd, 0], [sd, ht], [-sd, -ht], [sd, -ht], [-sd, ht]].some(function(d){
      var x = lb.at[0] + d[0], y = lb.at[1] + d[1], r = [x - wd / 2, y - ht / 2, x + wd / 2, y + ht / 2];
      if (r[0] < 0 || r[2] > w || r[1] < 0 || r[3] > h) return false;
      if (taken.some(function(o){ return r[0] < o[2] && r[2] > o[0] && r[1] < o[3] && r[3] > o[1]; })) return false;
      taken.push(r); lb.x = x; lb.y = y; return true; }); });
  labels.forEach(function(lb){ if (lb.y == null) return;
    out.push('<text x="' + lb.x.toFixed(0) + '" y="' + lb.y.toFixed(0) + '" font-size="' + lb.s.toFixed(1) +
      '" text-anchor="middle" dominant-baseline="central" class="cq-print-label cq-print-' + lb.cls + '" font-weight="' + (lb.cls === 'minor' ? 600 : 700) +
      '"' + (lb.cls === 'qpv' ? ' font-style="italic" fill="#3d1454"' : ' fill="#1b2631"') +
      ' stroke="#fff" stroke-width="' + (0.35 * lb.s).toFixed(1) + '" stroke-linejoin="round" paint-order="stroke">' + escText(lb.t) + '</text>'); });
  // scale bar (ground distance: Web Mercator stretches by 1/cos(latitude)) and north arrow
  var k = 1 / Math.cos(b.getCenter().lat * Math.PI / 180), km = [1, 2, 5, 10, 20].filter(function(v){ return v * 1000 * k < w / 4; }).pop() || 1;
  // both sit in the empty corners of the territory's own box (bottom left, top right), not in the margin
  var len = km * 1000 * k, bx = pad + 10 * u, by = h - pad - 10 * u;
  out.push('<g class="cq-print-scale"><rect x="' + (bx - 6 * u) + '" y="' + (by - 24 * u) + '" width="' + (len + 12 * u) + '" height="' + (32 * u) + '" fill="#fff" fill-opacity="0.85"/>' +
    '<path d="M' + bx + ' ' + (by - 5 * u) + 'V' + by + 'H' + (bx + len) + 'V' + (by - 5 * u) + '" fill="none" stroke="#1b2631" stroke-width="' + (1.5 * u) + '"/>' +
    '<text x="' + (bx + len / 2) + '" y="' + (by - 9 * u) + '" font-size="' + (11 * u) + '" text-anchor="middle" fill="#1b2631">' + km + ' km</text></g>');
  var nx = w - pad - 12 * u, ny = pad + 2 * u;
  out.push('<g class="cq-print-north"><path d="M' + nx + ' ' + ny + 'l' + (7 * u) + ' ' + (20 * u) + 'l' + (-7 * u) + ' ' + (-6 * u) + 'l' + (-7 * u) + ' ' + (6 * u) + 'z" fill="#1b2631"/>' +
    '<text x="' + nx + '" y="' + (ny + 33 * u) + '" font-size="' + (11 * u) + '" text-anchor="middle" font-weight="700" fill="#1b2631">N</text></g>');
  out.push('</svg>');
  return {svg: out.join(''), polygons: n};
}
function beforePrint(){ if (printBox) L.DomUtil.remove(printBox);
  printBox = L.DomUtil.create('div', 'cq-print', document.body);
  var page = L.DomUtil.create('div', 'cq-print-page', printBox);
  var head = L.DomUtil.create('div', 'cq-print-title', page); head.innerHTML = cfg.title;
  var main = L.DomUtil.create('div', 'cq-print-main', page);
  var frame = L.DomUtil.create('div', 'cq-print-map', main), drawing = printSvg(); frame.innerHTML = drawing.svg;
  var side = L.DomUtil.create('div', 'cq-print-side', main);
  [legend, footer].forEach(function(box){ var el = box.getContainer().cloneNode(true); el.classList.remove('cq-folded');
    Array.prototype.forEach.call(el.querySelectorAll('details'), function(d){ d.open = true; });
    Array.prototype.forEach.call(el.querySelectorAll('[style*="display: none"],[style*="display:none"]'), function(x){ x.parentNode.removeChild(x); });
    side.appendChild(el); });
  printBox.setAttribute('data-polygons', drawing.polygons); }
window.addEventListener('beforeprint', beforePrint);
window.addEventListener('afterprint', function(){ if (printBox) { L.DomUtil.remove(printBox); printBox = null; } });
window.cqBeforePrint = beforePrint;
})();
"""


def map_html(m) -> str:
    """The complete HTML of a map built by :func:`make_map`; refuses any external script or style."""
    html = m.get_root().render()
    # pinch zoom stays allowed (a map read on a phone needs it; WCAG 1.4.4)
    html = re.sub(r'<meta name="viewport"[^>]*>', '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
                  html)
    external = re.findall(r"<(?:script|link)\b[^>]*(?:src|href)\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]+", html)
    if external:  # a folium element brought a CDN link: the page would not draw offline
        raise CqGeoError(f"ressource externe dans la carte (non autorisé) : {external[0]}")
    return html


def export_map(path, territory=None, results=None, title: str | None = None, **kwargs) -> Path:
    """Write the council map to *path* as one self-contained HTML file (atomic write).

    Same parameters as :func:`make_map`. Returns the path written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = export_map(pathlib.Path(tempfile.mkdtemp()) / "carte.html", tiles=False, date="2026-11-27")
    >>> out.stat().st_size > 100_000, out.read_text(encoding="utf-8").count("<script src=")
    (True, 0)
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise MapInputError(f"le fichier de sortie doit finir par .html : {path}")
    if not path.parent.is_dir():
        raise MapInputError(f"dossier de sortie introuvable : {path.parent}")
    html = map_html(make_map(territory, results=results, title=title, **kwargs))
    write_text_atomic(path, html)
    return path


def write_text_atomic(path, text: str) -> Path:
    """Write *text* to *path* (UTF-8) through a temporary file renamed into place.

    The file gets the usual permissions (0666 minus the umask), like any file a
    program creates, not the 0600 of a temporary file: colleagues sharing the
    folder can open it.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
