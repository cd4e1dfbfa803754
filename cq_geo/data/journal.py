"""One writer at a time and crash-safe commits: the writers' lock registry (shared by the GeoPackage and
the PostGIS stores), file locks, fsync, hard links.

>>> lock_timeout(5)
5
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path

from .common import LOCK_TIMEOUT_ENV

# -- one writer at a time; commits through a journal -----------------------------------------------
_HELD: dict[tuple, list] = {}  # (lock path or shared-store id…, thread) -> [handle, depth]
_HELD_GUARD = threading.Lock()


def lock_timeout(timeout: float | None = None) -> float:
    """How long a writer waits for the lock: *timeout*, else ``CQ_GEO_LOCK_TIMEOUT``, else 600 s."""
    if timeout is not None:
        return timeout
    try:
        return float(os.environ.get(LOCK_TIMEOUT_ENV, "") or 600)
    except ValueError:
        return 600.0


def reenter_lock(key: tuple):
    """If this thread already holds the writers' lock under *key*: a context manager for one level deeper
    (left on exit); None if it does not hold it.

    Shared by the GeoPackage store and the PostGIS store (their keys differ in shape)."""
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is None:
            return None
        held[1] += 1

    @contextlib.contextmanager
    def deeper():
        try:
            yield
        finally:
            with _HELD_GUARD:
                held[1] -= 1

    return deeper()


def hold_lock(key: tuple, handle) -> None:
    """Record that this thread now holds the writers' lock under *key*."""
    with _HELD_GUARD:
        _HELD[key] = [handle, 1]


def drop_lock(key: tuple) -> None:
    """Forget the writers' lock held under *key*."""
    with _HELD_GUARD:
        _HELD.pop(key, None)


def lock_fd(fd: int, blocking: bool) -> bool:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            if blocking:
                raise
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False


def unlock_fd(fd: int) -> None:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        with contextlib.suppress(OSError):
            os.lseek(fd, 0, 0)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def fsync_dir(path: Path) -> None:
    if os.name == "nt":  # pragma: no cover
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
