"""The eligibility sheet (« fiche d'éligibilité »): one printable A4 page for one address.

What a programme officer files as proof of where a beneficiary lives: the
address as typed and as geocoded (with the quality of the position), the
answer for each tier (QPV, poche de pauvreté, ancien QVA) with its status and
the distance to the limit, a map excerpt of the point and the nearest
perimeters (inline SVG: the page needs no network and no script), the team and
its project leads, the sources of the layers with their vintage and SHA-256
fingerprint, the date and the cq-geo version.

The map excerpt is drawn by :mod:`cq_geo.maps.excerpt`.

The page is built from the JSON answers (``LookupResult.to_dict()`` and the
geocoder's ``to_dict()``), so the sheet always says what ``cq-geo lookup
--json`` says. Only numpy and the standard library are needed.

Examples
--------
>>> from cq_geo.territory import load_territory
>>> t = load_territory()
>>> answer = t.lookup(lon=3.3957, lat=50.3290).to_dict()
>>> page = fiche_html(t, answer, typed="3,3957 50,3290", date="2026-11-27")
>>> "Fiche d'éligibilité" in page and "Denain" in page and "<svg" in page and "<script" not in page
True
"""

from __future__ import annotations

import datetime as _dt
import html as _html
import math
from pathlib import Path
from typing import Any

from ..model import REGULATORY_TIER
from .excerpt import distance_to, excerpt_legend, excerpt_svg, zone_shapes
from .french import fr_date
from .style import STATUS_LABELS

__all__ = ["fiche_html", "write_fiche", "write_fiches", "answer_sentence", "FICHE_STATUS_FR"]

#: French words for the status of a point against one zone (plain, for the sheet).
FICHE_STATUS_FR = {
    "inside": "dedans",
    "boundary": "sur la limite (à vérifier)",
    "near": "juste à côté (dehors)",
    "outside": "dehors",
    "unknown": "inconnu (périmètre absent)",
}
_QUALITY_FR = {"precise": "précise (au numéro)", "approximate": "approximative", "ambiguous": "ambiguë",
               "not_found": "introuvable"}


def _esc(value: Any) -> str:
    return _html.escape("" if value is None else str(value), quote=True)


def _metres(value: float | None) -> str:
    """A distance the French way.

    >>> _metres(1234.4), _metres(3.26), _metres(0.0), _metres(None)
    ('1\\u202f234 m', '3 m', 'moins de 1 m', '')
    """
    if value is None:
        return ""
    if value < 1:
        return "moins de 1 m"
    from ..report import fr_int

    return f"{fr_int(value)} m"


# -- texts -----------------------------------------------------------------------------------------------------------
def answer_sentence(answer: dict, vocabulary=None) -> tuple[str, str]:
    """(kind, French sentence) summing up a lookup answer: ``eligible``, ``check`` or ``no``.

    Never says « hors » a tier whose perimeter is unknown at this place. The words come from
    *vocabulary* (:class:`cq_geo.vocabulary.Vocabulary`; the embedded territory's by default).

    >>> answer_sentence({"commune": {"name": "Abscon"}, "zones": [{"tier": "poche", "status": "unknown",
    ...     "name": "Abscon : Cité de la République", "code": "P"}], "primary": None, "layers": {}})
    ('check', 'Abscon : hors QPV et hors ancien QVA ; poche de pauvreté inconnue (périmètre « Abscon : Cité de la République » non disponible)')
    """
    if vocabulary is None:
        from ..model import load_definition
        from ..vocabulary import Vocabulary

        vocabulary = Vocabulary(load_definition())
    d = vocabulary.definition
    order = d.tier_ids
    commune = answer.get("commune")
    if commune is None:
        return "no", f"Adresse hors du territoire {vocabulary.of_agglo_long}"
    zones = answer.get("zones") or []
    primary = answer.get("primary")
    where = commune["name"]
    by_status = {s: [z for z in zones if z["status"] == s] for s in ("inside", "boundary", "near", "unknown")}

    brief = vocabulary.brief  # « QPV », « poche de pauvreté », « ancien QVA »

    def unknown_text(t: str) -> str:
        return f"{brief(t)} inconnu{'e' if d.tiers[t].feminine else ''}"

    def article(t: str) -> str:
        noun = d.tiers[t].noun
        return "l’" if noun[:1].lower() in "aeiouyéèêàâîôûh" else ("la " if d.tiers[t].feminine else "le ")

    if primary:
        zone = next((z for z in zones if z["code"] == primary["code"]), None)
        if zone and zone["status"] == "inside":
            text = f"{where} : dans {article(zone['tier'])}{vocabulary.heading(zone['tier'])} « {zone['name']} » ({zone['code']})"
            higher = [z for z in by_status["unknown"] if order.index(z["tier"]) < order.index(zone["tier"])]
            if not higher:
                return "eligible", text
            tiers = sorted({z["tier"] for z in higher}, key=order.index)
            names = ", ".join(f"« {z['name']} »" for z in higher)
            unknown = " et ".join(unknown_text(t) for t in tiers)
            return "check", f"{text} ; {unknown} (périmètre{'s' if len(higher) > 1 else ''} {names} non disponible" \
                            f"{'s' if len(higher) > 1 else ''})"
    if by_status["boundary"]:
        z = by_status["boundary"][0]
        return "check", f"{where} : sur la limite de {vocabulary.heading(z['tier'])} « {z['name']} » : à vérifier sur place"
    unknown_tiers = {z["tier"] for z in by_status["unknown"]}
    known = [t for t in order if t not in unknown_tiers]
    if unknown_tiers:
        z = by_status["unknown"][0]
        outs = " et ".join(f"hors {brief(t)}" for t in known)
        unknown = ", ".join(unknown_text(t) for t in order if t in unknown_tiers)
        return "check", f"{where} : {outs + ' ; ' if outs else ''}{unknown} (périmètre « {z['name']} » non disponible)"
    outs = [f"hors {brief(t)}" for t in order]
    return "no", f"{where} : " + (", ".join(outs[:-1]) + " et " + outs[-1] if len(outs) > 1 else outs[0])


