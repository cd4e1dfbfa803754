"""The territory file's tiers drive the shared store's schema (issue 17, with issue 16 item 1), against a REAL
PostgreSQL 15 + PostGIS 3 cluster (tests/unit/pg_support.py).

The CAPH territory file gets a fourth tier, « friche urbaine », SYNTHETIC (made up for the test, as in
tests/unit/test_fourth_tier.py): priority 4, its own tolerances (3 m / 15 m, not the 2 m / 10 m of a
provisional perimeter), two zones drawn as squares inside the embedded commune outlines of Abscon (no other
zone there: the friche is the answer) and Haveluy (the whole commune is a former QVA, priority 3: the QVA is
the answer). The QPV and poche files are SYNTHETIC too (tests/unit/synthetic_qpv.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from . import pg_support

pg_cluster = pg_support.pg_cluster  # fixture

pytest.importorskip("geopandas")
from . import synthetic_qpv as syn  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "cq_caph"

FRICHE_TIER = """
# --- SYNTHETIC fourth tier, for tests only (tests/unit/test_pgstore_tiers.py) ---
[tiers.friche]
label = "Friche urbaine (niveau synthétique de test)"
short_label = "Friche"
name = "friche urbaine"
plural = "friches urbaines"
feminine = true
colour = "#aa00aa"
priority = 4
edge_m = 3
near_m = 15
teams = false

[[zones]]
tier = "friche"
code = "FRICHE-ABSCON"
name = "Abscon : Friche synthétique"
communes = ["59002"]
geometry = "perimeter"

[[zones]]
tier = "friche"
code = "FRICHE-HAVELUY"
name = "Haveluy : Friche synthétique"
communes = ["59292"]
geometry = "perimeter"
"""


@pytest.fixture(scope="module")
def four_tiers(tmp_path_factory):
    """A territory folder: the embedded CAPH file plus the synthetic « friche » tier, and the same outlines."""
    from cq_geo.paths import boundaries_dir

    d = tmp_path_factory.mktemp("caph_quatre_niveaux")
    src = boundaries_dir()
    shutil.copy(src / "communes_baseline.geojson", d / "communes_baseline.geojson")
    (d / "territory.toml").write_text((src / "territory.toml").read_text(encoding="utf-8") + FRICHE_TIER,
                                      encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def files(tmp_path_factory, four_tiers):
    """SYNTHETIC files: QPV (ANCT schema), two poches, two friches; squares from ONE layout (no slot twice)."""
    from cq_geo.model import load_definition

    d = tmp_path_factory.mktemp("pg_tier_files")
    layout = syn.Layout(load_definition(four_tiers / "territory.toml"))
    out = {"qpv": syn.anct_zip(syn.qpv_records(layout), d / "qpv_synthetique.zip")}
    out["poches"] = syn.write(syn.frame(syn.local_records(layout, "poche", {
        "POCHE-HAVELUY-CENTRE": "Centre", "POCHE-ABSCON-REPUBLIQUE": "République"})), d / "poches.gpkg", "GPKG")
    out["friches"] = syn.write(syn.frame(syn.local_records(layout, "friche", {
        "FRICHE-ABSCON": "FRICHE-ABSCON", "FRICHE-HAVELUY": "Friche synthétique"})), d / "friches.geojson", "GeoJSON")
    return out


def cli(*args, territory=None, check=True):
    """The real CLI on *territory* (a folder), never the caller's CQ_GEO_TERRITORY / CQ_GEO_STORE."""
    return pg_support.run_cli(*args, env={"CQ_GEO_TERRITORY": str(territory) if territory is not None else None,
                                          "CQ_GEO_STORE": None}, check=check)


_db = pg_support.database_name


def _lookup_sql(url, x, y) -> dict[str, np.ndarray]:
    import psycopg2

    con = psycopg2.connect(url)
    try:
        with con, con.cursor() as cur:
            cur.execute(f"SELECT r.* FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, i), "
                        f"LATERAL {SCHEMA}.cq_lookup(ST_SetSRID(ST_MakePoint(p.x, p.y), 2154)) r ORDER BY p.i",
                        (list(map(float, x)), list(map(float, y))))
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
    finally:
        con.close()
    return {k: np.array(["" if v is None else v for v in col], dtype=object) for k, col in zip(names, zip(*rows))}


