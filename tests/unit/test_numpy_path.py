"""The path "territory on disk -> answer for a point" needs numpy and the standard library only.

Run in Debian's system Python (/usr/bin/python3, no virtualenv, empty environment),
as inside QGIS: the embedded outlines, and a data store with SYNTHETIC QPV
perimeters imported (tests/unit/synthetic_qpv.py). Also the numpy array API and
the index kept by lookup_many (issue 13: results assigned to a filtered DataFrame).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

import cq_geo
from cq_geo.geo.engine import STATUS_NAMES

from .store_fixtures import *  # noqa: F401,F403
from .store_fixtures import lonlat_of

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
HEAVY = ("shapely", "pandas", "pyproj", "pyogrio", "osgeo", "geopandas")

SCRIPT = """
import json, sys
import cq_geo
from cq_geo.geocode.base import Candidate, GeocodeResult

def street(lon, lat):  # a street-level answer at (lon, lat), known positions up to 1.4 km west and east
    support = tuple((lon + d, lat) for d in (-0.02, -0.01, 0.01, 0.02))
    return GeocodeResult("rue", "approximate", [Candidate(lon, lat, "rue", 0.7, "street", support=support)], "voie")

t = cq_geo.load_territory()
r = t.lookup(lon=float(sys.argv[1]), lat=float(sys.argv[2]))
a = t.lookup_arrays(lon=[float(sys.argv[1])] * 3000, lat=[float(sys.argv[2])] * 3000)
import os, tempfile
from cq_geo.maps.fiche import write_fiche  # the eligibility sheet (a button of the QGIS panel) too
sheet = write_fiche(os.path.join(tempfile.mkdtemp(), "fiche.html"), t, r.to_dict()).read_text(encoding="utf-8")
from cq_geo.geocode.lookup import street_crossings  # « la voie traverse le périmètre » (the QGIS locator) too
print(json.dumps({
    "crossings": street_crossings(t, [street(float(sys.argv[1]), float(sys.argv[2]))])[0],
    "sheet": "<svg" in sheet and r.to_dict()["commune"]["name"] in sheet,
    "heavy": [m for m in %r if m in sys.modules],
    "answer": r.to_dict(),
    "arrays": {"commune": t.labels("commune")[a["commune"][0]], "qpv": t.labels("qpv")[a["qpv"][0]],
               "qpv_status": int(a["qpv_status"][0]), "same": bool((a["qpv"] == a["qpv"][0]).all())},
    "file": cq_geo.__file__,
}))
""" % (HEAVY,)


def _street(lon, lat):
    namespace: dict = {}
    exec(SCRIPT[SCRIPT.index("from cq_geo.geocode.base"):SCRIPT.index("t = cq_geo.load_territory()")], namespace)
    return namespace["street"](lon, lat)


def _system_python(lon, lat, store=None, user_store=False) -> dict:
    if not Path(SYSTEM_PYTHON).is_file():
        pytest.skip("pas de Python système /usr/bin/python3")
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import numpy"], env={"PATH": "/usr/bin:/bin"}, capture_output=True)
    if probe.returncode:
        pytest.skip("numpy absent du Python système")
    env = {"PATH": "/usr/bin:/bin", "HOME": tempfile.mkdtemp(prefix="cq-geo-home-"), "PYTHONPATH": str(ROOT)}
    if store is not None and user_store:  # the user's store, found without platformdirs
        target = Path(env["HOME"]) / ".local" / "share" / "cq-geo" / "cq-geo.gpkg"
        target.parent.mkdir(parents=True)
        target.write_bytes(Path(store).read_bytes())
    elif store is not None:
        env["CQ_GEO_STORE"] = str(store)
    done = subprocess.run([SYSTEM_PYTHON, "-c", SCRIPT, f"{lon:.7f}", f"{lat:.7f}"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert Path(out["file"]).resolve().parent == ROOT / "cq_geo"
    return out


def test_embedded_data_in_system_python():
    out = _system_python(3.3957, 50.3290)
    assert out["heavy"] == []
    assert out["answer"]["commune"]["name"] == "Denain" and out["answer"]["team"]["id"] == "sud"
    assert out["answer"] == json.loads(json.dumps(cq_geo.load_territory().lookup(lon=3.3957, lat=50.3290).to_dict()))
    assert out["arrays"]["commune"] == "59172" and out["arrays"]["same"]
    assert out["sheet"]


@pytest.mark.parametrize("where", ["environment", "user"])
def test_store_with_qpv_in_system_python(store, synth_files, capsys, where):
    from cq_geo.cli.main import main

    assert main(["data", "import", "qpv", str(synth_files["zip"]), "--store", str(store.path)]) == 0
    capsys.readouterr()
    recs = {p["code_qp"]: g for p, g in synth_files["records"]}
    lon, lat = lonlat_of(recs["QN05950M"])
    out = _system_python(lon, lat, store=store.path, user_store=where == "user")
    assert out["heavy"] == []
    answer = out["answer"]
    assert answer["primary"] == {"tier": "qpv", "code": "QN05950M"}
    assert "qpv-2024-synthetique.zip" in answer["layers"]["qpv"]["source"]  # the imported layer is read
    here = cq_geo.load_territory(store=store.path).lookup(lon=lon, lat=lat).to_dict()
    assert answer == json.loads(json.dumps(here))  # the same answer as with shapely & co. loaded
    assert out["arrays"]["qpv"] == "QN05950M" and STATUS_NAMES[out["arrays"]["qpv_status"]] == "inside"
    assert out["sheet"]
    from cq_geo.geocode.lookup import street_crossings

    crossed = street_crossings(cq_geo.load_territory(store=store.path), [_street(lon, lat)])[0]
    assert crossed and crossed[0][0] == "qpv"  # the street leaves the synthetic QPV square
    assert out["crossings"] == json.loads(json.dumps(crossed))  # the same answer without shapely & co.


def test_lookup_many_keeps_the_callers_index(baseline_territory):
    """Issue 13: ``sub["x"] = res["cq_commune_insee"]`` on a filtered DataFrame must align."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"lon": [2.35, 3.3957, 3.52, 3.40], "lat": [48.85, 50.3290, 50.36, 50.33]}, index=[7, 3, 9, 1])
    sub = df[df["lon"] > 3].copy()
    res = baseline_territory.lookup_many(lon=sub["lon"], lat=sub["lat"])
    assert list(res.index) == [3, 9, 1]
    sub["insee"] = res["cq_commune_insee"]
    one = [baseline_territory.lookup(lon=lo, lat=la).commune for lo, la in zip(sub["lon"], sub["lat"])]
    assert list(sub["insee"]) == [c["insee"] if c else "" for c in one]
    assert sub["insee"].notna().all()
    # plain sequences: a fresh RangeIndex as before
    assert list(baseline_territory.lookup_many(lon=[3.3957], lat=[50.329]).index) == [0]


