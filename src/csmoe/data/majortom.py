"""Read Major TOM Core (S2L2A + S1RTC) and pair the two sensors by grid cell.

Layout (the generated mini world and the downloaded archive alike)::

    {root}/S2L2A/metadata.parquet    one row per product: grid_cell, ..., parquet_url, parquet_row
    {root}/S2L2A/images/part_*.parquet   one row group per product: GeoTIFF bytes per band
    {root}/S1RTC/metadata.parquet, {root}/S1RTC/images/part_*.parquet

``parquet_url`` is either relative to the product folder or the Hugging Face URL of the real
archive (``.../resolve/main/images/part_01234.parquet``), read as ``images/part_01234.parquet``.

A :class:`Tile` holds the model's bands on the 10 m grid: S2 (B02, B03, B04, B08, B05, B06,
B07, B8A, B11, B12) as stored (uint16, 0 = nodata), the 20 m bands brought to 10 m by nearest
neighbour; S1 (VV, VH) converted from linear gamma0 to dB, invalid pixels NaN; and one boolean
mask per invalid-pixel reason, so extraction can count why it drops a patch.

S2 products of processing baseline 04.00 and later carry a +1000 offset in their digital
numbers (:mod:`csmoe.data.s2_baseline`); with ``remove_s2_offset`` (the default) the reader
reads each product's baseline from its ``product_id`` and removes the offset (clipped at 0), so
every tile is reflectance × 10 000 as in BigEarthNet-v2 and GEO-Bench. The paper does not say
whether it harmonised; left as stored, the newer tiles' inputs sit 1000 higher than the rest.

What is an error and what is a counted skip:

- :class:`~csmoe.errors.InputError` (stops the run): a missing or unreadable metadata or part
  file, a metadata file without the Major TOM columns, a part file without a band column the
  model needs, an S2 product id without a processing baseline while the offset is removed.
  These mean the archive is not what the stage expects; every tile would fail.
- :class:`TileSkip` (counted under its ``reason``, logged with the cell and the detail, the run
  goes on): ``unpaired`` (a cell with only one sensor), ``corrupt_geotiff`` (bytes that do not
  decode), ``size_mismatch`` (S1 and S2, or S2 bands, on different grids), ``all_invalid``
  (no pixel valid in both sensors). One bad row in an archive of 18 k tiles should cost that
  tile, not the whole store; the counts land in stats.json.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_integer_dtype, is_string_dtype

from csmoe.data.bands import (
    S1_NODATA,
    S2_MODEL_BANDS,
    S2_NODATA,
    S2_RESOLUTION_M,
    linear_to_db,
    nearest_resize,
)
from csmoe.data.s2_baseline import UNKNOWN, boa_offset, product_baselines, remove_offset
from csmoe.errors import InputError, brief

S2_PRODUCT, S1_PRODUCT = "S2L2A", "S1RTC"
METADATA_COLUMNS = (
    "grid_cell", "grid_row_u", "grid_col_r", "product_id", "timestamp", "cloud_cover", "nodata",
    "centre_lat", "centre_lon", "crs", "parquet_url", "parquet_row",
)  # fmt: skip
S1_COLUMNS = ("vv", "vh")
INVALID_REASONS = ("nan", "s1_nodata", "s2_nodata")  # per-pixel, in the order they are counted
SKIP_REASONS = ("unpaired", "corrupt_geotiff", "size_mismatch", "all_invalid")


class TileSkip(Exception):
    """A tile that cannot be used; ``reason`` is one of :data:`SKIP_REASONS`."""

    def __init__(self, grid_cell: str, reason: str, detail: str) -> None:
        super().__init__(grid_cell, reason, detail)  # args as given: survives pickling
        self.grid_cell, self.reason, self.detail = grid_cell, reason, detail

    def __str__(self) -> str:
        return f"{self.grid_cell}: {self.reason}: {self.detail}"


@dataclass
class RawTile:
    """The still-encoded GeoTIFF bytes of one S1/S2 pair."""

    grid_cell: str
    s2: dict[str, bytes]
    s1: dict[str, bytes]
    source: str  # "part file#row" of the S2 row, for messages
    s2_baseline: str = UNKNOWN  # processing baseline of the S2 product ("04.00")
    s2_offset: int = 0  # digital-number offset to remove from S2 (0: keep values as stored)

    @property
    def nbytes(self) -> int:
        return sum(len(b) for b in (*self.s2.values(), *self.s1.values()))


@dataclass
class Tile:
    """One decoded pair on the 10 m grid (see module docstring for units)."""

    grid_cell: str
    s2: np.ndarray  # [10, H, W] uint16
    s1: np.ndarray  # [2, H, W] float32 dB, NaN where invalid
    invalid: dict[str, np.ndarray] = field(default_factory=dict)  # reason -> [H, W] bool
    s2_baseline: str = UNKNOWN


def read_metadata(product_dir: Path) -> pd.DataFrame:
    """A product's metadata.parquet, checked for the Major TOM columns."""
    path = product_dir / "metadata.parquet"
    try:
        meta = pd.read_parquet(path, page_checksum_verification=True)
    except FileNotFoundError as err:
        raise InputError(path, "Major TOM metadata not found") from err
    except Exception as err:
        raise InputError(path, f"not a readable parquet file: {brief(err)}") from err
    needed = ("grid_cell", "timestamp", "parquet_url", "parquet_row")
    missing = [c for c in needed if c not in meta.columns]
    if missing:
        raise InputError(path, f"missing columns {missing} (Major TOM has {METADATA_COLUMNS})")
    strings = all(is_string_dtype(meta[c]) for c in ("grid_cell", "parquet_url"))
    if not strings or not is_integer_dtype(meta["parquet_row"]):
        types = {c: str(meta[c].dtype) for c in needed}
        raise InputError(path, f"columns of the wrong type {types}")
    try:
        meta["timestamp"] = pd.to_datetime(meta["timestamp"])
    except (ValueError, TypeError) as err:
        raise InputError(path, f"timestamps unreadable: {brief(err)}") from err
    meta["part_file"] = [
        str(product_dir / "images" / PurePosixPath(u).name) if "://" in u else str(product_dir / u)
        for u in meta["parquet_url"]
    ]
    return meta


