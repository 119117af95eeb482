"""Our vectorised GA against PyGAD (the paper's binary mask, one fitness call per candidate) at
the same number of generations and candidates, side by side on real strata.

    PYTHONPATH=src python bench/sampling_ga_vs_pygad.py   # needs: pip install pygad

Same algorithm on both sides: uniform random subsets of n cells to start, the same fitness
(csmoe.sampling.ga.fitness), tournament selection of 3, 2 elites, uniform crossover of the masks
at rate 0.8, bit-flip mutation at 1/N and the adaptive constraint (prune / augment to n). PyGAD
holds N-gene masks; ours holds the n set bits and works on the whole population at once.
Reported: wall time and best fitness as ratios ours / PyGAD; then, for reference, our spatial
crossover from the same random start, the shipped configuration (farthest-point seeds, spatial
crossover) and farthest-point seeds with uniform crossover.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd

from csmoe.sampling import ga
from csmoe.sampling.descriptors import build_archive
from csmoe.sampling.geo import nearest_neighbour_km, unit_vectors

N_TARGET, POPULATION, GENERATIONS, TOLERANCE = 100, 16, 100, 0.0
STRATA = [("Aw", 20), ("Dsb", 30), ("Cwa", 30), ("BWh", 60)]  # ~800 to ~144 k cells


def score(xyz: np.ndarray, cells: np.ndarray, sigma: float) -> float:
    pop = ga.Population(cells[None, :], np.ones((1, len(cells)), dtype=bool))
    return float(ga.fitness(xyz, pop, sigma)[0])


def nn_km(xyz: np.ndarray, cells: np.ndarray) -> int:
    return round(float(nearest_neighbour_km(xyz[cells]).mean()))


def run_pygad(xyz: np.ndarray, sigma: float, seed: int) -> tuple[np.ndarray, int, float]:
    import pygad

    n_cells = len(xyz)
    xyz32 = xyz.astype(np.float32)
    rng = np.random.default_rng(seed)
    lo = math.ceil(N_TARGET * (1 - TOLERANCE))
    hi = math.floor(N_TARGET * (1 + TOLERANCE))
    calls = [0]

    def fitness(_ga, solution, _idx):
        calls[0] += 1
        return score(xyz32, np.flatnonzero(solution), sigma)

    def mutation(offspring, _ga):
        flips = rng.random(offspring.shape) < 1.0 / n_cells
        offspring[flips] = 1 - offspring[flips]
        for row in offspring:  # adaptive constraint on the mask
            on = np.flatnonzero(row)
            if len(on) > hi:
                row[rng.choice(on, len(on) - N_TARGET, replace=False)] = 0
            elif len(on) < lo:
                off = np.flatnonzero(row == 0)
                row[rng.choice(off, N_TARGET - len(on), replace=False)] = 1
        return offspring

    initial = np.zeros((POPULATION, n_cells), dtype=np.int8)
    for row in initial:
        row[rng.choice(n_cells, N_TARGET, replace=False)] = 1
    start = time.perf_counter()
    instance = pygad.GA(
        num_generations=GENERATIONS,
        num_parents_mating=POPULATION,
        fitness_func=fitness,
        initial_population=initial,
        gene_type=int,
        gene_space=[0, 1],
        parent_selection_type="tournament",
        K_tournament=3,
        crossover_type="uniform",
        crossover_probability=0.8,
        mutation_type=mutation,
        keep_elitism=2,
        random_seed=seed,
        suppress_warnings=True,
    )
    instance.run()
    wall = time.perf_counter() - start
    solution, _, _ = instance.best_solution(instance.last_generation_fitness)
    return np.flatnonzero(solution), calls[0], wall


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    archive = build_archive({})
    groups = archive.groupby(["climate", "landcover"]).indices
    rows = []
    for key in STRATA:
        members = groups[key]
        xyz = unit_vectors(
            archive["centre_lat"].to_numpy()[members], archive["centre_lon"].to_numpy()[members]
        )
        sigma = ga.bandwidth_km(len(xyz), N_TARGET, 10.0, ga.GAParams().bandwidth)
        base = dict(generations=GENERATIONS, population=POPULATION, tolerance=TOLERANCE)
        ours = {}
        for name, init, crossover in (
            ("uniform", "random", "uniform"),
            ("spatial", "random", "spatial"),
            ("shipped", "fps", "spatial"),
            ("seeded uniform", "fps", "uniform"),
        ):
            start = time.perf_counter()
            params = ga.GAParams(**base, init=init, crossover=crossover)
            result = ga.evolve(xyz, N_TARGET, params, np.random.default_rng(0))
            ours[name] = (result, time.perf_counter() - start)
        cells, calls, wall = run_pygad(xyz, sigma, 0)
        mine, mine_wall = ours["uniform"]
        fps_cells = ours["shipped"][0].cells

        row = {
            "stratum": f"{key[0]}/{key[1]}",
            "N": len(xyz),
            "evals ours": mine.evaluations,
            "evals pygad": calls,
            "wall ours s": round(mine_wall, 2),
            "wall pygad s": round(wall, 2),
            "speed-up": round(wall / mine_wall, 1),
            "F ours": round(score(xyz, mine.cells, sigma), 3),
            "F pygad": round(score(xyz, cells, sigma), 3),
            "F ratio": round(score(xyz, mine.cells, sigma) / score(xyz, cells, sigma), 3),
            "F start": round(mine.initial_fitness, 3),
            "F ours spatial": round(score(xyz, ours["spatial"][0].cells, sigma), 3),
            "F shipped": round(score(xyz, fps_cells, sigma), 3),
            "F seeded uniform": round(score(xyz, ours["seeded uniform"][0].cells, sigma), 3),
            "NN ours km": nn_km(xyz, mine.cells),
            "NN pygad km": nn_km(xyz, cells),
            "NN shipped km": nn_km(xyz, fps_cells),
        }
        rows.append(row)
        print(row, flush=True)
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False) if hasattr(table, "to_markdown") else table.to_string())


if __name__ == "__main__":
    main()
