"""Files of the batch on disk: atomic writes, temporary files, checksums, French write errors.

Writing is atomic (a temporary file beside the output, renamed at the end), so
an interrupted run never leaves half a file (:func:`atomic_path`).
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

from .errors import BatchFileError

__all__ = ["BatchFileError", "output_format", "atomic_path", "partial_path", "stale_partials",
           "publish", "write_error"]






def output_format(path) -> str:
    """``csv``, ``xlsx`` or ``gpkg`` from a file name, or a French error."""
    suffix = Path(path).suffix.lower()
    formats = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".gpkg": "gpkg"}
    if suffix not in formats:
        raise BatchFileError(f"format de sortie inconnu pour {Path(path).name} : choisissez .csv, .xlsx ou .gpkg")
    return formats[suffix]


# -- writing -----------------------------------------------------------------------------------------
@contextmanager
def atomic_path(path):
    """Yield a temporary path beside *path*; on success it replaces *path* at once.

    On any failure the temporary file is removed (nothing half-written is left);
    a system error (disk full, no permission…) becomes a :class:`BatchFileError`
    with a French message (:func:`write_error`).
    """
    tmp = partial_path(path)
    try:
        yield tmp
        publish(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise write_error(exc, path) from exc
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path) -> None:
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        pass


#: Temporary files: ``.<name>.<pid>.partiel<suffix>`` beside the file they become.
_PARTIAL_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.partiel(?P<suffix>\.[^.]*)?$")


def partial_path(path) -> Path:
    """The temporary name beside *path* where it is written before :func:`publish`.

    Named after the whole file name and the process id: ``.resultats.csv.1234.partiel.csv``.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.partiel{path.suffix}")


def stale_partials(path) -> list[Path]:
    """Temporary files of *path* left by an interrupted run (their process is gone).

    >>> stale_partials("/nonexistent-folder/sortie.csv")
    []
    """
    path = Path(path)
    out = []
    try:
        names = os.listdir(path.parent)
    except OSError:
        return out
    for name in names:
        m = _PARTIAL_RE.match(name)
        if m is None or m["name"] != path.name or (m["suffix"] or "") != path.suffix:
            continue
        pid = int(m["pid"])
        if pid != os.getpid() and _process_alive(pid):
            continue  # another run on the same output, still working
        if pid == os.getpid():
            continue
        candidate = path.parent / name
        if candidate.is_file() and not candidate.is_symlink():
            out.append(candidate)
    return out


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def publish(tmp, path) -> None:
    """Make the written file *tmp* durable, then put it in place of *path* at once."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_error(exc: OSError, path) -> BatchFileError:
    """A French :class:`BatchFileError` saying why *path* could not be written, and what to do.

    >>> import errno
    >>> str(write_error(OSError(errno.ENOSPC, "No space left on device"), "/data/sortie.csv"))[:44]
    'disque plein : sortie.csv non écrit (aucun f'
    """
    import errno

    name = Path(path).name
    folder = Path(path).parent
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return BatchFileError(
            f"disque plein : {name} non écrit (aucun fichier partiel n'est laissé) ; libérez de la place "
            f"dans {folder} ou choisissez une sortie sur un autre disque"
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return BatchFileError(
            f"écriture refusée pour {name} dans {folder} (dossier en lecture seule, fichier protégé ou ouvert "
            "dans un autre logiciel) : fermez-le, vérifiez les droits ou choisissez un autre dossier"
        )
    if code == errno.EISDIR:
        return BatchFileError(f"{path} est un dossier : donnez un nom de fichier (ex. {Path(path) / 'resultats.csv'})")
    if code in (errno.ENOENT, errno.ENOTDIR):
        return BatchFileError(f"dossier de sortie introuvable pour {name} ({folder}) : créez-le ou choisissez un dossier existant")
    if code == errno.ENAMETOOLONG:
        return BatchFileError(f"nom de fichier trop long : {name} ; choisissez un nom plus court")
    return BatchFileError(f"écriture de {name} impossible ({exc.strerror or exc}) : choisissez un autre dossier")

