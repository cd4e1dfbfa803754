"""The numpy Lambert-93 projection against pyproj (PROJ), to the millimetre."""

import numpy as np
import pytest

from cq_geo.geo.crs import l93_to_lonlat, lonlat_to_l93


def test_matches_pyproj_over_metropolitan_france():
    pyproj = pytest.importorskip("pyproj")
    rng = np.random.default_rng(3)
    lon = rng.uniform(-5.5, 9.8, 20_000)
    lat = rng.uniform(41.3, 51.1, 20_000)
    x, y = lonlat_to_l93(lon, lat)
    px, py = pyproj.Transformer.from_crs(4326, 2154, always_xy=True).transform(lon, lat)
    assert np.abs(x - px).max() < 1e-3
    assert np.abs(y - py).max() < 1e-3
    lon2, lat2 = l93_to_lonlat(px, py)
    assert np.abs(lon2 - lon).max() < 1e-9
    assert np.abs(lat2 - lat).max() < 1e-9


def test_nan_propagates():
    x, y = lonlat_to_l93([np.nan], [50.0])
    assert np.isnan(x[0]) and np.isnan(y[0])
