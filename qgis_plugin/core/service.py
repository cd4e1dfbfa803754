"""What the plugin asks of the ``cq_geo`` library, in one place; never raises into QGIS.

The territory is loaded once and kept; :meth:`TerritoryService.reload` reads
the store again (after an import, or after planners edited perimeters in the
store's GeoPackage). A territory that cannot load leaves :attr:`load_error`
(French: what is wrong, what to do) instead of an exception.

:func:`capabilities` checks, at start and after every reload, what this QGIS
can do (numpy, shapely ≥ 2.1 sharing QGIS's GEOS, pandas, the store, the BAN
index, the library's optional modules); the panel greys what is unavailable
and Processing offers only the algorithms that can run.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Capability:
    """One function of the plugin: available or not, and why (French, names plugin actions)."""

    name: str
    available: bool
    reason: str = ""


def _has_module(module: str) -> bool:
    """Is *module* importable? Found without importing it (fast, no side effect)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _library_has(module: str, *names: str) -> bool:
    try:
        mod = importlib.import_module(module)
    except Exception:  # noqa: BLE001 - a broken optional module is "absent"
        return False
    return all(hasattr(mod, n) for n in names)


def _version_tuple(text: str) -> tuple[int, ...]:
    out = []
    for part in str(text).split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def shapely_capability() -> Capability:
    """shapely ≥ 2.1 built on the same GEOS as QGIS (a pip wheel bundles its own GEOS: it crashed QGIS)."""
    label = "shapely ≥ 2.1"
    if not _has_module("shapely"):
        return Capability(label, False, "le module Python shapely est absent de ce QGIS")
    try:
        import shapely
    except Exception as exc:  # noqa: BLE001
        return Capability(label, False, f"le module Python shapely ne se charge pas ({type(exc).__name__})")
    version = getattr(shapely, "__version__", "0")
    if _version_tuple(version) < (2, 1):
        return Capability(label, False, f"shapely {version} est trop ancien (2.1 ou plus récent est nécessaire)")
    try:
        from qgis.core import Qgis

        qgis_geos = (Qgis.geosVersionMajor(), Qgis.geosVersionMinor())
        geos = tuple(getattr(shapely, "geos_version", (0, 0, 0))[:2])
    except Exception:  # noqa: BLE001 - outside QGIS (tests of the library): nothing to compare
        return Capability(label, True)
    if geos != qgis_geos:
        return Capability(
            label, False,
            f"shapely {version} utilise GEOS {geos[0]}.{geos[1]}, différent de celui de QGIS "
            f"({qgis_geos[0]}.{qgis_geos[1]}) : deux GEOS dans QGIS le font planter, la fonction n'est pas proposée",
        )
    return Capability(label, True)


def store_capability(path: Path | None) -> Capability:
    """The data store: absent (fine), readable, or unreadable (with what to do)."""
    if path is None:
        return Capability("magasin de données", True, "aucun magasin : données embarquées")
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            con.close()
    except (sqlite3.Error, OSError) as exc:
        return Capability("magasin de données", False, f"magasin de données illisible : {path} ({exc})")
    return Capability("magasin de données", True)


def ban_capability(path: Path | None) -> Capability:
    """Is the BAN address index installed in the store?"""
    label = "index d'adresses BAN"
    if path is None:
        return Capability(label, False, "index d'adresses BAN non installé")
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except (sqlite3.Error, OSError):
        return Capability(label, False, "magasin de données illisible")
    if "cq_ban_meta" not in names:
        return Capability(label, False, "index d'adresses BAN non installé")
    return Capability(label, True)


#: What to do, per missing function (plugin actions, never command-line options).
INSTALL_BAN_HINT = ("Installez-le : panneau Contrat Quartiers 2030 › Données › « Installer l'index d'adresses BAN… » "
                    "avec le fichier adresses-59.csv.gz téléchargé depuis adresse.data.gouv.fr, "
                    "ou choisissez le géocodeur « en ligne ».")


