"""The layers of the council map, one step each: the display geometry, the communes by team, the tiers,
the names, the result points and their counts per commune and per QPV (choropleths).

Each ``add_*`` function adds its layers to the Folium map *m* in the order the page draws them
(:func:`cq_geo.maps.webmap.make_map` calls them in turn). Folium and shapely are imported by the
callers' entry point (:func:`cq_geo.maps.page.folium_classes`) or inside the functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..model import REGULATORY_TIER
from .french import esc, fr_count
from .style import (
    CHORO_COLOURS,
    MARKER_SHAPES,
    NO_TEAM_COLOUR,
    NO_TEAM_OPACITY,
    POINT_DECIMALS,
    POLYGON_DECIMALS,
    STATUS_LABELS,
    TEAM_FILL_OPACITY,
    choropleth_breaks,
    class_of,
    tier_style,
)

#: Popups on click, the name as a tooltip (communes, zones, choropleths).
BIND_JS = ("function(feature, layer) { layer.bindPopup(feature.properties.popup, {maxWidth: 380});"
           " layer.bindTooltip(feature.properties.name, {sticky: true}); }")


def lonlat_geojson(geom, decimals: int = POLYGON_DECIMALS) -> dict:
    """A Lambert-93 shapely geometry as a GeoJSON dict in WGS84, coordinates rounded."""
    import shapely

    from ..geo.crs import l93_to_lonlat

    def project(coords):
        lon, lat = l93_to_lonlat(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([lon, lat]), decimals)

    return json.loads(shapely.to_geojson(shapely.transform(geom, project)))


def simplify(geoms: list, tolerance: float, coverage: bool = False) -> list:
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


def leads_html(definition, leads) -> str:
    items = []
    for lead in leads:
        detail = " ; ".join(x for x in (lead.orientation_detail, lead.axis_detail) if x)
        items.append(f"{esc(lead.title)}" + (f" <span style='color:#5d6d7e'>({esc(detail)})</span>" if detail else ""))
    return "<br>".join(items)


def popup_html(title: str, rows: list[tuple[str, str]], kicker: str = "") -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows if v)
    kick = f"<div class='cq-tier'>{esc(kicker)}</div>" if kicker else ""
    return f"<div class='cq-popup'>{kick}<h3>{esc(title)}</h3><table>{body}</table></div>"


# -- display geometry --------------------------------------------------------------------------------------
@dataclass
class MapGeometry:
    """The communes simplified for display (shared limits kept shared), their union and its bounds."""

    codes: list
    commune_geoms: list
    commune_simple: dict
    outline: object
    bounds: list  # [[lat0, lon0], [lat1, lon1]]


def map_geometry(territory, simplify_m: float) -> MapGeometry:
    import shapely

    from ..geo.crs import l93_to_lonlat

    codes = list(territory.commune_codes)
    commune_geoms = simplify(list(territory.communes.geoms), simplify_m, coverage=True)
    outline = shapely.union_all(np.asarray(commune_geoms, dtype=object))
    x0, y0, x1, y1 = shapely.total_bounds(outline)
    (lon0, lon1), (lat0, lat1) = l93_to_lonlat(np.array([x0, x1]), np.array([y0, y1]))
    bounds = [[float(lat0), float(lon0)], [float(lat1), float(lon1)]]
    return MapGeometry(codes, commune_geoms, dict(zip(codes, commune_geoms)), outline, bounds)


def minimap_config(geo: MapGeometry, definition, team_colour: dict) -> dict:
    """The minimap's shapes: the territory's outline and each team's communes (150 m simplification)."""
    import shapely

    return {
        "outline": lonlat_geojson(simplify([geo.outline], 150.0)[0], 4),
        "teams": [
            [team_colour[tid], lonlat_geojson(simplify([shapely.union_all(
                np.asarray([geo.commune_simple[c] for c in team.communes if c in geo.commune_simple], dtype=object))],
                150.0)[0], 4)]
            for tid, team in definition.teams.items() if any(c in geo.commune_simple for c in team.communes)
        ],
    }


# -- background ----------------------------------------------------------------------------------------------
def add_tiles(folium, m):
    """The Plan IGN v2 background (online) and a plain one (offline); returns the tile layer."""
    import xyzservices.providers as xyz

    plan = xyz.GeoportailFrance.plan
    tile_layer = folium.TileLayer(
        tiles=plan.build_url(), name="Plan IGN v2 (en ligne)",
        attr=plan.html_attribution + " — Plan IGN v2, © IGN", max_zoom=19, overlay=False, show=True,
    )
    tile_layer.add_to(m)
    folium.FeatureGroup(name="Fond neutre (hors ligne)", overlay=False, show=False).add_to(m)
    return tile_layer


