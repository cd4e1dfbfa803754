"""Where cq-geo finds its embedded data and the user's data store.

Resolution order for the store: the ``store`` argument / ``--store`` option,
then the ``CQ_GEO_STORE`` environment variable, then ``cq-geo.gpkg`` in the
user's data directory (platformdirs). When none of these exists the embedded
baseline (``data/boundaries``) is used.

The territory (a folder with ``territory.toml`` and ``communes_baseline.geojson``,
see ``cq-geo territory init``): the ``territory`` argument / ``--territory``
option (:func:`select_territory`), then ``CQ_GEO_TERRITORY``, then the embedded
CAPH. Each territory has its own user store, keyed by the id of its file
(``cq-geo.gpkg`` for the CAPH, ``cq-geo-<id>.gpkg`` for another).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["boundaries_dir", "territory_dir", "select_territory", "territory_id", "territory_file",
           "baseline_communes_file", "default_store_path", "resolve_store"]

_PACKAGE_DIR = Path(__file__).resolve().parent
STORE_ENV = "CQ_GEO_STORE"
STORE_FILENAME = "cq-geo.gpkg"
TERRITORY_ENV = "CQ_GEO_TERRITORY"
#: The territory of the embedded files (its store keeps the historical name cq-geo.gpkg).
EMBEDDED_ID = "caph"
_selected: Path | None = None


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


def select_territory(path: str | os.PathLike | None) -> None:
    """Select the territory folder for this process (``--territory``); ``None`` goes back to the default."""
    global _selected
    _selected = None if path is None or str(path) == "" else Path(path).expanduser()


def territory_dir(territory: str | os.PathLike | None = None) -> Path:
    """The territory folder: *territory*, then :func:`select_territory`, then ``CQ_GEO_TERRITORY``,
    then the embedded one. A path to a ``territory.toml`` stands for its folder.

    >>> territory_dir() == boundaries_dir()
    True
    """
    chosen = territory if territory is not None and str(territory) != "" else _selected
    if chosen is None:
        env = os.environ.get(TERRITORY_ENV, "").strip()
        chosen = Path(env).expanduser() if env else None
    if chosen is None:
        return boundaries_dir()
    chosen = Path(chosen)
    if chosen.suffix.lower() == ".toml":
        chosen = chosen.parent
    if not (chosen / "territory.toml").is_file():
        from .errors import DataError

        raise DataError(f"territoire introuvable : {chosen} ne contient pas de territory.toml "
                        "(créez-le avec cq-geo territory init --epci SIREN -o DOSSIER)")
    return chosen


def territory_id(territory: str | os.PathLike | None = None) -> str:
    """The ``[territory] id`` of the selected territory file (read without validating the whole file).

    >>> territory_id()
    'caph'
    """
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    try:
        data = tomllib.loads((territory_dir(territory) / "territory.toml").read_text(encoding="utf-8"))
        return str(data.get("territory", {}).get("id") or EMBEDDED_ID)
    except (OSError, ValueError):
        return EMBEDDED_ID


def territory_file(territory: str | os.PathLike | None = None) -> Path:
    """The territory definition (``territory.toml``) of the selected territory."""
    return territory_dir(territory) / "territory.toml"


def baseline_communes_file(territory: str | os.PathLike | None = None) -> Path:
    """The commune outlines (``communes_baseline.geojson``) of the selected territory."""
    return territory_dir(territory) / "communes_baseline.geojson"


def store_filename(territory: str | os.PathLike | None = None) -> str:
    """``cq-geo.gpkg`` for the embedded territory, ``cq-geo-<id>.gpkg`` for another.

    >>> store_filename()
    'cq-geo.gpkg'
    """
    tid = territory_id(territory)
    if tid == EMBEDDED_ID:
        return STORE_FILENAME
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in tid)
    return f"cq-geo-{safe}.gpkg"


def default_store_path(territory: str | os.PathLike | None = None) -> Path:
    """``cq-geo.gpkg`` in the user's data directory (created by ``cq-geo data``).

    The directory is platformdirs' ``user_data_dir("cq-geo")``; without
    platformdirs (the Python of QGIS) the same folder is worked out here.
    """
    name = store_filename(territory)
    try:
        from platformdirs import user_data_dir
    except ImportError:
        return _user_data_dir() / name
    return Path(user_data_dir("cq-geo", appauthor=False)) / name


def _user_data_dir() -> Path:
    """platformdirs' ``user_data_dir("cq-geo", appauthor=False)`` with the standard library."""
    import sys

    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "cq-geo"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "cq-geo"
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    return Path(xdg if xdg else Path.home() / ".local" / "share") / "cq-geo"


def resolve_store(store: str | os.PathLike | None = None, territory: str | os.PathLike | None = None
                  ) -> tuple[Path | None, str]:
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
    user = default_store_path(territory)
    if user.is_file():
        return user, "user"
    return None, "baseline"
