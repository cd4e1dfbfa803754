"""The eligibility sheet's map excerpt: the point, the commune limits, the perimeters around it,
their names, a scale bar, as inline SVG (no script, no network). numpy and the standard library only
(the sheet is a button of the QGIS panel, whose Python has no shapely).
"""

from __future__ import annotations

import html as _html
import math
from typing import Any

import numpy as np

from .style import team_colours

__all__ = ["zone_shapes", "distance_to", "excerpt_svg", "excerpt_legend"]

#: Fill, opacity, outline, width and dash of the tiers (same colours and outline styles as the council map).
_STYLE = {
    "qpv": ("#3d1454", 0.6, "#1b0a24", 2.2, ""),
    "poche": ("#117733", 0.6, "#0b3d1c", 1.8, "6 4"),
    "qva": ("url(#fiche-hatch)", 1.0, "#661100", 2.0, "1 4"),
}
#: Legend swatch (CSS) of the tiers drawn with :data:`_STYLE`; another tier gets one from its colour.
_LEGEND_SWATCH = {
    "qpv": "background:#3d1454;opacity:.7;border:0.5mm solid #1b0a24",
    "poche": "background:#117733;opacity:.7;border:0.4mm dashed #0b3d1c",
    "qva": "background:repeating-linear-gradient(45deg,#661100 0 0.4mm,#f4f2ec 0.4mm 1.4mm)",
}


# -- geometry ---------------------------------------------------------------------------------------------
def _polygons(geom) -> list[list[np.ndarray]]:
    """A polygon geometry as a list of polygons, each a list of rings ((n, 2) arrays, Lambert-93).

    Accepts anything with ``__geo_interface__`` (shapely), a GeoJSON-like dict,
    or rings already given as arrays.
    """
    if geom is None:
        return []
    gi = getattr(geom, "__geo_interface__", geom)
    if isinstance(gi, dict):
        kind, coords = gi.get("type"), gi.get("coordinates")
        if kind == "Polygon":
            return [[np.asarray(r, dtype="float64")[:, :2] for r in coords if len(r)]]
        if kind == "MultiPolygon":
            return [[np.asarray(r, dtype="float64")[:, :2] for r in poly if len(r)] for poly in coords]
        if kind == "GeometryCollection":
            return [p for g in gi.get("geometries", []) for p in _polygons(g)]
        return []
    if isinstance(geom, np.ndarray) and geom.ndim == 2:
        return [[geom]]
    return [[np.asarray(r, dtype="float64") for r in geom]]


def distance_to(polys: list[list[np.ndarray]], x: float, y: float) -> float:
    """Distance in metres from (x, y) to the polygons (0 inside)."""
    best, inside = math.inf, False
    for rings in polys:
        crossings = 0
        for r in rings:
            a, b = r[:-1], r[1:]
            d = b - a
            ll = (d ** 2).sum(axis=1)
            t = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1]) / np.where(ll == 0, 1, ll), 0, 1)
            px, py = a[:, 0] + t * d[:, 0] - x, a[:, 1] + t * d[:, 1] - y
            if len(px):
                best = min(best, float(np.sqrt(px * px + py * py).min()))
            up = (a[:, 1] <= y) != (b[:, 1] <= y)
            with np.errstate(divide="ignore", invalid="ignore"):
                xs = a[:, 0] + (y - a[:, 1]) * d[:, 0] / d[:, 1]
            crossings += int(np.count_nonzero(up & (xs > x)))
        inside = inside or crossings % 2 == 1
    return 0.0 if inside else best


def _bbox(polys) -> tuple[float, float, float, float]:
    pts = np.concatenate([r for rings in polys for r in rings]) if polys else np.zeros((1, 2))
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def _bbox_distance(box, x: float, y: float) -> float:
    """Distance from (x, y) to a ``(minx, miny, maxx, maxy)`` box (0 inside)."""
    return float(np.hypot(max(box[0] - x, 0.0, x - box[2]), max(box[1] - y, 0.0, y - box[3])))


def zone_shapes(territory) -> dict[str, list[tuple[Any, list]]]:
    """``{tier: [(zone, polygons)]}`` and ``{"communes": [(code, polygons)]}`` from a Territory."""
    out: dict[str, list] = {"communes": []}
    communes = getattr(territory, "communes", None)
    if communes is not None:
        out["communes"] = [(code, _index_polygons(communes, i)) for i, code in enumerate(territory.commune_codes)]
    for tier, data in territory.tiers.items():
        index = getattr(data, "index", None)
        out[tier] = [] if index is None else [(z, _index_polygons(index, i)) for i, z in enumerate(data.zones)]
    return out