def _tier_rows(territory, answer: dict, x: float, y: float, shapes) -> tuple[list[str], list]:
    zones = answer.get("zones") or []
    rows, nearest = [], []
    for tier in territory.definition.tier_ids:
        listed = [z for z in zones if z["tier"] == tier]
        layer = (answer.get("layers") or {}).get(tier, {})
        candidates = []
        for zone, polys in shapes.get(tier, []):
            if polys:
                candidates.append((distance_to(polys, x, y), zone, polys))
        candidates.sort(key=lambda c: c[0])
        if candidates:
            d, zone, polys = candidates[0]
            nearest.append((tier, zone, d, polys))
        if listed:
            for z in listed:
                dist = z.get("distance_m")
                if z["status"] == "inside":
                    dtext = f"à {_metres(dist)} de la limite (dedans)" if dist is not None else "dedans"
                elif z["status"] == "unknown":
                    dtext = "—"
                else:
                    dtext = f"à {_metres(dist)} de la limite" if dist is not None else ""
                rows.append((tier, FICHE_STATUS_FR.get(z["status"], z["status"]), f"{z['name']} ({z['code']})", dtext,
                             STATUS_LABELS.get(z.get("geometry_status", ""), z.get("geometry_status", ""))))
        elif layer.get("status") == "missing":
            commune = (answer.get("commune") or {}).get("insee")
            in_commune = commune and any(z.tier == tier and commune in z.communes for z in territory.definition.zones)
            if commune and not in_commune:  # the contract lists none here: the answer does not need the perimeter
                rows.append((tier, "dehors", "aucune zone de ce type dans cette commune (contrat)", "—", "non installé"))
            else:
                rows.append((tier, FICHE_STATUS_FR["unknown"], "aucun périmètre installé", "—", "non installé"))
        else:
            if candidates:
                d, zone, _ = candidates[0]
                rows.append((tier, "dehors", f"le plus proche : {zone.name} ({zone.code})", f"à {_metres(d)}",
                             STATUS_LABELS.get(layer.get("status", ""), layer.get("status", ""))))
            else:
                rows.append((tier, "dehors", "", "", STATUS_LABELS.get(layer.get("status", ""), "")))
    html_rows = [f"<tr><th>{_esc(territory.vocabulary.heading(t))}</th><td class='st st-{_esc(s.split()[0])}'>{_esc(s)}</td><td>{_esc(z)}</td>"
                 f"<td>{_esc(d)}</td><td>{_esc(g)}</td></tr>" for t, s, z, d, g in rows]
    return html_rows, nearest


