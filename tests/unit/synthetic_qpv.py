"""SYNTHETIC QPV, commune and local-zone files in the official schemas, for tests and benchmarks.

Nothing here is an official perimeter: every polygon is a made-up square placed
inside the territory's *embedded baseline* commune outlines (so lookups can be
tested), and every name starts with « Synthétique ». Codes are the real QPV
codes of the territory definition (so that the files attach to its zones), the
properties follow the ANCT schema (``code_qp``, ``lib_qp``, ``insee_com``…).

Placement: each commune gets slots on a 600 m grid inside its outline shrunk
by 300 m; each zone takes the next free slot of each of its communes, so no two
synthetic zones overlap. A QPV shared with a neighbouring EPCI also gets a
square outside the territory, 1 km beyond its outline.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import shapely
from shapely import box

from cq_geo.geo.crs import lonlat_to_l93
from cq_geo.geo.layers import load_baseline_communes
from cq_geo.model import load_definition

HALF = 120.0  # half side of a synthetic square (m)
STEP = 600.0


class Layout:
    """Slots inside the baseline communes, handed out in a fixed order."""

    def __init__(self, definition=None):
        self.definition = definition or load_definition()
        self.communes, _ = load_baseline_communes()
        self.outline = shapely.union_all(list(self.communes.values()))
        self._slots: dict[str, list] = {}

    def slot(self, insee: str):
        """Centre (x, y) of the next free slot in commune *insee*."""
        if insee not in self._slots:
            geom = self.communes[insee]
            inner = geom.buffer(-300)
            x0, y0, x1, y1 = inner.bounds
            xs, ys = np.meshgrid(np.arange(x0, x1, STEP), np.arange(y0, y1, STEP))
            pts = np.column_stack([xs.ravel(), ys.ravel()])
            ok = shapely.contains_xy(inner, pts[:, 0], pts[:, 1]) if not inner.is_empty else np.zeros(len(pts), bool)
            pts = pts[ok]
            c = geom.point_on_surface()
            order = np.argsort(np.hypot(pts[:, 0] - c.x, pts[:, 1] - c.y))
            self._slots[insee] = [tuple(p) for p in pts[order]]
        if not self._slots[insee]:
            raise RuntimeError(f"no free synthetic slot in {insee}")
        return self._slots[insee].pop(0)

    def square(self, insee: str, half: float = HALF):
        x, y = self.slot(insee)
        return box(x - half, y - half, x + half, y + half)

    def outside_square(self, near, half: float = HALF):
        """A square outside the territory, about 1 km beyond its outline, near geometry *near*."""
        ring = self.outline.buffer(1200).exterior
        p = ring.interpolate(ring.project(near.centroid))
        return box(p.x - half, p.y - half, p.x + half, p.y + half)


def qpv_records(layout: Layout | None = None, *, split: bool = False, invalid: str | None = None, others: int = 4):
    """Records ``(properties, geometry L93)`` in the ANCT 2024 schema for the territory's QPV codes.

    *split*: multi-commune QPV as one feature per commune (as some ANCT files do).
    *invalid*: code whose polygon is drawn as a self-intersecting bow-tie.
    *others*: synthetic QPV elsewhere in France (not in the territory).
    """
    layout = layout or Layout()
    d = layout.definition
    recs = []
    for z in d.zones_of("qpv"):
        squares = [(c, layout.square(c)) for c in z.communes]
        if z.shared:
            squares.append((z.other_communes[0][0], layout.outside_square(squares[0][1])))
        if invalid == z.code:
            c, sq = squares[0]
            x0, y0, x1, y1 = sq.bounds
            squares[0] = (c, shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)]))  # bow-tie
        all_insee = list(z.communes) + [o[0] for o in z.other_communes]
        base = {"code_qp": z.code, "lib_qp": f"Synthétique {z.name}", "insee_dep": "59", "siren_epci": d.siren}
        if split:
            for c, sq in squares:
                recs.append(({**base, "insee_com": c, "lib_com": d.commune_name(c) or c}, sq))
        else:
            geom = shapely.MultiPolygon([sq for _, sq in squares]) if len(squares) > 1 else squares[0][1]
            names = [d.commune_name(c) or n for c, n in [(c, "") for c in z.communes]] + [o[1] for o in z.other_communes]
            recs.append(({**base, "insee_com": ";".join(all_insee), "lib_com": ";".join(names)}, geom))
    # elsewhere in France: Lille, Paris, Lyon, Marseille, Valenciennes-only
    places = [(3.06, 50.63, "59350"), (2.35, 48.85, "75056"), (4.85, 45.76, "69123"), (5.37, 43.30, "13055"),
              (3.5235, 50.3570, "59606")]
    for i, (lon, lat, insee) in enumerate(places[:others]):
        x, y = lonlat_to_l93(lon, lat)
        x, y = float(x), float(y)
        code = f"QN{insee[:2].zfill(3)}{90 + i:02d}N"
        recs.append(({"code_qp": code, "lib_qp": f"Synthétique ailleurs {i + 1}", "insee_com": insee,
                      "lib_com": "Synthétique", "insee_dep": insee[:2], "siren_epci": "000000000"},
                     box(x - 200, y - 200, x + 200, y + 200)))
    return recs


def frame(records, crs="EPSG:2154"):
    import geopandas as gpd

    props = [r[0] for r in records]
    return gpd.GeoDataFrame(props, geometry=[r[1] for r in records], crs="EPSG:2154").to_crs(crs)


def write(gdf, path: Path, driver: str | None = None, **kw) -> Path:
    import pyogrio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(gdf, path, driver=driver, **kw)
    return path


def anct_zip(records, path: Path, *, with_shp: bool = True) -> Path:
    """A zip laid out like the ANCT resource: GEOJSON/…WGS84.geojson and SHP/…LB93.shp."""
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gj = write(frame(records, "EPSG:4326"), tmp / "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson", "GeoJSON")
        members = [(gj, "GEOJSON/" + gj.name)]
        if with_shp:
            write(frame(records), tmp / "QP2024_France_hexagonale_LB93.shp", "ESRI Shapefile")
            for f in sorted(tmp.glob("QP2024_France_hexagonale_LB93.*")):
                members.append((f, "SHP/" + f.name))
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for f, arc in members:
                zf.write(f, arc)
    return path


def qpv2015_records(layout: Layout | None = None):
    """The 2015 schema (``CODE_QP``, ``NOM_QP``, ``COMMUNE_QP`` with commune *names*), synthetic squares."""
    layout = layout or Layout()
    d = layout.definition
    plan = [("QP059054", "Synthétique Gambetta 2015", ["59172", "59205"]),
            ("QP059055", "Synthétique Sabatier 2015", ["59491"]),
            ("QP059099", "Synthétique Brunehaut 2015", ["59207"])]
    recs = []
    for code, name, communes in plan:
        sqs = [layout.square(c) for c in communes]
        geom = shapely.MultiPolygon(sqs) if len(sqs) > 1 else sqs[0]
        recs.append(({"CODE_QP": code, "NOM_QP": name, "COMMUNE_QP": ", ".join(d.commune_name(c) for c in communes)},
                     geom))
    x, y = (float(v) for v in lonlat_to_l93(2.35, 48.85))
    recs.append(({"CODE_QP": "QP075001", "NOM_QP": "Synthétique Paris 2015", "COMMUNE_QP": "Paris"},
                 box(x - 200, y - 200, x + 200, y + 200)))
    return recs


def national_records(n: int = 1400, seed: int = 0, layout: Layout | None = None, vertices: int = 40):
    """About *n* synthetic multipolygons spread over metropolitan France, plus the territory's codes."""
    rng = np.random.default_rng(seed)
    recs = qpv_records(layout, others=0)
    k = n - len(recs)
    lon = rng.uniform(-1.5, 7.0, k)
    lat = rng.uniform(43.5, 50.8, k)
    xs, ys = lonlat_to_l93(lon, lat)
    for i in range(k):
        x, y = float(xs[i]), float(ys[i])
        parts = []
        for j in range(2):  # two parts of *vertices* vertices
            cx, cy = x + j * 900, y + j * 300
            ang = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
            r = 250 + 80 * rng.random(vertices)
            parts.append(shapely.Polygon(np.column_stack([cx + r * np.cos(ang), cy + r * np.sin(ang)])))
        dep = 1 + i % 95
        insee = f"{dep:02d}{100 + i % 800:03d}"
        if insee.startswith("59"):
            insee = "62" + insee[2:]  # keep the generated ones off the territory's département
        code = f"QN{int(insee[:2]):03d}{i % 100:02d}{chr(65 + (i // 100) % 26)}"
        recs.append(({"code_qp": code, "lib_qp": f"Synthétique national {i + 1}", "insee_com": insee,
                      "lib_com": "Synthétique", "insee_dep": insee[:2], "siren_epci": "000000000"},
                     shapely.MultiPolygon(parts)))
    return recs


