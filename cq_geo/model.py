"""The territory definition: communes, tiers, zones, teams and leads.

Read from ``data/boundaries/territory.toml`` (or any file of the same schema)
and validated on load; every problem is reported in French with where it is.
Pure Python: no geometry here (see :mod:`cq_geo.territory`).

Examples
--------
>>> d = load_definition()
>>> d.siren, len(d.communes), len(d.zones_of("qpv"))
('200042190', 47, 13)
>>> d.team_of("59172").name
'Équipe Sud'
>>> d.team_of("59002") is None   # Abscon: no team in the contract
True
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ImportError:  # Python < 3.11 (QGIS 3.22 on Windows ships 3.9)
    import tomli as tomllib

from .errors import TerritoryFileError

__all__ = [
    "TIERS",
    "REGULATORY_TIER",
    "GEOMETRY_STATUSES",
    "Commune",
    "Tier",
    "Zone",
    "Team",
    "Lead",
    "Definition",
    "load_definition",
    "parse_definition",
    "suggest",
]

#: The tiers of the embedded CAPH file, by priority (QPV > poche > former QVA). Only a default
#: for documentation: the code reads ``Definition.tier_ids`` (any tier declared in the file).
TIERS = ("qpv", "poche", "qva")
#: The regulatory tier every territory has (the national QPV list, by decree).
REGULATORY_TIER = "qpv"
_TIER_ID = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
#: Colours given to tiers whose file names none (map, plugin), by position.
DEFAULT_COLOURS = ("#c0392b", "#e67e22", "#2e86c1", "#8e44ad", "#16a085", "#7f8c8d")
#: Status of a layer's or zone's geometry, from the most to the least reliable.
GEOMETRY_STATUSES = ("official", "validated", "provisional", "simplified", "approximate", "missing")

_INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_SIREN = re.compile(r"^\d{9}$")
_QPV_CODE = re.compile(r"^(QN\d{5}[A-Z]|QN97\d{4}[A-Z]|QP\d{6})$")


@dataclass(frozen=True)
class Commune:
    """A member commune: INSEE code, name, SIREN, postcodes, municipal population."""

    insee: str
    name: str
    siren: str = ""
    postcodes: tuple[str, ...] = ()
    population: int | None = None


@dataclass(frozen=True)
class Tier:
    """A geography tier (``qpv``, ``poche``, ``qva``) and what the contract says of it."""

    id: str
    label: str
    short_label: str
    priority: int
    regulatory: bool = False
    population: int | None = None
    contract_count: int | None = None
    contract_communes: int | None = None
    note: str = ""
    population_is_approximate: bool = False
    #: French forms used by every face (lookup texts, batch reasons, summary, map, plugin)
    plural: str = ""  # « poches de pauvreté »
    feminine: bool = False  # « inconnue », « la poche » vs « le QPV »
    name: str = ""  # the common noun, lower case: « poche de pauvreté »
    colour: str = ""  # map and plugin colour, #rrggbb
    edge_m: float | None = None  # tolerances of its perimeters when the file says them
    near_m: float | None = None
    teams: bool = True  # the team routing (commune -> team) applies to its zones
    heading: str = ""  # title in tables (« QPV 2024 », « Poche de pauvreté »)
    layer_name: str = ""  # title of its layer (« Poches de pauvreté »)

    @property
    def noun(self) -> str:
        """The common noun (« poche de pauvreté », « QPV »)."""
        return self.name or self.short_label

    @property
    def the(self) -> str:
        """« la poche de pauvreté », « le QPV », « l'ancien quartier … »."""
        n = self.noun
        if n[:1].lower() in "aeiouyéèêàâîôûh" and n[:1]:
            return "l'" + n
        return ("la " if self.feminine else "le ") + n

    @property
    def of_the(self) -> str:
        """« de la poche de pauvreté », « du QPV », « de l'ancien quartier … »."""
        t = self.the
        return "du " + t[3:] if t.startswith("le ") else "de " + t


