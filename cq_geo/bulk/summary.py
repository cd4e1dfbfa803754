"""The summary of a batch: plain French tables a programme officer can paste.

Counts and shares by status, by QPV, by geography (tier), by team and by
commune, and the list of rows to check with their reason (and the user's own
identifier column when the file has one). Printed as text
(:meth:`BatchSummary.to_text`), written as XLSX (one sheet per table) and as a
standalone HTML page, both dated and giving the data sources and the cq-geo
version. Shares are numbers (0.457) shown as « 45,7 % »: in the XLSX they stay
numbers with a per-cent format, so they can be summed and charted.

Examples
--------
>>> import pandas as pd
>>> from cq_geo.bulk.run import batch
>>> out, s = batch(pd.DataFrame({"lon": ["3.3957", "x"], "lat": ["50.3290", "50.3"]}),
...                lon_col="lon", lat_col="lat")
>>> s.by_status[["Statut", "Lignes"]].values.tolist()[:4]
[['réponse sûre', 0], ['à vérifier', 1], ['adresse introuvable', 0], ['ligne invalide', 1]]
>>> print(s.to_text().splitlines()[0])
Traitement par lot : 2 lignes lues, 2 lignes écrites
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BatchSummary", "build_summary", "fr_int", "fr_pct"]

#: Rows listed in the printed summary (the files list them all; the HTML up to HTML_ROWS).
TEXT_ROWS = 20
HTML_ROWS = 5000


def fr_int(n) -> str:
    """An integer the French way: ``12 345``.

    >>> fr_int(1234567)
    '1 234 567'
    """
    from ..report import fr_int as _fr

    return _fr(int(n), sep=" ")


def fr_pct(part, total) -> str:
    """A share the French way: ``12,5 %`` (``–`` when total is 0).

    >>> fr_pct(1, 8), fr_pct(0, 0)
    ('12,5 %', '–')
    """
    if not total:
        return "–"
    return f"{100.0 * part / total:.1f} %".replace(".", ",")


@dataclass
class BatchSummary:
    """Counts of a batch, as pandas DataFrames with French headers."""

    total: int
    counts: dict[str, int]
    by_status: Any
    by_tier: Any
    by_qpv: Any
    by_team: Any
    by_commune: Any
    to_check: Any
    notes: list[str] = field(default_factory=list)
    input_rows: int | None = None
    by_geocoding: Any = None  # None when no row was geocoded
    #: (label, text) lines: date, cq-geo version, each layer's source, vintage, status and SHA-256
    provenance: list = field(default_factory=list)

    def tables(self) -> list[tuple[str, Any]]:
        """The tables with their French titles, in reading order."""
        return [
            ("Par statut", self.by_status),
            ("Par géographie principale", self.by_tier),
            ("Par QPV", self.by_qpv),
            ("Par équipe", self.by_team),
            ("Par commune", self.by_commune),
        ] + ([("Par qualité du géocodage", self.by_geocoding)] if self.by_geocoding is not None else [])

    def headline(self) -> str:
        n_in = self.total if self.input_rows is None else self.input_rows
        return f"Traitement par lot : {fr_int(n_in)} lignes lues, {fr_int(self.total)} lignes écrites"

    # -- text --------------------------------------------------------------------------------------
    def to_text(self, max_rows: int = TEXT_ROWS) -> str:
        """The summary as aligned plain-text tables (what ``cq-geo batch`` prints)."""
        lines = [self.headline(), ""]
        for title, table in self.tables():
            lines += [title, _text_table(table), ""]
        n = len(self.to_check)
        lines.append(f"Lignes à vérifier : {fr_int(n)}")
        if n:
            lines.append(_text_table(self.to_check.head(max_rows)))
            if n > max_rows:
                lines.append(f"… et {fr_int(n - max_rows)} autres (liste complète dans le résumé XLSX ou HTML)")
        for note in self.notes:
            lines += ["", f"Note : {note}"]
        if self.provenance:
            lines += ["", " ; ".join(f"{k} : {v}" for k, v in self.provenance[:2])]
        return "\n".join(lines).rstrip() + "\n"

    # -- HTML --------------------------------------------------------------------------------------
    def to_html(self, title: str = "Résumé du traitement par lot", max_rows: int = HTML_ROWS) -> str:
        """A standalone French HTML page (no script, no external file)."""
        esc = html.escape
        parts = [
            "<!DOCTYPE html>",
            '<html lang="fr"><head><meta charset="utf-8">',
            f"<title>{esc(title)}</title>",
            "<style>body{font-family:Arial,Helvetica,sans-serif;margin:2em;color:#222}"
            "table{border-collapse:collapse;margin:0 0 1.5em}th,td{border:1px solid #bbb;padding:3px 8px}"
            "th{background:#eef}td.n{text-align:right}caption{text-align:left;font-weight:bold;padding:4px 0}"
            "</style></head><body>",
            f"<h1>{esc(title)}</h1>",
            f"<p>{esc(self.headline())}</p>",
        ]
        if self.provenance:
            parts.append("<table class='prov'><caption>Date et sources des données</caption>"
                         + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self.provenance)
                         + "</table>")
        for name, table in self.tables():
            parts.append(_html_table(name, table))
        n = len(self.to_check)
        parts.append(f"<h2>Lignes à vérifier ({esc(fr_int(n))})</h2>")
        if n:
            parts.append(_html_table("", self.to_check.head(max_rows)))
            if n > max_rows:
                parts.append(f"<p>… et {esc(fr_int(n - max_rows))} autres : voir le résumé XLSX.</p>")
        for note in self.notes:
            parts.append(f"<p><strong>Note :</strong> {esc(note)}</p>")
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"

    # -- XLSX --------------------------------------------------------------------------------------
    def write_xlsx(self, path) -> None:
        """One sheet « Synthèse » with the counts, and one « À vérifier » with every row to check.

        Written by :mod:`cq_geo.bulk.xlsx` (fast on hundreds of thousands of rows to
        check); titles and headers in bold, the header of « À vérifier » frozen.
        """
        from .xlsx import PERCENT, Sheet, write_workbook

        synthesis = Sheet("Synthèse", widths={"A": 42, "B": 18, "C": 18, "D": 18, "E": 18})
        synthesis.row([self.headline()], bold=True)
        for label, text in self.provenance:
            synthesis.row([label, text])
        for name, table in self.tables():
            synthesis.blank()
            synthesis.row([name], bold=True)
            synthesis.table(table, object_numbers=True, styles={"Part": PERCENT})
        for note in self.notes:
            synthesis.blank()
            synthesis.row([f"Note : {note}"])
        check = Sheet("À vérifier", widths={"C": 90}, freeze="A2", auto_widths=True, autofilter=True)
        check.table(self.to_check, object_numbers=True)
        write_workbook(path, [synthesis, check])


def _text_table(table) -> str:
    cols = [str(c) for c in table.columns]
    raw = list(table.itertuples(index=False, name=None))
    rows = [[_cell_text(v) for v in r] for r in raw]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    numeric = [
        bool(raw) and all(_is_numeric(r[i]) for r in raw) for i in range(len(cols))
    ]

    def fmt(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join(["  " + fmt(cols)] + ["  " + fmt(r) for r in rows])


def _is_numeric(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.endswith((" %", "–")))


def _cell_text(value) -> str:
    """A cell as text: ints with French thousands, floats are shares (« 45,7 % »)."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return "oui" if value else "non"
    if isinstance(value, (int, np.integer)):
        return fr_int(value)
    if isinstance(value, (float, np.floating)):
        return "–" if value != value else fr_pct(float(value), 1)
    if value is None:
        return ""
    return str(value)


