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


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder ../shared/data, or skip when it is absent."""
    if not (SHARED_DATA / "caph_communes.csv").is_file():
        pytest.skip("données de référence ../shared/data absentes")
    return SHARED_DATA


@pytest.fixture(scope="session")
def baseline_territory():
    """The territory with the embedded baseline data (no store)."""
    from cq_geo.territory import load_territory

    return load_territory()
