"""Official data from the panel: download or import into the store, in a background task.

The work is the library's (:mod:`cq_geo.store`); this module asks for the file,
runs it in a ``QgsTask`` so QGIS stays responsive, then reloads the territory.
"""

from __future__ import annotations

from qgis.core import Qgis, QgsApplication, QgsTask
from qgis.PyQt.QtWidgets import QFileDialog, QInputDialog

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

_TASKS: list = []  # keep Python task objects alive while they run


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


def download(store_path=None, only=None) -> list:
    """Download and install the official layers (communes, QPV)."""
    store = store_api()
    return store.update_from_network(store.open_store(store_path), only=only)


def _report_text(reports) -> str:
    parts = []
    for r in reports or []:
        kind = getattr(r, "kind", getattr(r, "layer", ""))
        count = getattr(r, "feature_count", getattr(r, "count", ""))
        changed = getattr(r, "changed", True)
        parts.append(f"{kind} : {count} " + (tr("entité(s)") if changed else tr("déjà à jour")))
    return ", ".join(parts)


def run(plugin, what: str) -> None:
    """Panel action *what* (``download`` or ``import``)."""
    store_api()  # fail early, with the reason, before asking anything
    store_path = plugin.service.store_path()
    main = plugin.iface.mainWindow()
    if what == "download":
        label = tr("Téléchargement des données officielles")

        def work(task):
            return download(store_path)
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

        def work(task):
            return import_file(path, method, kind, store_path)

    def finished(exception, result=None):
        try:
            if exception is not None:
                error(exception, label)
                return
            plugin.service.reload()
            if plugin.dock is not None:
                plugin.dock.update_status()
            bar(f"{label} : {_report_text(result)}", Qgis.MessageLevel.Success, 8)
        except Exception as exc:  # noqa: BLE001
            error(exc, label)
        finally:
            _TASKS[:] = [t for t in _TASKS if t is not task]

    task = QgsTask.fromFunction(label, work, on_finished=finished)
    _TASKS.append(task)
    QgsApplication.taskManager().addTask(task)
    bar(tr("{label} : en cours…").format(label=label), Qgis.MessageLevel.Info, 3)