# -- communes by team -----------------------------------------------------------------------------------------
def _commune_popup(territory, code: str, zones_of_commune: list) -> str:
    d = territory.definition
    commune = d.communes[code]
    team = d.team_of(code)
    geo_lines = []
    for tier in d.tier_ids:
        zs = [z for z in zones_of_commune if z.tier == tier]
        if not zs:
            continue
        drawn = {z.code for z in territory.tiers[tier].zones}
        names = ", ".join(
            esc(z.name) + ("" if z.code in drawn else " <i>(périmètre non installé)</i>") for z in zs
        )
        geo_lines.append(f"<b>{esc(d.tiers[tier].short_label)}</b> : {names}")
    rows = [
        ("Code INSEE", esc(code)),
        ("Population", f"{fr_count(commune.population)} hab. (population municipale)" if commune.population else ""),
        ("Équipe", esc(team.name) if team else "aucune équipe territoriale dans le contrat"),
        ("Chefs de projet référents", leads_html(d, d.team_leads(team.id)) if team else ""),
        ("Géographie prioritaire", "<br>".join(geo_lines) or "aucune zone du contrat"),
    ]
    return popup_html(commune.name, rows, "Commune")


def add_commune_layer(folium, m, territory, geo: MapGeometry, team_colour: dict) -> tuple[dict, dict]:
    """The communes coloured by team, with their popups; returns (their GeoJSON, communes per team id)."""
    d = territory.definition
    features = []
    team_count: dict[str, int] = {}
    zones_by_commune: dict[str, list] = {}
    for z in d.zones:
        for c in z.communes:
            zones_by_commune.setdefault(c, []).append(z)
    for code, geom in zip(geo.codes, geo.commune_geoms):
        team = d.team_of(code)
        tid = team.id if team else ""
        team_count[tid] = team_count.get(tid, 0) + 1
        features.append({"type": "Feature", "id": code, "geometry": lonlat_geojson(geom),
                         "properties": {"insee": code, "name": d.communes[code].name, "team": tid,
                                        "popup": _commune_popup(territory, code, zones_by_commune.get(code, []))}})
    commune_fc = {"type": "FeatureCollection", "features": features}

    def team_style(feature):
        tid = feature["properties"]["team"]
        colour = team_colour.get(tid, NO_TEAM_COLOUR)
        if not tid:
            return {"color": "#566573", "weight": 1.2, "dashArray": "4 3", "fillColor": colour,
                    "fillOpacity": NO_TEAM_OPACITY}
        return {"color": colour, "weight": 1.2, "fillColor": colour, "fillOpacity": TEAM_FILL_OPACITY}

    fg = folium.FeatureGroup(name="Communes par équipe", overlay=True, show=True)
    folium.GeoJson(commune_fc, style_function=team_style, on_each_feature=folium.JsCode(BIND_JS),
                   className="cq-commune", highlight_function=lambda f: {"weight": 3}).add_to(fg)
    fg.add_to(m)
    return commune_fc, team_count


# -- tiers ----------------------------------------------------------------------------------------------------
def _tier_layer_name(territory, tier: str) -> str:
    """« Poches de pauvreté (3 sur 5) », « QPV 2024 — périmètres non installés »."""
    data = territory.tiers[tier]
    label = territory.vocabulary.layer_name(tier)
    if data.index is None:
        return f"{label} — périmètres non installés"
    if data.missing:
        return f"{label} ({len(data.zones)} sur {len(data.zones) + len(data.missing)})"
    return f"{label} ({len(data.zones)})"


def _zone_feature(territory, tier: str, z, shape, status: str) -> dict:
    """One zone as a GeoJSON feature with its popup (code, communes, teams, leads, perimeter status)."""
    d = territory.definition
    info = territory.tiers[tier].info
    teams = sorted({d.team_of(c).name for c in z.communes if d.team_of(c)})
    team_ids = sorted({d.team_of(c).id for c in z.communes if d.team_of(c)})
    leads = [lead for t in team_ids for lead in d.team_leads(t)] + d.tier_leads(tier)
    communes = ", ".join(esc(d.commune_name(c)) for c in z.communes)
    others = ", ".join(esc(f"{name} ({insee})") for insee, name in z.other_communes)
    rows = [
        ("Code", esc(z.code)),
        ("Commune(s)", communes),
        (f"Hors {territory.vocabulary.agglo}", others),
        ("Population", f"{fr_count(z.population)} hab." if z.population else ""),
        ("Équipe", esc(", ".join(teams)) if teams else "aucune équipe territoriale"),
        ("Chefs de projet", leads_html(d, leads)),
        ("Périmètre", esc(
            ("commune entière, " if z.geometry == "commune" else "") + STATUS_LABELS.get(status, status)
            + (f" — {info.source}" if info.source else "") + (f", {info.vintage}" if info.vintage else "")
        )),
    ]
    return {"type": "Feature", "id": z.code, "geometry": lonlat_geojson(shape),
            "properties": {"code": z.code, "name": z.name, "popup": popup_html(z.name, rows, d.tiers[tier].label)}}


