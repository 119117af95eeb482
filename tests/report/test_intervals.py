from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from result_fixtures import write_cbir, write_probe

from csmoe.cli import main
from csmoe.report.collect import cbir_frame, probe_frame
from csmoe.report.intervals import add_intervals

CLASSIF = ("m-bigearthnet", "m-brick-kiln", "m-so2sat", "m-eurosat")
SEG = ("m-cashew-plant", "m-SA-crop-type")


def _spread_columns_hold(table, cells, sources):
    """Every score cell has its std / interval beside it, and they are the results'."""
    for cell in cells:
        at = list(table.columns).index(cell)
        assert list(table.columns)[at + 1 : at + 4] == [
            f"{cell}_std",
            f"{cell}_ci_low",
            f"{cell}_ci_high",
        ]
        assert (table[f"{cell}_ci_low"] <= table[cell]).all()
        assert (table[cell] <= table[f"{cell}_ci_high"]).all()
    for source, row in sources:
        record = json.loads(Path(source).read_text())
        assert row[f"{record['task']}_std"] == pytest.approx(np.std(record["test_seeds"], ddof=1))


def test_table4_gets_std_and_interval_beside_each_score(tmp_path):
    paths = []
    for variant, patch, quality in (("csmoe_p16", 16, 0.7), ("csmoe_p32", 32, 0.8)):
        for task in CLASSIF:
            paths.append(
                write_probe(tmp_path, variant, "final", task, "cls", quality=quality, patch=patch)
            )
            # another strategy on the same task: not Table IV's, must not be mixed in
            paths.append(
                write_probe(tmp_path, variant, "final", task, "avg_all", quality=0.3, patch=patch)
            )
        for task in SEG:
            paths.append(
                write_probe(
                    tmp_path,
                    variant,
                    "final",
                    task,
                    "upernet",
                    quality=quality,
                    patch=patch,
                    segmentation=True,
                )
            )
    out = tmp_path / "table4.csv"
    args = ["report", "table4", "--params", "{}", "--inputs", *paths, "--out", str(out)]
    fig6, fig7 = tmp_path / "fig6.png", tmp_path / "fig7.png"
    assert main([*args, "--fig6", str(fig6), "--fig7", str(fig7)]) == 0
    table = pd.read_csv(out)
    rows = table.set_index("variant")
    cls_sources = [(p, rows.loc[p.split("/")[-4]]) for p in paths if p.endswith("/cls.json")]
    _spread_columns_hold(table, [*CLASSIF, *SEG], cls_sources)
    assert table["paper_gflops"].notna().any() and "paper_gflops_std" not in table
    assert fig6.stat().st_size > 1000 and fig7.exists()


def test_table6_intervals_and_table5_per_strategy(tmp_path):
    cbir = [
        write_cbir(tmp_path, v, s, quality=q, kind=k)
        for v, q, k in (("csmae", 0.6, "csmae"), ("p16", 0.5, "csmoe"))
        for s in ("benv2_14k", "benv2_243k")
    ]
    out = tmp_path / "table6.csv"
    assert main(["report", "table6", "--params", "{}", "--inputs", *cbir, "--out", str(out)]) == 0
    table = pd.read_csv(out).set_index("variant")
    record = json.loads(Path(cbir[0]).read_text())["pairs"]["s2s1"]
    assert table.loc["csmae", "benv2_14k_s2s1"] == pytest.approx(record["f1"])
    assert table.loc["csmae", "benv2_14k_s2s1_ci_low"] == pytest.approx(record["f1_ci_low"])
    assert table["benv2_243k_s1s2_std"].isna().all()  # retrieval has no seeds
    assert (table["benv2_14k_s1s1_ci_low"] < table["benv2_14k_s1s1"]).all()

    probes = [
        write_probe(tmp_path, "p32", "final", t, s, quality=q)
        for t in CLASSIF
        for s, q in (("cls", 0.8), ("avg_all", 0.6))
    ]
    out5 = tmp_path / "table5.csv"
    args = ["report", "table5", "--params", "{}", "--inputs", *probes, "--variant", "p32"]
    assert main([*args, "--out", str(out5)]) == 0
    t5 = pd.read_csv(out5).set_index("strategy")
    assert (t5["m-eurosat_ci_low"] <= t5["m-eurosat"]).all() and t5["m-so2sat_std"].notna().all()