def _share(part, total):
    """A share as a number (0.457), None when the total is 0."""
    return float(part) / total if total else None


def _html_table(caption: str, table) -> str:
    esc = html.escape
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<tr>" + "".join(f"<th>{esc(str(c))}</th>" for c in table.columns) + "</tr>")
    for row in table.itertuples(index=False, name=None):
        cells = []
        for v in row:
            text = _cell_text(v)
            cls = ' class="n"' if _is_numeric(v) else ""
            cells.append(f"<td{cls}>{esc(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _count_table(labels, counts, total, label_header: str) -> Any:
    import pandas as pd

    return pd.DataFrame({
        label_header: list(labels),
        "Lignes": [int(c) for c in counts],
        "Part": pd.array([_share(c, total) for c in counts], dtype="Float64"),
    })


def _isin(series, values):
    """Boolean mask of the rows of *series* whose value is in *values*, fast on categoricals."""
    import numpy as np
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = series.cat.categories
        wanted = [i for i, c in enumerate(cats) if c in set(values)]
        codes = series.cat.codes.to_numpy()
        mask = np.isin(codes, wanted)
        if "" in values:
            mask |= codes < 0
        return mask
    return series.astype(str).isin(values).to_numpy()


def _values(series, mask):
    """The values of *series* where *mask* (as a list of str)."""
    return [str(v) for v in series[mask].unique()] if mask.any() else []


def _texts(series, labels=None):
    """``[str(v) for v in series]`` (through *labels* when given) as an object array;
    a categorical stays one (its categories converted), so that the XLSX writer
    formats each distinct text once."""
    import numpy as np
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        if (codes < 0).any():
            if labels is not None:
                raise KeyError("nan")
            return _texts(series.astype(object), labels)
        cats = [labels[str(c)] if labels is not None else str(c) for c in series.cat.categories]
        if len(set(cats)) == len(cats):
            return pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object))
        table = np.empty(len(cats), dtype=object)
        table[:] = cats
        return table[codes]
    values = list(map(str, series.tolist()))
    if labels is not None:
        values = [labels[v] for v in values]
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def build_summary(out, territory, first_row_number: int = 2, pseudonymised: bool = False,
                  identity_cols=(), input_rows: int | None = None) -> BatchSummary:
    """The summary of an enriched DataFrame (the output of :func:`cq_geo.bulk.run.batch`)."""
    import numpy as np
    import pandas as pd

    from ..vocabulary import BATCH_STATUS_FR as STATUS_FR
    from ..vocabulary import BATCH_STATUSES as STATUSES

    total = len(out)
    status = pd.Categorical(out["cq_status"].array, categories=list(STATUSES))
    counts = {s: int(c) for s, c in zip(STATUSES, np.bincount(status.codes[status.codes >= 0], minlength=len(STATUSES)))}
    status_fr = dict(STATUS_FR, outside_territory=f"hors du territoire {territory.vocabulary.of_agglo}")
    by_status = _count_table([status_fr[s] for s in STATUSES], [counts[s] for s in STATUSES], total, "Statut")
    by_status.insert(1, "Code", list(STATUSES))

    placed = _isin(out["cq_status"], ["ok", "to_check"]) & out["cq_valid"].to_numpy(dtype=bool)
    in_territory = placed & ~_isin(out["cq_commune"], [""])
    by_tier = _by_group(out["cq_primary_tier"], [(t, territory.vocabulary.heading(t)) for t in territory.tier_ids],
                        "Aucune (hors géographie prioritaire)", in_territory, total, "Géographie principale")
    by_team = _by_group(out["cq_team"], [(t.id, t.name) for t in territory.definition.teams.values()],
                        "Commune sans équipe", in_territory, total, "Équipe")
    to_check = _rows_to_check(out, status_fr, first_row_number, pseudonymised, identity_cols)
    return BatchSummary(total, counts, by_status, by_tier, _by_qpv(out, territory, placed, total), by_team,
                        _by_commune(out, territory, in_territory, total), to_check, _notes(out, territory),
                        input_rows=input_rows, by_geocoding=_by_geocoding(out, total),
                        provenance=provenance_lines(territory))


