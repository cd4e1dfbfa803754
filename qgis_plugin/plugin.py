"""The plugin object QGIS holds: builds and removes the panel, tool, locator filter and provider."""

from __future__ import annotations

from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, Qt, QTranslator
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .core import log as plugin_log
from .core.log import bar, error, guarded, log
from .core.service import TerritoryService
from .core.translation import tr

PLUGIN_DIR = Path(__file__).resolve().parent
MENU = "Contrat Quartiers 2030"


class CqGeoPlugin:
    """« Contrat Quartiers 2030 »: panel, map tool, locator filter, Processing provider."""

    def __init__(self, iface):
        self.iface = iface
        plugin_log.set_iface(iface)
        self.service = TerritoryService()
        self.service.listeners.append(self._on_reload)
        self.provider = None
        self.dock = None
        self.map_tool = None
        self.locator_filter = None
        self.actions: list[QAction] = []
        self.translator = None
        self._install_translator()

    # -- translations -------------------------------------------------------------------
    def _install_translator(self) -> None:
        try:
            locale = QgsApplication.locale() or "fr"
        except AttributeError:  # pragma: no cover - older API
            locale = str(QgsSettings().value("locale/userLocale", "fr") or "fr")
        locale = locale[:2].lower()
        qm = PLUGIN_DIR / "i18n" / f"cq_geo_{locale}.qm"
        if locale != "fr" and qm.is_file():
            self.translator = QTranslator()
            if self.translator.load(str(qm)):
                QCoreApplication.installTranslator(self.translator)
            else:
                self.translator = None

    # -- Processing (also headless, qgis_process) ----------------------------------------
    def initProcessing(self):  # noqa: N802
        try:
            if self.provider is None:
                from .processing import provider  # package-level import: QGIS then unloads the subpackage too

                self.provider = provider.CqGeoProvider()
                QgsApplication.processingRegistry().addProvider(self.provider)
        except Exception as exc:  # noqa: BLE001 - never raise into QGIS
            self.provider = None
            error(exc, tr("Traitements Contrat Quartiers 2030 indisponibles"))

    # -- GUI ---------------------------------------------------------------------------
    def initGui(self):  # noqa: N802
        self.initProcessing()
        if self.iface is None:
            return
        try:
            self._init_gui()
        except Exception as exc:  # noqa: BLE001
            error(exc, tr("Extension Contrat Quartiers 2030"))

    def _init_gui(self) -> None:
        from .gui import locator, maptool, panel  # package-level import: QGIS then unloads the subpackage too

        CqGeoLocatorFilter, IdentifyGeographyTool, CqGeoDock = (
            locator.CqGeoLocatorFilter, maptool.IdentifyGeographyTool, panel.CqGeoDock)

        icon = QIcon(str(PLUGIN_DIR / "icons" / "icon.svg"))
        main = self.iface.mainWindow()
        self.dock = CqGeoDock(self.iface, self.service, main)
        self.dock.actions_handler = self.data_action
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()

        canvas = self.iface.mapCanvas()
        self.map_tool = IdentifyGeographyTool(canvas)
        self.map_tool.canvasClicked.connect(self.dock.show_canvas_point)
        self.map_tool.deactivated.connect(self.dock.tool_deactivated)
        self.dock.map_tool = self.map_tool

        panel_action = QAction(icon, tr("Contrat Quartiers 2030"), main)
        panel_action.setObjectName("cq_geo_panel")
        panel_action.setCheckable(True)
        panel_action.setToolTip(tr("Quelle géographie du Contrat Quartiers 2030 couvre ce lieu ?"))
        # triggered (a user's click), not toggled: when the dock's tab goes behind another
        # one, visibilityChanged unchecks the action but must not close the dock
        panel_action.triggered.connect(self.show_panel)
        self.dock.visibilityChanged.connect(panel_action.setChecked)
        self.panel_action = panel_action

        click_action = QAction(icon, tr("Identifier la géographie du contrat (clic sur la carte)"), main)
        click_action.setObjectName("cq_geo_identify")
        click_action.triggered.connect(self.start_identify)

        layers_action = QAction(tr("Charger les couches du territoire"), main)
        layers_action.setObjectName("cq_geo_layers")
        layers_action.triggered.connect(lambda: self.data_action("layers"))

        self.iface.addToolBarIcon(panel_action)
        for action in (panel_action, click_action, layers_action):
            self.iface.addPluginToVectorMenu(MENU, action)
            self.actions.append(action)

        from .gui.locator import preset_prefix

        preset_prefix()
        from .core import net
        from .gui.panel import geocoder_mode

        self.locator_filter = CqGeoLocatorFilter(self.service, on_trigger=self.locator_triggered,
                                                 geocoder_mode=geocoder_mode(), transport=net.transport)
        self.dock.on_geocoder_mode = self._geocoder_mode_changed
        self.iface.registerLocatorFilter(self.locator_filter)
        # the territory is read once QGIS has finished starting (the window shows at once)
        from qgis.PyQt.QtCore import QTimer

        QTimer.singleShot(0, self._first_load)

    def _first_load(self) -> None:
        if not self.service._tried:
            self.service.reload()

    def _geocoder_mode_changed(self, mode: str) -> None:
        if self.locator_filter is not None:
            self.locator_filter.geocoder_mode = mode

    def _on_reload(self, service) -> None:
        """After every (re)load, main thread: outlines and search index, locator, panel, one message if it failed."""
        from .core import search
        from .core.geometry import centres, load_outlines

        if service.loaded:
            try:
                service.outlines = load_outlines(service.territory.definition, service.store_path(),
                                                 service.shared_url())
                service.places = search.PlaceIndex.build(service.territory.definition, centres(service.outlines))
            except Exception as exc:  # noqa: BLE001 - answers still work without outlines
                log(f"contours : {type(exc).__name__} : {exc}", Qgis.MessageLevel.Warning)
                service.outlines, service.places = None, None
        else:
            service.outlines, service.places = None, None
            bar(service.load_error.text(), Qgis.MessageLevel.Critical, 0)
            log(service.load_error.detail, Qgis.MessageLevel.Warning)
        if self.locator_filter is not None:
            self.locator_filter.set_places(service.places)
        if self.dock is not None:
            self.dock.update_status()
        for name, cap in sorted(service.caps.items()):
            if not cap.available:
                log(f"indisponible : {cap.name} — {cap.reason}")

    @guarded("Panneau")
    def show_panel(self, visible: bool = True) -> None:
        if self.dock is None:
            return
        if visible:
            if not self.service._tried:
                self.service.reload()
            elif not self.dock.status_label.text():
                self.dock.update_status()
            self.dock.show()
            self.dock.raise_()
        else:
            self.dock.hide()

    @guarded("Outil d'identification")
    def start_identify(self, *_args) -> None:
        self.show_panel(True)
        self.dock.click_button.setChecked(True)

    def locator_triggered(self, place: dict) -> None:
        self.show_panel(True)
        self.dock.show_place(place)

    # -- data actions (panel buttons) ---------------------------------------------------
    @guarded("Contrat Quartiers 2030")
    def data_action(self, what: str) -> None:
        if what == "layers":
            self.load_layers()
        elif what == "check":
            self.run_check()
        elif what in ("download", "import", "ban"):
            from .core import data_actions

            return data_actions.run(self, what)

    def after_data_change(self) -> None:
        """After an import (main thread): read the territory again and answer again for the current point."""
        self.service.reload()
        if self.dock is not None:
            self.dock.refresh_answer()
        # the territory's layers already in the project show the new data (same place in the Layers panel)
        from qgis.core import QgsProject

        from .core.layers import GROUP_NAME

        if self.iface is not None and QgsProject.instance().layerTreeRoot().findGroup(GROUP_NAME) is not None:
            self.load_layers()

    def load_layers(self):
        from .core.layers import add_to_project, build_layers

        if self.service.try_territory() is None:
            bar(self.service.load_error.text(), Qgis.MessageLevel.Critical, 10)
            return {}
        layers, origin = build_layers(self.service)
        add_to_project(layers)
        where = {"store": tr("magasin de données"), "shared": tr("magasin partagé PostgreSQL (modifiable avec le "
                                                                 "rôle éditeur)")}.get(
            origin, tr("données embarquées (en mémoire)"))
        bar(tr("Couches du territoire chargées : {where}.").format(where=where), Qgis.MessageLevel.Success, 4)
        return layers

    def run_check(self) -> str:
        from cq_geo.report import check_text

        from .core.log import plugin_words
        from .gui.panel import esc

        if self.service.try_territory() is None:
            self.show_panel(True)
            self.dock.show_load_error()
            return ""
        text = plugin_words(check_text(self.service.territory.check()))
        self.show_panel(True)
        self.dock.answer.setHtml("<pre style='white-space:pre-wrap'>" + esc(text) + "</pre>")
        return text

    # -- unload ------------------------------------------------------------------------
    def unload(self):
        try:
            self._unload()
        except Exception as exc:  # noqa: BLE001
            error(exc, tr("Déchargement de l'extension"))
        finally:
            from ._bootstrap import forget_bundled_library

            forget_bundled_library()

    def _unload(self) -> None:
        from .core import data_actions

        data_actions.cancel_all()  # a download or import still running would keep QGIS from exiting
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.iface is None:
            return
        if self.locator_filter is not None:
            self.iface.deregisterLocatorFilter(self.locator_filter)
            self.locator_filter = None
        canvas = self.iface.mapCanvas()
        if self.map_tool is not None:
            if canvas.mapTool() is self.map_tool:
                canvas.unsetMapTool(self.map_tool)
            self.map_tool.deleteLater()
            self.map_tool = None
        for action in self.actions:
            self.iface.removePluginVectorMenu(MENU, action)
            self.iface.removeToolBarIcon(action)
            action.deleteLater()
        self.actions = []
        if self.dock is not None:
            self.dock.clear_highlight()
            self.iface.removeDockWidget(self.dock)
            self.dock.setParent(None)
            self.dock.deleteLater()
            self.dock = None
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
        plugin_log.set_iface(None)
