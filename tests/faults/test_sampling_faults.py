"""Damaged sampling inputs (class rasters, Major TOM metadata parquet) to ``csmoe sampling
archive``: one line naming the file, the previous archive untouched."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from inject import (
    CORRUPTIONS,
    assert_refused,
    corrupt,
    flip_in_column,
    run_cli,
    snapshot,
    temporaries,
)

CELLS = pd.DataFrame(  # land cells of several continents (Major TOM ids of the points)
    {
        "grid_cell": ["501U_55R", "110D_457L", "250U_1490R", "300D_1400R"],
        "centre_lat": [45.0, -9.8, 22.5, -27.0],
        "centre_lon": [7.0, -41.6, 80.0, 135.0],
    }
)


def _raster(path, values, crs="EPSG:4326"):
    """A global 1-degree GeoTIFF, deflate-compressed in strips (as real class rasters are)."""
    import rasterio
    from rasterio.transform import from_bounds

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=180,
        width=360,
        count=1,
        dtype=values.dtype,
        crs=crs,
        transform=from_bounds(-180, -90, 180, 90, 360, 180),
        compress="deflate",
    ) as dst:
        dst.write(values, 1)
    return path


@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(0)
    climate = _raster(tmp_path / "climate.tif", rng.integers(1, 31, (180, 360)).astype(np.uint8))
    igbp = _raster(tmp_path / "igbp.tif", rng.integers(1, 17, (180, 360)).astype(np.uint8))
    meta = tmp_path / "metadata.parquet"
    CELLS.to_parquet(meta)
    sampling = {
        "climate": str(climate),
        "landcover": {"source": "mcd12c1", "path": str(igbp)},
        "archive": {"source": "metadata", "metadata": [str(meta)]},
    }
    out = tmp_path / "results" / "archive.parquet"
    args = ["sampling", "archive", "--seed", "0", "--out", str(out), "--params"]
    return {"climate": climate, "igbp": igbp, "meta": meta, "out": out, "args": args, **sampling}


def _run(inputs, capsys):
    params = {k: inputs[k] for k in ("climate", "landcover", "archive")}
    return run_cli([*inputs["args"], json.dumps(params)], capsys)


@pytest.fixture
def earlier(inputs, capsys):
    """A good archive from an earlier run, which no failure may touch."""
    assert _run(inputs, capsys).status == 0
    return snapshot(inputs["out"].parent)


RASTER_CASES = {
    "truncated": "cannot read raster",
    "flipped": "cannot read raster pixels",
    "empty": "cannot read raster",
    "wrong type": "expected integer class codes, the raster holds float32",
    "projected": "raster CRS is EPSG:3857, expected geographic",
}


@pytest.mark.parametrize("how", RASTER_CASES)
def test_damaged_class_raster(inputs, earlier, capsys, how, tmp_path):
    igbp = inputs["igbp"]
    if how in CORRUPTIONS:
        corrupt(igbp, how, **({"at": 0.6, "n": 256} if how == "flipped" else {}))
    elif how == "wrong type":
        _raster(igbp, np.full((180, 360), np.nan, np.float32))
    else:
        _raster(igbp, np.ones((180, 360), np.uint8), crs="EPSG:3857")
    assert_refused(_run(inputs, capsys), igbp, RASTER_CASES[how])
    assert snapshot(inputs["out"].parent) == earlier and not temporaries(tmp_path)


METADATA_CASES = {
    "truncated": "cannot read parquet",
    "flipped": "CRC checksum verification failed",
    "empty": "cannot read parquet",
    "no rows": "metadata parquet has no rows",
    "wrong type": "metadata columns have the wrong types",
    "missing column": "metadata parquet lacks columns ['centre_lon']",
}


@pytest.mark.parametrize("how", METADATA_CASES)
def test_damaged_metadata_parquet(inputs, earlier, capsys, how, tmp_path):
    meta = inputs["meta"]
    if how == "flipped":  # inside the values: caught by the page CRCs (see the README)
        CELLS.to_parquet(meta, write_page_checksum=True)
        flip_in_column(meta, "centre_lat")
    elif how in CORRUPTIONS:
        corrupt(meta, how)
    elif how == "no rows":
        CELLS.iloc[:0].to_parquet(meta)
    elif how == "wrong type":
        CELLS.astype({"centre_lat": str}).to_parquet(meta)
    else:
        CELLS.drop(columns="centre_lon").to_parquet(meta)
    assert_refused(_run(inputs, capsys), meta, METADATA_CASES[how])
    assert snapshot(inputs["out"].parent) == earlier and not temporaries(tmp_path)