_CSS = """
@page { size: A4 portrait; margin: 11mm 12mm; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "DejaVu Sans", "Segoe UI", Roboto, Arial, sans-serif; color: #1c2833; font-size: 9pt;
  line-height: 1.25; margin: 0 auto; max-width: 186mm; padding: 4mm 0; }
h1 { font-size: 15pt; margin: 0; }
.sub { color: #34495e; font-size: 9pt; margin: 0.5mm 0 3mm; }
h2 { font-size: 10.5pt; margin: 2.8mm 0 1mm; border-bottom: 0.3mm solid #aab7b8; padding-bottom: 0.5mm; }
.answer { border: 0.6mm solid #1b2631; border-radius: 1.5mm; padding: 2.5mm 3.5mm; font-size: 12pt; font-weight: 700; }
.answer.eligible { border-color: #1e8449; background: #eafaf1; }
.answer.check { border-color: #b9770e; background: #fef5e7; }
.answer.no { border-color: #566573; background: #f4f6f6; }
.answer small { display: block; font-size: 8.5pt; font-weight: 400; margin-top: 1mm; }
table { border-collapse: collapse; width: 100%; font-size: 8.8pt; }
th, td { text-align: left; vertical-align: top; padding: 0.5mm 1.5mm; border-bottom: 0.2mm solid #d5dbdb; }
th { font-weight: 600; color: #34495e; white-space: nowrap; }
thead th { background: #f2f3f4; }
.st-dedans { font-weight: 700; color: #1e8449; }
.st-sur, .st-inconnu { font-weight: 700; color: #b9770e; }
.grid { display: flex; gap: 4mm; }
.grid > div { flex: 1 1 50%; min-width: 0; }
.fiche-map { width: 100%; height: 54mm; border: 0.3mm solid #999; display: block; }
.legend { font-size: 7.5pt; color: #34495e; margin-top: 0.8mm; }
.legend span { display: inline-block; width: 4mm; height: 2.6mm; vertical-align: middle; margin: 0 1mm 0 2.5mm;
  border: 0.3mm solid #555; }
.warn { color: #7e5109; }
.sources td, .sources th { font-size: 6.8pt; padding: 0.3mm 1.2mm; }
.hash { font-family: "DejaVu Sans Mono", monospace; font-size: 6pt; word-break: break-all; width: 42mm; }
.foot { margin-top: 2mm; font-size: 7.5pt; color: #5d6d7e; border-top: 0.3mm solid #aab7b8; padding-top: 1mm; }
@media screen { body { padding: 10mm; background: #fff; } }
"""


def fiche_html(territory, answer: dict, *, geocoding: dict | None = None, typed: str | None = None,
               date=None, now: _dt.datetime | None = None, shapes: dict | None = None) -> str:
    """The eligibility sheet as one self-contained HTML page (no script, no external resource).

    Parameters
    ----------
    territory : the :class:`~cq_geo.territory.Territory` that answered (its geometry draws the excerpt).
    answer : ``LookupResult.to_dict()`` (with a ``geocoding`` member when it came from an address).
    geocoding : the geocoder's answer (``GeocodeResult.to_dict()``); default ``answer["geocoding"]``.
    typed : what the user typed (address or coordinates).
    date : the date printed (``datetime.date`` or ``"AAAA-MM-JJ"``; default today).
    """
    from .._version import __version__

    day = _day(date)
    stamp = (now or _dt.datetime.now()).strftime("%H:%M")
    geocoding = geocoding if geocoding is not None else answer.get("geocoding")
    p = answer["point"]
    x, y = float(p["x"]), float(p["y"])
    d = territory.definition
    shapes = shapes if shapes is not None else zone_shapes(territory)
    kind, sentence = answer_sentence(answer, territory.vocabulary)
    tier_rows, nearest = _tier_rows(territory, answer, x, y, shapes)

    parts = ["<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1.0'>",
             f"<title>Fiche d'éligibilité — {_esc(typed or sentence)}</title><style>{_CSS}</style></head><body>",
             "<h1>Fiche d'éligibilité — Contrat Quartiers 2030</h1>",
             f"<div class='sub'>{_esc(d.name)} — établie le {fr_date(day)} à {stamp}</div>"]
    parts += _address_table(answer, geocoding, typed, x, y)
    parts += _answer_block(answer, kind, sentence, tier_rows)
    parts.append("<div class='grid'><div><h2>Extrait de carte</h2>" + excerpt_svg(territory, shapes, x, y, nearest)
                 + excerpt_legend(d) + "</div>")
    parts += _team_block(answer, d.tiers[REGULATORY_TIER].plural)
    parts += _sources_table(territory, answer)
    parts.append(f"<div class='foot'>Fiche produite par cq-geo {_esc(__version__)} le {fr_date(day)} à {stamp}, "
                 "sans connexion réseau. La réponse vaut pour la position indiquée et les périmètres listés ci-dessus ; "
                 "une position approximative, un point sur la limite ou un périmètre provisoire ou absent demandent "
                 "une vérification.</div></body></html>")
    return "".join(parts)