def test_knn_table_rows_per_variant_and_k(tmp_path):
    paths = [
        write_probe(tmp_path, v, "final", t, f"knn{k}", quality=q, seeds=1, patch=p)
        for v, p, q in (("p16", 16, 0.6), ("p32", 32, 0.7))
        for t in CLASSIF
        for k in (5, 20)
    ]
    out = tmp_path / "table_knn.csv"
    assert main(["report", "knn", "--params", "{}", "--inputs", *paths, "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(zip(table["variant"], table["k"], strict=True)) == [
        ("p32", 5),
        ("p32", 20),
        ("p16", 5),
        ("p16", 20),
    ]
    assert table["m-eurosat_std"].isna().all()  # kNN: nothing seeded
    assert (table["m-eurosat_ci_low"] <= table["m-eurosat"]).all()


def test_add_intervals_refuses_a_table_that_is_not_the_results():
    long = pd.DataFrame(
        {
            "variant": ["a"],
            "cell": ["t"],
            "score": [1.0],
            "std": [0.1],
            "ci_low": [0.5],
            "ci_high": [1.5],
        }
    )
    table = pd.DataFrame({"variant": ["a", "b"], "t": [1.0, 2.0]})
    out = add_intervals(table, long, ["variant"])
    assert out.columns.tolist() == ["variant", "t", "t_std", "t_ci_low", "t_ci_high"]
    assert np.isnan(out.loc[1, "t_ci_low"])  # no result for b: no interval either
    with pytest.raises(ValueError, match="not the result's"):
        add_intervals(table.assign(t=[3.0, 2.0]), long, ["variant"])


def test_old_results_without_intervals_give_empty_columns(tmp_path):
    path = tmp_path / "cls.json"
    path.write_text(
        json.dumps(
            {
                "variant": "v",
                "epoch": "final",
                "task": "m-eurosat",
                "strategy": "cls",
                "test": 50.0,
                "model": {"kind": "csmoe", "patch_size": 16},
                "train_set": "mtom_mu",
                "complexity": {"params_m": 1, "gflops": 1, "c2c": 1},
            }
        )
    )
    frame = probe_frame([path])
    assert (
        frame[["std", "ci_low", "ci_high"]].isna().all().all() and frame["cell"][0] == "m-eurosat"
    )


def test_probe_and_cbir_cells_in_one_table(tmp_path):
    """A table mixing probe scores and CBIR F1 (as the sampling ablation does) gets both."""
    probes = [write_probe(tmp_path, v, "final", "m-eurosat", "cls", quality=0.7) for v in "ab"]
    cbir = [write_cbir(tmp_path, v, "benv2_14k", quality=0.5) for v in "ab"]
    long = pd.concat([probe_frame(probes), cbir_frame(cbir)], ignore_index=True)
    table = pd.DataFrame(
        {
            "variant": ["a", "b"],
            "m-eurosat": [json.loads(Path(p).read_text())["test"] for p in probes],
            "benv2_14k_s1s2": [
                json.loads(Path(c).read_text())["pairs"]["s1s2"]["f1"] for c in cbir
            ],
        }
    )
    out = add_intervals(table, long, ["variant"])
    for cell in ("m-eurosat", "benv2_14k_s1s2"):
        assert (out[f"{cell}_ci_low"] < out[cell]).all() and (
            out[cell] < out[f"{cell}_ci_high"]
        ).all()
    assert out["m-eurosat_std"].notna().all() and out["benv2_14k_s1s2_std"].isna().all()