def test_lookup_arrays_agree_with_lookup_many(baseline_territory):
    rng = np.random.default_rng(4)
    lon, lat = rng.uniform(3.2, 3.65, 5000), rng.uniform(50.2, 50.5, 5000)
    lon[:3] = np.nan
    a = baseline_territory.lookup_arrays(lon=lon, lat=lat)
    df = baseline_territory.lookup_many(lon=lon, lat=lat)
    t = baseline_territory
    assert list(t.labels("commune")[a["commune"]]) == list(df["cq_commune_insee"])
    assert list(t.labels("team")[a["commune"]]) == list(df["cq_team"])
    assert [STATUS_NAMES[s] if v else "" for s, v in zip(a["commune_status"], a["valid"])] == list(df["cq_commune_status"])
    assert ["; ".join(t.warning_texts(f)) for f in a["flags"]] == list(df["cq_warnings"])
    assert list(t.labels("primary_tier")[a["primary_tier"]]) == list(df["cq_primary_tier"])
    assert not a["valid"][:3].any() and a["valid"][3:].all()
    assert all(arr.dtype != object for arr in a.values())  # numbers only: no text, no pandas
    c = baseline_territory.lookup_arrays(lon=lon, lat=lat, codes=True)
    assert list(c["commune_insee"]) == list(df["cq_commune_insee"]) and list(c["team"]) == list(df["cq_team"])
    assert list(c["qpv_code"]) == list(df["cq_qpv_code"]) and list(c["primary_tier_name"]) == list(df["cq_primary_tier"])


def test_whole_commune_zones_from_the_commune_layer():
    """On the grid, whole-commune zones (former QVA) take the commune layer's statuses instead of a
    second computation: the answers are those of the tier's own index."""
    from cq_geo.geo.crs import l93_to_lonlat

    fast, slow = cq_geo.load_territory(), cq_geo.load_territory()
    assert (fast._whole_zones["qva"] >= 0).sum() == 11
    slow._whole_zones = {}
    for t in slow.tiers.values():
        if t.index is not None:
            t.index.in_grid[:] = True
    b = np.array([p.bounds for p in fast.communes.polygons])
    rng = np.random.default_rng(8)
    x = rng.uniform(b[:, 0].min() - 2000, b[:, 2].max() + 2000, 60_000)
    y = rng.uniform(b[:, 1].min() - 2000, b[:, 3].max() + 2000, 60_000)
    got, want = fast.lookup_arrays(x=x, y=y), slow.lookup_arrays(x=x, y=y)
    for key in want:
        assert np.array_equal(got[key], want[key], equal_nan=want[key].dtype.kind == "f"), key
    assert (got["qva_status"] == 2).any() and (got["qva_status"] == 3).any()  # boundary and inside seen
    lon, lat = l93_to_lonlat(x[:40], y[:40])
    for i in range(40):  # single answers (every edge, no grid) agree
        one = fast.lookup(lon=float(lon[i]), lat=float(lat[i]))
        qva = fast.labels("qva")[got["qva"][i]]
        assert (one.primary or {}).get("code", "") == qva or (one.primary or {}).get("tier") != "qva"
