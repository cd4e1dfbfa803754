"""The shared store (PostgreSQL/PostGIS) seen from QGIS: the user's connections, and validating a perimeter.

The panel lists the PostgreSQL connections the user already has in QGIS
(Explorateur › PostgreSQL, through ``QgsProviderRegistry``) and turns the chosen
one into a libpq address without password (``service=…`` stays a service; a
password lives in ``~/.pgpass``, ``pg_service.conf``). The library reads the
shared store with psycopg2 (Debian's QGIS has it); the layers are opened by
QGIS's own ``postgres`` provider (:func:`qgis_plugin.core.layers.open_shared_layers`).

>>> conninfo_from_parts({"service": "cq-caph"})
"service='cq-caph'"
>>> conninfo_from_parts({"dbname": "sig", "host": "/tmp", "port": "5433", "user": "chloe", "sslmode": "prefer"})
"dbname='sig' host='/tmp' port=5433 user='chloe' sslmode='prefer'"
"""

from __future__ import annotations

#: libpq keywords kept from a QGIS connection, in this order (never the password, never QGIS's authcfg).
_KEYS = ("service", "dbname", "host", "port", "user", "sslmode")
_SSL_MODES = {0: "", 1: "disable", 2: "allow", 3: "prefer", 4: "require", 5: "verify-ca", 6: "verify-full"}


def conninfo_from_parts(parts: dict) -> str:
    """A libpq key/value address from *parts* (empty values left out; quotes escaped)."""
    out = []
    for key in _KEYS:
        value = str(parts.get(key) or "").strip()
        if not value:
            continue
        if key == "port":
            out.append(f"port={value}")
        else:
            out.append(f"{key}='" + value.replace("\\", "\\\\").replace("'", "\\'") + "'")
    return " ".join(out)


def conninfo_from_uri(uri: str) -> tuple[str, str]:
    """(libpq address without password, QGIS authentication configuration id or "") of a QGIS data source URI."""
    from qgis.core import QgsDataSourceUri

    u = QgsDataSourceUri(uri)
    try:
        ssl = _SSL_MODES.get(int(u.sslMode()), "")
    except (TypeError, ValueError):
        ssl = _SSL_MODES.get(getattr(u.sslMode(), "value", 0), "")
    parts = {"service": u.service(), "dbname": u.database(), "host": u.host(), "port": u.port(),
             "user": u.username(), "sslmode": ssl}
    return conninfo_from_parts(parts), u.authConfigId() or ""


def qgis_connections() -> dict[str, tuple[str, str]]:
    """The user's PostgreSQL connections in QGIS: name -> (libpq address, authcfg id)."""
    from qgis.core import QgsProviderRegistry

    metadata = QgsProviderRegistry.instance().providerMetadata("postgres")
    if metadata is None:
        return {}
    out = {}
    for name, conn in sorted(metadata.connections().items()):
        out[name] = conninfo_from_uri(conn.uri())
    return out


def psycopg2_missing() -> str:
    """Why the shared store cannot be used from this QGIS ("" when psycopg2 is there)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("psycopg2") is not None  # found without importing it (panel status)
    except (ImportError, ValueError):
        found = False
    if not found:
        return ("le module Python psycopg2 est absent de ce QGIS : le magasin partagé ne peut être ni lu ni validé "
                "depuis l'extension (Debian/Ubuntu : sudo apt install python3-psycopg2 ; Windows/OSGeo4W : "
                "paquet python3-psycopg2 de l'installateur OSGeo4W)")
    return ""


def user_name() -> str:
    """Who validates, by default: the QGIS user's full name, else the login name."""
    try:
        from qgis.core import QgsApplication

        return (QgsApplication.userFullName() or QgsApplication.userLoginName() or "").strip()
    except Exception:  # noqa: BLE001
        return ""


def zone_codes(service) -> list[str]:
    """Codes of the zones that can be validated (drawn locally: not the regulatory tier), in the definition's order."""
    territory = service.try_territory()
    if territory is None:
        return []
    d = territory.definition
    local = set(getattr(d, "local_tier_ids", ()) or ())
    return [z.code for z in d.zones if z.tier in local]


def validate(service, code: str, by: str) -> dict:
    """Validate zone *code* in the store in use (shared PostgreSQL or local GeoPackage), recording *by*.

    Calls the library's ``cq_geo.data.imports.validate_zone`` (the same as ``cq-geo data validate-zone CODE --by
    NAME``); raises CqGeoError with a French message.
    """
    from cq_geo.data.imports import validate_zone
    from cq_geo.errors import DataError, MissingDependency

    shared = service.shared_url()
    if shared:
        missing = psycopg2_missing()
        if missing:
            raise MissingDependency(missing)
        from cq_geo.data.pgstore import PgStore

        store = PgStore(shared)
    else:
        path = service.store_path()
        if path is None:
            raise DataError("aucun magasin de données : il n'y a pas de périmètre dessiné à valider (importez ou "
                            "dessinez d'abord le périmètre, ou choisissez le magasin partagé)")
        from cq_geo.data.store import open_store

        store = open_store(path, create=False)
    return validate_zone(store, code, by)
