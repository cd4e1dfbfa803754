"""The files a batch writes beside its output, and the checks made before it starts.

No file written may be the input or the data store, the output's folder must exist, and an
existing file is replaced only with ``--overwrite`` (:func:`check_targets`, :func:`check_existing`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from .files import BatchFileError, partial_path

__all__ = ["SIDE_SUFFIXES", "SIDE_ROLE", "side_file", "real_path", "store_paths", "store_check", "same_file",
           "check_targets", "check_output_folder", "check_existing", "read_salt"]


#: Side files written beside the output, named after its whole name (``resultats.csv.resume.xlsx``).
SIDE_SUFFIXES = {
    "summary_xlsx": ".resume.xlsx",
    "summary_html": ".resume.html",
    "salt": ".sel.txt",
    "cache": ".reprise-geocodage.jsonl",
}
SIDE_ROLE = {
    "output": "la sortie",
    "summary_xlsx": "le résumé XLSX",
    "summary_html": "le résumé HTML",
    "salt": "le fichier du sel",
    "cache": "le fichier de reprise",
}


def side_file(output, kind: str) -> Path:
    """The side file *kind* (``summary_xlsx``, ``summary_html``, ``salt``, ``cache``) of *output*.

    >>> side_file("resultats.csv", "salt").name, side_file("resultats.xlsx", "salt").name
    ('resultats.csv.sel.txt', 'resultats.xlsx.sel.txt')
    """
    output = Path(output)
    return output.with_name(output.name + SIDE_SUFFIXES[kind])


def real_path(path) -> Path:
    """*path* made absolute with symbolic links and ``..`` resolved (also below folders that do not exist)."""
    return Path(os.path.realpath(os.path.abspath(os.path.expanduser(os.fspath(path)))))


def store_paths(store=None) -> list[Path]:
    """The data store files a batch must never write (resolved): the store in use and the user's default one.

    One small function so that it can lean on :mod:`cq_geo.data.store` once that module
    says it; until then it follows :func:`cq_geo.paths.resolve_store`.
    """
    from ..paths import default_store_path, resolve_store

    found: list[Path] = []
    try:
        path, _origin = resolve_store(store)
        if path is not None:
            found.append(real_path(path))
    except Exception:  # noqa: BLE001 - no store to protect
        pass
    try:
        found.append(real_path(default_store_path()))
    except Exception:  # noqa: BLE001 - platformdirs absent
        pass
    return found


def _is_store(path: Path, stores: list[Path]) -> bool:
    """True for a store file or one of its companions (``.prev``, ``-wal``, ``-journal``…)."""
    for st in stores:
        if path == st:
            return True
        if path.parent == st.parent and (path.name.startswith(st.name + ".") or path.name.startswith(st.name + "-")):
            return True
    return False


def store_check(store=None) -> Callable[[Path], bool]:
    """``is_store(path)``: True when *path* is the data store or one of its files.

    Uses :func:`store_paths` (the store in use and the user's default one, their
    ``.prev``/``-wal``… companions), and :func:`cq_geo.data.store.is_store_path` when
    that function exists (it also recognises any file holding a cq-geo store).
    """
    stores = store_paths(store)
    try:
        from ..data.store import is_store_path
    except ImportError:
        is_store_path = None

    def is_store(path: Path) -> bool:
        if _is_store(Path(path), stores):
            return True
        if is_store_path is not None:
            try:
                return bool(is_store_path(path, store))
            except Exception:  # noqa: BLE001 - an unreadable store: the path check above stands
                return False
        return False

    return is_store


def same_file(a: Path, b: Path) -> bool:
    """True when *a* and *b* are one file: same resolved path, or same file on disk (hard link)."""
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_targets(src: Path, targets: dict[str, Path], is_store: Callable[[Path], bool]) -> None:
    """No file the batch writes (*targets* and their temporary files) may be the input or the store."""
    for kind, path in targets.items():
        for p, temp in ((path, False), (partial_path(path), True)):
            what = SIDE_ROLE[kind] + (" (fichier temporaire)" if temp else "")
            if same_file(p, src):
                if kind == "output" and not temp:
                    raise BatchFileError("le fichier de sortie ne peut pas être le fichier d'entrée : "
                                         "l'entrée n'est jamais modifiée")
                raise BatchFileError(
                    f"{p.name} ({what}, écrit à côté de la sortie) serait le fichier d'entrée : "
                    "choisissez un autre nom de sortie (l'entrée n'est jamais modifiée)"
                )
            if is_store(p):
                raise BatchFileError(
                    f"{p.name} ({what}) serait un fichier du magasin de données de cq-geo ({p.parent}) : "
                    "choisissez un autre nom ou un autre dossier de sortie"
                )


def check_output_folder(out: Path, given: Path) -> None:
    """The output's folder exists and is a folder; the output is not a folder."""
    folder = out.parent
    if out.is_dir():
        raise BatchFileError(f"{given} est un dossier : donnez un nom de fichier (ex. {given / 'resultats.csv'})")
    if not folder.exists():
        raise BatchFileError(f"le dossier de sortie {folder} n'existe pas : créez-le, ou choisissez un dossier existant")
    if not folder.is_dir():
        raise BatchFileError(f"{given} : {folder} est un fichier, pas un dossier ; choisissez un dossier de sortie")


def check_existing(targets: dict[str, Path], overwrite: bool, resume: bool) -> None:
    """Nothing is replaced without --overwrite (the resume cache is read with --resume, the salt file reused)."""
    for kind, path in targets.items():
        if not os.path.lexists(path):
            continue
        if path.is_dir():
            raise BatchFileError(f"{path} ({SIDE_ROLE[kind]}) est un dossier : choisissez un autre nom de sortie")
        if kind == "salt":
            continue  # read and reused, never replaced
        if kind == "cache":
            if resume or overwrite:
                continue
            raise BatchFileError(
                f"un traitement interrompu a laissé {path.name} : relancez la même commande avec --resume pour le "
                "reprendre, ou avec --overwrite pour repartir de zéro"
            )
        if not overwrite:
            raise BatchFileError(
                f"{path.name} ({SIDE_ROLE[kind]}) existe déjà : ajoutez --overwrite pour le remplacer, "
                "ou choisissez un autre nom de sortie"
            )


def read_salt(path: Path) -> str | None:
    """The salt kept in a salt file (its last line that is not a comment), or None."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise BatchFileError(f"{path.name} (fichier du sel) est illisible : donnez le sel avec --salt, "
                             "ou déplacez ce fichier") from None
    kept = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not kept:
        raise BatchFileError(f"{path.name} (fichier du sel) ne contient pas de sel : donnez le sel avec --salt, "
                             "ou déplacez ce fichier")
    return kept[-1]

