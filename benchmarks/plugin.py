#!/usr/bin/env python3
"""QGIS plugin: load time, click-to-answer time, locator time; screenshots of the panel and the layers.

Builds ``dist``-like zip in a temporary folder, unpacks it into a temporary
profile's plugin folder and starts it as QGIS does (``qgis.utils.loadPlugin`` /
``startPlugin``), on real QGIS offscreen with the test double of ``iface``
from pytest-qgis (a real map canvas and main window).

Usage::

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/plugin.py [--repeat 30] [--screenshots docs/img]

Writes the figures to ``benchmarks/results/plugin.txt`` (and prints them).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "cq_geo_qgis"
DENAIN = (3.3957, 50.3290)


def _save_small(image, path: Path) -> None:
    """Save a QImage as a small PNG (192-colour palette with Pillow when it is installed)."""
    image.save(str(path))
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=192, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def _legend(image, layers) -> None:
    """Draw a small legend from the layers' own symbols in the top-left corner of *image*."""
    from qgis.PyQt.QtCore import QRectF, QSize
    from qgis.PyQt.QtGui import QColor, QFont, QPainter

    entries = []
    renderer = layers["communes"].renderer()
    for cat in renderer.categories():
        entries.append((cat.symbol().clone(), cat.label()))  # the category copy owns its symbol
    for name in ("qpv", "poche", "qva"):
        if name in layers and layers[name].featureCount():
            entries.append((layers[name].renderer().symbol().clone(), layers[name].name()))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont("Sans Serif")
    font.setPixelSize(13)
    painter.setFont(font)
    row = 22
    x, y = image.width() - 300, image.height() - row * len(entries) - 40
    painter.fillRect(QRectF(x - 6, y - 6, 300, row * len(entries) + 30), QColor(255, 255, 255, 230))
    painter.setPen(QColor("#222222"))
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(x, y + 12, "Contrat Quartiers 2030")
    font.setBold(False)
    painter.setFont(font)
    for i, (symbol, label) in enumerate(entries):
        top = y + 22 + i * row
        icon = symbol.asImage(QSize(26, 16))
        painter.drawImage(x, top, icon)
        painter.drawText(x + 34, top + 13, label)
    painter.end()


