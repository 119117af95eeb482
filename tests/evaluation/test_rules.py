"""The evaluation and report rules: `results/table4.csv` pulls in the whole evaluation."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from csmoe.config import REPO_ROOT


def _dry_run_counts(tmp_path, *configfiles, targets=("results/table4.csv",)):
    """Jobs per rule Snakemake would run for ``targets`` (() = the default) in an empty
    folder, with ``configfiles`` merged onto config.yaml."""
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
            *(str(REPO_ROOT / "config" / name) for name in ("config.yaml", *configfiles)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(re.findall(r"^(\w+)\s+(\d+)$", out.stdout + out.stderr, re.M))


def test_table4_builds_every_evaluation(tmp_path):
    counts = _dry_run_counts(tmp_path)
    # 5 Table IV variants (the BENv2 CSMAE included) + 3 more sweep checkpoints of csmoe_p16
    # + the random-sample variant; 5 Table VI variants + the random-sample variant
    assert counts["probe"] == "9" and counts["cbir"] == "6"
    for rule in ("table4", "table5", "table6", "table_sampling", "fig5", "fig8"):
        assert counts[rule] == "1"
    assert counts["pretrain_csmoe_p16_random"] == counts["pretrain_csmae_benv2"] == "1"
    assert counts["benv2_train_store"] == "1"


def test_paper_scale_sweeps_its_own_800_epoch_run(tmp_path):
    counts = _dry_run_counts(tmp_path, "paper.yaml")
    # 5 Table IV variants + 16 checkpoints (50..800) of csmoe_p16_sweep + the ablation
    assert counts["probe"] == "22" and counts["cbir"] == "6"
    assert counts["pretrain_csmoe_p16_sweep"] == counts["pretrain_csmoe_p16"] == "1"


def test_the_rehearsal_builds_every_table_figure_and_variant_from_table4(tmp_path):
    import yaml

    counts = _dry_run_counts(tmp_path, "rehearsal.yaml")
    rehearsal = yaml.safe_load((REPO_ROOT / "config" / "rehearsal.yaml").read_text())
    for variant in rehearsal["variants"]:
        assert counts[f"pretrain_{variant}"] == "1", variant
    for rule in ("table1", "sampling_table2", "sampling_fig3", "table4", "table5", "table6"):
        assert counts[rule] == "1", rule
    for rule in ("table_sampling", "fig5", "fig8", "table_knn", "comparisons"):
        assert counts[rule] == "1", rule
    # 5 Table IV variants + 3 checkpoints of csmoe_p16_sweep + the random-sample variant, and
    # for report.comparisons csmae probed and csmae_benv2 retrieving
    assert counts["probe"] == "10" and counts["cbir"] == "7"


def test_default_target_adds_knn_comparisons_and_report_views(tmp_path):
    counts = _dry_run_counts(tmp_path, targets=())
    # beyond Table IV's: csmae is probed and csmae_benv2 retrieves, for report.comparisons
    assert counts["probe"] == "10" and counts["cbir"] == "7"
    for rule in ("table_knn", "comparisons", "view_table1", "view_table_sampling", "view_fig5"):
        assert counts[rule] == "1"
    assert sum(1 for r in counts if r.startswith("view_")) == 9
