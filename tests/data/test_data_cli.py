"""``csmoe data extract`` on tiles from ``csmoe world majortom``: outputs, MLflow logging."""

from __future__ import annotations

import json

from mlflow.tracking import MlflowClient
from tiles_fixtures import make_cells

from csmoe import tracking
from csmoe.cli import main

WORLD = {"tile_px": 256, "max_tiles": 4, "rows_per_part": 2, "defects": {"all_invalid_tiles": 1}}
EXTRACT = {"workers": 0, "chunk_patches": 4, "shard_patches": 8, "mix_patches": 8}


def test_world_then_extract_logs_to_mlflow(tmp_path):
    cells = tmp_path / "mtom_mu.parquet"
    make_cells(9).to_parquet(cells)
    tiles, out = tmp_path / "majortom" / "mtom_mu", tmp_path / "patches" / "mtom_mu"
    assert main(["world", "majortom", "--cells", str(cells), "--out", str(tiles),
                 "--params", json.dumps(WORLD), "--seed", "2"]) == 0  # fmt: skip
    assert (tiles / "S2L2A" / "metadata.parquet").exists()
    outputs = ["--store", str(out / "store.zarr"), "--stats", str(out / "stats.json")]
    assert main(["data", "extract", "--tiles", str(tiles), *outputs,
                 "--params", json.dumps(EXTRACT)]) == 0  # fmt: skip
    stats = json.loads((out / "stats.json").read_text())
    assert stats["tiles_in"] == 4 and stats["tiles_skipped"]["all_invalid"] == 1

    client = MlflowClient(tracking.store_uri())
    runs = client.search_runs([client.get_experiment_by_name("csmoe/data").experiment_id])
    by_name = {r.info.run_name: r for r in runs}
    assert set(by_name) == {"world-mtom_mu", "extract-mtom_mu"}
    extract = by_name["extract-mtom_mu"].data
    assert extract.metrics["patches_written"] == stats["patches_written"]
    assert extract.metrics["tiles_skipped.all_invalid"] == 1
    assert by_name["world-mtom_mu"].data.metrics["tiles"] == 4
    assert by_name["world-mtom_mu"].data.params["tile_px"] == "256"
