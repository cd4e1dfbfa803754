"""Drives the real QGIS desktop (``qgis --code desktop_driver.py``) the way a planner would.

Run by :mod:`tests.qgis.test_desktop` (and ``benchmarks/plugin_desktop.py``) in a fresh
profile and HOME under xvfb; nothing here runs on import (pytest's doctest
collection imports it): the steps start only when ``CQ_DESKTOP_CONFIG`` names a
JSON file, as the launcher sets it.

Config keys: ``zip`` (the built plugin), ``report`` (JSON written at the end),
``steps`` (names of the ``step_*`` functions below, in order), ``shots``
(folder for screenshots, optional), ``qpv_file`` (a SYNTHETIC QPV file to
import), ``store`` (data store to use), ``clicks`` (for the benchmark).

The report holds what was seen: Python errors QGIS would show in its error
dialog (``qgis.utils.showException`` is wrapped, then called as usual), every
message-log entry of level Critical, the message bar's texts, the panel's
answers and timings, and one entry per step (``ok`` or the error).
"""

from __future__ import annotations

import json
import os
import time
import traceback

PACKAGE = "cq_geo_qgis"
DENAIN = (3.3957, 50.3290)


class Driver:
    def __init__(self, config: dict):
        from qgis.utils import iface

        self.config = config
        self.iface = iface
        self.report = {"steps": [], "python_errors": [], "critical_log": [], "log": [], "bar": [],
                       "answers": [], "timings": {}, "shots": [], "locator": {}}
        self.steps = list(config["steps"])
        self._hook()

    # -- what QGIS would show ------------------------------------------------------------
    def _hook(self) -> None:
        import qgis.utils
        from qgis.core import Qgis, QgsApplication

        original = qgis.utils.showException

        def show_exception(type_, value, tb, msg=None, *args, **kwargs):
            self.report["python_errors"].append("".join(traceback.format_exception(type_, value, tb))[-3000:])
            self.write()  # QGIS may block in its error dialog next: what was seen is on disk
            return original(type_, value, tb, msg, *args, **kwargs)

        qgis.utils.showException = show_exception

        def on_log(message, tag, level):
            entry = {"tag": tag, "level": int(level), "message": message[-2000:]}
            self.report["log"].append(entry)
            if level == Qgis.MessageLevel.Critical:
                self.report["critical_log"].append(entry)

        QgsApplication.messageLog().messageReceived.connect(on_log)
        self._on_log = on_log
        bar = self.iface.messageBar()

        def on_widget(item):
            try:
                from qgis.gui import QgsMessageBarItem
                from qgis.PyQt import sip

                item = sip.cast(item, QgsMessageBarItem)  # the signal hands a plain QWidget
                self.report["bar"].append({"title": item.title(), "text": item.text(), "level": int(item.level())})
            except Exception:  # noqa: BLE001 - a widget without text (progress bar)
                pass

        bar.widgetAdded.connect(on_widget)
        self._on_widget = on_widget

        # a modal dialog (QGIS's Python error dialog, a question) would block an unattended run:
        # record what it says, then close it
        from qgis.PyQt.QtCore import QTimer

        self.report["modal_dialogs"] = []
        self._modal_timer = QTimer()
        self._modal_timer.timeout.connect(self._close_modal)
        self._modal_timer.start(500)

    def _close_modal(self) -> None:
        from qgis.PyQt.QtWidgets import QApplication, QDialog, QWidget

        widget = QApplication.activeModalWidget()
        if widget is None:
            return
        texts = [widget.windowTitle()]
        for child in widget.findChildren(QWidget):
            for getter in ("text", "toPlainText"):
                value = getattr(child, getter, None)
                if callable(value):
                    try:
                        v = value()
                    except TypeError:
                        continue
                    if isinstance(v, str) and v.strip():
                        texts.append(v.strip()[:1500])
                    break
        self.report["modal_dialogs"].append({"class": widget.metaObject().className(), "texts": texts})
        self.write()
        if isinstance(widget, QDialog):
            widget.reject()
        else:
            widget.close()

    # -- helpers -------------------------------------------------------------------------
    def wait(self, predicate, timeout=20.0) -> bool:
        from qgis.core import QgsApplication

        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            QgsApplication.processEvents()
            if predicate():
                return True
            time.sleep(0.01)
        return bool(predicate())

    def pause(self, seconds: float) -> None:
        self.wait(lambda: False, seconds)

    def plugin(self):
        import qgis.utils

        return qgis.utils.plugins.get(PACKAGE)

    def dock(self):
        p = self.plugin()
        return getattr(p, "dock", None)

    def shot(self, name: str) -> None:
        folder = self.config.get("shots")
        if not folder:
            return
        from qgis.core import QgsApplication

        QgsApplication.processEvents()
        path = os.path.join(folder, f"{name}.png")
        self.iface.mainWindow().grab().save(path)
        self.report["shots"].append(path)

    def canvas_at(self, lon, lat, half_width=2500.0):
        from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsPointXY, QgsProject, QgsRectangle

        canvas = self.iface.mapCanvas()
        crs = QgsCoordinateReferenceSystem("EPSG:3857")
        QgsProject.instance().setCrs(crs)
        canvas.setDestinationCrs(crs)
        t = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), crs, QgsProject.instance())
        c = t.transform(QgsPointXY(lon, lat))
        canvas.setExtent(QgsRectangle(c.x() - half_width, c.y() - half_width, c.x() + half_width, c.y() + half_width))
        canvas.refresh()
        self.pause(0.3)
        return c

    def click_map(self, point) -> None:
        from qgis.PyQt.QtCore import QPoint, Qt
        from qgis.PyQt.QtTest import QTest

        canvas = self.iface.mapCanvas()
        px = canvas.getCoordinateTransform().transform(point)
        QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(round(px.x()), round(px.y())))

    def answer_text(self) -> str:
        dock = self.dock()
        return dock.answer.toPlainText() if dock is not None else ""

    # -- steps ---------------------------------------------------------------------------
    def step_install(self):
        import pyplugin_installer

        start = time.perf_counter()
        pyplugin_installer.instance().installFromZipFile(self.config["zip"])
        self.report["timings"]["install_s"] = time.perf_counter() - start
        assert self.plugin() is not None, "extension non chargée après l'installation"

    def step_open_panel(self):
        p = self.plugin()
        p.panel_action.trigger()
        assert self.wait(lambda: p.dock.isVisible(), 10), "panneau non ouvert"
        self.pause(0.5)
        self.report["panel_status"] = p.dock.status_label.text()
        self.report["panel_text_open"] = self.answer_text()

    def _click_at(self, lon, lat, key, half_width=2500.0):
        dock = self.dock()
        centre = self.canvas_at(lon, lat, half_width)
        dock.click_button.setChecked(True)
        answers = []
        before = self.answer_text()
        dock.answered.connect(answers.append)
        try:
            start = time.perf_counter()
            self.click_map(centre)
            self.wait(lambda: answers or self.answer_text() != before, 10)
            elapsed = time.perf_counter() - start
        finally:
            dock.answered.disconnect(answers.append)
        self.report["timings"][key] = elapsed
        self.report["answers"].append({"step": key, "answer": answers[-1] if answers else None,
                                       "text": self.answer_text()})
        return answers[-1] if answers else None

    def step_click_denain(self):
        self._click_at(*DENAIN, "click_denain_s")
        self.shot("clic-denain")

    def _locate(self, text):
        from qgis.gui import QgsLocatorWidget
        from qgis.PyQt import sip
        from qgis.PyQt.QtWidgets import QWidget

        found = [w for w in self.iface.mainWindow().findChildren(QWidget)
                 if w.metaObject().className() == "QgsLocatorWidget"]
        assert found, "barre de recherche (locator) introuvable"
        widget = sip.cast(found[0], QgsLocatorWidget)
        widget.search(text)
        self.pause(2.5)  # the filters run in worker threads; a crash would end QGIS here
        view = self._results_view()
        rows = []
        if view is not None and view.model() is not None:
            model = view.model()
            for r in range(model.rowCount()):
                rows.append(str(model.index(r, 0).data()))
        self.report["locator"][text] = rows
        self.shot("locator-" + text.replace(" ", "-"))
        return widget, rows

    def step_locator_cq_denain(self):
        widget, rows = self._locate("cq denain")
        # choose the result « Denain » as a user would (Enter on it): the panel answers
        from qgis.PyQt.QtCore import Qt

        view = self._results_view()
        model = view.model() if view is not None else None
        if model is not None:
            for r in range(model.rowCount()):
                if str(model.index(r, 0).data()) == "Denain":
                    view.setCurrentIndex(model.index(r, 0))
                    from qgis.PyQt.QtTest import QTest

                    edit = widget.findChild(__import__("qgis.PyQt.QtWidgets", fromlist=["QLineEdit"]).QLineEdit)
                    QTest.keyClick(edit, Qt.Key.Key_Return)
                    self.pause(1.0)
                    break
        self.report["after_locator_denain"] = self.answer_text()

    def _results_view(self):
        """The locator's results list (a floating QgsLocatorResultsView, not a child of the search box)."""
        from qgis.PyQt.QtWidgets import QApplication, QTreeView

        for top in [self.iface.mainWindow()] + list(QApplication.topLevelWidgets()):
            for view in top.findChildren(QTreeView):
                if view.metaObject().className() == "QgsLocatorResultsView":
                    return view
        return None

    def step_locator_mairies(self):
        self._locate("mairies")

    def step_import_synthetic_qpv(self):
        """« Données › Importer un fichier de périmètres… » with the user's two choices answered."""
        p = self.plugin()
        from qgis.PyQt.QtWidgets import QFileDialog, QInputDialog

        module = __import__(f"{PACKAGE}.core.data_actions", fromlist=["IMPORT_KINDS"])
        label = next(module.tr(k[2]) for k in module.IMPORT_KINDS if k[0] == "qpv")
        saved = (QInputDialog.getItem, QFileDialog.getOpenFileName)
        QInputDialog.getItem = staticmethod(lambda *a, **k: (label, True))
        QFileDialog.getOpenFileName = staticmethod(lambda *a, **k: (self.config["qpv_file"], ""))
        try:
            start = time.perf_counter()
            p.dock.import_action.trigger()
            ok = self.wait(lambda: "QPV <b style='color:#c0392b'>absente" not in p.dock.status_label.text(), 90)
            self.report["timings"]["import_s"] = time.perf_counter() - start
        finally:
            QInputDialog.getItem, QFileDialog.getOpenFileName = saved
        self.report["panel_status_after_import"] = p.dock.status_label.text()
        self.report["text_after_import"] = self.answer_text()
        assert ok, "couche QPV toujours absente après l'import : " + p.dock.status_label.text()

    def step_click_qpv(self):
        lon, lat = self.config["qpv_point"]
        self._click_at(lon, lat, "click_qpv_s")
        self.shot("clic-qpv")

    def step_load_layers(self):
        p = self.plugin()
        p.dock.layers_button.click()
        self.pause(1.5)
        from qgis.core import QgsProject

        root = QgsProject.instance().layerTreeRoot()
        self.report["layer_tree"] = [c.name() for c in root.children()]
        self.shot("couches")

    def step_territory(self):
        """« Territoire… »: the folder of another intercommunality (config ``territory``), then the canvas there."""
        dock = self.dock()
        assert dock.choose_territory(path=self.config["territory"]), "territoire non chargé"
        lon, lat = self.config["territory_point"]
        self.canvas_at(lon, lat, half_width=9000.0)
        self.report["territory_label"] = dock.territory_label.text()

    def step_click_territory(self):
        lon, lat = self.config["territory_point"]
        self._click_at(lon, lat, "click_territory_s", half_width=9000.0)
        self.report["panel_status_territory"] = self.dock().status_label.text()
        self.pause(0.5)
        self.shot("territoire")

    def step_user_layer(self):
        """A layer of the user's own, loaded before ours: our group must go below it."""
        from qgis.core import QgsProject, QgsVectorLayer

        layer = QgsVectorLayer("Point?crs=EPSG:4326", "Mes sites", "memory")
        QgsProject.instance().addMapLayer(layer)

    def step_benchmark_clicks(self):
        """Many clicks at different points of the territory: click-to-answer times."""
        import random

        from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsPointXY, QgsProject

        dock = self.dock()
        canvas = self.iface.mapCanvas()
        self.canvas_at(3.45, 50.37, half_width=14000)
        dock.click_button.setChecked(True)
        t = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), canvas.mapSettings().destinationCrs(),
                                   QgsProject.instance())
        rnd = random.Random(11)
        times = []
        answers = []
        dock.answered.connect(answers.append)
        try:
            for _ in range(int(self.config.get("clicks", 200))):
                p = t.transform(QgsPointXY(3.35 + rnd.random() * 0.2, 50.30 + rnd.random() * 0.15))
                n = len(answers)
                start = time.perf_counter()
                self.click_map(p)
                while len(answers) == n and time.perf_counter() - start < 5:
                    from qgis.core import QgsApplication

                    QgsApplication.processEvents()
                times.append(time.perf_counter() - start)
        finally:
            dock.answered.disconnect(answers.append)
        self.report["timings"]["clicks_s"] = times
        self.report["answered_clicks"] = len(answers)
        # the parts of a click, called directly on the same points: the lookup alone, the whole panel update
        from qgis.core import QgsCoordinateReferenceSystem as Crs

        to_l93 = QgsCoordinateTransform(canvas.mapSettings().destinationCrs(), Crs("EPSG:2154"), QgsProject.instance())
        rnd = random.Random(11)
        lookups, shows = [], []
        territory = dock.service.territory
        for _ in range(int(self.config.get("clicks", 200))):
            p = to_l93.transform(t.transform(QgsPointXY(3.35 + rnd.random() * 0.2, 50.30 + rnd.random() * 0.15)))
            start = time.perf_counter()
            territory.lookup(x=p.x(), y=p.y())
            lookups.append(time.perf_counter() - start)
            start = time.perf_counter()
            dock.show_l93(p.x(), p.y())
            shows.append(time.perf_counter() - start)
        self.report["timings"]["lookup_s"] = lookups
        self.report["timings"]["show_s"] = shows

    def step_quit(self):
        from qgis.core import QgsProject

        self.write()
        QgsProject.instance().clear()  # no « scratch layers will be lost » question
        QgsProject.instance().setDirty(False)
        self.iface.actionExit().trigger()

    # -- running -------------------------------------------------------------------------
    def write(self) -> None:
        import qgis.utils

        self.report["plugins_loaded"] = sorted(qgis.utils.plugins)
        tmp = self.config["report"] + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.report, fh, ensure_ascii=False, indent=1, default=str)
        os.replace(tmp, self.config["report"])

    def run_next(self) -> None:
        from qgis.PyQt.QtCore import QTimer

        if not self.steps:
            return
        name = self.steps.pop(0)
        entry = {"step": name}
        start = time.perf_counter()
        try:
            getattr(self, "step_" + name)()
            entry["ok"] = True
        except Exception as exc:  # noqa: BLE001 - recorded, the next steps still run
            entry["ok"] = False
            entry["error"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-3000:]
        entry["seconds"] = round(time.perf_counter() - start, 3)
        self.report["steps"].append(entry)
        self.write()  # after every step: a crash leaves what was seen until then
        if self.steps:
            QTimer.singleShot(200, self.run_next)


def start() -> None:
    from qgis.PyQt.QtCore import QTimer

    with open(os.environ["CQ_DESKTOP_CONFIG"], encoding="utf-8") as fh:
        config = json.load(fh)
    driver = Driver(config)
    globals()["_DRIVER"] = driver  # kept alive
    QTimer.singleShot(int(config.get("delay_ms", 1500)), driver.run_next)


if os.environ.get("CQ_DESKTOP_CONFIG") and __name__ == "__main__":
    start()
