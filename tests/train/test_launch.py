from __future__ import annotations

import sys

import pytest

from csmoe.errors import ConfigError
from csmoe.train.launch import (
    PORT_BASE,
    check_devices,
    launch_command,
    lease_gpus,
    machine_command,
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


def test_each_machine_rank_launches_its_share_of_a_multi_node_run():
    env = {"SLURM_NTASKS": "4", "SLURM_PROCID": "2", "CSMOE_MAIN_PORT": "29999"}
    cmd = machine_command(
        env, CHILD, processes_per_machine=8, machines=4, main_ip="node001", cpu=False
    )
    assert _flag(cmd, "num_processes") == "32"  # all processes of all machines
    assert _flag(cmd, "num_machines") == "4" and _flag(cmd, "machine_rank") == "2"
    assert _flag(cmd, "main_process_ip") == "node001"
    assert _flag(cmd, "main_process_port") == "29999"
    assert _flag(cmd, "mixed_precision") == "bf16"
    with pytest.raises(ConfigError, match="srun"):
        machine_command({}, CHILD, processes_per_machine=8, machines=4, main_ip="n", cpu=False)


def test_cpu_machine_ranks_share_a_port_derived_from_the_job():
    ranks = [
        machine_command(
            {"SLURM_NTASKS": "2", "SLURM_PROCID": str(r), "SLURM_JOB_ID": "12345"},
            CHILD,
            processes_per_machine=1,
            machines=2,
            main_ip="vm",
            cpu=True,
        )
        for r in (0, 1)
    ]
    assert {_flag(c, "main_process_port") for c in ranks} == {str(PORT_BASE + 2345)}
    assert [_flag(c, "machine_rank") for c in ranks] == ["0", "1"]
    assert all(_flag(c, "mixed_precision") == "no" and "--multi_gpu" in c for c in ranks)


def test_a_step_with_another_task_count_is_refused():
    env = {"SLURM_NTASKS": "1", "SLURM_PROCID": "0"}  # e.g. under `srun -n1`
    with pytest.raises(ConfigError, match="nodes = 2 but this srun step has 1 task"):
        machine_command(env, CHILD, processes_per_machine=1, machines=2, main_ip="n", cpu=True)


def test_srun_starts_one_task_per_machine_rank():
    cmd = srun_command(3, 3, CHILD)
    assert cmd[:5] == [
        "srun",
        "--nodes=3",
        "--ntasks=3",
        "--ntasks-per-node=1",
        "--kill-on-bad-exit=1",
    ]
    assert cmd[-len(CHILD) :] == CHILD
    # a one-node allocation hosts both ranks of a two-machine run
    assert srun_command(2, 1, CHILD)[1:4] == ["--nodes=1", "--ntasks=2", "--ntasks-per-node=2"]


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