def pair_tiles(
    root: str | Path, remove_s2_offset: bool = True
) -> tuple[pd.DataFrame, dict[str, int]]:
    """S2/S1 rows paired by grid cell, and how many cells had only one sensor.

    Where a cell has several products of a sensor, the pair closest in time is kept (the
    paper pairs one S1 with one S2 acquisition per cell). Rows come sorted by S2 part file
    and row so that reading streams through each part once. ``s2_baseline`` and
    ``s2_offset`` (what decoding subtracts: 0 unless ``remove_s2_offset``) say how to
    harmonise each S2 product.
    """
    root = Path(root)
    s2 = read_metadata(root / S2_PRODUCT)
    s1 = read_metadata(root / S1_PRODUCT)
    baselines = product_baselines(s2, root / S2_PRODUCT / "metadata.parquet", remove_s2_offset)
    s2["s2_baseline"] = baselines
    s2["s2_offset"] = baselines.map(boa_offset) if remove_s2_offset else 0
    cols = ["grid_cell", "timestamp", "part_file", "parquet_row"]
    pairs = s2[[*cols, "s2_baseline", "s2_offset"]].merge(
        s1[cols], on="grid_cell", suffixes=("_s2", "_s1")
    )
    gap = (pd.to_datetime(pairs["timestamp_s2"]) - pd.to_datetime(pairs["timestamp_s1"])).abs()
    pairs = (
        pairs.assign(_gap=gap)
        .sort_values(["grid_cell", "_gap"], kind="stable")
        .drop_duplicates("grid_cell")
        .sort_values(["part_file_s2", "parquet_row_s2"])
        .drop(columns="_gap")
        .reset_index(drop=True)
    )
    cells_s2, cells_s1 = set(s2["grid_cell"]), set(s1["grid_cell"])
    return pairs, {"unpaired": len(cells_s2 ^ cells_s1)}


def _open_part(path: str, columns: tuple[str, ...]) -> Any:
    """An image part file opened for row-group reads, checked for the needed columns."""
    import pyarrow.parquet as pq

    try:
        part = pq.ParquetFile(path, page_checksum_verification=True)
    except FileNotFoundError as err:
        raise InputError(path, "Major TOM image part file not found") from err
    except Exception as err:
        raise InputError(path, f"not a readable parquet file: {brief(err)}") from err
    missing = [c for c in columns if c not in part.schema_arrow.names]
    if missing:
        raise InputError(path, f"missing band columns {missing}")
    return part


