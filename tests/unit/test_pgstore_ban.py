"""The BAN address index in the shared store (issue 17, item 1: ``data import ban --store postgresql://…``).

Against a REAL PostgreSQL 15 + PostGIS 3 cluster (tests/unit/pg_support.py), never a mock. The
addresses are the SYNTHETIC BAN fixture (tests/fixtures/ban_synthetic/: invented street names in
the real communes), never real addresses.
"""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from . import pg_support

pg_cluster = pg_support.pg_cluster  # fixture

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "ban_synthetic" / "adresses-synthetic.csv"
SCHEMA = "cq_caph"


cli = pg_support.run_cli


_db = pg_support.database_name


@pytest.fixture
def shared(pg_cluster):
    """A fresh shared store (``init-shared``), without BAN index."""
    from cq_geo.data.pgstore import init_shared

    url = pg_cluster.url(pg_cluster.new_database())
    init_shared(url)
    return url


@pytest.fixture(scope="module")
def stores(pg_cluster, tmp_path_factory):
    """The synthetic BAN file imported (by the CLI) into a shared store and into a local GeoPackage."""
    from cq_geo.data.pgstore import init_shared

    url = pg_cluster.url(pg_cluster.new_database())
    init_shared(url)
    out = cli("data", "import", "ban", str(FIXTURE), "--store", url).stdout
    local = tmp_path_factory.mktemp("ban_local") / "cq-geo.gpkg"
    cli("data", "import", "ban", str(FIXTURE), "--store", str(local))
    return {"url": url, "local": local, "import_out": out}


