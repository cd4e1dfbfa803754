"""The shared store: the same layers as the GeoPackage store, in PostgreSQL/PostGIS, for the whole team.

Selected by ``--store postgresql://…`` / ``CQ_GEO_STORE=postgresql://…`` or a
``service=NOM`` of ``pg_service.conf`` (the way QGIS users name connections).
Every ``cq-geo data`` command works on it; what differs from the GeoPackage:

- **one schema per territory** (``cq_<id>``, e.g. ``cq_caph``) created by
  ``cq-geo data init-shared URL`` (:func:`init_shared`, SQL in
  ``cq_geo/data/sql/``): tables with constraints (valid MultiPolygon in Lambert-93,
  unique zone codes, tier from the territory file, zones within the territory),
  spatial indexes, a readers' role ``cq_<id>_lecteur`` and an editors' role
  ``cq_<id>_editeur``;
- **one transaction per change**, under a PostgreSQL advisory lock taken by
  writers (two imports never interleave; a killed import leaves nothing);
- a **history trigger** records every insert/update/delete — also the edits
  made in QGIS through its PostgreSQL provider — with who, when, the geometry
  before and after and the validation state; an edited perimeter goes back to
  « provisoire » until ``cq-geo data validate-zone CODE --by NOM``;
- **rollback to any earlier state** recorded in the history
  (``data rollback --to N``), itself recorded (so it can be undone);
- ``cq_lookup(geom)``: the answer in SQL, with the tolerances of the Python
  engine;
- **the tiers come from the territory file**: ``cq_tiers`` holds each tier's
  priority and tolerances, each tier drawn locally (``poche``, ``qva``, any
  tier the file adds) has its own table, constraints, triggers and grants
  (``sql/tier.sql``, run once per tier), and ``cq_lookup`` has a
  ``<tier>_code``/``<tier>_status`` pair per tier; ``init-shared --upgrade``
  adds a tier newly declared in the file. The SQL is templated with
  :mod:`psycopg2.sql` (quoted identifiers and literals) from tier ids checked
  by :func:`sql_tier_ids`;
- ``cq-geo data pull URL``: a copy in the local GeoPackage, for working offline.

Passwords never appear in a command line, a message or the metadata: an
address holding one is refused; libpq reads ``~/.pgpass`` (or ``PGPASSFILE``)
and ``pg_service.conf``; TLS settings (``sslmode``, ``sslrootcert``…) in the
address or the service are passed through to libpq.

psycopg2 (what QGIS brings) is imported only when a shared store is used;
geometries travel as WKB and are decoded with numpy (:func:`cq_geo.data.polygons.wkb_polygons`).

The offline geocoder's BAN address index lives in the schema too (``sql/ban.sql``:
``cq_ban_streets``, ``cq_ban_numbers``, ``cq_ban_meta``, the local index's tables), replaced
whole in one transaction by ``cq-geo data import ban FICHIER --store URL``
(:func:`write_shared_ban`) and read back by :func:`read_shared_ban` (through
:func:`cq_geo.geocode.ban_index.load_ban_index`); ``data pull`` copies it.

Examples
--------
>>> is_shared("postgresql://sig.caph.local/cq"), is_shared("service=cq"), is_shared("/tmp/cq-geo.gpkg")
(True, True, False)
>>> safe_label("postgresql://alice@sig.caph.local:5432/cq?sslmode=verify-full")
'postgresql://alice@sig.caph.local:5432/cq?sslmode=verify-full'
>>> check_no_password("postgresql://alice:secret@sig/cq")
Traceback (most recent call last):
...
cq_geo.errors.DataError: l'adresse du magasin partagé contient un mot de passe : retirez-le et mettez-le dans ~/.pgpass (ou utilisez un service de pg_service.conf) — un mot de passe ne doit figurer ni dans une ligne de commande ni dans une variable d'environnement
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import DataError, MissingDependency

__all__ = ["is_shared", "shared_url", "safe_label", "check_no_password", "connect", "init_shared", "PgStore",
           "shared_store_rows", "pull", "schema_name", "qgis_layer_sources", "role_names", "SCHEMA_VERSION",
           "sql_tier_ids", "lookup_columns", "schema_layers"]

#: Version of the shared schema written by this cq-geo (``cq_schema.version``); ``init-shared --upgrade`` migrates.
#: 2: the tiers come from the territory file (``cq_tiers``, one table per tier, ``cq_lookup`` columns per tier).
SCHEMA_VERSION = 2
#: Tier ids that would clash with a table, a kind of the lookup index or a column of ``cq_lookup``.
_RESERVED_TIER_IDS = frozenset({"communes", "commune", "qpv2015", "history", "outline", "qpv_search", "zone",
                                "spatial_ref_sys", "geometry_columns", "geography_columns"})
_SQL_TIER_ID = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
_SQL_DIR = Path(__file__).resolve().parent / "sql"
_PREFIXES = ("postgresql://", "postgres://")


# -- addresses ----------------------------------------------------------------------------------
def is_shared(value) -> bool:
    """True when *value* names a PostgreSQL store (``postgresql://…``, ``postgres://…``, ``service=…``)."""
    if value is None:
        return False
    s = str(value).strip()
    return s.startswith(_PREFIXES) or bool(re.match(r"^(service|host|dbname)\s*=", s))


def shared_url(store=None) -> str | None:
    """The shared store named by *store* (``--store``), else by ``CQ_GEO_STORE``; None for a GeoPackage."""
    if store is not None and str(store) != "":
        return str(store).strip() if is_shared(store) else None
    env = os.environ.get("CQ_GEO_STORE", "").strip()
    return env if is_shared(env) else None


def _keyvalues(dsn: str) -> dict[str, str]:
    out = {}
    for m in re.finditer(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", dsn):
        v = m.group(2)
        out[m.group(1).lower()] = v[1:-1] if v.startswith("'") else v
    return out


def check_no_password(url: str) -> None:
    """Refuse an address holding a password (it would show in command lines, ``ps``, logs)."""
    from urllib.parse import parse_qs, urlsplit

    has = False
    if str(url).startswith(_PREFIXES):
        parts = urlsplit(url)
        has = bool(parts.password) or "password" in {k.lower() for k in parse_qs(parts.query)}
    else:
        has = "password" in _keyvalues(url)
    if has:
        raise DataError("l'adresse du magasin partagé contient un mot de passe : retirez-le et mettez-le dans "
                        "~/.pgpass (ou utilisez un service de pg_service.conf) — un mot de passe ne doit figurer ni "
                        "dans une ligne de commande ni dans une variable d'environnement")


def safe_label(url: str) -> str:
    """The address as shown in messages and metadata: never a password."""
    from urllib.parse import urlsplit, urlunsplit

    url = str(url).strip()
    if url.startswith(_PREFIXES):
        p = urlsplit(url)
        host = p.hostname or ""
        netloc = (f"{p.username}@" if p.username else "") + host + (f":{p.port}" if p.port else "")
        query = "&".join(q for q in p.query.split("&") if q and not q.lower().startswith("password="))
        return urlunsplit((p.scheme, netloc, p.path, query, ""))
    return " ".join(f"{k}={v}" for k, v in _keyvalues(url).items() if k != "password")


def _psycopg2():
    try:
        import psycopg2
        import psycopg2.extras  # noqa: F401
    except ImportError as exc:
        raise MissingDependency("le magasin partagé PostgreSQL demande psycopg2 : sudo apt install python3-psycopg2 "
                                "(déjà présent avec QGIS) ou pip install psycopg2-binary") from exc
    return psycopg2


def connect(url: str, *, application_name: str = "cq-geo"):
    """A psycopg2 connection to the shared store *url* (French message when it cannot connect)."""
    check_no_password(url)
    psycopg2 = _psycopg2()
    try:
        con = psycopg2.connect(url, application_name=application_name)
    except psycopg2.OperationalError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"connexion impossible au magasin partagé {safe_label(url)} : {detail} "
                        "(mot de passe : ~/.pgpass ou pg_service.conf)") from None
    return con


def schema_name(definition) -> str:
    """``cq_<territory id>`` (lower case, letters, digits and _)."""
    ident = re.sub(r"[^a-z0-9_]", "_", str(definition.id).lower())
    return f"cq_{ident}"


def role_names(schema: str) -> tuple[str, str]:
    """(readers' role, editors' role) of *schema*."""
    return f"{schema}_lecteur", f"{schema}_editeur"


def _sql(name: str, schema: str, fill: dict[str, str] | None = None) -> str:
    reader, editor = role_names(schema)
    text = (_SQL_DIR / name).read_text(encoding="utf-8")
    for key, value in (fill or {}).items():  # generated fragments (psycopg2.sql, rendered): no « @ » in them
        text = text.replace(f"@{key}@", value)
    return text.replace("@S@", schema).replace("@R@", reader).replace("@E@", editor)


# -- the tiers of the territory file, in SQL ------------------------------------------------------
def sql_tier_ids(definition) -> tuple[str, ...]:
    """The territory file's tier ids, by priority, checked for use as SQL names (table, columns).

    An id is ``[a-z][a-z0-9_]{0,19}`` (as the territory file requires) and is not the
    name of another table or column of the shared schema.

    >>> from cq_geo.model import load_definition
    >>> sql_tier_ids(load_definition())
    ('qpv', 'poche', 'qva')
    """
    from ..model import REGULATORY_TIER

    ids = tuple(definition.tier_ids)
    bad = [t for t in ids if not _SQL_TIER_ID.match(t) or t in _RESERVED_TIER_IDS or t.startswith("cq_")]
    if bad:
        raise DataError(f"niveau(x) {', '.join(f'« {t} »' for t in bad)} du fichier de territoire : identifiant "
                        "inutilisable dans le magasin partagé (il s'écrit en minuscules, chiffres et _, commence par "
                        "une lettre, ne commence pas par « cq_ » et n'est pas l'un de "
                        + ", ".join(sorted(_RESERVED_TIER_IDS)) + ") : renommez-le dans le fichier")
    if REGULATORY_TIER not in ids:
        raise DataError(f"le fichier de territoire doit déclarer le niveau « {REGULATORY_TIER} »")
    return ids


def schema_layers(definition) -> tuple[str, ...]:
    """The spatial tables of the territory's shared schema: ``communes``, ``qpv``, ``qpv2015``, then one per
    locally drawn tier of the territory file, by priority.

    >>> from cq_geo.model import load_definition
    >>> schema_layers(load_definition())
    ('communes', 'qpv', 'qpv2015', 'poche', 'qva')
    """
    from ..model import REGULATORY_TIER

    return ("communes", REGULATORY_TIER, "qpv2015") + tuple(t for t in sql_tier_ids(definition)
                                                            if t != REGULATORY_TIER)


def lookup_columns(definition) -> list[str]:
    """The columns of ``cq_lookup(geom)`` for the territory's tiers (a code/status pair per local tier).

    >>> from cq_geo.model import load_definition
    >>> lookup_columns(load_definition())[7:]
    ['qpv_code', 'qpv_status', 'qpv_distance_m', 'poche_code', 'poche_status', 'qva_code', 'qva_status']
    """
    from ..model import REGULATORY_TIER

    cols = ["tier", "zone_code", "status", "distance_m", "team", "commune_insee", "commune_status",
            "qpv_code", "qpv_status", "qpv_distance_m"]
    for t in sql_tier_ids(definition):
        if t != REGULATORY_TIER:
            cols += [f"{t}_code", f"{t}_status"]
    return cols


def _lookup_fill(cur, schema: str, definition) -> dict[str, str]:
    """The generated parts of ``cq_lookup.sql`` (quoted by psycopg2.sql, rendered with *cur*'s connection)."""
    from psycopg2 import sql

    from ..model import REGULATORY_TIER

    ids = sql_tier_ids(definition)
    local = [(i, t) for i, t in enumerate(ids, 1) if t != REGULATORY_TIER]
    columns = sql.SQL("").join(sql.SQL(", {} text, {} text").format(sql.Identifier(f"{t}_code"),
                                                                     sql.Identifier(f"{t}_status"))
                               for _, t in local)
    kinds = sql.SQL(", ").join(sql.Literal(t) for t in ids)
    outputs = sql.SQL("\n").join(
        sql.SQL("    {} := _codes[{}]; {} := {}.cq_status_name(_sts[{}]);").format(
            sql.Identifier(f"{t}_code"), sql.Literal(i), sql.Identifier(f"{t}_status"),
            sql.Identifier(schema), sql.Literal(i))
        for i, t in local)
    n = len(ids)  # numbers only below: array constants of the tiers' count

    def arr(value, k):
        return ", ".join([value] * k)

    return {"TIER_COLUMNS": columns.as_string(cur), "TIER_KINDS": kinds.as_string(cur),
            "TIER_OUTPUTS": outputs.as_string(cur), "TIER_N": str(n), "TIER_QPV": str(ids.index(REGULATORY_TIER) + 1),
            "TIER_NULLS1": arr("NULL", n + 1), "TIER_ZEROS1": arr("0", n + 1), "TIER_NULLS": arr("NULL", n),
            "TIER_ZEROS": arr("0", n)}


def _tier_statements(cur, schema: str, definition):
    """The per-tier SQL (``sql/tier.sql``) of each locally drawn tier, then the ``cq_local_zones`` view."""
    from psycopg2 import sql

    from ..model import REGULATORY_TIER

    reader, editor = role_names(schema)
    template = sql.SQL((_SQL_DIR / "tier.sql").read_text(encoding="utf-8"))
    local = [t for t in sql_tier_ids(definition) if t != REGULATORY_TIER]
    for t in local:
        yield template.format(schema=sql.Identifier(schema), table=sql.Identifier(t), tier=sql.Literal(t),
                              geom_valid=sql.Identifier(f"{t}_geom_valid"),
                              zone_of_tier=sql.Identifier(f"{t}_zone_of_tier"),
                              geom_idx=sql.Identifier(f"{t}_geom_idx"), readers=sql.Identifier(reader),
                              editors=sql.Identifier(editor))
    parts = [sql.SQL("SELECT tier, code, status, geom::geometry AS geom FROM {}.{}").format(sql.Identifier(schema),
                                                                                          sql.Identifier(t))
             for t in local] or [sql.SQL("SELECT NULL::text AS tier, NULL::text AS code, NULL::text AS status, "
                                         "NULL::geometry AS geom WHERE false")]
    yield sql.SQL("CREATE OR REPLACE VIEW {}.cq_local_zones AS ").format(sql.Identifier(schema)) + \
        sql.SQL(" UNION ALL ").join(parts)
    yield sql.SQL("GRANT SELECT ON {}.cq_local_zones TO {}").format(sql.Identifier(schema), sql.Identifier(reader))


def _schema_tiers(cur, schema: str) -> tuple[str, ...] | None:
    """The tiers the schema was made for (``cq_schema.tiers``), None when it does not say (before version 2)."""
    cur.execute(f"SELECT value FROM {schema}.cq_schema WHERE key = 'tiers'")
    row = cur.fetchone()
    return tuple(t for t in row[0].split(",") if t) if row else None


def _tiers_mismatch(schema: str, label: str, have, want) -> DataError:
    added = [t for t in want if t not in have]
    removed = [t for t in have if t not in want]
    what = []
    if added:
        what.append("déclare " + ", ".join(f"« {t} »" for t in added) + " que le schéma n'a pas")
    if removed:
        what.append("ne déclare plus " + ", ".join(f"« {t} »" for t in removed))
    if not what:
        what.append(f"ordonne les niveaux autrement ({', '.join(want)} au lieu de {', '.join(have)})")
    return DataError(f"le fichier de territoire {' et '.join(what)} (schéma {schema} de {label}, niveaux "
                     f"{', '.join(have)}) : cq-geo data init-shared URL --upgrade met le schéma à jour")


def _db_error(exc, label: str) -> DataError:
    """A French message from a PostgreSQL error (its primary message; never the connection string)."""
    diag = getattr(exc, "diag", None)
    msg = (getattr(diag, "message_primary", None) or str(exc)).strip()
    if getattr(exc, "pgcode", None) == "42501" and "permission" in msg:
        msg += " — ce compte n'a pas le rôle d'éditeur du magasin partagé"
    return DataError(f"magasin partagé {label} : {msg}")


# -- init-shared --------------------------------------------------------------------------------
def _inventory(cur, schema: str) -> set[str]:
    reader, editor = role_names(schema)
    cur.execute("SELECT 'schéma ' || nspname FROM pg_namespace WHERE nspname = %s", (schema,))
    items = {r[0] for r in cur.fetchall()}
    cur.execute("SELECT CASE table_type WHEN 'VIEW' THEN 'vue ' ELSE 'table ' END || table_name "
                "FROM information_schema.tables WHERE table_schema = %s", (schema,))
    items |= {r[0] for r in cur.fetchall()}
    cur.execute("SELECT 'fonction ' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = %s", (schema,))
    items |= {r[0] for r in cur.fetchall()}
    cur.execute("SELECT 'index ' || indexname FROM pg_indexes WHERE schemaname = %s", (schema,))
    items |= {r[0] for r in cur.fetchall()}
    cur.execute("SELECT 'déclencheur ' || t.tgname || ' (' || c.relname || ')' FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND NOT t.tgisinternal", (schema,))
    items |= {r[0] for r in cur.fetchall()}
    cur.execute("SELECT 'colonne ' || table_name || '.' || column_name FROM information_schema.columns "
                "WHERE table_schema = %s", (schema,))
    items |= {r[0] for r in cur.fetchall()}
    cur.execute("SELECT 'rôle ' || rolname FROM pg_roles WHERE rolname IN (%s, %s)", (reader, editor))
    items |= {r[0] for r in cur.fetchall()}
    return items


def _schema_version(cur, schema: str) -> int | None:
    cur.execute("SELECT to_regclass(%s)", (f"{schema}.cq_schema",))
    if cur.fetchone()[0] is None:
        return None
    cur.execute(f"SELECT value FROM {schema}.cq_schema WHERE key = 'version'")
    row = cur.fetchone()
    return int(row[0]) if row else 0


def init_shared(url: str, territory_file=None, upgrade: bool = False) -> dict[str, Any]:
    """Create (or, with *upgrade*, migrate) the shared schema of the territory; idempotent, in one transaction.

    The tiers come from the territory file: a tier newly declared there is a
    migration (its table, constraints, triggers, grants, and ``cq_lookup``'s
    columns), made with *upgrade*. Returns ``{"schema", "created": [...],
    "version", "readers", "editors", "communes_seeded", "tiers",
    "tiers_added"}``: what was created (empty when everything was already there).
    """
    from ..geo.layers import DEFAULT_TOLERANCES
    from ..model import load_definition

    definition = load_definition(territory_file)
    tiers = sql_tier_ids(definition)
    schema = schema_name(definition)
    label = safe_label(url)
    con = connect(url, application_name="cq-geo init-shared")
    psycopg2 = _psycopg2()
    try:
        with con:
            cur = con.cursor()
            cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
            created_ext = False
            if cur.fetchone() is None:
                try:
                    cur.execute("CREATE EXTENSION postgis")
                    created_ext = True
                except psycopg2.Error as exc:
                    raise DataError(f"magasin partagé {label} : l'extension PostGIS manque et ne peut pas être "
                                    f"créée avec ce compte ({exc.diag.message_primary}) — demandez à "
                                    "l'administrateur : CREATE EXTENSION postgis;") from None
            version = _schema_version(cur, schema)
            if version is not None and version < SCHEMA_VERSION and not upgrade:
                raise DataError(f"le schéma {schema} de {label} est en version {version}, cette version de cq-geo "
                                f"attend la version {SCHEMA_VERSION} : cq-geo data init-shared URL --upgrade")
            if version is not None and version > SCHEMA_VERSION:
                raise DataError(f"le schéma {schema} de {label} (version {version}) est plus récent que cette "
                                f"version de cq-geo (version {SCHEMA_VERSION}) : mettez cq-geo à jour")
            had_tiers = _schema_tiers(cur, schema) if version == SCHEMA_VERSION else None
            if had_tiers is not None and had_tiers != tiers and not upgrade:
                raise _tiers_mismatch(schema, label, had_tiers, tiers)
            before = _inventory(cur, schema)
            cur.execute(_sql("shared_schema.sql", schema))
            cur.execute(_sql("ban.sql", schema))  # the offline geocoder's address index (data import ban)
            cur.execute(_sql("upgrade.sql", schema))
            _drop_lookup_if_columns_differ(cur, schema, definition)
            cur.execute(_sql("cq_lookup.sql", schema, _lookup_fill(cur, schema, definition)))
            for statement in _tier_statements(cur, schema, definition):
                cur.execute(statement)
            cur.execute(f"INSERT INTO {schema}.cq_schema VALUES ('version', %s), ('territory', %s), ('tiers', %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                        (str(SCHEMA_VERSION), definition.id, ",".join(tiers)))
            _fill_tiers(cur, schema, definition)
            _fill_definition(cur, schema, definition, DEFAULT_TOLERANCES)
            seeded = _seed_communes(cur, schema, definition)
            tiers_added = _seed_tier_metadata(cur, schema, definition, first=version is None)
            cur.execute(f"SELECT {schema}.cq_refresh_lookup_index()")
            after = _inventory(cur, schema)
    except psycopg2.Error as exc:
        raise _db_error(exc, label) from None
    finally:
        con.close()
    new = after - before
    new_tables = {c.split(" ", 1)[1] for c in new if c.startswith(("table ", "vue "))}
    created = sorted(c for c in new if not (c.startswith("colonne ") and c.split(" ", 1)[1].split(".")[0] in new_tables))
    if created_ext:
        created.insert(0, "extension postgis")
    reader, editor = role_names(schema)
    return {"schema": schema, "store": label, "created": created, "version": SCHEMA_VERSION,
            "previous_version": version, "readers": reader, "editors": editor, "communes_seeded": seeded,
            "tiers": list(tiers), "tiers_added": tiers_added}


def init_shared_text(report: dict[str, Any]) -> str:
    """The French summary of :func:`init_shared`."""
    lines = [f"Magasin partagé {report['store']}, schéma {report['schema']} (version {report['version']})"]
    if report["previous_version"] is not None and report["previous_version"] < report["version"]:
        lines.append(f"  migré depuis la version {report['previous_version']}")
    if report["created"]:
        lines.append(f"  créé ({len(report['created'])}) :")
        lines.extend(f"    + {c}" for c in report["created"])
    else:
        lines.append("  déjà en place : rien à créer")
    lines.append(f"  niveaux (fichier de territoire, par priorité) : {', '.join(report['tiers'])}")
    if report["tiers_added"]:
        lines.append(f"  niveau(x) ajouté(s) au schéma : {', '.join(report['tiers_added'])} (table, contraintes, "
                     "déclencheurs, droits, colonnes de cq_lookup)")
    if report["communes_seeded"]:
        lines.append(f"  {report['communes_seeded']} contours de communes chargés (contours embarqués, simplifiés : "
                     "cq-geo data update --store … pour les contours officiels)")
    lines.append(f"  lecteurs : GRANT {report['readers']} TO identifiant;   "
                 f"éditeurs : GRANT {report['editors']} TO identifiant;")
    return "\n".join(lines)


def _drop_lookup_if_columns_differ(cur, schema: str, definition) -> None:
    """``cq_lookup``'s columns follow the tiers: CREATE OR REPLACE cannot change them, so drop it first."""
    cur.execute("SELECT p.proargnames FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = %s AND p.proname = 'cq_lookup'", (schema,))
    row = cur.fetchone()
    if row is not None and list(row[0] or [])[1:] != lookup_columns(definition):
        cur.execute(f"DROP FUNCTION {schema}.cq_lookup(geometry)")


def _fill_tiers(cur, schema: str, definition) -> None:
    """``cq_tiers`` from the territory file (values as parameters, never in the SQL text)."""
    ids = sql_tier_ids(definition)
    cur.execute(f"DELETE FROM {schema}.cq_tiers WHERE id <> ALL(%s)", (list(ids),))
    for t in ids:
        tier = definition.tiers[t]
        cur.execute(f"INSERT INTO {schema}.cq_tiers (id, label, priority, regulatory, edge_m, near_m, teams, layer) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET label = EXCLUDED.label, "
                    "priority = EXCLUDED.priority, regulatory = EXCLUDED.regulatory, edge_m = EXCLUDED.edge_m, "
                    "near_m = EXCLUDED.near_m, teams = EXCLUDED.teams, layer = EXCLUDED.layer",
                    (t, tier.label, tier.priority, bool(tier.regulatory), tier.edge_m, tier.near_m, bool(tier.teams),
                     t))


def _seed_tier_metadata(cur, schema: str, definition, first: bool) -> list[str]:
    """A « missing » metadata row for each tier without one (a tier newly declared: recorded as a change)."""
    cur.execute(f"SELECT layer FROM {schema}.cq_layers")
    have = {r[0] for r in cur.fetchall()}
    new = [t for t in sql_tier_ids(definition) if t not in have]
    if new:  # (at creation, the change that seeded the communes goes on: its description stays)
        _begin_change(cur, "création du magasin partagé" if first else
                      f"niveau(x) ajouté(s) au magasin partagé : {', '.join(new)}", "cq-geo")
    for t in new:
        _set_metadata(cur, schema, t, status="missing", feature_count=0, imported_at="", source="", note="")
    return [] if first else new


def _fill_definition(cur, schema: str, definition, tolerances) -> None:
    for i, z in enumerate(definition.zones):
        cur.execute(f"INSERT INTO {schema}.cq_zones (code, tier, name, geometry, communes, shared, ord) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (code) DO UPDATE SET tier = EXCLUDED.tier, "
                    "name = EXCLUDED.name, geometry = EXCLUDED.geometry, communes = EXCLUDED.communes, "
                    "shared = EXCLUDED.shared, ord = EXCLUDED.ord",
                    (z.code, z.tier, z.name, z.geometry, list(z.communes), bool(z.shared), i))
    for i, insee in enumerate(definition.communes):
        team = definition.team_of(insee)
        cur.execute(f"INSERT INTO {schema}.cq_territory_communes VALUES (%s, %s, %s, %s) ON CONFLICT (insee) "
                    "DO UPDATE SET name = EXCLUDED.name, team = EXCLUDED.team, ord = EXCLUDED.ord",
                    (insee, definition.commune_name(insee) or "", team.id if team else "", i))
    for status, (edge, near) in tolerances.items():
        cur.execute(f"INSERT INTO {schema}.cq_tolerances VALUES (%s, %s, %s) ON CONFLICT (status) DO UPDATE "
                    "SET edge_m = EXCLUDED.edge_m, near_m = EXCLUDED.near_m", (status, edge, near))


def _seed_communes(cur, schema: str, definition) -> int:
    """First creation: the embedded commune outlines and the metadata rows, recorded as one change."""
    from ..geo.layers import LayerInfo
    from .common import baseline_polygons, now_iso
    from .polygons import polygons_wkb

    cur.execute(f"SELECT count(*) FROM {schema}.communes")
    if cur.fetchone()[0]:
        return 0
    polys, meta = baseline_polygons()
    codes = [c for c in definition.communes if c in polys]
    _begin_change(cur, "création du magasin partagé (contours embarqués)", "cq-geo")
    for c in codes:
        cur.execute(f"INSERT INTO {schema}.communes (geom, insee, name) VALUES "
                    "(ST_Multi(ST_GeomFromWKB(%s, 2154)), %s, %s)",
                    (polygons_wkb(polys[c]), c, definition.commune_name(c) or ""))
    info = LayerInfo("communes", status=meta.get("status", "simplified"), edge_m=meta.get("edge_m"),
                     near_m=meta.get("near_m"))
    now = now_iso()
    _set_metadata(cur, schema, "communes", source=meta.get("source", ""), publisher=meta.get("publisher", ""),
                  licence=meta.get("licence", ""), vintage=meta.get("vintage", ""), sha256=meta.get("sha256", ""),
                  imported_at=now, status=info.status, feature_count=len(codes), edge_m=info.edge_m,
                  near_m=info.near_m, note="contours embarqués (cq-geo)")
    return len(codes)  # the tiers' metadata rows: _seed_tier_metadata


def _begin_change(cur, description: str, author: str) -> None:
    cur.execute("SELECT set_config('cq.description', %s, true), set_config('cq.author', %s, true), "
                "set_config('cq.batch', 'on', true)", (description, author or ""))


_METADATA_COLUMNS = ("layer", "source", "publisher", "licence", "vintage", "sha256", "imported_at", "status",
                     "feature_count", "edge_m", "near_m", "note")


def _set_metadata(cur, schema: str, layer: str, **values) -> None:
    unknown = set(values) - set(_METADATA_COLUMNS)
    if unknown:
        raise ValueError(f"unknown metadata columns: {sorted(unknown)}")
    cur.execute(f"INSERT INTO {schema}.cq_layers (layer) VALUES (%s) ON CONFLICT (layer) DO NOTHING", (layer,))
    if values:
        sets = ", ".join(f"{k} = %s" for k in values)
        cur.execute(f"UPDATE {schema}.cq_layers SET {sets} WHERE layer = %s", (*values.values(), layer))


# -- the store ----------------------------------------------------------------------------------
_NO_SIDE_TABLES = ("le magasin partagé ne garde que ses couches et l'index d'adresses (BAN, écrit par cq-geo data "
                   "import ban FICHIER --store …) : pas d'autre table")


class PgChange:
    """One change of the shared store: writes are buffered, then run in one transaction (see :meth:`PgStore.change`)."""

    def __init__(self, store: "PgStore", description: str):
        self.store = store
        self.description = description
        self.ops: list[tuple] = []
        self.authors: list[str] = []
        self.validating = False

    def write_features(self, layer: str, rows: list[dict[str, Any]]) -> None:
        """Replace the features of *layer* (dicts of its columns plus ``"polys"``), matched by zone code."""
        self.ops.append(("features", layer, rows))

    def write_layer(self, layer: str, frame) -> None:
        from .common import CRS, LAYER_COLUMNS
        from .polygons import polys_of

        if frame.crs is not None and frame.crs.to_epsg() != 2154:
            frame = frame.to_crs(CRS)
        cols = [c for c in LAYER_COLUMNS[layer] if c in frame.columns]
        rows = [{**dict(zip(cols, values)), "polys": polys_of(g)}
                for values, g in zip(frame[cols].itertuples(index=False, name=None), frame.geometry.values)]
        self.write_features(layer, rows)

    def set_metadata(self, layer: str, **values: Any) -> None:
        self.ops.append(("metadata", layer, values))

    def append_history(self, rows: list[dict[str, Any]]) -> None:
        """The trigger writes the history; this records who (``author``) and whether it validates."""
        for r in rows:
            if r.get("author"):
                self.authors.append(str(r["author"]))
            if r.get("action") == "validate":
                self.validating = True

    def write_table(self, name: str, data, **_kw) -> int:
        raise DataError(_NO_SIDE_TABLES)

    def connect(self):
        raise DataError(_NO_SIDE_TABLES)

    def run(self, cur) -> None:
        from .common import CODE_COLUMN, LAYER_COLUMNS, column_value
        from .polygons import polygons_wkb

        schema = self.store.schema
        author = next((a for a in self.authors if a and a != "cq-geo"), "") or (self.authors[0] if self.authors else "")
        _begin_change(cur, self.description, author or self.store.user_label())
        if self.validating:
            cur.execute("SELECT set_config('cq.validating', 'on', true)")
        for op in self.ops:
            if op[0] == "metadata":
                _set_metadata(cur, schema, op[1], **op[2])
                continue
            _, layer, rows = op
            code_col = CODE_COLUMN[layer]
            cols = [c for c in LAYER_COLUMNS[layer]]
            cur.execute(f"SELECT {code_col} FROM {schema}.{layer}")
            present = {r[0] for r in cur.fetchall()}
            keep = {str(r.get(code_col)) for r in rows}
            gone = sorted(present - keep)
            if gone:
                cur.execute(f"DELETE FROM {schema}.{layer} WHERE {code_col} = ANY(%s)", (gone,))
            for r in rows:
                values = [column_value(layer, c, r.get(c)) for c in cols]
                wkb = polygons_wkb(r.get("polys") or [])
                code = str(r.get(code_col))
                if code in present:
                    sets = ", ".join(f"{c} = %s" for c in cols)
                    cur.execute(f"UPDATE {schema}.{layer} SET geom = ST_Multi(ST_GeomFromWKB(%s, 2154)), {sets} "
                                f"WHERE {code_col} = %s", (wkb, *values, code))
                else:
                    cur.execute(f"INSERT INTO {schema}.{layer} (geom, {', '.join(cols)}) VALUES "
                                f"(ST_Multi(ST_GeomFromWKB(%s, 2154)), {', '.join(['%s'] * len(cols))})",
                                (wkb, *values))


class PgStore:
    """The shared store (PostGIS) behind the interface of :class:`cq_geo.data.gpkg_store.Store`.

    >>> PgStore("service=cq-caph").label
    'service=cq-caph'
    """

    def __init__(self, url: str, territory_file=None):
        self.url = str(url).strip()
        check_no_password(self.url)
        from ..model import load_definition

        self.definition = load_definition(territory_file)
        self.schema = schema_name(self.definition)
        self.label = safe_label(self.url)
        #: the territory file's tiers (checked for SQL) and the layers of the schema: communes, qpv, qpv2015, a
        #: table per locally drawn tier
        self.tier_ids = sql_tier_ids(self.definition)
        self.layer_names = schema_layers(self.definition)
        # local scratch folder (downloads of data update), never the store itself
        self.path = Path(tempfile.gettempdir()) / f"cq-geo-partage-{self.schema}" / "magasin"

    def __repr__(self) -> str:
        return f"PgStore({self.label!r})"

    def __str__(self) -> str:
        return f"{self.label} (schéma {self.schema})"

    @staticmethod
    def user_label() -> str:
        import getpass

        with contextlib.suppress(Exception):
            return getpass.getuser()
        return ""

    # -- connections ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def cursor(self, write: bool = False) -> Iterator[Any]:
        """A cursor in one transaction (read only unless *write*), committed on success."""
        psycopg2 = _psycopg2()
        con = connect(self.url)
        try:
            con.set_session(readonly=not write, isolation_level=None if write else "REPEATABLE READ")
            with con:
                with con.cursor() as cur:
                    yield cur
        except psycopg2.Error as exc:
            raise _db_error(exc, self.label) from None
        finally:
            con.close()

    def exists(self) -> bool:
        with self.cursor() as cur:
            return _schema_version(cur, self.schema) is not None

    def create(self, territory_file=None) -> bool:
        raise DataError(f"le magasin partagé {self.label} n'a pas encore de schéma {self.schema} : le responsable SIG "
                        f"le crée avec cq-geo data init-shared {self.label}")

    def remove(self) -> None:  # nothing was created by an import (see create)
        return None

    def _check_version(self, cur) -> None:
        version = _schema_version(cur, self.schema)
        if version is None:
            self.create()
        if version != SCHEMA_VERSION:
            raise DataError(f"le schéma {self.schema} de {self.label} est en version {version}, cette version de "
                            f"cq-geo attend la version {SCHEMA_VERSION} : cq-geo data init-shared URL --upgrade")
        have = _schema_tiers(cur, self.schema)
        if have != self.tier_ids:
            raise _tiers_mismatch(self.schema, self.label, have or (), self.tier_ids)
        # the tolerances cq_lookup uses are the file's (init-shared copies them into cq_tiers)
        cur.execute(f"SELECT id, edge_m, near_m FROM {self.schema}.cq_tiers")
        stored = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
        tiers = self.definition.tiers
        stale = [t for t in self.tier_ids if stored.get(t) != (tiers[t].edge_m, tiers[t].near_m)]
        if stale:
            def metres(pair):
                return " / ".join("selon le statut" if v is None else f"{v:g} m" for v in pair)

            detail = "; ".join(f"« {t} » : {metres((tiers[t].edge_m, tiers[t].near_m))} dans le fichier, "
                               f"{metres(stored.get(t, (None, None)))} dans le schéma" for t in stale)
            raise DataError(f"les tolérances du fichier de territoire ne sont plus celles du schéma {self.schema} de "
                            f"{self.label} ({detail}) : cq-geo data init-shared URL les reporte")

    # -- lock ---------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, timeout: float | None = None, notice: Callable[[str], None] | None = None):
        """Hold the writers' advisory lock of the schema (re-entrant in a thread); a waiting writer is told so."""
        from .common import LOCK_TIMEOUT_ENV
        from .journal import drop_lock, hold_lock, lock_timeout, reenter_lock

        key = (self.url, self.schema, threading.get_ident())
        nested = reenter_lock(key)
        if nested is not None:
            with nested:
                yield self
            return
        timeout = lock_timeout(timeout)
        con = connect(self.url, application_name="cq-geo (verrou d'écriture)")
        con.autocommit = True
        try:
            cur = con.cursor()
            cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self.schema,))
            if not cur.fetchone()[0]:
                cur.execute("SELECT a.pid, a.usename, a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                            "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.objid = "
                            "(hashtext(%s)::bigint & 4294967295)::oid LIMIT 1", (self.schema,))
                who = cur.fetchone()
                other = f" ({who[1]}, processus {who[0]})" if who else ""
                msg = (f"le magasin partagé {self.label} est en cours de modification par une autre commande{other} : "
                       f"attente de la fin (au plus {timeout:.0f} s)…")
                (notice or (lambda m: print(f"cq-geo : {m}", file=sys.stderr, flush=True)))(msg)
                deadline = time.monotonic() + timeout
                while True:
                    cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self.schema,))
                    if cur.fetchone()[0]:
                        break
                    if time.monotonic() > deadline:
                        raise DataError(f"le magasin partagé {self.label} est toujours en cours de modification après "
                                        f"{timeout:.0f} s : réessayez plus tard (délai : variable {LOCK_TIMEOUT_ENV})")
                    time.sleep(0.1)
            hold_lock(key, con)
            try:
                yield self
            finally:
                drop_lock(key)
        finally:
            con.close()  # ends the session: the lock goes with it (also when the process is killed)

    # -- reading ------------------------------------------------------------------------------------
    def metadata(self) -> dict[str, dict[str, Any]]:
        with self.cursor() as cur:
            self._check_version(cur)
            cur.execute(f"SELECT {', '.join(_METADATA_COLUMNS)} FROM {self.schema}.cq_layers")
            return {r[0]: dict(zip(_METADATA_COLUMNS, r)) for r in cur.fetchall()}

    def layer_info(self, layer: str):
        from .common import info_from_row

        return info_from_row(layer, self.metadata().get(layer))

    def layers(self) -> list[str]:
        meta = self.metadata()
        return [name for name in self.layer_names if meta.get(name, {}).get("status") not in (None,)]

    def polygon_rows(self, layer: str) -> list[dict[str, Any]]:
        """Rows of *layer* with numpy rings under ``"polys"`` (WKB decoded with numpy: no shapely)."""
        from .common import LAYER_COLUMNS
        from .polygons import wkb_polygons

        cols = list(LAYER_COLUMNS[layer])
        with self.cursor() as cur:
            self._check_version(cur)
            cur.execute(f"SELECT fid, ST_AsBinary(geom), {', '.join(cols)} FROM {self.schema}.{layer} ORDER BY fid")
            out = []
            for r in cur.fetchall():
                row = {"fid": r[0], **dict(zip(cols, r[2:]))}
                row["polys"] = wkb_polygons(bytes(r[1])) if r[1] is not None else []
                out.append(row)
        return out

    def rows(self, layer: str) -> list[dict[str, Any]]:
        """Rows of *layer* with a shapely geometry under ``"geometry"``."""
        import shapely

        from .polygons import polygons_wkb

        out = []
        for r in self.polygon_rows(layer):
            polys = r.pop("polys")
            r["geometry"] = shapely.from_wkb(polygons_wkb(polys)) if polys else None
            out.append(r)
        return out

    def history(self, code: str | None = None) -> list[dict[str, Any]]:
        """History rows (oldest first): ``at``, ``layer``, ``code``, ``action``, ``status``, ``author``,
        ``db_user``, ``change`` (the transaction: a state to roll back to) and ``description``."""
        where = "WHERE h.layer <> 'cq_layers'" + (" AND h.code = %s" if code else "")
        with self.cursor() as cur:
            self._check_version(cur)
            cur.execute(f"SELECT h.fid, to_char(h.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), h.layer, "
                        f"h.code, h.action, h.status, h.author, h.db_user, h.source, h.sha256, h.txid, "
                        f"coalesce(c.description, '') FROM {self.schema}.history h LEFT JOIN {self.schema}.cq_change c "
                        f"ON c.txid = h.txid {where} ORDER BY h.fid", (code,) if code else None)
            names = ("fid", "at", "layer", "code", "action", "status", "author", "db_user", "source", "sha256",
                     "change", "description")
            return [dict(zip(names, r)) for r in cur.fetchall()]

    def changes(self) -> list[dict[str, Any]]:
        """The recorded changes (states), oldest first: ``change``, ``at``, ``author``, ``db_user``,
        ``description``, ``rows``."""
        with self.cursor() as cur:
            self._check_version(cur)
            cur.execute(f"SELECT h.txid, to_char(min(h.at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                        f"coalesce(max(c.author), max(h.author)), max(h.db_user), coalesce(max(c.description), ''), "
                        f"count(*) FILTER (WHERE h.layer <> 'cq_layers'), min(h.fid) "
                        f"FROM {self.schema}.history h LEFT JOIN {self.schema}.cq_change c ON c.txid = h.txid "
                        f"GROUP BY h.txid ORDER BY min(h.fid)")
            names = ("change", "at", "author", "db_user", "description", "rows", "first_fid")
            return [dict(zip(names, r)) for r in cur.fetchall()]

    # -- writing -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def change(self, description: str, validate=None) -> Iterator[PgChange]:
        """One change, in one transaction, under the writers' lock: all of it is committed, or nothing."""
        from .common import crash_point

        psycopg2 = _psycopg2()
        with self.writing():
            work = PgChange(self, description)
            yield work
            con = connect(self.url, application_name="cq-geo")
            try:
                with con:
                    cur = con.cursor()
                    self._check_version(cur)
                    work.run(cur)
                    cur.execute(f"SELECT {self.schema}.cq_refresh_lookup_index()")
                    self._validate(cur)
                    crash_point("pg-change:before-commit")
            except psycopg2.Error as exc:
                raise _db_error(exc, self.label) from None
            finally:
                con.close()

    def _validate(self, cur) -> None:
        cur.execute(f"SELECT layer, feature_count FROM {self.schema}.cq_layers")
        for layer, count in cur.fetchall():
            if layer in self.layer_names:
                cur.execute(f"SELECT count(*) FROM {self.schema}.{layer}")
                n = cur.fetchone()[0]
                if n != count:
                    raise DataError(f"magasin partagé {self.label} : la couche « {layer} » compterait {n} entités, "
                                    f"ses métadonnées {count} — modification annulée")

    def rollback(self, to: int | None = None) -> dict[str, Any]:
        """Go back to the state after change *to* (a ``change`` of :meth:`changes`), or before the last change.

        The rollback is itself a change (a second ``rollback`` undoes it).
        Returns ``{"undone": rows, "to": change}``.
        """
        psycopg2 = _psycopg2()
        with self.writing():
            changes = self.changes()
            if to is None:
                if len(changes) < 2:
                    raise DataError(f"aucun état précédent à restaurer dans {self.label} (aucune modification depuis "
                                    "la création)")
                target_fid = changes[-1]["first_fid"] - 1
                target = changes[-2]
            else:
                match = [c for c in changes if c["change"] == int(to)]
                if not match:
                    raise DataError(f"état inconnu : {to} (cq-geo data history --store … liste les états)")
                target = match[0]
                later = [c for c in changes if c["first_fid"] > target["first_fid"]]
                if not later:
                    raise DataError(f"le magasin partagé est déjà dans l'état {to}")
                target_fid = later[0]["first_fid"] - 1
            con = connect(self.url, application_name="cq-geo")
            try:
                with con:
                    cur = con.cursor()
                    _begin_change(cur, f"retour à l'état {target['change']} ({target['at']}, {target['description']})",
                                  self.user_label())
                    cur.execute(f"SELECT {self.schema}.cq_undo_after(%s)", (target_fid,))
                    undone = cur.fetchone()[0]
                    cur.execute(f"SELECT {self.schema}.cq_refresh_lookup_index()")
                    self._validate(cur)
            except psycopg2.Error as exc:
                raise _db_error(exc, self.label) from None
            finally:
                con.close()
        return {"undone": undone, "to": target}

    def write_table(self, name: str, data, **kw) -> int:
        raise DataError(_NO_SIDE_TABLES)


