"""Tiny generated rasters and archives for the sampling tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def write_geotiff(path, values, *, crs="EPSG:4326", bounds=(-180, -90, 180, 90), nodata=None):
    """A single-band GeoTIFF covering ``bounds`` (west, south, east, north)."""
    import rasterio
    from rasterio.transform import from_bounds

    height, width = values.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=height,
        width=width,
        count=1,
        dtype=values.dtype,
        crs=crs,
        transform=from_bounds(*bounds, width, height),
        nodata=nodata,
    ) as dst:
        dst.write(values, 1)
    return path


@pytest.fixture
def tiny_rasters(tmp_path):
    """4 x 2 global rasters: climate PNG and IGBP GeoTIFF (90 deg pixels).

    Climate (rows N, S; columns from 180W): north 1 (Af), 7 (BWh), 32 (ocean), 30 (EF);
    south 4 (Aw), 32, 19 (Dfb), 31 (ET). IGBP: north 2, 16, 0, 255 (nodata); south 12, 0, 13, 15.
    """
    from PIL import Image

    climate = np.array([[1, 7, 32, 30], [4, 32, 19, 31]], dtype=np.uint8)
    png = tmp_path / "climate.png"
    Image.fromarray(climate).save(png)
    igbp = np.array([[2, 16, 0, 255], [12, 0, 13, 15]], dtype=np.uint8)
    tif = write_geotiff(tmp_path / "igbp.tif", igbp, nodata=255)
    return {"climate": str(png), "landcover": {"source": "mcd12c1", "path": str(tif)}}


def archive_frame(strata_sizes: dict[tuple[str, int], int], seed: int = 0) -> pd.DataFrame:
    """An archive with the given (climate, landcover) -> cell count, cells scattered in boxes."""
    rng = np.random.default_rng(seed)
    frames = []
    for i, ((climate, landcover), size) in enumerate(strata_sizes.items()):
        lat0, lon0 = -40 + 15 * (i % 5), -150 + 60 * (i // 5)
        frames.append(
            pd.DataFrame(
                {
                    "grid_cell": [f"{i}U_{j}R" for j in range(size)],
                    "grid_row_u": np.full(size, i, dtype=np.int32),
                    "grid_col_r": np.arange(size, dtype=np.int32),
                    "centre_lat": lat0 + rng.uniform(0, 12, size),
                    "centre_lon": lon0 + rng.uniform(0, 40, size),
                    "climate": climate,
                    "landcover": np.full(size, landcover, dtype=np.int16),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