def iter_raw_tiles(pairs: pd.DataFrame) -> Iterator[RawTile]:
    """The encoded bands of each pair.

    As in Major TOM, ``parquet_row`` is the index of the row group that holds the product
    (each row group is one row), so a tile is read alone without loading its part file.
    Open part files are kept while consecutive pairs use them (pairs come sorted by part).
    """
    handles: OrderedDict[str, Any] = OrderedDict()

    def read(path: str, group: int, columns: tuple[str, ...]) -> dict[str, bytes]:
        if path not in handles:
            handles[path] = _open_part(path, columns)
            if len(handles) > 4:
                handles.popitem(last=False)[1].close()
        part = handles[path]
        if not 0 <= group < part.num_row_groups:
            raise InputError(path, f"parquet_row {group} outside 0..{part.num_row_groups - 1}")
        try:
            table = part.read_row_group(group, columns=list(columns))
        except Exception as err:  # damaged pages fail only when read (pyarrow: OSError etc.)
            raise InputError(path, f"row group {group} unreadable: {brief(err)}") from err
        if table.num_rows != 1:
            raise InputError(path, f"row group {group} holds {table.num_rows} rows, not 1")
        return {c: table.column(c)[0].as_py() for c in columns}

    try:
        for pair in pairs.itertuples(index=False):
            r2, r1 = int(pair.parquet_row_s2), int(pair.parquet_row_s1)
            yield RawTile(
                grid_cell=pair.grid_cell,
                s2=read(pair.part_file_s2, r2, S2_MODEL_BANDS),
                s1=read(pair.part_file_s1, r1, S1_COLUMNS),
                source=f"{pair.part_file_s2}#{r2}",
                s2_baseline=pair.s2_baseline,
                s2_offset=int(pair.s2_offset),
            )
    finally:
        for part in handles.values():
            part.close()


def decode_band(data: bytes | None, grid_cell: str, band: str) -> tuple[np.ndarray, float | None]:
    """One GeoTIFF band → (array, nodata); undecodable bytes are a ``corrupt_geotiff`` skip."""
    from rasterio.errors import RasterioError
    from rasterio.io import MemoryFile

    if not data:
        raise TileSkip(grid_cell, "corrupt_geotiff", f"{band}: empty value")
    try:
        with MemoryFile(data) as memfile, memfile.open() as src:
            return src.read(1), src.nodata
    except (RasterioError, ValueError) as err:
        raise TileSkip(grid_cell, "corrupt_geotiff", f"{band}: {err}") from err


def decode_tile(raw: RawTile) -> Tile:
    """Decode, bring 20 m to 10 m, remove the S2 offset, convert S1 to dB, and mask invalid
    pixels."""
    cell = raw.grid_cell
    s2_native = {b: decode_band(raw.s2[b], cell, b) for b in S2_MODEL_BANDS}
    size = s2_native["B02"][0].shape
    if size[0] != size[1]:
        raise TileSkip(cell, "size_mismatch", f"S2 10 m bands are {size}, not square")
    s2 = np.empty((len(S2_MODEL_BANDS), *size), np.uint16)
    s2_nodata = np.zeros(size, bool)
    for i, band in enumerate(S2_MODEL_BANDS):
        array, nodata = s2_native[band]
        expected = round(size[0] * 10 / S2_RESOLUTION_M[band])
        if array.shape != (expected, expected):
            raise TileSkip(cell, "size_mismatch", f"{band} is {array.shape}, expected {expected}")
        if array.shape != size:
            array = nearest_resize(array, size[0])
        s2[i] = array
        s2_nodata |= array == (S2_NODATA if nodata is None else nodata)
    remove_offset(s2, raw.s2_offset)  # after the nodata mask: harmonised 0 is a valid value
    s1_raw = []
    for band in S1_COLUMNS:
        array, nodata = decode_band(raw.s1[band], cell, band)
        if array.shape != size:
            raise TileSkip(cell, "size_mismatch", f"S1 {band} is {array.shape}, S2 is {size}")
        s1_raw.append((array.astype(np.float32), S1_NODATA if nodata is None else nodata))
    nan = np.zeros(size, bool)
    s1_nodata = np.zeros(size, bool)
    for array, nodata in s1_raw:
        nan |= np.isnan(array)
        s1_nodata |= (array == nodata) | (array <= 0) | np.isinf(array)  # no dB for power <= 0
    s1 = linear_to_db(np.stack([a for a, _ in s1_raw]))
    s1[:, nan | s1_nodata] = np.nan
    invalid = {"nan": nan, "s1_nodata": s1_nodata, "s2_nodata": s2_nodata}
    if (nan | s1_nodata | s2_nodata).all():
        raise TileSkip(cell, "all_invalid", "no pixel valid in both S1 and S2")
    return Tile(grid_cell=cell, s2=s2, s1=s1, invalid=invalid, s2_baseline=raw.s2_baseline)
