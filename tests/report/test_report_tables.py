from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from result_fixtures import write_probe

from csmoe.cli import main
from csmoe.errors import InputError
from csmoe.report.collect import probe_frame

CLASSIF = ("m-bigearthnet", "m-brick-kiln", "m-so2sat", "m-eurosat")
SEG = ("m-cashew-plant", "m-SA-crop-type")


def _model(patch, kind="csmoe"):
    return {
        "model": {"kind": kind, "patch_size": patch},
        "complexity": {"params_m": 1.5, "gflops": 0.1 * patch, "c2c": 15 / patch},
    }


def _probe(root, variant, patch, epoch, task, strategy, score):
    path = root / "probe" / variant / str(epoch) / task / f"{strategy}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "variant": variant,
        "epoch": epoch,
        "task": task,
        "strategy": strategy,
        "test": score,
        "valid": score,
        "mlflow_run_id": f"run-{variant}-{task}",
        **_model(patch),
    }
    path.write_text(json.dumps(record))
    return str(path)


def _probe_set(root):
    paths = []
    for variant, patch, base in (("tiny_p16", 16, 50.0), ("tiny_p8", 8, 60.0)):
        for i, task in enumerate(CLASSIF):
            for j, strategy in enumerate(("cls", "avg_all", "cls_norm")):
                paths.append(_probe(root, variant, patch, "final", task, strategy, base + i - j))
        for i, task in enumerate(SEG):
            paths.append(_probe(root, variant, patch, "final", task, "upernet", base / 2 + i))
    return paths


def test_table4_and_figures(tmp_path):
    paths = _probe_set(tmp_path)
    out = tmp_path / "table4.csv"
    rc = main(
        [
            "report",
            "table4",
            "--params",
            "{}",
            "--inputs",
            *paths,
            "--out",
            str(out),
            "--fig6",
            str(tmp_path / "fig6.png"),
            "--fig7",
            str(tmp_path / "fig7.png"),
        ]
    )
    assert rc == 0
    t = pd.read_csv(out)
    assert t["variant"].tolist() == ["tiny_p16", "tiny_p8"]  # sorted by patch size, large first
    row = t.set_index("variant").loc["tiny_p16"]
    assert row["m-brick-kiln"] == 51.0 and row["m-SA-crop-type"] == 26.0
    # paper columns: the paper's p=16 row; none for p=8
    assert row["paper_m-bigearthnet"] == 66.5 and row["paper_gflops"] == 10.11
    assert np.isnan(t.set_index("variant").loc["tiny_p8", "paper_m-bigearthnet"])
    assert row["source"].endswith("probe/tiny_p16/final")
    assert (tmp_path / "fig6.png").stat().st_size > 1000 and (tmp_path / "fig7.png").exists()


def test_table5_strategies(tmp_path):
    paths = _probe_set(tmp_path)
    out = tmp_path / "table5.csv"
    assert (
        main(
            [
                "report",
                "table5",
                "--params",
                "{}",
                "--inputs",
                *paths,
                "--variant",
                "tiny_p8",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    t = pd.read_csv(out).set_index("strategy")
    assert list(t.index) == ["avg_all", "cls", "cls_norm"]  # Table V order
    assert t.loc["cls_norm", "m-so2sat"] == 60.0 and t.loc["cls", "paper_m-so2sat"] == 44.1
    assert t.loc["avg_all", "label"] == "avg. all tokens"


def test_table6_cbir(tmp_path):
    paths = []
    for variant, patch, kind in (("tiny_csmae", 16, "csmae"), ("tiny_p16", 16, "csmoe")):
        for k, s in enumerate(("benv2_14k", "benv2_243k")):
            pairs = {
                p: {"f1": 10.0 * i + k, "precision": 1.0, "recall": 2.0}
                for i, p in enumerate(("s1s1", "s2s2", "s1s2", "s2s1"))
            }
            path = tmp_path / variant / f"{s}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(
                json.dumps({"variant": variant, "set": s, "pairs": pairs, **_model(patch, kind)})
            )
            paths.append(str(path))
    out = tmp_path / "table6.csv"
    assert main(["report", "table6", "--params", "{}", "--inputs", *paths, "--out", str(out)]) == 0
    t = pd.read_csv(out).set_index("variant")
    assert t.loc["tiny_p16", "benv2_243k_s1s2"] == 21.0
    assert t.loc["tiny_csmae", "paper_benv2_14k_s1s1"] == 66.61
    assert t.loc["tiny_p16", "paper_benv2_243k_s2s1"] == 32.16


def test_fig5_from_sweep(tmp_path):
    quality = {(1, "a"): 0.4, (1, "b"): 0.8, (2, "a"): 0.5, (2, "b"): 0.6}
    paths = [write_probe(tmp_path, "v", e, t, "cls", quality=q) for (e, t), q in quality.items()]
    paths.append(write_probe(tmp_path, "v", "final", "a", "cls", quality=0.5))  # not a sweep point
    history = tmp_path / "history.csv"
    pd.DataFrame({"epoch": [1, 2], "train_loss": [2, 1], "val_loss": [1.9, 1.2]}).to_csv(
        history, index=False
    )
    csv, png = tmp_path / "fig5.csv", tmp_path / "fig5.png"
    args = [
        "report",
        "fig5",
        "--params",
        "{}",
        "--inputs",
        *paths,
        "--history",
        str(history),
        "--variant",
        "v",
        "--csv",
        str(csv),
        "--png",
        str(png),
    ]
    assert main(args) == 0
    out = pd.read_csv(csv)
    assert out["epoch"].tolist() == [1, 2]
    score = {
        k: json.loads(Path(p).read_text())["test"] for k, p in zip(quality, paths, strict=False)
    }
    best = {t: max(score[(1, t)], score[(2, t)]) for t in "ab"}
    want = [np.mean([100 * score[(e, t)] / best[t] for t in "ab"]) for e in (1, 2)]
    assert out["mean"].tolist() == pytest.approx(want)
    assert out["val_loss"].tolist() == [1.9, 1.2] and png.exists()
    # spread over the two head seeds and a bootstrap interval around each mean
    assert out["mean_std"].notna().all()
    assert (out["mean_ci_low"] <= out["mean"]).all() and (out["mean"] <= out["mean_ci_high"]).all()


def test_bad_result_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"variant": "v"}')
    with pytest.raises(InputError, match="lacks"):
        probe_frame([bad])
    assert (
        main(
            [
                "report",
                "table5",
                "--params",
                "{}",
                "--inputs",
                str(bad),
                "--variant",
                "v",
                "--out",
                str(tmp_path / "t.csv"),
            ]
        )
        == 2
    )
    assert not (tmp_path / "t.csv").exists()
