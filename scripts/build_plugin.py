#!/usr/bin/env python3
"""Build the QGIS plugin zip: ``dist/cq_geo_qgis.zip`` (``make plugin``).

The zip holds one folder, ``cq_geo_qgis/``, as « Installer depuis un ZIP » expects::

    cq_geo_qgis/__init__.py, plugin.py, …   the plugin (qgis_plugin/)
    cq_geo_qgis/metadata.txt                from the top-level metadata.txt, version filled in
    cq_geo_qgis/cq_geo/                     the library
    cq_geo_qgis/data/boundaries/            the embedded territory definition and outlines
    cq_geo_qgis/_vendor/                    pure-Python extras (platformdirs, tqdm, tomli, folium …)
    cq_geo_qgis/LICENSE

numpy, shapely, pyproj, pandas, requests come from QGIS and are never bundled;
compiled files are never bundled. A vendored package whose installed version
cannot run on QGIS's oldest Python (3.9, QGIS 3.22 on Windows) is fetched
as a pure wheel for 3.9 with pip (cached in ``build/wheels``).

Usage: ``python scripts/build_plugin.py [--output dist/cq_geo_qgis.zip] [--no-vendor]``
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = "cq_geo_qgis"
OLDEST_PYTHON = (3, 9)
#: (distribution, paths inside site-packages, requirement to fetch for Python 3.9 if needed)
VENDOR = [
    ("platformdirs", ["platformdirs"], "platformdirs>=3,<4.3"),
    ("tqdm", ["tqdm"], "tqdm>=4.60,<5"),
    ("tomli", ["tomli"], "tomli>=1.1,<2.1"),
    ("folium", ["folium"], "folium>=0.15,<0.21"),
    ("branca", ["branca"], "branca>=0.6,<0.9"),
    ("Jinja2", ["jinja2"], "jinja2>=3,<3.2"),
    ("MarkupSafe", ["markupsafe"], "markupsafe>=2,<3"),
    ("xyzservices", ["xyzservices"], "xyzservices>=2024.4"),
    ("XStatic-Leaflet", ["xstatic/pkg/leaflet"], "XStatic-Leaflet"),
    ("XStatic-jQuery", ["xstatic/pkg/jquery"], "XStatic-jQuery"),
]
SKIP_DIRS = {"__pycache__", "tests", "test", ".pytest_cache"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".dylib", ".dll", ".c", ".pyx", ".pyi")
EPOCH = (2020, 1, 1, 0, 0, 0)  # fixed timestamps: the same sources give the same zip


def _keep(rel: Path) -> bool:
    return not (set(rel.parts) & SKIP_DIRS) and not rel.name.endswith(SKIP_SUFFIXES) and rel.name != ".DS_Store"


class ZipBuilder:
    def __init__(self, path: Path):
        self.zf = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9)
        self.names: set[str] = set()

    def add_bytes(self, name: str, data: bytes) -> None:
        name = f"{FOLDER}/{name}"
        if name in self.names:
            return
        info = zipfile.ZipInfo(name, EPOCH)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zf.writestr(info, data)
        self.names.add(name)

    def add_tree(self, src: Path, dest: str, keep=_keep) -> int:
        n = 0
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(src)
            if path.is_file() and keep(rel):
                self.add_bytes(f"{dest}/{rel.as_posix()}" if dest not in ("", ".") else rel.as_posix(), path.read_bytes())
                n += 1
        return n

    def close(self) -> None:
        self.zf.close()


def read_version() -> str:
    """The version in the top-level metadata.txt (what ``cq_geo.__version__`` reads too)."""
    text = (ROOT / "metadata.txt").read_text(encoding="utf-8")
    match = re.search(r"^version\s*=\s*(\S+)\s*$", text, re.MULTILINE)
    if not match:
        raise SystemExit("metadata.txt : une ligne version= est attendue")
    return match.group(1)


def plugin_metadata(version: str) -> bytes:
    text = (ROOT / "metadata.txt").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^version\s*=.*$", f"version={version}", text)
    if n != 1:
        raise SystemExit("metadata.txt : une ligne version= est attendue")
    return text.encode("utf-8")


def _supports_oldest(dist) -> bool:
    spec = dist.metadata.get("Requires-Python") or ""
    if not spec:
        return True
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:  # pragma: no cover
        return True
    return ".".join(map(str, OLDEST_PYTHON)) in SpecifierSet(spec)


def _fetch_wheel(requirement: str, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    name = re.split(r"[<>=!~ ]", requirement, 1)[0].lower().replace("-", "_")
    found = sorted(p for p in cache.glob("*.whl") if p.name.lower().startswith(name + "-"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "--python-version", ".".join(map(str, OLDEST_PYTHON)),
             "--implementation", "py", "--abi", "none", "--platform", "any", requirement, "-d", str(cache)],
            check=True,
        )
        found = sorted(p for p in cache.glob("*.whl") if p.name.lower().startswith(name + "-"))
    if not found:
        raise SystemExit(f"roue introuvable pour {requirement}")
    return found[-1]


def vendor(zb: ZipBuilder, cache: Path) -> list[str]:
    """Copy the pure-Python extras into ``_vendor``; returns 'name version (origin)' lines."""
    done = []
    for dist_name, paths, requirement in VENDOR:
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            dist = None
        if dist is not None and _supports_oldest(dist):
            base = Path(dist.locate_file(""))
            for p in paths:
                src = base / p
                if not src.is_dir():
                    raise SystemExit(f"{dist_name} : dossier {src} introuvable")
                zb.add_tree(src, f"_vendor/{p}")
            for f in dist.files or []:
                if re.search(r"(LICEN[CS]E|COPYING)", f.name, re.I) and Path(f.locate()).is_file():
                    zb.add_bytes(f"_vendor/licenses/{dist_name}-{f.name}", Path(f.locate()).read_bytes())
            done.append(f"{dist_name} {dist.version} (installé)")
            continue
        wheel = _fetch_wheel(requirement, cache)
        with zipfile.ZipFile(wheel) as wz:
            for name in sorted(wz.namelist()):
                rel = Path(name)
                if any(name.startswith(p + "/") for p in paths) and _keep(rel) and not name.endswith("/"):
                    zb.add_bytes(f"_vendor/{name}", wz.read(name))
                elif ".dist-info/" in name and re.search(r"(LICEN[CS]E|COPYING)", rel.name, re.I):
                    zb.add_bytes(f"_vendor/licenses/{dist_name}-{rel.name}", wz.read(name))
        done.append(f"{wheel.name} (roue Python {OLDEST_PYTHON[0]}.{OLDEST_PYTHON[1]})")
    return done


# -- translations: French source strings, Qt .ts files in qgis_plugin/i18n, .qm built into the zip ----------

I18N = ROOT / "qgis_plugin" / "i18n"
TR_CONTEXT = "CqGeo"


def source_strings() -> list[str]:
    """The plugin's user-visible strings: arguments of tr()/_tr()/guarded(), TITLE/HELP, IMPORT_KINDS labels."""
    import ast

    found = []
    for path in sorted((ROOT / "qgis_plugin").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)
                if name in ("tr", "_tr", "guarded") and isinstance(node.args[0].value, str):
                    found.append(node.args[0].value)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                target = node.targets[0].id
                if target in ("TITLE", "HELP"):
                    found.append(ast.literal_eval(node.value))
                elif target == "GROUP":  # (id, French name) of a Processing group
                    found.append(ast.literal_eval(node.value)[1])
                elif target == "IMPORT_KINDS":
                    found.extend(item[2] for item in ast.literal_eval(node.value))
    return list(dict.fromkeys(s for s in found if s))


