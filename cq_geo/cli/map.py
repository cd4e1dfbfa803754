"""``cq-geo map``: the council map as one self-contained HTML file.

Examples (shell)::

    cq-geo map -o carte.html
    cq-geo map -o carte.html --results resultats.csv --title "Bénéficiaires 2026"
    cq-geo map -o carte.html --no-tiles          # no network request at all

Top-level imports stay light: folium and the geometry come inside :func:`run`.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["COMMANDS", "add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``cq-geo map``."""
    from .common import add_store_arguments

    p.add_argument("-o", "--output", required=True, metavar="FICHIER.html", help="fichier HTML à écrire")
    p.add_argument("--results", metavar="FICHIER",
                   help="résultats d'un traitement par lot (CSV ou XLSX avec cq_lon/cq_lat ou lon/lat, ou GeoPackage de points)")
    p.add_argument("--title", metavar="TEXTE", help="titre de la carte")
    p.add_argument("--subtitle", metavar="TEXTE", help="sous-titre de la carte")
    p.add_argument("--date", metavar="AAAA-MM-JJ", help="date affichée (par défaut : aujourd'hui)")
    p.add_argument("--no-tiles", action="store_true",
                   help="sans fond de plan IGN (aucune requête réseau ; contours et noms sur fond neutre)")
    p.add_argument("--no-cluster", action="store_true", help="ne pas regrouper les points")
    p.add_argument("--json", action="store_true", help="compte rendu (et erreurs) en JSON")
    p.add_argument("--simplify", type=_tolerance, default=None, metavar="MÈTRES",
                   help="tolérance de simplification des contours pour l'affichage (défaut : 10 m)")
    add_store_arguments(p)


def _tolerance(text: str) -> float:
    """--simplify: a finite number of metres, 0 or more (``nan``, ``inf``, ``-1`` refused in French)."""
    import math

    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise argparse.ArgumentTypeError(f"nombre de mètres attendu (reçu : {text!r})") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"nombre de mètres positif ou nul attendu, ex. 10 (reçu : {text!r})")
    return value


def run(args: argparse.Namespace) -> int:
    """Build and write the map; returns the exit code."""
    import json
    import time

    from ..data.store import refuse_store_output
    from ..maps.webmap import DEFAULT_SIMPLIFY_M, export_map
    from ..territory import load_territory

    refuse_store_output(args.output, args.store)  # never write over the data store (issue 12)
    start = time.perf_counter()
    print("cq-geo : préparation de la carte…", file=sys.stderr, flush=True)
    territory = load_territory(store=args.store, territory_file=args.territory_file)
    if args.results:
        print(f"cq-geo : lecture des résultats {args.results}…", file=sys.stderr, flush=True)
    path = export_map(
        args.output, territory=territory, results=args.results, title=args.title, subtitle=args.subtitle,
        tiles=not args.no_tiles, date=args.date, cluster=not args.no_cluster,
        simplify_m=DEFAULT_SIMPLIFY_M if args.simplify is None else args.simplify,
    )
    size = path.stat().st_size
    missing = [name for name, info in territory.layers.items() if info.status == "missing"]
    if getattr(args, "json", False):
        print(json.dumps({"output": str(path), "size_bytes": size, "seconds": round(time.perf_counter() - start, 2),
                          "missing_layers": missing}, ensure_ascii=False, indent=2))
        return 0
    seconds = f"{time.perf_counter() - start:.1f}".replace(".", ",")
    print(f"Carte écrite : {path} ({size / 1e6:.1f} Mo, {seconds} s)".replace(".0 Mo", " Mo").replace(
        f"{size / 1e6:.1f} Mo", f"{size / 1e6:.1f} Mo".replace(".", ",")))
    if size > 10_000_000:
        print(f"Attention : carte lourde ({size / 1e6:.0f} Mo), lente à ouvrir ; pour beaucoup de points, "
              "préférez le résumé de cq-geo batch ou QGIS.")
    if missing:
        names = {"communes": "communes", **{t: territory.definition.tiers[t].plural for t in territory.definition.tier_ids}}
        print("Couches absentes (signalées dans la légende) : " + ", ".join(names.get(m, m) for m in missing))
    return 0


#: name → (help text, add_arguments(parser), run(args) -> exit code)
COMMANDS = {
    "map": ("carte du territoire pour le conseil (un fichier HTML autonome, lisible hors ligne)", add_arguments, run),
}
