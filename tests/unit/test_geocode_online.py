"""The online client against a real HTTP server on 127.0.0.1 that follows the documented API formats.

The server (tests/unit/geocode_server.py) answers with the offline engine over
the synthetic BAN file; faults (429 + Retry-After, 500, timeouts, truncated CSV,
short bodies) are played by the server itself.
"""

from __future__ import annotations

import time

import pytest

from cq_geo.geocode.base import AddressQuery, OnlineGeocoderError, QualityThresholds
from cq_geo.geocode.online import OnlineGeocoder
from tests.unit.geocode_server import GeocodeServer
from tests.unit.test_geocode_ban import FIXTURE, _position


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from cq_geo.geocode.ban import BanGeocoder
    from cq_geo.geocode.ban_index import import_ban

    db = tmp_path_factory.mktemp("online") / "ban.sqlite"
    import_ban(FIXTURE, db)
    return BanGeocoder.from_store(db, thresholds=QualityThresholds())


@pytest.fixture(scope="module")
def module_server(engine):
    """One local server for the whole module (starting and stopping one per test cost seconds)."""
    srv = GeocodeServer(engine).start()
    yield srv
    srv.stop()


@pytest.fixture
def server(module_server):
    return module_server.reset()


def _client(server, **kw) -> OnlineGeocoder:
    opts = dict(timeout=2.0, rate=200.0, retries=3, backoff=0.05, thresholds=QualityThresholds())
    opts.update(kw)
    return OnlineGeocoder(server.url, **opts)


def test_search_reads_the_geocodejson_answer(server):
    g = _client(server)
    r = g.geocode("12 bis rue des Essais 59220 Denain")
    assert r.quality == "precise" and r.source == f"online:{server.url}"
    assert (r.best.citycode, r.best.housenumber, r.best.type) == ("59172", "12 bis", "housenumber")
    assert (r.best.lon, r.best.lat) == pytest.approx(_position("59172", "Rue des Essais", 12, "bis"))
    assert server.requests[0][0].startswith("/geocodage/search?")
    amb = g.geocode("7 rue des Essais")
    assert amb.quality == "ambiguous" and {c.citycode for c in amb.candidates[:3]} == {"59172", "59564", "59491"}


def test_filters_are_sent(server):
    r = _client(server).geocode(AddressQuery("7 rue des Essais", citycode="59491"))
    assert r.best.citycode == "59491"
    assert "citycode=59491" in server.requests[-1][0]


def test_reverse(server):
    lon, lat = _position("59564", "Rue des Essais", 7)
    cands = _client(server).reverse(lon + 0.00002, lat)
    assert cands[0].citycode == "59564" and cands[0].housenumber == "7"


def test_429_waits_for_retry_after(server):
    server.faults = [("429", 1), ("429", 1)]
    g = _client(server)
    t0 = time.monotonic()
    r = g.geocode("12 rue des Essais Denain")
    elapsed = time.monotonic() - t0
    assert r.quality == "precise"
    assert len(server.requests) == 3
    assert elapsed >= 1.9  # two waits of Retry-After: 1
    gaps = [b[1] - a[1] for a, b in zip(server.requests, server.requests[1:])]
    assert min(gaps) >= 0.95


def test_429_without_end_gives_a_french_error(server):
    server.faults = [("429", 0)] * 10
    with pytest.raises(OnlineGeocoderError, match="trop de requêtes"):
        _client(server, max_429=2).geocode("12 rue des Essais Denain")
    assert len(server.requests) == 3


def test_5xx_are_retried_with_backoff(server):
    server.faults = [("500",), ("500",)]
    r = _client(server).geocode("12 rue des Essais Denain")
    assert r.quality == "precise" and len(server.requests) == 3


def test_5xx_without_end_gives_a_french_error(server):
    server.faults = [("500",)] * 10
    with pytest.raises(OnlineGeocoderError, match="injoignable.*HTTP 500"):
        _client(server, retries=2).geocode("12 rue des Essais Denain")
    assert len(server.requests) == 3


def test_timeouts_are_retried(server):
    server.faults = [("sleep", 1.5)]
    r = _client(server, timeout=0.5).geocode("12 rue des Essais Denain")
    assert r.quality == "precise" and len(server.requests) == 2


def test_timeout_without_end_gives_a_french_error(server):
    server.faults = [("sleep", 1.0)] * 3
    with pytest.raises(OnlineGeocoderError, match="délai dépassé"):
        _client(server, timeout=0.3, retries=1).geocode("12 rue des Essais Denain")


def test_short_body_is_retried(server):
    server.faults = [("short",)]
    r = _client(server).geocode("12 rue des Essais Denain")
    assert r.quality == "precise" and len(server.requests) == 2


