"""A pretraining job killed by SLURM at its time limit is resubmitted (profile retries) and
resumes; one cancelled with scancel resumes when Snakemake is rerun; either way it ends with
the weights of an uninterrupted run, bit for bit (``patches`` loader)."""

from __future__ import annotations

import math
import subprocess

import pandas as pd
import pytest
import torch
from cluster_fixtures import Run, Workflow, env, job_info, pretrain_cli, tiny_overlay, wait_for
from safetensors.torch import load_file

pytestmark = pytest.mark.cluster

TARGET = "results/pretrain/tiny/final.safetensors"
TRAINING_S = 100  # uninterrupted: longer than one 1-min attempt, so that SLURM kills one


def _seconds_per_epoch(flow: Workflow, tmp_path) -> float:
    """Measured now, on this machine and its load, so the run lasts about TRAINING_S."""
    bundle = flow.bundle()
    bundle["spec"]["pretrain"] = {**bundle["spec"]["pretrain"], "epochs": 6, "ckpt_every": 6}
    out = tmp_path / "calibration"
    done = subprocess.run(
        pretrain_cli(bundle, flow.store, flow.stats, out), env=env(), capture_output=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return float(pd.read_csv(out / "history.csv")["epoch_s"].mean()) * 1.3  # + validation


def test_walltime_kill_and_scancel_resume_to_the_weights_of_an_uninterrupted_run(slurm, tmp_path):
    probe = Workflow(tmp_path / "probe", tiny_overlay(state_every_steps=1))
    epochs = max(20, math.ceil(TRAINING_S / _seconds_per_epoch(probe, tmp_path)))
    overlay = tiny_overlay(
        epochs=epochs,
        ckpt_every=epochs,
        state_every_steps=1,
        resources={"runtime": 1, "mem_mb": 2000},  # SLURM's shortest time limit
    )
    flow = Workflow(tmp_path / "flow", overlay)
    reference_log = tmp_path / "reference.log"
    with reference_log.open("w") as out:  # a file, not a pipe nobody reads while it runs
        reference = subprocess.Popen(
            pretrain_cli(flow.bundle(), flow.store, flow.stats, tmp_path / "reference"),
            env=env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    # 1. SLURM kills attempt 1 at its time limit; Snakemake resubmits it (retries); we
    #    scancel attempt 2 once it has trained; no retries are left, so Snakemake stops
    log = tmp_path / "first.log"
    first = flow.start(TARGET, log=log, extra=("--retries", "1"))
    state = flow.root / "results/.state/pretrain/tiny/state.pt"
    ids = wait_for(lambda: _submitted(log, 2), 600, "Snakemake to resubmit the killed job")
    killed_at = torch.load(state, weights_only=True)["progress"]["epoch"]
    assert 0 < killed_at < epochs  # attempt 1 was killed mid-training, after saving state
    wait_for(
        lambda: torch.load(state, weights_only=True)["progress"]["epoch"] > killed_at,
        300,
        "attempt 2 to resume and train",
    )
    subprocess.run(["scancel", ids[1]], check=True)
    assert first.wait(timeout=600) != 0
    output = log.read_text()
    assert job_info(ids[0])["JobState"] == "TIMEOUT"
    assert job_info(ids[1])["JobState"] == "CANCELLED"
    assert f"rule pretrain_tiny (SLURM job {ids[0]}): killed by SLURM at its time limit" in output
    assert f"rule pretrain_tiny (SLURM job {ids[1]}): cancelled" in output
    assert not (flow.root / TARGET).exists()

    # 2. the rerun resumes (more 1-min attempts as needed) and finishes
    rerun = flow.run(TARGET, extra=("--retries", "10"))
    assert rerun.returncode == 0, rerun.output[-4000:]
    assert reference.wait(timeout=900) == 0, reference_log.read_text()[-3000:]
    got = load_file(str(flow.root / TARGET))
    want = load_file(str(tmp_path / "reference" / "final.safetensors"))
    assert got.keys() == want.keys()
    assert all(torch.equal(got[k], want[k]) for k in want)  # bit for bit
    history = pd.read_csv(flow.root / "results/pretrain/tiny/history.csv")
    assert history["epoch"].tolist() == list(range(1, epochs + 1))


def _submitted(log, count: int) -> list[str] | None:
    ids = Run(0, log.read_text()).jobs("pretrain_tiny")
    return ids if len(ids) >= count else None
