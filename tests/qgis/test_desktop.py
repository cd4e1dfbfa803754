"""The plugin in the real QGIS desktop (``xvfb-run qgis --code``) and in ``qgis_process.bin``.

QGIS runs in a fresh profile and HOME, with Debian's Python packages only (no
PYTHONPATH, no virtualenv): the QGIS planners have. The zip is the one
``scripts/build_plugin.py`` builds, installed with QGIS's own plugin installer.
A planner's session is played by :mod:`tests.qgis.desktop_driver`; it records
what QGIS would show (Python error dialog, critical log entries, message bar).

The QPV file imported is SYNTHETIC (:mod:`tests.qgis.synthetic_plain`).
Skipped with the reason when ``qgis``, ``xvfb-run`` or ``qgis_process.bin`` is absent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.qgis.desktop import install_profile, missing_tools, qgis_process, run_desktop

pytestmark = [pytest.mark.desktop, pytest.mark.skipif(bool(missing_tools()), reason=missing_tools() or "ok")]

PACKAGE = "cq_geo_qgis"


@pytest.fixture(scope="module")
def plugin_zip(tmp_path_factory) -> Path:
    """The zip as users get it (vendored extras included when they can be gathered here)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_plugin
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    out = tmp_path_factory.mktemp("dist") / f"{PACKAGE}.zip"
    try:
        return build_plugin.build(out)
    except (SystemExit, Exception):  # noqa: BLE001 - no registry here: the plugin without its extras
        return build_plugin.build(out, with_vendor=False)


@pytest.fixture(scope="module")
def synthetic_qpv(tmp_path_factory):
    from cq_geo.geo.crs import l93_to_lonlat
    from tests.qgis.synthetic_plain import anct_zip

    path, centres = anct_zip(tmp_path_factory.mktemp("qpv") / "qpv-synthetique.zip")
    return path, [float(v) for v in l93_to_lonlat(*centres["QN05950M"])]


def _problems(report: dict) -> list:
    failed = [s for s in report.get("steps", []) if not s.get("ok")]
    return failed + report.get("python_errors", []) + report.get("modal_dialogs", [])


def test_a_planners_session_in_qgis_desktop(plugin_zip, synthetic_qpv, tmp_path):
    """Install, open the panel, click at Denain, locator « cq denain » and « mairies », import, click, layers, quit."""
    import cq_geo.data.store

    qpv_file, qpv_point = synthetic_qpv
    # the import from QGIS needs the library's store.import_records (issue 12); without it, the rest runs
    can_import = hasattr(cq_geo.data.store, "import_records")
    steps = ["install", "user_layer", "open_panel", "click_denain", "locator_cq_denain", "locator_mairies"] + (
        ["import_synthetic_qpv", "click_qpv"] if can_import else []) + ["load_layers", "quit"]
    run = run_desktop({"zip": str(plugin_zip), "steps": steps, "qpv_file": str(qpv_file), "qpv_point": qpv_point},
                      tmp_path)
    report = run.report
    assert run.returncode == 0, (run.returncode, run.stderr[-3000:], json.dumps(report, ensure_ascii=False)[-3000:])
    assert [s["step"] for s in report["steps"]] == steps
    assert _problems(report) == []  # no failed step, no Python error dialog, no other dialog left open
    assert report["critical_log"] == []
    assert "signal" not in run.stderr
    # the panel answered at Denain, with its team
    first = report["answers"][0]["answer"]
    assert first["commune"]["name"] == "Denain" and first["team"]["name"] == "Équipe Sud"
    assert "Denain" in report["answers"][0]["text"]
    # the locator found Denain with the cq prefix, and choosing it answered in the panel
    assert "Denain" in report["locator"]["cq denain"]
    assert report["after_locator_denain"].startswith("Denain")
    # after the import, the status line changed and a click in the synthetic QPV answers that QPV
    if can_import:
        _after_import(report)
    # the territory's group is below the user's own layer
    assert report["layer_tree"] == ["Mes sites", "Contrat Quartiers 2030"]
    # every message of the plugin is French and names plugin actions, never command-line options
    texts = [b["text"] for b in report["bar"]] + [a["text"] for a in report["answers"]]
    assert not [t for t in texts if "cq-geo " in t or " --" in t or "Error" in t]


def _after_import(report):
    assert "QPV <b style='color:#c0392b'>absente" not in report["panel_status_after_import"]
    qpv = report["answers"][1]["answer"]
    assert qpv["primary"] == {"tier": "qpv", "code": "QN05950M"}
    assert "QN05950M" in report["answers"][1]["text"]


