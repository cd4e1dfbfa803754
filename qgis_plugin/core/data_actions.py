"""Data from the panel: import a perimeter file, download the official layers, install the BAN index.

Every job runs in a ``QgsTask`` (progress and cancel in QGIS's task bar; the
window never freezes). Files are read by QGIS (:mod:`.reader`), downloads go
through QGIS's network stack (:mod:`.net`, the QGIS proxy applies), and the
store is written by the library (``cq_geo.data.imports.import_records``,
``cq_geo.geocode.ban_index.import_ban``). When a job ends (main thread) the
territory is read again and the panel's answer refreshed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsFeedback, QgsTask
from qgis.PyQt.QtWidgets import QFileDialog, QInputDialog

from .log import bar, error, log
from .translation import tr

#: Import kinds: (store kind, tier, French label). « local » zones are drawn by the CAPH.
IMPORT_KINDS = (
    ("qpv", None, "Périmètres QPV 2024 (fichier officiel ANCT)"),
    ("communes", None, "Contours des communes (IGN ADMIN EXPRESS)"),
    ("qpv2015", None, "Périmètres QPV 2015 (pour comparer)"),
    ("local", "poche", "Poches de pauvreté (périmètres dessinés par la CAPH)"),
    ("local", "qva", "Anciens quartiers de veille active (périmètres dessinés)"),
)

#: Keep running tasks alive (QGIS owns them, Python must not collect them).
_TASKS: list = []


def _prefer(kind: str):
    def prefer(name: str) -> int:
        n = name.lower()
        if kind == "communes":
            return (5 if "commune" in n and "associee" not in n and "arrondissement" not in n else 0) + (
                3 if n.endswith(".gpkg") else 1 if n.endswith(".shp") else 0)
        return (3 if n.endswith(".gpkg") else 2 if n.endswith(".geojson") else 1 if n.endswith(".shp") else 0)

    return prefer


def import_path(path, kind: str, tier, store_path: Path, *, origin="file", url=None, sha256=None, feedback=None):
    """Read *path* with QGIS and hand its records to the store; returns the library's ImportReport."""
    from cq_geo.data.imports import import_records
    from cq_geo.data.store import open_store
    from cq_geo.files import file_sha256

    from . import reader

    source = reader.open_source(path, prefer=_prefer(kind))
    recs = reader.records(source, feedback)
    store = open_store(store_path)
    return import_records(store, kind, recs, source_name=Path(path).name,
                          source_sha256=sha256 or file_sha256(path), origin=origin, url=url, tier=tier,
                          described=source.described)


def download_and_import(store_path: Path, feedback=None, layers=("communes", "qpv"), siren=None) -> list:
    """Download the official layers with QGIS's network stack, then import them (``origin="download"``)."""
    from cq_geo.data.sources import source_url

    from . import net

    reports = []
    with tempfile.TemporaryDirectory(prefix="cq-geo-") as tmp:
        for i, layer in enumerate(layers):
            url = source_url(layer, siren=siren)  # siren: the loaded territory's (read in the main thread)
            if feedback is not None:
                feedback.setProgress(100.0 * i / len(layers))
            path, digest = net.download(url, Path(tmp), feedback)
            reports.append(import_path(path, layer, None, store_path, origin="download", url=url, sha256=digest,
                                       feedback=None))
    return reports


def install_ban(path, store_path: Path, feedback=None) -> dict:
    """``import_ban`` of the library, with progress and cancel."""
    from cq_geo.geocode.ban_index import import_ban

    from .net import Canceled

    def progress(done, total):
        if feedback is not None:
            if feedback.isCanceled():
                raise Canceled()
            if total:
                feedback.setProgress(100.0 * done / total)

    return import_ban(path, store=store_path, progress=progress)


def report_text(reports) -> str:
    parts = []
    for r in reports if isinstance(reports, (list, tuple)) else [reports]:
        if isinstance(r, dict):  # the BAN import
            parts.append(tr("{n} adresses de {c} communes installées").format(
                n=f"{r.get('rows_kept', 0):,}".replace(",", "\u202f"), c=r.get("communes", "?")))
            continue
        layer = getattr(r, "layer", getattr(r, "kind", ""))
        count = getattr(r, "feature_count", getattr(r, "count", ""))
        changed = getattr(r, "changed", True)
        parts.append(f"{layer} : {count} " + (tr("entité(s)") if changed else tr("déjà à jour")))
    return ", ".join(parts)


