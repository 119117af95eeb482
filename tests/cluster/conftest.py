"""Cluster tests need a running SLURM cluster: tests/cluster/slurm-up starts a one-node one
(installing Debian's packages when missing and root). Where it cannot, the tests are
skipped with its reason, never passed."""

from __future__ import annotations

import subprocess

import pytest
from cluster_fixtures import SLURM_UP


@pytest.fixture(scope="session")
def slurm() -> str:
    """The output of a successful tests/cluster/slurm-up."""
    done = subprocess.run([str(SLURM_UP)], capture_output=True, text=True, timeout=1200)
    if done.returncode == 3:
        pytest.skip(f"no SLURM cluster: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, f"tests/cluster/slurm-up failed:\n{done.stderr}"
    return done.stdout
