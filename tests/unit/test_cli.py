"""The cq-geo command line, run as a real subprocess."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def cq(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "cq_geo.cli.main", *args], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, **(env or {})}, timeout=120,
    )


def test_lookup_text_in_french():
    p = cq("lookup", "--lon", "3.3957", "--lat", "50.3290")
    assert p.returncode == 0, p.stderr
    assert "Commune : Denain (59172)" in p.stdout
    assert "Équipe : Équipe Sud" in p.stdout
    assert "inconnu (périmètre non installé)" in p.stdout


def test_lookup_json_lambert_and_decimal_comma():
    p = cq("lookup", "--x", "728212,8", "--y", "7025762,1", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["commune"]["insee"] == "59172"
    assert d["team"]["id"] == "sud"
    assert d["territory"] == {"inside": True, "siren": "200042190", "name": d["territory"]["name"], "status": "inside"}
    assert d["layers"]["qpv"]["status"] == "missing"


@pytest.mark.parametrize(
    "args, message",
    [
        (["lookup", "--lon", "50.33", "--lat", "3.39"], "inversées"),
        (["lookup", "--lon", "abc", "--lat", "50"], "--lon doit être un nombre"),
        (["lookup", "--lon", "3.39"], "donnez --lon et --lat"),
        (["lookup", "--lon", "-73.98", "--lat", "40.75"], "hors de la France métropolitaine"),
        (["lookup", "--lon", "3.39", "--lat", "50.3", "--store", "/nonexistent/cq.gpkg"], "magasin de données introuvable"),
    ],
)
def test_bad_input_exit_2_with_french_message(args, message):
    p = cq(*args)
    assert p.returncode == 2
    assert message in p.stderr
    assert "Traceback" not in p.stderr


def test_store_from_environment_is_honoured():
    # a CQ_GEO_STORE not created yet: embedded data until the first import, as `data status` says (issue 12)
    p = cq("lookup", "--lon", "3.39", "--lat", "50.3", env={"CQ_GEO_STORE": "/nonexistent/env.gpkg"})
    assert p.returncode == 0 and "Commune :" in p.stdout
    p = cq("data", "status", env={"CQ_GEO_STORE": "/nonexistent/env.gpkg"})
    assert p.returncode == 0 and "/nonexistent/env.gpkg" in p.stdout and "données embarquées" in p.stdout


def test_outside_territory_is_answered():
    p = cq("lookup", "--lon", "2.35", "--lat", "48.85", "--json")
    assert p.returncode == 0
    d = json.loads(p.stdout)
    assert d["territory"]["inside"] is False and d["commune"] is None and d["team"] is None


def test_check_reports_contract_gaps():
    p = cq("check", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["communes_with_zones_without_team"] == ["59002", "59302"]
    assert d["counts"]["qpv_codes"] == 13 and d["counts"]["qpv_contract_count"] == 12
    assert d["counts"]["qpv_communes"] == 10
    assert len(d["zones_without_geometry"]["qpv"]) == 13
    assert len(d["zones_without_geometry"]["qva"]) == 2
    text = cq("check").stdout
    assert "Abscon (59002), Hérin (59302)" in text


def test_version_comes_from_metadata_txt():
    import re

    version = re.search(r"^version=(\S+)", (ROOT / "metadata.txt").read_text(), re.M).group(1)
    assert cq("--version").stdout.strip() == f"cq-geo {version}"
