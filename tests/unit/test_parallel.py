"""Large batches are classified in several threads and written by chunks: same answers, same bytes.

The SYNTHETIC squares of tests/unit/synthetic.py (QPV perimeters installed, so
distances and nearest-QPV searches run) and the embedded commune outlines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cq_geo
from cq_geo import territory as territory_module
from cq_geo.bulk import fastcsv
from cq_geo.bulk.run import batch_file

from . import synthetic as s


def test_thread_count(monkeypatch):
    monkeypatch.delenv("CQ_GEO_THREADS", raising=False)
    small = territory_module.PARALLEL_MIN - 1
    assert territory_module._thread_count(small) == 1
    monkeypatch.setattr(territory_module.os, "cpu_count", lambda: 8)
    assert territory_module._thread_count(10 * territory_module.PARALLEL_MIN) == 4
    assert territory_module._thread_count(territory_module.PARALLEL_MIN) == 2  # half PARALLEL_MIN each at least
    monkeypatch.setenv("CQ_GEO_THREADS", "1")
    assert territory_module._thread_count(10 * territory_module.PARALLEL_MIN) == 1
    monkeypatch.setenv("CQ_GEO_THREADS", "trois")  # not a number: ignored
    assert territory_module._thread_count(10 * territory_module.PARALLEL_MIN) == 4


def _points(bounds, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(bounds[0] - 300, bounds[2] + 300, n)
    y = rng.uniform(bounds[1] - 300, bounds[3] + 300, n)
    x[:50] = np.nan  # invalid rows in the first chunk
    x[-50:], y[-50:] = y[-50:].copy(), x[-50:].copy()  # swapped in the last one
    return x, y


@pytest.mark.parametrize("which", ["synthetic", "embedded"])
def test_threads_give_the_serial_answers(monkeypatch, which):
    terr = s.territory() if which == "synthetic" else cq_geo.load_territory()
    bounds = terr.grid.minx, terr.grid.miny, terr.grid.minx + 160 * terr.grid.dx, terr.grid.miny + 160 * terr.grid.dy
    n = territory_module.PARALLEL_MIN + 12_345
    x, y = _points(bounds, n, seed=5)
    monkeypatch.setenv("CQ_GEO_THREADS", "3")
    assert territory_module._thread_count(n) == 2  # n // (PARALLEL_MIN // 2) caps it
    threaded = terr.lookup_many(x=x, y=y)
    monkeypatch.setenv("CQ_GEO_THREADS", "1")
    serial = terr.lookup_many(x=x, y=y)
    assert threaded.equals(serial)  # values and dtypes (assert_frame_equal takes 20 s on these categoricals)
    for name in threaded.columns:
        if isinstance(threaded[name].dtype, pd.CategoricalDtype):
            assert list(threaded[name].cat.categories) == list(serial[name].cat.categories), name
    assert threaded["cq_valid"].sum() < n and (threaded["cq_commune"] != "").any()
    if which == "synthetic":
        assert threaded["cq_qpv_distance_m"].notna().any() and (threaded["cq_qpv_status"] == "boundary").any()
    # a few of them one by one agree too
    for i in np.linspace(100, n - 100, 7).astype(int).tolist():
        one = terr.lookup(x=float(x[i]), y=float(y[i]))
        assert threaded["cq_commune_insee"].iloc[i] == (one.commune["insee"] if one.commune else "")


def test_chunked_copy_writes_the_same_bytes(tmp_path, monkeypatch):
    terr = cq_geo.load_territory()
    rng = np.random.default_rng(3)
    lines = ["nom;lon;lat;note"]
    for i in range(300):
        lon, lat = rng.uniform(3.2, 3.6), rng.uniform(50.2, 50.5)
        kind = i % 7
        if kind == 0:
            lines.append(f"=ligne {i};{lon:.6f};{lat:.6f};x".replace(".", ","))
        elif kind == 1:
            lines.append("")
        elif kind == 2:
            lines.append(f"court {i};1")
        else:
            lines.append(f"site {i};{lon:.6f};{lat:.6f};-{i}".replace(".", ","))
    src = tmp_path / "lignes.csv"
    src.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    whole = tmp_path / "entier.csv"
    batch_file(src, whole, lon_col="lon", lat_col="lat", territory=terr, write_summary=False)
    monkeypatch.setattr(fastcsv, "_WRITE_ROWS", 7)
    monkeypatch.setattr(fastcsv, "_WRITE_ITEMS", 5)
    chunked = tmp_path / "morceaux.csv"
    batch_file(src, chunked, lon_col="lon", lat_col="lat", territory=terr, write_summary=False)
    assert chunked.read_bytes() == whole.read_bytes()
    assert whole.read_bytes().count(b"\r\n") == 301


def test_large_file_warms_up_the_territory_while_reading(tmp_path, monkeypatch):
    import cq_geo.bulk.run  # noqa: F401

    batch_module = __import__("sys").modules["cq_geo.bulk.run"]
    monkeypatch.setattr(batch_module, "_LARGE_FILE_BYTES", 0)
    src = tmp_path / "petit.csv"
    src.write_text("id;lon;lat\n1;3,3957;50,329\n", encoding="utf-8")
    res = batch_file(src, tmp_path / "sortie.csv", lon_col="lon", lat_col="lat", write_summary=False)  # territory loaded in the thread
    assert res.summary.total == 1 and res.summary.counts["to_check"] + res.summary.counts["ok"] == 1
    terr = batch_module._ready_territory(None, None, True)
    assert all(terr.grid.key in index._covers for index in terr._indexes())


def test_fresh_territories_in_threads_do_not_crash(monkeypatch):
    """The first large batch of a fresh territory builds its structures while threads start:
    before the covers were locked, this crashed the interpreter about one run in ten."""
    monkeypatch.setenv("CQ_GEO_THREADS", "2")
    n = territory_module.PARALLEL_MIN
    for seed in range(6):
        terr = s.territory()
        b = terr.grid
        x, y = _points((b.minx, b.miny, b.minx + 160 * b.dx, b.miny + 160 * b.dy), n, seed)
        df = terr.lookup_many(x=x, y=y)
        assert len(df) == n


def test_summary_files_appear_only_with_the_output(tmp_path, monkeypatch):
    """The summary files are written beside the output while it is written, under temporary
    names: a failed output leaves neither them nor any partial file."""
    import cq_geo.bulk.run  # noqa: F401

    batch_module = __import__("sys").modules["cq_geo.bulk.run"]
    src = tmp_path / "entree.csv"
    src.write_text("id;lon;lat\n1;3,3957;50,329\n2;2,35;48,85\n", encoding="utf-8")

    def broken(*args, **kwargs):
        raise OSError("disque plein")

    monkeypatch.setattr(batch_module, "_write_output", broken)
    from cq_geo.bulk.files import BatchFileError

    with pytest.raises(BatchFileError, match="disque plein"):
        batch_file(src, tmp_path / "sortie.csv", lon_col="lon", lat_col="lat")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entree.csv"]
    monkeypatch.undo()
    res = batch_file(src, tmp_path / "sortie.csv", lon_col="lon", lat_col="lat")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entree.csv", "sortie.csv", "sortie.csv.resume.html", "sortie.csv.resume.xlsx"]
    assert res.summary_files == [tmp_path / "sortie.csv.resume.xlsx", tmp_path / "sortie.csv.resume.html"]
    assert res.summary.input_rows == 2 and "Résumé du traitement par lot — entree.csv" in (tmp_path / "sortie.csv.resume.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_write_progress_reaches_every_row(tmp_path, monkeypatch, suffix):
    from cq_geo.bulk import xlsx

    monkeypatch.setattr(fastcsv, "_WRITE_ROWS", 4)
    monkeypatch.setattr(xlsx, "CHUNK_ROWS", 4)
    src = tmp_path / "entree.csv"
    src.write_text("id;lon;lat\n" + "".join(f"{i};3,39;50,33\n" for i in range(10)), encoding="utf-8")
    calls = []
    batch_file(src, tmp_path / f"sortie{suffix}", lon_col="lon", lat_col="lat", write_summary=False,
               write_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 10), (8, 10), (10, 10)]
