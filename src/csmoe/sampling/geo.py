"""Great-circle (Haversine) distances on a sphere, vectorised through 3-D unit vectors.

For unit vectors u, v the chord is ``c = |u - v|`` and the Haversine distance is exactly
``2 R asin(c / 2)``; working with unit vectors turns all-pairs distances into one matrix
product and lets a k-d tree find nearest neighbours (chord order = arc order).
"""

from __future__ import annotations

import numpy as np

MEAN_EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius, the usual choice for Haversine


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """``(n, 3)`` unit vectors of points given in degrees."""
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    cos_phi = np.cos(phi)
    return np.stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)], axis=-1)


def dot_to_km(dot: np.ndarray) -> np.ndarray:
    """Haversine distance from the dot product of two unit vectors."""
    chord = np.sqrt(np.clip(2.0 - 2.0 * dot, 0.0, 4.0))
    return 2.0 * MEAN_EARTH_RADIUS_KM * np.arcsin(np.minimum(chord / 2.0, 1.0))


def chord_to_km(chord: np.ndarray) -> np.ndarray:
    return 2.0 * MEAN_EARTH_RADIUS_KM * np.arcsin(np.minimum(np.asarray(chord) / 2.0, 1.0))


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Textbook Haversine formula, elementwise (the reference the vector forms are tested on)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * MEAN_EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def nearest_neighbour_km(xyz: np.ndarray) -> np.ndarray:
    """Distance from each point to its nearest other point (k-d tree; any set size)."""
    from scipy.spatial import cKDTree

    if len(xyz) < 2:
        return np.full(len(xyz), np.nan)
    chord, _ = cKDTree(xyz).query(xyz, k=2)
    return chord_to_km(chord[:, 1])


def mean_pairwise_km(
    xyz: np.ndarray, rng: np.random.Generator, *, exact_max: int, n_pairs: int
) -> float:
    """Mean distance over all distinct pairs: exact (in row blocks) up to ``exact_max`` points,
    else estimated from ``n_pairs`` uniformly drawn distinct pairs (seeded)."""
    n = len(xyz)
    if n < 2:
        return float("nan")
    if n <= exact_max:
        total = 0.0
        for start in range(0, n, 1024):
            block = dot_to_km(xyz[start : start + 1024] @ xyz.T)
            total += float(block.sum())  # the diagonal is 0, so it adds nothing
        return total / (n * (n - 1))
    i = rng.integers(0, n, n_pairs)
    j = (i + rng.integers(1, n, n_pairs)) % n  # j != i, uniform over the others
    return float(dot_to_km(np.einsum("ij,ij->i", xyz[i], xyz[j])).mean())
