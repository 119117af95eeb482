from __future__ import annotations

import sys

import pytest

from csmoe.errors import ConfigError
from csmoe.train.launch import (
    check_devices,
    launch_command,
    lease_gpus,
    slurm_node_command,
    srun_command,
)

CHILD = ["pretrain", "run", "--variant", "v"]


def _flag(cmd, name):
    return next(a.split("=", 1)[1] for a in cmd if a.startswith(f"--{name}="))


def test_local_launch_uses_torchrun_for_several_processes():
    cmd = launch_command(CHILD, num_processes=2, mixed_precision="no", port=12345)
    assert cmd[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert "--multi_gpu" in cmd and _flag(cmd, "num_processes") == "2"
    assert _flag(cmd, "main_process_port") == "12345"
    assert cmd[-len(CHILD) - 2 :] == ["-m", "csmoe.cli", *CHILD]
    single = launch_command(CHILD, num_processes=1, mixed_precision="bf16", port=1)
    assert "--multi_gpu" not in single and _flag(single, "mixed_precision") == "bf16"


def test_each_node_launches_its_share_of_a_multi_node_run():
    env = {"SLURM_NNODES": "4", "SLURM_NODEID": "2", "CSMOE_MAIN_PORT": "29999"}
    cmd = slurm_node_command(env, CHILD, gpus_per_node=8, main_ip="node001")
    assert _flag(cmd, "num_processes") == "32"  # all processes of all machines
    assert _flag(cmd, "num_machines") == "4" and _flag(cmd, "machine_rank") == "2"
    assert _flag(cmd, "main_process_ip") == "node001"
    assert _flag(cmd, "main_process_port") == "29999"
    with pytest.raises(ConfigError, match="srun"):
        slurm_node_command({}, CHILD, 8, "node001")


def test_srun_starts_one_task_per_node():
    cmd = srun_command(3, CHILD)
    assert cmd[:3] == ["srun", "--nodes=3", "--ntasks-per-node=1"]
    assert cmd[-len(CHILD) :] == CHILD


def test_more_processes_than_gpus_is_refused():
    with pytest.raises(ConfigError, match="2 GPU process"):
        check_devices(2, cpu=False, available_gpus=1)
    check_devices(2, cpu=True, available_gpus=0)  # CPU processes need no GPU


def test_parallel_jobs_lease_different_gpus(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with lease_gpus(2, 3, tmp_path) as first, lease_gpus(1, 3, tmp_path) as second:
        assert first == "0,1" and second == "2"
        with pytest.raises(ConfigError, match="could not lease"), lease_gpus(1, 3, tmp_path, 0):
            pass
    with lease_gpus(3, 3, tmp_path) as again:  # released on exit
        assert again == "0,1,2"


def test_a_given_gpu_set_is_respected(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    with lease_gpus(1, 8, tmp_path) as visible:
        assert visible is None
