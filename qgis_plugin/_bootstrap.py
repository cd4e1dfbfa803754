"""Make the ``cq_geo`` library and its pure-Python extras importable.

The plugin zip holds, beside the plugin's own modules::

    cq_geo_qgis/cq_geo/            the library (never imports qgis or Qt)
    cq_geo_qgis/data/boundaries/   the embedded territory definition and outlines
    cq_geo_qgis/metadata.txt       also the library's version
    cq_geo_qgis/_vendor/           platformdirs, tqdm, tomli (pure Python)

The bundled ``cq_geo`` is loaded under its own name without putting the
plugin folder on ``sys.path`` (which would expose ``plugin``, ``adapter`` … as
top-level modules). ``_vendor`` is appended to ``sys.path``, so packages the
user already has win. In a checkout (``qgis_plugin/`` beside ``cq_geo/``) the
checkout's library is used.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent
VENDOR_DIR = PLUGIN_DIR / "_vendor"

#: Where the library came from: "bundled", "checkout", "installed" or "missing".
library_origin = "missing"


def ensure_library() -> str:
    """Make ``import cq_geo`` work; return where it comes from (see :data:`library_origin`)."""
    global library_origin
    if VENDOR_DIR.is_dir() and str(VENDOR_DIR) not in sys.path:
        sys.path.append(str(VENDOR_DIR))
    bundled = PLUGIN_DIR / "cq_geo" / "__init__.py"
    loaded = sys.modules.get("cq_geo")
    if loaded is not None:
        library_origin = "bundled" if _is_under(loaded, PLUGIN_DIR) else "installed"
        return library_origin
    if bundled.is_file():
        spec = importlib.util.spec_from_file_location(
            "cq_geo", bundled, submodule_search_locations=[str(bundled.parent)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules["cq_geo"] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop("cq_geo", None)
            raise
        library_origin = "bundled"
        return library_origin
    checkout = PLUGIN_DIR.parent
    if (checkout / "cq_geo" / "__init__.py").is_file() and str(checkout) not in sys.path:
        sys.path.append(str(checkout))
        library_origin = "checkout"
    try:
        import cq_geo  # noqa: F401
    except ImportError:
        library_origin = "missing"
        raise
    if library_origin == "missing":
        library_origin = "installed"
    return library_origin


def _is_under(module, folder: Path) -> bool:
    try:
        return Path(module.__file__).resolve().is_relative_to(folder)
    except (AttributeError, TypeError, ValueError):
        return False


def forget_bundled_library() -> None:
    """Drop the bundled ``cq_geo`` modules from ``sys.modules`` (on unload, so an upgrade loads the new copy)."""
    global library_origin
    for name in [m for m in sys.modules if m == "cq_geo" or m.startswith("cq_geo.")]:
        if _is_under(sys.modules[name], PLUGIN_DIR):
            del sys.modules[name]
    if library_origin == "bundled":
        library_origin = "missing"
