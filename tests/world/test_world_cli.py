"""``csmoe world ...`` commands: outputs readable by ``csmoe data inspect``, MLflow runs, clean
errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from csmoe.cli import main
from csmoe.config import load_config


@pytest.fixture
def cells(tmp_path):
    path = tmp_path / "archive.parquet"
    rows = [("100U_10R", 44.0, 20.5, "Cfa", 40), ("101U_11R", 44.2, 20.7, "Dfb", 10),
            ("102U_12R", 45.0, 19.8, "Cfb", 80), ("103U_13R", 43.5, 21.0, "Cfa", 50)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["grid_cell", "centre_lat", "centre_lon", "climate",
                                        "landcover"])  # fmt: skip
    frame.assign(grid_row_u=range(4), grid_col_r=range(4)).to_parquet(path)
    return path


@pytest.fixture
def params():
    section = load_config()["downstream"]
    section["geobench"]["samples"] = {"train": 3, "valid": 2, "test": 2}
    section["benv2"]["samples"] = {"train": 3, "validation": 2, "test": 2}
    return json.dumps(section)


def test_generate_and_inspect(tmp_path, cells, params, capsys):
    out = tmp_path / "geobench" / "classification_v1.0" / "m-so2sat"
    args = ["--params", params, "--cells", str(cells), "--seed", "1"]
    assert main(["world", "geobench", *args, "--task", "m-so2sat", "--out", str(out)]) == 0
    assert main(["world", "benv2", *args, "--out", str(tmp_path / "benv2")]) == 0
    capsys.readouterr()
    assert main(["data", "inspect", "--root", str(tmp_path / "geobench"),
                 "--task", "m-so2sat", "--split", "valid"]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert summary["samples"] == 2 and summary["s1"] == [2, 2, 32, 32]
    assert main(["data", "inspect", "--root", str(tmp_path / "benv2")]) == 0
    assert json.loads(capsys.readouterr().out)["pairs"] == 2
    # both generation commands left an MLflow run in the data experiment
    from mlflow.tracking import MlflowClient

    from csmoe.tracking import store_uri

    client = MlflowClient(store_uri())
    runs = client.search_runs([client.get_experiment_by_name("csmoe/data").experiment_id])
    assert {r.info.run_name for r in runs} == {"geobench-m-so2sat", "benv2-world"}
    assert all(r.info.status == "FINISHED" for r in runs)


def test_bad_inputs_are_one_line_errors(tmp_path, cells, params, capsys):
    out = tmp_path / "classification_v1.0" / "m-so2sat"
    missing = tmp_path / "nope.parquet"
    code = main(["world", "geobench", "--params", params, "--cells", str(missing),
                 "--task", "m-so2sat", "--out", str(out)])  # fmt: skip
    assert code == 2 and "nope.parquet: cell list not found" in capsys.readouterr().err
    wrong = tmp_path / "segmentation_v1.0" / "m-so2sat"
    code = main(["world", "geobench", "--params", params, "--cells", str(cells),
                 "--task", "m-so2sat", "--out", str(wrong)])  # fmt: skip
    assert code == 2 and "belongs in .../classification_v1.0/m-so2sat" in capsys.readouterr().err
    assert not out.exists() and not wrong.exists()


def test_bad_cells_file_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "cells.parquet"
    bad.write_text("nope")
    code = main(["world", "majortom", "--cells", str(bad), "--out", str(tmp_path / "o"),
                 "--params", json.dumps({"tile_px": 256, "max_tiles": 4})])  # fmt: skip
    assert code == 2 and not (tmp_path / "o").exists()
    assert "cells.parquet: not a readable parquet file" in capsys.readouterr().err