@dataclass(frozen=True)
class Zone:
    """A zone of a tier. ``geometry`` is ``"commune"`` (whole commune) or ``"perimeter"``."""

    tier: str
    code: str
    name: str
    communes: tuple[str, ...]
    geometry: str
    other_communes: tuple[tuple[str, str], ...] = ()  # (insee, name) outside the territory
    population: int | None = None

    @property
    def shared(self) -> bool:
        """True when the zone also covers communes outside the territory."""
        return bool(self.other_communes)


@dataclass(frozen=True)
class Lead:
    """A project lead (or the Cité de l'Emploi's chargée de mission)."""

    id: str
    title: str
    team: str
    orientation: str
    orientation_detail: str
    axis: str
    axis_detail: str
    scope: str
    tiers: tuple[str, ...] = ()

    def to_dict(self, definition: "Definition") -> dict[str, Any]:
        """JSON-ready description with the orientation's and axis' labels."""
        return {
            "id": self.id,
            "title": self.title,
            "team": self.team or None,
            "orientation": self.orientation or None,
            "orientation_label": definition.orientations.get(self.orientation, ""),
            "orientation_detail": self.orientation_detail,
            "axis": self.axis or None,
            "axis_label": definition.axes.get(self.axis, ""),
            "axis_detail": self.axis_detail,
            "scope": self.scope,
        }


@dataclass(frozen=True)
class Team:
    """A territorial team (``nord``/``sud``) and its communes."""

    id: str
    name: str
    communes: tuple[str, ...]


@dataclass
class Definition:
    """A validated territory definition."""

    id: str
    name: str
    short_name: str
    siren: str
    population: int | None
    communes: dict[str, Commune]
    tiers: dict[str, Tier]
    zones: list[Zone]
    orientations: dict[str, str]
    axes: dict[str, str]
    teams: dict[str, Team]
    leads: dict[str, Lead]
    open_questions: list[dict[str, str]] = field(default_factory=list)
    source_path: Path | None = None
    departements: tuple[str, ...] = ()
    #: territory-specific texts ([texts] of the file), e.g. ``contract`` (the contract's name)
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def tier_ids(self) -> tuple[str, ...]:
        """The tiers declared by the file, by priority (1 = strongest)."""
        return tuple(sorted(self.tiers, key=lambda t: (self.tiers[t].priority, t)))

    @property
    def local_tier_ids(self) -> tuple[str, ...]:
        """The tiers whose perimeters the territory draws itself (all but the regulatory QPV)."""
        return tuple(t for t in self.tier_ids if t != REGULATORY_TIER)

    # -- lookups -----------------------------------------------------------
    def zones_of(self, tier: str) -> list[Zone]:
        """The zones of *tier*, in file order."""
        return [z for z in self.zones if z.tier == tier]

    def zone(self, code: str) -> Zone:
        """The zone with *code*; raises :class:`TerritoryFileError` with suggestions."""
        for z in self.zones:
            if z.code == code:
                return z
        raise TerritoryFileError(f"zone inconnue : {code!r}{suggest(code, [z.code for z in self.zones])}")

    def team_of(self, insee: str | None) -> Team | None:
        """The team in charge of commune *insee*, or ``None`` where the contract names none."""
        for team in self.teams.values():
            if insee in team.communes:
                return team
        return None

    def team_leads(self, team_id: str) -> list[Lead]:
        """The leads who are the territorial referents of *team_id*."""
        return [lead for lead in self.leads.values() if lead.team == team_id]

    def tier_leads(self, tier: str) -> list[Lead]:
        """Leads attached to a tier rather than a team (the Cité de l'Emploi for ``qpv``)."""
        return [lead for lead in self.leads.values() if tier in lead.tiers]

    def thematic_leads(self) -> list[Lead]:
        """Leads carrying an orientation for the whole agglomeration."""
        return [lead for lead in self.leads.values() if lead.scope == "agglomeration" and lead.orientation]

    def commune_name(self, insee: str | None) -> str:
        """Name of a member commune ('' when unknown)."""
        commune = self.communes.get(insee or "")
        return commune.name if commune else ""


