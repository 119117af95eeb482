from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from result_fixtures import write_cbir, write_probe

from csmoe.cli import main
from csmoe.errors import InputError
from csmoe.report.comparisons import comparisons

TASKS = ("m-eurosat", "m-so2sat")


def _results(root):
    paths = []
    for variant, quality in (("good", 0.9), ("bad", 0.3), ("near", 0.88)):
        paths += [write_probe(root, variant, "final", t, "cls", quality=quality) for t in TASKS]
        paths.append(write_cbir(root, variant, "benv2_14k", quality=quality))
    return paths


def test_model_against_itself_is_exactly_zero_and_a_clear_gap_excludes_it(tmp_path):
    paths = _results(tmp_path)
    params = json.dumps({"comparisons": [{"a": "good", "b": "good"}, {"a": "good", "b": "bad"}]})
    out = tmp_path / "comparisons.csv"
    args = ["report", "comparisons", "--params", params, "--inputs", *paths, "--out", str(out)]
    assert main(args) == 0
    table = pd.read_csv(out, keep_default_na=False)
    # 2 tasks + 4 CBIR pairs of one set, per comparison
    assert len(table) == 2 * (2 + 4)
    same = table[table["comparison"] == "good - good"]
    assert (same[["diff", "diff_ci_low", "diff_ci_high"]] == 0).all().all()
    assert not same["excludes_zero"].astype(bool).any()
    gap = table[table["comparison"] == "good - bad"]
    assert (gap["diff"] > 20).all() and gap["excludes_zero"].astype(bool).all()
    assert (gap["diff_ci_low"] <= gap["diff"]).all() and (gap["diff"] <= gap["diff_ci_high"]).all()
    assert set(gap["pair"]) == {"", "s1s1", "s2s2", "s1s2", "s2s1"}
    assert gap["resamples"].eq(200).all()
    # the point difference is the difference of the tables' values
    good = json.loads(Path(paths[0]).read_text())["test"]
    bad = json.loads(Path(paths[3]).read_text())["test"]
    row = gap[gap["task"] == "m-eurosat"].iloc[0]
    assert row["diff"] == pytest.approx(good - bad)


def test_paired_interval_is_narrower_than_the_two_intervals(tmp_path):
    paths = _results(tmp_path)
    table = comparisons([("good", "near")], paths)
    row = table[table["task"] == "m-eurosat"].iloc[0]
    a = json.loads(Path(paths[0]).read_text())
    b = json.loads(Path(paths[6]).read_text())
    # pairing removes the shared sampling noise of the test set
    paired = row["diff_ci_high"] - row["diff_ci_low"]
    assert paired < (a["test_ci_high"] - a["test_ci_low"]) + (b["test_ci_high"] - b["test_ci_low"])


def test_unpaired_results_are_refused(tmp_path):
    paths = _results(tmp_path)
    record = json.loads(Path(paths[3]).read_text())
    record["test_data"] = "other samples"
    Path(paths[3]).write_text(json.dumps(record))
    with pytest.raises(InputError, match="same test samples"):
        comparisons([("good", "bad")], paths)
    with pytest.raises(InputError, match="no result on a common task"):
        comparisons([("good", "missing")], paths)
