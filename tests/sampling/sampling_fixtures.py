"""Tiny generated rasters and archives for the sampling tests (a uniquely named module, so
test files can import it next to other packages' helpers)."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