def _by_group(column, groups: list[tuple[str, str]], none_label: str, in_territory, total: int, title: str):
    """Rows in the territory per group (*groups*: code and label), those of none, and the others."""
    labels, values = [], []
    for code, label in groups:
        labels.append(label)
        values.append(int((in_territory & _isin(column, [code])).sum()))
    labels.append(none_label)
    values.append(int((in_territory & _isin(column, [""])).sum()))
    labels.append("Hors territoire ou sans position")
    values.append(total - int(in_territory.sum()))
    return _count_table(labels, values, total, title)


def _by_qpv(out, territory, placed, total: int):
    """Rows per QPV (the territory's, then any other found), with those on its limit."""
    import pandas as pd

    in_q = placed & _isin(out["cq_qpv_status"], ["inside", "boundary"])
    on_limit = _isin(out["cq_qpv_status"], ["boundary"])
    qcode = out["cq_qpv_code"]
    rows = []
    for zone in territory.definition.zones_of("qpv"):
        m = in_q & _isin(qcode, [zone.code])
        rows.append((zone.code, zone.name, int(m.sum()), int((m & on_limit).sum())))
    known = {r[0] for r in rows}
    codes_in_q = set(_values(qcode, in_q))
    for code in sorted(codes_in_q - known):
        m = in_q & _isin(qcode, [code])
        rows.append((code, str(_values(out["cq_qpv_name"], m)[0]), int(m.sum()), int((m & on_limit).sum())))
    unknown = int((placed & _isin(out["cq_qpv_status"], ["unknown"])).sum())
    by_qpv = pd.DataFrame({
        "Code QPV": [r[0] for r in rows] + ["", ""],
        "QPV": [r[1] for r in rows] + ["Appartenance inconnue (périmètres QPV non installés)", "Hors QPV"],
        "Lignes": [r[2] for r in rows] + [unknown, int(placed.sum()) - int(in_q.sum()) - unknown],
        "dont sur la limite": [r[3] for r in rows] + [0, 0],
    })
    by_qpv["Part"] = pd.array([_share(c, total) for c in by_qpv["Lignes"]], dtype="Float64")
    return by_qpv


