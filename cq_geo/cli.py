"""The ``cq-geo`` command line.

Exit codes: 0 answered, 2 bad input (French message on stderr), 1 internal error.

Examples (shell)::

    cq-geo lookup --lon 3.3957 --lat 50.3290
    cq-geo lookup --x 728213 --y 7025762 --json
    cq-geo lookup "12 rue Jean Jaurès 59220 Denain"     # geocoded offline (BAN index), then looked up
    cq-geo check

Sub-commands: :data:`COMMANDS` here, plus the ``COMMANDS`` dict of each module
listed in :data:`COMMAND_MODULES` (name → (help, add_arguments, run)). Those
modules keep their top-level imports light: heavy ones go inside ``run``, so the
start stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

__all__ = ["main", "build_parser", "COMMANDS", "COMMAND_MODULES", "add_store_arguments"]


def add_store_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="CHEMIN",
        help="magasin de données (GeoPackage) ; par défaut CQ_GEO_STORE, puis le magasin de l'utilisateur, "
        "puis les données embarquées",
    )
    p.add_argument("--territory-file", metavar="TOML", help="autre fichier de définition du territoire")


def _lookup_args(p: argparse.ArgumentParser) -> None:
    from .cli_geocode import add_geocoder_arguments

    p.add_argument("address", nargs="?", metavar="ADRESSE",
                   help="adresse à géocoder puis situer, ex. « 12 rue Jean Jaurès 59220 Denain » (ou --lon/--lat)")
    add_geocoder_arguments(p, with_none=True)
    p.add_argument("--lon", type=str, help="longitude WGS84 en degrés décimaux (ex. 3.3957)")
    p.add_argument("--lat", type=str, help="latitude WGS84 en degrés décimaux (ex. 50.3290)")
    p.add_argument("--x", type=str, help="x Lambert-93 (EPSG:2154) en mètres")
    p.add_argument("--y", type=str, help="y Lambert-93 (EPSG:2154) en mètres")
    p.add_argument("--json", action="store_true", help="réponse en JSON")
    p.add_argument("--fiche", metavar="FICHE.html",
                   help="écrire aussi la fiche d'éligibilité (une page A4 imprimable, lisible hors ligne)")
    add_store_arguments(p)


def _write_fiche(args: argparse.Namespace, territory, answer: dict, typed: str) -> None:
    """``--fiche``: the eligibility sheet of this answer (said on stderr, the answer stays on stdout)."""
    if getattr(args, "fiche", None):
        from .fiche import write_fiche

        path = write_fiche(args.fiche, territory, answer, typed=typed)
        print(f"cq-geo : fiche d'éligibilité écrite : {path}", file=sys.stderr)


def _number(value: str | None, name: str) -> float | None:
    from .errors import InvalidCoordinates

    if value is None:
        return None
    try:
        return float(value.replace(",", ".").strip())
    except ValueError:
        raise InvalidCoordinates(f"{name} doit être un nombre (reçu : {value!r})") from None


def _run_lookup(args: argparse.Namespace) -> int:
    from .errors import InvalidCoordinates
    from .territory import load_territory

    lon, lat = _number(args.lon, "--lon"), _number(args.lat, "--lat")
    x, y = _number(args.x, "--x"), _number(args.y, "--y")
    if getattr(args, "address", None):
        from .cli_geocode import run_address_lookup

        if any(v is not None for v in (lon, lat, x, y)):
            raise InvalidCoordinates("donnez une adresse, ou des coordonnées, pas les deux")
        return run_address_lookup(args)
    if (lon is None) != (lat is None) or (x is None) != (y is None) or (lon is None) == (x is None):
        raise InvalidCoordinates("donnez --lon et --lat (WGS84), ou --x et --y (Lambert-93), ou une adresse")
    territory = load_territory(store=args.store, territory_file=args.territory_file)
    if lon is not None:
        result = territory.lookup(lon=lon, lat=lat)
    else:
        result = territory.lookup(x=x, y=y)
    typed = f"lon {args.lon}, lat {args.lat}" if lon is not None else f"x {args.x}, y {args.y} (Lambert-93)"
    _write_fiche(args, territory, result.to_dict(), typed)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(result.to_text())
    return 0


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="rapport en JSON")
    add_store_arguments(p)


def _run_check(args: argparse.Namespace) -> int:
    from .report import check_text
    from .territory import load_territory

    report = load_territory(store=args.store, territory_file=args.territory_file).check()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(check_text(report))
    return 0 if report["ok"] else 1


#: name → (help text, add_arguments(parser), run(args) -> exit code)
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "lookup": ("géographie, équipe et chefs de projet pour un point ou une adresse", _lookup_args, _run_lookup),
    "check": ("cohérence du territoire (zones sans périmètre, communes sans équipe, comptes)", _check_args, _run_check),
}


#: Modules that add sub-commands (each defines a ``COMMANDS`` dict like the one above).
COMMAND_MODULES: list[str] = ["cq_geo.cli_data", "cq_geo.cli_map", "cq_geo.cli_geocode", "cq_geo.cli_batch"]


def all_commands() -> dict[str, tuple[str, Callable, Callable]]:
    """Every sub-command: the built-in ones and those of :data:`COMMAND_MODULES`."""
    import importlib

    commands = dict(COMMANDS)
    for module in COMMAND_MODULES:
        commands.update(importlib.import_module(module).COMMANDS)
    return commands


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command."""
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="cq-geo",
        description="Géographie du Contrat Quartiers 2030 de La Porte du Hainaut (QPV, poches, anciens QVA, équipes).",
    )
    parser.add_argument("--version", action="version", version=f"cq-geo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMANDE")
    for name, (help_text, add_args, run) in all_commands().items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
        p.set_defaults(_run=run)
    return parser




def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cq-geo``; returns the exit code."""
    from .errors import CqGeoError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return args._run(args)
    except CqGeoError as exc:
        print(f"cq-geo : {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cq-geo : interrompu", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - last resort: never a bare traceback for users
        import traceback

        traceback.print_exc()
        print(f"cq-geo : erreur interne ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
