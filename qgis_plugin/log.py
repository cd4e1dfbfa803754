"""The single path to the QGIS message log and message bar: the plugin never raises into QGIS."""

from __future__ import annotations

import functools
import traceback

from qgis.core import Qgis, QgsMessageLog

from .translation import tr

TAG = "Contrat Quartiers 2030"
_iface = None


def set_iface(iface) -> None:
    """Remember QGIS's interface (None when headless)."""
    global _iface
    _iface = iface


def log(message: str, level=Qgis.MessageLevel.Info) -> None:
    QgsMessageLog.logMessage(message, TAG, level)


def bar(message: str, level=Qgis.MessageLevel.Info, duration: int = 6) -> None:
    """Show *message* in the message bar (and the log)."""
    log(message, level)
    if _iface is not None:
        try:
            _iface.messageBar().pushMessage(TAG, message, level, duration)
        except Exception:  # noqa: BLE001 - the bar is best effort
            pass


def error(exc: BaseException, what: str = "") -> None:
    """Report *exc*: its French message to the bar, the traceback to the log."""
    from cq_geo.errors import CqGeoError

    message = str(exc) if isinstance(exc, CqGeoError) else f"{type(exc).__name__} : {exc}"
    if what:
        message = f"{what} : {message}"
    log("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), Qgis.MessageLevel.Critical)
    bar(message, Qgis.MessageLevel.Critical, 10)


def guarded(what: str = ""):
    """Decorator for Qt slots: any exception goes to the bar and the log, never into QGIS."""

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001
                error(exc, tr(what) if what else "")
                return None

        return inner

    return wrap
