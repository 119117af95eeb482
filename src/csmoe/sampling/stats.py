"""Set statistics for Table II: counts per descriptor and spatial dispersion.

Distances are Haversine (mean Earth radius). Averages over all pairs are exact up to
``exact_max`` points and otherwise estimated from ``n_pairs`` seeded random distinct pairs
(the archive's 1.5 M cells have ~10^12 pairs; 2 M random pairs give the mean to ~0.1 %).
Minimum and nearest-neighbour distances are exact (k-d tree on unit vectors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from csmoe.log import progress
from csmoe.sampling.geo import mean_pairwise_km, nearest_neighbour_km, unit_vectors
from csmoe.sampling.stratified import STRATUM


@dataclass(frozen=True)
class Stat:
    value: float
    std: float = float("nan")


def per_group(frame: pd.DataFrame, by: list[str]) -> Stat:
    sizes = frame.groupby(by).size()
    return Stat(float(sizes.mean()), float(sizes.std(ddof=0)))


def set_statistics(
    frame: pd.DataFrame,
    rng: np.random.Generator,
    *,
    exact_max: int,
    n_pairs: int,
    sampled: frozenset[tuple[Any, ...]] = frozenset(),
) -> dict[str, Stat]:
    """Table II's rows for one set of tiles (archive or sample). ``sampled``: the strata the
    samples thin out (larger than n in the archive); strata kept whole are identical in every
    set and dilute the dispersion rows, so those are also given over ``sampled`` alone."""
    xyz = unit_vectors(frame["centre_lat"].to_numpy(), frame["centre_lon"].to_numpy())
    stats = {
        "tiles": Stat(float(len(frame))),
        "tiles_per_climate_zone": per_group(frame, ["climate"]),
        "tiles_per_landcover_class": per_group(frame, ["landcover"]),
        "tiles_per_stratum": per_group(frame, STRATUM),
        "avg_pairwise_distance_km": Stat(
            mean_pairwise_km(xyz, rng, exact_max=exact_max, n_pairs=n_pairs)
        ),
        "min_distance_km": Stat(float(np.nanmin(nearest_neighbour_km(xyz)))),
    }
    pairwise, nearest, sizes, in_sampled = [], [], [], []
    positions = frame.groupby(STRATUM, sort=True).indices
    for key, rows in progress(sorted(positions.items()), desc="dispersion per stratum"):
        if len(rows) < 2:
            continue  # no pair inside a one-tile stratum
        sub = xyz[rows]
        # per stratum a smaller pair budget: 243 strata x n_pairs would dominate the run
        pairwise.append(
            mean_pairwise_km(sub, rng, exact_max=exact_max, n_pairs=max(n_pairs // 20, 1000))
        )
        nearest.append(float(nearest_neighbour_km(sub).mean()))
        sizes.append(len(rows))
        in_sampled.append(tuple(key) in sampled)
    pairwise_a, nearest_a, sizes_a = map(np.asarray, (pairwise, nearest, sizes))
    focus = np.asarray(in_sampled, dtype=bool)
    stats["within_stratum_mean_pairwise_km"] = Stat(
        float(pairwise_a.mean()), float(pairwise_a.std())
    )
    stats["within_stratum_mean_pairwise_km_tile_weighted"] = Stat(
        float(np.average(pairwise_a, weights=sizes_a))
    )
    stats["within_stratum_mean_nn_km"] = Stat(float(nearest_a.mean()), float(nearest_a.std()))
    if focus.any():
        stats["sampled_strata_mean_pairwise_km"] = Stat(
            float(pairwise_a[focus].mean()), float(pairwise_a[focus].std())
        )
        stats["sampled_strata_mean_nn_km"] = Stat(
            float(nearest_a[focus].mean()), float(nearest_a[focus].std())
        )
    return stats
