"""The ``cq-geo`` command line.

Exit codes: 0 answered, 2 bad input (French message on stderr), 1 internal error.
With ``--json`` the errors come as JSON on stdout too (``{"error": {"code": 2,
"message": "…"}}``) with the same exit codes.

Everything is in French, argparse's own texts included (:class:`FrenchArgumentParser`).

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
import contextlib
import json
import sys
from typing import Callable

from .common import add_store_arguments, write_fiche_answer  # noqa: F401 - used by the command modules

__all__ = ["main", "build_parser", "COMMANDS", "COMMAND_MODULES", "add_store_arguments", "FrenchArgumentParser"]

#: argparse's English messages (Python 3.11 to 3.13) in French.
ARGPARSE_FR = {
    "usage: ": "usage : ",
    "positional arguments": "arguments",
    "optional arguments": "options",
    "options": "options",
    "subcommands": "commandes",
    "show this help message and exit": "afficher cette aide et quitter",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (choix possibles : %(choices)s)",
    "invalid choice: %(value)r, maybe you meant %(closest)r? (choose from %(choices)s)":
        "choix invalide : %(value)r ; vouliez-vous dire %(closest)r ? (choix possibles : %(choices)s)",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "expected one argument": "une valeur est attendue",
    "expected at most one argument": "une valeur au plus est attendue",
    "expected at least one argument": "au moins une valeur est attendue",
    "expected %s argument": "%s valeur attendue",
    "expected %s arguments": "%s valeurs attendues",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut désigner %(matches)s",
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s attendu) : %(value)r",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "ignored explicit argument %r": "valeur %r ignorée (cette option n'en prend pas)",
    "one of the arguments %s is required": "un des arguments %s est obligatoire",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "commande inconnue %(parser_name)r (commandes : %(choices)s)",
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
    "unexpected option string: %s": "option inattendue : %s",
    "option '%(option)s' is ambiguous; could match %(matches)s": "option ambiguë : %(option)s peut désigner %(matches)s",
}
_TYPE_FR = {"int": "nombre entier", "float": "nombre", "str": "texte"}


@contextlib.contextmanager
def _french_argparse():
    """argparse's texts in French while the block runs (argparse looks them up at each use)."""
    old = argparse._, argparse.ngettext
    argparse._ = lambda message: ARGPARSE_FR.get(message, message)
    argparse.ngettext = lambda singular, plural, n: ARGPARSE_FR.get(singular if n == 1 else plural,
                                                                      singular if n == 1 else plural)
    try:
        yield
    finally:
        argparse._, argparse.ngettext = old


