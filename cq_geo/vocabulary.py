"""Every French word the faces show for a territory, built from its definition.

The core (:mod:`cq_geo.territory`) returns codes and flag bits; the faces (CLI,
batch reasons, summary, map, plugin) render text from this module, which reads
the tiers' labels, nouns, plurals and genders and the agglomeration's name from
the territory file. A tier added to the file gets its words here with no code
change.

Examples
--------
>>> from cq_geo.model import load_definition
>>> v = Vocabulary(load_definition())
>>> v.warning_names()[:4]
['invalid', 'not_france', 'swapped', 'outside']
>>> v.warning_text("outside")
'point hors du territoire de la CAPH'
>>> v.answer("poche", "inside", name="Haveluy : Centre")
'dans la poche de pauvreté Haveluy : Centre'
>>> v.unknown("poche"), v.unknown("qpv")
('poche de pauvreté inconnue', 'QPV inconnu')
>>> v.outside_all(["qpv", "poche", "qva"])
'hors QPV, poche de pauvreté et ancien quartier de veille active'
"""

from __future__ import annotations

from typing import Any

from .model import REGULATORY_TIER, Definition

__all__ = ["Vocabulary", "lookup_columns", "tier_columns", "ban_file_names", "BATCH_STATUSES", "BATCH_STATUS_FR"]

#: Values of ``cq_status`` in the batch outputs (:mod:`cq_geo.bulk.run`).
BATCH_STATUSES = ("ok", "to_check", "not_found", "invalid", "outside_territory")
#: French labels of the statuses (summaries, docs); « hors du territoire » is completed with the
#: agglomeration's name by the faces (:attr:`Vocabulary.of_agglo`).
BATCH_STATUS_FR = {
    "ok": "réponse sûre",
    "to_check": "à vérifier",
    "not_found": "adresse introuvable",
    "invalid": "ligne invalide",
    "outside_territory": "hors du territoire",
}


def tier_columns(tier: str) -> list[str]:
    """The lookup columns of one tier (the QPV has its name and distance too).

    >>> tier_columns("qpv")
    ['cq_qpv_code', 'cq_qpv_name', 'cq_qpv_status', 'cq_qpv_distance_m']
    >>> tier_columns("poche")
    ['cq_poche', 'cq_poche_status']
    """
    if tier == REGULATORY_TIER:
        return [f"cq_{tier}_code", f"cq_{tier}_name", f"cq_{tier}_status", f"cq_{tier}_distance_m"]
    return [f"cq_{tier}", f"cq_{tier}_status"]


def lookup_columns(tier_ids) -> list[str]:
    """Columns added by ``lookup_many`` (and the batch files) for a territory's tiers, in priority order."""
    out = ["cq_valid", "cq_commune_insee", "cq_commune", "cq_commune_status", "cq_team"]
    for tier in tier_ids:
        out += tier_columns(tier)
    return out + ["cq_primary_tier", "cq_warnings"]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _de(noun: str) -> str:
    """« de poche de pauvreté », « d'ancien quartier … »."""
    return ("d'" if noun[:1].lower() in "aeiouyéèêàâîôûh" else "de ") + noun