def test_400_is_not_retried(server):
    server.faults = [("400",)]
    with pytest.raises(OnlineGeocoderError, match="HTTP 400.*3 and 200 chars"):
        _client(server).geocode("12 rue des Essais Denain")
    assert len(server.requests) == 1


def test_too_short_query_is_refused_before_sending(server):
    r = _client(server).geocode("ab")
    assert r.quality == "not_found" and not server.requests


def test_rate_is_kept(server):
    g = _client(server, rate=20.0)
    t0 = time.monotonic()
    for _ in range(6):
        g.geocode("12 rue des Essais Denain")
    assert time.monotonic() - t0 >= 5 / 20.0 - 0.01


BATCH = ["12 rue des Essais 59220 Denain", "7 rue des Essais", "5 allee du coeur fictif roeulx",
         "rue inexistante denain", "13 rue des Essais Denain", "10 r St-Fictif St Amand", "",
         "3 rue de la Mairie Fictive, Ancien-Hameau-Fictif", "30 av. du Gal Fictif Denain"]


@pytest.mark.parametrize("order", ["geopf", "legacy"])
def test_batch_csv_reads_columns_by_name_and_matches_single_answers(engine, module_server, order):
    server = module_server.reset(order=order)
    g = _client(server)
    seen = []
    many = g.geocode_many([AddressQuery(t) for t in BATCH], progress=lambda d, t: seen.append((d, t)))
    posts = [p for p, _ in server.requests if p.endswith("/search/csv")]
    assert len(posts) == 1 and seen[-1] == (len(BATCH), len(BATCH))
    assert len(many) == len(BATCH)
    for text, res in zip(BATCH, many):
        single = engine.geocode(text) if text else None
        if single is None or single.best is None:
            assert res.quality == "not_found"
            continue
        assert res.best.label == single.best.label
        assert (res.best.lon, res.best.lat) == pytest.approx((single.best.lon, single.best.lat))
        assert res.quality == single.quality, text  # ambiguous rows are asked again one by one
    assert many[1].quality == "ambiguous"
    assert any("/search?" in p for p, _ in server.requests)  # the refine step


def test_batch_is_split_under_the_limits(server):
    g = _client(server, batch_lines=4)
    texts = [f"{n} rue des Essais Denain" for n in range(1, 12)]
    many = g.geocode_many(texts, refine=False)
    assert server.csv_lines == [4, 4, 3]
    assert [r.best.housenumber for r in many] == [str(n) for n in range(1, 12)]
    by_bytes = _client(server, batch_bytes=10)  # the floor is 1 KiB: a few lines per file
    server.csv_lines.clear()
    by_bytes.geocode_many([t + " " + "x" * 300 for t in texts], refine=False)
    assert len(server.csv_lines) > 1 and sum(server.csv_lines) == len(texts)


def test_truncated_csv_answer_is_retried_then_refused(server):
    server.faults = [("truncate",)]
    many = _client(server).geocode_many(BATCH[:3], refine=False)
    assert [r.best.citycode for r in many] == ["59172", many[1].best.citycode, "59504"]
    assert len([p for p, _ in server.requests if p.endswith("/search/csv")]) == 2
    server.faults = [("truncate",)] * 10
    with pytest.raises(OnlineGeocoderError, match="tronquée"):
        _client(server, retries=1).geocode_many(BATCH[:3], refine=False)


def test_unreachable_server_gives_a_french_error():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    g = OnlineGeocoder(f"http://127.0.0.1:{port}", retries=1, backoff=0.01, timeout=0.5)
    with pytest.raises(OnlineGeocoderError, match="injoignable.*--geocoder offline"):
        g.geocode("12 rue des Essais Denain")


def test_bad_base_url():
    with pytest.raises(OnlineGeocoderError, match="http"):
        OnlineGeocoder("ftp://example")


def test_default_and_environment_url(monkeypatch):
    from cq_geo.geocode.online import DEFAULT_BASE_URL

    monkeypatch.delenv("CQ_GEO_GEOCODER_URL", raising=False)
    assert OnlineGeocoder().base_url == DEFAULT_BASE_URL == "https://data.geopf.fr/geocodage"
    monkeypatch.setenv("CQ_GEO_GEOCODER_URL", "http://127.0.0.1:7878/")
    assert OnlineGeocoder().base_url == "http://127.0.0.1:7878"


def test_offline_is_the_default(monkeypatch, tmp_path):
    from cq_geo.geocode.base import BanIndexMissing
    from cq_geo.geocode.lookup import get_geocoder

    monkeypatch.delenv("CQ_GEO_GEOCODER", raising=False)
    with pytest.raises(BanIndexMissing):  # offline: wants the local index, never the network
        get_geocoder(store=tmp_path / "none.gpkg")
    monkeypatch.setenv("CQ_GEO_GEOCODER", "online")
    assert isinstance(get_geocoder(store=tmp_path / "none.gpkg"), OnlineGeocoder)
    monkeypatch.setenv("CQ_GEO_GEOCODER", "nimporte")
    with pytest.raises(Exception, match="géocodeur inconnu"):
        get_geocoder()


