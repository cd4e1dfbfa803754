"""The online client against the real addok engine (the software behind the BAN API) on loopback.

A private redis-server and ``addok serve`` are started on free ports for this
module, loaded with the synthetic BAN file (one street per line, as the BAN's
addok export), and stopped at the end. Skipped when redis-server or addok are
not installed (``scripts/setup`` installs both).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cq_geo.geocode.base import AddressQuery, QualityThresholds
from tests.unit.test_geocode_ban import FIXTURE, _position

ADDOK = Path(sys.executable).parent / "addok"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ndjson(path: Path) -> None:
    """The fixture as addok documents: one street per line with its house numbers."""
    streets: dict[tuple, dict] = {}
    with open(FIXTURE, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f, delimiter=";"):
            if r["code_insee"] == "59606":
                continue
            key = (r["code_insee"], r["code_insee_ancienne_commune"], r["nom_voie"])
            doc = streets.get(key)
            if doc is None:
                doc = streets[key] = {
                    "id": f"{r['id_fantoir']}_{r['code_insee_ancienne_commune'] or 'x'}",
                    "type": "street" if r["numero"] != "99999" else "locality",
                    "name": r["nom_voie"], "postcode": r["code_postal"], "citycode": r["code_insee"],
                    "city": r["nom_commune"], "oldcitycode": r["code_insee_ancienne_commune"] or None,
                    "oldcity": r["nom_ancienne_commune"] or None, "context": "59, Nord, Hauts-de-France",
                    "importance": 0.5, "lon": float(r["lon"]), "lat": float(r["lat"]), "housenumbers": {},
                }
            if r["numero"] != "99999":
                num = f"{r['numero']} {r['rep']}".strip()
                doc["housenumbers"][num] = {"lon": float(r["lon"]), "lat": float(r["lat"])}
    with open(path, "w", encoding="utf-8") as f:
        for doc in streets.values():
            if not doc["housenumbers"]:
                doc.pop("housenumbers")
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")


CONFIG = """
REDIS = {{'host': '127.0.0.1', 'port': {port}, 'indexes': {{'db': 0}}, 'documents': {{'db': 1}}}}
BATCH_WORKERS = 1
LOG_DIR = {logdir!r}
ATTRIBUTION = 'BAN synthétique (tests cq-geo)'
LICENCE = 'ETALAB-2.0'
EXTRA_FIELDS = [{{'key': 'citycode'}}, {{'key': 'oldcitycode'}}, {{'key': 'oldcity'}}]
FILTERS = ['type', 'postcode', 'citycode']
QUERY_PROCESSORS_PYPATHS = [
    'addok.helpers.text.check_query_length',
    'addok_france.extract_address',
    'addok_france.clean_query',
    'addok_france.remove_leading_zeros',
]
SEARCH_RESULT_PROCESSORS_PYPATHS = [
    'addok.helpers.results.match_housenumber',
    'addok_france.make_labels',
    'addok.helpers.results.score_by_importance',
    'addok.helpers.results.score_by_autocomplete_distance',
    'addok.helpers.results.score_by_ngram_distance',
    'addok.helpers.results.score_by_geo_distance',
]
PROCESSORS_PYPATHS = [
    'addok.helpers.text.tokenize',
    'addok.helpers.text.normalize',
    'addok_france.glue_ordinal',
    'addok_france.fold_ordinal',
    'addok_france.flag_housenumber',
    'addok.helpers.text.synonymize',
    'addok_fr.phonemicize',
]
"""


@pytest.fixture(scope="module")
def addok_url(tmp_path_factory):
    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        pytest.skip("redis-server absent (paquet Debian redis-server)")
    if not ADDOK.exists():
        pytest.skip("addok absent (pip install addok addok-fr addok-france addok-csv)")
    work = tmp_path_factory.mktemp("addok")
    redis_port, http_port = _free_port(), _free_port()
    pidfile = work / "redis.pid"
    subprocess.run([redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--daemonize", "yes", "--pidfile", str(pidfile), "--dir", str(work),
                    "--logfile", str(work / "redis.log")], check=True, timeout=30)
    serve = None
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", redis_port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        cfg = work / "addok_conf.py"
        cfg.write_text(CONFIG.format(port=redis_port, logdir=str(work)), encoding="utf-8")
        docs = work / "docs.ndjson"
        _ndjson(docs)
        env = dict(os.environ, ADDOK_CONFIG_MODULE=str(cfg))
        for args in (["batch", str(docs)], ["ngrams"]):
            subprocess.run([str(ADDOK), "--config", str(cfg), *args], check=True, timeout=120, env=env,
                           capture_output=True)
        serve = subprocess.Popen([str(ADDOK), "--config", str(cfg), "serve", "--host", "127.0.0.1",
                                  "--port", str(http_port)], env=env, stdout=subprocess.DEVNULL,
                                 stderr=open(work / "serve.log", "wb"))
        url = f"http://127.0.0.1:{http_port}"
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{url}/search?q=rue+des+essais", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("addok serve ne répond pas")
        yield url
    finally:
        if serve is not None:
            serve.terminate()
            try:
                serve.wait(timeout=10)
            except subprocess.TimeoutExpired:
                serve.kill()
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass


@pytest.fixture
def client(addok_url):
    from cq_geo.geocode.online import OnlineGeocoder

    return OnlineGeocoder(addok_url, timeout=5.0, retries=1, thresholds=QualityThresholds())


def test_addok_search_precise(client):
    r = client.geocode("12 bis rue des Essais 59220 Denain")
    assert r.quality == "precise", (r.reason, [c.label for c in r.candidates])
    assert (r.best.citycode, r.best.type) == ("59172", "housenumber")
    assert (r.best.lon, r.best.lat) == pytest.approx(_position("59172", "Rue des Essais", 12, "bis"), abs=1e-5)


def test_addok_same_street_in_three_communes_is_ambiguous(client):
    r = client.geocode("7 rue des Essais")
    assert r.quality == "ambiguous", (r.reason, [(c.label, c.score) for c in r.candidates])
    assert len({c.citycode for c in r.candidates}) >= 2


def test_addok_filter_by_citycode(client):
    r = client.geocode(AddressQuery("7 rue des Essais", citycode="59491"))
    assert {c.citycode for c in r.candidates} == {"59491"}


def test_addok_missing_number_is_not_precise(client):
    r = client.geocode("13 rue des Essais 59220 Denain")
    assert r.quality != "precise" and r.best.citycode == "59172"


def test_addok_csv_batch(client):
    texts = ["12 rue des Essais 59220 Denain", "5 allée du Cœur-Fictif 59172 Rœulx", "rue inexistante zzz",
             "30 avenue du Général Fictif 59220 Denain"]
    many = client.geocode_many([AddressQuery(t) for t in texts], refine=False)
    assert [r.best.citycode if r.best else None for r in many][:2] == ["59172", "59504"]
    assert many[0].best.housenumber == "12" and many[3].best.housenumber == "30"
    assert (many[1].best.lon, many[1].best.lat) == pytest.approx(
        _position("59504", "Allée du Cœur-Fictif", 5), abs=1e-5)


def test_addok_reverse(client):
    lon, lat = _position("59564", "Rue des Essais", 7)
    cands = client.reverse(lon, lat)
    assert cands and cands[0].citycode == "59564"
