"""BigEarthNet-v2 pairs as a pretraining store (train_set: benv2), on the real reBEN sample."""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np
import pytest
from pretrain_fixtures import TINY_MODEL, schema_settings

from csmoe.cli import main
from csmoe.data.benv2 import load_pairs
from csmoe.errors import InputError
from csmoe.models.checkpoint import load
from csmoe.train.benv2_store import build_benv2_store, store_arrays
from csmoe.train.data import open_store

BENV2_MOCK = files("configilm") / "extra" / "mock_data" / "BENv2"
LAYOUT = {"chunk_patches": 2, "shard_patches": 4, "mix_patches": 4, "codec": "lz4"}
PARAMS = {"subset": "all", "split": "train", "val_fraction": 0.2, "batch_size": 4}


def test_store_holds_the_training_pairs_in_store_units(tmp_path):
    store, stats_path = tmp_path / "store.zarr", tmp_path / "stats.json"
    stats = build_benv2_store(BENV2_MOCK, store, stats_path, PARAMS, LAYOUT, seed=0)
    pairs = load_pairs(BENV2_MOCK, "all", "train")  # 6 real pairs
    assert stats["pairs_in"] == stats["patches_written"] == len(pairs.patch_ids) == 6
    assert stats["split"] == {"train": 5, "val": 1} and stats["patches_dropped"] == {"nonfinite": 0}
    assert json.loads(stats_path.read_text()) == stats
    import zarr

    group = zarr.open_group(str(store), mode="r")
    assert group["s2"].dtype == np.uint16 and group["s1"].dtype == np.float32
    # every pair is there once, unchanged: shuffled, so matched by its patch id
    names = [group.attrs["tiles"][i] for i in group["tile"][:]]
    assert sorted(names) == sorted(pairs.patch_ids)
    for j, name in enumerate(names):
        i = pairs.patch_ids.index(name)
        assert np.array_equal(group["s2"][j], pairs.s2[i].astype(np.uint16))
        assert np.array_equal(group["s1"][j], pairs.s1[i])
    # read by pretraining like a Major TOM store, with train-split statistics
    train, val, norm = open_store(store, stats_path)
    assert (len(train), len(val)) == (5, 1) and train[0]["s2"].shape == (10, 120, 120)
    assert norm == stats["band_stats"] and -30 < norm["s1"]["mean"][0] < 0


def test_pairs_with_a_non_finite_value_are_dropped():
    s1 = np.zeros((3, 2, 4, 4), np.float32)
    s2 = np.full((3, 10, 4, 4), 1234.4, np.float32)
    s1[1, 0, 2, 2] = np.nan
    s2[2, 3, 0, 0] = np.inf
    keep, s1_out, s2_out = store_arrays(s1, s2)
    assert keep.tolist() == [True, False, False] and s1_out.shape == (1, 2, 4, 4)
    assert s2_out.dtype == np.uint16 and s2_out.shape == (1, 10, 4, 4)
    assert s2_out[0, 0, 0, 0] == 1234  # rounded reflectance x 10 000


def test_empty_split_fails_clearly_and_writes_nothing(tmp_path):
    with pytest.raises(InputError, match="no patches in subset '14k'"):
        build_benv2_store(BENV2_MOCK, tmp_path / "s.zarr", tmp_path / "s.json",
                          {**PARAMS, "subset": "14k"}, LAYOUT, seed=0)  # fmt: skip
    assert not (tmp_path / "s.zarr").exists() and not (tmp_path / "s.json").exists()


def test_cli_builds_the_store_and_a_csmae_pretrains_on_it(tmp_path):
    store, stats = tmp_path / "benv2" / "store.zarr", tmp_path / "benv2" / "stats.json"
    args = ["pretrain", "benv2-store", "--benv2", str(BENV2_MOCK), f"--store={store}"]
    args += [f"--stats={stats}", "--params", json.dumps(PARAMS), "--layout", json.dumps(LAYOUT)]
    assert main(args) == 0 and store.is_dir()
    pretrain = {"epochs": 1, "ckpt_every": 1, "batch_size": 4, "micro_batch_size": 4}
    bundle = {
        "seed": 0,
        "variant": "csmae_benv2",
        "spec": {"model": "csmae", "train_set": "benv2"},
        "models": {"preset": "t", "presets": {"t": TINY_MODEL}},
        "pretrain": schema_settings(**pretrain, state_dir=str(tmp_path / "state")),
    }
    run = ["pretrain", "run", "--variant", "csmae_benv2", "--params", json.dumps(bundle)]
    run += [f"--store={store}", f"--stats={stats}", f"--out={tmp_path / 'out'}"]
    assert main(run) == 0
    _, cfg, _, extra = load(tmp_path / "out" / "final.safetensors")
    assert cfg.kind == "csmae" and extra["train_set"] == "benv2"  # evaluation records it
