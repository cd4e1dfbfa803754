"""HTTP through QGIS's own network stack (QgsNetworkAccessManager): the proxy, certificates and
authentication configured in QGIS apply (common in local government).

Call these from a QgsTask or a Processing algorithm (a worker thread), never
from the GUI thread: they block until the answer comes.

- :func:`transport` is the hook the library's ``OnlineGeocoder(transport=…)``
  takes: ``(method, url, data, headers, timeout) -> (status, headers, body)``,
  raising ``OSError`` when the network fails;
- :func:`download` fetches an official source to a file, with progress and cancel.

Both see a cancel within :data:`POLL_S` seconds, whenever it arrives (see :func:`_fetch`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

from qgis.core import QgsFeedback, QgsNetworkAccessManager
from qgis.PyQt.QtCore import QByteArray, QCoreApplication, QEvent, QEventLoop, QTimer, QUrl
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

USER_AGENT = "cq-geo QGIS"
#: How often a download looks at its task's cancel flag (seconds), even when no data arrives.
POLL_S = 0.1
#: Redirections followed by a download (each target is checked against the download rules first).
MAX_REDIRECTS = 10
_REDIRECT_CODES = (301, 302, 303, 307, 308)


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
    """The QgsFeedback of *feedback* (a plugin Job carries one as ``net_feedback``), or None."""
    if feedback is None or isinstance(feedback, QgsFeedback):
        return feedback
    return getattr(feedback, "net_feedback", None)


def transport(method: str, url: str, data: bytes | None, headers: dict | None, timeout: float | None,
              feedback: QgsFeedback | None = None):
    """One HTTP request through QGIS: ``(status, headers with lower-case keys, body)``; OSError if no answer.

    Same machinery as :func:`download` (see :func:`_fetch`): a cancel of *feedback* (a QgsTask, a
    QgsFeedback, a Processing feedback) is seen within :data:`POLL_S` s and raises :class:`Canceled`."""
    import io

    body = io.BytesIO()
    status, resp_headers, _final, _size = _fetch(
        url, body, _cancel_check(feedback, _qgs_feedback(feedback)), None, 2**31, timeout or 60.0,
        method=method, data=data, headers=headers, words=("requête impossible", "requête interrompue"))
    return status, resp_headers, body.getvalue()


def _cancel_check(*feedbacks):
    """``() -> bool``: has any of *feedbacks* (a QgsTask, a QgsFeedback, a Processing feedback) been cancelled?"""
    checks = [f for f in feedbacks if f is not None and hasattr(f, "isCanceled")]
    return lambda: any(f.isCanceled() for f in checks)


def _fetch(url: str, sink, canceled, progress, max_bytes: int, idle_timeout: float, check_redirect=None,
           method: str = "GET", data: bytes | None = None, headers: dict | None = None,
           words=("téléchargement impossible", "téléchargement interrompu")):
    """Send the request, write the answer's body into the binary file *sink*; returns
    ``(status, headers, final url, bytes written)``. *words*: how the French errors name the failure.

    Why not QgsBlockingNetworkRequest (issue 11): it listens to its QgsFeedback's ``canceled``
    signal only from inside ``get()``, so a cancel arriving between the caller's "already
    cancelled?" check and that connection is lost (checked on QGIS 3.22: the transfer then
    runs until the server closes); and its ``abort()``, called from the request's own thread,
    deletes the reply without ending ``get()``'s event loop, which then never returns, even
    after the server has gone (the earlier fix that aborted from a progress slot hung so).
    Python slots run by that C++ loop also need the GIL. QgsFileDownloader reports only
    through signals (Python slots again) and follows redirections before we can check where
    they go.

    So: an asynchronous request on this thread's QgsNetworkAccessManager (QGIS's proxy, SSL
    and timeout settings apply), driven by a local QEventLoop whose only connections are C++ to C++ (the reply's
    ``readyRead``/``finished`` and a QTimer's ``timeout`` to ``QEventLoop.quit``): no Python
    runs inside the loop. Between two turns its poll loop (:func:`_pump`), in the worker's own flow, reads
    the cancel flag (a flag, not a signal: it cannot be missed), aborts the reply, writes
    what arrived and reports progress. The timer bounds each turn to :data:`POLL_S` s.
    Redirections are followed here, each target checked first by *check_redirect*.
    """
    nam = QgsNetworkAccessManager.instance()  # this thread's manager, set up from QGIS's network settings
    loop = QEventLoop()
    timer = QTimer()  # C++ to C++: wakes the loop every POLL_S s so that the cancel flag is read
    timer.setInterval(int(POLL_S * 1000))
    timer.timeout.connect(loop.quit)
    timer.start()
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            if canceled():
                raise Canceled()
            reply = _send(nam, _fetch_request(url, headers, idle_timeout), method, data)
            try:
                reply.readyRead.connect(loop.quit)  # C++ to C++ as well: no Python slot in this thread
                reply.finished.connect(loop.quit)
                written, total = _pump(reply, loop, sink, canceled, progress, max_bytes, idle_timeout, url, words)
                status, answer = _answer(reply, url, words)
                target = _redirect_target(reply, status, answer, check_redirect)
                if target is not None:
                    url = target
                    if status in (301, 302, 303):  # as browsers do: the next request is a GET
                        method, data = "GET", None
                    continue
                _check_complete(reply, status, written, total, url, words)
                return status, answer, reply.url().toString() or url, written
            finally:
                _dispose(reply)
        raise OSError(f"{words[0]} : plus de {MAX_REDIRECTS} redirections — {url}")
    finally:
        timer.stop()


def _fetch_request(url: str, headers: dict | None, idle_timeout: float) -> QNetworkRequest:
    """The request of :func:`_fetch`: redirections left to us, never served from or kept in QGIS's cache."""
    request = _request(url, headers, idle_timeout)
    request.setAttribute(QNetworkRequest.Attribute.RedirectPolicyAttribute,
                         QNetworkRequest.RedirectPolicy.ManualRedirectPolicy)
    # always from the server, never kept in QGIS's network cache (files up to hundreds of MB)
    request.setAttribute(QNetworkRequest.Attribute.CacheLoadControlAttribute,
                         QNetworkRequest.CacheLoadControl.AlwaysNetwork)
    request.setAttribute(QNetworkRequest.Attribute.CacheSaveControlAttribute, False)
    return request


def _send(nam, request: QNetworkRequest, method: str, data: bytes | None):
    """Start the request (asynchronous): the QNetworkReply."""
    if method.upper() == "POST":
        return nam.post(request, QByteArray(data or b""))
    return nam.get(request)


def _pump(reply, loop: QEventLoop, sink, canceled, progress, max_bytes: int, idle_timeout: float,
          url: str, words) -> tuple[int, int | None]:
    """The poll loop of :func:`_fetch`, in the worker's own flow: until *reply* is finished and read,
    check the cancel flag, write what arrived into *sink*, report progress, then wait in *loop*
    (woken by the reply or the POLL_S timer). Returns ``(bytes written, Content-Length or 0/None)``.
    A redirection's body is read and dropped."""
    written, total, last_data = 0, None, time.monotonic()
    while True:
        if canceled():
            reply.abort()
            raise Canceled()
        status = _status(reply)
        chunk = bytes(reply.readAll())
        if chunk and status not in _REDIRECT_CODES:
            last_data = time.monotonic()
            written += len(chunk)
            if written > max_bytes:
                reply.abort()
                raise ValueError(f"fichier trop gros : plus de {max_bytes} octets")
            sink.write(chunk)
            if total is None:
                length = reply.header(QNetworkRequest.KnownHeaders.ContentLengthHeader)
                total = int(length) if length not in (None, "") and int(length) > 0 else 0
            if progress is not None:
                progress(written, total or None)
        if reply.isFinished() and not reply.bytesAvailable():
            return written, total
        if time.monotonic() - last_data > idle_timeout:
            reply.abort()
            raise OSError(f"{words[1]} : rien reçu depuis {idle_timeout:.0f} s — "
                          f"vérifiez la connexion et le proxy (Préférences › Options › Réseau) — {url}")
        if not reply.bytesAvailable():
            loop.exec()


def _answer(reply, url: str, words) -> tuple[int, dict[str, str]]:
    """``(HTTP status, headers)`` of a finished *reply*; OSError when no HTTP answer came."""
    status = _status(reply)
    answer = _headers(reply)
    if status is None:  # no HTTP answer: DNS, refused, timeout, proxy…
        raise OSError(f"{words[0]} : {reply.errorString() or int(reply.error())} — "
                      f"vérifiez la connexion et le proxy (Préférences › Options › Réseau) — {url}")
    return status, answer


def _redirect_target(reply, status: int, answer: dict[str, str], check_redirect) -> str | None:
    """The absolute URL a redirection points to, checked by *check_redirect* first; None if no redirection."""
    location = answer.get("location")
    if status not in _REDIRECT_CODES or not location:
        return None
    target = reply.url().resolved(QUrl(location)).toString()
    if check_redirect is not None:
        check_redirect(target)  # never request a place the download rules refuse
    return target


def _check_complete(reply, status: int, written: int, total: int | None, url: str, words) -> None:
    """OSError when a successful answer was cut off midway: never a truncated file."""
    if status < 400 and (reply.error() != QNetworkReply.NetworkError.NoError
                         or (total and written < total)):
        raise OSError(f"{words[1]} après {written} octets : {reply.errorString()} — "
                      f"vérifiez la connexion et le proxy (Préférences › Options › Réseau) — {url}")


def _dispose(reply) -> None:
    """Delete *reply* now (a worker thread of QGIS's pool may never run an event loop again)."""
    if not reply.isFinished():
        reply.abort()
    reply.deleteLater()
    QCoreApplication.sendPostedEvents(reply, QEvent.Type.DeferredDelete)


def download(url: str, dest_dir: Path, feedback: QgsFeedback | None = None, progress=None,
             max_bytes: int = 600 * 2**20, idle_timeout: float = 60.0) -> tuple[Path, str]:
    """Download *url* into a new file of *dest_dir*; returns ``(path, sha256)``. French errors (OSError/ValueError).

    *feedback* is a QgsTask (a plugin Job), a QgsFeedback or a Processing feedback: its cancel
    is seen within :data:`POLL_S` s and raises :class:`Canceled`. The data goes to a temporary
    file of *dest_dir*, renamed only when complete and checked. The transfer stops when nothing
    arrives for *idle_timeout* seconds (a server that hangs)."""
    from cq_geo.data.sources import allowed_hosts, check_url, looks_like_html

    allowed = allowed_hosts(url)
    check_url(url, allowed)  # the download rules of cq_geo.data.sources: HTTPS, official hosts or configured mirrors
    task = feedback
    canceled = _cancel_check(task, _qgs_feedback(feedback))
    if progress is None and task is not None and hasattr(task, "setProgress"):
        progress = lambda done, total: task.setProgress(100.0 * done / total) if total else None  # noqa: E731
    if canceled():
        raise Canceled()
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=dest_dir)
    try:
        with os.fdopen(fd, "w+b") as fh:
            status, headers, final, size = _fetch(url, fh, canceled, progress, max_bytes, idle_timeout,
                                                  check_redirect=lambda u: check_url(u, allowed))
            if status >= 400:
                raise OSError(f"téléchargement refusé par le serveur : HTTP {status} pour {url}")
            if final and final != url:
                check_url(final, allowed)  # the data must come from an allowed place too
            fh.seek(0)
            head = fh.read(2048)
            if looks_like_html(head, headers.get("content-type", "")):
                raise OSError(f"le serveur a envoyé une page web au lieu des données (maintenance, erreur ou "
                              f"portail d'accès) : {final or url}")
            if size < 64:
                raise ValueError(f"fichier téléchargé trop petit ({size} octets) : {url}")
            fh.seek(0)
            digest = hashlib.sha256()
            for block in iter(lambda: fh.read(2**20), b""):
                digest.update(block)
        digest = digest.hexdigest()
        suffix = ".zip" if head[:2] == b"PK" else ".gpkg" if head[:15] == b"SQLite format 3" else \
            ".geojson" if head.lstrip()[:1] in (b"{", b"[") else ".bin"
        target = dest_dir / f"download-{digest[:12]}{suffix}"
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target, digest
