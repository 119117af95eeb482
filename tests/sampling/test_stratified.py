from __future__ import annotations

import numpy as np
import pytest
from sampling_fixtures import archive_frame

from csmoe.errors import ConfigError, InputError
from csmoe.sampling.ga import GAParams
from csmoe.sampling.stratified import counts_of, ga_sample, random_sample

SIZES = {("Af", 10): 300, ("BWh", 60): 25, ("Dfb", 10): 120, ("ET", 70): 1}
PARAMS = GAParams(generations=10, population=8, pool_factor=5)


def test_counts_per_stratum_and_small_strata_whole():
    archive = archive_frame(SIZES)
    sample, info = ga_sample(archive, 50, PARAMS, seed=0)
    assert counts_of(sample) == {("Af", 10): 50, ("BWh", 60): 25, ("Dfb", 10): 50, ("ET", 70): 1}
    assert not sample["grid_cell"].duplicated().any()
    assert set(sample["grid_cell"]) <= set(archive["grid_cell"])
    small = archive[archive["climate"].isin(["BWh", "ET"])]
    assert set(small["grid_cell"]) <= set(sample["grid_cell"])  # kept whole
    assert list(info["generations"]) == [10, 0, 10, 0]
    assert list(sample.columns) == list(archive.columns)


def test_same_seed_same_sample_different_seed_different():
    archive = archive_frame(SIZES)
    a, _ = ga_sample(archive, 50, PARAMS, seed=1)
    b, _ = ga_sample(archive, 50, PARAMS, seed=1)
    c, _ = ga_sample(archive, 50, PARAMS, seed=2)
    assert a.equals(b)
    assert not a.equals(c)


def test_stratum_sample_independent_of_other_strata():
    small = {("Af", 10): 300}
    a, _ = ga_sample(archive_frame(small), 50, PARAMS, seed=0)
    b, _ = ga_sample(archive_frame(SIZES), 50, PARAMS, seed=0)
    assert set(a["grid_cell"]) == set(b[b["climate"] == "Af"]["grid_cell"])


def test_random_baseline_same_counts_and_deterministic():
    archive = archive_frame(SIZES)
    sample, _ = ga_sample(archive, 50, PARAMS, seed=0)
    r1 = random_sample(archive, counts_of(sample), seed=0)
    r2 = random_sample(archive, counts_of(sample), seed=0)
    assert counts_of(r1) == counts_of(sample)
    assert r1.equals(r2)
    with pytest.raises(InputError, match="asked for"):
        random_sample(archive, {("ET", 70): 2}, seed=0)


def test_bad_input():
    archive = archive_frame(SIZES)
    for n in (0, -3):
        with pytest.raises(ConfigError, match="positive integer"):
            ga_sample(archive, n, PARAMS, seed=0)
    with pytest.raises(InputError, match="empty stratum table"):
        ga_sample(archive.iloc[:0], 50, PARAMS, seed=0, source="a.parquet")
    with pytest.raises(InputError, match=r"a\.parquet: missing columns \['climate'\]"):
        ga_sample(archive.drop(columns="climate"), 50, PARAMS, seed=0, source="a.parquet")


def test_ga_beats_random_within_strata():
    from csmoe.sampling.geo import nearest_neighbour_km, unit_vectors

    archive = archive_frame({("Af", 10): 2000})
    sample, _ = ga_sample(archive, 40, GAParams(generations=20, population=8), seed=0)
    rand = random_sample(archive, counts_of(sample), seed=0)

    def nn(frame):
        return nearest_neighbour_km(unit_vectors(frame["centre_lat"], frame["centre_lon"])).mean()

    assert nn(sample) > 1.5 * nn(rand)
    assert np.isfinite(nn(sample))


def test_workers_do_not_change_the_sample():
    archive = archive_frame(SIZES)
    one, _ = ga_sample(archive, 50, PARAMS, seed=5, workers=1)
    two, _ = ga_sample(archive, 50, PARAMS, seed=5, workers=2)
    assert one.equals(two)


def test_time_budget_cuts_generations_and_warns(caplog):
    archive = archive_frame({("Af", 10): 400})
    params = GAParams(generations=10_000, population=8, time_budget_s=0.3)
    sample, info = ga_sample(archive, 50, params, seed=0)
    assert 0 < info["generations"].iloc[0] < 10_000
    assert len(sample) == 50
    assert "time budget cut the GA short" in caplog.text
