"""The council map printed by a real Chromium, and read on a phone.

Printing: Chromium prints the map to PDF from five window sizes, on A4
landscape and portrait paper (the paper is chosen the way the print dialog
does it: an ``@page`` size in a copy of the page). pdftoppm rasterises each
page and the test finds the map frame (its neutral background) and the ink of
the territory inside it: the territory must not touch the frame (nothing cut)
and must fill a good share of the page (not a stamp in a corner). Before the
fix, a 1920×1080 window printed an empty frame and 800×600 a tiny map.

Phone: a 390×844 window; nothing overlaps the title, the controls start
folded, and the viewport lets the reader pinch-zoom.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("folium")
pytest.importorskip("xstatic.pkg.leaflet")
PIL = pytest.importorskip("PIL")

from cq_geo.maps.webmap import MAP_BACKGROUND, export_map  # noqa: E402

from .synthetic_zones import territory_with_synthetic_zones  # noqa: E402
from .test_map_browser import CHROMIUM, chromium  # noqa: E402

PDFTOPPM = shutil.which("pdftoppm")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="chromium absent (apt-get install chromium)"),
              pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm absent (apt-get install poppler-utils)")]

WINDOWS = [(390, 844), (800, 600), (1280, 720), (1920, 1080), (2560, 1440)]
#: Share of the page the territory's box must cover at least (measured after the fix: 0.35 on A4 landscape,
#: 0.45 on A4 portrait, the same from every window; before it: 0.02 from 1920×1080 and 2560×1440).
MIN_SHARE = 0.25
#: Pixels (at 50 dpi) the territory must keep from each side of its frame (after the fix: 7 or more; before it,
#: the drawing touched the frame, 2 px, from every window: cut).
MIN_GAP = 4


def print_pdf(html: Path, pdf: Path, window: tuple[int, int], paper: str) -> Path:
    """Print *html* to *pdf* from a *window*-sized Chromium on *paper* (e.g. "A4 landscape")."""
    copy = pdf.with_suffix(".html")
    copy.write_text(html.read_text(encoding="utf-8").replace("<head>", f"<head><style>@page {{ size: {paper}; }}</style>", 1),
                    encoding="utf-8")
    run = chromium(copy.as_uri(), f"--window-size={window[0]},{window[1]}", f"--print-to-pdf={pdf}",
                   "--no-pdf-header-footer", virtual_time=False)
    assert pdf.is_file(), run.stderr[-2000:]
    return pdf


def rasterise(pdf: Path, dpi: int = 50) -> list:
    """Every page of *pdf* as an RGB PIL image (pdftoppm)."""
    from PIL import Image

    prefix = pdf.with_name(pdf.stem + "-page")
    subprocess.run([PDFTOPPM, "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True, timeout=60)
    return [Image.open(p).convert("RGB") for p in sorted(pdf.parent.glob(prefix.name + "*.png"))]


def territory_on_page(image) -> dict:
    """Where the map frame and the territory drawn in it are on a page image.

    The frame is the box of the areas of the neutral background colour at least
    5 × 5 pixels large (the legend swatches only have a thin ring of that colour);
    the territory is the box of everything inside the frame that is not that
    background (communes, zones, names, and the scale bar and north arrow, which
    sit inside the territory's own box).
    """
    import numpy as np

    a = np.asarray(image, dtype="int16")
    bg = np.array([int(MAP_BACKGROUND[i:i + 2], 16) for i in (1, 3, 5)])
    is_bg = (np.abs(a - bg) <= 3).all(axis=2)
    k = 5  # erosion: a pixel stays when its k × k neighbourhood is all background (integral image)
    s = np.pad(is_bg.astype("int32"), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    full = (s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]) == k * k
    rows, cols = np.flatnonzero(full.any(axis=1)), np.flatnonzero(full.any(axis=0))
    if not len(rows):
        return {"frame": None}
    fy0, fy1, fx0, fx1 = rows[0], rows[-1] + k - 1, cols[0], cols[-1] + k - 1
    inner = a[fy0 + 2:fy1 - 1, fx0 + 2:fx1 - 1]
    ink = (np.abs(inner - bg) > 20).any(axis=2)
    iy, ix = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(iy):
        return {"frame": (fx0, fy0, fx1, fy1), "ink": None}
    x0, x1, y0, y1 = ix[0] + fx0 + 2, ix[-1] + fx0 + 2, iy[0] + fy0 + 2, iy[-1] + fy0 + 2
    page = image.size[0] * image.size[1]
    return {"frame": (fx0, fy0, fx1, fy1), "ink": (x0, y0, x1, y1),
            "gaps": (x0 - fx0, y0 - fy0, fx1 - x1, fy1 - y1),
            "share": (x1 - x0 + 1) * (y1 - y0 + 1) / page}


@pytest.fixture(scope="module")
def map_file(tmp_path_factory):
    return export_map(tmp_path_factory.mktemp("print") / "carte.html", territory=territory_with_synthetic_zones(),
                      date="2026-11-27")


@pytest.mark.parametrize("paper", ["A4 landscape", "A4 portrait"])
def test_print_fits_the_territory_to_the_page_whatever_the_window(map_file, tmp_path, paper):
    shares = {}
    for window in WINDOWS:
        pdf = print_pdf(map_file, tmp_path / f"carte-{window[0]}x{window[1]}-{paper.split()[1]}.pdf", window, paper)
        pages = rasterise(pdf)
        assert len(pages) == 1, f"{window} {paper}: {len(pages)} pages"
        page = pages[0]
        width, height = page.size
        assert (width > height) == (paper.endswith("landscape")), page.size
        found = territory_on_page(page)
        assert found["frame"] is not None, f"{window} {paper}: no map frame on the page"
        assert found["ink"] is not None, f"{window} {paper}: empty map frame"
        # nothing cut: the territory keeps a margin inside the frame on all four sides
        assert min(found["gaps"]) >= MIN_GAP, f"{window} {paper}: territory touches the frame {found}"
        shares[window] = round(found["share"], 3)
    assert min(shares.values()) >= MIN_SHARE, shares
    # the same drawing whatever the window
    assert max(shares.values()) - min(shares.values()) < 0.02, shares


def test_print_on_a3(map_file, tmp_path):
    page = rasterise(print_pdf(map_file, tmp_path / "carte-a3.pdf", (1280, 720), "A3 landscape"), dpi=30)
    assert len(page) == 1
    found = territory_on_page(page[0])
    assert found["ink"] is not None and min(found["gaps"]) >= MIN_GAP * 30 // 50 and found["share"] >= MIN_SHARE, found


#: Headless Chromium lays pages out at least 500 px wide whatever --window-size says: the phone is a 390×844
#: frame in a probe page (same folder, file access allowed), which reads the map's DOM after it ran.
PHONE_PROBE = r"""<!DOCTYPE html><html><body style="margin:0">
<iframe id="phone" src="__MAP__" style="width:390px;height:844px;border:0"></iframe>
<script>
document.getElementById('phone').addEventListener('load', function () { setTimeout(function () {
  var w = document.getElementById('phone').contentWindow, doc = w.document;
  function box(sel) { var el = doc.querySelector(sel); if (!el) return null; var r = el.getBoundingClientRect();
    return r.width && r.height ? [r.left, r.top, r.right, r.bottom] : null; }
  var out = {title: box('.cq-title'), viewport: (doc.querySelector('meta[name=viewport]') || {}).content,
    others: {}, layersExpanded: !!doc.querySelector('.leaflet-control-layers-expanded'),
    legendFolded: !!doc.querySelector('.cq-legend.cq-folded'), footerFolded: !!doc.querySelector('.cq-footer.cq-folded'),
    width: w.innerWidth};
  ['.leaflet-control-layers', '.cq-legend', '.cq-footer', '.leaflet-control-zoom', '.cq-fullscreen', '.leaflet-control-scale',
   '.cq-minimap', '.leaflet-control-attribution'].forEach(function (s) { out.others[s] = box(s); });
  var pre = document.createElement('pre'); pre.id = 'cq-report'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre); }, 1500); });
