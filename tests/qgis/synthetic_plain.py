"""A SYNTHETIC QPV file in the ANCT schema, built with numpy and the standard library only.

For the tiers that run without shapely/geopandas (Debian's system Python, the real
QGIS desktop). Nothing here is an official perimeter: every polygon is a made-up
240 m square placed inside the *embedded baseline* outline of one of the zone's
communes, every name starts with « Synthétique » (as tests/unit/synthetic_qpv.py).
The codes are the territory's QPV codes, so the file attaches to its zones.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

HALF = 120.0
STEP = 600.0


def _rings_l93(geometry: dict) -> list[np.ndarray]:
    from cq_geo.geo.crs import lonlat_to_l93

    polys = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    out = []
    for poly in polys:
        for ring in poly:
            a = np.asarray(ring, dtype=float)
            x, y = lonlat_to_l93(a[:, 0], a[:, 1])
            out.append(np.column_stack([x, y]))
    return out


def _inside(rings: list[np.ndarray], x: float, y: float) -> bool:
    """Even-odd ray casting over every ring (holes included)."""
    inside = False
    for r in rings:
        x0, y0, x1, y1 = r[:-1, 0], r[:-1, 1], r[1:, 0], r[1:, 1]
        cross = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / np.where(y1 == y0, 1e-12, y1 - y0) + x0)
        inside ^= bool(np.count_nonzero(cross) % 2)
    return inside


class Layout:
    """Free 600 m slots inside each baseline commune (all corners 300 m inside), nearest the middle first."""

    def __init__(self):
        from cq_geo.paths import baseline_communes_file

        data = json.loads(Path(baseline_communes_file()).read_text(encoding="utf-8"))
        self.rings = {f["properties"]["insee"]: _rings_l93(f["geometry"]) for f in data["features"]}
        self.slots: dict[str, list] = {}

    def slot(self, insee: str) -> tuple[float, float]:
        if insee not in self.slots:
            rings = self.rings[insee]
            pts = np.vstack(rings)
            x0, y0 = pts.min(axis=0)
            x1, y1 = pts.max(axis=0)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            m = 300.0
            found = []
            for x in np.arange(x0 + m, x1 - m, STEP):
                for y in np.arange(y0 + m, y1 - m, STEP):
                    if all(_inside(rings, x + dx, y + dy) for dx in (-m, 0, m) for dy in (-m, 0, m)):
                        found.append((float(x), float(y)))
            found.sort(key=lambda p: (p[0] - cx) ** 2 + (p[1] - cy) ** 2)
            self.slots[insee] = found
        if not self.slots[insee]:
            raise RuntimeError(f"pas de place libre dans la commune {insee}")
        return self.slots[insee].pop(0)


def square_lonlat(x: float, y: float, half: float = HALF) -> list[list[float]]:
    from cq_geo.geo.crs import l93_to_lonlat

    xs = np.array([x - half, x + half, x + half, x - half, x - half])
    ys = np.array([y - half, y - half, y + half, y + half, y - half])
    lon, lat = l93_to_lonlat(xs, ys)
    return [[round(float(a), 8), round(float(b), 8)] for a, b in zip(lon, lat)]


def qpv_features(definition=None) -> tuple[list[dict], dict[str, tuple[float, float]]]:
    """GeoJSON features (WGS84) and, per QPV code, the Lambert-93 centre of its first square."""
    from cq_geo.model import load_definition

    d = definition or load_definition()
    layout = Layout()
    feats, centres = [], {}
    for z in d.zones_of("qpv"):
        polys = []
        for insee in z.communes:
            x, y = layout.slot(insee)
            centres.setdefault(z.code, (x, y))
            polys.append([square_lonlat(x, y)])
        names = [d.commune_name(c) for c in z.communes]
        props = {"code_qp": z.code, "lib_qp": f"Synthétique {z.name}", "insee_com": ";".join(z.communes),
                 "lib_com": ";".join(names), "insee_dep": "59", "siren_epci": d.siren}
        geometry = {"type": "MultiPolygon", "coordinates": polys} if len(polys) > 1 else \
            {"type": "Polygon", "coordinates": polys[0]}
        feats.append({"type": "Feature", "properties": props, "geometry": geometry})
    return feats, centres


def anct_zip(path: Path) -> tuple[Path, dict[str, tuple[float, float]]]:
    """A zip laid out like the ANCT resource (``GEOJSON/…_WGS84.geojson``); returns it and the centres."""
    feats, centres = qpv_features()
    body = json.dumps({"type": "FeatureCollection", "name": "QP2024_SYNTHETIQUE", "features": feats},
                      ensure_ascii=False).encode("utf-8")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson", body)
        zf.writestr("LISEZMOI.txt", "Fichier SYNTHÉTIQUE pour les tests de cq-geo : aucun périmètre officiel.\n")
    return path, centres
