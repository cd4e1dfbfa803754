"""The single path to the QGIS message log and message bar: the plugin never raises into QGIS."""

from __future__ import annotations

import functools
import re
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


#: Command-line hints of the library's messages → the plugin's own actions (users of the plugin have no CLI).
_CLI_WORDS = [
    (re.compile(r"\(?\s*cq-geo data update[^)\n;,]*\)?"),
     "(panneau Contrat Quartiers 2030 › Données › « Télécharger les données officielles »)"),
    (re.compile(r"(puis\s*:\s*)?\(?\s*cq-geo data import ban[^)\n;]*\)?"),
     "puis panneau Contrat Quartiers 2030 › Données › « Installer l'index d'adresses BAN… »"),
    (re.compile(r"\(?\s*cq-geo data import[^)\n;]*\)?"),
     "(panneau Contrat Quartiers 2030 › Données › « Importer un fichier de périmètres… »)"),
    (re.compile(r"\(?--geocoder offline\)?"), "(géocodeur « BAN hors ligne » du panneau)"),
    (re.compile(r"\(?--geocoder online\)?"), "(géocodeur « en ligne » du panneau)"),
    (re.compile(r"indiquez-le avec --name-field"), "renommez ce champ en « nom » dans QGIS"),
    (re.compile(r"\(?\s*(option )?--store\)?"), "(magasin de données)"),
    (re.compile(r"pip install \"?cq-geo\[[a-z,]+\]\"?"), "une version plus récente de l'extension"),
    (re.compile(r"\bcq-geo (data|map|batch|check|lookup|geocode)\b[^)\n;,]*"), "l'action correspondante du panneau"),
]


def plugin_words(text: str) -> str:
    """*text* with command-line hints replaced by the plugin's actions.

    >>> plugin_words("périmètres QPV non installés (cq-geo data update)")
    'périmètres QPV non installés (panneau Contrat Quartiers 2030 › Données › « Télécharger les données officielles »)'
    """
    out = str(text)
    for pattern, words in _CLI_WORDS:
        out = pattern.sub(words, out)
    return out


def french(exc: BaseException) -> str:
    """A French message for *exc* (the library's own, or one built for Python's errors)."""
    try:
        from cq_geo.errors import CqGeoError
    except Exception:  # noqa: BLE001
        CqGeoError = ()  # noqa: N806
    if CqGeoError and isinstance(exc, CqGeoError):
        return plugin_words(str(exc))
    if isinstance(exc, ImportError):
        name = getattr(exc, "name", None) or str(exc)
        return f"le module Python « {name} » est absent de ce QGIS"
    if isinstance(exc, (OSError,)):
        return f"erreur de fichier ou de réseau : {exc}"
    return (f"erreur inattendue ({type(exc).__name__} : {exc}) ; le détail est dans le journal des messages, "
            f"onglet « {TAG} »")


def error(exc: BaseException, what: str = "") -> None:
    """Report *exc*: its French message to the bar, the traceback to the log."""
    message = french(exc)
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
