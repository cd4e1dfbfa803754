"""``cq-geo batch``: the eligibility of every row of a CSV or XLSX file.

Examples (shell)::

    cq-geo batch beneficiaires.csv -o resultats.csv --address-cols "numero,voie" --postcode-col cp --city-col ville
    cq-geo batch sites.xlsx -o sites.gpkg --lon-col longitude --lat-col latitude
    cq-geo batch points.csv -o points.xlsx --x-col X --y-col Y
    cq-geo batch beneficiaires.csv -o partage.csv --address-cols adresse --city-col ville --pseudonymise

Exit codes: 0 done; 2 a mistake to correct (French message: column, path, option,
file already there without --overwrite, disk full…), nothing replaced; 3 done, but
no row could be placed (all invalid, not found or ambiguous): output and summary are
written all the same; 130 interrupted (--resume to go on); 1 an internal error.

Only light imports at the top: pandas and the rest load inside :func:`run`.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["COMMANDS", "EXIT_NOTHING_USABLE"]

#: Exit code of ``cq-geo batch`` when no row could be placed (the output and summary are written).
EXIT_NOTHING_USABLE = 3


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = ("codes de sortie : 0 fait ; 2 erreur à corriger (message en français, rien n'est remplacé) ; "
                "3 fait, mais aucune ligne n'a pu être placée (sortie et résumés écrits) ; 130 interrompu "
                "(--resume pour reprendre). Les fichiers écrits à côté de la sortie portent son nom entier : "
                "<sortie>.resume.xlsx, <sortie>.resume.html, <sortie>.sel.txt, <sortie>.reprise-geocodage.jsonl.")
    p.add_argument("input", metavar="ENTREE", help="fichier CSV (; ou ,) ou XLSX ; il n'est jamais modifié")
    p.add_argument("-o", "--output", metavar="SORTIE", required=True,
                   help="fichier de sortie : .csv, .xlsx ou .gpkg (points pour QGIS)")
    g = p.add_argument_group("où sont les lieux")
    g.add_argument("--lon-col", metavar="COL", help="colonne des longitudes WGS84 (degrés, virgule décimale acceptée)")
    g.add_argument("--lat-col", metavar="COL", help="colonne des latitudes WGS84")
    g.add_argument("--x-col", metavar="COL", help="colonne des x Lambert-93 (EPSG:2154, mètres)")
    g.add_argument("--y-col", metavar="COL", help="colonne des y Lambert-93")
    g.add_argument("--address-cols", metavar="COLS",
                   help='colonnes de l\'adresse, séparées par des virgules (ex. "numero,voie")')
    g.add_argument("--postcode-col", metavar="COL", help="colonne du code postal")
    g.add_argument("--city-col", metavar="COL", help="colonne de la commune")
    g.add_argument("--geocoder", choices=("offline", "online", "none"), default="offline",
                   help="géocodeur des adresses : offline (BAN sur cet ordinateur, par défaut), online "
                        "(service en ligne : les adresses quittent l'ordinateur) ou none")
    f = p.add_argument_group("fichiers")
    f.add_argument("--encoding", metavar="ENC", help="encodage du CSV d'entrée (détecté sinon : utf-8, cp1252…)")
    f.add_argument("--delimiter", metavar="SEP", help="séparateur du CSV d'entrée (détecté sinon : ; , tab |)")
    f.add_argument("--sheet", metavar="FEUILLE", help="feuille du classeur XLSX (la première sinon)")
    f.add_argument("--output-encoding", metavar="ENC", help="encodage du CSV de sortie (celui de l'entrée sinon)")
    f.add_argument("--output-delimiter", metavar="SEP", help="séparateur du CSV de sortie (celui de l'entrée sinon)")
    f.add_argument("--decimal", choices=(",", "."), metavar="{,|.}",
                   help="séparateur décimal du CSV de sortie (virgule avec le séparateur ;, point sinon)")
    f.add_argument("--crs", type=int, choices=(2154, 4326), default=2154,
                   help="système de coordonnées du GeoPackage : 2154 Lambert-93 (par défaut) ou 4326 WGS84")
    s = p.add_argument_group("sécurité")
    s.add_argument("--resume", action="store_true",
                   help="reprendre un traitement interrompu sans géocoder à nouveau les adresses déjà faites")
    s.add_argument("--pseudonymise", action="store_true",
                   help="retirer les colonnes d'adresse et de coordonnées, ajouter un identifiant haché salé (cq_id)")
    s.add_argument("--salt", metavar="SEL",
                   help="sel de --pseudonymise (sinon celui de <sortie>.sel.txt s'il existe, ou un nouveau, écrit dans ce fichier)")
    s.add_argument("--overwrite", action="store_true",
                   help="remplacer une sortie et ses résumés déjà présents (sans cette option, rien n'est remplacé)")
    p.add_argument("--no-summary-files", action="store_true", help="ne pas écrire <sortie>.resume.xlsx et .html")
    p.add_argument("--fiches", metavar="DOSSIER", help="écrire aussi une fiche d'éligibilité par ligne localisée dans DOSSIER")
    p.add_argument("-q", "--quiet", action="store_true", help="ni barre de progression ni résumé à l'écran")
    from .main import add_store_arguments

    add_store_arguments(p)


class _Bar:
    """A tqdm progress bar (rate and remaining time) fed by ``progress(done, total)``."""

    def __init__(self, quiet: bool, desc: str = "Géocodage", unit: str = " adresses"):
        self.quiet = quiet
        self.desc, self.unit = desc, unit
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from ..progress import tqdm_fr as tqdm

            self.bar = tqdm(total=total, desc=self.desc, unit=self.unit, file=sys.stderr, dynamic_ncols=True,
                            smoothing=0.1)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args: argparse.Namespace) -> int:
    from ..bulk.run import batch_file
    from ..data.store import refuse_store_output

    refuse_store_output(args.output, args.store)  # never write over the data store (issue 12)
    quiet = args.quiet
    bar = _Bar(quiet)
    writing = _Bar(quiet, "Écriture", " lignes")
    if not quiet:
        print(f"Lecture de {args.input}…", file=sys.stderr)
    try:
        res = batch_file(
            args.input, args.output,
            lon_col=args.lon_col, lat_col=args.lat_col, x_col=args.x_col, y_col=args.y_col,
            address_cols=args.address_cols, postcode_col=args.postcode_col, city_col=args.city_col,
            geocoder=args.geocoder, store=args.store, territory_file=args.territory_file,
            encoding=args.encoding, delimiter=args.delimiter, sheet=args.sheet,
            output_encoding=args.output_encoding, output_delimiter=args.output_delimiter, decimal=args.decimal,
            crs=args.crs, resume=args.resume, pseudonymise=args.pseudonymise, salt=args.salt,
            progress=bar, write_progress=writing, write_summary=not args.no_summary_files,
            stage=None if quiet else (lambda text: print(text, file=sys.stderr, flush=True)),
            overwrite=args.overwrite,
        )
    except KeyboardInterrupt:
        bar.close()
        print("cq-geo : interrompu ; relancez la même commande avec --resume pour reprendre "
              "sans géocoder à nouveau les adresses déjà faites", file=sys.stderr)
        return 130
    finally:
        bar.close()
        writing.close()
    if not quiet:
        print(res.summary.to_text())
    print(f"Résultat : {res.output}", file=sys.stderr)
    for path in res.summary_files:
        print(f"Résumé : {path}", file=sys.stderr)
    if getattr(args, "fiches", None):  # one eligibility sheet per located row (cq_geo/maps/fiche.py)
        from ..maps.fiche import write_fiches
        from ..territory import load_territory

        fiches = _Bar(quiet, "Fiches", " fiches")
        try:
            done, skipped = write_fiches(res.output, args.fiches, load_territory(store=args.store, territory_file=args.territory_file),
                                         address_cols=args.address_cols, progress=fiches)
        finally:
            fiches.close()
        print(f"Fiches d'éligibilité : {done} dans {args.fiches} ({skipped} ligne{'s' if skipped > 1 else ''} "
              "sans position)", file=sys.stderr)
    if res.salt_file is not None:
        print(f"Sel de la pseudonymisation : {res.salt} (gardé dans {res.salt_file} ; ne le transmettez pas)",
              file=sys.stderr)
    if res.usable == 0:
        print("cq-geo : aucune ligne n'a pu être placée (toutes invalides, introuvables ou ambiguës) : voyez les "
              "raisons dans le résumé, corrigez les colonnes ou le fichier et relancez (code de sortie 3)",
              file=sys.stderr)
        return EXIT_NOTHING_USABLE
    return 0


COMMANDS = {
    "batch": ("éligibilité de chaque ligne d'un fichier CSV ou XLSX (adresses ou coordonnées)", add_arguments, run),
}
