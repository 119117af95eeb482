"""The evaluation and report rules: `results/table4.csv` pulls in the whole evaluation."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from csmoe.config import REPO_ROOT


def _dry_run_counts(tmp_path, *targets):
    """Jobs per rule that Snakemake would run for ``targets`` in an empty folder."""
    snakemake = shutil.which("snakemake") or str(Path(sys.executable).with_name("snakemake"))
    if not Path(snakemake).exists():
        pytest.skip("snakemake not installed")
    out = subprocess.run(
        [
            snakemake,
            *targets,
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
    return dict(re.findall(r"^(\w+)\s+(\d+)$", out.stdout + out.stderr, re.M))


def test_table4_builds_every_evaluation(tmp_path):
    counts = _dry_run_counts(tmp_path, "results/table4.csv")
    # 4 Table IV variants + 3 more sweep checkpoints of csmoe_p16; 5 CBIR variants
    assert counts["probe"] == "7" and counts["cbir"] == "5"
    for rule in ("table4", "table5", "table6", "fig5", "fig8"):
        assert counts[rule] == "1"


def test_default_target_adds_knn_comparisons_and_report_views(tmp_path):
    counts = _dry_run_counts(tmp_path)
    # the compared variants csmae and csmoe_p16_random are probed too; p16_random retrieves
    assert counts["probe"] == "9" and counts["cbir"] == "6"
    for rule in ("table_knn", "comparisons", "view_table1", "view_table2", "view_fig5"):
        assert counts[rule] == "1"
    assert sum(1 for r in counts if r.startswith("view_")) == 8
