"""Shared test helpers: hermetic data locations, the real reference data, the baseline territory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Real reference data beside the checkout (read only; absent on a user's clone).
SHARED_DATA = Path(os.environ.get("CQ_GEO_SHARED_DATA") or ROOT.parent / "shared" / "data")  # another place for worktrees

# Tests never see the developer's own data store: a private data home, no CQ_GEO_STORE.
_HOME = tempfile.mkdtemp(prefix="cq-geo-tests-")
os.environ["XDG_DATA_HOME"] = _HOME
os.environ.pop("CQ_GEO_STORE", None)


#: Set to 1 where ../shared/data must be there (CI beside the shared folder): a missing folder fails the
#: reference tests instead of skipping them.
REQUIRE_REFERENCE = os.environ.get("CQ_GEO_REQUIRE_REFERENCE") == "1"
_REFERENCE_ABSENT = f"test de référence : données ../shared/data absentes ({SHARED_DATA})"


def pytest_collection_modifyitems(config, items):
    """Every test reading ../shared/data is marked ``reference`` (``-m "not reference"`` leaves them out)."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.reference)


def pytest_terminal_summary(terminalreporter):
    """Say once, at the end, how many reference tests did not run and why (never a silent skip)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if _REFERENCE_ABSENT in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} test(s) de référence sauté(s) : {SHARED_DATA} absent "
            "(CQ_GEO_SHARED_DATA=dossier pour les lancer, CQ_GEO_REQUIRE_REFERENCE=1 pour exiger le dossier)",
            yellow=True)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder ../shared/data, or skip (fail under CQ_GEO_REQUIRE_REFERENCE=1) when it is absent."""
    if not (SHARED_DATA / "caph_communes.csv").is_file():
        if REQUIRE_REFERENCE:
            pytest.fail(f"CQ_GEO_REQUIRE_REFERENCE=1 mais {SHARED_DATA} est absent")
        pytest.skip(_REFERENCE_ABSENT)
    return SHARED_DATA


@pytest.fixture(scope="session")
def baseline_territory():
    """The territory with the embedded baseline data (no store)."""
    from cq_geo.territory import load_territory

    return load_territory()
