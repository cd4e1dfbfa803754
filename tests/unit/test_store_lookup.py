"""Answers before and after ``cq-geo data import qpv``: status and provenance tell them apart.

The QPV file is SYNTHETIC (squares inside the baseline communes with the real codes).
"""

from __future__ import annotations

import json

import pytest

from .store_fixtures import *  # noqa: F401,F403
from .store_fixtures import lonlat_of, sha

pytest.importorskip("geopandas")


def _answer(capsys, main, lon, lat, store):
    assert main(["lookup", "--lon", f"{lon:.7f}", "--lat", f"{lat:.7f}", "--json", "--store", str(store.path)]) == 0
    return json.loads(capsys.readouterr().out)


def test_answer_before_and_after_import(store, synth_files, capsys):
    from cq_geo.cli.main import main

    recs = {p["code_qp"]: g for p, g in synth_files["records"]}
    lon, lat = lonlat_of(recs["QN05950M"])

    before = _answer(capsys, main, lon, lat, store)
    q_before = [z for z in before["zones"] if z["code"] == "QN05950M"]
    assert q_before and q_before[0]["status"] == "unknown" and q_before[0]["geometry_status"] == "missing"
    assert before["layers"]["qpv"]["status"] == "missing" and before["layers"]["qpv"]["sha256"] == ""
    assert before["primary"]["tier"] == "qva"  # Denain is a whole-commune former QVA
    assert any("QPV non installés" in w for w in before["warnings"])

    assert main(["data", "import", "qpv", str(synth_files["zip"]), "--store", str(store.path)]) == 0
    capsys.readouterr()
    after = _answer(capsys, main, lon, lat, store)
    q_after = [z for z in after["zones"] if z["code"] == "QN05950M"]
    # a file imported by hand is not called official (issue 12): provisional, « fichier importé »
    assert q_after[0]["status"] == "inside" and q_after[0]["geometry_status"] == "provisional"
    assert after["primary"] == {"tier": "qpv", "code": "QN05950M"}
    lay = after["layers"]["qpv"]
    assert lay["status"] == "provisional" and lay["sha256"] == sha(synth_files["zip"])
    assert lay["source"] == "fichier importé : qpv-2024-synthetique.zip" and lay["vintage"].startswith("QPV 2024")
    assert "fichier importé" in lay["vintage"] and lay["missing_zones"] == []
    assert not any("QPV non installés" in w for w in after["warnings"])
    assert before["layers"]["communes"] == after["layers"]["communes"]

    # the text answer names the installed source
    assert main(["lookup", "--lon", f"{lon:.7f}", "--lat", f"{lat:.7f}", "--store", str(store.path)]) == 0
    text = capsys.readouterr().out
    assert "qpv : provisoire — fichier importé : qpv-2024-synthetique.zip (QPV 2024" in text

    # rollback: the answer of before comes back
    assert main(["data", "rollback", "--store", str(store.path)]) == 0
    capsys.readouterr()
    assert _answer(capsys, main, lon, lat, store) == before


def test_shared_qpv_outside_the_territory(store, synth_files):
    """A point in the part of a shared QPV that lies outside the territory (synthetic square beyond the outline)."""
    from cq_geo.data.imports import import_official
    from cq_geo.territory import load_store_territory

    import_official(store, "qpv", synth_files["gpkg"])
    geom = {p["code_qp"]: g for p, g in synth_files["records"]}["QN05920M"]
    outside_square = geom.geoms[-1]
    lon, lat = lonlat_of(outside_square)
    r = load_store_territory(store.path).lookup(lon=lon, lat=lat).to_dict()
    assert r["territory"]["inside"] is False
    z = [z for z in r["zones"] if z["code"] == "QN05920M"]
    assert z and z[0]["status"] == "inside" and z[0]["other_communes"] == ["59014"]
    assert any("partagé" in w for w in r["warnings"])


def test_lookup_many_uses_the_store(store, synth_files):
    import numpy as np

    from cq_geo.data.imports import import_official
    from cq_geo.territory import load_store_territory

    import_official(store, "qpv", synth_files["geojson"])
    recs = [(p["code_qp"], g) for p, g in synth_files["records"] if p["insee_com"][:5] in
            {"59172", "59179", "59205", "59526"}]
    pts = np.array([lonlat_of(g) for _, g in recs])
    df = load_store_territory(store.path).lookup_many(lon=pts[:, 0], lat=pts[:, 1])
    assert list(df["cq_qpv_code"]) == [c for c, _ in recs]
    assert set(df["cq_qpv_status"]) == {"inside"}
