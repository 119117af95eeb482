from __future__ import annotations

import numpy as np
import pytest

from csmoe.sampling.geo import (
    dot_to_km,
    haversine_km,
    mean_pairwise_km,
    nearest_neighbour_km,
    unit_vectors,
)

RNG = np.random.default_rng(0)
LAT, LON = RNG.uniform(-80, 80, 300), RNG.uniform(-180, 180, 300)
XYZ = unit_vectors(LAT, LON)
ALL = haversine_km(LAT[:, None], LON[:, None], LAT[None, :], LON[None, :])


def test_known_distance():
    # one degree of longitude on the equator, mean Earth radius: 6371.0088 * pi / 180
    assert haversine_km(0.0, 0.0, 0.0, 1.0) == pytest.approx(111.195, abs=1e-3)
    assert dot_to_km(unit_vectors([0.0], [0.0]) @ unit_vectors([0.0], [1.0]).T)[0, 0] == (
        pytest.approx(111.195, abs=1e-3)
    )


def test_vector_form_equals_haversine():
    # agreement to a metre (2 - 2 u.v loses digits only for near-identical points)
    np.testing.assert_allclose(dot_to_km(XYZ @ XYZ.T), ALL, atol=1e-3)


def test_nearest_neighbour_matches_brute_force():
    brute = np.where(np.eye(300, dtype=bool), np.inf, ALL).min(axis=1)
    np.testing.assert_allclose(nearest_neighbour_km(XYZ), brute, rtol=1e-9)


def test_mean_pairwise_exact_and_sampled():
    exact = ALL.sum() / (300 * 299)
    rng = np.random.default_rng(1)
    assert mean_pairwise_km(XYZ, rng, exact_max=1000, n_pairs=10) == pytest.approx(exact)
    sampled = mean_pairwise_km(XYZ, rng, exact_max=10, n_pairs=200_000)
    assert sampled == pytest.approx(exact, rel=0.01)