def capabilities(store_path: Path | None = None) -> dict[str, Capability]:
    """What this QGIS can do with the plugin (see the module docstring)."""
    caps: dict[str, Capability] = {}
    caps["numpy"] = Capability("numpy", _has_module("numpy"),
                               "" if _has_module("numpy") else "le module Python numpy est absent de ce QGIS")
    caps["pandas"] = Capability("pandas", _has_module("pandas"),
                                "" if _has_module("pandas") else "le module Python pandas est absent de ce QGIS")
    caps["shapely"] = shapely_capability()
    caps["store"] = store_capability(store_path)
    caps["ban"] = ban_capability(store_path) if caps["store"].available else Capability(
        "index d'adresses BAN", False, caps["store"].reason)
    if not caps["ban"].available:
        caps["ban"].reason += ". " + INSTALL_BAN_HINT

    imports = _library_has("cq_geo.data.imports", "import_records") and _library_has("cq_geo.data.store", "open_store")
    caps["import"] = Capability("import de périmètres", imports,
                                "" if imports else "cette version de cq-geo ne sait pas importer des périmètres "
                                                   "depuis QGIS (fonction import_records absente)")
    caps["download"] = Capability("téléchargement des données officielles", imports and _library_has(
        "cq_geo.data.sources", "source_url", "SOURCES"), caps["import"].reason)
    ban_import = _library_has("cq_geo.geocode.ban_index", "import_ban")
    caps["ban_import"] = Capability("installation de l'index BAN", ban_import,
                                    "" if ban_import else "cette version de cq-geo ne sait pas installer la BAN")
    geocoder = _library_has("cq_geo.geocode", "get_geocoder")
    caps["geocoder"] = Capability("géocodage d'adresses", geocoder,
                                  "" if geocoder else "cette version de cq-geo ne sait pas géocoder d'adresses")
    arrays = _library_has("cq_geo.territory", "Territory") and hasattr(
        importlib.import_module("cq_geo.territory").Territory, "lookup_arrays")
    caps["batch_points"] = Capability(
        "géographie d'une couche de points", arrays or caps["pandas"].available,
        "" if arrays or caps["pandas"].available else
        "cette version de cq-geo a besoin du module Python pandas pour traiter une couche")
    batch = _library_has("cq_geo.bulk.run", "batch")
    caps["batch_addresses"] = Capability(
        "géographie d'une table d'adresses", batch and geocoder and caps["pandas"].available,
        "le traitement d'une table d'adresses a besoin du module Python pandas, absent de ce QGIS"
        if not caps["pandas"].available else "" if batch and geocoder else
        "cette version de cq-geo ne sait pas traiter une table d'adresses")
    webmap = _library_has("cq_geo.maps.webmap", "export_map")
    ok_map = webmap and caps["shapely"].available and caps["pandas"].available
    needs = []
    if not caps["shapely"].available:
        needs.append(f"shapely 2.1 ou plus récent sur le GEOS de QGIS ({caps['shapely'].reason})")
    if not caps["pandas"].available:
        needs.append("pandas (absent de ce QGIS)")
    why = ("cette version de cq-geo ne sait pas écrire la carte" if not webmap else
           "la carte pour le conseil a besoin des modules Python " + " et ".join(needs) +
           " ; le service informatique peut la produire hors de QGIS avec cq-geo")
    caps["webmap"] = Capability("carte pour le conseil", ok_map, "" if ok_map else why)
    return caps


# -- the territory ------------------------------------------------------------------------------

@dataclass
class LoadError:
    """Why the territory did not load, and what to do (French)."""

    what: str
    todo: str
    detail: str = ""

    def text(self) -> str:
        return f"{self.what} {self.todo}".strip()


def explain_load_error(exc: BaseException, store_path: Path | None) -> LoadError:
    """A French explanation of a failed load (never the raw English exception alone)."""
    detail = f"{type(exc).__name__} : {exc}"
    try:
        from cq_geo.errors import CqGeoError
    except Exception:  # noqa: BLE001
        CqGeoError = ()  # noqa: N806
    if isinstance(exc, ImportError) and not (CqGeoError and isinstance(exc, CqGeoError)):
        name = getattr(exc, "name", None) or str(exc)
        return LoadError(
            f"Le territoire ne peut pas être chargé : cette version de l'extension a besoin du module Python "
            f"« {name} », absent de ce QGIS.",
            "Que faire : installez la dernière version de l'extension (Extensions › Installer/Gérer les "
            "extensions), qui n'en a plus besoin.", detail)
    if store_path is not None:
        reason = str(exc) if CqGeoError and isinstance(exc, CqGeoError) else detail
        return LoadError(
            f"Le magasin de données {store_path} ne peut pas être lu : {reason}.",
            f"Que faire : renommez ou supprimez ce fichier (l'état précédent, s'il existe, est à côté : "
            f"{store_path.name}.prev), puis cliquez « Actualiser » : l'extension reprendra les données embarquées, "
            "et Données › « Télécharger les données officielles » recréera le magasin.", detail)
    reason = str(exc) if CqGeoError and isinstance(exc, CqGeoError) else detail
    return LoadError(f"Le territoire ne peut pas être chargé : {reason}.",
                     "Que faire : réinstallez l'extension (Extensions › Installer/Gérer les extensions).", detail)