def _index_polygons(index, i: int) -> list[list[np.ndarray]]:
    """Zone *i* of an engine index as rings: the numpy polygons (no shapely, as in stock QGIS),
    else its shapely geometry."""
    polygons = getattr(index, "polygons", None)
    if polygons is not None:
        return [list(rings) for rings in polygons[i].polygons]
    return _polygons(index.geoms[i])



def _placed(labels, size: float, w: float, h: float) -> list[tuple[float, float, str]]:
    """Labels that do not overlap: each keeps its place, or moves one line down or up, or
    (a commune name only, after the zone names) is left out. A label that would cross the left or
    right edge moves sideways into the window.

    >>> _placed([(50, 50, "QPV A"), (52, 50, "Commune")], 10, 200, 200)
    [(50, 50.0, 'QPV A'), (52, 74.0, 'Commune')]
    >>> _placed([(5, 50, "Poche de pauvreté")], 10, 200, 200)
    [(51.0, 50.0, 'Poche de pauvreté')]
    """
    boxes, out = [], []
    for lx, ly, text in labels:
        half = len(text) * size * 0.3  # half the width of a bold sans-serif line, roughly
        lx = min(max(lx, half), w - half) if 2 * half <= w else w / 2
        for dy in (0.0, 1.2 * size, -1.2 * size, 2.4 * size, -2.4 * size):
            y = ly + dy
            box = (lx - half, y - size, lx + half, y + 0.25 * size)
            if box[1] < 0 or box[3] > h:
                continue
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes):
                boxes.append(box)
                out.append((lx, y, text))
                break
    return out

def _path(polys, x0: float, y1: float) -> str:
    parts = []
    for rings in polys:
        for r in rings:
            pts = " L".join(f"{x - x0:.0f} {y1 - y:.0f}" for x, y in r)
            parts.append(f"M{pts}z")
    return "".join(parts)


def excerpt_svg(territory, shapes, x: float, y: float, nearest: list[tuple[str, Any, float, list]]) -> str:
    """The map excerpt: the point, the commune limits, the perimeters around it, a scale bar."""
    half = 450.0
    for _, _, dist, _ in nearest:  # widen the window to show the nearest perimeter, within reason
        if dist <= 1800:
            half = max(half, dist + 250)
    half = min(half, 2000.0)
    x0, x1, y0, y1 = x - half * 1.6, x + half * 1.6, y - half, y + half
    w, h = x1 - x0, y1 - y0

    def visible(polys) -> bool:
        if not polys:
            return False
        bx0, by0, bx1, by1 = _bbox(polys)
        return bx0 < x1 and bx1 > x0 and by0 < y1 and by1 > y0

    out = [f'<svg class="fiche-map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" '
           'preserveAspectRatio="xMidYMid meet" role="img" aria-label="Extrait de carte autour de l\'adresse">',
           f'<defs><pattern id="fiche-hatch" patternUnits="userSpaceOnUse" width="{w / 90:.1f}" height="{w / 90:.1f}" '
           f'patternTransform="rotate(45)"><rect width="{w / 400:.1f}" height="{w / 90:.1f}" fill="#661100" '
           'fill-opacity="0.6"/></pattern><clipPath id="fiche-clip"><rect width="100%" height="100%"/></clipPath></defs>',
           f'<rect width="{w:.0f}" height="{h:.0f}" fill="#f4f2ec"/><g clip-path="url(#fiche-clip)">']
    sw = w / 700  # one "pixel" of a 700-px-wide picture
    labels = []
    definition = territory.definition
    colours = team_colours(definition)  # the council map's team colours
    for code, polys in shapes.get("communes", []):
        if visible(polys):
            team = definition.team_of(code)
            fill = colours[team.id] if team else "#ffffff"
            out.append(f'<path d="{_path(polys, x0, y1)}" fill="{fill}" fill-opacity="{0.3 if team else 0.5}" '
                       f'fill-rule="evenodd" stroke="#566573" stroke-width="{sw * 1.2:.1f}"/>')
    for tier in reversed(definition.tier_ids):  # the QPV drawn on top
        colour = definition.tiers[tier].colour or "#7f8c8d"
        fill, alpha, stroke, weight, dash = _STYLE.get(tier, (colour, 0.45, colour, 1.6, "2 3"))
        for zone, polys in shapes.get(tier, []):
            if not visible(polys):
                continue
            dash_attr = f' stroke-dasharray="{" ".join(f"{float(v) * sw:.1f}" for v in dash.split())}"' if dash else ""
            out.append(f'<path d="{_path(polys, x0, y1)}" fill="{fill}" fill-opacity="{alpha}" fill-rule="evenodd" '
                       f'stroke="{stroke}" stroke-width="{weight * sw:.1f}" stroke-linecap="round"{dash_attr}/>')
            if zone.geometry != "commune":
                # the part in the window nearest the point carries the name (a zone may have far parts)
                parts = [[p] for p in polys if visible([p])] or polys
                bx0, by0, bx1, by1 = _bbox(min(parts, key=lambda q: _bbox_distance(_bbox(q), x, y)))
                lx, ly = min(max((bx0 + bx1) / 2, x0 + w * 0.12), x1 - w * 0.12), min(max(by1, y0 + h * 0.08), y1 - h * 0.04)
                labels.append((lx - x0, y1 - ly - 10 * sw, f"{definition.tiers[tier].short_label} {zone.name}"))
    # commune names (inside the window)
    for code, polys in shapes.get("communes", []):
        if visible(polys):
            bx0, by0, bx1, by1 = _bbox(polys)
            cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
            if x0 < cx < x1 and y0 < cy < y1:
                labels.append((cx - x0, y1 - cy, definition.commune_name(code)))
    for lx, ly, text in _placed(labels, 19 * sw, w, h):
        out.append(f'<text x="{lx:.0f}" y="{ly:.0f}" font-size="{19 * sw:.0f}" text-anchor="middle" font-weight="700" '
                   f'fill="#1b2631" stroke="#fff" stroke-width="{5 * sw:.0f}" paint-order="stroke">{_html.escape(text, quote=True)}</text>')
    # the point: a target, visible on any colour
    px, py = x - x0, y1 - y
    out.append(f'<circle cx="{px:.0f}" cy="{py:.0f}" r="{11 * sw:.0f}" fill="none" stroke="#fff" stroke-width="{6 * sw:.0f}"/>'
               f'<circle cx="{px:.0f}" cy="{py:.0f}" r="{11 * sw:.0f}" fill="none" stroke="#c0392b" stroke-width="{3 * sw:.0f}"/>'
               f'<circle cx="{px:.0f}" cy="{py:.0f}" r="{3 * sw:.0f}" fill="#c0392b"/>')
    out.append("</g>")
    out.append(_scale_and_north(w, h, sw))
    return "".join(out)