class Vocabulary:
    """French words of one territory definition (see the module's examples)."""

    def __init__(self, definition: Definition, *, commune_edge_m: float | None = None,
                 qpv_near_m: float | None = None):
        self.definition = definition
        self.agglo = definition.short_name or definition.name
        #: « de la CAPH », « de Valenciennes Métropole » ([texts] of_agglomeration of the file)
        self.of_agglo = definition.texts.get("of_agglomeration") or f"de la {self.agglo}"
        #: « de la Communauté d'Agglomération de La Porte du Hainaut » (the full name)
        self.of_agglo_long = definition.texts.get("of_agglomeration_long") or f"de la {definition.name}"
        self.commune_edge_m = commune_edge_m
        self.qpv_near_m = qpv_near_m
        self._warnings = self._build_warnings()

    # -- tiers -------------------------------------------------------------------------------
    def tier(self, tier_id: str):
        return self.definition.tiers[tier_id]

    def short(self, tier_id: str) -> str:
        """The tier's common noun (« poche de pauvreté »)."""
        return self.tier(tier_id).noun

    def heading(self, tier_id: str) -> str:
        """Title of the tier in tables: « QPV 2024 », « Poche de pauvreté »."""
        t = self.tier(tier_id)
        return t.heading or _cap(t.noun)

    def layer_name(self, tier_id: str) -> str:
        """Title of the tier's layer: « Poches de pauvreté »."""
        t = self.tier(tier_id)
        return t.layer_name or _cap(t.plural)

    def unknown(self, tier_id: str) -> str:
        """« poche de pauvreté inconnue », « QPV inconnu »."""
        t = self.tier(tier_id)
        return f"{t.noun} inconnu{'e' if t.feminine else ''}"

    def answer(self, tier_id: str, status: str, *, name: str = "", code: str = "") -> str:
        """« dans le QPV Denain (QN05950M) », « sur la limite de la poche de pauvreté … »."""
        t = self.tier(tier_id)
        what = f"{name} ({code})" if code and code != name else name
        if status == "boundary":
            return f"sur la limite {t.of_the} {what}"
        return f"dans {t.the} {what}"

    def outside_all(self, tier_ids) -> str:
        """« hors QPV, poche de pauvreté et ancien quartier de veille active »."""
        nouns = [self.short(t) for t in tier_ids]
        if not nouns:
            return ""
        if len(nouns) == 1:
            return "hors " + nouns[0]
        return "hors " + ", ".join(nouns[:-1]) + " et " + nouns[-1]

    def brief(self, tier_id: str) -> str:
        """The short label in running text: « QPV », « poche de pauvreté », « ancien QVA »."""
        label = self.tier(tier_id).short_label
        return label if label[1:2].isupper() else label[:1].lower() + label[1:]

    def inside_a(self, tier_id: str) -> str:
        """« Dans un QPV », « Dans une poche de pauvreté » (a category of points on the map)."""
        return f"Dans {'une' if self.tier(tier_id).feminine else 'un'} {self.brief(tier_id)}"

    def missing_perimeters(self, tier_id: str) -> str:
        """« périmètres QPV non installés », « périmètres des poches de pauvreté non installés » (map legend)."""
        plural = self.tier(tier_id).plural
        return f"périmètres {plural} non installés" if plural.isupper() else f"périmètres des {plural} non installés"

    def crossing(self, tier_id: str) -> str:
        """« du QPV », « de la poche de pauvreté » (a street crossing a perimeter)."""
        return self.tier(tier_id).of_the

    # -- warnings (flag name -> text) --------------------------------------------------------
    def _build_warnings(self) -> list[tuple[str, str]]:
        agglo, of_agglo = self.agglo, self.of_agglo
        edge = f"{self.commune_edge_m:g}" if self.commune_edge_m is not None else "?"
        qnear = f"{self.qpv_near_m:g}" if self.qpv_near_m is not None else "10"
        out = [
            ("invalid", "coordonnées manquantes ou non numériques"),
            ("not_france", "point hors de la France métropolitaine"),
            ("swapped", "latitude et longitude semblent inversées"),
            ("outside", f"point hors du territoire {of_agglo}"),
            ("territory_edge", f"à la limite du territoire {of_agglo} (contours simplifiés) : à vérifier"),
            ("commune_edge", f"près d'une limite communale (contours précis à ±{edge} m) : commune et équipe à vérifier"),
            ("no_team", "commune sans équipe dans le tableau de gouvernance du contrat"),
            ("qpv_unknown", "périmètres QPV non installés pour ce secteur : appartenance à un QPV inconnue "
                            "(cq-geo data update)"),
            ("qpv_boundary", "sur la limite d'un QPV : à vérifier"),
            ("qpv_near", f"à moins de {qnear} m d'un QPV : à vérifier"),
            ("qpv_shared", f"QPV partagé avec une commune hors {agglo}"),
            ("qpv_not_official", "périmètre QPV non officiel : réponse provisoire"),
        ]
        for tier_id in self.definition.local_tier_ids:
            t = self.tier(tier_id)
            out.append((f"{tier_id}_unknown",
                        f"périmètre {_de(t.noun)} non dessiné dans cette commune : appartenance inconnue"))
            out.append((f"{tier_id}_edge", f"près de la limite {t.of_the} : à vérifier"))
        return out

    def warning_names(self) -> list[str]:
        """Flag names in bit order (bit *i* is ``1 << i``)."""
        return [name for name, _ in self._warnings]

    def warning_texts(self) -> dict[str, str]:
        """Flag name → French text."""
        return dict(self._warnings)

    def warning_text(self, name: str) -> str:
        return dict(self._warnings)[name]

    def to_dict(self) -> dict[str, Any]:
        """The tiers' words, JSON-ready (for the plugin and the map's legend)."""
        return {t: {"label": self.tier(t).label, "short": self.short(t), "plural": self.tier(t).plural,
                    "heading": self.heading(t), "layer_name": self.layer_name(t), "colour": self.tier(t).colour}
                for t in self.definition.tier_ids}


def ban_file_names(departements=(), kind: str = "adresses") -> str:
    """The BAN file names of the territory's département(s): what the messages ask for.

    >>> ban_file_names(("59",)), ban_file_names(("59", "62"), "lieux-dits"), ban_file_names()
    ('adresses-59.csv.gz', 'lieux-dits-59-beta.csv.gz ou lieux-dits-62-beta.csv.gz', 'adresses-XX.csv.gz')
    """
    suffix = "-beta.csv.gz" if kind == "lieux-dits" else ".csv.gz"
    return " ou ".join(f"{kind}-{d}{suffix}" for d in (tuple(departements) or ("XX",)))
