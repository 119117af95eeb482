"""Shared pieces of the cluster tests: the workflow in a scratch folder driven through
profiles/slurm, a tiny pretraining variant on a fixture patch store, what SLURM says a job got."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from csmoe.config import REPO_ROOT, validate_config
from csmoe.train.variants import variant_bundle

sys.path.insert(0, str(REPO_ROOT / "tests" / "train"))
from pretrain_fixtures import TINY_MODEL, make_store

PROFILE = REPO_ROOT / "profiles" / "slurm"
SLURM_UP = REPO_ROOT / "tests" / "cluster" / "slurm-up"
VENV_BIN = str(Path(sys.executable).parent)  # the jobs call `csmoe`: this environment's
# "Job 0 has been submitted with SLURM jobid 5 (log: /w/.snakemake/slurm_logs/rule_x/5.log)."
_SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: .*?/slurm_logs/rule_([^/]+)/")


def env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}


def tiny_overlay(**pretrain: Any) -> dict[str, Any]:
    """A config overlay (merged onto config/config.yaml like --configfile) with one tiny
    variant ``tiny`` on the mtom_r store; ``pretrain`` are its pretrain overrides."""
    settings = {
        "epochs": 1,
        "ckpt_every": 1,
        "batch_size": 8,
        "micro_batch_size": 4,
        "lr": 3e-3,
        "threads": 1,
        **pretrain,
    }
    return {
        "models": {"presets": {"t": TINY_MODEL}},
        "variants": {
            "tiny": {"model": "csmoe", "preset": "t", "train_set": "mtom_r", "pretrain": settings}
        },
    }


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = _merge(base[key], value) if both else value
    return out


class Workflow:
    """The repository's Snakefile run in ``root`` with ``--configfile test.yaml``."""

    def __init__(self, root: Path, overlay: dict[str, Any]) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "config").symlink_to(REPO_ROOT / "config")
        self.overlay = overlay
        (root / "test.yaml").write_text(yaml.safe_dump(overlay))
        self.store, self.stats = make_store(root / "results" / "patches" / "mtom_r", tiles=4)

    def config(self) -> dict[str, Any]:
        base = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())
        return validate_config(_merge(base, self.overlay))

    def bundle(self, variant: str = "tiny") -> dict[str, Any]:
        """What the pretraining rule passes as ``--params``."""
        return variant_bundle(self.config(), variant)

    def command(self, *targets: str, extra: tuple[str, ...] = ()) -> list[str]:
        return [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(REPO_ROOT / "Snakefile"),
            "--directory",
            str(self.root),
            "--profile",
            str(PROFILE),
            "--configfile",
            str(self.root / "test.yaml"),
            # first status check after 5 s, not 40: the test jobs are short
            "--slurm-init-seconds-before-status-checks",
            "5",
            *extra,
            *targets,
        ]

    def run(self, *targets: str, extra: tuple[str, ...] = (), timeout: float = 900) -> Run:
        done = subprocess.run(
            self.command(*targets, extra=extra),
            cwd=self.root,
            env=env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Run(done.returncode, done.stdout + done.stderr)

    def start(self, *targets: str, log: Path, extra: tuple[str, ...] = ()) -> subprocess.Popen:
        """Snakemake in the background, its output going to ``log`` (read it while it runs)."""
        with log.open("w") as out:
            return subprocess.Popen(
                self.command(*targets, extra=extra),
                cwd=self.root,
                env=env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )


class Run:
    def __init__(self, returncode: int, output: str) -> None:
        self.returncode, self.output = returncode, output

    def jobs(self, rule: str) -> list[str]:
        """SLURM job ids of the rule's submissions, in order."""
        return [job for job, r in _SUBMITTED.findall(self.output) if r == rule]


def job_info(job_id: str) -> dict[str, str]:
    """``scontrol show job``: what SLURM itself says the job asked for and got."""
    out = subprocess.run(
        ["scontrol", "show", "job", "--oneliner", job_id],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(re.findall(r"(\S+?)=(\S*)", out))


def minutes(slurm_time: str) -> int:
    """SLURM's [D-]HH:MM:SS as minutes."""
    days, _, hms = slurm_time.rpartition("-")
    h, m, s = (int(x) for x in hms.split(":"))
    return (int(days or 0) * 24 + h) * 60 + m + (s > 0)


def wait_for(predicate: Any, timeout: float, what: str, poll: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def pretrain_cli(bundle: dict[str, Any], store: Path, stats: Path, out: Path) -> list[str]:
    """``csmoe pretrain run`` as the rule runs it, writing to ``out`` (its state beside it)."""
    return [
        sys.executable,
        "-m",
        "csmoe.cli",
        "pretrain",
        "run",
        "--variant",
        bundle["variant"],
        "--params",
        json.dumps(bundle, sort_keys=True),
        f"--store={store}",
        f"--stats={stats}",
        f"--out={out}",
        f"--state={out}.state",
        "--cpu",
    ]
