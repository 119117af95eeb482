"""Entropy-maximising sampling of one joined stratum by a genetic algorithm (paper Alg. 2).

Representation. A candidate is a subset of the stratum's N cells (the paper's binary mask of
length N, stored as the list of its set bits so that a 100 k-cell stratum costs ~100 integers per
candidate, not 100 k booleans). The population is a padded ``(P, W)`` index array plus a validity
mask, and every operator works on the whole population at once.

Fitness (to maximise). With d_ij the Haversine distance between chosen cells i and j and
sigma a spatial bandwidth,

    F(S) = -log( 1 / (|S| (|S| - 1)) * sum_{i != j in S} exp(-d_ij^2 / (2 sigma^2)) )

This is Rényi's quadratic entropy of S under a Gaussian Parzen window (up to a constant): it is
high when few pairs are close, i.e. when the cells spread over the stratum. Averaging over the
|S|(|S|-1) pairs makes it neutral to the candidate's size, so the size is left to the
constraint. sigma = ``bandwidth`` * sqrt(N * cell_area / n), the spacing n points would have if
they tiled the stratum's area evenly, so the kernel acts on neighbour-scale distances.

Operators.
- Selection: tournament of ``tournament`` candidates; the ``elite`` best survive unchanged.
- Crossover (rate ``crossover_rate``), ``crossover: spatial`` (default): one-point crossover of
  the two parents' masks with the cells ordered along a random direction in space: the child
  takes parent A's cells on one side of a random cut plane and parent B's on the other, so it
  inherits well-spread regions whole. ``crossover: uniform``: uniform crossover of the masks
  (no clear winner between the two on the real grid; see bench/README.md).
- Mutation: every bit of the length-N mask flips with probability 1/N (drawn exactly as
  Binomial(|S|, 1/N) removals and Binomial(N - |S|, 1/N) additions of random cells).
- Adaptive constraint: a candidate with more than n(1 + tolerance) cells is randomly pruned to
  n, one with fewer than n(1 - tolerance) randomly augmented to n.

Count. With a tolerance > 0 the population drifts to the low end of n(1 +- tolerance) (dropping
the most crowded cell always raises F). The winner is brought to exactly n greedily (cells
farthest from the chosen ones added, the most crowded, by kernel row sum, removed), which gives
back what the drift gained; hence the default tolerance 0: every candidate has exactly n cells,
the constraint repairs every child that crossover or mutation moved off n, and the generations'
fitness gains survive to the result.

Initial population (``init``): ``random`` (uniform subsets of size n, as a plain GA would start)
or ``fps`` (farthest-point traversals from random starts over random pools of
``pool_factor`` * n cells: spread-out, mutually different seeds that the GA then recombines).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from csmoe.errors import ConfigError
from csmoe.sampling.geo import MEAN_EARTH_RADIUS_KM


@dataclass(frozen=True)
class GAParams:
    generations: int = 100
    population: int = 16
    crossover_rate: float = 0.8
    crossover: str = "spatial"
    tolerance: float = 0.0
    tournament: int = 3
    elite: int = 2
    init: str = "fps"
    pool_factor: int = 50
    bandwidth: float = 0.6
    time_budget_s: float | None = None  # for all strata together; None = no limit

    @classmethod
    def from_dict(cls, cfg: dict[str, Any]) -> GAParams:
        known = {f.name for f in fields(cls)}
        unknown = set(cfg) - known
        if unknown:
            raise ConfigError(f"sampling.ga: unknown keys {sorted(unknown)}")
        params = cls(**cfg)
        params.validate()
        return params

    def validate(self) -> None:
        checks = [
            (self.generations >= 0, "generations must be >= 0"),
            (self.population >= 2, "population must be >= 2"),
            (0.0 <= self.crossover_rate <= 1.0, "crossover_rate must be in [0, 1]"),
            (self.crossover in ("spatial", "uniform"), "crossover must be 'spatial' or 'uniform'"),
            (0.0 <= self.tolerance < 1.0, "tolerance must be in [0, 1)"),
            (self.tournament >= 1, "tournament must be >= 1"),
            (0 <= self.elite < self.population, "elite must be in [0, population)"),
            (self.init in ("fps", "random"), "init must be 'fps' or 'random'"),
            (self.pool_factor >= 1, "pool_factor must be >= 1"),
            (self.bandwidth > 0, "bandwidth must be > 0"),
            (self.time_budget_s is None or self.time_budget_s > 0, "time_budget_s must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"sampling.ga: {message}")


@dataclass
class Population:
    """Padded subsets: ``idx[p, :]`` are cell indices, valid where ``mask[p, :]``."""

    idx: np.ndarray
    mask: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return self.mask.sum(axis=1)

    def member(self, p: int) -> np.ndarray:
        return np.sort(self.idx[p][self.mask[p]])


def bandwidth_km(n_cells: int, n: int, cell_km: float, factor: float) -> float:
    """sigma: the spacing of n points spread evenly over the stratum's area."""
    return factor * math.sqrt(n_cells * cell_km * cell_km / n)