def _by_commune(out, territory, in_territory, total: int):
    """Rows per commune of the territory, most first, then the others."""
    import numpy as np
    import pandas as pd

    insee = out["cq_commune_insee"]
    if isinstance(insee.dtype, pd.CategoricalDtype):
        cc = insee.cat.codes.to_numpy()[in_territory]
        per = np.bincount(cc[cc >= 0], minlength=len(insee.cat.categories))
        keep = np.flatnonzero(per)
        codes = np.array([str(insee.cat.categories[i]) for i in keep], dtype=str)
        cnt = per[keep]
    else:
        codes, cnt = np.unique(insee.astype(str).to_numpy()[in_territory], return_counts=True)
    order = np.lexsort((codes, -cnt))
    d = territory.definition
    by_commune = pd.DataFrame({
        "Code INSEE": [str(codes[i]) for i in order],
        "Commune": [d.commune_name(str(codes[i])) for i in order],
        "Lignes": [int(cnt[i]) for i in order],
    })
    rest = total - int(in_territory.sum())
    by_commune.loc[len(by_commune)] = ["", "Hors territoire ou sans position", rest]
    by_commune["Part"] = pd.array([_share(c, total) for c in by_commune["Lignes"]], dtype="Float64")
    return by_commune


def _rows_to_check(out, status_fr: dict, first_row_number: int, pseudonymised: bool, identity_cols):
    """The rows to check, not found or invalid: their number, status, reason and identifier."""
    import numpy as np
    import pandas as pd

    check = np.flatnonzero(_isin(out["cq_status"], ["to_check", "not_found", "invalid"]))
    to_check = pd.DataFrame({
        "Ligne": (check + first_row_number).astype(int),
        "Statut": _texts(out["cq_status"].iloc[check], status_fr),
        "Raison": _texts(out["cq_reason"].iloc[check]),
    })
    own_id = id_column(out, identity_cols)
    if own_id is not None:  # the user's own identifier, to find the row in their file (after « Ligne »)
        to_check.insert(1, own_id, _texts(out[own_id].iloc[check]))
    if pseudonymised and "cq_id" in out.columns:
        to_check["Identifiant (cq_id)"] = _texts(out["cq_id"].iloc[check])
    else:
        for name in identity_cols:
            cols = [i for i, c in enumerate(out.columns) if str(c) == str(name)]
            if cols:
                to_check[str(name)] = _texts(out.iloc[check, cols[0]])
    return to_check


