"""Stratified sampling of the described archive: GA per joined stratum (MTomμ) and the uniform
random baseline with the same counts (MTomr).

Joined strata are (climate, landcover) pairs. Strata of at most n cells are kept whole. Every
stratum draws from its own random generator, seeded by (seed, CRC32 of the stratum key), so a
stratum's sample does not depend on the others, on their order, or on the number of workers.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from csmoe.errors import ConfigError, InputError
from csmoe.log import get_logger, progress
from csmoe.parallel import imap_ordered
from csmoe.sampling.ga import GAParams, evolve
from csmoe.sampling.geo import unit_vectors

log = get_logger(__name__)

STRATUM = ["climate", "landcover"]
_RANDOM_STREAM = 1  # the random baseline's generator differs from the GA's for the same stratum


def stratum_rng(seed: int, key: tuple[Any, ...], stream: int = 0) -> np.random.Generator:
    label = "|".join(str(k) for k in key).encode()
    return np.random.default_rng([seed, zlib.crc32(label), stream])


def strata(archive: pd.DataFrame, source: str = "archive") -> dict[tuple[Any, ...], np.ndarray]:
    """Row positions of each joined stratum, keys sorted (climate, landcover)."""
    missing = [c for c in [*STRATUM, "centre_lat", "centre_lon"] if c not in archive]
    if missing:
        raise InputError(source, f"missing columns {missing}")
    if archive.empty:
        raise InputError(source, "the archive has no cells (empty stratum table)")
    groups = archive.groupby(STRATUM, sort=True).indices
    return {tuple(k): np.asarray(v) for k, v in sorted(groups.items())}


def ga_sample(
    archive: pd.DataFrame,
    n: int,
    params: GAParams,
    seed: int,
    *,
    cell_km: float = 10.0,
    workers: int = 1,
    source: str = "archive",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MTomμ: (sample rows of ``archive``, one info row per stratum)."""
    _check_n(n)
    groups = strata(archive, source)
    lat = archive["centre_lat"].to_numpy(np.float64)
    lon = archive["centre_lon"].to_numpy(np.float64)
    # largest first, so the last tasks to finish are short ones (better use of the workers)
    large = sorted(
        (k for k, rows in groups.items() if len(rows) > n), key=lambda k: -len(groups[k])
    )
    budget = None
    if params.time_budget_s is not None and large:
        budget = params.time_budget_s * max(workers, 1) / len(large)
    tasks = [
        (key, unit_vectors(lat[groups[key]], lon[groups[key]]), n, params, seed, cell_km, budget)
        for key in large
    ]
    log.info(
        "GA: %d strata, %d larger than n=%d (GA), %d kept whole; %d worker(s)",
        len(groups),
        len(large),
        n,
        len(groups) - len(large),
        workers,
    )
    pool = workers if workers > 1 and len(tasks) > 1 else 0
    done = imap_ordered(_run_stratum, tasks, pool, chunksize=1)
    results = dict(progress(done, total=len(tasks), desc="GA strata", every_s=5))
    rows, infos = [], []
    for key, members in groups.items():
        info = results.get(key)
        if info is None:  # small stratum: kept whole
            picked = members
            info = {
                "n_cells": len(members),
                "fitness": np.nan,
                "initial_fitness": np.nan,
                "generations": 0,
                "evaluations": 0,
                "seconds": 0.0,
            }
        else:
            picked = members[info.pop("cells")]
        rows.append(picked)
        infos.append({"climate": key[0], "landcover": key[1], "n_chosen": len(picked), **info})
    budget_hit = [i for i in infos if 0 < i["generations"] < params.generations]
    if budget_hit:
        log.warning(
            "time budget cut the GA short in %d strata: the sample is no longer a function of "
            "the seed alone",
            len(budget_hit),
        )
    return _rows(archive, rows), pd.DataFrame(infos)


def _run_stratum(task: tuple[Any, ...]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    from threadpoolctl import threadpool_limits

    key, xyz, n, params, seed, cell_km, budget = task
    start = time.monotonic()
    deadline = None if budget is None else start + budget
    # the GA's matrices are small: BLAS threads only fight the other worker for the cores
    with threadpool_limits(1):
        result = evolve(xyz, n, params, stratum_rng(seed, key), cell_km=cell_km, deadline=deadline)
    info = asdict(result)
    info["n_cells"] = len(xyz)
    info["seconds"] = time.monotonic() - start
    return key, info


def random_sample(
    archive: pd.DataFrame, counts: dict[tuple[Any, ...], int], seed: int, source: str = "archive"
) -> pd.DataFrame:
    """MTomr: ``counts[stratum]`` cells per stratum, uniformly without replacement."""
    groups = strata(archive, source)
    rows = []
    for key, members in groups.items():
        count = int(counts.get(key, 0))
        if count > len(members):
            raise InputError(source, f"stratum {key} has {len(members)} cells, asked for {count}")
        rng = stratum_rng(seed, key, _RANDOM_STREAM)
        rows.append(np.sort(rng.choice(members, count, replace=False)))
    return _rows(archive, rows)


def counts_of(sample: pd.DataFrame) -> dict[tuple[Any, ...], int]:
    return {tuple(k): int(v) for k, v in sample.groupby(STRATUM).size().items()}


def _rows(archive: pd.DataFrame, rows: list[np.ndarray]) -> pd.DataFrame:
    picked = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    return archive.iloc[picked].reset_index(drop=True)


def _check_n(n: int) -> None:
    if int(n) != n or n <= 0:
        raise ConfigError(f"sampling.target_per_stratum must be a positive integer, got {n}")


def ga_params(cfg: dict[str, Any]) -> GAParams:
    return GAParams.from_dict(dict(cfg.get("ga") or {}))