def test_another_intercommunality_in_qgis_desktop(plugin_zip, tmp_path):
    """Issue 16: Valenciennes Métropole's folder (cq-geo territory init --epci 245901160) chosen in the panel of the
    real QGIS desktop: its layers, a click in Valenciennes, its name in the panel, no CAPH word. The screenshot
    is docs/img/qgis-territoire-valenciennes.png (CQ_GEO_SHOTS=folder keeps it)."""
    import os

    from tests.qgis.territories import VALENCIENNES, init_territory

    folder = tmp_path / "valenciennes"
    why = init_territory(folder)
    if why:
        pytest.skip(why)
    shots = Path(os.environ.get("CQ_GEO_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    steps = ["install", "open_panel", "territory", "load_layers", "click_territory", "quit"]
    run = run_desktop({"zip": str(plugin_zip), "steps": steps, "territory": str(folder),
                       "territory_point": list(VALENCIENNES), "shots": str(shots)}, tmp_path)
    report = run.report
    assert run.returncode == 0, (run.returncode, run.stderr[-3000:], json.dumps(report, ensure_ascii=False)[-3000:])
    assert [s["step"] for s in report["steps"]] == steps
    assert _problems(report) == [] and report["critical_log"] == []
    assert "Valenciennes Métropole" in report["territory_label"]
    answer = report["answers"][-1]
    assert answer["answer"]["commune"]["name"] == "Valenciennes"
    for text in (answer["text"], report["panel_status_territory"], report["territory_label"]):
        assert "CAPH" not in text and "Porte du Hainaut" not in text
    assert report["layer_tree"] == ["Contrat Quartiers 2030"]
    assert (shots / "territoire.png").is_file()
    texts = [b["text"] for b in report["bar"]] + [a["text"] for a in report["answers"]]
    assert any("Territoire : Valenciennes Métropole" in t for t in texts)
    assert not [t for t in texts if "cq-geo " in t or " --" in t or "Error" in t or "CAPH" in t]


def test_an_unreadable_store_keeps_qgis_running_and_the_panel_explains(plugin_zip, tmp_path):
    store = tmp_path / "magasin-abime.gpkg"
    store.write_bytes(b"SQLite format 3\x00" + b"\x13" * 4096)  # a damaged file where the store should be
    run = run_desktop({"zip": str(plugin_zip), "steps": ["install", "open_panel", "click_denain",
                                                         "locator_cq_denain", "locator_mairies", "quit"]},
                      tmp_path, env_extra={"CQ_GEO_STORE": str(store)})
    report = run.report
    assert run.returncode == 0, (run.returncode, run.stderr[-3000:])
    assert report["python_errors"] == [] and report["modal_dialogs"] == []
    assert all(s["ok"] for s in report["steps"]), report["steps"]
    text = report["panel_text_open"]
    assert "ne peut pas être lu" in text and "Que faire" in text and str(store) in text
    critical = [b for b in report["bar"] if b["level"] == 2]
    assert len(critical) == 1 and "magasin de données" in critical[0]["text"]  # one message, not one per click
    assert "Territoire non chargé" in report["panel_status"]


@pytest.fixture(scope="module")
def process_profile(plugin_zip, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("qgis_process")
    install_profile(plugin_zip, work)
    code, out, err = qgis_process(["plugins", "enable", PACKAGE], work, timeout=180)
    assert code == 0, err[-2000:]
    return work


def _algorithms(work: Path) -> set[str]:
    code, out, err = qgis_process(["list"], work, timeout=180)
    assert code == 0, err[-2000:]
    return {line.split()[0] for line in out.splitlines() if line.strip().startswith("cq_geo:")}


def test_each_algorithm_runs_in_qgis_process(process_profile, synthetic_qpv, tmp_path):
    work = process_profile
    offered = _algorithms(work)
    assert {"cq_geo:check_territory", "cq_geo:load_layers", "cq_geo:batch_points"} <= offered
    points = tmp_path / "points.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nom": "denain"}, "geometry": {"type": "Point", "coordinates": [3.3957, 50.329]}},
        {"type": "Feature", "properties": {"nom": "paris"}, "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}},
    ]}), encoding="utf-8")
    runs = {
        "cq_geo:check_territory": [],
        "cq_geo:load_layers": [f"--OUTPUT={tmp_path / 'territoire.gpkg'}"],
        "cq_geo:batch_points": [f"--INPUT={points}", f"--OUTPUT={tmp_path / 'points_cq.gpkg'}"],
        "cq_geo:import_official": [f"--INPUT={synthetic_qpv[0]}", "--KIND=0", f"--STORE={tmp_path / 'magasin.gpkg'}"],
        "cq_geo:export_map": [f"--OUTPUT={tmp_path / 'carte.html'}"],
    }
    assert offered <= set(runs) | {"cq_geo:batch_addresses"}
    for alg in sorted(offered - {"cq_geo:batch_addresses"}):
        code, out, err = qgis_process(["run", alg] + runs[alg], work, timeout=300)
        assert code == 0, (alg, out[-2000:], err[-2000:])
        assert "Results" in out, (alg, out[-1000:])
    if "cq_geo:import_official" in offered:
        assert (tmp_path / "magasin.gpkg").is_file()
