"""The page around the map: inlined assets (Leaflet, jQuery, markercluster), CSS, and the script of the
title, legend, sources, minimap, name declutter and print layout; the Folium classes that link no CDN.

Nothing here fetches anything: every asset comes from an installed package or ``assets/``.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from ..errors import MissingDependency

ASSETS = Path(__file__).resolve().parent / "assets"


def data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def asset_texts(with_cluster: bool) -> tuple[list[str], list[str]]:
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
        return f"url({data_uri(path, 'image/png')})"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", image, css)
    js = [(leaflet_dir / "leaflet.js").read_text(encoding="utf-8"),
          (Path(xjquery.BASE_DIR) / "jquery.min.js").read_text(encoding="utf-8")]
    # Leaflet finds its marker images from the CSS path: give it data URIs instead.
    icons = {name: data_uri(leaflet_dir / "images" / name, "image/png")
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
            css_texts.append((ASSETS / name).read_text(encoding="utf-8"))
        js.append(strip_source_map((ASSETS / "leaflet.markercluster.js").read_text(encoding="utf-8")))
    css_texts = [strip_source_map(c) for c in css_texts]
    return css_texts, [strip_source_map(j) for j in js]


def strip_source_map(text: str) -> str:
    return re.sub(r"^[ \t]*(//|/\*)# sourceMappingURL=.*$", "", text, flags=re.MULTILINE)


def script_tag(text: str) -> str:
    # "</script" inside inlined code would end the element early
    return "<script>" + text.replace("</script", "<\\/script") + "</script>"


#: The map's own styles (boxes, labels, popups, clusters, phone layout, print layout).
MAP_CSS = r"""
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

#: Hatching for the former QVA (whole communes): the team colour stays visible underneath.
SVG_DEFS = (
    '<svg class="cq-defs" width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
    '<pattern id="cq-hatch-qva" patternUnits="userSpaceOnUse" width="9" height="9" patternTransform="rotate(45)">'
    '<rect width="2.6" height="9" fill="#661100" fill-opacity="0.85"/></pattern></defs></svg>'
)


def _folium():
    try:
        import folium
        from folium.map import Layer
    except ImportError as exc:
        raise MissingDependency("les cartes ont besoin de folium : pip install \"cq-geo[map]\"") from exc
    return folium, Layer


def folium_classes():
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


#: The page's script: title, zoom, fullscreen, legend and sources boxes (folding), minimap, name declutter,
#: phone layout, tile failure notice, choropleth legends and the print drawing. ``__MAP__``, ``__TILES__``,
#: ``__CHORO__``, ``__POINTS__`` and ``__CFG__`` are replaced by :func:`cq_geo.maps.webmap.make_map`.
CHROME_JS = r"""
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