def _day(date) -> _dt.date:
    if date is None:
        return _dt.date.today()
    if isinstance(date, _dt.date):
        return date
    return _dt.date.fromisoformat(str(date))


def _address_table(answer: dict, geocoding: dict | None, typed: str | None, x: float, y: float) -> list[str]:
    """What was typed, the address retained with the quality of its position, the point, the commune."""
    p = answer["point"]
    parts = ["<h2>Adresse</h2><table>"]
    if typed:
        parts.append(f"<tr><th>Saisie</th><td>{_esc(typed)}</td></tr>")
    if geocoding:
        best = (geocoding.get("candidates") or [None])[0]
        if best:
            score = best.get("score")
            parts.append(f"<tr><th>Adresse retenue</th><td>{_esc(best.get('label'))}</td></tr>")
            quality = _QUALITY_FR.get(geocoding.get("quality"), geocoding.get("quality"))
            detail = f" ; score {score:.2f}".replace(".", ",") if isinstance(score, (int, float)) else ""
            parts.append(f"<tr><th>Qualité de la position</th><td>{_esc(quality)}{detail}"
                         + (f" — {_esc(geocoding.get('reason'))}" if geocoding.get("reason") else "") + "</td></tr>")
            parts.append(f"<tr><th>Géocodeur</th><td>{_esc(geocoding.get('source'))}</td></tr>")
    parts.append(f"<tr><th>Position</th><td>lon {p['lon']:.6f}, lat {p['lat']:.6f} (WGS84) ; "
                 f"x {x:.1f}, y {y:.1f} (Lambert-93)</td></tr>")
    if answer.get("commune"):
        c = answer["commune"]
        parts.append(f"<tr><th>Commune</th><td>{_esc(c['name'])} ({_esc(c['insee'])})"
                     + ("" if c.get("status") == "inside" else f" — {_esc(FICHE_STATUS_FR.get(c.get('status'), ''))}")
                     + "</td></tr>")
    parts.append("</table>")
    return parts


def _answer_block(answer: dict, kind: str, sentence: str, tier_rows: list[str]) -> list[str]:
    """The answer in one sentence, one row per tier, and the warnings."""
    official = kind == "eligible" and all(
        z.get("geometry_status") == "official" for z in answer.get("zones", []) if z["status"] == "inside")
    parts = [f"<h2>Réponse</h2><div class='answer {kind}'>{_esc(sentence)}"
             + ("<small>Réponse fondée sur des périmètres officiels.</small>" if official else "") + "</div>",
             "<table><thead><tr><th>Géographie</th><th>Situation</th><th>Zone</th><th>Distance</th>"
             "<th>Périmètre</th></tr></thead><tbody>" + "".join(tier_rows) + "</tbody></table>"]
    warnings = list(answer.get("warnings") or [])
    if warnings:
        parts.append("<div class='warn'><b>À noter :</b> " + " ; ".join(_esc(w) for w in warnings) + "</div>")
    return parts


def _team_block(answer: dict, qpv_plural: str) -> list[str]:
    """The team of the commune and its project leads (and the leads of the regulatory tier, *qpv_plural*)."""
    team = answer.get("team")
    team_html = ["<div><h2>Équipe territoriale</h2>"]
    if team:
        team_html.append(f"<p><b>{_esc(team['name'])}</b></p><table>")
        for lead in team.get("leads", []):
            team_html.append(f"<tr><th>{_esc(lead['title'])}</th><td>{_esc(lead.get('orientation_detail'))} ; "
                             f"{_esc(lead.get('axis_detail'))}</td></tr>")
        team_html.append("</table>")
    elif answer.get("commune"):
        team_html.append("<p>Aucune équipe territoriale désignée par le contrat pour cette commune.</p>")
    else:
        team_html.append("<p>Hors du territoire.</p>")
    for lead in answer.get("qpv_leads") or []:
        team_html.append(f"<p>Pour les {_esc(qpv_plural)} : <b>{_esc(lead['title'])}</b> ({_esc(lead.get('axis_detail'))})</p>")
    team_html.append("</div></div>")
    return team_html


