"""Nothing lost (issue 12): one writer at a time, crash-safe commits and rollback, all-or-nothing updates,
no command writing over the store, damaged stores reported in French, stale temporary files cleaned.

Crash tests kill a real ``cq-geo`` process (SIGKILL, through the ``CQ_GEO_TEST_CRASH_AT`` hook) at each
step of a commit; concurrency tests run real processes (fork) against one store. Files are SYNTHETIC.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cq_geo.errors import DataError

from . import synthetic_qpv as syn
from .store_fixtures import *  # noqa: F401,F403
from .store_fixtures import lonlat_of, sha
from .test_store_download import COMMUNES_PATH, QPV_PATH, Server

pytest.importorskip("geopandas")
ROOT = Path(__file__).resolve().parents[2]
STEPS = ["before-journal", "after-journal", "after-rename-1", "after-rename-2"]
POCHES = ["POCHE-HAVELUY-CENTRE", "POCHE-HAVELUY-BAS-RIEZ", "POCHE-HAVELUY-CORON-DE-DENAIN",
          "POCHE-HAVELUY-GRANDS-CHAMPS", "POCHE-HAVELUY-PLAINE", "POCHE-ESCAUDAIN-SAINT-MARCK",
          "POCHE-MORTAGNE-CENTRE", "POCHE-ABSCON-REPUBLIQUE", "POCHE-HERIN-BLANCS-RIEUX", "POCHE-RAISMES-VICOIGNE"]


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """One synthetic square per poche (Lambert-93) and a poche file per zone."""
    d = tmp_path_factory.mktemp("poches")
    layout = syn.Layout()
    recs = syn.local_records(layout, "poche", {c: c for c in POCHES})
    files = {c: syn.write(syn.frame([r]), d / f"{c.lower()}.gpkg", "GPKG") for c, r in zip(POCHES, recs)}
    return {"records": dict(zip(POCHES, recs)), "files": files}


def _cli(args, tmp_path, **env):
    e = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "cq_geo.cli.main", *args], capture_output=True, text=True, env=e,
                          cwd=tmp_path, timeout=600)


def _leftovers(store) -> list[str]:
    keep = {store.path.name, store.previous_path.name, store.lock_path.name}
    return sorted(p.name for p in store.path.parent.iterdir() if p.name not in keep)


def _poche_sources(store) -> dict[str, str]:
    return {r["code"]: r["source"] for r in store.polygon_rows("poche")}


# -- crashes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("step", STEPS)
def test_import_killed_at_each_commit_step(store, drawn, tmp_path, step, capsys):
    from cq_geo.cli.main import main
    from cq_geo.data.gpkg_store import validate_store_file
    from cq_geo.data.imports import import_local

    import_local(store, drawn["files"][POCHES[0]], "poche")  # a previous state exists
    s0, s1 = sha(store.previous_path), sha(store.path)
    p = _cli(["data", "import", "local", str(drawn["files"][POCHES[1]]), "--tier", "poche",
              "--store", str(store.path)], tmp_path, CQ_GEO_TEST_CRASH_AT=f"change:{step}")
    assert p.returncode == -signal.SIGKILL, p.stderr
    # the next command (here: data status, a reader) sees the old or the new state, never a missing store
    assert main(["data", "status", "--json", "--store", str(store.path)]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["exists"] and not st["damaged"]
    validate_store_file(store.path)
    if step == "before-journal":  # not committed: old state, and the previous state is not overwritten
        assert sha(store.path) == s1 and sha(store.previous_path) == s0
        assert set(_poche_sources(store)) == {POCHES[0]}
    else:  # committed: the journal is replayed
        assert sha(store.previous_path) == s1
        assert set(_poche_sources(store)) == {POCHES[0], POCHES[1]}
    assert main(["data", "rollback", "--store", str(store.path)]) == 0
    assert sha(store.path) == (s0 if step == "before-journal" else s1)
    assert _leftovers(store) == []  # the writer cleaned what the killed process left


@pytest.mark.parametrize("step", STEPS)
def test_rollback_killed_at_each_commit_step(store, drawn, tmp_path, step, capsys):
    from cq_geo.cli.main import main
    from cq_geo.data.imports import import_local

    import_local(store, drawn["files"][POCHES[0]], "poche")
    s0, s1 = sha(store.previous_path), sha(store.path)
    p = _cli(["data", "rollback", "--store", str(store.path)], tmp_path, CQ_GEO_TEST_CRASH_AT=f"rollback:{step}")
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert main(["data", "status", "--store", str(store.path)]) == 0
    assert "ENDOMMAGÉ" not in capsys.readouterr().out
    expected = (s1, s0) if step == "before-journal" else (s0, s1)
    assert (sha(store.path), sha(store.previous_path)) == expected
    assert main(["data", "rollback", "--store", str(store.path)]) == 0
    assert (sha(store.path), sha(store.previous_path)) == expected[::-1]
    assert _leftovers(store) == []


@pytest.mark.parametrize("step", STEPS)
def test_update_killed_at_each_commit_step(store, tmp_path, step, capsys):
    from cq_geo.cli.main import main
    from cq_geo.data.gpkg_store import validate_store_file

    with Server() as server:
        server.routes[QPV_PATH] = (syn.anct_zip(syn.qpv_records(syn.Layout()), tmp_path / "q.zip").read_bytes(), "ok")
        server.routes[COMMUNES_PATH] = (syn.communes_geojson_bytes(), "ok")
        s1 = sha(store.path)
        p = _cli(["data", "update", "--store", str(store.path)], tmp_path, CQ_GEO_DATA_GOUV_URL=server.url,
                 CQ_GEO_GEO_API_URL=server.url, CQ_GEO_TEST_CRASH_AT=f"change:{step}")
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert main(["data", "status", "--store", str(store.path)]) == 0
    capsys.readouterr()
    validate_store_file(store.path)
    meta = store.metadata()
    if step == "before-journal":
        assert sha(store.path) == s1 and not store.previous_path.exists()
        assert meta["qpv"]["status"] == "missing" and meta["communes"]["status"] == "simplified"
    else:  # both layers, never one
        assert meta["qpv"]["status"] == "official" and meta["communes"]["status"] == "official"
        assert sha(store.previous_path) == s1
        assert main(["data", "rollback", "--store", str(store.path)]) == 0
        assert sha(store.path) == s1
    assert _leftovers(store) == [] or step == "before-journal"


# -- one writer at a time -------------------------------------------------------------------------------
def _import_zone(path, code, wkb, source, start, errors):
    from cq_geo.data.gpkg_store import Store
    from cq_geo.data.imports import import_records

    start.wait(30)
    try:
        import_records(Store(path), "local", [({"nom": code}, wkb)], tier="poche", source_name=source,
                       source_sha256=source.ljust(64, "0")[:64], accept_overlap=True)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        errors.put(f"{source}: {exc!r}")


def _watch(path, stop, problems, seen, lonlat):
    """Lookups during the imports: the store is always there, whole, with counts matching its metadata, and the
    point drawn in the first poche is always answered inside it."""
    from cq_geo.data.gpkg_store import validate_store_file
    from cq_geo.territory import load_store_territory

    n = 0
    while not stop.is_set():
        try:
            if not Path(path).is_file():
                problems.put("magasin absent")
            validate_store_file(path, integrity=False)
            zones = load_store_territory(path).lookup(lon=lonlat[0], lat=lonlat[1]).to_dict()["zones"]
            if not any(z["code"] == POCHES[0] and z["status"] == "inside" for z in zones):
                problems.put(f"réponse sans {POCHES[0]} : {zones}")
            n += 1
        except Exception as exc:  # noqa: BLE001
            problems.put(repr(exc))
    seen.put(n)


def test_twenty_pairs_of_simultaneous_imports_lose_nothing(store, drawn):
    """Was: both imports printed success and one change was gone (7 of 45 tries)."""
    import shapely

    from cq_geo.data.imports import import_local
    from cq_geo.territory import load_store_territory

    import_local(store, drawn["files"][POCHES[0]], "poche")
    ctx = multiprocessing.get_context("fork")
    errors, problems, seen = ctx.Queue(), ctx.Queue(), ctx.Queue()
    stop = ctx.Event()
    reader = ctx.Process(target=_watch, args=(str(store.path), stop, problems, seen,
                                              lonlat_of(drawn["records"][POCHES[0]][1])))
    reader.start()
    wkb = {c: shapely.to_wkb(g) for c, (_, g) in drawn["records"].items()}
    try:
        for i in range(20):
            a, b = POCHES[(2 * i) % len(POCHES)], POCHES[(2 * i + 1) % len(POCHES)]
            start = ctx.Event()
            procs = [ctx.Process(target=_import_zone, args=(str(store.path), code, wkb[code], f"pair{i:02d}-{k}",
                                                            start, errors))
                     for k, code in (("a", a), ("b", b))]
            for p in procs:
                p.start()
            start.set()
            for p in procs:
                p.join(120)
                assert p.exitcode == 0
            assert errors.empty(), errors.get()
            got = _poche_sources(store)
            assert got[a] == f"pair{i:02d}-a" and got[b] == f"pair{i:02d}-b", (i, got)  # no change lost
    finally:
        stop.set()
        reader.join(60)
    assert problems.empty(), problems.get()
    lookups = seen.get(timeout=10)
    print(f"{lookups} lookups during the 20 pairs")
    assert lookups > 0
    assert set(_poche_sources(store)) == set(POCHES)
    t = load_store_territory(store.path)
    lon, lat = lonlat_of(drawn["records"][POCHES[3]][1])
    assert any(z["code"] == POCHES[3] and z["status"] == "inside" for z in t.lookup(lon=lon, lat=lat).to_dict()["zones"])


def _hold_lock(path, held, release):
    from cq_geo.data.gpkg_store import Store

    with Store(path).writing():
        held.set()
        release.wait(30)


def test_a_second_writer_waits_with_a_message_or_stops_with_a_clear_one(store, drawn, monkeypatch, capsys):
    from cq_geo.data.imports import import_local

    ctx = multiprocessing.get_context("fork")
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(store.path), held, release))
    holder.start()
    try:
        assert held.wait(30)
        before = sha(store.path)
        monkeypatch.setenv("CQ_GEO_LOCK_TIMEOUT", "0.5")
        with pytest.raises(DataError, match="toujours en cours de modification par une autre commande"):
            import_local(store, drawn["files"][POCHES[1]], "poche")
        assert "attente de la fin" in capsys.readouterr().err
        assert sha(store.path) == before
        monkeypatch.setenv("CQ_GEO_LOCK_TIMEOUT", "60")
        ctx.Process(target=lambda: (time.sleep(1.0), release.set())).start()
        rep = import_local(store, drawn["files"][POCHES[1]], "poche")  # waits, then goes through
        assert rep.changed and "attente de la fin" in capsys.readouterr().err
    finally:
        release.set()
        holder.join(30)


# -- all or nothing, nothing written over the store -------------------------------------------------------
def test_update_of_two_layers_is_all_or_nothing(store, tmp_path, capsys):
    """Was: ``data update`` installed the communes, then failed on the QPV file with exit 2."""
    import shapely.affinity

    from cq_geo.cli.main import main

    shifted = [(p, shapely.affinity.translate(g, 35000)) for p, g in syn.qpv_records(syn.Layout())]
    with Server() as server:
        server.routes[QPV_PATH] = (syn.anct_zip(shifted, tmp_path / "decale.zip").read_bytes(), "ok")
        server.routes[COMMUNES_PATH] = (syn.communes_geojson_bytes(), "ok")
        before = sha(store.path)
        env = {"CQ_GEO_DATA_GOUV_URL": server.url, "CQ_GEO_GEO_API_URL": server.url}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            assert main(["data", "update", "--store", str(store.path)]) == 2
        finally:
            for k, v in old.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert "ne touchent pas les communes" in capsys.readouterr().err
    assert sha(store.path) == before and not store.previous_path.exists()
    assert store.metadata()["communes"]["status"] == "simplified"


def test_batch_and_map_cannot_write_over_the_store(store, tmp_path, monkeypatch, capsys):
    """Was: ``cq-geo batch IN -o store.gpkg`` overwrote the store (exit 0), after which even rollback refused."""
    from cq_geo.cli.main import main
    from cq_geo.data.store import is_store_path, protected_paths

    src = tmp_path / "points.csv"
    src.write_text("id;lon;lat\n1;3.3957;50.3290\n", encoding="utf-8")
    before = sha(store.path)
    assert main(["batch", str(src), "-o", str(store.path), "--lon-col", "lon", "--lat-col", "lat",
                 "--store", str(store.path)]) == 2
    assert "est un magasin de données cq-geo" in capsys.readouterr().err
    monkeypatch.setenv("CQ_GEO_STORE", str(store.path))
    assert main(["batch", str(src), "-o", str(store.path), "--lon-col", "lon", "--lat-col", "lat"]) == 2
    assert main(["batch", str(src), "-o", str(store.previous_path), "--lon-col", "lon", "--lat-col", "lat"]) == 2
    assert main(["map", "-o", str(store.path), "--no-tiles"]) == 2  # nor the map
    copy = tmp_path / "copie.gpkg"
    shutil.copy2(store.path, copy)  # any cq-geo store, wherever it is
    assert is_store_path(copy) and is_store_path(store.lock_path) and store.journal_path in protected_paths()
    assert not is_store_path(tmp_path / "sortie.gpkg") and not is_store_path(src)
    assert sha(store.path) == before


def test_rollback_works_whatever_the_current_file_holds(store, drawn, capsys):
    from cq_geo.cli.main import main
    from cq_geo.data.imports import import_local

    import_local(store, drawn["files"][POCHES[0]], "poche")
    good = sha(store.previous_path)
    store.path.write_text("id;cq_commune\n1;Denain\n", encoding="utf-8")  # what a batch output used to leave
    assert main(["data", "status", "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert "ENDOMMAGÉ" in out and "cq-geo data rollback" in out
    assert main(["data", "rollback", "--store", str(store.path)]) == 0
    assert sha(store.path) == good
    assert main(["data", "status", "--store", str(store.path)]) == 0


# -- damaged stores ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage, message", [
    ("UPDATE communes SET insee = NULL WHERE fid = 3", "table « communes », ligne 3 : code vide (colonne insee)"),
    ("UPDATE qpv SET shared = 'oui' WHERE fid = 2",
     "table « qpv », ligne 2 : valeur non numérique 'oui' dans la colonne shared"),
    ("UPDATE cq_layers SET feature_count = 'beaucoup' WHERE layer = 'qpv'",
     "table « cq_layers », ligne 2 (qpv) : feature_count n'est pas un nombre entier ('beaucoup')"),
])
def test_damaged_store_gives_a_french_message_naming_table_and_row(store, synth_files, damage, message, capsys):
    """Was: exit 1 and a traceback."""
    from cq_geo.cli.main import main
    from cq_geo.data.imports import import_official

    import_official(store, "qpv", synth_files["gpkg"])
    from cq_geo.data.polygons import register_sql_functions

    con = sqlite3.connect(store.path)  # by hand, as with a SQLite browser that knows the GeoPackage functions
    register_sql_functions(con)
    con.execute(damage)
    con.commit()
    con.close()
    for args in (["lookup", "--lon", "3.3957", "--lat", "50.3290"], ["check"]):
        assert main([*args, "--store", str(store.path)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and "erreur interne" not in err
    assert main(["data", "status", "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert "ENDOMMAGÉ" in out and message in out and "cq-geo data rollback" in out
    assert main(["data", "rollback", "--store", str(store.path)]) == 0
    assert main(["lookup", "--lon", "3.3957", "--lat", "50.3290", "--store", str(store.path)]) == 0


def test_cq_geo_store_naming_a_file_to_create(tmp_path, monkeypatch, drawn, capsys):
    """Was: lookup, check and map stopped with exit 2 while data status said the embedded data are used."""
    from cq_geo.cli.main import main

    target = tmp_path / "nouveau" / "cq-geo.gpkg"
    monkeypatch.setenv("CQ_GEO_STORE", str(target))
    assert main(["data", "status"]) == 0
    assert "les réponses utilisent les données embarquées" in capsys.readouterr().out
    assert main(["lookup", "--lon", "3.3957", "--lat", "50.3290", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"]["communes"]["status"] == "simplified"
    assert main(["check"]) in (0, 1)
    assert "introuvable" not in capsys.readouterr().err
    assert main(["map", "-o", str(tmp_path / "carte.html"), "--no-tiles"]) == 0
    capsys.readouterr()
    assert not target.exists()
    assert main(["data", "import", "local", str(drawn["files"][POCHES[0]]), "--tier", "poche"]) == 0
    assert target.is_file()  # the first import creates it where CQ_GEO_STORE says
    capsys.readouterr()
    lon, lat = lonlat_of(drawn["records"][POCHES[0]][1])
    assert main(["lookup", "--lon", f"{lon:.7f}", "--lat", f"{lat:.7f}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"]["poche"]["status"] == "provisional"


def test_stale_temporary_files_are_cleaned_at_the_next_run(store, drawn):
    from cq_geo.data.imports import import_local

    d = store.path.parent
    name = store.path.name
    stale = [d / f".{name}.1a2b3c4d.tmp.gpkg", d / f".{name}.1a2b3c4d.tmp.gpkg-journal",
             d / f"{name}.prev.5e6f7a8b.tmp.gpkg", d / f"{store.journal_path.name}.9c0d1e2f.tmp"]
    for p in stale:
        p.write_bytes(b"x" * 100)
    old_dl = d / ".cq-geo-download-abc123"
    old_dl.mkdir()
    (old_dl / "download-123.zip").write_bytes(b"PK")
    os.utime(old_dl, (time.time() - 7200, time.time() - 7200))
    new_dl = d / f".{name}.download-0f0f0f0f"
    new_dl.mkdir()
    recent_other = d / ".cq-geo-download-recent"  # may belong to a run of an older version at work now
    recent_other.mkdir()
    import_local(store, drawn["files"][POCHES[0]], "poche")
    assert not any(p.exists() for p in stale + [old_dl, new_dl])
    assert recent_other.exists()


def test_a_lock_that_cannot_be_taken_gives_a_french_message(store, drawn):
    """E.g. a read-only folder; here the lock path is taken by a folder (works as root too)."""
    from cq_geo.data.imports import import_local
    from cq_geo.territory import load_store_territory

    before = sha(store.path)
    store.lock_path.mkdir()
    try:
        with pytest.raises(DataError, match="impossible de poser le verrou"):
            import_local(store, drawn["files"][POCHES[0]], "poche")
        assert load_store_territory(store.path).layers["communes"].feature_count == 47  # reading still works
        assert sha(store.path) == before
    finally:
        store.lock_path.rmdir()