def _disagreements(t, sql, py) -> dict[str, int]:
    """Rows where SQL and Python differ, per answer (every tier of the territory file)."""

    def s(col):
        return np.array(["" if v is None or v != v else str(v) for v in py[col].astype(object)], dtype=object)

    def q(col):
        return np.array([str(v) for v in sql[col]], dtype=object)

    name_to_code = {z.name: z.code for z in t.definition.zones}
    pairs = {
        "commune": (q("commune_insee"), s("cq_commune_insee")),
        "commune_status": (q("commune_status"), s("cq_commune_status")),
        "team": (q("team"), s("cq_team")),
        "qpv_code": (q("qpv_code"), s("cq_qpv_code")),
        "qpv_status": (q("qpv_status"), s("cq_qpv_status")),
        "tier": (q("tier"), s("cq_primary_tier")),
    }
    for tier in t.definition.local_tier_ids:
        pairs[f"{tier}_status"] = (q(f"{tier}_status"), s(f"cq_{tier}_status"))
        pairs[f"{tier}_code"] = (np.where(np.isin(q(f"{tier}_status"), ["inside", "boundary"]), q(f"{tier}_code"), ""),
                                 np.array([name_to_code.get(v, "") for v in s(f"cq_{tier}")], dtype=object))
    out = {k: int((a != b).sum()) for k, (a, b) in pairs.items()}
    d_sql = np.array([np.nan if v == "" else v for v in sql["qpv_distance_m"]], dtype=float)
    d_py = py["cq_qpv_distance_m"].to_numpy(dtype=float)
    ok = ~np.isnan(d_py)
    out["qpv_distance_m"] = int((np.isnan(d_sql) != np.isnan(d_py)).sum()
                                + (np.abs(np.round(d_sql[ok], 1) - d_py[ok]) > 0.1).sum())
    return out


def _points_around(t, tiers, per_zone, rng):
    """Points spread over the tolerance band of every zone edge of *tiers* (where answers change)."""
    import shapely

    pts = []
    for tier in tiers:
        index = t.tiers[tier].index
        for g, near in zip(index.geoms, index.near_m):
            for part in shapely.get_parts(shapely.boundary(g)):
                p = shapely.line_interpolate_point(part, rng.uniform(0, part.length, per_zone))
                pts.append(shapely.get_coordinates(p) + rng.normal(0, max(near, 5.0), (per_zone, 2)))
    return np.vstack(pts)


