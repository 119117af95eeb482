"""Features are streamed from the lazy readers: equal to encoding the whole split held in
memory, and read a bounded batch at a time (a paper-scale split's pixels never are in memory)."""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np
import pytest

from csmoe.data import benv2, geobench
from csmoe.evaluation.features import encode, encode_reader, reader_digest
from csmoe.evaluation.run import cbir_set, load_checked, probe_task

BENV2_MOCK = files("configilm") / "extra" / "mock_data" / "BENv2"
STRATEGIES = ["cls", "avg_all", "cls_norm_proj"]


def _assert_same(streamed: dict, eager: dict) -> None:
    assert streamed.keys() == eager.keys()
    for name, value in eager.items():
        assert streamed[name].dtype == value.dtype and streamed[name].shape == value.shape
        np.testing.assert_allclose(streamed[name], value, rtol=1e-6, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("task", ["m-eurosat", "m-SA-crop-type"])
def test_streamed_task_features_equal_the_eager_ones(geobench_root, random_checkpoint, task):
    ckpt = load_checked(random_checkpoint, None)
    layers = [0, 1] if task == "m-SA-crop-type" else []
    strategies = [] if layers else STRATEGIES
    whole = geobench.load_task(geobench_root, task, "train")  # 24 samples in memory
    eager = encode(
        ckpt.model,
        ckpt.norm_stats,
        [{"s2": whole.s2}],
        len(whole.s2),
        strategies=strategies,
        layers=layers,
    )["s2"]
    streamed, labels = encode_reader(
        ckpt.model,
        ckpt.norm_stats,
        geobench.open_task(geobench_root, task, "train"),
        ["s2"],
        batch_size=5,  # 5, 5, 5, 5, 4: a ragged last batch
        strategies=strategies,
        layers=layers,
    )
    _assert_same(streamed["s2"], eager)
    assert np.array_equal(labels, whole.labels) and labels.dtype == whole.labels.dtype


def test_streamed_pair_features_equal_the_eager_ones_on_real_patches(random_checkpoint):
    ckpt = load_checked(random_checkpoint, None)
    whole = benv2.load_pairs(BENV2_MOCK, "243k", "test")
    eager = encode(
        ckpt.model,
        ckpt.norm_stats,
        [{"s1": whole.s1, "s2": whole.s2}],
        len(whole.s2),
        strategies=STRATEGIES,
    )
    reader = benv2.open_pairs(BENV2_MOCK, "243k", "test")
    try:
        streamed, labels = encode_reader(
            ckpt.model, ckpt.norm_stats, reader, ["s1", "s2"], batch_size=4, strategies=STRATEGIES
        )
    finally:
        reader.close()
    for modality in ("s1", "s2"):
        _assert_same(streamed[modality], eager[modality])
    assert np.array_equal(labels, whole.labels)


def test_reader_digest_follows_names_and_content(geobench_root):
    reader = geobench.open_task(geobench_root, "m-eurosat", "train")
    names = reader.sample_names
    digest = reader_digest(reader, names)
    assert digest == reader_digest(geobench.open_task(geobench_root, "m-eurosat", "train"), names)
    assert digest != reader_digest(reader, names[::-1])
    other = geobench.open_task(geobench_root, "m-eurosat", "test")
    assert reader_digest(other, names) != digest  # same names, other pixels
    labels = np.zeros(3)
    assert reader_digest(reader, names, labels) != reader_digest(reader, names, labels + 1)


@pytest.fixture
def read_sizes(monkeypatch):
    """Spy on the lazy readers: the size of every batch they yield, per split; the eager
    whole-split loaders must not be used at all."""
    sizes: dict[str, list[int]] = {}

    def spy(cls, split_of):
        original = cls.batches

        def batches(self, size):
            for batch in original(self, size):
                sizes.setdefault(split_of(self), []).append(len(batch.labels))
                yield batch

        monkeypatch.setattr(cls, "batches", batches)

    spy(geobench.TaskReader, lambda r: r.sample_names[0].split("_")[0])
    spy(benv2.PairReader, lambda r: r.patch_ids[0])

    def refuse(*args, **kwargs):
        raise AssertionError("the evaluation loaded a whole split into memory")

    monkeypatch.setattr(geobench, "load_task", refuse)
    monkeypatch.setattr(benv2, "load_pairs", refuse)
    return sizes


def test_probe_reads_each_split_once_in_bounded_batches(
    tmp_path, geobench_root, random_checkpoint, read_sizes
):
    params = {
        "strategies": ["cls"],
        "tasks": {"m-eurosat": {"modality": "s2"}},
        "linear": {"epochs": 1, "batch_size": 8},
        "feature_batch_size": 5,
        "threads": 1,
    }
    kwargs = dict(
        params=params,
        ckpt=load_checked(random_checkpoint, None),
        geobench_root=geobench_root,
        task="m-eurosat",
        variant="tiny",
        epoch="final",
        out_dir=tmp_path,
        seed=0,
    )
    (path,) = probe_task(**kwargs)
    assert read_sizes == {"train": [5, 5, 5, 5, 4], "valid": [5, 3], "test": [5, 3]}
    first = json.loads(path.read_text())
    read_sizes.clear()
    # a rerun takes features and labels from the cache: no pass over the pixels at all
    (path,) = probe_task(**kwargs)
    assert read_sizes == {}
    assert json.loads(path.read_text())["test"] == first["test"]


def test_cbir_reads_each_split_once_for_both_modalities(tmp_path, random_checkpoint, read_sizes):
    params = {
        "cbir": {"k": 3, "strategy": "cls", "sets": {"benv2_243k": "243k"}},
        "feature_batch_size": 4,
        "threads": 1,
    }
    cbir_set(
        params=params,
        ckpt=load_checked(random_checkpoint, None),
        benv2_root=BENV2_MOCK,
        set_name="benv2_243k",
        variant="tiny",
        out=tmp_path / "benv2_243k.json",
    )
    # the mock's 243k set: 6 validation and 6 test patches, each read once (S1 and S2 together)
    assert sorted(read_sizes.values()) == [[4, 2], [4, 2]]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        "benv2_243k_test.npz",
        "benv2_243k_validation.npz",
    ]
