"""Time every sampling step at full scale (the whole real grid, default config), in one process.

    PYTHONPATH=src python bench/sampling_steps.py [--workers 2] [--out results/bench/sampling]

Prints wall and CPU seconds per step (CPU includes the GA's worker processes) and the
dispersion figures the issue asks for: within-stratum mean nearest-neighbour distance of the GA
sample, of the random draw with the same counts and of a farthest-point traversal per stratum.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="results/bench/sampling")
    args = parser.parse_args()

    from csmoe.config import load_config
    from csmoe.log import setup_logging
    from csmoe.sampling.descriptors import build_archive, grid_cells
    from csmoe.sampling.fig3 import make_figure
    from csmoe.sampling.ga import farthest_point
    from csmoe.sampling.geo import nearest_neighbour_km, unit_vectors
    from csmoe.sampling.stratified import STRATUM, counts_of, ga_params, ga_sample, random_sample
    from csmoe.sampling.table2 import build_table

    setup_logging("WARNING")
    config = load_config()
    params, seed = config["sampling"], config["seed"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, dict[str, float]] = {}

    def step(name, fn):
        wall, cpu = time.perf_counter(), cpu_s()
        value = fn()
        timings[name] = {"wall_s": time.perf_counter() - wall, "cpu_s": cpu_s() - cpu}
        spent = timings[name]
        print(f"{name:<24} wall {spent['wall_s']:7.1f} s   cpu {spent['cpu_s']:7.1f} s")
        return value

    step("grid (5.1 M cells)", lambda: grid_cells(params["grid_km"], params["lat_range"]))
    archive = step("grid + descriptors", lambda: build_archive(params))
    n = params["target_per_stratum"]
    mu, info = step(
        "GA sample",
        lambda: ga_sample(
            archive, n, ga_params(params), seed, cell_km=params["grid_km"], workers=args.workers
        ),
    )
    seeds_only, _ = ga_sample(
        archive,
        n,
        replace(ga_params(params), generations=0),
        seed,
        cell_km=params["grid_km"],
        workers=args.workers,
    )
    rnd = step("random sample", lambda: random_sample(archive, counts_of(mu), seed))
    frames = {"archive": archive, "mtom_r": rnd, "mtom_mu": mu}
    table = step(
        "Table II",
        lambda: build_table(
            frames,
            seed,
            exact_max=params["table2"]["exact_pairs_max"],
            n_pairs=params["table2"]["pair_sample"],
        ),
    )
    step("Fig. 3", lambda: make_figure(archive, {"MTomr": rnd, "MTomμ": mu}, seed))
    total = sum(t["wall_s"] for k, t in timings.items() if not k.startswith("grid ("))
    load = os.getloadavg()[0]
    print(f"{'total (descriptors..fig3)':<24} wall {total:7.1f} s   (load average {load:.1f})")

    # dispersion inside the strata the GA sampled (strata kept whole are identical in both)
    groups = archive.groupby(STRATUM).indices
    lat, lon = archive["centre_lat"].to_numpy(), archive["centre_lon"].to_numpy()
    mu_groups, r_groups = mu.groupby(STRATUM).indices, rnd.groupby(STRATUM).indices
    s_groups = seeds_only.groupby(STRATUM).indices
    rng = np.random.default_rng(seed)
    nn = {"ga": [], "random": [], "fps": [], "seeds_only": []}
    for key, rows in sorted(groups.items()):
        if len(rows) <= n:
            continue
        xyz = unit_vectors(lat[rows], lon[rows])
        fps = farthest_point(xyz, n, np.arange(len(rows))[None, :], rng).member(0)
        nn["fps"].append(nearest_neighbour_km(xyz[fps]).mean())
        for name, frame, index in (
            ("ga", mu, mu_groups),
            ("random", rnd, r_groups),
            ("seeds_only", seeds_only, s_groups),
        ):
            sub = frame.iloc[index[key]]
            sub_xyz = unit_vectors(sub["centre_lat"], sub["centre_lon"])
            nn[name].append(nearest_neighbour_km(sub_xyz).mean())
    means = {k: float(np.mean(v)) for k, v in nn.items()}
    print(
        f"within-stratum mean NN over {len(nn['ga'])} GA strata: GA {means['ga']:.0f} km, "
        f"random {means['random']:.0f} km, farthest-point {means['fps']:.0f} km"
    )
    print(
        f"GA / random = {means['ga'] / means['random']:.2f}, "
        f"farthest-point / random = {means['fps'] / means['random']:.2f}, "
        f"GA / farthest-point = {means['ga'] / means['fps']:.3f}"
    )
    sampled = info[info["generations"] > 0]
    gain = float((sampled["fitness"] - sampled["initial_fitness"]).mean())
    print(
        f"GA without generations (farthest-point seeds + count repair): "
        f"{means['seeds_only']:.0f} km; mean fitness gain of the generations: {gain:+.3f}"
    )
    counts = info["n_chosen"].to_numpy()
    on_target = bool((counts[info["n_cells"] > n] == n).all())
    print(f"counts: {len(mu)} tiles; every stratum larger than n has exactly n: {on_target}")
    report = {
        "timings": timings,
        "nn_km": means,
        "tiles": len(mu),
        "archive": len(archive),
        "strata": len(groups),
        "table2": table.to_dict(orient="records"),
    }
    (out / "steps.json").write_text(json.dumps(report, indent=2, default=float))


if __name__ == "__main__":
    main()
