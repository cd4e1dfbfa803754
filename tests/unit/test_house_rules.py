"""House rules: the library stays QGIS-free and light to import."""

import ast
import subprocess
import sys

from tests.conftest import ROOT

FORBIDDEN = {"qgis", "PyQt5", "PyQt6", "sip", "processing"}


def test_cq_geo_never_imports_qgis_or_qt():
    offenders = []
    for path in (ROOT / "cq_geo").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_import_cq_geo_is_light():
    code = (
        "import sys, cq_geo, cq_geo.cli; "
        "heavy = {'qgis', 'PyQt5', 'geopandas', 'folium', 'shapely', 'pandas', 'pyproj', 'fiona', 'numpy'}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_help_is_light():
    code = (
        "import sys; from cq_geo.cli import build_parser; build_parser(); "
        "heavy = {'qgis', 'PyQt5', 'geopandas', 'folium', 'shapely', 'pandas', 'pyproj', 'fiona'}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
