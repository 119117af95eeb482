"""Damaged checkpoints (safetensors) given to the evaluation: one line naming the file, no
result written, the earlier results untouched."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from inject import CORRUPTIONS, assert_refused, corrupt, run_cli, snapshot, temporaries
from safetensors.torch import load_file, safe_open, save_file

from csmoe.config import validate_config


def _probe_args(checkpoint, out):
    params = validate_config({"targets": [], "mlflow": {}})["evaluation"]
    return [
        "evaluate",
        "probe",
        "--params",
        json.dumps(params),
        "--checkpoint",
        str(checkpoint),
        "--variant",
        "tiny",
        "--epoch",
        "final",
        "--geobench",
        str(out / "geobench"),
        "--tasks",
        "m-eurosat",
        "--out-dir",
        str(out),
    ]


def _rewrite(path, tensors=None, **metadata):
    """The checkpoint with some tensors or metadata entries replaced (a wrong type or shape)."""
    with safe_open(str(path), framework="pt") as handle:
        meta = {**handle.metadata(), **metadata}
    meta.pop("weights_sha256")  # as a writer that does not know the digest
    save_file({**load_file(str(path)), **(tensors or {})}, str(path), metadata=meta)


def _stats_with_nan(path):
    with safe_open(str(path), framework="pt") as handle:
        stats = json.loads(handle.metadata()["norm_stats"])
    stats["s2"]["std"][4] = float("nan")
    return json.dumps(stats)


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("truncated", ("not a readable safetensors file",)),
        ("flipped", ("weights do not match the checksum written with them",)),
        ("flipped header", ("not a readable safetensors file",)),
        ("empty", ("not a readable safetensors file",)),
        ("wrong shape", ("weights do not fit the stored config",)),
        ("wrong type", ("checkpoint metadata unusable",)),
        ("nan statistics", ("s2 std of B05 is nan (not finite)",)),
    ],
)
def test_damaged_checkpoint(trained, tmp_path, capsys, how, words):
    ckpt = tmp_path / "final.safetensors"
    shutil.copy(trained["out"] / "final.safetensors", ckpt)
    out = tmp_path / "probe"
    (out / "m-eurosat").mkdir(parents=True)
    (out / "m-eurosat" / "cls.json").write_text('{"test": 50.0}\n')  # an earlier good result
    before = snapshot(out)
    if how in CORRUPTIONS:
        corrupt(ckpt, how)
    elif how == "flipped header":
        corrupt(ckpt, "flipped", at=0.0, n=24)
    elif how == "wrong shape":
        weights = load_file(str(ckpt))
        name = next(k for k, v in weights.items() if v.ndim == 2)
        _rewrite(ckpt, {name: torch.zeros(weights[name].shape[0] + 1, weights[name].shape[1])})
    elif how == "wrong type":
        _rewrite(ckpt, extra='["variant", "tiny"]')
    elif how == "nan statistics":
        _rewrite(ckpt, norm_stats=_stats_with_nan(ckpt))
    outcome = run_cli(_probe_args(ckpt, out), capsys)
    assert_refused(outcome, ckpt, *words)
    assert snapshot(out) == before and not temporaries(tmp_path)