class _Iface:
    """The part of QgisInterface the plugin uses, on a real main window and canvas."""

    def __init__(self, main_window, canvas, bar):
        self._main, self._canvas, self._bar = main_window, canvas, bar
        self.locator_filters = []

    def mainWindow(self):  # noqa: N802
        return self._main

    def mapCanvas(self):  # noqa: N802
        return self._canvas

    def messageBar(self):  # noqa: N802
        return self._bar

    def addDockWidget(self, area, dock):  # noqa: N802
        self._main.addDockWidget(area, dock)

    def removeDockWidget(self, dock):  # noqa: N802
        self._main.removeDockWidget(dock)

    def addToolBarIcon(self, action):  # noqa: N802
        pass

    def removeToolBarIcon(self, action):  # noqa: N802
        pass

    def addPluginToVectorMenu(self, menu, action):  # noqa: N802
        pass

    def removePluginVectorMenu(self, menu, action):  # noqa: N802
        pass

    def registerLocatorFilter(self, f):  # noqa: N802
        self.locator_filters.append(f)

    def deregisterLocatorFilter(self, f):  # noqa: N802
        self.locator_filters.remove(f)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="clics mesurés")
    parser.add_argument("--screenshots", type=Path, default=None, help="dossier des captures (ex. docs/img)")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "plugin.txt")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("XDG_DATA_HOME", tempfile.mkdtemp(prefix="cq-geo-bench-"))  # no user store
    os.environ.pop("CQ_GEO_STORE", None)

    work = Path(tempfile.mkdtemp(prefix="cq-geo-plugin-bench-"))
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_plugin

    t0 = time.perf_counter()
    zip_path = build_plugin.build(work / f"{PACKAGE}.zip")
    build_s = time.perf_counter() - t0
    plugins = work / "profile" / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(plugins)

    from qgis.core import (
        QgsApplication,
        QgsCoordinateReferenceSystem,
        QgsCoordinateTransform,
        QgsPointXY,
        QgsProject,
        QgsRectangle,
    )

    app = QgsApplication([], True)
    app.initQgis()
    import qgis.utils
    from qgis.gui import QgsMapCanvas, QgsMessageBar
    from qgis.PyQt.QtCore import QPoint, QSize, Qt
    from qgis.PyQt.QtTest import QTest
    from qgis.PyQt.QtWidgets import QMainWindow

    main_window = QMainWindow()
    canvas = QgsMapCanvas(main_window)
    main_window.setCentralWidget(canvas)
    main_window.resize(900, 700)
    main_window.show()
    iface = _Iface(main_window, canvas, QgsMessageBar(main_window))
    qgis.utils.iface = iface
    sys.path.insert(0, str(plugins))
    qgis.utils.plugin_paths.insert(0, str(plugins))
    qgis.utils.updateAvailablePlugins()

    t0 = time.perf_counter()
    assert qgis.utils.loadPlugin(PACKAGE)
    assert qgis.utils.startPlugin(PACKAGE)
    load_s = time.perf_counter() - t0
    plugin = qgis.utils.plugins[PACKAGE]
    import cq_geo

    assert Path(cq_geo.__file__).resolve().is_relative_to(plugins.resolve()), cq_geo.__file__

    t0 = time.perf_counter()
    plugin.panel_action.trigger()  # first opening: loads the territory
    open_s = time.perf_counter() - t0

    # clicks around Denain, in Web Mercator like a usual QGIS project
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    to_map = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                    QgsCoordinateReferenceSystem("EPSG:3857"), QgsProject.instance())
    centre = to_map.transform(QgsPointXY(*DENAIN))
    canvas.setExtent(QgsRectangle(centre.x() - 4000, centre.y() - 3000, centre.x() + 4000, centre.y() + 3000))
    app.processEvents()
    dock = plugin.dock
    dock.click_button.setChecked(True)
    answers = []
    dock.answered.connect(answers.append)
    times = []
    w, h = canvas.width(), canvas.height()
    for i in range(args.repeat):
        pos = QPoint(w // 2 + (i % 7 - 3) * 40, h // 2 + (i % 5 - 2) * 40)
        n = len(answers)
        t0 = time.perf_counter()
        QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
        while len(answers) == n:
            app.processEvents()
        times.append(time.perf_counter() - t0)
    dock.click_button.setChecked(False)

    # the locator, through a real QgsLocator (worker thread)
    from qgis.core import QgsLocator, QgsLocatorContext

    loc_times = []
    for text in ("cq denain", "cq saint-amand", "cq 50.329 3.3957", "cq raismes"):
        locator = QgsLocator()
        locator.registerFilter(plugin.locator_filter.clone())
        done = []
        found = []
        locator.foundResult.connect(lambda r: found.append(r.displayString))
        locator.finished.connect(lambda: done.append(1))
        t0 = time.perf_counter()
        locator.fetchResults(text, QgsLocatorContext())
        while not done:
            app.processEvents()
        loc_times.append(time.perf_counter() - t0)
        assert found, text

    shots = []
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
        # the panel with the answer for the centre of Denain
        dock.show_lonlat(*DENAIN, "Centre de Denain")
        dock.setFloating(True)
        dock.resize(470, 980)
        dock.show()
        app.processEvents()
        panel_png = args.screenshots / "qgis-panneau.png"
        _save_small(dock.grab().toImage(), panel_png)
        shots.append(panel_png)
        # the styled layers over the whole territory
        from qgis.core import QgsMapRendererParallelJob, QgsMapSettings
        from qgis.PyQt.QtGui import QColor

        layers = plugin.load_layers()
        settings = QgsMapSettings()
        order = [layers[n] for n in ("qpv", "poche", "qva", "communes") if n in layers]
        settings.setLayers(order)
        settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:2154"))
        extent = QgsRectangle(layers["communes"].extent())
        extent.scale(1.08)
        settings.setExtent(extent)
        settings.setOutputSize(QSize(760, 820))
        settings.setBackgroundColor(QColor("white"))
        job = QgsMapRendererParallelJob(settings)
        job.start()
        job.waitForFinished()
        image = job.renderedImage()
        _legend(image, layers)
        layers_png = args.screenshots / "qgis-couches.png"
        _save_small(image, layers_png)
        shots.append(layers_png)

    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    lines = [
        "# Extension QGIS cq_geo_qgis — mesures (benchmarks/plugin.py)",
        f"date : {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"machine : {platform.machine()}, {os.cpu_count()} cœurs, Python {platform.python_version()}, "
        f"QGIS {qgis.utils.Qgis.QGIS_VERSION} (hors écran), charge de la machine {os.getloadavg()[0]:.1f}",
        f"zip : {zip_path.stat().st_size / 1e6:.1f} Mo, construit en {ms(build_s)}",
        f"chargement de l'extension (loadPlugin + startPlugin, cq_geo embarqué importé) : {ms(load_s)}",
        f"première ouverture du panneau (lecture du territoire) : {ms(open_s)}",
        f"clic sur la carte → réponse affichée ({args.repeat} clics) : médiane {ms(statistics.median(times))}, "
        f"max {ms(max(times))}, premier {ms(times[0])}",
        f"localisateur (QgsLocator, fil de travail) : médiane {ms(statistics.median(loc_times))}, "
        f"max {ms(max(loc_times))}",
    ]
    if shots:
        lines.append("captures : " + ", ".join(str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)
                                               for p in shots))
    text = "\n".join(lines) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(text, end="")
    qgis.utils.unloadPlugin(PACKAGE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