def add_tier_layers(folium, m, territory, geo: MapGeometry, simplify_m: float) -> None:
    """One toggleable layer per tier, the lowest priority first so the QPV are drawn on top; a tier without
    geometry keeps its (empty) layer, named as missing."""
    d = territory.definition
    for tier in reversed(d.tier_ids):
        data = territory.tiers[tier]
        group = folium.FeatureGroup(name=_tier_layer_name(territory, tier), overlay=True, show=True)
        if data.index is not None:
            feats = []
            for z, geom, status in zip(data.zones, data.index.geoms, data.statuses):
                if z.geometry == "commune" and z.communes[0] in geo.commune_simple:
                    shape = geo.commune_simple[z.communes[0]]
                else:
                    shape = simplify([geom], simplify_m)[0]
                feats.append(_zone_feature(territory, tier, z, shape, status))
            style = dict(tier_style(d, tier))
            folium.GeoJson({"type": "FeatureCollection", "features": feats}, style_function=lambda f, s=style: s,
                           on_each_feature=folium.JsCode(BIND_JS), className=f"cq-zone cq-{tier}",
                           highlight_function=lambda f: {"weight": 4}).add_to(group)
        group.add_to(m)


# -- names ----------------------------------------------------------------------------------------------------
def _label_layer(JsLayer, m, items: list, name: str) -> None:
    js = (
        "(function(){var mp=%s;if(!mp.getPane('cqLabels')){mp.createPane('cqLabels').style.zIndex=640;}"
        "var g=L.layerGroup();%s.forEach(function(l){L.marker([l[0],l[1]],{pane:'cqLabels',icon:L.divIcon({"
        "className:'cq-label '+l[3],html:'<span data-p=\"'+l[4]+'\">'+l[2]+'</span>',iconSize:null}),"
        "interactive:false,keyboard:false}).addTo(g);});return g;})()"
        % (m.get_name(), json.dumps(items, ensure_ascii=False))
    )
    JsLayer(js, name).add_to(m)


def _label_at(geom, tolerance: float) -> tuple[float, float]:
    """(lat, lon) of the centre of the largest circle inside *geom*, rounded to ~1 m."""
    import shapely

    from ..geo.crs import l93_to_lonlat

    centre = shapely.get_point(shapely.maximum_inscribed_circle(geom, tolerance), 0)
    lon, lat = l93_to_lonlat(np.array([centre.x]), np.array([centre.y]))
    return round(float(lat[0]), 5), round(float(lon[0]), 5)


def add_name_labels(JsLayer, m, territory, geo: MapGeometry) -> None:
    """Commune names, then the QPV names when their perimeters are installed.

    Priority (the declutter keeps the higher first): communes of a team, then the QPV names, then the
    other communes by population.
    """
    d = territory.definition
    labels = []
    for code, geom in zip(geo.codes, geo.commune_geoms):
        pop = d.communes[code].population or 0
        in_team = d.team_of(code) is not None
        labels.append([*_label_at(geom, 20.0), esc(d.commune_name(code)),
                       "cq-label-major" if in_team or pop >= 5000 else "cq-label-minor",
                       (2e7 if in_team else 0) + pop])
    _label_layer(JsLayer, m, labels, "Noms des communes")
    qdata = territory.tiers[REGULATORY_TIER]
    if qdata.index is not None:
        short = d.tiers[REGULATORY_TIER].short_label
        qpv_labels = [[*_label_at(geom, 5.0), esc(f"{short} {z.name}"), "cq-label-qpv", 1e7 + (z.population or 0)]
                      for z, geom in zip(qdata.zones, qdata.index.geoms)]
        _label_layer(JsLayer, m, qpv_labels, f"Noms des {d.tiers[REGULATORY_TIER].plural}")