class UsageError(Exception):
    """A command line argparse refused; ``parser`` knows the usage line."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser


class FrenchHelpFormatter(argparse.HelpFormatter):
    """Section headings the French way (« options : »)."""

    def start_section(self, heading):
        super().start_section(f"{heading} " if heading else heading)


class FrenchArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose own texts (usage, help, errors) are French.

    Errors raise :class:`UsageError` (main() prints them, as text or JSON).

    >>> p = FrenchArgumentParser(prog="essai")
    >>> _ = p.add_argument("--n", type=int)
    >>> "afficher cette aide" in p.format_help() and p.format_usage().startswith("usage : essai")
    True
    >>> try:
    ...     p.parse_args(["--n", "x"])
    ... except UsageError as e:
    ...     print(e)
    argument --n : valeur invalide (nombre entier attendu) : 'x'
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", FrenchHelpFormatter)
        with _french_argparse():
            super().__init__(*args, **kwargs)

    def add_subparsers(self, **kwargs):
        with _french_argparse():
            return super().add_subparsers(**kwargs)

    def parse_args(self, args=None, namespace=None):
        with _french_argparse():
            return super().parse_args(args, namespace)

    def parse_known_args(self, args=None, namespace=None):
        with _french_argparse():
            return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        with _french_argparse():
            return super().format_usage()

    def format_help(self) -> str:
        with _french_argparse():
            return super().format_help()

    def error(self, message: str):
        for en, fr in _TYPE_FR.items():
            message = message.replace(f"({en} attendu)", f"({fr} attendu)")
        raise UsageError(self, message)


def _lookup_args(p: argparse.ArgumentParser) -> None:
    from .geocode import add_geocoder_arguments

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


def _number(value: str | None, name: str) -> float | None:
    from ..errors import InvalidCoordinates

    if value is None:
        return None
    try:
        return float(value.replace(",", ".").strip())
    except ValueError:
        raise InvalidCoordinates(f"{name} doit être un nombre (reçu : {value!r})") from None


def _coordinate_mistakes(lon: float, lat: float) -> tuple:
    """Lambert-93 metres given as --lon/--lat are read as x/y (said on stderr, as ``batch`` does);
    latitude and longitude swapped get a French message with the command to type.

    Returns ``(lon, lat, x, y)`` with either the degrees or the metres set.

    >>> _coordinate_mistakes(728213, 7025762)[2:]
    (728213, 7025762)
    >>> _coordinate_mistakes(50.329, 3.3957)
    Traceback (most recent call last):
    ...
    cq_geo.errors.InvalidCoordinates: longitude et latitude inversées ? En France métropolitaine la longitude va de -5 à 10 et la latitude de 41 à 52 : essayez --lon 3.3957 --lat 50.329
    """
    from ..errors import InvalidCoordinates

    if 50_000 <= lon <= 1_300_000 and 6_000_000 <= lat <= 7_200_000:
        print(f"cq-geo : --lon {lon:.10g} --lat {lat:.10g} sont des mètres Lambert-93 (EPSG:2154) : lus comme --x {lon:.10g} "
              f"--y {lat:.10g}", file=sys.stderr)
        return None, None, lon, lat
    if 41 <= lon <= 52 and -5.5 <= lat <= 10:
        raise InvalidCoordinates("longitude et latitude inversées ? En France métropolitaine la longitude va de -5 à 10 "
                                 f"et la latitude de 41 à 52 : essayez --lon {lat:g} --lat {lon:g}")
    return lon, lat, None, None


def _run_lookup(args: argparse.Namespace) -> int:
    from ..errors import InvalidCoordinates
    from ..territory import load_territory

    lon, lat = _number(args.lon, "--lon"), _number(args.lat, "--lat")
    x, y = _number(args.x, "--x"), _number(args.y, "--y")
    if getattr(args, "address", None):
        from .geocode import run_address_lookup

        if any(v is not None for v in (lon, lat, x, y)):
            raise InvalidCoordinates("donnez une adresse, ou des coordonnées, pas les deux")
        return run_address_lookup(args)
    if (lon is None) != (lat is None) or (x is None) != (y is None) or (lon is None) == (x is None):
        raise InvalidCoordinates("donnez --lon et --lat (WGS84), ou --x et --y (Lambert-93), ou une adresse")
    if lon is not None:
        lon, lat, x, y = _coordinate_mistakes(lon, lat)
    territory = load_territory(store=args.store, territory_file=args.territory_file)
    if lon is not None:
        result = territory.lookup(lon=lon, lat=lat)
    else:
        result = territory.lookup(x=x, y=y)
    typed = f"lon {args.lon}, lat {args.lat}" if lon is not None else f"x {args.x}, y {args.y} (Lambert-93)"
    write_fiche_answer(args, territory, result.to_dict(), typed)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(result.to_text())
    return 0


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="rapport en JSON")
    add_store_arguments(p)


def _run_check(args: argparse.Namespace) -> int:
    from ..report import check_text
    from ..territory import load_territory

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
COMMAND_MODULES: list[str] = ["cq_geo.cli.data", "cq_geo.cli.map", "cq_geo.cli.geocode", "cq_geo.cli.batch",
                               "cq_geo.cli.territory"]


def all_commands() -> dict[str, tuple[str, Callable, Callable]]:
    """Every sub-command: the built-in ones and those of :data:`COMMAND_MODULES`."""
    import importlib

    commands = dict(COMMANDS)
    for module in COMMAND_MODULES:
        commands.update(importlib.import_module(module).COMMANDS)
    return commands


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command."""
    from .._version import __version__

    parser = FrenchArgumentParser(
        prog="cq-geo",
        description="Géographie prioritaire du Contrat Quartiers 2030 d'une agglomération : QPV, niveaux locaux et équipes "
                    "du fichier de territoire (par défaut la CAPH, --territory pour une autre).",
        epilog="Aide d'une commande : cq-geo COMMANDE --help. Codes de sortie : 0 réponse, 2 entrée à corriger, "
               "1 erreur interne ; avec --json, les erreurs aussi sont en JSON.",
    )
    parser.add_argument("--version", action="version", version=f"cq-geo {__version__}",
                        help="afficher la version et quitter")
    sub = parser.add_subparsers(dest="command", metavar="COMMANDE", title="commandes")
    with _french_argparse():
        for name, (help_text, add_args, run) in all_commands().items():
            p = sub.add_parser(name, help=help_text, description=help_text)
            add_args(p)
            p.set_defaults(_run=run)
            _json_everywhere(p)
    return parser


def _json_everywhere(parser: argparse.ArgumentParser) -> None:
    """Give every command ``--json``: those that have no JSON answer of their own get the generic one
    (``{"code": 0, "output": [lines]}``), and the errors of all of them come as JSON."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if subs:
        for action in subs:
            for sub in action.choices.values():
                _json_everywhere(sub)
        return
    if not any("--json" in a.option_strings for a in parser._actions):
        parser.add_argument("--json", action="store_true", help="réponse et erreurs en JSON")
        parser.set_defaults(_generic_json=True)




def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cq-geo``; returns the exit code."""
    from ..errors import CqGeoError

    argv = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    except UsageError as exc:
        return _fail(2, str(exc), as_json, usage=exc.parser.format_usage(), prog=exc.parser.prog)
    if not getattr(args, "_run", None):
        if as_json:
            return _fail(2, "commande manquante", True)
        parser.print_help()
        return 2
    try:
        from ..paths import select_territory, territory_dir

        # --territory: every load of this run uses that folder (and its own user store)
        select_territory(territory_dir(args.territory) if getattr(args, "territory", None) else None)
        if as_json and getattr(args, "_generic_json", False):
            return _run_generic_json(args)
        return args._run(args)
    except UsageError as exc:  # a command that checks its own arguments with its parser
        return _fail(2, str(exc), as_json, usage=exc.parser.format_usage(), prog=exc.parser.prog)
    except CqGeoError as exc:
        return _fail(2, str(exc), as_json)
    except KeyboardInterrupt:
        return _fail(130, "interrompu", as_json)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - last resort: never a bare traceback for users
        import traceback

        traceback.print_exc()
        return _fail(1, f"erreur interne ({type(exc).__name__} : {exc})", as_json)


def _run_generic_json(args: argparse.Namespace) -> int:
    """Run a command that writes text, and give its lines as JSON."""
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = args._run(args)
    print(json.dumps({"code": code, "output": buffer.getvalue().splitlines()}, ensure_ascii=False, indent=2))
    return code


def _fail(code: int, message: str, as_json: bool, usage: str = "", prog: str = "cq-geo") -> int:
    """Say an error in French: ``prog : erreur : …`` on stderr, or JSON on stdout with ``--json``."""
    if as_json:
        print(json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False, indent=2))
    else:
        if usage:
            sys.stderr.write(usage)
            print(f"{prog} : erreur : {message}", file=sys.stderr)
        else:
            print(f"cq-geo : {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
