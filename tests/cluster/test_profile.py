"""profiles/slurm on a real (one-node, accounting-free, SLURM 22.05) cluster: jobs finish
and are noticed, the profile's and the config's resources reach SLURM, failures say why."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from cluster_fixtures import PROFILE, SLURM_UP, Workflow, job_info, minutes, tiny_overlay

from csmoe.config import REPO_ROOT

pytestmark = pytest.mark.cluster

PRETRAIN_OUTPUTS = ("ckpt_epoch1.safetensors", "final.safetensors", "history.csv")


def test_slurm_up_is_idempotent_and_describes_this_machine(slurm):
    again = subprocess.run([str(SLURM_UP)], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "idle" in again.stdout + slurm
    nodes = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%P %c %m"], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    rows = [line.split() for line in nodes if line]
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    paper = yaml.safe_load((REPO_ROOT / "config" / "paper.yaml").read_text())
    # every partition the profile and the paper config name
    wanted = {
        profile["default-resources"]["slurm_partition"],
        paper["pretrain"]["resources"]["slurm_partition"],
    }
    assert wanted <= {p.rstrip("*") for p, _, _ in rows}
    total_kb = int(Path("/proc/meminfo").read_text().split()[1])
    for _, cpus, mem_mb in rows:
        assert int(cpus) == os.cpu_count()
        assert 0.9 * total_kb / 1024 <= int(mem_mb) <= total_kb / 1024


def test_profile_run_finishes_and_applies_default_profile_and_config_resources(slurm, tmp_path):
    # sampling on a narrow band of the real grid (default resources, then the profile's
    # set-resources for sampling_ga) and a pretraining job (pretrain.resources)
    resources = {"slurm_partition": "gpu", "runtime": 7, "mem_mb": 3000, "cpus_per_task": 2}
    overlay = tiny_overlay(resources=resources)
    overlay["sampling"] = {
        "lat_range": [44, 46],
        "workers": 1,
        "ga": {"generations": 2, "population": 4},
    }
    flow = Workflow(tmp_path, overlay)
    started = time.monotonic()
    run = flow.run("results/sampling/mtom_mu.parquet", "results/pretrain/tiny/final.safetensors")
    assert run.returncode == 0, run.output[-4000:]
    assert time.monotonic() - started < 600  # noticed, not hanging on sacct
    assert (tmp_path / "results/sampling/mtom_mu.parquet").exists()

    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    defaults = profile["default-resources"]
    expected = {
        "sampling_archive": {**defaults, "cpus": 1},
        "sampling_ga": {**defaults, **profile["set-resources"]["sampling_ga"], "cpus": 1},
        "pretrain_tiny": {**resources, "cpus": resources["cpus_per_task"]},
    }
    for rule, want in expected.items():
        (job,) = run.jobs(rule)
        got = job_info(job)
        assert got["JobState"] == "COMPLETED", (rule, got)
        assert got["Partition"] == want["slurm_partition"], rule
        assert minutes(got["TimeLimit"]) == want["runtime"], rule
        assert got["MinMemoryNode"] == f"{want['mem_mb']}M", rule
        assert int(got["NumCPUs"]) == want["cpus"], rule
    assert "No wall time information given" not in run.output


@pytest.mark.parametrize(
    ("resources", "says"),
    [
        ({"slurm_partition": "nope"}, "(not submitted): SLURM refused it: partition 'nope'"),
        ({"mem_mb": 10**8}, "(not submitted): SLURM refused it: it asks for more memory"),
        ({"mem_mb": 200}, "killed by SLURM for memory: it used"),
    ],
    ids=["no-such-partition", "more-memory-than-the-node", "killed-for-memory"],
)
def test_bad_resources_fail_clearly_and_leave_no_output(slurm, tmp_path, resources, says):
    flow = Workflow(tmp_path, tiny_overlay(resources={"runtime": 5, **resources}))
    run = flow.run("results/pretrain/tiny/final.safetensors", extra=("--retries", "0"))
    assert run.returncode != 0
    (line,) = [ln for ln in run.output.splitlines() if ln.startswith("csmoe: rule pretrain_tiny")]
    assert says in line, line
    if "killed" in says:  # the rule, the job id and its logs, which exist
        (job,) = run.jobs("pretrain_tiny")
        assert f"rule pretrain_tiny (SLURM job {job}):" in line
        logs = line.split("; logs: ")[1].split(", ")
        assert any(log.endswith(f"/{job}.log") for log in logs)
        assert all((tmp_path / log).exists() for log in logs)
    out = tmp_path / "results" / "pretrain" / "tiny"
    assert not out.exists() or not any(out.iterdir())  # nothing half-written