def _sources_table(territory, answer: dict) -> list[str]:
    """Each layer's source, vintage, status and SHA-256, and the territory file's."""
    d = territory.definition
    names = {"communes": "Limites des communes", **{t: territory.vocabulary.layer_name(t) for t in d.tier_ids}}
    parts = ["<h2>Sources des données</h2><table class='sources'><thead><tr><th>Couche</th><th>Source et millésime</th>"
             "<th>Statut</th><th>Empreinte SHA-256</th></tr></thead><tbody>"]
    for name, info in (answer.get("layers") or {}).items():
        src = " — ".join(v for v in (info.get("source"), info.get("vintage")) if v and not (
            v is info.get("vintage") and v in (info.get("source") or "")))
        parts.append(f"<tr><th>{_esc(names.get(name, name))}</th><td>{_esc(src)}</td>"
                     f"<td>{_esc(STATUS_LABELS.get(info.get('status'), info.get('status')))}</td>"
                     f"<td class='hash'>{_esc(info.get('sha256') or '—')}</td></tr>")
    definition_file = Path(d.source_path).name if getattr(d, "source_path", None) else "territory.toml"
    definition_sha = ""
    if getattr(d, "source_path", None) and Path(d.source_path).is_file():
        import hashlib

        definition_sha = hashlib.sha256(Path(d.source_path).read_bytes()).hexdigest()
    parts.append(f"<tr><th>Équipes et zones</th><td>définition du territoire ({_esc(definition_file)})</td><td>contrat</td>"
                 f"<td class='hash'>{_esc(definition_sha or '—')}</td></tr></tbody></table>")
    return parts


def write_fiche(path, territory, answer: dict, **kwargs) -> Path:
    """Write the sheet to *path* (``.html``; atomic, file mode from the umask). Same keywords as :func:`fiche_html`."""
    from ..errors import CqGeoError
    from ..files import write_text_atomic

    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise CqGeoError(f"la fiche doit être un fichier .html : {path}")
    if not path.parent.is_dir():
        raise CqGeoError(f"dossier de la fiche introuvable : {path.parent}")
    return write_text_atomic(path, fiche_html(territory, answer, **kwargs))


def write_fiches(results, folder, territory=None, *, address_cols: str | list[str] | None = None,
                 progress=None, date=None) -> tuple[int, int]:
    """One sheet per located row of a batch result (``cq-geo batch … --fiches DOSSIER``).

    *results*: the output of ``cq-geo batch`` (CSV, XLSX or GeoPackage with
    ``cq_lon``/``cq_lat``). Each row with a position gets ``fiche-<ligne>[-<id>].html``
    in *folder* (created), its own identifier in the name when the file has an
    identifier column. Returns ``(written, skipped)``; rows without a position are
    skipped (their reason is in the results file). The results file is only read.
    """
    import re

    from ..bulk.summary import id_column
    from ..errors import CqGeoError
    from .results import read_results_table

    if territory is None:
        from ..territory import load_territory

        territory = load_territory()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(results)
    df = read_results_table(path)
    lower = {str(c).lower(): c for c in df.columns}
    if "cq_lon" not in lower or "cq_lat" not in lower:
        raise CqGeoError(f"{path.name} : colonnes cq_lon/cq_lat introuvables (un résultat de cq-geo batch est attendu)")
    if isinstance(address_cols, str):
        address_cols = [c.strip() for c in address_cols.split(",") if c.strip()]
    address_cols = [c for c in (address_cols or []) if c in df.columns]
    own_id = id_column(df)
    first = 1 if path.suffix.lower() == ".gpkg" else 2
    shapes = zone_shapes(territory)
    written = skipped = 0
    n = len(df)
    for i in range(n):
        row = df.iloc[i]
        try:
            lon, lat = float(str(row[lower["cq_lon"]]).replace(",", ".")), float(str(row[lower["cq_lat"]]).replace(",", "."))
        except ValueError:
            lon = lat = math.nan
        if not (math.isfinite(lon) and math.isfinite(lat)):
            skipped += 1
        else:
            answer = territory.lookup(lon=lon, lat=lat).to_dict()
            typed = " ".join(str(row[c]) for c in address_cols if str(row[c]).strip()) or f"ligne {i + first} de {path.name}"
            geocoding = None
            quality = str(row.get(lower.get("cq_geocode_quality", ""), "") or "") if "cq_geocode_quality" in lower else ""
            if quality and quality != "nan":
                score = row.get(lower.get("cq_geocode_score", ""), None)
                try:
                    score = float(str(score).replace(",", "."))
                except (TypeError, ValueError):
                    score = None
                geocoding = {"query": typed, "quality": quality, "reason": "", "source": "cq-geo batch",
                             "candidates": [{"label": typed, "score": score}]}
            ident = re.sub(r"[^\w.-]+", "_", str(row[own_id]))[:40].strip("_") if own_id is not None else ""
            name = f"fiche-{i + first:06d}" + (f"-{ident}" if ident else "") + ".html"
            write_fiche(folder / name, territory, answer, typed=typed, geocoding=geocoding, date=date, shapes=shapes)
            written += 1
        if progress is not None:
            progress(i + 1, n)
    return written, skipped