# -- QGIS --------------------------------------------------------------------------------------------
def qgis_layer_sources(url: str, territory_file=None) -> list[tuple[str, str]]:
    """``(layer name, data source)`` pairs to open the shared layers with QGIS's ``postgres`` provider.

    The source holds the connection as given (a ``service=`` stays a service,
    so QGIS reads ``pg_service.conf`` and its own authentication database;
    TLS settings are kept); never a password. For the plugin::

        for name, source in qgis_layer_sources(url):
            QgsProject.instance().addMapLayer(QgsVectorLayer(source, name, "postgres"))

    >>> print(qgis_layer_sources("service=cq-caph")[3][1])
    service='cq-caph' key='fid' srid=2154 type=MultiPolygon checkPrimaryKeyUnicity='0' table="cq_caph"."poche" (geom)
    """
    from urllib.parse import parse_qsl, unquote, urlsplit

    from ..model import load_definition

    check_no_password(url)
    url = str(url).strip()
    if url.startswith(_PREFIXES):
        p = urlsplit(url)
        kv = {"dbname": unquote(p.path.lstrip("/")), "host": p.hostname or "", "port": str(p.port or ""),
              "user": unquote(p.username or "")}
        kv.update({k.lower(): v for k, v in parse_qsl(p.query)})
    else:
        kv = _keyvalues(url)
    order = ["service", "dbname", "host", "port", "user", "sslmode", "sslrootcert", "sslcert", "sslkey",
             "authcfg"]
    conn = " ".join(f"{k}='{kv[k]}'" if k not in ("port",) else f"{k}={kv[k]}"
                    for k in order + sorted(set(kv) - set(order)) if kv.get(k))
    definition = load_definition(territory_file)
    schema = schema_name(definition)
    out = []
    for layer in schema_layers(definition):  # (tier ids checked before they go into a data source)
        out.append((layer, f"{conn} key='fid' srid=2154 type=MultiPolygon checkPrimaryKeyUnicity='0' "
                           f'table="{schema}"."{layer}" (geom)'))
    out.append(("history", f"{conn} key='fid' srid=2154 type=MultiPolygon checkPrimaryKeyUnicity='0' "
                           f'table="{schema}"."history" (geom)'))
    return out


