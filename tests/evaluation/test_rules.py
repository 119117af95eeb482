"""The evaluation and report rules: `results/table4.csv` pulls in the whole evaluation."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from csmoe.config import REPO_ROOT


def test_table4_builds_every_evaluation(tmp_path):
    snakemake = shutil.which("snakemake") or str(Path(sys.executable).with_name("snakemake"))
    if not Path(snakemake).exists():
        pytest.skip("snakemake not installed")
    out = subprocess.run(
        [
            snakemake,
            "results/table4.csv",
            "-n",
            "--quiet",
            "rules",
            "--cores",
            "1",
            "-s",
            str(REPO_ROOT / "Snakefile"),
            "-d",
            str(tmp_path),
            "--configfile",
            str(REPO_ROOT / "config" / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", out.stdout + out.stderr, re.M))
    # 4 Table IV variants + 3 more sweep checkpoints of csmoe_p16; 5 CBIR variants
    assert counts["probe"] == "7" and counts["cbir"] == "5"
    for rule in ("table4", "table5", "table6", "fig5", "fig8"):
        assert counts[rule] == "1"
