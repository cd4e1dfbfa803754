"""Options and outputs shared by the command modules (``cq_geo.cli.main*``), apart from :mod:`cq_geo.cli.main`
so that they import no module that imports them back."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_store_arguments", "write_fiche_answer"]


def add_store_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="CHEMIN",
        help="magasin de données (GeoPackage) ; par défaut CQ_GEO_STORE, puis le magasin de l'utilisateur, "
        "puis les données embarquées",
    )
    p.add_argument("--territory-file", metavar="TOML", help="autre fichier de définition du territoire")
    p.add_argument("--territory", metavar="DOSSIER",
                   help="dossier d'un autre territoire (cq-geo territory init) ; par défaut CQ_GEO_TERRITORY, "
                        "puis la CAPH")


def write_fiche_answer(args: argparse.Namespace, territory, answer: dict, typed: str) -> None:
    """``--fiche``: the eligibility sheet of this answer (said on stderr, the answer stays on stdout)."""
    if getattr(args, "fiche", None):
        from ..maps.fiche import write_fiche

        path = write_fiche(args.fiche, territory, answer, typed=typed)
        print(f"cq-geo : fiche d'éligibilité écrite : {path}", file=sys.stderr)
