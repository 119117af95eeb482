from __future__ import annotations

import json

import pandas as pd

from csmoe.cli import main
from csmoe.config import load_config


def test_complexity_prints_json_with_the_paper_values(capsys):
    assert main(["complexity", "--model", "csmoe", "--patch-size", "16", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["patch_size"] == 16 and out["img_size"] == 224
    assert out["paper_gflops"] == 10.11
    assert abs(out["gflops_residual_pct"]) < 5
    assert out["c2c"] == out["params_m"] / out["gflops"]


def test_complexity_text_and_flop_counter_check(capsys):
    assert main(["complexity", "--model", "csmae", "--verify"]) == 0
    text = capsys.readouterr().out
    assert "flop counter on the module" in text and "paper: 87 M" in text


def test_complexity_rejects_an_impossible_patch_size(capsys):
    assert main(["complexity", "--patch-size", "15"]) == 2
    assert "not divisible by patch size 15" in capsys.readouterr().err


def test_table1_writes_our_rows_and_labelled_paper_rows(tmp_path):
    models = load_config()["models"]
    rows = models["table1"]["rows"]
    # two of our rows keep the test fast; the shipped rows are checked in test_complexity
    models["table1"]["rows"] = [r for r in rows if r["model"] in ("CSMoE p32", "CSMAE")]
    out = tmp_path / "table1.csv"
    assert main(["models", "table1", "--params", json.dumps(models), "--output", str(out)]) == 0
    table = pd.read_csv(out)
    ours = table[table["source"] == "ours"].set_index("model")
    paper = table[table["source"] == "paper"].set_index("model")
    assert set(ours.index) == {"CSMoE p32", "CSMAE"}
    assert {"Prithvi V2-300", "Prithvi V2-600", "Satlas", "DOFA", "TerraMind"} == set(paper.index)
    # the real modules, counted by torch's flop counter, agree with the analytic count
    assert (ours["counter_gflops"] - ours["gflops"]).abs().max() < 1e-9
    assert (ours["counter_params_m"] - ours["params_m"]).abs().max() < 1e-9
    assert paper["params_m"].isna().all()  # peers carry paper values only
    assert ours.loc["CSMoE p32", "paper_gflops"] == 2.92
    assert ours.loc["CSMAE", "kind"] == "csmae" and ours.loc["CSMAE", "img_size"] == 120


def test_shipped_table1_rows_cover_table_iv_and_csmae():
    rows = load_config()["models"]["table1"]["rows"]
    assert {r["model"] for r in rows if "paper_gflops" in r} == {
        "CSMoE p32",
        "CSMoE p28",
        "CSMoE p16",
        "CSMoE p14",
        "CSMAE",
    }