class Job(QgsTask):
    """A QgsTask running *work(feedback-like task)*; the result or the error goes to *done* (main thread)."""

    def __init__(self, label: str, work, done):
        super().__init__(label, QgsTask.Flag.CanCancel)
        self.work = work
        self.done = done
        self.result = None
        self.exception = None
        self.net_feedback = QgsFeedback()  # cancels the network requests with the task

    def cancel(self):
        self.net_feedback.cancel()
        super().cancel()

    # the work asks these of a "feedback": the task itself
    def isCanceled(self):  # noqa: N802
        return QgsTask.isCanceled(self)

    def run(self):
        try:
            self.result = self.work(self)
            return True
        except BaseException as exc:  # noqa: BLE001 - reported in finished(), main thread
            self.exception = exc
            return False

    def finished(self, ok):  # noqa: N802 - main thread
        try:
            self.done(self, ok)
        except Exception as exc:  # noqa: BLE001
            error(exc, self.description())
        finally:
            if self in _TASKS:
                _TASKS.remove(self)


def cancel_all(wait_s: float = 10.0) -> int:
    """Cancel the plugin's running jobs (unload, QGIS closing) and wait up to *wait_s* s for
    them to stop: a job left running would keep QGIS from exiting. Returns how many were running."""
    import time

    from qgis.PyQt.QtCore import QCoreApplication

    jobs = list(_TASKS)
    for job in jobs:
        job.cancel()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and any(_active(job) for job in jobs):
        QCoreApplication.processEvents()
        time.sleep(0.02)
    return len(jobs)


def _active(job) -> bool:
    try:
        return job.status() not in (QgsTask.TaskStatus.Complete, QgsTask.TaskStatus.Terminated)
    except RuntimeError:  # the C++ task is already deleted
        return False


def start(label: str, work, done) -> Job:
    """Run *work* in a QgsTask; *done(job, ok)* in the main thread afterwards."""
    job = Job(label, work, done)
    _TASKS.append(job)
    QgsApplication.taskManager().addTask(job)
    return job


def _finish(plugin, label: str):
    """What to do in the main thread when a data job ends: reload, refresh the answer, say it."""

    def done(job, ok):
        from .net import Canceled

        if not ok:
            exc = job.exception
            if isinstance(exc, Canceled) or job.isCanceled():
                bar(tr("{label} : annulé.").format(label=label), Qgis.MessageLevel.Info, 4)
            elif exc is not None:
                error(exc, label)
            return
        plugin.after_data_change()
        bar(f"{label} : {report_text(job.result)}", Qgis.MessageLevel.Success, 8)

    return done


def run(plugin, what: str):
    """Panel action *what*: ``import``, ``download`` or ``ban``. Returns the started job (or None)."""
    service = plugin.service
    main = plugin.iface.mainWindow() if plugin.iface is not None else None
    store_path = service.target_store()
    if what == "download":
        label = tr("Téléchargement des données officielles")
        try:  # the loaded territory's SIREN (read here, in the main thread)
            siren = service.territory.definition.siren
        except Exception:  # noqa: BLE001 - not loaded: the library reads the territory file
            siren = None
        return start(label, lambda task: download_and_import(store_path, task, siren=siren), _finish(plugin, label))
    if what == "ban":
        path, _filter = QFileDialog.getOpenFileName(
            main, tr("Fichier d'adresses de la BAN (adresses-59.csv.gz)"), "",
            tr("Adresses BAN (*.csv.gz *.csv);;Tous les fichiers (*)"))
        if not path:
            return None
        label = tr("Installation de l'index d'adresses BAN")
        return start(label, lambda task: install_ban(path, store_path, task), _finish(plugin, label))
    labels = [tr(k[2]) for k in IMPORT_KINDS]
    choice, ok = QInputDialog.getItem(main, tr("Importer des périmètres"), tr("Type de fichier :"), labels, 0, False)
    if not ok:
        return None
    kind, tier, _ = IMPORT_KINDS[labels.index(choice)]
    path, _filter = QFileDialog.getOpenFileName(
        main, tr("Fichier de périmètres"), "",
        tr("Données géographiques (*.gpkg *.geojson *.json *.shp *.zip *.kml);;Tous les fichiers (*)"))
    if not path:
        return None
    label = tr("Import : {label}").format(label=choice)
    log(f"import {kind}/{tier} de {path} dans {store_path}")
    return start(label, lambda task: import_path(path, kind, tier, store_path, feedback=task), _finish(plugin, label))