def test_cli_online(server, capsys):
    import json

    from cq_geo.cli.main import main

    assert main(["geocode", "12 rue des Essais 59220 Denain", "--geocoder", "online", "--geocoder-url", server.url,
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["quality"] == "precise" and d["source"] == f"online:{server.url}"
    assert main(["lookup", "12 rue des Essais 59220 Denain", "--geocoder", "online", "--geocoder-url",
                 server.url]) == 0
    out = capsys.readouterr().out
    assert "qualité précise" in out and "Commune : Denain (59172)" in out


def test_online_street_answer_near_a_perimeter_is_flagged(server):
    """Online answers carry no street extent: the distance rule (radius by type + qpv_check_m) applies."""
    from cq_geo.geocode.lookup import lookup_address
    from tests.unit.test_geocode_ban import _territory_with_qpv_on_long_street

    territory = _territory_with_qpv_on_long_street()
    answer = lookup_address(territory, "Rue Longue de l'Essai, Denain", _client(server))
    assert answer.geocoding.best.type == "street" and answer.geocoding.best.radius_m == 250.0
    assert any("position approximative (voie)" in w and "limite du QPV" in w for w in answer.warnings), answer.warnings
    precise = lookup_address(territory, "10 Rue Longue de l'Essai, Denain", _client(server))
    assert precise.geocoding.quality == "precise" and not any("limite du QPV" in w for w in precise.warnings)


# -- the public transport hook (INTERFACES.md 3: the QGIS plugin passes its own HTTP stack) ---------------------------
def _http_client_transport(calls):
    """Another real HTTP stack (http.client, not urllib), recording what the client asks for."""
    import http.client
    import urllib.parse

    def transport(method, url, data, headers, timeout):
        calls.append((method, url, dict(headers), timeout, len(data or b"")))
        u = urllib.parse.urlsplit(url)
        con = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        try:
            con.request(method, u.path + (f"?{u.query}" if u.query else ""), body=data, headers=headers)
            resp = con.getresponse()
            try:
                body = resp.read()
            except http.client.HTTPException as exc:
                raise OSError(f"cut: {exc}") from exc
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        finally:
            con.close()

    return transport


def test_transport_hook_carries_every_request(server):
    calls = []
    g = _client(server, transport=_http_client_transport(calls))
    r = g.geocode("12 bis rue des Essais 59220 Denain")
    assert r.quality == "precise" and r.best.citycode == "59172"
    method, url, headers, timeout, _ = calls[0]
    assert method == "GET" and url.startswith(f"{server.url}/search?") and timeout == 2.0
    assert headers["User-Agent"].startswith("cq-geo/")
    rows = g.geocode_many([AddressQuery(q) for q in BATCH[:4]], refine=False)
    assert [x.quality for x in rows] == [x.quality for x in _client(server).geocode_many(BATCH[:4], refine=False)]
    post = [c for c in calls if c[0] == "POST"]
    assert post and post[0][1] == f"{server.url}/search/csv" and post[0][2]["Content-Type"].startswith("multipart/")
    assert post[0][3] == 20.0 and post[0][4] > 0  # a batch file gets 10 times the timeout


def test_transport_hook_statuses_and_failures(server):
    calls = []
    server.faults = [("429", 0.2), ("500",), ("short",)]
    g = _client(server, transport=_http_client_transport(calls))
    t0 = time.monotonic()
    assert g.geocode("12 rue des Essais Denain").quality == "precise"
    assert len(calls) == 4 and time.monotonic() - t0 >= 0.2  # 429 waited out, 500 and the cut body retried
    server.faults = [("400",)]
    with pytest.raises(OnlineGeocoderError, match="HTTP 400.*3 and 200 chars"):
        g.geocode("12 rue des Essais Denain")

    def down(method, url, data, headers, timeout):
        raise OSError("réseau coupé (test)")

    with pytest.raises(OnlineGeocoderError, match="injoignable.*réseau coupé"):
        _client(server, transport=down, retries=1).geocode("12 rue des Essais Denain")


def test_default_transport_returns_http_errors_as_answers(server):
    from cq_geo.geocode.online import urllib_transport

    server.faults = [("429", 7)]
    status, headers, body = urllib_transport("GET", f"{server.url}/search?q=rue", None, {}, 2.0)
    assert status == 429 and headers["retry-after"] == "7" and b"Too Many" in body
    server.faults = [("short",)]
    with pytest.raises(OSError):
        urllib_transport("GET", f"{server.url}/search?q=rue+des+essais", None, {}, 2.0)
