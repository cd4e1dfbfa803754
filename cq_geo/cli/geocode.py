"""``cq-geo geocode`` (list the candidates for an address) and ``cq-geo ban-import`` (build the offline index).

Examples (shell)::

    cq-geo ban-import adresses-59.csv.gz            # once: the BAN file of the Nord
    cq-geo geocode "12 rue Jean Jaurès 59220 Denain"
    cq-geo geocode "rue de la Gare" --json --limit 10
    cq-geo geocode "12 rue Jean Jaurès Denain" --geocoder online    # sends the address to the Géoplateforme
    cq-geo lookup "12 rue Jean Jaurès 59220 Denain"

Heavy imports stay inside the functions (``cq-geo --help`` must start fast).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["COMMANDS", "add_geocoder_arguments", "run_ban_import", "run_address_lookup"]


def add_geocoder_arguments(p: argparse.ArgumentParser, with_none: bool = False) -> None:
    """``--geocoder``, ``--geocoder-url``, ``--limit`` (shared by ``geocode`` and ``lookup``)."""
    choices = ["offline", "online", "none"] if with_none else ["offline", "online"]
    p.add_argument(
        "--geocoder", choices=choices, default=None,
        help="géocodeur : offline (index BAN local, par défaut : les adresses ne quittent pas l'ordinateur), "
             "online (Géoplateforme de l'IGN ou serveur addok : les adresses sont envoyées sur le réseau)"
             + (", none (pas de géocodage)" if with_none else "") + " ; par défaut CQ_GEO_GEOCODER, sinon offline",
    )
    p.add_argument("--geocoder-url", metavar="URL", default=None,
                   help="adresse du géocodeur en ligne (défaut : CQ_GEO_GEOCODER_URL, sinon "
                        "https://data.geopf.fr/geocodage)")
    p.add_argument("--limit", type=int, default=5, metavar="N", help="nombre de candidats au plus (5)")


def _geocode_args(p: argparse.ArgumentParser) -> None:
    from .common import add_store_arguments

    p.add_argument("address", metavar="ADRESSE", help="adresse, ex. « 12 rue Jean Jaurès 59220 Denain »")
    p.add_argument("--postcode", default="", metavar="CP", help="filtrer par code postal")
    p.add_argument("--citycode", default="", metavar="INSEE", help="filtrer par code INSEE de commune")
    p.add_argument("--json", action="store_true", help="réponse en JSON")
    add_geocoder_arguments(p)
    add_store_arguments(p)


def _geocoder(args):
    from ..errors import CqGeoError
    from ..geocode.lookup import get_geocoder

    if args.limit < 1 or args.limit > 50:
        raise CqGeoError("--limit doit être entre 1 et 50")
    return get_geocoder(args.geocoder, store=args.store, base_url=args.geocoder_url)


def _run_geocode(args: argparse.Namespace) -> int:
    from ..geocode.base import AddressQuery
    from ..geocode.lookup import result_text

    geocoder = _geocoder(args)
    result = geocoder.geocode(AddressQuery(args.address, postcode=args.postcode, citycode=args.citycode),
                              limit=args.limit)
    if args.json:  # same exit code as the text answer: 2 when nothing was found
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0 if result.quality != "not_found" else 2
    print(result_text(result, limit=args.limit))
    print(f"Source : {result.source}")
    return 0 if result.quality != "not_found" else 2


def _ban_import_args(p: argparse.ArgumentParser) -> None:
    from .common import add_store_arguments

    p.add_argument("file", metavar="FICHIER",
                   help="fichier des adresses de la BAN du département (adresses-59.csv.gz, "
                        "https://adresse.data.gouv.fr/data/ban/adresses/latest/csv/)")
    p.add_argument("--lieux-dits", metavar="FICHIER", dest="lieux_dits",
                   help="fichier des lieux-dits de la BAN (lieux-dits-59-beta.csv.gz) ; lu d'office s'il est "
                        "à côté du fichier des adresses")
    p.add_argument("--json", action="store_true", help="compte rendu en JSON")
    add_store_arguments(p)


def run_ban_import(args: argparse.Namespace) -> int:
    """Import the BAN file named by ``args.file`` into the store (``args.store``); print a French report."""
    from ..geocode.ban_index import import_ban
    from ..progress import tqdm_fr as tqdm

    bar = tqdm(total=None, unit="o", unit_scale=True, unit_divisor=1024, desc="lecture BAN", disable=None,
               leave=False, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)

    try:
        stats = import_ban(args.file, store=args.store, progress=progress,
                           territory_file=getattr(args, "territory_file", None),
                           lieux_dits=getattr(args, "lieux_dits", None))
    finally:
        bar.close()
    if getattr(args, "json", False):
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return 0
    print(f"Index BAN installé : {stats['rows_kept']} adresses, {stats['streets']} voies, "
          f"{stats['communes']} communes du territoire ({stats['rows_read']} lignes lues)")
    if stats.get("lieux_dits_file"):
        print(f"  {stats['lieux_dits_kept']} lieux-dits sans adresse ajoutés ({Path(stats['lieux_dits_file']).name})")
    else:
        print(f"  fichier des lieux-dits ({stats.get('lieux_dits_expected') or 'lieux-dits-XX-beta.csv.gz'}) non fourni : "
              "les lieux-dits sans adresse "
              "numérotée ne seront pas trouvés (--lieux-dits)")
    if stats["rows_invalid"]:
        print(f"  {stats['rows_invalid']} lignes écartées (coordonnées ou numéro illisibles)")
    if stats["communes_missing"]:
        from ..model import load_definition

        d = load_definition(getattr(args, "territory_file", None))
        names = [f"{d.commune_name(c) or c} ({c})" for c in stats["communes_missing"]]
        more = f" et {len(names) - 8} autres" if len(names) > 8 else ""
        print(f"  {len(names)} commune(s) sans adresse dans ce fichier : {', '.join(names[:8])}{more}")
    print(f"Magasin : {stats['store']}")
    return 0


def run_address_lookup(args: argparse.Namespace) -> int:
    """``cq-geo lookup "ADRESSE"``: geocode, then answer with the position's quality and warnings."""
    from ..errors import CqGeoError
    from ..geocode.lookup import lookup_address
    from ..territory import load_territory

    geocoder = _geocoder(args)
    if geocoder is None:
        raise CqGeoError("--geocoder none : donnez des coordonnées (--lon/--lat ou --x/--y) au lieu d'une adresse")
    territory = load_territory(store=args.store, territory_file=args.territory_file)
    answer = lookup_address(territory, args.address, geocoder, limit=args.limit)
    if getattr(args, "fiche", None):
        from .common import write_fiche_answer

        write_fiche_answer(args, territory, answer.to_dict(), args.address)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(answer.to_text())
    return 0


#: name → (help text, add_arguments(parser), run(args) -> exit code)
COMMANDS = {
    "geocode": ("candidats pour une adresse (index BAN local par défaut ; --geocoder online sur demande)",
                _geocode_args, _run_geocode),
    "ban-import": ("installer l'index d'adresses hors ligne à partir du fichier BAN (adresses-59.csv.gz)",
                   _ban_import_args, run_ban_import),
}
