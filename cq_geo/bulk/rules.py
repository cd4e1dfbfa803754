"""The rules of a batch: each row's status and French reason, from the lookup and the geocoder.

The statuses (docs/traitement-par-lot.md) are decided once per distinct combination of
answers (:func:`status_and_reason`, :func:`decide`) and spread back as categoricals. Also
here: the numbers of a coordinate column (:func:`parse_numbers`), and what the reason says
of a geocoded address (:func:`generic_reason`, :func:`candidates_text`).
"""

from __future__ import annotations

from typing import Any

from ..vocabulary import BATCH_STATUSES as STATUSES
from .groups import combination_key

__all__ = ["QUALITY_FR", "parse_numbers", "in_box", "generic_reason", "candidates_text",
           "tier_cols", "decide", "as_categorical", "codes_of", "combine", "status_and_reason"]

QUALITY_FR = {"approximate": "géocodage approximatif", "ambiguous": "adresse ambiguë"}


# -- numbers ----------------------------------------------------------------------------------------
def parse_numbers(series):
    """Numbers of a column of strings or numbers: ``(values, blank, bad)``.

    Accepts French decimal commas and spaces as thousands separators. *blank*
    marks empty cells, *bad* cells that are not numbers (both NaN in *values*).

    >>> import pandas as pd
    >>> v, blank, bad = parse_numbers(pd.Series(["3,5", " 728 213,4 ", "", "abc", "-1e3"]))
    >>> v.tolist()[:2], blank.tolist(), bad.tolist()
    ([3.5, 728213.4], [False, False, True, False, False], [False, False, False, True, False])
    """
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        blank = np.isnan(values)
        return values, blank, np.zeros(len(values), dtype=bool)
    raw = series.to_numpy(dtype=object)
    try:  # fast path: every cell is a plain number
        values = np.asarray(raw, dtype="float64")
        blank = np.isnan(values)
        return values, blank, np.zeros(len(values), dtype=bool)
    except (TypeError, ValueError):
        pass
    if pd.api.types.infer_dtype(raw, skipna=False) == "string":
        try:  # decimal commas only: one replace on the joined column (C speed)
            parts = "\x00".join(raw).replace(",", ".").split("\x00")
            if len(parts) == len(raw):
                values = np.asarray(parts, dtype="float64")
                blank = np.isnan(values)
                return values, blank, np.zeros(len(values), dtype=bool)
        except (TypeError, ValueError):
            pass
    s = pd.Series(raw, dtype=object).fillna("").astype(str)
    cleaned = s.str.replace(r"[\s\u00a0\u202f']", "", regex=True).str.replace(",", ".", regex=False)
    blank = (cleaned == "").to_numpy() | cleaned.str.lower().isin(["nan", "na", "null", "none"]).to_numpy()
    values = pd.to_numeric(cleaned.where(~blank, None), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = np.isnan(values) & ~blank
    return values, blank, bad


def in_box(a, b, box):
    with __import__("numpy").errstate(invalid="ignore"):
        return (a >= box[0]) & (a <= box[2]) & (b >= box[1]) & (b <= box[3])



# -- geocoded addresses ------------------------------------------------------------------------------
GENERIC_REASON = {
    "not_found": "aucune adresse correspondante dans la base d'adresses (détail retiré : sortie pseudonymisée)",
    "ambiguous": "plusieurs lieux possibles",
}
GENERIC_TYPE = {"housenumber": "position du numéro le plus proche", "street": "position de la voie",
                 "locality": "position du lieu-dit", "municipality": "position de la commune"}


def generic_reason(entry: dict) -> str:
    """The geocoder's reason in words that quote nothing of the address (``--pseudonymise``).

    >>> generic_reason({"q": "not_found", "r": "commune « Chez M. X » inconnue"})[:41]
    'aucune adresse correspondante dans la bas'
    >>> generic_reason({"q": "approximate", "t": "street", "r": "numéro 12 absent de la rue X"})
    'position de la voie'
    """
    q = entry.get("q")
    if q in GENERIC_REASON:
        return GENERIC_REASON[q]
    if q == "approximate":
        return GENERIC_TYPE.get(entry.get("t") or "", "correspondance partielle")
    return ""


def candidates_text(entry: dict, territory) -> str:
    """« Denain (59172), Raismes (59491) »: the candidate communes of an ambiguous address."""
    if entry.get("q") != "ambiguous":
        return ""
    d = territory.definition
    out = []
    for code, city in entry.get("cc") or []:
        if code in d.communes:
            out.append(f"{d.commune_name(code)} ({code})")
        elif code:
            out.append(f"{city or 'commune'} ({code}, hors {territory.vocabulary.agglo})")
        elif city:
            out.append(city)
    return ", ".join(out) if out else ""


# -- status and reason --------------------------------------------------------------------------------
def tier_cols(tier: str) -> tuple[str, str, str]:
    """(code, name, status) lookup columns of *tier* (a local tier's column holds the zone's name)."""
    from ..model import REGULATORY_TIER

    if tier == REGULATORY_TIER:
        return f"cq_{tier}_code", f"cq_{tier}_name", f"cq_{tier}_status"
    return f"cq_{tier}", f"cq_{tier}", f"cq_{tier}_status"


def decide(row: dict, territory) -> tuple[str, str]:
    """Status and French reason of one distinct combination of answers (flags from ``cq_flags``)."""
    vocab = territory.vocabulary
    texts = territory.vocabulary.warning_texts()
    agglo, of_agglo = vocab.agglo, vocab.of_agglo
    if row["pre"]:
        return "invalid", row["pre"]
    quality = row["quality"]
    if quality == "not_found":
        reason = row["greason"]
        return "not_found", "adresse introuvable" + (f" : {reason}" if reason else "")
    if quality == "ambiguous":  # no position of its own: no commune, no zone (see cq_geocode_candidates)
        why = row["greason"]
        label = QUALITY_FR["ambiguous"]
        head = why if why.startswith(label) else label + (f" ({why})" if why else "")
        first = str(row.get("cands") or "").split(" (")[0]
        where = f" ; lieux possibles : {row['cands']}" if first and first not in head else ""
        return "to_check", (f"{head}{where} — aucune commune ni zone retenue : précisez l'adresse "
                            "(numéro, commune, code postal)")
    flags = set(territory.warning_names(int(row["flags"] or 0)))
    if not row["valid"]:
        if "swapped" in flags:
            return "invalid", "latitude et longitude semblent inversées"
        if "not_france" in flags:
            return "invalid", "point hors de la France métropolitaine : vérifiez les coordonnées"
        return "invalid", "coordonnées manquantes ou non numériques"
    issues: list[str] = []
    if quality in QUALITY_FR:
        label, why = QUALITY_FR[quality], row["greason"]
        if why.startswith(label):  # the geocoder's reason already names it
            issues.append(why)
        else:
            issues.append(label + (f" ({why})" if why else ""))
    if row.get("gwarn"):
        issues.append(row["gwarn"])
    if "outside" in flags:
        city = row.get("citycode", "")
        if city and city in row["definition"].communes:
            issues.append(f"l'adresse est à {row['definition'].commune_name(city)} selon la base d'adresses, "
                          "mais la position tombe hors du territoire")
            return "to_check", f"hors du territoire {of_agglo} selon la position — à vérifier : " + "; ".join(issues)
        if "territory_edge" in flags:
            issues.append(texts["territory_edge"])
            return "to_check", (f"hors du territoire {of_agglo}, tout près de sa limite — à vérifier : "
                                + "; ".join(issues))
        return "outside_territory", f"hors du territoire {of_agglo}"
    answer = None
    tier_ids = territory.tier_ids
    from ..model import REGULATORY_TIER as regulatory

    for tier in tier_ids:
        status = row[f"{tier}_status"]
        is_q = tier == regulatory
        if status in ("inside", "boundary"):
            answer = vocab.answer(tier, status, name=row[f"{tier}_name"], code=row[f"{tier}_code"] if is_q else "")
            if status == "boundary":
                issues.append(texts["qpv_boundary" if is_q else f"{tier}_edge"])
            if is_q and "qpv_not_official" in flags:
                issues.append(texts["qpv_not_official"])
            break
        if status == "near":
            issues.append(texts["qpv_near" if is_q else f"{tier}_edge"])
        elif status == "unknown":
            issues.append(texts[f"{tier}_unknown"])
    if answer is None:  # « hors » only the tiers known here, the unknown ones named (never « hors » and « inconnu »)
        known = [t for t in tier_ids if row[f"{t}_status"] != "unknown"]
        answer = vocab.outside_all(known)
        answer = " ; ".join(x for x in (answer, ", ".join(vocab.unknown(t) for t in tier_ids if t not in known)) if x)
    for flag in ("territory_edge", "commune_edge"):
        if flag in flags:
            issues.append(texts[flag])
    city = row.get("citycode", "")
    if city and city != row["insee"]:
        d = row["definition"]
        name = d.commune_name(city) if city in d.communes else f"commune {city}, hors {agglo}"
        issues.append(f"l'adresse est à {name} selon la base d'adresses, la position tombe à {row['commune']}")
    answer = f"{row['commune']} : {answer}" if row["commune"] else answer
    if issues:
        return "to_check", f"{answer} — à vérifier : " + "; ".join(issues)
    return "ok", answer


def as_categorical(values):
    """A categorical of an object array of strings; instant when every cell is ''."""
    import numpy as np
    import pandas as pd

    if not np.asarray(values, dtype=object).any():
        return pd.Categorical.from_codes(np.zeros(len(values), dtype="int8"), categories=pd.Index([""]))
    return pd.Categorical(values)


def codes_of(values):
    """Integer codes (and categories) of a categorical or any 1-d array."""
    import pandas as pd

    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        cat = values if isinstance(values, pd.Categorical) else values.array
        return cat.codes.astype("int64"), cat.categories
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype("int64"), uniques


def combine(arrays) -> tuple[Any, Any]:
    """Group rows by the combination of several code arrays: ``(group per row, first row per group)``."""
    return combination_key(arrays)


def status_and_reason(lookup, pre, quality, greason, territory, citycode=None, gwarn=None, cands=None):
    """``cq_status`` and ``cq_reason`` as categoricals, computed once per distinct combination."""
    import numpy as np
    import pandas as pd

    parts = {
        "pre": pre, "quality": quality, "greason": greason, "citycode": citycode, "gwarn": gwarn, "cands": cands,
        "valid": lookup["cq_valid"].to_numpy(), "flags": lookup["cq_flags"].to_numpy(),
        "commune": lookup["cq_commune"], "insee": lookup["cq_commune_insee"],
    }
    for tier in territory.tier_ids:
        code_col, name_col, status_col = tier_cols(tier)
        parts.update({f"{tier}_code": lookup[code_col], f"{tier}_name": lookup[name_col],
                      f"{tier}_status": lookup[status_col]})
    for name in ("citycode", "gwarn", "cands"):
        if parts[name] is None:
            del parts[name]
    coded = {name: codes_of(values) for name, values in parts.items()}
    group, first = combine([c for c, _ in coded.values()])
    status_codes = np.zeros(len(first), dtype="int8")
    reasons: list[str] = []
    for g, row_i in enumerate(first):
        row: dict[str, Any] = {"citycode": "", "gwarn": "", "cands": "", "definition": territory.definition}
        for name, (codes, cats) in coded.items():
            c = codes[row_i]
            value = cats[c] if c >= 0 else ""
            row[name] = "" if value is None or (isinstance(value, float) and value != value) else value
        row["valid"] = bool(row["valid"])
        status, reason = decide(row, territory)
        status_codes[g] = STATUSES.index(status)
        reasons.append(reason)
    status = pd.Categorical.from_codes(status_codes[group], categories=pd.Index(STATUSES))
    uniq, inverse = np.unique(np.array(reasons, dtype=object), return_inverse=True)
    reason = pd.Categorical.from_codes(inverse[group], categories=pd.Index(uniq))
    return status, reason

