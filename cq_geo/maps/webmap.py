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

The work is split by job: :mod:`~cq_geo.maps.results` reads the batch results,
:mod:`~cq_geo.maps.layers` builds each layer, :mod:`~cq_geo.maps.legend` the
title, legend and sources, :mod:`~cq_geo.maps.style` holds the colours and
:mod:`~cq_geo.maps.page` the inlined assets and the page's script; this module
puts them together and writes the file.

Examples
--------
>>> from cq_geo.territory import load_territory
>>> m = make_map(load_territory(), date="2026-11-27")
>>> html = map_html(m)
>>> "périmètres QPV non installés" in html, 'src="http' in html
(True, False)
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path

from ..errors import CqGeoError
from ..files import write_text_atomic
from .french import esc
from .layers import (
    add_choropleths,
    add_commune_layer,
    add_name_labels,
    add_points,
    add_tier_layers,
    add_tiles,
    map_geometry,
    minimap_config,
)
from .legend import legend_html, sources_html, title_html
from .page import CHROME_JS, MAP_CSS, SVG_DEFS, asset_texts, folium_classes, script_tag
from .results import BATCH_STATUSES, MapInputError, MapResults, read_results, read_results_table
from .style import (
    DEFAULT_SIMPLIFY_M,
    MAP_BACKGROUND,
    POINT_CATEGORIES,
    POINT_SHAPES,
    STATUS_LABELS,
    TEAM_FILL_OPACITY,
    legend_colour_groups,
    team_colours,
)

__all__ = [
    "make_map",
    "export_map",
    "map_html",
    "read_results",
    "read_results_table",
    "MapInputError",
    "MapResults",
    "POINT_CATEGORIES",
    "POINT_SHAPES",
    "DEFAULT_SIMPLIFY_M",
    "STATUS_LABELS",
    "BATCH_STATUSES",
    "MAP_BACKGROUND",
    "TEAM_FILL_OPACITY",
    "legend_colour_groups",
]


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
    from .._version import __version__

    folium, OfflineMap, JsLayer, Script, Element = folium_classes()
    if territory is None:
        from ..territory import load_territory

        territory = load_territory()
    if simplify_m < 0:
        raise MapInputError("la tolérance de simplification doit être positive ou nulle")
    day = _map_day(date)
    d = territory.definition
    res = read_results(results, territory) if results is not None else None
    geo = map_geometry(territory, simplify_m)
    team_colour = team_colours(d)

    m = _new_map(OfflineMap, Element, geo.bounds, title, with_cluster=res is not None and cluster)
    tile_layer = add_tiles(folium, m) if tiles else None
    commune_fc, team_count = add_commune_layer(folium, m, territory, geo, team_colour)
    add_tier_layers(folium, m, territory, geo, simplify_m)
    add_name_labels(JsLayer, m, territory, geo)
    choro_layers, points_layer = {}, None
    if res is not None:
        points_layer = add_points(JsLayer, m, res, cluster)
        choro_layers = add_choropleths(folium, m, territory, res, commune_fc, simplify_m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)

    cfg = {"title": title_html(d, title, subtitle, day),
           "legend": legend_html(territory, team_colour, team_count, res, choro_layers),
           "footer": sources_html(territory, day, simplify_m, tiles, res is not None, __version__),
           "bounds": geo.bounds, "mini": minimap_config(geo, d, team_colour),
           "tileUrl": tile_layer.tiles if tile_layer is not None else None}
    _add_page_script(Script, m, cfg, tile_layer, choro_layers, points_layer)
    return m


def _map_day(date) -> _dt.date:
    """The date printed on the map: *date* (``datetime.date`` or ``"AAAA-MM-JJ"``), today by default."""
    if date is None:
        return _dt.date.today()
    if isinstance(date, _dt.date):
        return date
    try:
        return _dt.date.fromisoformat(str(date))
    except ValueError:
        raise MapInputError(f"date invalide : {date!r} (format attendu AAAA-MM-JJ)") from None


def _new_map(OfflineMap, Element, bounds: list, title: str | None, with_cluster: bool):
    """The Leaflet map fitted to the territory, with the inlined assets, the page title and the SVG patterns."""
    m = OfflineMap(location=[(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2], zoom_start=11,
                   tiles=None, zoom_control=False, control_scale=False, zoomSnap=0.25, minZoom=7, maxZoom=19)
    m.fit_bounds(bounds, padding=(10, 10))
    root = m.get_root()
    css_texts, js_texts = asset_texts(with_cluster=with_cluster)
    for i, css in enumerate(css_texts + [MAP_CSS]):
        root.header.add_child(Element(f"<style>{css}</style>"), name=f"cq_css_{i}")
    for i, js in enumerate(js_texts):
        root.header.add_child(Element(script_tag(js)), name=f"cq_js_{i}")
    root.header.add_child(Element(f"<title>{esc(title or 'Carte du Contrat Quartiers 2030')}</title>"), name="cq_title")
    root.html.add_child(Element(SVG_DEFS), name="cq_svg_defs")
    return m


def _add_page_script(Script, m, cfg: dict, tile_layer, choro_layers: dict, points_layer) -> None:
    """The page's script (title, legend, sources, minimap, declutter, print), wired to the map's layers."""
    tiles_var = tile_layer.get_name() if tile_layer is not None else "null"
    choro_js = "{" + ",".join(f"{json.dumps(g.get_name())}: {g.get_name()}" for g, _, _ in choro_layers.values()) + "}"
    Script(CHROME_JS.replace("__MAP__", m.get_name()).replace("__TILES__", tiles_var).replace("__CHORO__", choro_js)
           .replace("__POINTS__", points_layer.get_name() if points_layer is not None else "null")
           .replace("__CFG__", json.dumps(cfg, ensure_ascii=False))).add_to(m)


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