# -- (a) a fourth tier declared in the file: schema, import, cq_lookup, agreement with Python -----------------
def test_a_fourth_tier_gets_its_table_and_answers_in_sql_as_in_python(pg_cluster, four_tiers, files, monkeypatch):
    import psycopg2

    from cq_geo.data.pgstore import qgis_layer_sources
    from cq_geo.territory import load_territory

    url = pg_cluster.url(pg_cluster.new_database())
    out = cli("data", "init-shared", url, territory=four_tiers).stdout
    assert "niveaux (fichier de territoire, par priorité) : qpv, poche, qva, friche" in out
    for item in ("+ table friche", "+ table poche", "+ déclencheur cq_history (friche)",
                 "+ déclencheur cq_local_zone (friche)", "+ index friche_geom_idx", "+ table cq_tiers"):
        assert item in out, item
    db = _db(url)
    assert pg_cluster.sql(f"SELECT id, priority, edge_m, near_m, teams FROM {SCHEMA}.cq_tiers ORDER BY priority",
                          db=db) == [("qpv", 1, None, None, True), ("poche", 2, None, None, True),
                                     ("qva", 3, None, None, True), ("friche", 4, 3.0, 15.0, False)]
    names = pg_cluster.sql("SELECT proargnames FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                           "WHERE n.nspname = %s AND proname = 'cq_lookup'", db=db, params=(SCHEMA,))[0][0]
    assert names[-4:] == ["qva_code", "qva_status", "friche_code", "friche_status"]

    cli("data", "import", "qpv", str(files["qpv"]), "--store", url, territory=four_tiers)
    cli("data", "import", "local", str(files["poches"]), "--tier", "poche", "--by", "Alice", "--store", url,
        territory=four_tiers)
    rep = cli("data", "import", "local", str(files["friches"]), "--tier", "friche", "--by", "Alice", "--store", url,
              territory=four_tiers).stdout
    assert "friche" in rep
    cli("data", "validate-zone", "FRICHE-ABSCON", "--by", "SIG", "--store", url, territory=four_tiers)
    status = cli("data", "status", "--store", url, territory=four_tiers).stdout
    assert "friche" in status and "FRICHE-HAVELUY" in status  # still provisional: to validate

    # the same tier's constraints and history as poche and qva
    with psycopg2.connect(url) as con, con.cursor() as cur:
        cur.execute(f"SELECT code, status, validated_by FROM {SCHEMA}.friche ORDER BY code")
        assert cur.fetchall() == [("FRICHE-ABSCON", "validated", "SIG"), ("FRICHE-HAVELUY", "provisional", "")]
        cur.execute(f"SELECT action, author FROM {SCHEMA}.history WHERE layer = 'friche' AND code = 'FRICHE-ABSCON' "
                    "ORDER BY fid")
        assert cur.fetchall() == [("add", "Alice"), ("validate", "SIG")]
    con.close()
    con = psycopg2.connect(url)
    for expected, statement in {
        "friche_zone_of_tier": f"INSERT INTO {SCHEMA}.friche (geom, code) SELECT geom, 'POCHE-HAVELUY-CENTRE' "
                               f"FROM {SCHEMA}.poche LIMIT 1",
        "friche_tier_check": f"UPDATE {SCHEMA}.friche SET tier = 'poche'",
    }.items():
        with pytest.raises(psycopg2.Error) as err:
            with con, con.cursor() as cur:
                cur.execute(statement)
        assert expected in str(err.value), (expected, str(err.value))
    con.close()

    # cq_lookup: the friche answers with its priority (below the QVA) and its own tolerances (3 m / 15 m)
    monkeypatch.setenv("CQ_GEO_TERRITORY", str(four_tiers))
    t = load_territory(store=url)
    assert t.tier_ids == ("qpv", "poche", "qva", "friche")
    ab = t.tiers["friche"].index.geoms[[z.code for z in t.tiers["friche"].zones].index("FRICHE-ABSCON")]
    x0, y0, x1, y1 = ab.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    xs = [cx, x1 - 2.5, x1 + 2.5, x1 + 12, x1 + 20]
    ys = [cy] * 5
    sql = _lookup_sql(url, xs, ys)
    assert list(sql["tier"][:3]) == ["friche"] * 3 and list(sql["zone_code"][:3]) == ["FRICHE-ABSCON"] * 3
    assert list(sql["friche_status"]) == ["inside", "boundary", "boundary", "near", "outside"]
    assert sql["distance_m"][0] == pytest.approx(min(cx - x0, cy - y0), abs=0.01)
    assert sql["distance_m"][2] == pytest.approx(2.5, abs=0.01)
    hv = t.tiers["friche"].index.geoms[[z.code for z in t.tiers["friche"].zones].index("FRICHE-HAVELUY")]
    p = hv.representative_point()
    r = _lookup_sql(url, [p.x], [p.y])
    assert (r["tier"][0], r["zone_code"][0], r["qva_code"][0], r["friche_code"][0], r["friche_status"][0]) == (
        "qva", "QVA-59292", "QVA-59292", "FRICHE-HAVELUY", "inside")

    # Python and SQL agree on 20 000 points, half of them in the tolerance bands of the zones' edges
    rng = np.random.default_rng(4)
    e = np.vstack([_points_around(t, ["friche"], 2500, rng), _points_around(t, ["poche", "qpv"], 150, rng)])
    b = t.outline.geoms[0].bounds
    n = 20_000 - len(e)
    assert n > 5000
    x = np.concatenate([rng.uniform(b[0] - 3500, b[2] + 3500, n), e[:, 0]])
    y = np.concatenate([rng.uniform(b[1] - 3500, b[3] + 3500, n), e[:, 1]])
    py = t.lookup_many(x=x, y=y)
    sql = _lookup_sql(url, x, y)
    diff = _disagreements(t, sql, py)
    assert diff == {k: 0 for k in diff}, diff
    # the comparison covers the friche's rules: every status, and the friche as the answer
    assert {"inside", "boundary", "near", "outside"} <= set(sql["friche_status"])
    assert (sql["tier"] == "friche").sum() > 100 and ((sql["friche_status"] == "inside") & (sql["tier"] == "qva")).any()
    # the QGIS layers of the plugin include it
    assert "friche" in [name for name, _ in qgis_layer_sources(url)]


# -- (b) an existing three-tier schema, then the tier is added to the file: --upgrade -------------------------
def test_upgrade_adds_a_newly_declared_tier_to_an_existing_schema(pg_cluster, four_tiers, files, monkeypatch):
    import psycopg2

    url = pg_cluster.url(pg_cluster.new_database())
    db = _db(url)
    cli("data", "init-shared", url)  # the embedded CAPH file: qpv, poche, qva
    cli("data", "import", "qpv", str(files["qpv"]), "--store", url)
    cli("data", "import", "local", str(files["poches"]), "--tier", "poche", "--by", "Alice", "--store", url)
    before = pg_cluster.sql(f"SELECT code, status, ST_AsEWKB(geom) FROM {SCHEMA}.poche ORDER BY code", db=db)
    history = pg_cluster.sql(f"SELECT count(*) FROM {SCHEMA}.history WHERE layer <> 'cq_layers'", db=db)[0][0]
    assert pg_cluster.sql(f"SELECT to_regclass('{SCHEMA}.friche')", db=db) == [(None,)]

    # the file now declares « friche »: the store says what to do, plain init-shared refuses to migrate
    for args in (("data", "status", "--store", url), ("data", "init-shared", url),
                 ("lookup", "--x", "726500", "--y", "7030000", "--store", url)):
        p = cli(*args, territory=four_tiers, check=False)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "« friche »" in p.stderr and "--upgrade" in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert pg_cluster.sql(f"SELECT to_regclass('{SCHEMA}.friche')", db=db) == [(None,)]

    up = cli("data", "init-shared", url, "--upgrade", territory=four_tiers).stdout
    assert "niveau(x) ajouté(s) au schéma : friche" in up
    for item in ("+ table friche", "+ index friche_geom_idx", "+ déclencheur cq_history (friche)",
                 "+ déclencheur cq_refresh (friche)"):
        assert item in up, item
    assert "+ table poche" not in up and "contours de communes chargés" not in up
    assert "rien à créer" in cli("data", "init-shared", url, territory=four_tiers).stdout
    # nothing lost, the history goes on (the new tier's metadata row is one recorded change)
    assert pg_cluster.sql(f"SELECT code, status, ST_AsEWKB(geom) FROM {SCHEMA}.poche ORDER BY code", db=db) == before
    assert pg_cluster.sql(f"SELECT count(*) FROM {SCHEMA}.history WHERE layer <> 'cq_layers'", db=db)[0][0] == history
    from cq_geo.data.pgstore import PgStore

    monkeypatch.setenv("CQ_GEO_TERRITORY", str(four_tiers))
    assert PgStore(url).changes()[-1]["description"] == "niveau(x) ajouté(s) au magasin partagé : friche"
    assert PgStore(url).metadata()["friche"]["status"] == "missing"
    assert pg_cluster.sql(f"SELECT id, priority, edge_m, near_m FROM {SCHEMA}.cq_tiers WHERE id = 'friche'",
                          db=db) == [("friche", 4, 3.0, 15.0)]
    # the roles reach the new table: an editor draws in it, a reader only reads it
    pg_cluster.login_role("eve_editrice", f"{SCHEMA}_editeur")
    pg_cluster.login_role("leo_lecteur", f"{SCHEMA}_lecteur")
    cli("data", "import", "local", str(files["friches"]), "--tier", "friche", "--by", "Ève",
        "--store", pg_cluster.url(db, "eve_editrice"), territory=four_tiers)
    con = psycopg2.connect(pg_cluster.url(db, "leo_lecteur"))
    with con, con.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {SCHEMA}.friche")
        assert cur.fetchone()[0] == 2
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        with con, con.cursor() as cur:
            cur.execute(f"DELETE FROM {SCHEMA}.friche")
    con.close()
    # cq_lookup has the tier's columns and answers with it, as the Python engine does
    from cq_geo.territory import load_territory

    t = load_territory(store=url)
    rng = np.random.default_rng(5)
    e = _points_around(t, ["friche"], 1000, rng)
    sql = _lookup_sql(url, e[:, 0], e[:, 1])
    diff = _disagreements(t, sql, t.lookup_many(x=e[:, 0], y=e[:, 1]))
    assert diff == {k: 0 for k in diff}, diff
    assert (sql["tier"] == "friche").any() and {"boundary", "near"} <= set(sql["friche_status"])

    # the tier dropped from the file again: --upgrade takes it out of the answers, its table (data) stays
    monkeypatch.delenv("CQ_GEO_TERRITORY")
    p = cli("data", "status", "--store", url, check=False)
    assert p.returncode == 2 and "ne déclare plus « friche »" in p.stderr
    cli("data", "init-shared", url, "--upgrade")
    assert pg_cluster.sql(f"SELECT count(*) FROM {SCHEMA}.friche", db=db) == [(2,)]
    assert pg_cluster.sql(f"SELECT id FROM {SCHEMA}.cq_tiers ORDER BY priority", db=db) == [
        ("qpv",), ("poche",), ("qva",)]
    names = pg_cluster.sql("SELECT proargnames FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                           "WHERE n.nspname = %s AND proname = 'cq_lookup'", db=db, params=(SCHEMA,))[0][0]
    assert names[-2:] == ["qva_code", "qva_status"]
    assert cli("data", "status", "--store", url).returncode == 0


def test_tier_ids_unusable_in_sql_are_refused_in_french():
    import copy

    from cq_geo.data.pgstore import lookup_columns, sql_tier_ids
    from cq_geo.errors import DataError
    from cq_geo.model import parse_definition

    from . import synthetic

    d = copy.deepcopy(synthetic.DEFINITION)
    d["tiers"]["commune"] = {"label": "Niveau au nom réservé", "priority": 9}
    definition = parse_definition(d, where="synthétique")
    with pytest.raises(DataError, match="« commune ».*inutilisable dans le magasin partagé"):
        sql_tier_ids(definition)
    d["tiers"].pop("commune")
    d["tiers"]["friche_2"] = {"label": "Friche synthétique", "priority": 0}  # stronger than the QPV
    definition = parse_definition(d, where="synthétique")
    assert sql_tier_ids(definition) == ("friche_2", "qpv", "poche", "qva")
    assert lookup_columns(definition)[-6:] == ["friche_2_code", "friche_2_status", "poche_code", "poche_status",
                                               "qva_code", "qva_status"]


def _without_tiers(text: str, drop: set[str]) -> str:
    """The territory file *text* without the ``[tiers.<id>]`` tables and ``[[zones]]`` of the tiers in *drop*."""
    import re

    blocks = re.split(r"(?m)^(?=\[)", text)
    keep = []
    for b in blocks:
        header = b.split("\n", 1)[0].strip()
        if header in {f"[tiers.{t}]" for t in drop}:
            continue
        m = re.search(r'(?m)^tier = "([a-z0-9_]+)"', b)
        if header == "[[zones]]" and m and m.group(1) in drop:
            continue
        keep.append(b)
    return "".join(keep)


def test_a_territory_without_poche_and_with_a_tier_stronger_than_the_qpv(pg_cluster, tmp_path):
    """Only « qpv » and a SYNTHETIC « friche » of priority 0 (before the QPV): no poche/qva table, and where a
    friche overlaps a QPV the friche answers — the priorities of the file, not a fixed order."""
    import shapely.affinity

    from cq_geo.data.imports import import_local, import_official
    from cq_geo.data.pgstore import PgStore, init_shared, schema_layers
    from cq_geo.model import load_definition
    from cq_geo.paths import boundaries_dir
    from cq_geo.status import status_report
    from cq_geo.territory import load_territory

    text = _without_tiers((boundaries_dir() / "territory.toml").read_text(encoding="utf-8"), {"poche", "qva"})
    text += FRICHE_TIER.replace("priority = 4", "priority = 0").replace(
        'code = "FRICHE-HAVELUY"\nname = "Haveluy : Friche synthétique"\ncommunes = ["59292"]',
        'code = "FRICHE-DENAIN"\nname = "Denain : Friche synthétique"\ncommunes = ["59172"]')
    f = tmp_path / "territory.toml"
    f.write_text(text, encoding="utf-8")
    d = load_definition(f)
    assert d.tier_ids == ("friche", "qpv") and schema_layers(d) == ("communes", "qpv", "qpv2015", "friche")

    url = pg_cluster.url(pg_cluster.new_database())
    db = _db(url)
    rep = init_shared(url, territory_file=f)
    assert rep["tiers"] == ["friche", "qpv"] and "table friche" in rep["created"] and "table poche" not in rep["created"]
    assert pg_cluster.sql(f"SELECT to_regclass('{SCHEMA}.poche'), to_regclass('{SCHEMA}.qva')", db=db) == [(None, None)]
    layout = syn.Layout(d)
    qpv = syn.qpv_records(layout)
    denain = next(g for p, g in qpv if p["code_qp"] == "QN05950M")
    friches = [({"nom": "FRICHE-DENAIN"}, shapely.affinity.translate(denain, 100, 0)),  # half over the QPV
               ({"nom": "FRICHE-ABSCON"}, layout.square("59002", half=100))]
    store = PgStore(url, territory_file=f)
    import_official(store, "qpv", syn.anct_zip(qpv, tmp_path / "qpv.zip"), territory_file=f)
    import_local(store, syn.write(syn.frame(friches), tmp_path / "friches.geojson", "GeoJSON"), "friche",
                 territory_file=f)
    status = {e["layer"]: e for e in status_report(url, territory_file=f)["layers"]}
    assert list(status) == ["communes", "qpv", "qpv2015", "friche"] and status["friche"]["feature_count"] == 2

    t = load_territory(store=url, territory_file=f)
    c = denain.centroid
    both = _lookup_sql(url, [c.x + 60], [c.y])  # in the QPV and in the friche
    assert (both["tier"][0], both["zone_code"][0], both["qpv_code"][0], both["qpv_status"][0]) == (
        "friche", "FRICHE-DENAIN", "QN05950M", "inside")
    assert t.lookup(x=c.x + 60, y=c.y).primary == {"tier": "friche", "code": "FRICHE-DENAIN"}
    only_qpv = _lookup_sql(url, [c.x - 30], [c.y])  # in the QPV, 10 m from the friche (near: 15 m)
    assert (only_qpv["tier"][0], only_qpv["zone_code"][0], only_qpv["friche_status"][0]) == ("qpv", "QN05950M", "near")
    rng = np.random.default_rng(6)
    e = np.vstack([_points_around(t, ["friche", "qpv"], 300, rng)])
    diff = _disagreements(t, _lookup_sql(url, e[:, 0], e[:, 1]), t.lookup_many(x=e[:, 0], y=e[:, 1]))
    assert diff == {k: 0 for k in diff}, diff


def test_tolerances_changed_in_the_file_reach_the_sql_with_init_shared(pg_cluster, four_tiers, files, tmp_path,
                                                                        monkeypatch):
    """The tolerances cq_lookup uses are the file's: a change in the file is refused until init-shared copies it."""
    from cq_geo.territory import load_territory

    url = pg_cluster.url(pg_cluster.new_database())
    db = _db(url)
    cli("data", "init-shared", url, territory=four_tiers)
    cli("data", "import", "local", str(files["friches"]), "--tier", "friche", "--store", url, territory=four_tiers)
    changed = tmp_path / "caph_tolerances"
    shutil.copytree(four_tiers, changed)
    toml = changed / "territory.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("edge_m = 3\nnear_m = 15", "edge_m = 6\nnear_m = 40"),
                    encoding="utf-8")
    p = cli("data", "status", "--store", url, territory=changed, check=False)
    assert p.returncode == 2 and "« friche » : 6 m / 40 m dans le fichier, 3 m / 15 m dans le schéma" in p.stderr
    assert "init-shared" in p.stderr and "Traceback" not in p.stderr
    out = cli("data", "init-shared", url, territory=changed).stdout  # no --upgrade: the same tables
    assert "rien à créer" in out
    assert pg_cluster.sql(f"SELECT edge_m, near_m FROM {SCHEMA}.cq_tiers WHERE id = 'friche'", db=db) == [(6.0, 40.0)]
    monkeypatch.setenv("CQ_GEO_TERRITORY", str(changed))
    t = load_territory(store=url)
    ab = t.tiers["friche"].index.geoms[[z.code for z in t.tiers["friche"].zones].index("FRICHE-ABSCON")]
    x1, cy = ab.bounds[2], (ab.bounds[1] + ab.bounds[3]) / 2
    sql = _lookup_sql(url, [x1 + 5, x1 + 30, x1 + 45], [cy] * 3)
    assert list(sql["friche_status"]) == ["boundary", "near", "outside"]
    py = t.lookup_many(x=[x1 + 5, x1 + 30, x1 + 45], y=[cy] * 3)
    assert list(py["cq_friche_status"].astype(str)) == ["boundary", "near", "outside"]
