"""French texts for people: a lookup answer, the territory check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import REGULATORY_TIER

if TYPE_CHECKING:  # pragma: no cover
    from .territory import LookupResult, Territory

__all__ = ["lookup_text", "territory_check", "check_text", "STATUS_FR", "LAYER_STATUS_FR"]

#: French words for the point statuses.
STATUS_FR = {
    "inside": "dedans",
    "boundary": "sur la limite",
    "near": "tout près (dehors)",
    "outside": "dehors",
    "unknown": "inconnu (périmètre non installé)",
}
#: French words for the layer statuses.
LAYER_STATUS_FR = {
    "official": "officielle",
    "validated": "validée",
    "provisional": "provisoire",
    "simplified": "simplifiée",
    "approximate": "approximative",
    "missing": "absente",
}


def fr_int(n, sep: str = "\u202f") -> str:
    """An integer the French way, thousands apart (narrow no-break space by default).

    The one number formatter of cq-geo's French texts.

    >>> fr_int(1234567), fr_int(12345.6, sep=" ")
    ('1\u202f234\u202f567', '12 346')
    """
    return f"{round(float(n)):,}".replace(",", sep)


_int = fr_int


def _metres(value) -> str:
    """A distance in French: ``1 050 m``, ``3,2 m``, ``moins de 1 m``.

    >>> _metres(1050.4), _metres(3.24), _metres(0.0)
    ('1\u202f050 m', '3,2 m', 'moins de 1 m')
    """
    if value is None:
        return ""
    if value < 1:
        return "moins de 1 m"
    return f"{fr_int(value)} m" if value >= 10 else f"{value:.1f} m".replace(".", ",")


def lookup_text(result: "LookupResult") -> str:
    """The answer as a few French lines."""
    p = result.point
    heading = result.vocabulary.heading if result.vocabulary is not None else str
    lines = [f"Point : lon {p['lon']:.6f}, lat {p['lat']:.6f} (Lambert-93 x {p['x']:.1f}, y {p['y']:.1f})"]
    if result.commune:
        c = result.commune
        extra = "" if c["status"] == "inside" else f" — {STATUS_FR[c['status']]}"
        lines.append(f"Commune : {c['name']} ({c['insee']}){extra}")
    else:
        lines.append(f"Commune : hors du territoire ({result.territory['name']})")
    if result.primary:
        zone = next(z for z in result.zones if z["code"] == result.primary["code"])
        lines.append(f"Géographie principale : {heading(zone['tier'])} — {zone['name']} ({zone['code']})")
    else:
        lines.append("Géographie principale : aucune")
    if result.zones:
        lines.append("Zones :")
        for z in result.zones:
            dist = ""
            if z["distance_m"] is not None:
                dist = (", sur la limite" if z["distance_m"] < 0.05
                        else f", à {_metres(z['distance_m'])} de la limite")
            lines.append(f"  - {heading(z['tier'])} {z['name']} ({z['code']}) : {STATUS_FR[z['status']]}{dist}")
    if result.team:
        lines.append(f"Équipe : {result.team['name']}")
        for lead in result.team["leads"]:
            lines.append(f"  - {lead['title']} : {lead['orientation_detail']} / {lead['axis_detail']}")
    elif result.commune:
        lines.append("Équipe : aucune (le contrat n'en désigne pas pour cette commune)")
    qpv_plural = result.vocabulary.tier(REGULATORY_TIER).plural if result.vocabulary is not None else "QPV"
    for lead in result.qpv_leads:
        lines.append(f"Pour les {qpv_plural} : {lead['title']} ({lead['axis_detail']})")
    if result.warnings:
        lines.append("À noter :")
        lines.extend(f"  ! {w}" for w in result.warnings)
    lines.append("Sources :")
    for name, info in result.layers.items():
        status = LAYER_STATUS_FR.get(info["status"], info["status"])
        src = f" — {info['source']}" if info["source"] else ""
        vintage = f" ({info['vintage']})" if info["vintage"] else ""
        lines.append(f"  {name} : {status}{src}{vintage}")
    return "\n".join(lines)


def territory_check(territory: "Territory") -> dict[str, Any]:
    """Consistency of the territory: zones without geometry, communes without team, counts."""
    d = territory.definition
    problems: list[str] = []
    notes: list[str] = []

    without_geometry = {tier: [z.code for z in data.missing] for tier, data in territory.tiers.items()}
    missing_communes = [c for c in d.communes if c not in territory.commune_codes]
    if missing_communes:
        problems.append(f"communes sans contour : {', '.join(missing_communes)}")

    communes_with_zones = {c for z in d.zones for c in z.communes}
    no_team = sorted(c for c in communes_with_zones if d.team_of(c) is None)
    if no_team:
        names = ", ".join(f"{d.commune_name(c)} ({c})" for c in no_team)
        notes.append(f"communes avec une zone du contrat mais sans équipe : {names}")

    counts = _regulatory_counts(d, problems, notes)
    populations = _populations(d, notes)
    layers = {name: info.to_dict() for name, info in territory.layers.items()}
    for name, info in layers.items():
        if info["status"] == "missing" or info["missing_zones"]:
            todo = (
                "cq-geo data update --only qpv (ou data import qpv FICHIER)"
                if name == REGULATORY_TIER
                else f"cq-geo data import local FICHIER --tier {name}"
            )
            n = len(info["missing_zones"])
            notes.append(f"couche {name} : {n} zone(s) sans périmètre — à installer : {todo}")
    return {
        "ok": not problems,
        "problems": problems,
        "notes": notes,
        "zones_without_geometry": without_geometry,
        "communes_with_zones_without_team": no_team,
        "counts": counts,
        "populations": populations,
        "layers": layers,
        "open_questions": d.open_questions,
    }


def _regulatory_counts(d, problems: list[str], notes: list[str]) -> dict[str, Any]:
    """The QPV codes and communes of the definition against the contract's counts (the JSON keys stay ``qpv_*``)."""
    qpv = d.tiers[REGULATORY_TIER]
    qpv_zones = d.zones_of(REGULATORY_TIER)
    qpv_communes = sorted({c for z in qpv_zones for c in z.communes})
    if qpv.contract_count is not None and len(qpv_zones) != qpv.contract_count:
        notes.append(
            f"{len(qpv_zones)} codes {qpv.noun} touchent le territoire, le contrat en compte {qpv.contract_count} "
            "(voir open_questions)"
        )
    if qpv.contract_communes is not None and len(qpv_communes) != qpv.contract_communes:
        problems.append(f"{len(qpv_communes)} communes avec un {qpv.noun}, le contrat en compte {qpv.contract_communes}")
    return {
        "qpv_codes": len(qpv_zones),
        "qpv_contract_count": qpv.contract_count,
        "qpv_communes": len(qpv_communes),
        "qpv_contract_communes": qpv.contract_communes,
    }


