"""The version, read from the QGIS plugin's ``metadata.txt`` (its single source).

In a checkout (or the plugin zip) ``metadata.txt`` sits beside the package and
is read directly; in an installed wheel the build backend copied the same
version into the distribution's metadata.
"""

from __future__ import annotations

import re
from pathlib import Path

_METADATA = Path(__file__).resolve().parent.parent / "metadata.txt"


def read_version() -> str:
    """Return cq-geo's version string."""
    try:
        text = _METADATA.read_text(encoding="utf-8")
    except OSError:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("cq-geo")
        except PackageNotFoundError:  # pragma: no cover - neither checkout nor install
            return "0+unknown"
    match = re.search(r"^version\s*=\s*(\S+)\s*$", text, re.MULTILINE)
    return match.group(1) if match else "0+unknown"


__version__ = read_version()
