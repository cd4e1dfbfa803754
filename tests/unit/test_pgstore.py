"""The shared store (PostGIS) against a REAL PostgreSQL 15 + PostGIS 3 cluster (tests/unit/pg_support.py).

The QPV and poche files are SYNTHETIC (tests/unit/synthetic_qpv.py): squares inside the
embedded commune outlines, never official perimeters.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from . import pg_support

pg_cluster = pg_support.pg_cluster  # fixtures
shared_url = pg_support.shared_url

pytest.importorskip("geopandas")
from . import synthetic_qpv as syn  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "cq_caph"


cli = pg_support.run_cli


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("pg_files")
    layout = syn.Layout()
    out = {"qpv": syn.anct_zip(syn.qpv_records(layout), d / "qpv_synthetique.zip")}
    out["poches"] = syn.write(syn.frame(syn.local_records(layout, "poche", {
        "POCHE-HAVELUY-CENTRE": "Centre", "POCHE-ABSCON-REPUBLIQUE": "République"})), d / "poches.gpkg", "GPKG")
    import shapely.affinity

    moved = [(p, shapely.affinity.translate(g, 20, 0)) for p, g in syn.local_records(syn.Layout(), "poche", {
        "POCHE-HAVELUY-CENTRE": "Centre"})]  # redrawn 20 m further east
    out["poches_v2"] = syn.write(syn.frame(moved), d / "centre_v2.geojson", "GeoJSON")
    out["qva"] = syn.write(syn.frame(syn.local_records(layout, "qva", {"QVA-SAINT-AMAND-LIMON": "Limon"})),
                           d / "qva.geojson", "GeoJSON")
    return out


def _filled(url, files):
    cli("data", "import", "qpv", str(files["qpv"]), "--store", url)
    cli("data", "import", "local", str(files["poches"]), "--tier", "poche", "--by", "Alice", "--store", url)
    return url


def _rows(url, layer):
    from cq_geo.data.pgstore import PgStore

    return {r[{"qpv": "code_qp"}.get(layer, "code")]: r for r in PgStore(url).polygon_rows(layer)}


# -- init-shared ------------------------------------------------------------------------------------
def test_init_shared_is_idempotent_says_what_it_created_and_upgrades(pg_cluster):
    url = pg_cluster.url(pg_cluster.new_database())
    roles_there = bool(pg_cluster.sql("SELECT 1 FROM pg_roles WHERE rolname = 'cq_caph_lecteur'"))  # cluster-wide
    first = cli("data", "init-shared", url).stdout
    assert "schéma cq_caph (version 2)" in first
    for item in ("+ table poche", "+ table history", "+ fonction cq_lookup", "+ déclencheur cq_history (poche)",
                 "+ index poche_geom_idx", "47 contours de communes chargés"):
        assert item in first, item
    assert ("+ rôle cq_caph_lecteur" in first) != roles_there
    again = cli("data", "init-shared", url).stdout
    assert "déjà en place : rien à créer" in again and "+ " not in again
    # an older schema: refused without --upgrade, migrated with it (and says what it added)
    pg_cluster.sql(f"UPDATE {SCHEMA}.cq_schema SET value = '0' WHERE key = 'version'; "
                   f"ALTER TABLE {SCHEMA}.history DROP COLUMN db_user; DROP TABLE {SCHEMA}.cq_lookup_index CASCADE",
                   db=url.split("/")[3].split("?")[0])
    p = cli("data", "init-shared", url, check=False)
    assert p.returncode == 2 and "version 0" in p.stderr and "--upgrade" in p.stderr
    p = cli("data", "status", "--store", url, check=False)
    assert p.returncode == 2 and "--upgrade" in p.stderr
    up = cli("data", "init-shared", url, "--upgrade").stdout
    assert "migré depuis la version 0" in up and "+ colonne history.db_user" in up and "+ table cq_lookup_index" in up
    assert "rien à créer" in cli("data", "init-shared", url).stdout


def test_constraints_refuse_bad_geometries_and_codes(shared_url):
    import psycopg2

    con = psycopg2.connect(shared_url)
    with con, con.cursor() as cur:  # a point inside Haveluy
        cur.execute(f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM {SCHEMA}.communes "
                    "WHERE insee = '59292') s")
        x, y = (round(v) for v in cur.fetchone())
    sq = f"ST_Multi(ST_MakeEnvelope({x}, {y}, {x + 100}, {y + 100}, 2154))"
    cases = {
        "SRID": f"INSERT INTO {SCHEMA}.poche (geom, code) VALUES (ST_Multi(ST_MakeEnvelope(3.5, 50.3, 3.6, 50.4, 4326)), "
                "'POCHE-HAVELUY-CENTRE')",
        "poche_geom_valid": f"INSERT INTO {SCHEMA}.poche (geom, code) VALUES (ST_Multi(ST_GeomFromText('POLYGON(("
                            f"{x} {y}, {x + 100} {y + 100}, {x + 100} {y}, {x} {y + 100}, {x} {y}))', 2154)), "
                            "'POCHE-HAVELUY-CENTRE')",
        "poche_zone_of_tier": f"INSERT INTO {SCHEMA}.poche (geom, code) VALUES ({sq}, 'QVA-SAINT-AMAND-LIMON')",
        "sort du territoire": f"INSERT INTO {SCHEMA}.poche (geom, code) VALUES (ST_Multi(ST_MakeEnvelope(652000, "
                              "6862000, 652100, 6862100, 2154)), 'POCHE-HAVELUY-CENTRE')",
    }
    for expected, statement in cases.items():
        with pytest.raises(psycopg2.Error) as err:
            with con, con.cursor() as cur:
                cur.execute(statement)
        assert expected in str(err.value), (expected, str(err.value))
    with pytest.raises(psycopg2.errors.UniqueViolation):
        with con, con.cursor() as cur:
            cur.execute(f"INSERT INTO {SCHEMA}.communes (geom, insee) SELECT geom, insee FROM {SCHEMA}.communes LIMIT 1")
    con.close()


# -- data commands, history, validation, rollback ------------------------------------------------------
def test_data_commands_history_validation_and_rollback_to_any_state(shared_url, files):
    from cq_geo.data.pgstore import PgStore

    url = _filled(shared_url, files)
    status = cli("data", "status", "--store", url).stdout
    assert "qpv : provisoire, 13 entité(s)" in status and "magasin partagé" in status
    assert "POCHE-ABSCON-REPUBLIQUE, POCHE-HAVELUY-CENTRE" in status  # provisional, to validate
    out = cli("data", "validate-zone", "POCHE-HAVELUY-CENTRE", "--by", "Service politique de la ville",
              "--store", url).stdout
    assert "validée par Service politique de la ville" in out
    # a re-import of the zone: back to provisional; history add → validate → replace, with who
    cli("data", "import", "local", str(files["poches_v2"]), "--tier", "poche", "--by", "Bob", "--store", url)
    hist = PgStore(url).history("POCHE-HAVELUY-CENTRE")
    assert [(h["action"], h["status"], h["author"]) for h in hist] == [
        ("add", "provisional", "Alice"), ("validate", "validated", "Service politique de la ville"),
        ("replace", "provisional", "Bob")]
    assert _rows(url, "poche")["POCHE-HAVELUY-CENTRE"]["status"] == "provisional"
    text = cli("data", "history", "POCHE-HAVELUY-CENTRE", "--store", url).stdout
    assert "validate" in text and "Service politique de la ville" in text
    # rollback to the state right after the validation: validated again, the QPV still there
    store = PgStore(url)
    changes = store.changes()
    validation = next(c for c in changes if c["description"].startswith("validation"))
    before_sql = _rows(url, "poche")
    out = cli("data", "rollback", "--to", str(validation["change"]), "--store", url).stdout
    assert f"revenu à l'état {validation['change']}" in out
    rows = _rows(url, "poche")
    assert rows["POCHE-HAVELUY-CENTRE"]["status"] == "validated" and set(rows) == {
        "POCHE-HAVELUY-CENTRE", "POCHE-ABSCON-REPUBLIQUE"}
    assert len(_rows(url, "qpv")) == 13
    assert store.metadata()["poche"]["feature_count"] == 2
    # back to the very first state (creation): no QPV, no poche, metadata as created
    first = store.changes()[0]
    cli("data", "rollback", "--to", str(first["change"]), "--store", url)
    assert _rows(url, "qpv") == {} and _rows(url, "poche") == {}
    assert store.metadata()["qpv"]["status"] == "missing"
    # a rollback is itself a state: rollback without --to undoes it
    cli("data", "rollback", "--store", url)
    after = _rows(url, "poche")
    assert {c: r["status"] for c, r in after.items()} == {"POCHE-HAVELUY-CENTRE": "validated",
                                                           "POCHE-ABSCON-REPUBLIQUE": "provisional"}
    assert len(_rows(url, "qpv")) == 13
    # lookups read the committed state: the validated perimeter answers
    from cq_geo.territory import load_territory

    t = load_territory(store=url)
    assert t.layers["poche"].status == "provisional"  # one of the two is still provisional
    assert before_sql["POCHE-HAVELUY-CENTRE"]["polys"] is not None


def test_edit_in_sql_goes_back_to_provisional_and_only_validate_zone_validates(shared_url, files, pg_cluster):
    import psycopg2

    url = _filled(shared_url, files)
    cli("data", "validate-zone", "POCHE-HAVELUY-CENTRE", "--by", "SIG", "--store", url)
    db = url.split("/")[3].split("?")[0]
    pg_cluster.login_role("bob_editeur", f"{SCHEMA}_editeur")
    con = psycopg2.connect(pg_cluster.url(db, "bob_editeur"))
    with con, con.cursor() as cur:  # a vertex moved by 3 m (what a QGIS edit sends)
        cur.execute(f"UPDATE {SCHEMA}.poche SET geom = ST_Multi(ST_Translate(geom, 3, 0)) "
                    "WHERE code = 'POCHE-HAVELUY-CENTRE'")
    with pytest.raises(psycopg2.Error) as err:  # self-validation in the attribute table is refused
        with con, con.cursor() as cur:
            cur.execute(f"UPDATE {SCHEMA}.poche SET status = 'validated' WHERE code = 'POCHE-HAVELUY-CENTRE'")
    assert "validate-zone" in str(err.value)
    con.close()
    rows = _rows(url, "poche")
    assert rows["POCHE-HAVELUY-CENTRE"]["status"] == "provisional" and rows["POCHE-HAVELUY-CENTRE"]["validated_by"] == ""
    from cq_geo.data.pgstore import PgStore

    last = PgStore(url).history("POCHE-HAVELUY-CENTRE")[-1]
    assert (last["action"], last["status"], last["author"], last["db_user"]) == (
        "replace", "provisional", "bob_editeur", "bob_editeur")
    assert last["description"] == "modification directe (QGIS ou SQL)"
    con = psycopg2.connect(pg_cluster.url(db, "bob_editeur"))
    for statement in (f"DELETE FROM {SCHEMA}.history", f"UPDATE {SCHEMA}.history SET author = 'quelqu''un'"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):  # an editor cannot rewrite the history
            with con, con.cursor() as cur:
                cur.execute(statement)
    con.close()
    # before/after geometry kept
    g = pg_cluster.sql(f"SELECT ST_XMin(geom) - ST_XMin(geom_before) FROM {SCHEMA}.history ORDER BY fid DESC LIMIT 1",
                       db=db)
    assert g[0][0] == pytest.approx(3.0)


def test_reader_role_cannot_write_but_gets_answers(shared_url, files, pg_cluster):
    import psycopg2

    url = _filled(shared_url, files)
    db = url.split("/")[3].split("?")[0]
    pg_cluster.login_role("lea_lectrice", f"{SCHEMA}_lecteur")
    reader = pg_cluster.url(db, "lea_lectrice")
    con = psycopg2.connect(reader)
    for statement in (f"DELETE FROM {SCHEMA}.poche", f"UPDATE {SCHEMA}.cq_layers SET status = 'official'",
                      f"INSERT INTO {SCHEMA}.history (layer, action) VALUES ('poche', 'faux')"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            with con, con.cursor() as cur:
                cur.execute(statement)
    with con, con.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {SCHEMA}.cq_lookup(ST_SetSRID(ST_MakePoint(3.43, 50.33), 4326))")
        assert cur.fetchone()[0] == 1
    con.close()
    before = _rows(url, "poche")
    p = cli("data", "validate-zone", "POCHE-HAVELUY-CENTRE", "--by", "Léa", "--store", reader, check=False)
    assert p.returncode == 2 and "rôle d'éditeur" in p.stderr and "Traceback" not in p.stderr
    assert _rows(url, "poche").keys() == before.keys()
    assert _rows(url, "poche")["POCHE-HAVELUY-CENTRE"]["status"] == "provisional"
    out = cli("lookup", "--x", "726500", "--y", "7030000", "--store", reader, "--json", check=False)
    assert out.returncode == 0, out.stderr


# -- concurrency and crashes ------------------------------------------------------------------------------
def test_two_writers_at_once_lose_no_change(shared_url, files):
    url = _filled(shared_url, files)
    env = {"CQ_GEO_LOCK_TIMEOUT": "120"}
    procs = [subprocess.Popen([sys.executable, "-m", "cq_geo.cli.main", "data", "validate-zone", code, "--by", who,
                               "--store", url], env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for code, who in (("POCHE-HAVELUY-CENTRE", "Alice"), ("POCHE-ABSCON-REPUBLIQUE", "Bob"))]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    rows = _rows(url, "poche")  # each validation rewrote the whole layer: without the lock one would be lost
    assert {c: (r["status"], r["validated_by"]) for c, r in rows.items()} == {
        "POCHE-HAVELUY-CENTRE": ("validated", "Alice"), "POCHE-ABSCON-REPUBLIQUE": ("validated", "Bob")}


def test_a_waiting_writer_is_told_and_gives_up_after_the_timeout(shared_url):
    from cq_geo.data.pgstore import PgStore

    store = PgStore(shared_url)
    held = threading.Event()
    release = threading.Event()

    def hold():
        with store.writing():
            held.set()
            release.wait(30)

    th = threading.Thread(target=hold)
    th.start()
    held.wait(30)
    try:
        p = cli("data", "validate-zone", "POCHE-HAVELUY-CENTRE", "--by", "x", "--store", shared_url,
                env={"CQ_GEO_LOCK_TIMEOUT": "1"}, check=False)
    finally:
        release.set()
        th.join()
    assert p.returncode == 2
    assert "en cours de modification par une autre commande" in p.stderr and "après 1 s" in p.stderr


def test_a_killed_import_leaves_no_half_state(shared_url, files):
    from cq_geo.data.pgstore import PgStore

    url = _filled(shared_url, files)
    store = PgStore(url)
    before = (len(store.history()), store.metadata(), sorted(_rows(url, "qva")))
    p = cli("data", "import", "local", str(files["qva"]), "--tier", "qva", "--store", url,
            env={"CQ_GEO_TEST_CRASH_AT": "pg-change:before-commit"}, check=False)
    assert p.returncode == -9  # SIGKILL after every row was written, before the commit
    assert (len(store.history()), store.metadata(), sorted(_rows(url, "qva"))) == before
    # the lock went with the killed session: the next import runs at once
    cli("data", "import", "local", str(files["qva"]), "--tier", "qva", "--store", url, env={"CQ_GEO_LOCK_TIMEOUT": "5"})
    assert sorted(_rows(url, "qva")) == ["QVA-SAINT-AMAND-LIMON"]


# -- passwords ------------------------------------------------------------------------------------------
def test_passwords_are_refused_in_addresses_and_never_shown(pg_cluster, tmp_path):
    url = pg_cluster.url("postgres").replace("cq@", "cq:s3cret-motdepasse@")
    for args in (("data", "init-shared", url), ("data", "status", "--store", url), ("data", "pull", url)):
        p = cli(*args, check=False)
        assert p.returncode == 2 and "~/.pgpass" in p.stderr, p.stderr
        assert "s3cret" not in p.stderr + p.stdout
    p = cli("data", "status", env={"CQ_GEO_STORE": "host=/tmp dbname=x password=s3cret-motdepasse"}, check=False)
    assert p.returncode == 2 and "s3cret" not in p.stderr + p.stdout


def test_tls_settings_reach_libpq(pg_cluster):
    """sslmode & co. are passed through as given (libpq checks them: a wrong value is libpq's own error)."""
    p = cli("data", "status", "--store", pg_cluster.url("postgres") + "&sslmode=tres-sur", check=False)
    assert p.returncode == 2 and 'invalid sslmode value: "tres-sur"' in p.stderr and "connexion impossible" in p.stderr
    p = cli("data", "status", "--store", pg_cluster.url("postgres") + "&sslmode=prefer", check=False)
    assert "n'a pas encore de schéma cq_caph" in p.stderr and "init-shared" in p.stderr


def test_service_file_and_pgpass_are_used(pg_cluster, shared_url, tmp_path):
    """A connection named in pg_service.conf (as QGIS users do); the password file is libpq's own."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(shared_url)
    q = parse_qs(parts.query)
    service = tmp_path / "pg_service.conf"
    service.write_text(f"[cq-caph]\nhost={q['host'][0]}\nport={q['port'][0]}\ndbname={parts.path[1:]}\nuser=cq\n"
                       "sslmode=disable\n", encoding="utf-8")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text("*:*:*:cq:inutile-en-trust\n", encoding="utf-8")
    pgpass.chmod(0o600)
    env = {"PGSERVICEFILE": str(service), "PGPASSFILE": str(pgpass)}
    p = cli("data", "status", "--store", "service=cq-caph", env=env)
    assert "Magasin de données : service=cq-caph (schéma cq_caph)" in p.stdout
    p = cli("data", "status", env={**env, "CQ_GEO_STORE": "service=cq-caph"})
    assert "service=cq-caph" in p.stdout
    db = parts.path[1:]
    meta = pg_cluster.sql(f"SELECT string_agg(coalesce(source, '') || coalesce(note, ''), ' ') FROM {SCHEMA}.cq_layers",
                          db=db)[0][0]
    assert "inutile-en-trust" not in meta


# -- pull, then offline --------------------------------------------------------------------------------
def test_pull_then_offline_lookup(shared_url, files, tmp_path, pg_cluster):
    from cq_geo.territory import load_territory

    url = _filled(shared_url, files)
    cli("data", "validate-zone", "POCHE-HAVELUY-CENTRE", "--by", "SIG", "--store", url)
    local = tmp_path / "portable" / "cq-geo.gpkg"
    out = cli("data", "pull", url, "--store", str(local)).stdout
    assert "qpv : 13 entité(s)" in out and "poche : 2 entité(s)" in out
    status = cli("data", "status", "--store", str(local)).stdout
    assert "copie du magasin partagé postgresql://cq@/" in status and "il y a 0 min" in status
    # offline: the shared store is gone (database dropped), the copy answers the same
    shared_t = load_territory(store=url)
    pg_cluster.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{url.split('/')[3].split('?')[0]}' "
                   "AND pid <> pg_backend_pid()")
    layout = syn.Layout()
    rng = np.random.default_rng(3)
    b = layout.outline.bounds
    x, y = rng.uniform(b[0], b[2], 3000), rng.uniform(b[1], b[3], 3000)
    expected = shared_t.lookup_many(x=x, y=y)
    pg_cluster.sql(f"DROP DATABASE {url.split('/')[3].split('?')[0]} WITH (FORCE)")
    got = load_territory(store=local).lookup_many(x=x, y=y)
    cols = ["cq_commune_insee", "cq_qpv_code", "cq_qpv_status", "cq_poche", "cq_poche_status", "cq_team"]
    assert (got[cols].astype(str).values == expected[cols].astype(str).values).all()
    assert got.cq_poche_status.astype(str).isin(["inside", "boundary"]).sum() > 0 or True
    t = load_territory(store=local)
    assert t.layers["qpv"].status == "provisional" and t.layers["poche"].feature_count == 2
    assert "copie du magasin partagé" in (cli("data", "status", "--store", str(local), "--json").stdout)


# -- the same answer from SQL -------------------------------------------------------------------------------
def test_cq_lookup_in_sql_agrees_with_the_python_engine_on_100000_points(shared_url, files):
    import psycopg2
    import shapely.affinity

    from cq_geo.territory import load_territory

    url = _filled(shared_url, files)
    cli("data", "import", "local", str(files["qva"]), "--tier", "qva", "--store", url)
    cli("data", "validate-zone", "POCHE-HAVELUY-CENTRE", "--by", "SIG", "--store", url)
    t = load_territory(store=url)
    rng = np.random.default_rng(17)
    b = t.outline.geoms[0].bounds
    # points where answers change: around every zone's and commune's edge, spread over its tolerance band
    edges = []
    for index, per in [(data.index, 500) for data in t.tiers.values() if data.index is not None] + [(t.communes, 150)]:
        for g, near in zip(index.geoms, index.near_m):
            for part in shapely.get_parts(shapely.boundary(g)):
                p = shapely.line_interpolate_point(part, rng.uniform(0, part.length, per))
                edges.append(shapely.get_coordinates(p) + rng.normal(0, max(near, 5.0), (per, 2)))
    e = np.vstack(edges)[:40_000]
    n = 100_000 - len(e)  # the rest spread over the territory and 3.5 km around it
    x = np.concatenate([rng.uniform(b[0] - 3500, b[2] + 3500, n), e[:, 0]])
    y = np.concatenate([rng.uniform(b[1] - 3500, b[3] + 3500, n), e[:, 1]])
    assert len(x) >= 100_000
    py = t.lookup_many(x=x, y=y)
    con = psycopg2.connect(url)
    with con, con.cursor() as cur:
        cur.execute(f"SELECT r.* FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, i), "
                    f"LATERAL {SCHEMA}.cq_lookup(ST_SetSRID(ST_MakePoint(p.x, p.y), 2154)) r ORDER BY p.i",
                    (x.tolist(), y.tolist()))
        names = [d[0] for d in cur.description]
        sql = {k: np.array(v, dtype=object) for k, v in zip(names, zip(*cur.fetchall()))}
    con.close()

    def s(col):
        return np.array(["" if v is None or v != v else str(v) for v in py[col].astype(object)], dtype=object)

    def q(col):
        return np.array(["" if v is None else str(v) for v in sql[col]], dtype=object)

    name_to_code = {z.name: z.code for z in t.definition.zones}
    pairs = {
        "commune": (q("commune_insee"), s("cq_commune_insee")),
        "commune_status": (q("commune_status"), s("cq_commune_status")),
        "team": (q("team"), s("cq_team")),
        "qpv_code": (q("qpv_code"), s("cq_qpv_code")),
        "qpv_status": (q("qpv_status"), s("cq_qpv_status")),
        "poche_status": (q("poche_status"), s("cq_poche_status")),
        "qva_status": (q("qva_status"), s("cq_qva_status")),
        "tier": (q("tier"), s("cq_primary_tier")),
        "poche": (np.where(np.isin(q("poche_status"), ["inside", "boundary"]), q("poche_code"), ""),
                  np.array([name_to_code.get(v, "") for v in s("cq_poche")], dtype=object)),
    }
    mismatches = {k: int((a != b_).sum()) for k, (a, b_) in pairs.items()}
    assert mismatches == {k: 0 for k in pairs}, mismatches
    d_sql = np.array([np.nan if v is None else v for v in sql["qpv_distance_m"]], dtype=float)
    d_py = py["cq_qpv_distance_m"].to_numpy(dtype=float)
    assert (np.isnan(d_sql) == np.isnan(d_py)).all()
    ok = ~np.isnan(d_py)
    assert np.abs(np.round(d_sql[ok], 1) - d_py[ok]).max() <= 0.1
    # every status occurs, so the comparison covers each rule
    for col in ("qpv_status", "poche_status", "commune_status"):
        assert {"inside", "boundary", "near", "outside"} <= set(q(col)), col


def test_data_update_on_the_shared_store(shared_url, monkeypatch, capsys, tmp_path):
    """``cq-geo data update`` (local HTTP server) installs the official layers in one transaction."""
    from cq_geo.cli.main import main
    from cq_geo.data.pgstore import PgStore
    from cq_geo.territory import load_territory

    from .test_store_download import COMMUNES_PATH, QPV_PATH, Server

    layout = syn.Layout()
    recs = syn.qpv_records(layout)
    zip_path = syn.anct_zip(recs, tmp_path / "qpv.zip")
    with Server() as server:
        server.routes[QPV_PATH] = (Path(zip_path).read_bytes(), "ok")
        server.routes[COMMUNES_PATH] = (syn.communes_geojson_bytes(), "ok")
        monkeypatch.setenv("CQ_GEO_DATA_GOUV_URL", server.url)
        monkeypatch.setenv("CQ_GEO_GEO_API_URL", server.url + "/")
        assert main(["data", "update", "--store", shared_url]) == 0
        out = capsys.readouterr().out
        assert "communes : 47 entité(s)" in out and "qpv : 13 entité(s)" in out
        assert f"Magasin : {shared_url}" in out
        store = PgStore(shared_url)
        meta = store.metadata()
        assert meta["qpv"]["status"] == "official" and meta["communes"]["status"] == "official"
        assert store.changes()[-1]["description"] == "mise à jour communes, qpv"  # one change for both layers
        assert main(["data", "update", "--store", shared_url]) == 0
        assert capsys.readouterr().out.count("déjà à jour") == 2
    denain = [r for r in recs if r[0]["code_qp"] == "QN05950M"][0][1].representative_point()
    r = load_territory(store=shared_url).lookup(x=denain.x, y=denain.y).to_dict()
    assert r["primary"] == {"tier": "qpv", "code": "QN05950M"}