# -- territory from the shared store ------------------------------------------------------------
def shared_store_rows(url: str, territory_file=None):
    """The territory's geometries and metadata in the committed state of the shared store
    (a :class:`~cq_geo.data.common.StoreRows`: :func:`cq_geo.territory.territory_from_rows` builds the territory).

    Geometries travel as WKB and are read with numpy (:func:`cq_geo.geo.gpkg.read_wkb`): no shapely, no GDAL.
    """
    from ..geo.gpkg import read_wkb
    from .common import LAYER_COLUMNS, StoreRows

    store = PgStore(url, territory_file=territory_file)
    meta = store.metadata()
    rows = {}
    with store.cursor() as cur:  # one read-only transaction: every layer from the same committed state
        for layer in ("communes",) + store.tier_ids:
            cols = list(LAYER_COLUMNS[layer])
            cur.execute(f"SELECT ST_AsBinary(geom), {', '.join(cols)} FROM {store.schema}.{layer} ORDER BY fid")
            rows[layer] = [{**dict(zip(cols, r[1:])), "geometry": read_wkb(bytes(r[0])) if r[0] is not None else None}
                           for r in cur.fetchall()]
    tier_rows = {t: rows[t] for t in store.tier_ids}
    return StoreRows(meta, rows["communes"], tier_rows, store.definition, store.label)