def communes_geojson_bytes(definition=None) -> bytes:
    """A geo.api.gouv.fr-like answer (FeatureCollection, properties nom/code/codesPostaux/population).

    Geometry: the embedded baseline outlines (shipped with cq-geo), not the IGN 5 m contours.
    """
    import json

    d = definition or load_definition()
    geoms, _ = load_baseline_communes()
    gdf = frame([({"code": c, "nom": d.commune_name(c), "codesPostaux": ",".join(d.communes[c].postcodes),
                   "population": d.communes[c].population}, g) for c, g in geoms.items()], "EPSG:4326")
    data = json.loads(gdf.to_json())
    for f in data["features"]:
        f["properties"]["codesPostaux"] = f["properties"]["codesPostaux"].split(",")
        f["properties"].pop("id", None)
    return json.dumps(data).encode()


def local_records(layout: Layout, tier: str, names: dict[str, str]):
    """``{zone code: label}`` → records (``nom``, geometry) with a square in the zone's commune."""
    d = layout.definition
    zones = {z.code: z for z in d.zones_of(tier)}
    return [({"nom": label}, layout.square(zones[code].communes[0], half=100)) for code, label in names.items()]


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# -- the shapes of the real national files (issue 12) -----------------------------------------------
#: SYNTHETIC QPV outside the metropolitan mainland, with the code patterns of the real national file:
#: Corsica (département 2A/2B) and overseas (971–976). (code, name, insee, lon, lat, member of the SHP folder)
OUTSIDE_MAINLAND = [
    ("QN02A01M", "Synthétique Ajaccio 1", "2A004", 8.7369, 41.9192, None),
    ("QN02A02M", "Synthétique Ajaccio 2", "2A004", 8.7500, 41.9300, None),
    ("QN02A03N", "Synthétique Ajaccio 3", "2A004", 8.7600, 41.9400, None),
    ("QN02B01M", "Synthétique Bastia 1", "2B033", 9.4500, 42.7000, None),
    ("QN02B02M", "Synthétique Bastia 2", "2B033", 9.4400, 42.6900, None),
    ("QN97101M", "Synthétique Les Abymes", "97101", -61.5050, 16.2710, ("Guadeloupe_RGAF09_UTM20N", 5490)),
    ("QN97302N", "Synthétique Cayenne", "97302", -52.3260, 4.9370, ("Guyane_RGF95_UTM22N", 2972)),
    ("QN97411M", "Synthétique Saint-Denis", "97411", 55.4480, -20.8820, ("LaReunion_RGR92_UTM40S", 2975)),
    ("QN97414I", "Synthétique Saint-Louis", "97414", 55.4100, -21.2860, ("LaReunion_RGR92_UTM40S", 2975)),
    ("QN97651C", "Synthétique Mamoudzou", "97611", 45.2270, -12.7800, None),
]


