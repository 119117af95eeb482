from __future__ import annotations

import math

import numpy as np
import pytest

from csmoe.errors import ConfigError
from csmoe.sampling import ga
from csmoe.sampling.geo import haversine_km, nearest_neighbour_km, unit_vectors


def cloud(n, seed=0, lat=(0.0, 20.0), lon=(0.0, 30.0)):
    rng = np.random.default_rng(seed)
    return unit_vectors(rng.uniform(*lat, n), rng.uniform(*lon, n))


def full(idx):
    idx = np.atleast_2d(idx)
    return ga.Population(idx, np.ones(idx.shape, dtype=bool))


def test_fitness_is_renyi_entropy_of_haversine_kernel():
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(-60, 60, 7), rng.uniform(-170, 170, 7)
    xyz = unit_vectors(lat, lon)
    sigma = 1500.0
    d = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    k = np.exp(-(d**2) / (2 * sigma**2))
    expected = -math.log((k.sum() - 7) / (7 * 6))
    pop = ga.Population(
        np.array([np.arange(7), [0, 1, 2, 0, 0, 0, 0]]),
        np.array([[True] * 7, [True] * 3 + [False] * 4]),
    )
    got = ga.fitness(xyz, pop, sigma)
    assert got[0] == pytest.approx(expected, rel=1e-9)
    sub = k[:3, :3]
    assert got[1] == pytest.approx(-math.log((sub.sum() - 3) / 6), rel=1e-9)  # padding ignored


def test_fitness_prefers_spread_to_clumped():
    xyz = np.concatenate(
        [cloud(50, lat=(0, 1), lon=(0, 1)), cloud(50, 1, lat=(0, 40), lon=(0, 60))]
    )
    fit = ga.fitness(xyz, full(np.stack([np.arange(50), np.arange(50, 100)])), 300.0)
    assert fit[1] > fit[0]


def test_mutation_flips_bits_at_rate_one_over_n():
    n_cells, size, count = 1000, 100, 4000
    rng = np.random.default_rng(0)
    pop = full(np.tile(np.arange(size), (count, 1)))
    out = ga.deduplicate(ga.mutate(pop, n_cells, rng), n_cells)
    removed = size - (out.mask & (out.idx < size)).sum(1)
    added = (out.mask & (out.idx >= size)).sum(1)
    # expected flips: 100/1000 removals, 900/1000 additions (minus rare collisions)
    assert removed.mean() == pytest.approx(0.1, abs=0.03)
    assert added.mean() == pytest.approx(0.9 * (1 - size / n_cells), abs=0.08)


def test_spatial_crossover_takes_cells_from_parents_only():
    xyz = cloud(300)
    rng = np.random.default_rng(0)
    a = full(np.stack([rng.choice(300, 40, replace=False) for _ in range(20)]))
    b = full(np.stack([rng.choice(300, 40, replace=False) for _ in range(20)]))
    child = ga.spatial_crossover(xyz, a, b, 1.0, rng)
    for p in range(20):
        cells = set(child.idx[p][child.mask[p]].tolist())
        assert cells <= set(a.idx[p].tolist()) | set(b.idx[p].tolist())
        assert cells & set(a.idx[p].tolist())  # the cut runs through one of A's cells
    same = ga.spatial_crossover(xyz, a, b, 0.0, rng)  # rate 0: children are copies of A
    np.testing.assert_array_equal(np.sort(same.idx[same.mask].reshape(20, 40)), np.sort(a.idx))


def test_constraint_prunes_and_augments_to_target():
    rng = np.random.default_rng(0)
    n_cells, n, tol = 500, 50, 0.1  # allowed 45..55
    sizes = [10, 44, 45, 50, 55, 56, 120]
    idx = np.zeros((len(sizes), 120), dtype=np.int64)
    mask = np.zeros_like(idx, dtype=bool)
    for row, size in enumerate(sizes):
        idx[row, :size] = rng.choice(n_cells, size, replace=False)
        mask[row, :size] = True
    out = ga.constrain(ga.Population(idx, mask), n, tol, n_cells, rng)
    assert list(out.sizes) == [50, 50, 45, 50, 55, 50, 50]
    for row in range(len(sizes)):
        cells = out.idx[row][out.mask[row]]
        assert len(set(cells.tolist())) == len(cells)  # no duplicates
    # a pruned candidate keeps only its own cells
    assert set(out.member(6).tolist()) <= set(idx[6, :120].tolist())