# -- pull: a local copy for working offline -------------------------------------------------------
def pull(url: str, local=None, territory_file=None, also: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Copy the shared layers into the local GeoPackage *local* (one atomic change), with their provenance.

    The copy records where it comes from and when (table ``cq_shared_copy``;
    ``cq-geo data status`` says how old it is). *also*: ``also(work)`` copies
    more into the same change (``cq-geo data pull`` passes
    :func:`cq_geo.geocode.ban_index.shared_index_copier`: the BAN address
    index); what it returns is under ``"also"``. Returns what was copied.
    """
    from .common import CODE_COLUMN, geometry_changes, now_iso
    from .gpkg_store import open_local_store

    if shared_url(local) or (local is None and shared_url(None)):
        raise DataError("data pull copie le magasin partagé dans un GeoPackage local : indiquez-le avec "
                        "--store FICHIER.gpkg")
    shared = PgStore(url, territory_file=territory_file)
    meta = shared.metadata()
    layers = {layer: shared.polygon_rows(layer) for layer in shared.layer_names if layer in meta}
    changes = shared.changes()
    last = changes[-1] if changes else {"change": 0, "at": ""}
    store = open_local_store(local, create=True, territory_file=territory_file)
    now = now_iso()
    copied = {}
    with store.change(f"copie de {shared.label}") as work:
        for layer, rows in layers.items():
            old = store.polygon_rows(layer) if layer in store.layers() else []
            added, replaced, removed = geometry_changes(old, rows, CODE_COLUMN[layer])
            for r in rows:
                r.pop("fid", None)
            work.write_features(layer, rows)
            m = {k: v for k, v in meta[layer].items() if k != "layer"}
            m["feature_count"] = len(rows)
            m["note"] = (f"copie du magasin partagé {shared.label} (schéma {shared.schema}, état {last['change']} du "
                         f"{last['at']}) faite le {now}" + (f" ; {m['note']}" if m.get("note") else ""))
            work.set_metadata(layer, **m)
            by = {r[CODE_COLUMN[layer]]: r for r in rows}
            work.append_history([{"layer": layer, "code": c, "action": "pull", "status": by[c].get("status") or
                                  m.get("status"), "author": "cq-geo data pull", "source": shared.label,
                                  "polys": by[c]["polys"], "at": now} for c in added + replaced])
            copied[layer] = {"features": len(rows), "added": added, "replaced": replaced, "removed": removed}
        work.write_table("cq_shared_copy", {"source": [shared.label], "schema": [shared.schema],
                                            "state": [str(last["change"])], "state_at": [last["at"]],
                                            "pulled_at": [now]},
                         description="cq-geo : copie locale du magasin partagé (origine, date)")
        extra = also(work) if also is not None else None
    return {"from": shared.label, "schema": shared.schema, "to": str(store.path), "state": last["change"],
            "state_at": last["at"], "pulled_at": now, "layers": copied, "also": extra}


def copy_age(store_path) -> dict[str, Any] | None:
    """Where a local GeoPackage was copied from and how old the copy is (None when it is not a copy)."""
    import sqlite3

    from .common import connect_ro, table_names

    try:
        con = connect_ro(Path(store_path))
        try:
            if "cq_shared_copy" not in table_names(con):
                return None
            row = con.execute("SELECT source, schema, state, state_at, pulled_at FROM cq_shared_copy "
                              "ORDER BY fid DESC LIMIT 1").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    if not row:
        return None
    source, schema, state, state_at, pulled_at = row
    age = datetime.now(timezone.utc) - datetime.strptime(pulled_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return {"source": source, "schema": schema, "state": state, "state_at": state_at, "pulled_at": pulled_at,
            "age_hours": round(age.total_seconds() / 3600, 1), "age_text": _age_text(age.total_seconds())}


def _age_text(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(int(seconds // 60), 0)} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} jours"


# -- the BAN address index (offline geocoder) ---------------------------------------------------------
#: The index's tables in the territory's schema (``sql/ban.sql``): the same tables and columns as the local
#: index of :mod:`cq_geo.geocode.ban_index`, which writes and reads them through the functions below.
BAN_TABLES = ("cq_ban_streets", "cq_ban_numbers", "cq_ban_meta")
BAN_STREET_COLUMNS = ("street_id", "name", "key", "kind", "code_insee", "nom_commune", "code_postal",
                      "code_insee_ancienne", "nom_ancienne", "lon", "lat", "lon_min", "lat_min", "lon_max",
                      "lat_max", "n")
BAN_NUMBER_COLUMNS = ("street_id", "numero", "rep", "lon", "lat")
#: The order of the numbers (bytewise, as SQLite's: the same arrays from both stores).
BAN_NUMBER_ORDER = 'street_id, numero, rep COLLATE "C", lon, lat'


def _ban_tables_present(cur, schema: str) -> bool:
    cur.execute("SELECT count(to_regclass(t)) FROM unnest(%s::text[]) t", ([f"{schema}.{t}" for t in BAN_TABLES],))
    return cur.fetchone()[0] == len(BAN_TABLES)


def _ban_tables_missing(store: "PgStore") -> str:
    return (f"le schéma {store.schema} de {store.label} n'a pas encore les tables de l'index BAN (créé avant "
            f"cette version de cq-geo) : le responsable SIG les ajoute avec cq-geo data init-shared {store.label}")


def _copy_value(value) -> str:
    """One field of PostgreSQL's COPY text format (floats written exactly: ``repr``).

    >>> [_copy_value(v) for v in (None, 3.3882831, 12, "Rue\\tdu\\\\Test")]
    ['\\\\N', '3.3882831', '12', 'Rue\\\\tdu\\\\\\\\Test']
    """
    if value is None:
        return "\\N"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_rows(cur, table: str, columns, rows) -> None:
    import io

    buf = io.StringIO()
    buf.writelines("\t".join(map(_copy_value, r)) + "\n" for r in rows)
    buf.seek(0)
    cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buf, size=1 << 20)


def write_shared_ban(url: str, streets, numbers, meta_rows, territory_file=None) -> str:
    """Replace the BAN index of the shared store *url*: one transaction, under the writers' lock.

    *streets* are rows of :data:`BAN_STREET_COLUMNS`, *numbers* rows of
    :data:`BAN_NUMBER_COLUMNS`, *meta_rows* ``(key, text)`` pairs. The old
    rows are deleted and the new ones loaded with ``COPY`` in the same
    transaction: readers keep answering from the previous index until the
    commit, and an import that fails or is killed leaves it as it was. Only
    the editors' role may write (a reader gets the French refusal). Returns the
    store as shown to the user (never a password).
    """
    from .common import crash_point as _crash_point

    psycopg2 = _psycopg2()
    store = PgStore(url, territory_file=territory_file)
    s = store.schema
    with store.writing():
        con = connect(store.url, application_name="cq-geo data import ban")
        try:
            with con:
                cur = con.cursor()
                store._check_version(cur)
                if not _ban_tables_present(cur, s):
                    raise DataError(_ban_tables_missing(store))
                for table in ("cq_ban_numbers", "cq_ban_streets", "cq_ban_meta"):
                    cur.execute(f"DELETE FROM {s}.{table}")
                _copy_rows(cur, f"{s}.cq_ban_streets", BAN_STREET_COLUMNS, streets)
                _copy_rows(cur, f"{s}.cq_ban_numbers", BAN_NUMBER_COLUMNS, numbers)
                cur.executemany(f"INSERT INTO {s}.cq_ban_meta (key, value) VALUES (%s, %s)", list(meta_rows))
                _crash_point("pg-ban:before-commit")
        except psycopg2.Error as exc:
            raise _db_error(exc, store.label) from None
        finally:
            con.close()
    return str(store)


def read_shared_ban(url: str, territory_file=None, meta_only: bool = False):
    """The BAN index of the shared store *url*, from one committed state: ``(meta_rows, streets, numbers)``.

    ``meta_rows`` are ``(key, text)`` pairs, ``streets`` rows of
    :data:`BAN_STREET_COLUMNS` by ``street_id``, ``numbers`` rows of
    :data:`BAN_NUMBER_COLUMNS` in :data:`BAN_NUMBER_ORDER`. With *meta_only*,
    ``streets`` and ``numbers`` are their row counts. None when the store has
    no index (its tables absent or empty). A reader's account is enough.
    """
    return _read_ban_index(PgStore(url, territory_file=territory_file), meta_only)


def _read_ban_index(store: "PgStore", meta_only: bool = False):
    s = store.schema
    with store.cursor() as cur:  # read only, REPEATABLE READ: meta, streets and numbers of the same import
        store._check_version(cur)
        if not _ban_tables_present(cur, s):
            return None
        cur.execute(f"SELECT key, value FROM {s}.cq_ban_meta ORDER BY key")
        meta = cur.fetchall()
        if not meta:
            return None
        if meta_only:
            cur.execute(f"SELECT (SELECT count(*) FROM {s}.cq_ban_streets), (SELECT count(*) FROM {s}.cq_ban_numbers)")
            n_streets, n_numbers = cur.fetchone()
            return meta, n_streets, n_numbers
        cur.execute(f"SELECT {', '.join(BAN_STREET_COLUMNS)} FROM {s}.cq_ban_streets ORDER BY street_id")
        streets = cur.fetchall()
        cur.execute(f"SELECT {', '.join(BAN_NUMBER_COLUMNS)} FROM {s}.cq_ban_numbers ORDER BY {BAN_NUMBER_ORDER}")
        numbers = cur.fetchall()
    return meta, streets, numbers


def shared_ban_status(store: "PgStore") -> dict[str, Any]:
    """The BAN index in ``data status`` of the shared store: rows, source file, its sha256, import date."""
    got = _read_ban_index(store, meta_only=True)
    if got is None:
        with store.cursor() as cur:
            tables = _ban_tables_present(cur, store.schema)
        from ..vocabulary import ban_file_names

        todo = (f"cq-geo data import ban {ban_file_names(store.definition.departements)} --store {store.label}"
                if tables else
                f"cq-geo data init-shared {store.label} (responsable SIG : ajoute les tables de l'index BAN)")
        return {"present": False, "todo": todo}
    meta, n_streets, n_numbers = got
    m = dict(meta)
    return {"present": True, "numbers": n_numbers, "streets": n_streets, "source": m.get("source", ""),
            "sha256": m.get("sha256", ""), "imported_at": m.get("imported_at", ""),
            "lieux_dits_source": m.get("lieux_dits_source", "")}