</script></body></html>"""


def test_phone_layout(map_file, tmp_path):
    import html as _html
    import json

    probed = map_file.with_name("phone-probe.html")
    probed.write_text(PHONE_PROBE.replace("__MAP__", map_file.name), encoding="utf-8")
    run = chromium(probed.as_uri(), "--allow-file-access-from-files", "--dump-dom")
    match = re.search(r'<pre id="cq-report">(.*?)</pre>', run.stdout, re.S)
    assert match, run.stderr[-2000:]
    report = json.loads(_html.unescape(match.group(1)))
    assert report["width"] == 390
    # pinch zoom allowed (WCAG 1.4.4)
    assert "user-scalable=no" not in report["viewport"] and "maximum-scale" not in report["viewport"]
    # folded at start on a small screen
    assert not report["layersExpanded"] and report["legendFolded"] and report["footerFolded"]
    assert report["others"][".cq-minimap"] is None  # hidden on phones
    # nothing overlaps the title, and the title fits the screen
    t = report["title"]
    assert t and t[0] >= 0 and t[2] <= 390
    for sel, b in report["others"].items():
        if b:
            assert not (t[0] < b[2] and t[2] > b[0] and t[1] < b[3] and t[3] > b[1]), f"{sel} overlaps the title"
    # the legend and the sources (bottom corners) do not overlap each other either
    leg, foot = report["others"][".cq-legend"], report["others"][".cq-footer"]
    assert not (leg[0] < foot[2] and leg[2] > foot[0] and leg[1] < foot[3] and leg[3] > foot[1])
    png = tmp_path / "phone.png"
    chromium(map_file.as_uri(), "--window-size=390,844", f"--screenshot={png}")
    from PIL import Image

    assert Image.open(png).size == (390, 844)