def fitness(xyz: np.ndarray, pop: Population, sigma_km: float) -> np.ndarray:
    """F(S) of every candidate (see the module docstring); ``-inf`` for |S| < 2.

    Pass float32 ``xyz`` for speed (4x on CPU): the kernel only needs neighbour-scale
    distances, where float32 dot products are accurate to well under 1 %.
    """
    x = xyz[pop.idx]  # (P, W, 3)
    kernel = gaussian_kernel(np.matmul(x, x.transpose(0, 2, 1)), sigma_km)
    kernel *= pop.mask[:, :, None] & pop.mask[:, None, :]
    width = kernel.shape[1]
    kernel[:, np.arange(width), np.arange(width)] = 0.0  # i != j only
    sizes = pop.sizes.astype(np.float64)
    pairs = sizes * (sizes - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = kernel.sum(axis=(1, 2), dtype=np.float64) / pairs
        return np.where(pairs > 0, -np.log(mean + 1e-300), -np.inf)


def gaussian_kernel(dots: np.ndarray, sigma_km: float) -> np.ndarray:
    """exp(-d^2 / (2 sigma^2)) for Haversine d = 2R asin(|u - v| / 2), |u - v|^2 = 2 - 2 u.v."""
    half_angle = np.arcsin(np.sqrt(np.clip(0.5 - 0.5 * dots, 0.0, 1.0)))
    scaled = half_angle * np.asarray(2.0 * MEAN_EARTH_RADIUS_KM / sigma_km, dtype=dots.dtype)
    return np.exp(-0.5 * scaled * scaled)


def tournament(fit: np.ndarray, size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``count`` winners of tournaments among ``size`` random candidates."""
    entrants = rng.integers(0, len(fit), (count, size))
    return entrants[np.arange(count), np.argmax(fit[entrants], axis=1)]


def spatial_crossover(
    xyz: np.ndarray, a: Population, b: Population, rate: float, rng: np.random.Generator
) -> Population:
    """One-point crossover along a random spatial direction (see the module docstring)."""
    count = len(a.idx)
    axis = rng.normal(size=(count, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    proj_a = np.einsum("pwk,pk->pw", xyz[a.idx], axis)
    proj_b = np.einsum("pwk,pk->pw", xyz[b.idx], axis)
    # cut through one of A's own cells, so both sides are non-empty in the typical case
    pick = np.floor(rng.random(count) * np.maximum(a.sizes, 1)).astype(np.int64)
    order = np.argsort(~a.mask, axis=1, kind="stable")  # valid entries first
    cut = proj_a[np.arange(count), order[np.arange(count), pick]]
    crossed = rng.random(count) < rate
    keep_a = a.mask & (~crossed[:, None] | (proj_a < cut[:, None]))
    keep_b = b.mask & crossed[:, None] & (proj_b >= cut[:, None])
    return Population(np.concatenate([a.idx, b.idx], 1), np.concatenate([keep_a, keep_b], 1))


def uniform_crossover(
    a: Population, b: Population, rate: float, n_cells: int, rng: np.random.Generator
) -> Population:
    """Uniform crossover of the parents' masks: a cell in both parents stays, a cell in one of
    them stays with probability 1/2 (children not crossed are copies of A)."""
    crossed = rng.random(len(a.idx)) < rate
    mask = np.concatenate([a.mask, b.mask & crossed[:, None]], 1)
    key = np.where(mask, np.concatenate([a.idx, b.idx], 1), n_cells)
    key.sort(axis=1)
    valid = key < n_cells
    pair_first = np.zeros_like(valid)  # first copy of a cell both parents hold
    pair_first[:, :-1] = valid[:, :-1] & (key[:, :-1] == key[:, 1:])
    pair_second = np.zeros_like(valid)
    pair_second[:, 1:] = pair_first[:, :-1]
    single = valid & ~pair_first & ~pair_second
    keep_single = rng.random(key.shape) < np.where(crossed, 0.5, 1.0)[:, None]
    keep = pair_first | (single & keep_single)
    return Population(np.where(keep, key, 0), keep)


def mutate(pop: Population, n_cells: int, rng: np.random.Generator) -> Population:
    """Flip each bit of the length-N mask with probability 1/N."""
    sizes = pop.sizes
    rate = 1.0 / n_cells
    n_off = rng.binomial(sizes, rate)
    n_on = rng.binomial(np.maximum(n_cells - sizes, 0), rate)
    mask = pop.mask & ~_random_ranks_below(pop.mask, n_off, rng)
    return _append_random(Population(pop.idx, mask), n_on, n_cells, rng)


def constrain(
    pop: Population, n: int, tolerance: float, n_cells: int, rng: np.random.Generator
) -> Population:
    """Adaptive constraint: prune or augment candidates outside n(1 +- tolerance) to n."""
    lo, hi = math.ceil(n * (1 - tolerance) - 1e-9), math.floor(n * (1 + tolerance) + 1e-9)
    pop = deduplicate(pop, n_cells)
    sizes = pop.sizes
    over = sizes > hi
    if over.any():
        excess = np.where(over, sizes - n, 0)
        pop = Population(pop.idx, pop.mask & ~_random_ranks_below(pop.mask, excess, rng))
    under = pop.sizes < lo
    # augmenting draws may hit cells already chosen; repeat until every short row reaches n
    for _ in range(100):
        need = np.where(under, np.maximum(n - pop.sizes, 0), 0)
        if not need.any():
            break
        pop = deduplicate(_append_random(pop, need, n_cells, rng), n_cells)
    return compact(pop)


def deduplicate(pop: Population, n_cells: int) -> Population:
    """Drop repeated cells within a candidate (sorts each row; invalid entries go last)."""
    key = np.where(pop.mask, pop.idx, n_cells)
    key.sort(axis=1)
    mask = key < n_cells
    mask[:, 1:] &= key[:, 1:] != key[:, :-1]
    return Population(np.where(mask, key, 0), mask)


def compact(pop: Population) -> Population:
    """Valid entries first, width trimmed to the largest candidate."""
    order = np.argsort(~pop.mask, axis=1, kind="stable")
    width = max(int(pop.sizes.max()), 1)
    idx = np.take_along_axis(pop.idx, order, 1)[:, :width]
    mask = np.take_along_axis(pop.mask, order, 1)[:, :width]
    return Population(np.where(mask, idx, 0), mask)


def _random_ranks_below(
    mask: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """For each row, a random choice of ``counts[row]`` of its valid entries (boolean mask)."""
    keys = np.where(mask, rng.random(mask.shape), 2.0)
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
    return mask & (ranks < counts[:, None])


def _append_random(
    pop: Population, counts: np.ndarray, n_cells: int, rng: np.random.Generator
) -> Population:
    extra = int(counts.max(initial=0))
    if extra == 0:
        return pop
    new = rng.integers(0, n_cells, (len(counts), extra))
    new_mask = np.arange(extra)[None, :] < counts[:, None]
    return Population(np.concatenate([pop.idx, new], 1), np.concatenate([pop.mask, new_mask], 1))


def stack(a: Population, b: Population) -> Population:
    """Rows of ``a`` then ``b`` (padding the narrower one)."""
    width = max(a.idx.shape[1], b.idx.shape[1])

    def pad(p: Population) -> Population:
        extra = width - p.idx.shape[1]
        return Population(np.pad(p.idx, ((0, 0), (0, extra))), np.pad(p.mask, ((0, 0), (0, extra))))

    a, b = pad(a), pad(b)
    return Population(np.concatenate([a.idx, b.idx]), np.concatenate([a.mask, b.mask]))


def farthest_point(
    xyz: np.ndarray, n: int, pools: np.ndarray, rng: np.random.Generator
) -> Population:
    """One farthest-point traversal of n cells per row of ``pools`` (cell indices), each from a
    random start: the next cell is always the one farthest from those already chosen."""
    count, size = pools.shape
    px = xyz[pools]  # (count, size, 3)
    rows = np.arange(count)
    chosen = np.empty((count, n), dtype=np.int64)
    current = rng.integers(0, size, count)
    closest = np.full((count, size), -np.inf, dtype=px.dtype)  # max dot = nearest chosen cell
    for step in range(n):
        chosen[:, step] = current
        np.maximum(closest, np.einsum("cpk,ck->cp", px, px[rows, current]), out=closest)
        current = np.argmin(closest, axis=1)
    return Population(np.take_along_axis(pools, chosen, 1), np.ones((count, n), dtype=bool))


def fps_population(
    xyz: np.ndarray, n: int, count: int, pool: int, rng: np.random.Generator
) -> Population:
    """Seeds: one traversal over the whole stratum (O(nN), no N x N matrix), the others over
    their own random pools of ``pool`` cells, so the seeds differ from each other."""
    n_cells = len(xyz)
    whole = farthest_point(xyz, n, np.arange(n_cells)[None, :], rng)
    if count == 1:
        return whole
    pool = min(pool, n_cells)
    pools = np.stack([rng.choice(n_cells, pool, replace=False) for _ in range(count - 1)])
    return stack(whole, farthest_point(xyz, n, pools, rng))


def random_subsets(n_cells: int, n: int, count: int, rng: np.random.Generator) -> Population:
    idx = np.stack([rng.choice(n_cells, n, replace=False) for _ in range(count)])
    return Population(idx, np.ones_like(idx, dtype=bool))


@dataclass
class Result:
    cells: np.ndarray  # chosen indices into the stratum, sorted
    fitness: float
    initial_fitness: float  # best of the initial population
    generations: int  # generations run (fewer than asked if the deadline cut in)
    evaluations: int  # fitness evaluations (candidates scored)


def evolve(
    xyz: np.ndarray,
    n: int,
    params: GAParams,
    rng: np.random.Generator,
    *,
    cell_km: float = 10.0,
    deadline: float | None = None,
) -> Result:
    """Run the GA on one stratum of ``len(xyz) > n`` cells; return the best candidate."""
    xyz = np.asarray(xyz, dtype=np.float32)
    n_cells = len(xyz)
    if n <= 0:
        raise ConfigError(f"target count per stratum must be positive, got {n}")
    if n_cells <= n:
        raise ValueError(f"stratum of {n_cells} cells needs no sampling for n={n}")
    sigma = bandwidth_km(n_cells, n, cell_km, params.bandwidth)
    size = params.population
    if params.init == "fps":
        pop = fps_population(xyz, n, size, params.pool_factor * n, rng)
    else:
        pop = random_subsets(n_cells, n, size, rng)
    fit = fitness(xyz, pop, sigma)
    initial = float(fit.max())
    evaluations = size
    children = size - params.elite
    generation = 0
    while generation < params.generations and (deadline is None or time.monotonic() < deadline):
        generation += 1
        elite = np.argsort(-fit, kind="stable")[: params.elite]
        a = _rows(pop, tournament(fit, params.tournament, children, rng))
        b = _rows(pop, tournament(fit, params.tournament, children, rng))
        if params.crossover == "spatial":
            child = spatial_crossover(xyz, a, b, params.crossover_rate, rng)
        else:
            child = uniform_crossover(a, b, params.crossover_rate, n_cells, rng)
        child = constrain(mutate(child, n_cells, rng), n, params.tolerance, n_cells, rng)
        child_fit = fitness(xyz, child, sigma)
        evaluations += children
        pop = stack(_rows(pop, elite), child)
        fit = np.concatenate([fit[elite], child_fit])
    best = int(np.argmax(fit))
    cells = to_target(xyz, pop.member(best), n, sigma)
    final = float(fitness(xyz, Population(cells[None, :], np.ones((1, n), dtype=bool)), sigma)[0])
    return Result(cells, final, initial, generation, evaluations)


def to_target(xyz: np.ndarray, cells: np.ndarray, n: int, sigma_km: float) -> np.ndarray:
    """``cells`` brought to exactly n: add farthest cells or drop the most crowded ones."""
    chosen = list(cells)
    if len(chosen) < n:
        closest = (xyz @ xyz[chosen].T).max(axis=1)
        while len(chosen) < n:
            new = int(np.argmin(closest))
            chosen.append(new)
            np.maximum(closest, xyz @ xyz[new], out=closest)
    if len(chosen) > n:
        x = xyz[chosen]
        kernel = gaussian_kernel(x @ x.T, sigma_km)
        np.fill_diagonal(kernel, 0.0)
        alive = np.ones(len(chosen), dtype=bool)
        for _ in range(len(chosen) - n):
            load = np.where(alive, (kernel * alive).sum(axis=1), -np.inf)
            alive[int(np.argmax(load))] = False
        chosen = list(np.asarray(chosen)[alive])
    return np.sort(np.asarray(chosen, dtype=np.int64))


def _rows(pop: Population, rows: np.ndarray) -> Population:
    return Population(pop.idx[rows], pop.mask[rows])