def read_ts(path: Path) -> dict[str, str]:
    import xml.etree.ElementTree as ET

    if not path.is_file():
        return {}
    out = {}
    for msg in ET.parse(path).getroot().iter("message"):
        src, tr_ = msg.findtext("source"), msg.find("translation")
        if src is not None and tr_ is not None and tr_.text and tr_.get("type") not in ("unfinished", "obsolete"):
            out[src] = tr_.text
    return out


def write_ts(path: Path, language: str, translations: dict[str, str]) -> list[str]:
    """(Re)write *path* with every source string; returns those without a translation."""
    from xml.sax.saxutils import escape

    missing = []
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<!DOCTYPE TS>",
             f'<TS version="2.1" language="{language}" sourcelanguage="fr">', "<context>",
             f"    <name>{TR_CONTEXT}</name>"]
    for src in source_strings():
        tr_ = translations.get(src)
        if tr_ is None:
            missing.append(src)
        attr = "" if tr_ is not None else ' type="unfinished"'
        lines += ["    <message>", f"        <source>{escape(src)}</source>",
                  f"        <translation{attr}>{escape(tr_ or '')}</translation>", "    </message>"]
    lines += ["</context>", "</TS>", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return missing


def compile_translations(zb: "ZipBuilder", workdir: Path) -> list[str]:
    """Compile qgis_plugin/i18n/*.ts with lrelease into the zip's i18n/*.qm (skipped without lrelease)."""
    import shutil

    lrelease = shutil.which("lrelease") or shutil.which("lrelease-qt5") or shutil.which("lrelease-qt6")
    done = []
    for ts in sorted(I18N.glob("*.ts")):
        if lrelease is None:
            print(f"  traductions : lrelease introuvable, {ts.name} non compilé (l'extension restera en français)")
            continue
        workdir.mkdir(parents=True, exist_ok=True)
        qm = workdir / (ts.stem + ".qm")
        subprocess.run([lrelease, "-silent", str(ts), "-qm", str(qm)], check=True)
        zb.add_bytes(f"i18n/{qm.name}", qm.read_bytes())
        done.append(qm.name)
    return done


def build(output: Path, with_vendor: bool = True) -> Path:
    version = read_version()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".zip.tmp")
    zb = ZipBuilder(tmp)
    try:
        n_plugin = zb.add_tree(ROOT / "qgis_plugin", ".", keep=lambda rel: _keep(rel) and rel.name != "conftest.py"
                               and rel.suffix not in (".ts", ".qm"))
        translations = compile_translations(zb, output.parent / f".{FOLDER}-i18n")
        zb.add_bytes("metadata.txt", plugin_metadata(version))
        zb.add_bytes("LICENSE", (ROOT / "LICENSE").read_bytes())
        n_lib = zb.add_tree(ROOT / "cq_geo", "cq_geo")
        n_data = zb.add_tree(ROOT / "data" / "boundaries", "data/boundaries", keep=lambda rel: _keep(rel) and rel.suffix != ".py")
        vendored = vendor(zb, ROOT / "build" / "wheels") if with_vendor else []
        listing = "\n".join(vendored) + "\n"
        zb.add_bytes("_vendor/VENDORED.txt", listing.encode("utf-8"))
    finally:
        zb.close()
    tmp.replace(output)
    size = output.stat().st_size
    print(f"{output.relative_to(ROOT) if output.is_relative_to(ROOT) else output} : version {version}, "
          f"{size / 1e6:.1f} Mo — extension {n_plugin} fichiers, cq_geo {n_lib}, données {n_data}")
    for line in vendored:
        print(f"  _vendor : {line}")
    if translations:
        print(f"  traductions : {', '.join(translations)}")
    return output


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / f"{FOLDER}.zip")
    parser.add_argument("--no-vendor", action="store_true", help="sans les extras Python embarqués")
    parser.add_argument("--update-ts", action="store_true",
                        help="mettre à jour qgis_plugin/i18n/*.ts avec les textes de l'extension, sans construire")
    args = parser.parse_args(argv)
    if args.update_ts:
        for ts in sorted(I18N.glob("*.ts")):
            missing = write_ts(ts, ts.stem.rsplit("_", 1)[-1], read_ts(ts))
            print(f"{ts.relative_to(ROOT)} : {len(source_strings())} textes, {len(missing)} à traduire")
        return 0
    build(args.output.resolve(), with_vendor=not args.no_vendor)
    return 0


if __name__ == "__main__":
    sys.exit(main())
