"""pretrain.nodes: 2 for real: the batch script's `csmoe pretrain run` starts two SLURM tasks
with srun, each an `accelerate launch` machine rank, talking gloo; on this one-node cluster
both tasks share the node. They train what one process trains (``patches`` loader)."""

from __future__ import annotations

import shlex
import subprocess

import pytest
import torch
from cluster_fixtures import Workflow, env, pretrain_cli, tiny_overlay
from safetensors.torch import load_file

pytestmark = pytest.mark.cluster


def test_two_machine_ranks_as_slurm_tasks_match_one_process(slurm, tmp_path):
    flow = Workflow(tmp_path / "flow", tiny_overlay(epochs=2, ckpt_every=2))
    one = flow.bundle()
    done = subprocess.run(
        pretrain_cli(one, flow.store, flow.stats, tmp_path / "one"), env=env(), capture_output=True
    )
    assert done.returncode == 0, done.stderr[-3000:]

    two = flow.bundle()
    two["pretrain"] = {**two["pretrain"], "nodes": 2}
    cmd = pretrain_cli(two, flow.store, flow.stats, tmp_path / "two")
    log = tmp_path / "two.log"
    job = subprocess.run(
        [
            "sbatch",
            "--wait",  # until the job ends; its exit status is the job's
            "--parsable",
            "--nodes=1",
            "--ntasks=2",
            "--cpus-per-task=1",
            "--mem=4000",
            "--time=15",
            f"--output={log}",
            f"--wrap={shlex.join(cmd)}",
        ],
        env=env(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    text = log.read_text()
    assert job.returncode == 0, text[-4000:]
    # the batch script started two srun tasks, machine ranks 0 and 1 of one training, whose
    # main process alone reports the epochs
    assert "starting 2 machine ranks: srun --nodes=1 --ntasks=2 --ntasks-per-node=2" in text
    for rank in (0, 1):
        assert f"starting machine rank {rank} of 2 (1 process(es))" in text
    assert text.count("tiny epoch 2/2 done") == 1
    got = load_file(str(tmp_path / "two" / "final.safetensors"))
    want = load_file(str(tmp_path / "one" / "final.safetensors"))
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=1e-4, atol=1e-6, msg=key)
