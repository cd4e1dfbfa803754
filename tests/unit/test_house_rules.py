"""House rules: the library stays QGIS-free and light to import."""

import ast
import subprocess
import sys

import pytest

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


HEAVY = "{'qgis', 'PyQt5', 'geopandas', 'folium', 'shapely', 'pandas', 'pyproj', 'fiona', 'numpy'}"


@pytest.mark.parametrize(
    "statement",
    ["import cq_geo, cq_geo.cli.main", "from cq_geo.cli.main import build_parser; build_parser()"],
    ids=["import", "cli-help"],
)
def test_start_is_light(statement):
    """``import cq_geo`` and building the CLI (``cq-geo --help``) import nothing heavy."""
    code = f"import sys; {statement}; print(sorted({{m.split('.')[0] for m in sys.modules}} & {HEAVY}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
