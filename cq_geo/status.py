"""``cq-geo data status``: each layer's entry (what is there, what is missing, the command that fixes it)
and the report in French. Used for the GeoPackage store and the shared store alike.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .data.common import CODE_COLUMN, HISTORY_LAYER, LAYERS, store_layers
from .data.gpkg_store import Store, validate_store_file
from .errors import DataError


def _todo(layer: str, store_opt: str) -> str:
    return {
        "communes": f"cq-geo data update --only communes{store_opt} (ou cq-geo data import communes FICHIER{store_opt})",
        "qpv": f"cq-geo data update --only qpv{store_opt} (ou cq-geo data import qpv FICHIER{store_opt})",
        "qpv2015": f"cq-geo data import qpv2015 FICHIER{store_opt} (facultatif, pour comparer)",
        "poche": f"cq-geo data import local FICHIER --tier poche{store_opt}",
        "qva": f"cq-geo data import local FICHIER --tier qva{store_opt}",
    }.get(layer) or f"cq-geo data import local FICHIER --tier {layer}{store_opt}"


def status_layer_entries(meta, rows, definition, store_opt: str, layers=LAYERS) -> list[dict[str, Any]]:
    """The per-layer entries of the status report (GeoPackage or shared store; *layers*: those to list)."""
    from .report import LAYER_STATUS_FR

    entries = []
    for layer in layers:
        m = meta.get(layer) or {}
        status = m.get("status") or "missing"
        entry = {
            "layer": layer, "status": status, "status_fr": LAYER_STATUS_FR.get(status, status),
            "vintage": m.get("vintage") or "", "feature_count": int(m.get("feature_count") or 0),
            "source": m.get("source") or "", "publisher": m.get("publisher") or "", "licence": m.get("licence") or "",
            "sha256": m.get("sha256") or "", "imported_at": m.get("imported_at") or "", "note": m.get("note") or "",
            "missing": [], "provisional": [], "not_in_definition": [], "todo": [],
        }
        code_col = CODE_COLUMN[layer]
        codes = {r.get(code_col) for r in rows.get(layer, [])}
        if layer == "communes":
            entry["missing"] = [c for c in definition.communes if c not in codes]
            if status != "official":
                entry["todo"].append(_todo(layer, store_opt))
        elif layer == "qpv2015":
            if status == "missing":
                entry["todo"].append(_todo(layer, store_opt))
        else:
            zones = [z for z in definition.zones_of(layer) if z.geometry == "perimeter"]
            entry["missing"] = [z.code for z in zones if z.code not in codes]
            entry["not_in_definition"] = sorted(c for c in codes if c not in {z.code for z in definition.zones_of(layer)})
            if layer in definition.local_tier_ids:
                entry["provisional"] = sorted(r["code"] for r in rows.get(layer, []) if r.get("status") == "provisional")
            if entry["missing"] or (layer == "qpv" and status not in ("official", "missing")):
                entry["todo"].append(_todo(layer, store_opt))  # a « fichier importé » is not the official layer
            if entry["provisional"]:
                entry["todo"].append(f"cq-geo data validate-zone CODE --by NOM{store_opt}")
        entries.append(entry)
    return entries


def status_text(report: dict[str, Any]) -> str:
    """The status report in French."""
    lines = [f"Magasin de données : {report['store']}"]
    if report.get("damaged"):
        lines.append(f"  ENDOMMAGÉ : {report['damaged']}")
        lines.append("  (les commandes qui le lisent s'arrêtent avec ce message)")
        if report["previous_state"]:
            lines.append(f"  état précédent conservé ({report['previous_modified']}) : "
                         f"{report.get('previous_state_check', '')}")
        lines.extend(f"    → {t}" for t in report.get("todo", []))
        return "\n".join(lines)
    if not report["exists"]:
        if report["origin"] == "argument":
            lines.append(f"  (absent : les commandes avec --store {report['store']} s'arrêtent tant qu'il n'est pas "
                         f"créé par {report['create_with']} ou par un import ; sans --store, elles utilisent les "
                         "données embarquées)")
        else:
            lines.append(f"  (absent : les réponses utilisent les données embarquées ; il sera créé par "
                         f"{report['create_with']} ou par un import)")
    elif report.get("shared"):  # the shared store (PostGIS)
        last = report.get("last_change") or {}
        lines.append(f"  magasin partagé : {report['changes']} état(s) dans l'historique, dernier le {last.get('at', '')} "
                     f"({last.get('description', '')}, {last.get('author', '')}) : cq-geo data history, "
                     "cq-geo data rollback [--to ÉTAT]")
    elif report["previous_state"]:
        lines.append(f"  état précédent conservé ({report['previous_modified']}) : cq-geo data rollback pour le restaurer")
    if report.get("shared_copy"):
        c = report["shared_copy"]
        lines.append(f"  copie du magasin partagé {c['source']} (état {c['state']} du {c['state_at']}) faite le "
                     f"{c['pulled_at']}, il y a {c['age_text']} : cq-geo data pull pour la rafraîchir")
    for e in report["layers"]:
        head = f"- {e['layer']} : {e['status_fr']}, {e['feature_count']} entité(s)"
        if e["vintage"]:
            head += f", {e['vintage']}"
        lines.append(head)
        if e["source"]:
            lines.append(f"    source : {e['source']}" + (f" ({e['publisher']})" if e["publisher"] else ""))
        if e["imported_at"]:
            lines.append(f"    installée le : {e['imported_at']}" + (f", sha256 {e['sha256'][:12]}…" if e["sha256"] else ""))
        ans = e.get("in_answers")
        if ans and (ans["status"] != e["status"] or ans["feature_count"] != e["feature_count"]):
            lines.append(f"    dans les réponses : {ans['status_fr']}, {ans['feature_count']} zone(s) — {ans['source']}")
        if e["missing"]:
            lines.append(f"    manquant : {', '.join(e['missing'])}")
        if e["provisional"]:
            lines.append(f"    provisoire(s), à valider : {', '.join(e['provisional'])}")
        if e["not_in_definition"]:
            lines.append(f"    hors définition du territoire (ignoré) : {', '.join(e['not_in_definition'])}")
        for t in e["todo"]:
            lines.append(f"    → {t}")
    if report.get("ban") is not None:  # the shared store's address index (offline geocoder)
        lines.extend(_ban_status_lines(report["ban"]))
    return "\n".join(lines)


def _ban_status_lines(ban: dict[str, Any]) -> list[str]:
    """The BAN address index in the status text (rows, source file and its sha256, import date)."""
    if not ban.get("present"):
        return ["- index BAN (géocodage hors ligne) : absent", f"    → {ban['todo']}"]
    lines = [f"- index BAN (géocodage hors ligne) : {ban['numbers']} adresses numérotées, {ban['streets']} voies "
             "et lieux-dits",
             f"    source : {ban['source']}" + (f" + {ban['lieux_dits_source']}" if ban.get("lieux_dits_source") else ""),
             f"    installé le : {ban['imported_at']}" + (f", sha256 {ban['sha256'][:12]}…" if ban["sha256"] else "")]
    return lines


def status_report(store_path=None, territory_file=None) -> dict[str, Any]:
    """What is installed, layer by layer, and what is missing with the command that fixes it.

    Works without a store (then it describes the embedded baseline).
    """
    from .data.pgstore import shared_url

    if shared_url(store_path):  # the shared store (PostGIS)
        return _shared_status_report(shared_url(store_path), territory_file=territory_file)
    from .model import load_definition
    from .paths import default_store_path, resolve_store

    definition = load_definition(territory_file)
    resolved, origin = resolve_store(store_path)
    path = resolved if resolved is not None else default_store_path()
    store = Store(path)
    store_opt = f" --store {path}" if origin == "argument" else ""
    store.recover_if_needed()
    exists = store.exists()
    damaged = ""
    if exists:
        try:
            validate_store_file(path)
            meta = store.metadata()
            listed = store_layers(definition)  # the tiers of the territory file too
            present = set(store.layers()) | (set(meta) & set(listed))
            rows = {layer: store.polygon_rows(layer) for layer in listed if layer in present}
            history_count = len(store.polygon_rows(HISTORY_LAYER))
        except DataError as exc:
            return _damaged_report(store, origin, str(exc), store_opt)
    else:
        from .geo.layers import load_baseline_communes

        geoms, info = load_baseline_communes()
        meta = {"communes": {**info.to_dict(), "imported_at": "", "note": "contours embarqués (aucun magasin)"}}
        rows = {"communes": [{"insee": c} for c in geoms]}
        history_count = 0
    layers = status_layer_entries(meta, rows, definition, store_opt, layers=store_layers(definition))
    # what the answers rest on (whole-commune zones take the commune outlines)
    if exists:
        from .territory import load_store_territory

        territory = load_store_territory(path, territory_file=territory_file)
    else:
        from .territory import Territory

        geoms, info = load_baseline_communes()
        territory = Territory(definition, geoms, info)
    _add_in_answers(layers, territory)
    prev = store.previous_path
    return {
        "store": str(path), "exists": exists, "origin": origin if exists or origin != "baseline" else "baseline",
        "damaged": damaged,
        "previous_state": prev.is_file(),
        "previous_modified": (datetime.fromtimestamp(prev.stat().st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                              if prev.is_file() else ""),
        "history_count": history_count,
        "layers": layers,
        "create_with": "" if exists else f"cq-geo data update{store_opt}",
        "shared_copy": _shared_copy(path) if exists else None,
    }


def _add_in_answers(layers: list[dict[str, Any]], territory) -> None:
    """Add to each layer entry what the answers rest on (whole-commune zones take the commune outlines)."""
    from .report import LAYER_STATUS_FR

    for entry in layers:
        info = territory.layers.get(entry["layer"])
        if info is not None:
            entry["in_answers"] = {"status": info.status, "status_fr": LAYER_STATUS_FR.get(info.status, info.status),
                                   "feature_count": info.feature_count, "source": info.source}


def _shared_status_report(url: str, territory_file=None) -> dict[str, Any]:
    """``data status`` of the shared store (same structure as :func:`status_report`)."""
    from .data.pgstore import PgStore, shared_ban_status, shared_store_rows
    from .territory import territory_from_rows

    store = PgStore(url, territory_file=territory_file)
    meta = store.metadata()
    rows = {layer: store.polygon_rows(layer) for layer in store.layer_names}
    changes = store.changes()
    store_opt = f" --store {store.label}"
    layers = status_layer_entries(meta, rows, store.definition, store_opt, layers=store.layer_names)
    _add_in_answers(layers, territory_from_rows(shared_store_rows(url, territory_file)))
    last = changes[-1] if changes else None
    return {
        "store": str(store), "exists": True, "origin": "shared", "damaged": "", "shared": True,
        "previous_state": len(changes) > 1, "previous_modified": last["at"] if last else "",
        "history_count": sum(c["rows"] for c in changes), "changes": len(changes),
        "last_change": {k: last[k] for k in ("change", "at", "author", "description")} if last else None,
        "layers": layers, "create_with": "", "ban": shared_ban_status(store),
    }


def _shared_copy(path):
    """Origin and age of a local copy of the shared store (``cq-geo data pull``), else None."""
    from .data.pgstore import copy_age

    return copy_age(path)


def _damaged_report(store: Store, origin: str, problem: str, store_opt: str) -> dict[str, Any]:
    """The status of a store that cannot be read: the problem, the previous state, what to do."""
    prev = store.previous_path
    prev_ok = ""
    if prev.is_file():
        try:
            validate_store_file(prev)
            prev_ok = "valide"
        except DataError as exc:
            prev_ok = f"lui aussi illisible ({exc})"
    todo = [f"cq-geo data rollback{store_opt} (restaure l'état précédent, {prev_ok})"] if prev_ok == "valide" else []
    todo.append(f"ou réinstallez les couches dans un nouveau magasin : déplacez {store.path.name}, puis "
                f"cq-geo data update{store_opt}")
    return {
        "store": str(store.path), "exists": True, "origin": origin, "damaged": problem,
        "previous_state": prev.is_file(), "previous_state_check": prev_ok,
        "previous_modified": (datetime.fromtimestamp(prev.stat().st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                              if prev.is_file() else ""),
        "history_count": 0, "layers": [], "todo": todo, "create_with": "",
    }