#: QgsSettings keys of the panel's choices: the territory folder and the shared store (PostgreSQL).
SETTINGS_TERRITORY = "cq_geo/territory"
SETTINGS_SHARED = "cq_geo/shared_store"


def saved_setting(key: str) -> str:
    """A choice saved by the panel (QgsSettings), "" when none (or outside QGIS)."""
    try:
        from qgis.core import QgsSettings

        return str(QgsSettings().value(key, "") or "").strip()
    except Exception:  # noqa: BLE001 - outside QGIS: no saved choice
        return ""


def save_setting(key: str, value: str | None) -> None:
    from qgis.core import QgsSettings

    if value:
        QgsSettings().setValue(key, str(value))
    else:
        QgsSettings().remove(key)


@dataclass
class TerritoryService:
    """The loaded territory, its store, its geocoder, and what this QGIS can do.

    *territory_dir*: the territory folder (``territory.toml`` + ``communes_baseline.geojson``, written by
    ``cq-geo territory init``); ``None`` takes the panel's saved choice, then ``CQ_GEO_TERRITORY``, then the
    embedded CAPH. *store*: a GeoPackage path or a shared store (``service=…``, ``postgresql://…``);
    ``None`` takes the panel's saved shared store, then the library's own resolution.
    """

    store: str | None = None
    territory_dir: str | None = None
    _territory: object = None
    load_error: LoadError | None = None
    generation: int = 0  # incremented at every (re)load: caches built on the territory compare it
    caps: dict = field(default_factory=dict)
    listeners: list = field(default_factory=list)  # callables(service), called after every (re)load

    def __post_init__(self):
        self._geocoders: dict[str, object] = {}
        self._lock = threading.Lock()
        self._tried = False

    # -- territory -----------------------------------------------------------------------------
    @property
    def territory(self):
        """The :class:`cq_geo.territory.Territory`, loaded on first use; raises a French CqGeoError when it cannot."""
        if self._territory is None:
            if not self._tried:
                self.reload()
            if self._territory is None:
                from cq_geo.errors import DataError

                raise DataError(self.load_error.text() if self.load_error else "territoire non chargé")
        return self._territory

    def try_territory(self):
        """The territory, or None (then :attr:`load_error` says why); never raises."""
        try:
            return self.territory
        except Exception:  # noqa: BLE001
            return None

    def reload(self):
        """Load the territory again (store, else the embedded baseline); never raises, returns it or None."""
        self._tried = True
        path = None
        try:
            self.select_territory()
            path = self.store_path(any_file=True)
            from cq_geo.territory import load_territory

            self._territory = load_territory(store=self.effective_store())
            self.load_error = None
        except Exception as exc:  # noqa: BLE001 - explained in the panel, never raised into QGIS
            self._territory = None
            self.load_error = self._explain(exc, path)
        with self._lock:
            self._geocoders.clear()  # the store (and its BAN index) may have changed
        self.generation += 1
        self.refresh_capabilities()
        for listener in list(self.listeners):
            try:
                listener(self)
            except Exception as exc:  # noqa: BLE001
                from .log import log

                log(f"après chargement : {type(exc).__name__} : {exc}")
        return self._territory

    def _explain(self, exc: BaseException, path: Path | None) -> LoadError:
        """The French explanation, naming the panel's choices (territory folder, shared store) when they are the cause."""
        error = explain_load_error(exc, path)
        try:
            from cq_geo.errors import CqGeoError
        except Exception:  # noqa: BLE001
            return error
        reason = str(exc) if isinstance(exc, CqGeoError) else error.detail
        shared = self.shared_url()
        if shared:
            from cq_geo.data.pgstore import safe_label

            return LoadError(f"Le magasin partagé {safe_label(shared)} ne peut pas être lu : {reason}.",
                             "Que faire : vérifiez la connexion PostgreSQL (Explorateur › PostgreSQL) et vos droits "
                             "(rôle lecteur ou éditeur), ou revenez au magasin local : panneau › Données › "
                             "« Magasin partagé (PostgreSQL)… » › « Aucun ».", error.detail)
        chosen = self.chosen_territory()
        if chosen and ("territoire introuvable" in reason or (isinstance(exc, CqGeoError) and path is None)):
            return LoadError(f"Le territoire choisi ({chosen}) ne peut pas être chargé : {reason}.",
                             "Que faire : cliquez « Territoire… » dans le panneau et choisissez le dossier du "
                             "territoire préparé par le géomaticien (territory.toml et communes_baseline.geojson), "
                             "ou revenez au territoire par défaut (flèche du bouton).", error.detail)
        return error

    def chosen_territory(self) -> str:
        """The territory folder chosen for the plugin ("" : ``CQ_GEO_TERRITORY``, then the embedded CAPH)."""
        return self.territory_dir if self.territory_dir is not None else saved_setting(SETTINGS_TERRITORY)

    def select_territory(self) -> None:
        """Make the chosen folder the library's territory for this QGIS (answers, layers, imports, Processing)."""
        from cq_geo.paths import select_territory

        select_territory(self.chosen_territory() or None)

    def effective_store(self) -> str | None:
        """The store argument given to the library: this service's, else the panel's shared store, else None."""
        if self.store:
            return self.store
        return saved_setting(SETTINGS_SHARED) or None

    def shared_url(self) -> str | None:
        """The shared store (PostgreSQL) in use, or None (a GeoPackage or the embedded data)."""
        try:
            from cq_geo.data.pgstore import shared_url
        except Exception:  # noqa: BLE001
            return None
        return shared_url(self.effective_store())

    def territory_label(self) -> str:
        """The territory's name for the panel (« Valenciennes Métropole »), "" when it did not load."""
        t = self._territory
        if t is None:
            return ""
        d = t.definition
        return getattr(d, "short_name", "") or d.name

    def refresh_capabilities(self) -> dict:
        try:
            self.caps = capabilities(self.store_path(any_file=True))
        except Exception as exc:  # noqa: BLE001
            from .log import log

            log(f"capacités : {type(exc).__name__} : {exc}")
        return self.caps

    def can(self, name: str) -> bool:
        cap = self.caps.get(name)
        return bool(cap and cap.available)

    def why_not(self, name: str) -> str:
        cap = self.caps.get(name)
        return cap.reason if cap is not None else ""

    @property
    def loaded(self) -> bool:
        return self._territory is not None

    def store_path(self, any_file: bool = False) -> Path | None:
        """The store GeoPackage in use (None: embedded baseline). *any_file*: even if it is not a file."""
        if self.shared_url():
            return None  # the shared store is no file
        try:
            from cq_geo.paths import resolve_store

            path, _origin = resolve_store(self.effective_store())
        except Exception:  # noqa: BLE001
            return None
        if path is None:
            return None
        return path if any_file or path.is_file() else None

    def target_store(self) -> Path:
        """Where an import writes: the store in use, else the user's default store (created on import)."""
        path = self.store_path(any_file=True)
        if path is not None:
            return path
        from cq_geo.paths import default_store_path

        return default_store_path()

    # -- geocoding -----------------------------------------------------------------------------
    def geocoder(self, mode: str = "offline", transport=None):
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
                options = {}
                if mode == "online" and transport is not None:
                    options["transport"] = transport
                try:
                    self._geocoders[mode] = get_geocoder(mode, store=self.store_path(), **options)
                except TypeError:  # a cq-geo without the transport hook
                    self._geocoders[mode] = get_geocoder(mode, store=self.store_path())
            return self._geocoders[mode]

    def has_geocoder(self) -> bool:
        return self.can("geocoder") if self.caps else _has_module("cq_geo.geocode")