def _scale_and_north(w: float, h: float, sw: float) -> str:
    """A scale bar (bottom left, a round length about a fifth of the window) and the north arrow; *sw* is one
    pixel of a 700-pixel-wide picture."""
    out = []
    target = w / 5
    length = max(v for v in (50, 100, 200, 250, 500, 1000, 2000) if v <= max(target, 50))
    bx, by = 20 * sw, h - 18 * sw
    out.append(f'<rect x="{bx - 8 * sw:.0f}" y="{by - 34 * sw:.0f}" width="{length + 16 * sw:.0f}" height="{42 * sw:.0f}" '
               f'fill="#fff" fill-opacity="0.85"/><path d="M{bx:.0f} {by - 6 * sw:.0f}V{by:.0f}H{bx + length:.0f}V{by - 6 * sw:.0f}" '
               f'fill="none" stroke="#1b2631" stroke-width="{2 * sw:.0f}"/><text x="{bx + length / 2:.0f}" y="{by - 10 * sw:.0f}" '
               f'font-size="{18 * sw:.0f}" text-anchor="middle" fill="#1b2631">{length} m</text>')
    out.append(f'<text x="{w - 24 * sw:.0f}" y="{30 * sw:.0f}" font-size="{22 * sw:.0f}" font-weight="700" '
               f'text-anchor="middle" fill="#1b2631">N</text>'
               f'<path d="M{w - 24 * sw:.0f} {36 * sw:.0f}l{6 * sw:.0f} {16 * sw:.0f}h{-12 * sw:.0f}z" fill="#1b2631"/></svg>')
    return "".join(out)


def excerpt_legend(definition) -> str:
    """The excerpt's legend: each tier by its short label (priority order), then the address."""
    items = []
    for tier in definition.tier_ids:
        colour = definition.tiers[tier].colour or "#7f8c8d"
        css = _LEGEND_SWATCH.get(tier, f"background:{colour};opacity:.7;border:0.4mm dotted {colour}")
        items.append(f"<span style='{css}'></span>{_html.escape(definition.tiers[tier].short_label, quote=True)}")
    return ("<div class='legend'>" + "".join(items)
            + "<span style='border-radius:50%;border:0.6mm solid #c0392b;background:#fff'></span>Adresse</div>")
