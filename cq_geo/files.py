"""Files: a file's checksum and a text file written atomically (standard library only).

The one implementation of each, for the stores, the sources, the batch, the maps and the plugin.

>>> import pathlib, tempfile
>>> path = write_text_atomic(pathlib.Path(tempfile.mkdtemp()) / "note.txt", "bonjour\\n")
>>> path.read_text(encoding="utf-8"), file_sha256(path)[:12]
('bonjour\\n', '9cec0af54514')
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["file_sha256", "write_text_atomic"]


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read by blocks of 1 MiB."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write *text* to *path* (UTF-8) through a temporary file renamed into place.

    The file gets the usual permissions (0666 minus the umask), like any file a
    program creates, not the 0600 of a temporary file: colleagues sharing the
    folder can open it. On any failure the temporary file is removed and *path*
    is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
