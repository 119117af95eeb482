"""The `csmoe grid` / `csmoe sampling` commands end to end on tiny inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml
from sampling_fixtures import archive_frame, write_geotiff

from csmoe.cli import main


def test_grid_locate_negative_coordinates(capsys):
    assert main(["grid", "locate", "--", "-9.8", "-41.6"]) == 0
    assert capsys.readouterr().out.strip() == "110D_457L"
    assert main(["grid", "locate", "--", "-89", "0"]) == 2  # outside the grid's rows
    assert "outside the grid" in capsys.readouterr().err


def write_config(tmp_path, sampling):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"seed": 3, "sampling": sampling}))
    return str(path)


def test_archive_from_metadata_and_no_partial_output(tmp_path, tiny_rasters):
    meta = pd.DataFrame(
        {
            "grid_cell": ["0U_0R", "5U_1R", "3D_7L"],
            "centre_lat": [45.0, 45.0, -45.0],
            "centre_lon": [-135.0, -45.0, -45.0],
        }
    )
    meta.to_parquet(tmp_path / "meta.parquet")
    sampling = {
        **tiny_rasters,
        "archive": {"source": "metadata", "metadata": [str(tmp_path / "meta.parquet")]},
    }
    out = tmp_path / "out" / "archive.parquet"
    assert (
        main(
            ["sampling", "archive", "--config", write_config(tmp_path, sampling), "--out", str(out)]
        )
        == 0
    )
    assert list(pd.read_parquet(out)["climate"]) == ["Af", "BWh"]

    bad = write_geotiff(
        tmp_path / "utm.tif",
        np.ones((2, 4), dtype=np.uint8),
        crs="EPSG:32633",
        bounds=(0, 0, 4000, 2000),
    )
    sampling["landcover"] = {"source": "mcd12c1", "path": str(bad)}
    out2 = tmp_path / "out2" / "archive.parquet"
    out2.parent.mkdir()
    assert (
        main(
            [
                "sampling",
                "archive",
                "--config",
                write_config(tmp_path, sampling),
                "--out",
                str(out2),
            ]
        )
        == 2
    )
    assert not out2.exists()
    assert list(out2.parent.iterdir()) == []  # no temporary left behind either


def test_ga_random_table2_fig3(tmp_path):
    archive = archive_frame({("Af", 10): 150, ("BWh", 60): 30, ("Dfb", 10): 80})
    paths = {name: tmp_path / f"{name}.parquet" for name in ("archive", "mtom_mu", "mtom_r")}
    archive.to_parquet(paths["archive"])
    sampling = {
        "target_per_stratum": 40,
        "workers": 1,
        "ga": {"generations": 5, "population": 6, "pool_factor": 3},
        "table2": {"exact_pairs_max": 100, "pair_sample": 5000},
    }
    cfg = ["--config", write_config(tmp_path, sampling)]
    common = ["--archive", str(paths["archive"])]
    assert main(["sampling", "ga", *cfg, *common, "--out", str(paths["mtom_mu"])]) == 0
    assert (
        main(
            [
                "sampling",
                "random",
                *cfg,
                *common,
                "--mtom-mu",
                str(paths["mtom_mu"]),
                "--out",
                str(paths["mtom_r"]),
            ]
        )
        == 0
    )
    mu, rnd = pd.read_parquet(paths["mtom_mu"]), pd.read_parquet(paths["mtom_r"])
    assert len(mu) == len(rnd) == 40 + 30 + 40
    sets = [*common, "--mtom-mu", str(paths["mtom_mu"]), "--mtom-r", str(paths["mtom_r"])]
    table_path, fig_path = tmp_path / "table2.csv", tmp_path / "fig3.png"
    assert main(["sampling", "table2", *cfg, *sets, "--out", str(table_path)]) == 0
    assert main(["sampling", "fig3", *cfg, *sets, "--out", str(fig_path)]) == 0
    table = pd.read_csv(table_path).set_index("statistic")
    assert table.loc["tiles", ["archive", "mtom_r", "mtom_mu"]].tolist() == [260, 110, 110]
    assert table.loc["tiles", "paper_mtom_mu"] == 18_846
    assert table.loc["tiles_per_stratum", "mtom_mu"] == 110 / 3
    for row in ("within_stratum_mean_nn_km", "sampled_strata_mean_nn_km"):
        assert table.loc[row, "mtom_mu"] > table.loc[row, "mtom_r"]
    # only Af (150) and Dfb (80) are thinned out; the archive's cells are denser there
    assert (
        table.loc["sampled_strata_mean_nn_km", "archive"]
        < table.loc["sampled_strata_mean_nn_km", "mtom_r"]
    )
    assert fig_path.stat().st_size > 10_000


def test_missing_columns_in_sample(tmp_path, capsys):
    archive = archive_frame({("Af", 10): 50})
    archive.drop(columns="landcover").to_parquet(tmp_path / "a.parquet")
    out = tmp_path / "mu.parquet"
    assert (
        main(["sampling", "ga", "--archive", str(tmp_path / "a.parquet"), "--out", str(out)]) == 2
    )
    assert "a.parquet: missing columns ['landcover']" in capsys.readouterr().err
    assert not out.exists()


def test_an_empty_metadata_parquet_fails_and_keeps_the_previous_archive(
    tmp_path, tiny_rasters, capsys
):
    meta = tmp_path / "meta.parquet"
    pd.DataFrame({"grid_cell": ["0U_0R"], "centre_lat": [45.0], "centre_lon": [-135.0]}).to_parquet(
        meta
    )
    sampling = {**tiny_rasters, "archive": {"source": "metadata", "metadata": [str(meta)]}}
    out = tmp_path / "archive.parquet"
    args = ["sampling", "archive", "--config", write_config(tmp_path, sampling), "--out", str(out)]
    assert main(args) == 0
    before = out.read_bytes()
    pd.read_parquet(meta).iloc[:0].to_parquet(meta)  # the same columns, no row
    assert main(args) == 2
    assert capsys.readouterr().err.strip().endswith("meta.parquet: metadata parquet has no rows")
    assert out.read_bytes() == before
