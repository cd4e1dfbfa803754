"""HTTP through QGIS's own network stack (QgsBlockingNetworkRequest): the proxy, certificates and
authentication configured in QGIS apply (common in local government).

Call these from a QgsTask or a Processing algorithm (a worker thread), never
from the GUI thread: they block until the answer comes.

- :func:`transport` is the hook the library's ``OnlineGeocoder(transport=…)``
  takes: ``(method, url, data, headers, timeout) -> (status, headers, body)``,
  raising ``OSError`` when the network fails;
- :func:`download` fetches an official source to a file, with progress and cancel.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from qgis.core import QgsBlockingNetworkRequest, QgsFeedback
from qgis.PyQt.QtCore import QByteArray, QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest

USER_AGENT = "cq-geo QGIS"


class Canceled(Exception):
    """The user cancelled (a QgsTask's or Processing's cancel button)."""


def _request(url: str, headers: dict | None, timeout: float | None) -> QNetworkRequest:
    req = QNetworkRequest(QUrl(url))
    req.setRawHeader(b"User-Agent", USER_AGENT.encode())
    for key, value in (headers or {}).items():
        req.setRawHeader(str(key).encode("latin-1"), str(value).encode("latin-1"))
    if timeout and hasattr(req, "setTransferTimeout"):  # Qt >= 5.15
        req.setTransferTimeout(int(timeout * 1000))
    return req


def _status(reply) -> int | None:
    value = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _headers(reply) -> dict[str, str]:
    out = {}
    for name in reply.rawHeaderList():
        key = bytes(name).decode("latin-1").lower()
        out[key] = bytes(reply.rawHeader(name)).decode("latin-1")
    return out


def _qgs_feedback(feedback):
    """A QgsFeedback for QgsBlockingNetworkRequest (a plugin Job carries one as ``net_feedback``)."""
    if feedback is None or isinstance(feedback, QgsFeedback):
        return feedback
    return getattr(feedback, "net_feedback", None)


def transport(method: str, url: str, data: bytes | None, headers: dict | None, timeout: float | None,
              feedback: QgsFeedback | None = None):
    """One HTTP request through QGIS: ``(status, headers with lower-case keys, body)``; OSError if no answer."""
    feedback = _qgs_feedback(feedback)
    req = QgsBlockingNetworkRequest()
    request = _request(url, headers, timeout)
    if method.upper() == "POST":
        err = req.post(request, QByteArray(data or b""), True, feedback)
    else:
        err = req.get(request, True, feedback)
    reply = req.reply()
    status = _status(reply)
    if feedback is not None and feedback.isCanceled():
        raise Canceled()
    if status is None:  # no HTTP answer: DNS, refused, timeout, proxy…
        message = req.errorMessage() or f"erreur réseau {int(err)}"
        raise OSError(f"{message} ({url})")
    return status, _headers(reply), bytes(reply.content())


def download(url: str, dest_dir: Path, feedback: QgsFeedback | None = None, progress=None,
             max_bytes: int = 600 * 2**20, idle_timeout: float = 60.0) -> tuple[Path, str]:
    """Download *url* into a new file of *dest_dir*; returns ``(path, sha256)``. French errors (OSError/ValueError).

    The transfer stops when nothing arrives for *idle_timeout* seconds (a server that hangs)."""
    from cq_geo.data.sources import allowed_hosts, check_url, looks_like_html

    allowed = allowed_hosts(url)
    check_url(url, allowed)  # the download rules of cq_geo.data.sources: HTTPS, official hosts or configured mirrors
    task = feedback
    feedback = _qgs_feedback(feedback)
    req = QgsBlockingNetworkRequest()
    if progress is None and task is not None and hasattr(task, "setProgress"):
        progress = lambda done, total: task.setProgress(100.0 * done / total) if total else None  # noqa: E731
    if progress is not None:
        req.downloadProgress.connect(lambda done, total: progress(int(done), int(total) if total > 0 else None))
    if feedback is not None and feedback.isCanceled():  # cancelled before the request: it would not see it
        raise Canceled()
    err = req.get(_request(url, None, idle_timeout), True, feedback)
    if feedback is not None and feedback.isCanceled():
        raise Canceled()
    reply = req.reply()
    status = _status(reply)
    if status is None:
        raise OSError(f"téléchargement impossible : {req.errorMessage() or int(err)} — vérifiez la connexion "
                      f"et le proxy (Préférences › Options › Réseau) — {url}")
    if status >= 400:
        raise OSError(f"téléchargement refusé par le serveur : HTTP {status} pour {url}")
    final = reply.url().toString() if hasattr(reply, "url") else ""
    if final and final != url:
        check_url(final, allowed)  # QGIS followed redirects: the data must come from an allowed place too
    body = bytes(reply.content())
    content_type = _headers(reply).get("content-type", "")
    if looks_like_html(body[:2048], content_type):
        raise OSError(f"le serveur a envoyé une page web au lieu des données (maintenance, erreur ou portail "
                      f"d'accès) : {final or url}")
    if len(body) < 64:
        raise ValueError(f"fichier téléchargé trop petit ({len(body)} octets) : {url}")
    if len(body) > max_bytes:
        raise ValueError(f"fichier trop gros : {len(body)} octets (maximum {max_bytes})")
    digest = hashlib.sha256(body).hexdigest()
    suffix = ".zip" if body[:2] == b"PK" else ".gpkg" if body[:15] == b"SQLite format 3" else \
        ".geojson" if body.lstrip()[:1] in (b"{", b"[") else ".bin"
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=dest_dir)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
    target = dest_dir / f"download-{digest[:12]}{suffix}"
    os.replace(tmp, target)
    return target, digest