def _populations(d, notes: list[str]) -> dict[str, dict[str, Any]]:
    """Each tier's population in the contract and, for whole-commune zones, the communes' own; a tier whose
    whole communes count more people than the contract says gets a note."""
    populations = {}
    for tier_id, tier in d.tiers.items():
        zones = d.zones_of(tier_id)
        whole = [z for z in zones if z.geometry == "commune"]
        pop_whole = sum(d.communes[z.communes[0]].population or 0 for z in whole)
        populations[tier_id] = {
            "contract": tier.population,
            "approximate": bool(tier.population_is_approximate),
            "whole_communes": pop_whole if whole else None,
        }
        this = populations[tier_id]
        if this["whole_communes"] and this["contract"] and this["whole_communes"] > this["contract"]:
            notes.append(
                f"{tier.plural} : les communes entières comptent {_int(this['whole_communes'])} habitants (population "
                f"municipale actuelle), le contrat {_int(this['contract'])} : vérifier la notion de « tous les quartiers »"
            )
    return populations


def check_text(report: dict[str, Any]) -> str:
    """The check report in French."""
    lines = ["Contrôle du territoire : " + ("cohérent" if report["ok"] else "PROBLÈMES")]
    for p in report["problems"]:
        lines.append(f"  ✗ {p}")
    for n in report["notes"]:
        lines.append(f"  • {n}")
    lines.append("Couches :")
    for name, info in report["layers"].items():
        lines.append(f"  {name} : {LAYER_STATUS_FR.get(info['status'], info['status'])}, {info['feature_count']} entité(s)")
    lines.append("Questions ouvertes du contrat :")
    for q in report["open_questions"]:
        lines.append(f"  ? {q['text']}")
    return "\n".join(lines)
