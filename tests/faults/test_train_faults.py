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
