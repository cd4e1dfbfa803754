"""The texts around the council map: the title, the legend and the sources (plain and technical).

Every tier's words come from the territory's vocabulary (:mod:`cq_geo.vocabulary`); the
styles of the swatches from :mod:`cq_geo.maps.style`, so the legend draws what the map draws.
"""

from __future__ import annotations

from pathlib import Path

from ..model import REGULATORY_TIER
from .french import esc, fr_count, fr_date, plural
from .style import (
    CHORO_COLOURS,
    NO_TEAM_COLOUR,
    NO_TEAM_OPACITY,
    STATUS_PLURAL,
    TEAM_FILL_OPACITY,
    marker_svg,
    status_text,
    swatch,
    tier_style,
)


def title_html(definition, title: str | None, subtitle: str | None, day) -> str:
    """The title box: title, subtitle and date (French defaults from the territory's names)."""
    d = definition
    title_text = title or f"Contrat Quartiers 2030 — {d.short_name or d.name}"
    sub_text = subtitle if subtitle is not None else f"{d.name} : géographie prioritaire et équipes territoriales"
    return (f"<div class='cq-title-main'>{esc(title_text)}</div>"
            + (f"<div class='cq-title-sub'>{esc(sub_text)}</div>" if sub_text else "")
            + f"<div class='cq-title-date'>Carte du {fr_date(day)}</div>")


# -- legend -------------------------------------------------------------------------------------------------
def _team_rows(definition, team_colour: dict, team_count: dict) -> list[str]:
    rows = ["<div class='cq-leg-h'>Communes par équipe territoriale</div>"]
    for tid, team in definition.teams.items():
        colour = team_colour[tid]
        rows.append(f"<div class='cq-leg-row'>{swatch(colour, TEAM_FILL_OPACITY, colour, 1.5)}"
                    f"{esc(team.name)} ({plural(team_count.get(tid, 0), 'commune')})</div>")
    if team_count.get(""):
        rows.append(f"<div class='cq-leg-row'>{swatch(NO_TEAM_COLOUR, NO_TEAM_OPACITY, '#566573', 1.5, '3 2')}"
                    f"Sans équipe territoriale ({plural(team_count[''], 'commune')})</div>")
    return rows


def _tier_rows(territory, tier: str) -> list[str]:
    """A tier's swatch, what is drawn (whole communes or perimeters, their status) and what is missing."""
    d = territory.definition
    data = territory.tiers[tier]
    label = territory.vocabulary.layer_name(tier)
    if data.index is None:
        total = len(data.zones) + len(data.missing)
        return [f"<div class='cq-leg-row'><span class='cq-sw cq-sw-missing'></span><span>{esc(label)} : "
                f"<span class='cq-missing'>{esc(territory.vocabulary.missing_perimeters(tier))}</span></span></div>",
                f"<div class='cq-leg-note'>{plural(total, 'zone')} dans le contrat, aucune dessinée</div>"]
    style = tier_style(d, tier)
    sw = swatch(style["fillColor"], style["fillOpacity"], style["color"], style["weight"], style.get("dashArray"))
    whole = sum(1 for z in data.zones if z.geometry == "commune")
    detail = (f"{plural(whole, 'commune entière', 'communes entières')}" if whole == len(data.zones)
              else plural(len(data.zones), "périmètre"))
    status = ", ".join(sorted({STATUS_PLURAL.get(s, s) for s in data.statuses}))
    rows = [f"<div class='cq-leg-row'>{sw}{esc(label)} ({detail})</div>",
            f"<div class='cq-leg-note'>contours {status}</div>"]
    if data.missing:
        names = ", ".join(esc(z.name) for z in data.missing)
        count = plural(len(data.missing), "périmètre non installé", "périmètres non installés")
        rows.append(f"<div class='cq-leg-note cq-missing'>{count} : {names}</div>")
    return rows


def _points_rows(res) -> list[str]:
    n_drawn = int(res.drawn.sum())
    rows = [f"<div class='cq-leg-h'>Points de la table ({fr_count(n_drawn)} sur {fr_count(res.total)})</div>"]
    for k, (key, label, colour) in enumerate(res.categories):
        count = int((res.category == k).sum())
        if count:
            rows.append(f"<div class='cq-leg-row'>{marker_svg(res.shapes[k], colour)}"
                        f"{esc(label)} : {fr_count(count)}</div>")
    if res.total - n_drawn:
        rows.append(f"<div class='cq-leg-note'>{fr_count(res.total - n_drawn)} non localisé(s) ou invalide(s), "
                    "non dessiné(s)</div>")
    return rows


def _choropleth_rows(group, cname: str, breaks: list[int]) -> str:
    """A choropleth's classes, hidden until its layer is shown (the page's script follows the layer)."""
    rows = [f"<div class='cq-leg-h'>{esc(cname)}</div>",
            "<div class='cq-leg-row'><span class='cq-sw' style='background:#fff;border-color:#424949'></span>0</div>"]
    low = 1
    for i, b in enumerate(breaks):
        text = f"{fr_count(low)}" if b == low else f"{fr_count(low)} à {fr_count(b)}"
        rows.append(f"<div class='cq-leg-row'><span class='cq-sw' style='background:{CHORO_COLOURS[i]};"
                    f"border-color:#424949'></span>{text}</div>")
        low = b + 1
    return (f"<div class='cq-leg-choro' data-layer='{group.get_name()}' style='display:none'>"
            + "".join(rows) + "</div>")