def _square_lonlat(lon: float, lat: float, half_deg: float = 0.002):
    return box(lon - half_deg, lat - half_deg, lon + half_deg, lat + half_deg)


def national_like_records(layout: Layout | None = None, *, separator: str = ";", shift_m: float = 0.0):
    """The territory's QPV (L93) plus Corsican and overseas QPV (WGS84 geometries), as the national file.

    *separator*: between the INSEE codes of a multi-commune QPV (``;`` or ``,``).
    *shift_m*: every territory perimeter moved east by this many metres (a file that must be refused).
    Returns ``(mainland records in L93, outside records in WGS84)``.
    """
    recs = []
    for props, geom in qpv_records(layout, others=2):
        props = dict(props)
        props["insee_com"] = props["insee_com"].replace(";", separator)
        if shift_m:
            import shapely.affinity

            geom = shapely.affinity.translate(geom, xoff=shift_m)
        recs.append((props, geom))
    outside = []
    for code, name, insee, lon, lat, _member in OUTSIDE_MAINLAND:
        outside.append(({"code_qp": code, "lib_qp": name, "insee_com": insee, "lib_com": "Synthétique",
                         "insee_dep": insee[:3] if insee.startswith("97") else insee[:2], "siren_epci": "000000000"},
                        _square_lonlat(lon, lat)))
    return recs, outside


