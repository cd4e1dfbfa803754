"""What the plugin asks of the ``cq_geo`` library, in one place.

The territory is loaded once and kept; :meth:`TerritoryService.reload` reads
the store again (after an import, or after planners edited perimeters in the
store's GeoPackage). Optional parts of the library (data store, geocoder,
batch, council map) are probed here, so the GUI and Processing can say clearly
what is missing instead of failing.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Capability:
    """One optional part of the library: available or not, and why."""

    name: str
    available: bool
    reason: str = ""


def _probe(module: str, label: str) -> Capability:
    """Is *module* there? Found without importing it, so the plugin starts fast."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError) as exc:
        return Capability(label, False, f"{module} indisponible ({exc})")
    return Capability(label, found, "" if found else f"{module} absent de cette version de cq-geo")


def capabilities() -> dict[str, Capability]:
    """Which optional parts of cq-geo (and pandas) are usable here."""
    caps = {
        "store": _probe("cq_geo.store", "magasin de données"),
        "geocoder": _probe("cq_geo.geocode.lookup", "géocodeur"),
        "webmap": _probe("cq_geo.webmap", "carte pour le conseil"),
        "batch": _probe("cq_geo.batch", "traitement par lot"),
        "pandas": _probe("pandas", "pandas"),
    }
    if not caps["pandas"].available:
        caps["pandas"].reason = "le module Python pandas manque à ce QGIS (OSGeo4W : paquet python3-pandas)"
    return caps


class TerritoryService:
    """The loaded territory, its store and its geocoder."""

    def __init__(self, store: str | None = None):
        self._store_arg = store
        self._territory = None
        self._geocoders: dict[str, object] = {}
        self._lock = threading.Lock()
        self.generation = 0  # incremented at every (re)load: caches built on the territory compare it

    # -- territory -------------------------------------------------------------
    @property
    def territory(self):
        """The :class:`cq_geo.territory.Territory`, loaded on first use."""
        if self._territory is None:
            self.reload()
        return self._territory

    def reload(self):
        """Load the territory again (store, else the embedded baseline)."""
        from cq_geo.territory import load_territory

        self._territory = load_territory(store=self._store_arg)
        with self._lock:
            self._geocoders.clear()  # the store (and its BAN index) may have changed
        self.generation += 1
        return self._territory

    @property
    def loaded(self) -> bool:
        return self._territory is not None

    def store_path(self) -> Path | None:
        """The store GeoPackage in use (None: embedded baseline)."""
        from cq_geo.paths import resolve_store

        path, _origin = resolve_store(self._store_arg)
        return path if path is not None and path.is_file() else None

    def default_store_path(self) -> Path:
        from cq_geo.paths import default_store_path

        return default_store_path()

    # -- geocoding ---------------------------------------------------------------
    def geocoder(self, mode: str = "offline"):
        """The library's geocoder (*mode* offline/online); raises CqGeoError with a French message."""
        from cq_geo.errors import MissingDependency

        with self._lock:
            if mode not in self._geocoders:
                try:
                    from cq_geo.geocode import get_geocoder
                except ImportError as exc:
                    raise MissingDependency(
                        "le géocodage d'adresses n'est pas disponible dans cette version de cq-geo"
                    ) from exc
                self._geocoders[mode] = get_geocoder(mode, store=self.store_path())
            return self._geocoders[mode]

    def has_geocoder(self) -> bool:
        try:
            from cq_geo.geocode import get_geocoder  # noqa: F401
        except ImportError:
            return False
        return True
