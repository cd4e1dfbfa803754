"""Shared test helpers: where the real reference data is, and synthetic territories."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Real reference data beside the checkout (read only; absent on a user's clone).
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder ../shared/data, or skip when it is absent."""
    if not (SHARED_DATA / "caph_communes.csv").is_file():
        pytest.skip("données de référence ../shared/data absentes")
    return SHARED_DATA


@pytest.fixture(scope="session")
def baseline_territory():
    """The territory with the embedded baseline data."""
    from cq_geo.territory import load_territory

    return load_territory(store=None) if True else None