def legend_html(territory, team_colour: dict, team_count: dict, res=None, choro_layers: dict | None = None) -> str:
    """The legend: teams, tiers (with what is missing), result points and the choropleths' classes."""
    legend = ["<div class='cq-legend-title cq-fold' title='Afficher ou masquer'>Légende</div>",
              "<div class='cq-body'>"]
    legend += _team_rows(territory.definition, team_colour, team_count)
    legend.append("<div class='cq-leg-h'>Géographie prioritaire</div>")
    for tier in territory.definition.tier_ids:
        legend += _tier_rows(territory, tier)
    if res is not None:
        legend += _points_rows(res)
        for group, cname, breaks in (choro_layers or {}).values():
            legend.append(_choropleth_rows(group, cname, breaks))
    legend.append("</div>")
    return "".join(legend)


# -- sources ------------------------------------------------------------------------------------------------
def _layer_sources(territory) -> tuple[list[str], list[str]]:
    """(plain lines, technical lines) for each layer: who drew it, its status, vintage and fingerprint."""
    d = territory.definition
    vocabulary = territory.vocabulary
    # the regulatory tier is the national QPV list whatever the territory: its plain name says so
    plain_names = {"communes": "Limites des communes",
                   REGULATORY_TIER: f"Quartiers prioritaires ({vocabulary.layer_name(REGULATORY_TIER)})",
                   **{t: vocabulary.layer_name(t) for t in d.local_tier_ids}}
    layer_names = {"communes": "Communes", **{t: vocabulary.layer_name(t) for t in d.tier_ids}}
    # a local tier with whole-commune zones comes from the contract's lists, not from drawn perimeters
    from_contract = {t for t in d.local_tier_ids if any(z.geometry == "commune" for z in d.zones_of(t))}
    plain, technical = [], []
    for key, info in territory.layers.items():
        name = plain_names.get(key, key)
        if info.status == "missing":
            plain.append(f"<b>{name}</b> : périmètres pas encore disponibles, non dessinés sur cette carte")
            how = ("<code>cq-geo data update</code> ou <code>cq-geo data import qpv FICHIER</code>"
                   if key == REGULATORY_TIER
                   else "<code>cq-geo data import local FICHIER --tier " + esc(key) + "</code>")
            technical.append(f"{layer_names.get(key, key)} : aucun périmètre installé ({how})")
            continue
        who = info.publisher.split(",")[0].strip() if info.publisher else ""
        if key == "communes":
            text = "contours de l'IGN" + (f" ({esc(who)})" if who and "IGN" not in who else "")
        elif key in from_contract:
            text = ("communes entières, d'après le contrat"
                    if all(z.geometry == "commune" for z in territory.tiers[key].zones) else "d'après le contrat")
        else:
            text = f"périmètres {STATUS_PLURAL.get(info.status, info.status)}" + (f", {esc(who)}" if who else "")
        plain.append(f"<b>{name}</b> : {text}")
        parts = [p for p in (info.source, info.vintage) if p and not (p is info.vintage and p in info.source)]
        tech = f"{layer_names.get(key, key)} : {esc(' — '.join(parts))} ; statut {status_text(info)}"
        if info.sha256:
            tech += f" ; empreinte SHA-256 {esc(info.sha256[:16])}…"
        technical.append(tech)
    return plain, technical


def sources_html(territory, day, simplify_m: float, tiles: bool, with_points: bool, version: str) -> str:
    """The sources box: plain French for the audience; the technical provenance in a folded
    « détails techniques »."""
    d = territory.definition
    plain, technical = _layer_sources(territory)
    plain.append(f"<b>Équipes et chefs de projet</b> : Contrat Quartiers 2030 ({esc(d.short_name or d.name)}, "
                 f"{plural(len(d.communes), 'commune')})")
    plain.append(f"Carte du {fr_date(day)} ; contours simplifiés pour l'affichage : pour une adresse, "
                 "demandez une fiche d'éligibilité")
    technical.append(f"Définition du territoire : {esc(getattr(d, 'source_path', '') and Path(d.source_path).name or 'territory.toml')}")
    technical.append(f"Contours simplifiés pour l'affichage (tolérance {simplify_m:g} m)"
                     + (" ; points arrondis à environ 10 m" if with_points else ""))
    if tiles:
        technical.append("Fond de plan à l'écran : Plan IGN v2 © IGN (chargé en ligne) ; jamais imprimé : "
                         "l'impression redessine la carte en vecteurs, nette à toute taille")
    else:
        technical.append("Sans fond de plan (carte produite avec --no-tiles : aucune requête réseau)")
    technical.append(f"Carte produite avec cq-geo {esc(version)} le {fr_date(day)}")
    return ("<div class='cq-fold' title='Afficher ou masquer'>Sources</div><div class='cq-body'>"
            + "<br>".join(plain)
            + "<details class='cq-tech'><summary>Détails techniques</summary>" + "<br>".join(technical)
            + "</details></div><div class='cq-offline'>Fond de plan IGN non chargé (pas de réseau) : "
            "fond neutre à l'écran ; l'impression n'en dépend pas.</div>")
