"""Official data from the panel: download or import into the store.

The work is the library's (:mod:`cq_geo.store`); this module asks for the file,
runs it with a progress bar in the message bar, then reloads the territory.
"""

from __future__ import annotations

from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QCursor
from qgis.PyQt.QtWidgets import QApplication, QFileDialog, QInputDialog, QProgressBar

from .translation import tr
from .log import bar, error

#: Import kinds: (store function, kind/tier, French label).
IMPORT_KINDS = (
    ("official", "qpv", "Périmètres QPV 2024 (fichier officiel ANCT)"),
    ("official", "communes", "Contours des communes (IGN ADMIN EXPRESS)"),
    ("official", "qpv2015", "Périmètres QPV 2015 (pour comparer)"),
    ("local", "poche", "Poches de pauvreté (périmètres dessinés par la CAPH)"),
    ("local", "qva", "Anciens quartiers de veille active (périmètres dessinés)"),
)

def store_api():
    """``cq_geo.store`` if it offers the import and download functions, else a CqGeoError."""
    from cq_geo.errors import MissingDependency

    try:
        from cq_geo import store
    except ImportError as exc:
        raise MissingDependency(tr("le magasin de données n'est pas disponible dans cette version de cq-geo")) from exc
    for name in ("open_store", "import_official", "import_local", "update_from_network"):
        if not hasattr(store, name):
            raise MissingDependency(tr("le magasin de données de cette version de cq-geo ne sait pas faire : {name}")
                                    .format(name=name))
    return store


def import_file(path: str, method: str, kind: str, store_path=None) -> list:
    """Import *path* into the store (``method`` official/local); returns the library's reports."""
    store = store_api()
    target = store.open_store(store_path)
    if method == "official":
        return [store.import_official(target, kind, path)]
    return [store.import_local(target, path, kind)]


def download(store_path=None, only=None, progress_factory=None) -> list:
    """Download and install the official layers (communes, QPV)."""
    store = store_api()
    return store.update_from_network(store.open_store(store_path), only=only, progress_factory=progress_factory)


def _report_text(reports) -> str:
    parts = []
    for r in reports or []:
        kind = getattr(r, "kind", getattr(r, "layer", ""))
        count = getattr(r, "feature_count", getattr(r, "count", ""))
        changed = getattr(r, "changed", True)
        parts.append(f"{kind} : {count} " + (tr("entité(s)") if changed else tr("déjà à jour")))
    return ", ".join(parts)


class _Progress:
    """A progress bar in the message bar, kept alive by processing events (the work runs in the main thread)."""

    def __init__(self, iface, label: str):
        self.bar = None
        self.item = None
        if iface is not None:
            self.item = iface.messageBar().createMessage(label)
            self.bar = QProgressBar()
            self.bar.setRange(0, 0)
            self.item.layout().addWidget(self.bar)
            iface.messageBar().pushWidget(self.item, Qgis.MessageLevel.Info)
        self.iface = iface
        QgsApplication.processEvents()

    def factory(self, label: str):
        def progress(done, total):
            if self.bar is not None and total:
                self.bar.setRange(0, int(total))
                self.bar.setValue(int(done))
            QgsApplication.processEvents()

        return progress

    def close(self) -> None:
        if self.item is not None:
            try:
                self.iface.messageBar().popWidget(self.item)
            except Exception:  # noqa: BLE001 - the bar may already be gone
                pass
            self.item = None


def run(plugin, what: str) -> None:
    """Panel action *what* (``download`` or ``import``).

    The work runs in the main thread (with a progress bar and events processed):
    the library reads files with geopandas/pyproj, and pyproj beside QGIS's own
    PROJ is not safe in a worker thread (it crashed QGIS in a QgsTask).
    """
    store_api()  # fail early, with the reason, before asking anything
    store_path = plugin.service.store_path()
    main = plugin.iface.mainWindow()
    if what == "download":
        label = tr("Téléchargement des données officielles")

        def work(progress):
            return download(store_path, progress_factory=progress.factory)
    else:
        labels = [tr(k[2]) for k in IMPORT_KINDS]
        choice, ok = QInputDialog.getItem(main, tr("Importer des périmètres"), tr("Type de fichier :"), labels, 0, False)
        if not ok:
            return
        method, kind, _ = IMPORT_KINDS[labels.index(choice)]
        path, _filter = QFileDialog.getOpenFileName(
            main, tr("Fichier de périmètres"), "",
            tr("Données géographiques (*.gpkg *.geojson *.json *.shp *.zip *.kml);;Tous les fichiers (*)"))
        if not path:
            return
        label = tr("Import : {label}").format(label=choice)

        def work(progress):
            return import_file(path, method, kind, store_path)

    progress = _Progress(plugin.iface, tr("{label} : en cours…").format(label=label))
    QApplication.setOverrideCursor(QCursor(Qt.CursorShape.WaitCursor))
    try:
        result = work(progress)
    except Exception as exc:  # noqa: BLE001 - to the message bar and the log
        error(exc, label)
        return
    finally:
        QApplication.restoreOverrideCursor()
        progress.close()
    plugin.service.reload()
    if plugin.dock is not None:
        plugin.dock.update_status()
    bar(f"{label} : {_report_text(result)}", Qgis.MessageLevel.Success, 8)