def _notes(out, territory) -> list[str]:
    """What the reader of the summary should know: missing perimeters, rough outlines, columns to swap."""
    import pandas as pd

    notes = []
    layers = territory.layers
    if layers["qpv"].status == "missing":
        notes.append(
            "les périmètres QPV ne sont pas installés : l'appartenance aux QPV est « inconnue » dans les communes "
            "qui en ont un (lignes « à vérifier »). Installez-les avec « cq-geo data update » puis relancez."
        )
    if layers["communes"].status == "simplified":
        notes.append(
            "contours communaux simplifiés (précision ±100 m) : les lignes proches d'une limite communale "
            "sont « à vérifier »."
        )
    reasons = out["cq_reason"]
    if isinstance(reasons.dtype, pd.CategoricalDtype):
        l93_cats = [r for r in reasons.cat.categories if "Lambert-93 (mètres)" in str(r)]
        l93 = int(_isin(reasons, l93_cats).sum()) if l93_cats else 0
    else:
        l93 = int(reasons.astype(str).str.contains("Lambert-93 (mètres)", regex=False).sum())
    if l93:
        notes.append(f"{fr_int(l93)} lignes ont des coordonnées Lambert-93 dans les colonnes lon/lat : relancez avec --x-col/--y-col.")
    swapped = _count_reason(reasons, "semblent inversées")
    if swapped:
        notes.append(f"{fr_int(swapped)} ligne{'s' if swapped > 1 else ''} avec latitude et longitude inversées : les "
                     "colonnes sont sans doute échangées ; relancez en échangeant --lon-col et --lat-col "
                     "(--lon-col = la colonne de la longitude, entre -5 et 10 en France métropolitaine).")
    return notes


def _by_geocoding(out, total: int):
    """Rows per quality of the geocoder's answer, or None when no row was geocoded."""
    if "cq_geocode_quality" not in out.columns or _isin(out["cq_geocode_quality"], [""]).all():
        return None
    labels = ["précise", "approximative", "ambiguë", "introuvable", "non géocodée (coordonnées, ligne vide…)"]
    values = [int(_isin(out["cq_geocode_quality"], [q]).sum()) for q in ("precise", "approximate", "ambiguous", "not_found", "")]
    return _count_table(labels, values, total, "Qualité du géocodage")

_ID_NAME = __import__("re").compile(
    r"^(id|ident|identifiant|identifier|n°|no|num|numero|numéro|ref|réf|reference|référence|dossier|code|matricule)"
    r"([ _.\-].*)?$", __import__("re").IGNORECASE)


def id_column(out, identity_cols=()) -> str | None:
    """The user's identifier column: named like one (id, n° dossier, référence…), not an address or
    coordinate column, and not a cq_ column. ``None`` when there is none.

    >>> import pandas as pd
    >>> id_column(pd.DataFrame({"N° dossier": [1], "adresse": ["x"], "cq_status": ["ok"]}))
    'N° dossier'
    >>> id_column(pd.DataFrame({"adresse": ["x"], "cq_id": ["ab"]})) is None
    True
    """
    skip = {str(c) for c in identity_cols}
    for c in out.columns:
        name = str(c)
        if name.startswith("cq_") or name in skip:
            continue
        if _ID_NAME.match(name.strip()):
            return c
    return None


def _count_reason(reasons, text: str) -> int:
    """Rows whose reason contains *text* (fast on categoricals)."""
    import pandas as pd

    if isinstance(reasons.dtype, pd.CategoricalDtype):
        cats = [r for r in reasons.cat.categories if text in str(r)]
        return int(_isin(reasons, cats).sum()) if cats else 0
    return int(reasons.astype(str).str.contains(text, regex=False).sum())


def provenance_lines(territory, now=None) -> list[tuple[str, str]]:
    """Date, cq-geo version and every layer's source, vintage, status and SHA-256, as (label, text).

    >>> from cq_geo.territory import load_territory
    >>> lines = provenance_lines(load_territory())
    >>> [k for k, _ in lines][:3]
    ['Date', 'Logiciel', 'Communes']
    """
    import datetime as _dt

    from .._version import __version__
    from ..report import LAYER_STATUS_FR

    names = {"communes": "Communes", **{t: territory.vocabulary.layer_name(t) for t in territory.tier_ids}}
    now = now or _dt.datetime.now()
    lines = [("Date", now.strftime("%d/%m/%Y %H:%M")), ("Logiciel", f"cq-geo {__version__}")]
    for key, info in territory.layers.items():
        if info.status == "missing":
            lines.append((names.get(key, key), "périmètres non installés"))
            continue
        parts = [p for p in (info.source, info.vintage) if p and not (p is info.vintage and p in info.source)]
        text = " — ".join(parts) + f" ; couche {LAYER_STATUS_FR.get(info.status, info.status)}"
        if info.sha256:
            text += f" ; SHA-256 {info.sha256}"
        lines.append((names.get(key, key), text))
    d = territory.definition
    if getattr(d, "source_path", None):
        from pathlib import Path

        lines.append(("Équipes et zones", f"définition du territoire {Path(d.source_path).name}"))
    return lines
