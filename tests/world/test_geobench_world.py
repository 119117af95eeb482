"""Generated GEO-Bench tasks: real format, read back by the real reader, learnable labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csmoe.data import geobench_format as fmt
from csmoe.data.geobench import load_task
from csmoe.data.geobench_pickle import safe_loads
from csmoe.world.geobench_world import GeobenchWorldSpec, write_task


@pytest.fixture(scope="module")
def cells():
    rows = [
        ("100U_10R", 48.0, 11.0, "Cfb", 40), ("101U_11R", 48.1, 11.2, "Cfb", 10),
        ("102U_12R", 47.0, 10.0, "Dfb", 10), ("103U_13R", 30.0, 30.0, "BWh", 60),
        ("104U_14R", 52.5, 13.4, "Cfb", 50), ("105U_15R", 45.0, 5.0, "Csa", 30),
        ("106U_16R", 60.0, 25.0, "Dfc", 80), ("107U_17R", 10.0, 20.0, "Aw", 20),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["grid_cell", "centre_lat", "centre_lon", "climate",
                                       "landcover"])  # fmt: skip


SPEC = GeobenchWorldSpec(samples={"train": 6, "valid": 2, "test": 2}, seg_size=32, seed=3)


@pytest.mark.parametrize("task", list(fmt.TASKS))
def test_every_task_reads_back(tmp_path, cells, task):
    spec = fmt.TASKS[task]
    folder = tmp_path / spec.benchmark / task
    counts = write_task(cells, folder, task, SPEC)
    assert counts["train"] == 6 and counts["test"] == 2
    assert {p.name for p in folder.glob("*.json")} >= {
        "band_stats.json", "label_stats.json", "default_partition.json"}  # fmt: skip
    data = load_task(tmp_path, task, "train")
    size = 32 if spec.kind == "segmentation" else spec.size
    assert data.s2.shape == (6, 10, size, size)
    assert (data.s1 is not None) == (task == "m-so2sat")
    # physical units whatever the storage: reflectance ×10 000 and dB
    assert 100 < np.median(data.s2) < 6000
    if data.s1 is not None:
        assert -30 < data.s1.mean() < 0
    assert data.labels.max() < data.num_classes


def test_deterministic(tmp_path, cells):
    a = write_task(cells, tmp_path / "a" / fmt.CLS / "m-eurosat", "m-eurosat", SPEC)
    b = write_task(cells, tmp_path / "b" / fmt.CLS / "m-eurosat", "m-eurosat", SPEC)
    assert a == b
    da, db = (load_task(tmp_path / x, "m-eurosat", "test") for x in "ab")
    assert np.array_equal(da.s2, db.s2) and np.array_equal(da.labels, db.labels)


def test_eurosat_labels_learnable(tmp_path, cells):
    """A linear probe on band means beats the majority class: labels follow the scenes."""
    from sklearn.linear_model import LogisticRegression

    spec = GeobenchWorldSpec(samples={"train": 60, "valid": 1, "test": 30}, seed=5)
    write_task(cells, tmp_path / fmt.CLS / "m-eurosat", "m-eurosat", spec)
    train, test = (load_task(tmp_path, "m-eurosat", s) for s in ("train", "test"))
    features = [np.log(d.s2.mean(axis=(2, 3))) for d in (train, test)]
    probe = LogisticRegression(max_iter=2000).fit(features[0], train.labels)
    accuracy = (probe.predict(features[1]) == test.labels).mean()
    majority = np.bincount(test.labels).max() / len(test.labels)
    assert accuracy > majority + 0.1


def test_task_specs_is_a_geobench_task_specification(tmp_path, cells):
    folder = tmp_path / fmt.SEG / "m-SA-crop-type"
    write_task(cells, folder, "m-SA-crop-type", SPEC)
    specs = safe_loads((folder / "task_specs.pkl").read_bytes())
    assert specs.origin == "geobench.task.TaskSpecifications"
    assert specs.patch_size == (32, 32) and specs.dataset_name == "m-SA-crop-type"
    assert [b.name for b in specs.bands_info] == list(fmt.TASKS["m-SA-crop-type"].stored)
    assert specs.label_type.origin == "geobench.dataset.SegmentationClasses"
    assert specs.label_type.n_classes == 10


def test_lazy_task_reader_matches_load_task(tmp_path, cells):
    from csmoe.data.geobench import open_task

    write_task(cells, tmp_path / fmt.SEG / "m-cashew-plant", "m-cashew-plant", SPEC)
    whole = load_task(tmp_path, "m-cashew-plant", "train")
    parts = list(open_task(tmp_path, "m-cashew-plant", "train").batches(4))
    assert [len(p.sample_names) for p in parts] == [4, 2]
    assert np.array_equal(np.concatenate([p.labels for p in parts]), whole.labels)
    assert np.array_equal(np.concatenate([p.s2 for p in parts]), whole.s2)