def suggest(value: str, choices, n: int = 3) -> str:
    """A French « vouliez-vous dire … ? » suffix for a mistyped *value* ('' if none close).

    >>> suggest("QN05905M", ["QN05950M", "QN05951M"])
    ' (vouliez-vous dire : QN05951M, QN05950M ?)'
    """
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=n, cutoff=0.6)
    return f" (vouliez-vous dire : {', '.join(close)} ?)" if close else ""


def load_definition(path: str | Path | None = None) -> Definition:
    """Read and validate a territory file (the embedded one by default)."""
    if path is None:
        from .paths import territory_file

        path = territory_file()
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TerritoryFileError(f"fichier de territoire illisible : {path} ({exc.strerror or exc})") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise TerritoryFileError(f"{path} : le fichier doit être encodé en UTF-8 ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TerritoryFileError(f"{path} : syntaxe TOML invalide : {exc}") from exc
    definition = parse_definition(data, where=str(path))
    definition.source_path = path
    return definition


class _Checker:
    """Collects every problem of a file before raising, so one run shows them all."""

    def __init__(self, where: str):
        self.where = where
        self.problems: list[str] = []

    def add(self, message: str) -> None:
        self.problems.append(message)

    def get(self, table: dict, key: str, kind, context: str, default: Any = ..., required: bool = True):
        if key not in table:
            if default is not ... or not required:
                return None if default is ... else default
            self.add(f"{context} : clé « {key} » manquante")
            return kind()
        value = table[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = {str: "un texte", int: "un entier", list: "une liste", dict: "une table", bool: "vrai/faux"}
            self.add(f"{context} : « {key} » doit être {names.get(kind, kind.__name__)} (trouvé : {value!r})")
            return kind()
        return value

    def raise_if_any(self) -> None:
        if self.problems:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            raise TerritoryFileError(f"{self.where} : {len(self.problems)} problème(s) dans la définition du territoire :\n{lines}")


def _parse_tiers(ck: "_Checker", raw_tiers: dict) -> dict[str, Tier]:
    """The ``[tiers.<id>]`` tables: any id, the regulatory ``qpv`` required, unique priorities."""
    tiers: dict[str, Tier] = {}
    if REGULATORY_TIER not in raw_tiers:
        ck.add(f"[tiers.{REGULATORY_TIER}] : table manquante (le niveau réglementaire des QPV est obligatoire)")
    for pos, (tier_id, t) in enumerate(raw_tiers.items()):
        ctx = f"[tiers.{tier_id}]"
        if not _TIER_ID.match(tier_id):
            ck.add(f"{ctx} : identifiant de niveau invalide (minuscules, chiffres, _ ; 20 caractères au plus)")
            continue
        if not isinstance(t, dict):
            ck.add(f"{ctx} : doit être une table")
            continue
        colour = ck.get(t, "colour", str, ctx, default="") or DEFAULT_COLOURS[pos % len(DEFAULT_COLOURS)]
        if not _COLOUR.match(colour):
            ck.add(f"{ctx} : couleur invalide {colour!r} (forme #rrggbb)")
        tol = {}
        for key in ("edge_m", "near_m"):
            v = t.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
                ck.add(f"{ctx} : « {key} » doit être un nombre de mètres positif (trouvé : {v!r})")
                v = None
            tol[key] = None if v is None else float(v)
        short = ck.get(t, "short_label", str, ctx, default=tier_id)
        tiers[tier_id] = Tier(
            id=tier_id,
            label=ck.get(t, "label", str, ctx),
            short_label=short,
            priority=ck.get(t, "priority", int, ctx),
            regulatory=bool(t.get("regulatory", False)),
            population=ck.get(t, "population", int, ctx, required=False),
            contract_count=ck.get(t, "contract_count", int, ctx, required=False),
            contract_communes=ck.get(t, "contract_communes", int, ctx, required=False),
            note=ck.get(t, "note", str, ctx, default=""),
            population_is_approximate=bool(t.get("population_is_approximate", False)),
            name=ck.get(t, "name", str, ctx, default=""),
            plural=ck.get(t, "plural", str, ctx, default="") or (ck.get(t, "name", str, ctx, default="") or short) + "s",
            feminine=bool(t.get("feminine", False)),
            colour=colour,
            teams=bool(t.get("teams", True)),
            heading=ck.get(t, "heading", str, ctx, default=""),
            layer_name=ck.get(t, "layer_name", str, ctx, default=""),
            **tol,
        )
    prio = [t.priority for t in tiers.values()]
    if len(set(prio)) != len(prio):
        ck.add("[tiers] : deux niveaux ont la même priorité (chaque « priority » doit être unique)")
    return tiers


def parse_definition(data: dict[str, Any], where: str = "territoire") -> Definition:
    """Validate a parsed TOML document and build a :class:`Definition`.

    Every problem of the document is collected (in the order of its sections)
    and raised at once as a :class:`TerritoryFileError`.

    >>> from cq_geo.errors import TerritoryFileError
    >>> try:
    ...     parse_definition({"schema_version": 1, "territory": {"siren": "2000"}}, where="t.toml")
    ... except TerritoryFileError as err:
    ...     for line in str(err).splitlines()[:4]:
    ...         print(line)
    t.toml : 9 problème(s) dans la définition du territoire :
      - [territory] : clé « communes » manquante
      - [territory] : SIREN invalide '2000' (9 chiffres)
      - racine : clé « tiers » manquante
    """
    ck = _Checker(where)
    version = data.get("schema_version")
    if version != 1:
        ck.add(f"schema_version doit valoir 1 (trouvé : {version!r})")
    terr = ck.get(data, "territory", dict, "racine")
    communes = _parse_communes(ck, terr)
    siren = ck.get(terr, "siren", str, "[territory]")
    if siren and not _SIREN.match(siren):
        ck.add(f"[territory] : SIREN invalide {siren!r} (9 chiffres)")
    tiers = _parse_tiers(ck, ck.get(data, "tiers", dict, "racine"))
    zones = _parse_zones(ck, data, communes, tiers)
    orientations = _parse_labelled(ck, data, "orientations")
    axes = _parse_labelled(ck, data, "axes")
    teams = _parse_teams(ck, data, communes)
    leads = _parse_leads(ck, data, tiers, teams, orientations, axes)
    questions = _parse_questions(ck, data)
    deps = _parse_departements(ck, terr)
    texts = data.get("texts", {})
    if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
        ck.add("[texts] : doit être une table de textes")
        texts = {}
    ck.raise_if_any()
    return Definition(
        id=ck.get(terr, "id", str, "[territory]", default="territoire"),
        name=ck.get(terr, "name", str, "[territory]"),
        short_name=ck.get(terr, "short_name", str, "[territory]", default=""),
        siren=siren,
        population=terr.get("population"),
        communes=communes,
        tiers=tiers,
        zones=zones,
        orientations=orientations,
        axes=axes,
        teams=teams,
        leads=leads,
        open_questions=questions,
        departements=deps,
        texts=dict(texts),
    )


def _parse_communes(ck: "_Checker", terr: dict) -> dict[str, Commune]:
    """The ``communes`` list of ``[territory]``, by INSEE code."""
    communes: dict[str, Commune] = {}
    for i, c in enumerate(ck.get(terr, "communes", list, "[territory]")):
        ctx = f"[territory] communes n° {i + 1}"
        if not isinstance(c, dict):
            ck.add(f"{ctx} : doit être une table {{ insee = …, name = … }}")
            continue
        insee = ck.get(c, "insee", str, ctx)
        if insee and not _INSEE.match(insee):
            ck.add(f"{ctx} : code INSEE invalide {insee!r} (5 caractères, ex. \"59172\")")
        if insee in communes:
            ck.add(f"{ctx} : commune {insee} en double")
        postcodes = ck.get(c, "postcodes", list, ctx, default=[])
        population = ck.get(c, "population", int, ctx, required=False)
        communes[insee] = Commune(
            insee=insee,
            name=ck.get(c, "name", str, ctx),
            siren=ck.get(c, "siren", str, ctx, default=""),
            postcodes=tuple(str(p) for p in postcodes),
            population=population,
        )
    return communes


def _check_commune(ck: "_Checker", communes: dict[str, Commune], insee: str, ctx: str) -> None:
    if insee not in communes:
        ck.add(f"{ctx} : commune {insee!r} absente de la liste des communes{suggest(insee, communes)}")


def _parse_zones(ck: "_Checker", data: dict, communes: dict[str, Commune], tiers: dict[str, Tier]) -> list[Zone]:
    """The ``[[zones]]``: known tier and communes, unique codes, QPV code form, geometry kind."""
    tier_ids = tuple(sorted(tiers, key=lambda i: tiers[i].priority))
    zones: list[Zone] = []
    seen_codes: set[str] = set()
    for i, z in enumerate(ck.get(data, "zones", list, "racine")):
        ctx = f"[[zones]] n° {i + 1}"
        if not isinstance(z, dict):
            ck.add(f"{ctx} : doit être une table")
            continue
        code = ck.get(z, "code", str, ctx)
        ctx = f"[[zones]] n° {i + 1} ({code})"
        tier = ck.get(z, "tier", str, ctx)
        if tier not in tiers:
            ck.add(f"{ctx} : niveau {tier!r} inconnu{suggest(tier, tier_ids)} (niveaux : {', '.join(tier_ids)})")
        if code in seen_codes:
            ck.add(f"{ctx} : code de zone en double")
        seen_codes.add(code)
        if tier == "qpv" and code and not _QPV_CODE.match(code):
            ck.add(f"{ctx} : code QPV invalide (attendu QN + 5 chiffres + 1 lettre, ex. QN05950M, ou QP + 6 chiffres)")
        zone_communes = [str(x) for x in ck.get(z, "communes", list, ctx)]
        if not zone_communes:
            ck.add(f"{ctx} : au moins une commune du territoire est attendue")
        for insee in zone_communes:
            _check_commune(ck, communes, insee, ctx)
        geometry = ck.get(z, "geometry", str, ctx)
        if geometry not in ("commune", "perimeter"):
            ck.add(f"{ctx} : geometry doit valoir \"commune\" ou \"perimeter\" (trouvé : {geometry!r})")
        if geometry == "commune" and len(zone_communes) != 1:
            ck.add(f"{ctx} : une zone « commune entière » couvre exactement une commune")
        others = []
        for o in ck.get(z, "other_communes", list, ctx, default=[]):
            if not isinstance(o, dict) or not _INSEE.match(str(o.get("insee", ""))):
                ck.add(f"{ctx} : other_communes attend des tables {{ insee = \"59014\", name = \"Anzin\" }}")
                continue
            if o["insee"] in communes:
                ck.add(f"{ctx} : {o['insee']} est une commune du territoire, à mettre dans communes")
            others.append((str(o["insee"]), str(o.get("name", ""))))
        zones.append(Zone(
            tier=tier, code=code, name=ck.get(z, "name", str, ctx), communes=tuple(zone_communes),
            geometry=geometry, other_communes=tuple(others),
            population=ck.get(z, "population", int, ctx, required=False),
        ))
    return zones


def _parse_labelled(ck: "_Checker", data: dict, key: str) -> dict[str, str]:
    """A list of ``{ id, label }`` tables (``[[orientations]]``, ``[[axes]]``): id -> label."""
    out: dict[str, str] = {}
    for i, item in enumerate(ck.get(data, key, list, "racine")):
        ctx = f"[[{key}]] n° {i + 1}"
        if not isinstance(item, dict):
            ck.add(f"{ctx} : doit être une table")
            continue
        item_id = ck.get(item, "id", str, ctx)
        if item_id in out:
            ck.add(f"{ctx} : identifiant {item_id!r} en double")
        out[item_id] = ck.get(item, "label", str, ctx)
    return out


def _parse_teams(ck: "_Checker", data: dict, communes: dict[str, Commune]) -> dict[str, Team]:
    """The ``[[teams]]``: known communes, each in one team at most."""
    teams: dict[str, Team] = {}
    team_of: dict[str, str] = {}
    for i, t in enumerate(ck.get(data, "teams", list, "racine")):
        ctx = f"[[teams]] n° {i + 1}"
        if not isinstance(t, dict):
            ck.add(f"{ctx} : doit être une table")
            continue
        team_id = ck.get(t, "id", str, ctx)
        ctx = f"[[teams]] {team_id}"
        if team_id in teams:
            ck.add(f"{ctx} : équipe en double")
        members = [str(x) for x in ck.get(t, "communes", list, ctx)]
        for insee in members:
            _check_commune(ck, communes, insee, ctx)
            if insee in team_of:
                ck.add(f"{ctx} : la commune {insee} est déjà dans l'équipe {team_of[insee]!r}")
            team_of[insee] = team_id
        teams[team_id] = Team(id=team_id, name=ck.get(t, "name", str, ctx), communes=tuple(members))
    return teams


def _parse_leads(ck: "_Checker", data: dict, tiers: dict[str, Tier], teams: dict[str, Team],
                 orientations: dict[str, str], axes: dict[str, str]) -> dict[str, Lead]:
    """The ``[[leads]]``: their team, orientation, axis and tiers must be declared."""
    tier_ids = tuple(sorted(tiers, key=lambda i: tiers[i].priority))
    leads: dict[str, Lead] = {}
    for i, item in enumerate(ck.get(data, "leads", list, "racine")):
        ctx = f"[[leads]] n° {i + 1}"
        if not isinstance(item, dict):
            ck.add(f"{ctx} : doit être une table")
            continue
        lead_id = ck.get(item, "id", str, ctx)
        ctx = f"[[leads]] {lead_id}"
        if lead_id in leads:
            ck.add(f"{ctx} : identifiant en double")
        team = ck.get(item, "team", str, ctx, default="")
        if team and team not in teams:
            ck.add(f"{ctx} : équipe {team!r} inconnue{suggest(team, teams)}")
        orientation = ck.get(item, "orientation", str, ctx, default="")
        if orientation and orientation not in orientations:
            ck.add(f"{ctx} : orientation {orientation!r} inconnue{suggest(orientation, orientations)}")
        axis = ck.get(item, "axis", str, ctx, default="")
        if axis and axis not in axes:
            ck.add(f"{ctx} : axe {axis!r} inconnu{suggest(axis, axes)}")
        lead_tiers = tuple(str(x) for x in ck.get(item, "tiers", list, ctx, default=[]))
        for tier in lead_tiers:
            if tier not in tiers:
                ck.add(f"{ctx} : niveau {tier!r} inconnu{suggest(tier, tier_ids)}")
        leads[lead_id] = Lead(
            id=lead_id, title=ck.get(item, "title", str, ctx), team=team, orientation=orientation,
            orientation_detail=ck.get(item, "orientation_detail", str, ctx, default=""),
            axis=axis, axis_detail=ck.get(item, "axis_detail", str, ctx, default=""),
            scope=ck.get(item, "scope", str, ctx, default="agglomeration"), tiers=lead_tiers,
        )
    return leads


def _parse_questions(ck: "_Checker", data: dict) -> list[dict[str, str]]:
    """The optional ``[[open_questions]]`` ({ id, text })."""
    questions = []
    for i, q in enumerate(data.get("open_questions", [])):
        if not isinstance(q, dict) or not isinstance(q.get("text"), str):
            ck.add(f"[[open_questions]] n° {i + 1} : table {{ id = …, text = … }} attendue")
            continue
        questions.append({"id": str(q.get("id", f"q{i + 1}")), "text": q["text"]})
    return questions


def _parse_departements(ck: "_Checker", terr: dict) -> tuple[str, ...]:
    """``departement`` (a code) or ``departements`` (a list) of ``[territory]``."""
    deps = terr.get("departements", terr.get("departement", []))
    deps = [deps] if isinstance(deps, str) else deps
    if not isinstance(deps, list) or not all(isinstance(d, str) and re.match(r"^(\d{2,3}|2[AB])$", d) for d in deps):
        ck.add(f"[territory] : « departement(s) » doit être un code ou une liste de codes (trouvé : {deps!r})")
        deps = []
    return tuple(deps)
