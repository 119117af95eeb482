"""The workflow as a user starts it: `.venv/bin/snakemake` without an activated venv, and
with another `csmoe` first on PATH (what `--sdm conda` does for each job)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tiles_fixtures import make_cells, make_world

from csmoe.config import REPO_ROOT

BARE_PATH = os.pathsep.join(["/usr/bin", "/bin"])  # a shell's tools, no `csmoe`
STORE = Path("results/patches/mtom_mu/stats.json")


def _patch_store(workdir: Path, path: str) -> subprocess.CompletedProcess:
    """Run the `patch_store` rule for mtom_mu in ``workdir`` with this venv's snakemake
    (called by its path, as `.venv/bin/snakemake`) and ``path`` as PATH."""
    snakemake = Path(sys.executable).with_name("snakemake")
    if not snakemake.exists():
        pytest.skip("snakemake not installed beside this Python")
    args = [str(STORE), "--allowed-rules", "patch_store", "--cores", "1", "-d", str(workdir),
            "-s", str(REPO_ROOT / "Snakefile"),
            "--configfile", str(REPO_ROOT / "config" / "config.yaml")]  # fmt: skip
    env = {**os.environ, "PATH": path}
    return subprocess.run([str(snakemake), *args], env=env, capture_output=True, text=True)


def test_rules_find_csmoe_beside_snakemake_without_activation(tmp_path):
    if shutil.which("csmoe", path=BARE_PATH):
        pytest.skip("a csmoe is installed system-wide: cannot test the fallback")
    make_world(tmp_path / "results" / "majortom" / "mtom_mu", make_cells(3))
    out = _patch_store(tmp_path, BARE_PATH)
    assert "command not found" not in out.stderr
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / STORE).exists()


def test_a_csmoe_on_path_still_wins(tmp_path):
    calls = tmp_path / "calls.txt"
    env_bin = tmp_path / "env" / "bin"  # like a conda env activated for a job
    env_bin.mkdir(parents=True)
    (env_bin / "csmoe").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    (env_bin / "csmoe").chmod(0o755)
    (tmp_path / "results" / "majortom" / "mtom_mu").mkdir(parents=True)
    _patch_store(tmp_path, os.pathsep.join([str(env_bin), BARE_PATH]))
    # the stand-in writes no output (the job then fails), but it is what ran, every time:
    # the rules and the onerror handler that explains the failure
    commands = [_command(line) for line in calls.read_text().splitlines()]
    assert commands == [["tracking", "init"], ["data", "extract"], ["cluster", "explain"]]


def _command(argv: str) -> list[str]:
    """The command group and command of a csmoe call, past its global options."""
    from csmoe.cli import GLOBAL_OPTIONS

    words = argv.split()
    while words[0] in GLOBAL_OPTIONS:  # each takes a value
        words = words[2:]
    return words[:2]


def test_snakemake_lint_finds_nothing():
    """The standard: every rule has a log and a conda env, no undeclared environment use."""
    snakemake = Path(sys.executable).with_name("snakemake")
    out = subprocess.run([str(snakemake), "--lint"], cwd=REPO_ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
