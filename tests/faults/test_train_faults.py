"""Damaged pretraining inputs (stats.json, the saved training state): one line naming the
file, the earlier outputs untouched, nothing half-written left behind."""

from __future__ import annotations

import json
import math
import shutil

import pytest
from inject import CORRUPTIONS, assert_refused, corrupt, run_cli, snapshot, temporaries
from jobs import pretrain_args


def _damaged_stats(stats, tmp_path, how):
    path = tmp_path / "stats.json"
    shutil.copy(stats, path)
    if how in CORRUPTIONS:
        corrupt(path, how)
        return path
    data = json.loads(path.read_text())
    band = data["band_stats"]
    if how == "wrong type":
        data["band_stats"] = [band["s1"], band["s2"]]
    elif how == "wrong shape":
        band["s2"]["std"] = band["s2"]["std"][:9]
    elif how == "nan":
        band["s1"]["mean"][1] = math.nan
    elif how == "zero std":
        band["s2"]["std"][0] = 0.0
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("truncated", ("no band_stats in this JSON",)),
        ("flipped", ()),  # invalid JSON, or numbers that no longer match the store's
        ("empty", ("no band_stats in this JSON",)),
        ("wrong type", ("band statistics are a list",)),
        ("wrong shape", ("s2 std must list 10 numbers",)),
        ("nan", ("s1 mean of VH is nan (not finite)",)),
        ("zero std", ("s2 std of B02 is 0.0 (not positive)",)),
    ],
)
def test_damaged_statistics(patch_store, trained, tmp_path, capsys, how, words):
    store, stats = patch_store
    out = tmp_path / "out"
    shutil.copytree(trained["out"], out)  # the outputs of an earlier good run
    before = snapshot(out)
    bad = _damaged_stats(stats, tmp_path, how)
    outcome = run_cli(pretrain_args(store, bad, out, tmp_path / "state"), capsys)
    assert_refused(outcome, bad, *words)
    assert snapshot(out) == before and not temporaries(tmp_path)


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_damaged_training_state(patch_store, trained, tmp_path, capsys, how):
    store, stats = patch_store
    out, state = tmp_path / "out", tmp_path / "state"
    shutil.copytree(trained["out"], out)
    shutil.copytree(trained["state"], state)
    before = snapshot(out)
    corrupt(state / "state.pt", how)
    outcome = run_cli(pretrain_args(store, stats, out, state), capsys)
    assert_refused(outcome, state / "state.pt", "training state unreadable", "delete it")
    assert snapshot(out) == before and not temporaries(tmp_path)


@pytest.mark.parametrize("workers", [0, 1])
def test_damaged_store_chunk_fails_mid_epoch_naming_its_shard(
    patch_store, trained, tmp_path, capsys, workers
):
    # the first chunk is intact (the store opens and its first patch reads); the second one
    # fails its CRC when the epoch reaches it
    store, stats = patch_store
    copy = tmp_path / "store.zarr"
    shutil.copytree(store, copy)
    shard = copy / "s2" / "c" / "0" / "0" / "0" / "0"
    corrupt(shard, "flipped", at=0.75, n=16)
    out = tmp_path / "out"
    shutil.copytree(trained["out"], out)
    before = snapshot(out)
    argv = pretrain_args(copy, stats, out, tmp_path / "state", num_workers=workers)
    outcome = run_cli(argv, capsys)
    assert_refused(outcome, shard, "unreadable", "rebuild it")
    assert snapshot(out) == before and not temporaries(tmp_path)


STORE_ATTRS = {
    "truncated": "not a zarr group",
    "flipped": "",  # invalid JSON, or statistics that no longer match stats.json
    "empty": "not a zarr group",
    "wrong type": "band statistics are a list",
}


@pytest.mark.parametrize("how", STORE_ATTRS)
def test_damaged_store_attributes(patch_store, tmp_path, capsys, how):
    store, stats = patch_store
    copy = tmp_path / "store.zarr"
    shutil.copytree(store, copy)
    attrs = copy / "zarr.json"
    if how in CORRUPTIONS:
        corrupt(attrs, how, **({"at": 0.3, "n": 8} if how == "flipped" else {}))
    else:
        meta = json.loads(attrs.read_text())
        band = meta["attributes"]["band_stats"]
        meta["attributes"]["band_stats"] = [band["s1"], band["s2"]]
        attrs.write_text(json.dumps(meta))
    outcome = run_cli(pretrain_args(copy, stats, tmp_path / "out", tmp_path / "state"), capsys)
    where = stats if "differ" in outcome.last_line else copy
    assert_refused(outcome, where, STORE_ATTRS[how])
    assert not (tmp_path / "out").exists() and not temporaries(tmp_path)