def _queries() -> list[str]:
    """Every address of the fixture in several spellings, plus ambiguous, partial and outside queries."""
    with open(FIXTURE, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    out = []
    for r in rows:
        num = "" if r["numero"] == "99999" else f"{r['numero']} {r['rep']}".strip()
        out.append(f"{num} {r['nom_voie']} {r['code_postal']} {r['nom_commune']}".strip())
        out.append(f"{num} {r['nom_voie'].lower()} {r['nom_commune'].upper()}".strip())
    out += ["Rue des Essais", "rue des essais Denain", "13 rue des essais 59220 Denain", "av du gal fictif",
            "rue des essais Valenciennes", "Le Champ Fictif Émerchicourt", "3 rue du calvaire fictif emerchicourt",
            "rue de la mairie fictive wavrechain sous denain", "12 rue inconnue 59220 Denain", "Denain"]
    return list(dict.fromkeys(out))


def _same_index(a, b) -> None:
    assert a.streets == b.streets
    for name in ("numero", "lon", "lat", "start", "end"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.rep == b.rep
    assert {k: v for k, v in a.meta.items() if k != "imported_at"} == {
        k: v for k, v in b.meta.items() if k != "imported_at"}


# -- import, then the same answers from both stores --------------------------------------------------
def test_import_into_the_shared_store_gives_the_same_answers_as_a_local_index(stores):
    from cq_geo.geocode.ban import BanGeocoder
    from cq_geo.geocode.ban_index import index_info, load_ban_index

    assert "Index BAN installé : 528 adresses, 21 voies" in stores["import_out"]
    assert f"Magasin : {stores['url']} (schéma {SCHEMA})" in stores["import_out"]
    shared, local = load_ban_index(stores["url"]), load_ban_index(stores["local"])
    _same_index(shared, local)
    assert len(shared.streets) == 21 and len(shared.numero) == 527
    info = index_info(stores["url"])
    assert info["sha256"] == index_info(stores["local"])["sha256"] and info["outside_communes"]
    g_shared, g_local = BanGeocoder(shared), BanGeocoder(local)
    queries = _queries()
    assert len(queries) > 500
    answers = [(g_shared.geocode(q).to_dict(), g_local.geocode(q).to_dict()) for q in queries]
    assert all(a == b for a, b in answers), [q for q, (a, b) in zip(queries, answers) if a != b][:5]
    qualities = {a["quality"] for a, _ in answers}
    assert {"precise", "approximate", "ambiguous", "not_found"} <= qualities, qualities  # every kind of answer
    # the CLI, as a user runs it: geocode and lookup against the shared store
    for q in ("12 bis rue des essais 59220 Denain", "Rue des Essais"):
        a = json.loads(cli("geocode", q, "--store", stores["url"], "--json", check=False).stdout)
        b = json.loads(cli("geocode", q, "--store", str(stores["local"]), "--json", check=False).stdout)
        assert a == b and a["candidates"], q
    env = {"CQ_GEO_STORE": stores["url"], "CQ_GEO_GEOCODER": "offline"}
    a = json.loads(cli("lookup", "12 bis rue des essais 59220 Denain", "--json", env=env).stdout)
    assert a["geocoding"]["quality"] == "precise" and a["commune"]["insee"] == "59172"


def test_batch_geocodes_against_the_shared_store(stores, tmp_path):
    src = tmp_path / "adresses.csv"
    src.write_text("id;adresse;cp;ville\n1;12 bis rue des Essais;59220;Denain\n2;Avenue du Général Fictif;;Denain\n"
                   "3;rue des essais;;\n4;1 rue inconnue;59220;Denain\n", encoding="utf-8")
    outs = {}
    for name, store in (("shared", stores["url"]), ("local", str(stores["local"]))):
        dst = tmp_path / f"out_{name}.csv"
        p = cli("batch", str(src), "-o", str(dst), "--address-cols", "adresse", "--postcode-col", "cp",
                "--city-col", "ville", "--geocoder", "offline", "--store", store, check=False)
        assert p.returncode == 0, p.stderr
        with open(dst, encoding="utf-8-sig", newline="") as f:
            outs[name] = list(csv.DictReader(f, delimiter=";"))
    assert len(outs["shared"]) == 4
    geo_cols = [c for c in outs["shared"][0] if c.startswith("cq_geocod") or c in ("cq_lon", "cq_lat")]
    assert geo_cols
    assert [[r[c] for c in geo_cols] for r in outs["shared"]] == [[r[c] for c in geo_cols] for r in outs["local"]]
    assert outs["shared"][0]["cq_commune_insee"] == "59172"


# -- status -------------------------------------------------------------------------------------------
def test_status_reports_the_index_rows_date_and_checksum(stores, shared):
    from cq_geo.files import file_sha256

    text = cli("data", "status", "--store", stores["url"]).stdout
    assert "- index BAN (géocodage hors ligne) : 527 adresses numérotées, 21 voies et lieux-dits" in text
    assert "source : adresses-synthetic.csv" in text and f"sha256 {file_sha256(FIXTURE)[:12]}…" in text
    report = json.loads(cli("data", "status", "--store", stores["url"], "--json").stdout)
    ban = report["ban"]
    assert (ban["numbers"], ban["streets"], ban["sha256"]) == (527, 21, file_sha256(FIXTURE))
    assert ban["imported_at"].startswith("20")
    empty = cli("data", "status", "--store", shared).stdout
    assert "- index BAN (géocodage hors ligne) : absent" in empty
    assert f"cq-geo data import ban adresses-59.csv.gz --store {shared}" in empty
    p = cli("geocode", "Rue des Essais", "--store", shared, check=False)
    assert p.returncode == 2 and "index BAN absent du magasin partagé" in p.stderr and "Traceback" not in p.stderr


# -- roles --------------------------------------------------------------------------------------------------
def test_a_reader_geocodes_but_cannot_import(stores, pg_cluster, tmp_path):
    from cq_geo.geocode.ban_index import index_info

    pg_cluster.login_role("lea_lectrice_ban", f"{SCHEMA}_lecteur")
    reader = pg_cluster.url(_db(stores["url"]), "lea_lectrice_ban")
    a = json.loads(cli("geocode", "12 bis rue des essais 59220 Denain", "--store", reader, "--json").stdout)
    assert a["quality"] == "precise"
    before = index_info(stores["url"])
    other = tmp_path / "adresses-59.csv.gz"  # another file: it would change the index if it were written
    with open(FIXTURE, "rb") as src, gzip.open(other, "wb") as dst:
        shutil.copyfileobj(src, dst)
    p = cli("data", "import", "ban", str(other), "--store", reader, check=False)
    assert p.returncode == 2 and "rôle d'éditeur" in p.stderr and "Traceback" not in p.stderr
    assert index_info(stores["url"]) == before
    import psycopg2

    con = psycopg2.connect(reader)
    for statement in (f"DELETE FROM {SCHEMA}.cq_ban_numbers", f"TRUNCATE {SCHEMA}.cq_ban_streets",
                      f"UPDATE {SCHEMA}.cq_ban_meta SET value = 'x'"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            with con, con.cursor() as cur:
                cur.execute(statement)
    con.close()


def test_an_editor_imports(shared, pg_cluster):
    from cq_geo.geocode.ban_index import load_ban_index

    pg_cluster.login_role("bob_editeur_ban", f"{SCHEMA}_editeur")
    editor = pg_cluster.url(_db(shared), "bob_editeur_ban")
    cli("data", "import", "ban", str(FIXTURE), "--store", editor)
    assert len(load_ban_index(shared).numero) == 527


# -- atomicity --------------------------------------------------------------------------------------------
def _subset(path: Path, communes: set[str]) -> Path:
    with open(FIXTURE, encoding="utf-8", newline="") as f:
        lines = f.read().splitlines(keepends=True)
    header = lines[0].split(";")
    i = header.index("code_insee")
    path.write_text(lines[0] + "".join(ln for ln in lines[1:] if ln.split(";")[i] in communes), encoding="utf-8")
    return path


def test_a_killed_import_leaves_the_previous_index_and_a_reimport_replaces_it_whole(shared, tmp_path):
    from cq_geo.data.pgstore import read_shared_ban
    from cq_geo.geocode.ban_index import index_info, load_ban_index

    cli("data", "import", "ban", str(FIXTURE), "--store", shared)
    before = load_ban_index(shared)  # kept in memory: the next load checks the provenance, then reuses it
    rows_before = read_shared_ban(shared)
    small = _subset(tmp_path / "adresses-denain.csv", {"59172"})
    p = cli("data", "import", "ban", str(small), "--store", shared,
            env={"CQ_GEO_TEST_CRASH_AT": "pg-ban:before-commit"}, check=False)
    assert p.returncode == -9  # SIGKILL after the COPY, before the commit
    assert read_shared_ban(shared) == rows_before  # every row, and the provenance, as before
    assert len(rows_before[1]) == 21 and len(rows_before[2]) == 527
    # the lock went with the killed session: the next import runs at once, and replaces the whole index
    cli("data", "import", "ban", str(small), "--store", shared, env={"CQ_GEO_LOCK_TIMEOUT": "5"})
    new = load_ban_index(shared)  # a new provenance: read again, not the index kept in memory
    assert {s[3] for s in new.streets} == {"59172"} and len(new.numero) < len(before.numero)
    assert index_info(shared)["source"] == "adresses-denain.csv"


def test_an_older_schema_without_the_index_tables_says_to_run_init_shared(shared, pg_cluster):
    pg_cluster.sql(f"DROP TABLE {SCHEMA}.cq_ban_streets, {SCHEMA}.cq_ban_numbers, {SCHEMA}.cq_ban_meta",
                   db=_db(shared))
    p = cli("data", "import", "ban", str(FIXTURE), "--store", shared, check=False)
    assert p.returncode == 2 and f"cq-geo data init-shared {shared}" in p.stderr
    assert "init-shared" in cli("data", "status", "--store", shared).stdout
    out = cli("data", "init-shared", shared).stdout
    assert "+ table cq_ban_streets" in out and "+ table cq_ban_numbers" in out
    cli("data", "import", "ban", str(FIXTURE), "--store", shared)


# -- pull --------------------------------------------------------------------------------------------------
def test_pull_copies_the_index_for_offline_geocoding(stores, tmp_path, pg_cluster):
    from cq_geo.geocode.ban import BanGeocoder
    from cq_geo.geocode.ban_index import load_ban_index

    local = tmp_path / "portable" / "cq-geo.gpkg"
    out = cli("data", "pull", stores["url"], "--store", str(local)).stdout
    assert "- index BAN : 527 adresses, 21 voies (adresses-synthetic.csv" in out
    copy, shared = load_ban_index(local), load_ban_index(stores["url"])
    _same_index(copy, shared)
    assert copy.meta == shared.meta  # the provenance too (source, sha256, import date)
    for q in _queries()[:200]:
        assert BanGeocoder(copy).geocode(q).to_dict() == BanGeocoder(shared).geocode(q).to_dict(), q
    # a shared store without index leaves the local copy's index as it was
    from cq_geo.data.pgstore import init_shared

    empty = pg_cluster.url(pg_cluster.new_database())
    init_shared(empty)
    out = cli("data", "pull", empty, "--store", str(local)).stdout
    assert "index BAN : absent du magasin partagé (copie locale inchangée)" in out
    _same_index(load_ban_index(local), shared)


def test_no_password_or_address_in_the_index_metadata(stores, pg_cluster):
    rows = pg_cluster.sql(f"SELECT key, value FROM {SCHEMA}.cq_ban_meta", db=_db(stores["url"]))
    text = " ".join(f"{k} {v}" for k, v in rows)
    assert "postgresql" not in text and pg_cluster.url("x").split("?")[1] not in text
    p = cli("data", "import", "ban", str(FIXTURE), "--store", stores["url"].replace("cq@", "cq:s3cret@"), check=False)
    assert p.returncode == 2 and "~/.pgpass" in p.stderr and "s3cret" not in p.stderr + p.stdout
