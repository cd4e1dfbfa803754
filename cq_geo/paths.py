"""Where cq-geo finds its embedded data and the user's data store.

Resolution order for the store: the ``store`` argument / ``--store`` option,
then the ``CQ_GEO_STORE`` environment variable, then ``cq-geo.gpkg`` in the
user's data directory (platformdirs). When none of these exists the embedded
baseline (``data/boundaries``) is used.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["boundaries_dir", "territory_file", "baseline_communes_file", "default_store_path", "resolve_store"]

_PACKAGE_DIR = Path(__file__).resolve().parent
STORE_ENV = "CQ_GEO_STORE"
STORE_FILENAME = "cq-geo.gpkg"


def boundaries_dir() -> Path:
    """The folder holding ``territory.toml`` and the baseline geometry.

    A checkout and the QGIS plugin zip keep ``data/boundaries`` beside the
    package; an installed wheel carries a copy in ``cq_geo/_data/boundaries``.
    """
    for candidate in (_PACKAGE_DIR.parent / "data" / "boundaries", _PACKAGE_DIR / "_data" / "boundaries"):
        if (candidate / "territory.toml").is_file():
            return candidate
    from .errors import DataError

    raise DataError("données embarquées introuvables (data/boundaries/territory.toml) : installation incomplète")


def territory_file() -> Path:
    """The embedded territory definition (``territory.toml``)."""
    return boundaries_dir() / "territory.toml"


def baseline_communes_file() -> Path:
    """The embedded commune outlines (``communes_baseline.geojson``)."""
    return boundaries_dir() / "communes_baseline.geojson"


def default_store_path() -> Path:
    """``cq-geo.gpkg`` in the user's data directory (created by ``cq-geo data``).

    The directory is platformdirs' ``user_data_dir("cq-geo")``; without
    platformdirs (the Python of QGIS) the same folder is worked out here.
    """
    try:
        from platformdirs import user_data_dir
    except ImportError:
        return _user_data_dir() / STORE_FILENAME
    return Path(user_data_dir("cq-geo", appauthor=False)) / STORE_FILENAME


def _user_data_dir() -> Path:
    """platformdirs' ``user_data_dir("cq-geo", appauthor=False)`` with the standard library."""
    import sys

    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "cq-geo"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "cq-geo"
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    return Path(xdg if xdg else Path.home() / ".local" / "share") / "cq-geo"


def resolve_store(store: str | os.PathLike | None = None) -> tuple[Path | None, str]:
    """Return ``(path, origin)`` of the store to use, or ``(None, "baseline")``.

    *origin* says where the choice came from: ``"argument"``, ``"environment"``,
    ``"user"`` or ``"baseline"``. An explicit store (argument or environment)
    that does not exist is returned anyway so that the caller can say so; the
    default user store is used only if it exists.
    """
    if store is not None and str(store) != "":
        return Path(store).expanduser(), "argument"
    env = os.environ.get(STORE_ENV, "").strip()
    if env:
        return Path(env).expanduser(), "environment"
    user = default_store_path()
    if user.is_file():
        return user, "user"
    return None, "baseline"