def national_anct_zip(path: Path, *, with_shp: bool = True, separator: str = ";", shift_m: float = 0.0) -> Path:
    """A SYNTHETIC zip laid out like the real ANCT resource (issue 12).

    ``GPKG/QP2024_France_Hexagonale_Outre_Mer_WGS84.gpkg`` and
    ``GEOJSON/…WGS84.geojson`` (everything, WGS84), ``SHP/QP2024_France_hexagonale_LB93.shp``
    (mainland and Corsica, Lambert-93) and the overseas shapefiles in their own CRS
    (``SHP/QP2024_Guadeloupe_RGAF09_UTM20N.shp`` EPSG:5490, ``…_Guyane_RGF95_UTM22N`` EPSG:2972,
    ``…_LaReunion_RGR92_UTM40S`` EPSG:2975).
    """
    import tempfile

    import geopandas as gpd
    import shapely.affinity  # noqa: F401  (translate)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mainland, outside = national_like_records(separator=separator, shift_m=shift_m)
    wgs = pd_concat([frame(mainland, "EPSG:4326"),
                     gpd.GeoDataFrame([p for p, _ in outside], geometry=[g for _, g in outside], crs="EPSG:4326")])
    metro_outside = [(p, g) for (p, g), o in zip(outside, OUTSIDE_MAINLAND) if p["code_qp"].startswith("QN02")]
    lb93 = pd_concat([frame(mainland), gpd.GeoDataFrame([p for p, _ in metro_outside],
                                                        geometry=[g for _, g in metro_outside],
                                                        crs="EPSG:4326").to_crs(2154)])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        members = []
        gp = write(wgs, tmp / "QP2024_France_Hexagonale_Outre_Mer_WGS84.gpkg", "GPKG",
                   layer="QP2024_France_Hexagonale_Outre_Mer_WGS84")
        members.append((gp, "GPKG/" + gp.name))
        gj = write(wgs, tmp / "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson", "GeoJSON")
        members.append((gj, "GEOJSON/" + gj.name))
        if with_shp:
            stems = ["QP2024_France_hexagonale_LB93"]
            write(lb93, tmp / "QP2024_France_hexagonale_LB93.shp", "ESRI Shapefile")
            by_member: dict = {}
            for (p, g), o in zip(outside, OUTSIDE_MAINLAND):
                if o[5] is not None:
                    by_member.setdefault(o[5], []).append((p, g))
            for (name, epsg), recs in by_member.items():
                stem = f"QP2024_{name}"
                gdf = gpd.GeoDataFrame([p for p, _ in recs], geometry=[g for _, g in recs], crs="EPSG:4326")
                write(gdf.to_crs(epsg), tmp / f"{stem}.shp", "ESRI Shapefile")
                stems.append(stem)
            for stem in stems:
                for f in sorted(tmp.glob(f"{stem}.*")):
                    members.append((f, "SHP/" + f.name))
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for f, arc in members:
                zf.write(f, arc)
    return path


def pd_concat(frames):
    import geopandas as gpd
    import pandas as pd

    crs = frames[0].crs
    return gpd.GeoDataFrame(pd.concat([f.to_crs(crs) for f in frames], ignore_index=True), crs=crs)


def admin_express_gpkg(path: Path) -> Path:
    """A SYNTHETIC ADMIN EXPRESS-like GeoPackage of several layers, ``arrondissement`` written first.

    Layers ``arrondissement``, ``commune`` (long lower-case names ``code_insee``, ``nom_officiel``),
    ``commune_associee_ou_deleguee`` and ``departement``; geometry: the embedded baseline outlines.
    """
    import json as _json

    import geopandas as gpd

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _json.loads(communes_geojson_bytes())
    com = gpd.GeoDataFrame.from_features(data["features"], crs="EPSG:4326").to_crs(2154)
    com = com.rename(columns={"code": "code_insee", "nom": "nom_officiel"})[["code_insee", "nom_officiel", "geometry"]]
    outline = shapely.union_all(list(com.geometry.values))
    arr = gpd.GeoDataFrame({"code_insee": ["596"], "nom_officiel": ["Valenciennes"]},
                           geometry=[outline.buffer(2000)], crs=2154)
    dep = gpd.GeoDataFrame({"code_insee": ["59"], "nom_officiel": ["Nord"]}, geometry=[outline.buffer(5000)], crs=2154)
    assoc = gpd.GeoDataFrame({"code_insee": ["59999"], "nom_officiel": ["Synthétique associée"]},
                             geometry=[com.geometry.values[0].buffer(-200)], crs=2154)
    write(arr, path, "GPKG", layer="arrondissement")
    write(com, path, "GPKG", layer="commune", append=True)
    write(assoc, path, "GPKG", layer="commune_associee_ou_deleguee", append=True)
    write(dep, path, "GPKG", layer="departement", append=True)
    return path
