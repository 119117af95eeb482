"""The Snakemake report of a real (small) run holds every table and figure the run built.

The whole workflow runs in a temporary folder on a shrunken copy of the default config (two
variants, a few samples per task, short trainings): sampling on the real grid, mini world,
pretraining, probing with seeds, kNN, CBIR, bootstrap intervals, comparisons, then
``snakemake --report``. The slowest test of the suite, and the only one that runs the rules.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from csmoe.config import REPO_ROOT

VARIANTS = {
    "csmoe_p32": {"model": "csmoe", "patch_size": 32, "train_set": "mtom_mu"},
    "csmoe_p16": {"model": "csmoe", "patch_size": 16, "train_set": "mtom_mu"},
}


def _small_config() -> dict:
    config = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())
    sampling = config["sampling"]
    sampling["target_per_stratum"] = 5
    sampling["ga"].update(generations=2, population=4, pool_factor=5)
    sampling["table2"].update(exact_pairs_max=500, pair_sample=20000)
    config["data"]["sets"] = ["mtom_mu"]
    config["data"]["world"]["max_tiles"] = 24
    config["downstream"]["geobench"]["samples"] = {"train": 24, "valid": 8, "test": 16}
    config["downstream"]["benv2"]["samples"] = {"train": 10, "validation": 30, "test": 60}
    config["models"]["presets"]["tiny"]["img_size"] = 64
    config["models"]["table1"]["verify"] = False
    config["variants"] = VARIANTS
    config["pretrain"].update(epochs=2, ckpt_every=1, patches_per_epoch=32)
    ev = config["evaluation"]
    ev.update(seeds=2, table4_variants=list(VARIANTS), cbir_variants=list(VARIANTS))
    ev.update(table5_variant="csmoe_p32", sweep_variant="csmoe_p16")
    ev["bootstrap"]["resamples"] = 200
    ev["knn"]["k"] = [3, 5]
    ev["linear"]["epochs"] = 5
    ev["upernet"].update(epochs=1, channels=8, scales=[1, 0.5], pool_bins=[1, 2])
    ev["cbir"]["k"] = 3
    # no sampling ablation: it would need a second training set (another store, another run)
    ev["sampling_variants"] = []
    config["targets"] = [t for t in config["targets"] if "table_sampling" not in t]
    report = config["report"]
    report["table4_requires"] = [t for t in report["table4_requires"] if "sampling" not in t]
    report["comparisons"] = [
        {"a": "csmoe_p16", "b": "csmoe_p32"},
        {"a": "csmoe_p16", "b": "csmoe_p16"},
    ]
    return config


def _embedded(page: str) -> dict[str, dict]:
    """Path -> entry (caption, bytes) of every result embedded in a Snakemake report."""
    found = re.search(r'<script id="results">\s*var results = (.*?);\s*</script>', page, re.S)
    assert found, "no results in the report"
    return {
        path: {
            "caption": " ".join(entry["caption"].split()),
            "bytes": base64.b64decode(entry["data_uri"].split("base64,", 1)[1]),
        }
        for path, entry in json.loads(found.group(1)).items()
    }


def test_report_of_a_small_run_holds_every_table_and_figure(tmp_path):
    snakemake = shutil.which("snakemake") or str(Path(sys.executable).with_name("snakemake"))
    if not Path(snakemake).exists():
        pytest.skip("snakemake not installed")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(_small_config()))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    base = [snakemake, "-s", str(REPO_ROOT / "Snakefile"), "-d", str(tmp_path), "--cores", "2"]
    run = subprocess.run(base, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    report = tmp_path / "report.html"
    made = subprocess.run([*base, "--report", str(report)], env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr[-3000:]

    results = tmp_path / "results"
    embedded = _embedded(report.read_text())
    figures = sorted(results.glob("fig*.png")) + sorted(results.glob("pretrain/*/loss_curve.png"))
    assert len(figures) == 5 + len(VARIANTS)  # Figs. 3, 5, 6, 7, 8 and one curve per variant
    tables = sorted(results.glob("*.csv"))
    assert {t.stem for t in tables} == {
        "table1",
        "table2",
        "table4",
        "table5",
        "table6",
        "fig5",
        "table_knn",
        "comparisons",
    }
    views = [results / "report" / f"{t.stem}.html" for t in tables]
    assert set(embedded) == {str(p.relative_to(tmp_path)) for p in (*figures, *views)}
    for figure in figures:
        assert embedded[str(figure.relative_to(tmp_path))]["bytes"] == figure.read_bytes()
    for table in tables:
        view = embedded[f"results/report/{table.stem}.html"]
        # rendered as an HTML table, one row per CSV row, with the CSV itself inside
        page = view["bytes"].decode()
        assert page.count("<tr") == len(pd.read_csv(table)) + 1
        link = re.search(r'href="data:text/csv;base64,([^"]+)"', page).group(1)
        assert base64.b64decode(link) == table.read_bytes()
    # every item has a caption, rendered with the run's settings
    assert all(len(entry["caption"]) > 100 for entry in embedded.values())
    assert "mean over 2 head seeds" in embedded["results/report/table4.html"]["caption"]

    # the run's numbers carry their uncertainty
    t4 = pd.read_csv(results / "table4.csv")
    for task in ("m-eurosat", "m-cashew-plant"):
        assert (t4[f"{task}_ci_low"] <= t4[task]).all() and (
            t4[task] <= t4[f"{task}_ci_high"]
        ).all()
    comp = pd.read_csv(results / "comparisons.csv")
    itself = comp[comp["a"] == comp["b"]]
    assert len(itself) and (itself[["diff", "diff_ci_low", "diff_ci_high"]] == 0).all().all()
    record = json.loads((results / "probe/csmoe_p16/final/m-eurosat/cls.json").read_text())
    assert len(record["test_seeds"]) == 2