# -- result points ----------------------------------------------------------------------------------------------
#: Leaflet.markercluster group whose bubbles are pie charts of the point categories.
_CLUSTER_JS = (
    "L.markerClusterGroup({chunkedLoading:true,maxClusterRadius:50,showCoverageOnHover:false,"
    "spiderfyOnMaxZoom:true,disableClusteringAtZoom:17,iconCreateFunction:function(cl){"
    "var n=new Array(D.c.length).fill(0);cl.getAllChildMarkers().forEach(function(mk){n[mk.options.cqCat]++;});"
    "var t=cl.getChildCount(),a=0,st=[];n.forEach(function(v,k){if(v){var b=a+360*v/t;"
    "st.push(D.c[k][1]+' '+a.toFixed(1)+'deg '+b.toFixed(1)+'deg');a=b;}});"
    "var s=t<10?30:(t<100?36:(t<1000?44:52));"
    "return L.divIcon({html:'<div style=\"background:conic-gradient('+st.join(',')+')\"><span>'+t+'</span></div>',"
    "className:'cq-cluster',iconSize:L.point(s,s)});}})"
)
#: The points (one shape per category), their popups built on click from the compact payload D.
_POINTS_JS = (
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
    "return g;})()"
)


def _points_payload(res) -> str:
    """The drawn points as compact JSON: [lat, lon, category, row, commune, zone, reason] with the texts
    once in a string table, and the categories (label, colour, marker shape)."""
    drawn = np.flatnonzero(res.drawn)
    strings: dict[str, int] = {"": 0}
    table = [""]

    def sid(value) -> int:
        value = str(value or "")
        if value not in strings:
            strings[value] = len(table)
            table.append(esc(value))
        return strings[value]

    pts = [[round(float(res.lat[i]), POINT_DECIMALS), round(float(res.lon[i]), POINT_DECIMALS),
            int(res.category[i]), int(i) + res.first_row, sid(res.commune[i]), sid(res.zone[i]), sid(res.reason[i])]
           for i in drawn]
    cats = [[esc(label), colour, MARKER_SHAPES.get(shape)] for (_, label, colour), shape in zip(res.categories,
                                                                                               res.shapes)]
    return json.dumps({"p": pts, "s": table, "c": cats}, ensure_ascii=False, separators=(",", ":"))


def add_points(JsLayer, m, res, cluster: bool):
    """The result points, clustered or not; returns their layer."""
    row_word = "Entité n° " if res.source.lower().endswith(".gpkg") else "Ligne "
    points_js = _POINTS_JS % (_points_payload(res), _CLUSTER_JS if cluster else "L.featureGroup()",
                              json.dumps(row_word), m.get_name())
    points_layer = JsLayer(points_js, f"Points de la table ({fr_count(int(res.drawn.sum()))})")
    points_layer.add_to(m)
    return points_layer


# -- counts per commune and per QPV ------------------------------------------------------------------------------
def _counts(codes) -> dict[str, int]:
    out: dict[str, int] = {}
    for code in codes:
        if code:
            out[str(code)] = out.get(str(code), 0) + 1
    return out


def add_choropleths(folium, m, territory, res, commune_fc: dict, simplify_m: float) -> dict:
    """Point counts per commune and per QPV (points classified inside), hidden at first;
    returns ``{key: (layer, name, class breaks)}`` for the legend."""
    counts_c = _counts(res.commune_insee[res.drawn])
    choro_specs = [("commune", "Nombre de points par commune", commune_fc["features"],
                    lambda f: counts_c.get(f["properties"]["insee"], 0))]
    qdata = territory.tiers[REGULATORY_TIER]
    if qdata.index is not None:
        counts_q = _counts(res.qpv_code[res.drawn])
        qfeats = [{"type": "Feature", "id": z.code, "geometry": lonlat_geojson(simplify([g], simplify_m)[0]),
                   "properties": {"code": z.code, "name": z.name}}
                  for z, g in zip(qdata.zones, qdata.index.geoms)]
        choro_specs.append((REGULATORY_TIER, f"Nombre de points par {territory.definition.tiers[REGULATORY_TIER].noun}",
                            qfeats, lambda f: counts_q.get(f["properties"]["code"], 0)))
    choro_layers = {}
    for key, cname, feats, count_of in choro_specs:
        counts = [count_of(f) for f in feats]
        breaks = choropleth_breaks(counts)
        cfeats = []
        for f, count in zip(feats, counts):
            colour = CHORO_COLOURS[class_of(count, breaks)] if count else "#ffffff"
            name = f["properties"]["name"]
            cfeats.append({"type": "Feature", "id": f["id"], "geometry": f["geometry"],
                           "properties": {"name": name, "colour": colour,
                                          "popup": popup_html(name, [("Points", fr_count(count))], cname)}})
        group = folium.FeatureGroup(name=cname, overlay=True, show=False)
        folium.GeoJson({"type": "FeatureCollection", "features": cfeats},
                       style_function=lambda f: {"color": "#424949", "weight": 1,
                                                 "fillColor": f["properties"]["colour"], "fillOpacity": 0.8},
                       on_each_feature=folium.JsCode(BIND_JS), className=f"cq-choro cq-choro-{key}").add_to(group)
        group.add_to(m)
        choro_layers[key] = (group, cname, breaks)
    return choro_layers