def test_deduplicate():
    pop = ga.Population(np.array([[3, 1, 3, 2, 1]]), np.array([[True, True, True, False, True]]))
    out = ga.deduplicate(pop, 10)
    assert out.member(0).tolist() == [1, 3]


def test_evolve_deterministic_exact_count_and_better_than_random():
    xyz = cloud(3000, seed=3)
    params = ga.GAParams(generations=30, population=12, pool_factor=10)
    first = ga.evolve(xyz, 40, params, np.random.default_rng(7))
    again = ga.evolve(xyz, 40, params, np.random.default_rng(7))
    np.testing.assert_array_equal(first.cells, again.cells)
    assert len(first.cells) == 40 and len(set(first.cells.tolist())) == 40
    assert first.generations == 30 and first.evaluations == 12 + 30 * 10
    rng = np.random.default_rng(0)
    random_nn = np.mean(
        [nearest_neighbour_km(xyz[rng.choice(3000, 40, replace=False)]).mean() for _ in range(20)]
    )
    assert nearest_neighbour_km(xyz[first.cells]).mean() > 1.6 * random_nn


def test_random_init_ga_improves_its_population():
    xyz = cloud(2000, seed=4)
    params = ga.GAParams(generations=60, population=16, init="random")
    result = ga.evolve(xyz, 30, params, np.random.default_rng(0))
    assert result.fitness > result.initial_fitness


def test_farthest_point_on_a_line():
    # points on the equator: after the random start, the farther end, then the largest gap
    xyz = unit_vectors(np.zeros(101), np.linspace(0, 10, 101))
    for seed in range(5):
        out = ga.farthest_point(xyz, 3, np.arange(101)[None, :], np.random.default_rng(seed))
        start, second, third = out.idx[0].tolist()
        assert second == (0 if start >= 50 else 100)
        gaps = sorted([start, second])
        assert abs(third - (gaps[0] + gaps[1]) / 2) <= 0.5 or third == 100 - second


def test_to_target_adds_far_and_drops_crowded():
    xyz = unit_vectors(np.zeros(5), np.array([0.0, 0.1, 10.0, 20.0, 30.0]))
    assert ga.to_target(xyz, np.array([0, 2]), 3, 500.0).tolist() == [0, 2, 4]
    assert ga.to_target(xyz, np.array([0, 1, 2, 3]), 3, 500.0).tolist() in ([0, 2, 3], [1, 2, 3])


def test_bad_parameters():
    with pytest.raises(ConfigError, match="target count"):
        ga.evolve(cloud(10), 0, ga.GAParams(), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="population"):
        ga.GAParams.from_dict({"population": 1})
    with pytest.raises(ConfigError, match="unknown keys"):
        ga.GAParams.from_dict({"populaton": 10})


def test_exact_count_ga_never_loses_its_best_seed():
    # tolerance 0: every candidate has n cells, so elitism carries the best to the end
    xyz = cloud(1500, seed=5)
    for seed in range(3):
        result = ga.evolve(
            xyz,
            25,
            ga.GAParams(generations=15, population=8, pool_factor=4),
            np.random.default_rng(seed),
        )
        assert result.fitness >= result.initial_fitness - 1e-9


def test_uniform_crossover_keeps_common_cells_and_half_the_rest():
    rng = np.random.default_rng(0)
    count = 2000
    a = full(np.tile(np.arange(0, 60), (count, 1)))  # cells 0..59
    b = full(np.tile(np.arange(40, 100), (count, 1)))  # cells 40..99: 40..59 shared
    child = ga.uniform_crossover(a, b, 1.0, 100, rng)
    held = np.zeros((count, 100), dtype=bool)
    for p in range(count):
        held[p, child.idx[p][child.mask[p]]] = True
    assert held[:, 40:60].all()  # in both parents: always kept
    assert held[:, 0:40].mean() == pytest.approx(0.5, abs=0.02)
    assert held[:, 60:100].mean() == pytest.approx(0.5, abs=0.02)
    copies = ga.uniform_crossover(a, b, 0.0, 100, rng)  # rate 0: copies of A
    assert all(copies.member(p).tolist() == list(range(60)) for p in range(5))
