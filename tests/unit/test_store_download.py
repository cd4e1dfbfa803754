"""The downloader and ``cq-geo data update`` against a real HTTP server on 127.0.0.1.

The server (``http.server`` in a thread) serves SYNTHETIC files; it can cut a
response short, answer 500 before succeeding, or answer 404. The client is
not patched: it talks HTTP to the server over the loopback.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cq_geo.errors import DataError

from .store_fixtures import *  # noqa: F401,F403
from .store_fixtures import lonlat_of, sha

pytest.importorskip("geopandas")

QPV_PATH = "/api/1/datasets/r/942d4ee8-8142-4556-8ea1-335537ce1119"
COMMUNES_PATH = "/epcis/200042190/communes?format=geojson&geometry=contour&fields=nom,code,codesPostaux,population"


class Server:
    """Routes: path → (body, mode); mode ``ok``, ``truncate``, ``flaky:N`` (N × 500 first), ``404``,
    ``html`` (a web page), ``redirect:URL`` (302)."""

    def __init__(self):
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.hits: dict[str, int] = {}
        routes, hits = self.routes, self.hits

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                hits[self.path] = hits.get(self.path, 0) + 1
                if self.path not in routes:
                    self.send_error(404)
                    return
                body, mode = routes[self.path]
                if mode.startswith("redirect:"):
                    self.send_response(302)
                    self.send_header("Location", mode.split(":", 1)[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if mode == "404":
                    self.send_error(404)
                    return
                if mode.startswith("flaky:") and hits[self.path] <= int(mode.split(":")[1]):
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/zip" if body[:2] == b"PK" else
                                 "text/html; charset=utf-8" if mode == "html" else "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Last-Modified", "Thu, 06 Feb 2025 16:18:39 GMT")
                self.end_headers()
                if mode == "truncate":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # a short poll: shutdown() returns within 50 ms instead of the default 0.5 s
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def module_server():
    """One local server for the whole module (one per test cost seconds of start and shutdown)."""
    with Server() as s:
        yield s


@pytest.fixture
def server(module_server):
    module_server.routes.clear()
    module_server.hits.clear()
    return module_server


def test_download_ok_with_progress(server, synth_files, tmp_path):
    from cq_geo.data.sources import download

    body = Path(synth_files["zip"]).read_bytes()
    server.routes["/f.zip"] = (body, "ok")
    seen = []
    d = download(server.url + "/f.zip", tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert d.path.read_bytes() == body and d.sha256 == sha(synth_files["zip"]) and d.size == len(body)
    assert d.path.suffix == ".zip" and d.attempts == 1
    assert seen[-1] == (len(body), len(body)) and len(seen) >= 1
    assert d.last_modified.startswith("Thu, 06 Feb 2025")
    with pytest.raises(DataError, match="somme de contrôle"):
        download(server.url + "/f.zip", tmp_path, expected_sha256="0" * 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == [d.path.name]  # no partial file left


def test_download_retries_500_then_succeeds(server, synth_files, tmp_path):
    from cq_geo.data.sources import download

    body = Path(synth_files["zip"]).read_bytes()
    server.routes["/flaky.zip"] = (body, "flaky:2")
    d = download(server.url + "/flaky.zip", tmp_path, retries=3, backoff=0.01)
    assert d.attempts == 3 and server.hits["/flaky.zip"] == 3
    assert d.sha256 == sha(synth_files["zip"])
    server.routes["/down.zip"] = (body, "flaky:99")
    with pytest.raises(DataError, match="après 3 essais : erreur du serveur HTTP 500"):
        download(server.url + "/down.zip", tmp_path, retries=2, backoff=0.01)


def test_download_truncated_response_is_refused(server, synth_files, tmp_path):
    from cq_geo.data.sources import download

    server.routes["/cut.zip"] = (Path(synth_files["zip"]).read_bytes(), "truncate")
    with pytest.raises(DataError, match="tronquée"):
        download(server.url + "/cut.zip", tmp_path, retries=1, backoff=0.01)
    assert server.hits["/cut.zip"] == 2
    assert list(tmp_path.iterdir()) == []


def test_download_404_fails_at_once_and_http_elsewhere_is_refused(server, tmp_path):
    from cq_geo.data.sources import download

    with pytest.raises(DataError, match="HTTP 404"):
        download(server.url + "/absent", tmp_path, retries=3, backoff=5)
    assert server.hits["/absent"] == 1
    with pytest.raises(DataError, match="seul HTTPS"):
        download("http://example.org/qpv.zip", tmp_path)


def test_data_update_end_to_end(server, synth_files, store, monkeypatch, capsys):
    """``cq-geo data update``: both layers from the local server; the answers change; a re-run changes nothing."""
    from cq_geo.cli.main import main
    from cq_geo.territory import load_store_territory

    from . import synthetic_qpv as syn

    server.routes[QPV_PATH] = (Path(synth_files["zip"]).read_bytes(), "ok")
    server.routes[COMMUNES_PATH] = (syn.communes_geojson_bytes(), "ok")
    monkeypatch.setenv("CQ_GEO_DATA_GOUV_URL", server.url)
    monkeypatch.setenv("CQ_GEO_GEO_API_URL", server.url + "/")
    denain = dict(synth_files["records"][4][0]), synth_files["records"][4][1]
    assert denain[0]["code_qp"] == "QN05950M"
    lon, lat = lonlat_of(denain[1])

    assert main(["data", "update", "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert "communes : 47 entité(s)" in out and "qpv : 13 entité(s)" in out
    meta = store.metadata()
    assert meta["qpv"]["source"] == server.url + QPV_PATH and meta["qpv"]["status"] == "official"
    assert "2025-02-06" in meta["qpv"]["vintage"]  # from Last-Modified
    assert meta["communes"]["source"] == server.url + COMMUNES_PATH and "geo.api" in meta["communes"]["publisher"]
    t = load_store_territory(store.path)
    r = t.lookup(lon=lon, lat=lat).to_dict()
    assert r["primary"] == {"tier": "qpv", "code": "QN05950M"}

    before = sha(store.path)
    assert main(["data", "update", "--store", str(store.path)]) == 0
    assert capsys.readouterr().out.count("déjà à jour") == 2
    assert sha(store.path) == before


def test_data_update_truncated_leaves_store_unchanged(server, synth_files, store, capsys):
    from cq_geo.cli.main import main

    server.routes["/cut.zip"] = (Path(synth_files["zip"]).read_bytes(), "truncate")
    before = sha(store.path)
    code = main(["data", "update", "--only", "qpv", "--url", server.url + "/cut.zip", "--retries", "0",
                 "--store", str(store.path)])
    assert code == 2
    assert "tronquée" in capsys.readouterr().err
    assert sha(store.path) == before and not store.previous_path.exists()
    assert [p.name for p in store.path.parent.iterdir() if p.name != store.lock_path.name] == [store.path.name]


def test_data_update_checks_expected_sha256(server, synth_files, store, capsys):
    from cq_geo.cli.main import main

    server.routes["/q.zip"] = (Path(synth_files["zip"]).read_bytes(), "ok")
    before = sha(store.path)
    base = ["data", "update", "--only", "qpv", "--url", server.url + "/q.zip", "--store", str(store.path)]
    assert main([*base, "--sha256", "ab" * 32]) == 2
    assert "somme de contrôle" in capsys.readouterr().err and sha(store.path) == before
    assert main([*base, "--sha256", sha(synth_files["zip"])]) == 0
    assert store.metadata()["qpv"]["sha256"] == sha(synth_files["zip"])
    assert main(["data", "update", "--sha256", "ab" * 32, "--store", str(store.path)]) == 2
    assert "--only" in capsys.readouterr().err


def test_data_update_wrong_content_refused(server, store, capsys):
    """The server answers something that is not a QPV file (an HTML page): refused, store unchanged."""
    from cq_geo.cli.main import main

    server.routes["/page"] = (b"<html><body>" + b"maintenance " * 20 + b"</body></html>", "ok")
    before = sha(store.path)
    assert main(["data", "update", "--only", "qpv", "--url", server.url + "/page", "--store", str(store.path)]) == 2
    assert "cq-geo : " in capsys.readouterr().err
    assert sha(store.path) == before
    assert json.loads(json.dumps(store.metadata()))["qpv"]["status"] == "missing"


# -- issue 12: web pages, offline, redirects ------------------------------------------------------
MAINTENANCE = (b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>Site en maintenance</h1>"
               b"<p>data.gouv.fr revient vite.</p>" + b" " * 400 + b"</body></html>")


def test_a_web_page_instead_of_data_is_named_as_such(server, store, monkeypatch, capsys):
    """A maintenance page / captive portal (HTTP 200, HTML) used to end in « download-….bin : format non pris en charge »."""
    from cq_geo.cli.main import main

    server.routes[QPV_PATH] = (MAINTENANCE, "html")
    monkeypatch.setenv("CQ_GEO_DATA_GOUV_URL", server.url)
    before = sha(store.path)
    assert main(["data", "update", "--only", "qpv", "--store", str(store.path)]) == 2
    err = capsys.readouterr().err
    assert "page web (HTML) au lieu des données" in err and server.url + QPV_PATH in err
    assert "format non pris en charge" not in err
    assert sha(store.path) == before
    # the same page served without a Content-Type saying so is recognised by its first bytes
    from cq_geo.data.sources import download

    server.routes["/page"] = (MAINTENANCE, "ok")
    with pytest.raises(DataError, match="page web"):
        download(server.url + "/page", store.path.parent / "dl", retries=0)


def test_offline_update_says_how_to_install_by_hand(store, monkeypatch, capsys):
    import socket

    from cq_geo.cli.main import main

    with socket.socket() as s:  # a port nobody listens on: connection refused, as offline
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("CQ_GEO_DATA_GOUV_URL", f"http://127.0.0.1:{port}")
    assert main(["data", "update", "--only", "qpv", "--retries", "0", "--store", str(store.path)]) == 2
    err = capsys.readouterr().err
    assert "téléchargement impossible" in err and "Sans accès à internet" in err
    assert "https://www.data.gouv.fr/fr/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/" in err
    assert "cq-geo data import qpv FICHIER" in err


@pytest.mark.parametrize("target", ["http://example.org/qpv.zip", "https://ailleurs.example/qpv.zip",
                                    "ftp://127.0.0.1/qpv.zip"])
def test_every_redirect_hop_is_checked(server, synth_files, tmp_path, target):
    """A redirect to a scheme or host the download rules refuse is not followed (no request is sent there)."""
    from cq_geo.data.sources import download

    server.routes["/r"] = (b"", "redirect:" + target)
    with pytest.raises(DataError, match="adresse refusée"):
        download(server.url + "/r", tmp_path, retries=0)
    assert list(tmp_path.iterdir()) == []


def test_redirect_within_the_allowed_hosts_is_followed(server, synth_files, tmp_path):
    from cq_geo.data.sources import download

    body = Path(synth_files["zip"]).read_bytes()
    server.routes["/static/qpv.zip"] = (body, "ok")
    server.routes["/r"] = (b"", "redirect:" + server.url + "/static/qpv.zip")
    d = download(server.url + "/r", tmp_path, retries=0)
    assert d.path.read_bytes() == body and server.hits["/static/qpv.zip"] == 1
