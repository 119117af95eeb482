"""Write the mini world as Major TOM Core: the real file layout, filled with synthetic scenes.

For each selected grid cell a scene (:mod:`csmoe.world.scenes`) is rendered and written exactly
as Major TOM Core stores it, so the real reader (:mod:`csmoe.data.majortom`) is what reads it::

    {out}/S2L2A/metadata.parquet           grid_cell, grid_row_u, grid_col_r, product_id,
    {out}/S2L2A/images/part_00000.parquet  timestamp, cloud_cover, nodata, centre_lat, centre_lon,
    {out}/S1RTC/metadata.parquet           crs, parquet_url, parquet_row
    {out}/S1RTC/images/part_00000.parquet

Each product folder is laid out like the root of the Hugging Face datasets Major-TOM/Core-S2L2A
and Core-S1RTC (``parquet_url`` relative here, an https URL there). Image rows hold one
GeoTIFF (bytes, UTM, north-up) per band: S2L2A B01..B12 + B8A (no B10 in L2A) as uint16 at 10,
20 and 60 m plus ``cloud_mask`` (uint8, 10 m), S1RTC ``vv``/``vh`` float32 linear gamma0 with
nodata -32768; and a PNG ``thumbnail``. Tiles are ``tile_px`` wide at 10 m (1068 in the real
archive; smaller by config so that the default run stays fast). Acquisition dates span 2019-2023
and product ids follow ESA's naming (:mod:`csmoe.world.product_ids`); as in the real archive,
S2 products of processing baseline 04.00 and later (from 25 January 2022) store reflectance
× 10 000 + 1000.

A few realistic defects are injected (seeded) so that extraction's drop counts are exercised:
S2 swath-edge nodata wedges, S1 border nodata rows plus NaN blobs, and whole tiles with no
valid S2 pixel.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from csmoe.data.bands import (
    PIXEL_M,
    S1_NODATA,
    S2_L2A_BANDS,
    S2_NODATA,
    nearest_resize,
    size_at,
)
from csmoe.data.majortom import METADATA_COLUMNS
from csmoe.data.s2_baseline import boa_offset
from csmoe.errors import InputError
from csmoe.log import get_logger, progress
from csmoe.parallel import imap_ordered
from csmoe.world.product_ids import (
    acquisition_time,
    s1_product_id,
    s2_baseline_on,
    s2_product_id,
)
from csmoe.world.scenes import Scene, cell_seed, render_scene

log = get_logger(__name__)

CELL_COLUMNS = (
    "grid_cell", "grid_row_u", "grid_col_r", "centre_lat", "centre_lon", "climate", "landcover",
)  # fmt: skip
DEFECTS = ("all_invalid", "s2_nodata_wedge", "s1_border_nan")


@dataclass(frozen=True)
class WorldSpec:
    """What to generate: tile size, rows per part file, defect rates, seed."""

    tile_px: int = 256
    rows_per_part: int = 64
    all_invalid_tiles: int = 1
    s2_nodata_wedge: float = 0.05
    s1_border_nan: float = 0.05
    seed: int = 0

    @classmethod
    def from_params(cls, params: dict[str, Any], seed: int) -> WorldSpec:
        defects = params.get("defects", {})
        return cls(
            tile_px=int(params.get("tile_px", cls.tile_px)),
            rows_per_part=int(params.get("rows_per_part", cls.rows_per_part)),
            all_invalid_tiles=int(defects.get("all_invalid_tiles", cls.all_invalid_tiles)),
            s2_nodata_wedge=float(defects.get("s2_nodata_wedge", cls.s2_nodata_wedge)),
            s1_border_nan=float(defects.get("s1_border_nan", cls.s1_border_nan)),
            seed=seed,
        )


def read_cells(path: str | Path) -> pd.DataFrame:
    """The selected cells (sampling's output), checked for the columns the world needs."""
    path = Path(path)
    try:
        cells = pd.read_parquet(path, page_checksum_verification=True)
    except FileNotFoundError as err:
        raise InputError(path, "cell list not found") from err
    except Exception as err:  # pyarrow raises several types for a non-parquet file
        raise InputError(path, f"not a readable parquet file: {err}") from err
    missing = [c for c in CELL_COLUMNS if c not in cells.columns]
    if missing:
        raise InputError(path, f"missing columns {missing} (need {list(CELL_COLUMNS)})")
    if cells["grid_cell"].duplicated().any():
        raise InputError(path, "duplicate grid_cell values")
    return cells


def select_tiles(cells: pd.DataFrame, max_tiles: int | None, seed: int) -> pd.DataFrame:
    """A seeded subset of at most ``max_tiles`` cells that keeps every (climate, land cover)
    stratum represented: strata are visited round-robin in random order, each giving its next
    randomly ordered cell, so the cap takes one cell from every stratum before a second from any.
    """
    if max_tiles is None or max_tiles >= len(cells):
        return cells.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    order = cells.assign(_key=rng.random(len(cells)))
    order["_rank"] = order.groupby(["climate", "landcover"])["_key"].rank(method="first")
    strata = order[["climate", "landcover"]].drop_duplicates()
    strata = strata.assign(_stratum_key=rng.random(len(strata)))
    order = order.merge(strata, on=["climate", "landcover"])
    picked = order.sort_values(["_rank", "_stratum_key"]).head(max_tiles)
    if picked.groupby(["climate", "landcover"]).ngroups < len(strata):
        log.warning("max_tiles=%d is below the %d strata: not all represented", max_tiles,
                    len(strata))  # fmt: skip
    return picked.sort_values("grid_cell")[list(cells.columns)].reset_index(drop=True)


def utm_crs(lat: float, lon: float) -> str:
    """The WGS 84 / UTM zone of a point as ``EPSG:326zz`` (north) or ``EPSG:327zz`` (south)."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def encode_geotiff(
    array: np.ndarray, crs: str, west: float, north: float, pixel_m: float, nodata: float | None
) -> bytes:
    """One band as single-band GeoTIFF bytes (deflate), the way Major TOM stores each band."""
    from affine import Affine
    from rasterio.io import MemoryFile

    height, width = array.shape
    profile = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": 1,
        "dtype": array.dtype.name,
        "crs": crs,
        "transform": Affine(pixel_m, 0.0, west, 0.0, -pixel_m, north),  # north-up
        "nodata": nodata,
        "compress": "deflate",
        "zlevel": 1,  # fast: the mini world is rewritten often; decode speed is the same
    }
    with MemoryFile() as memfile:
        with memfile.open(**profile) as dst:
            dst.write(array, 1)
        return memfile.read()


def encode_png(rgb: np.ndarray) -> bytes:
    """``[3, H, W]`` uint8 → PNG bytes (the ``thumbnail`` column)."""
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.fromarray(np.ascontiguousarray(rgb.transpose(1, 2, 0)))
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _tile_origin(lat: float, lon: float, crs: str, tile_px: int) -> tuple[float, float]:
    """UTM west/north of a tile centred on (lat, lon), snapped to the 10 m grid."""
    from rasterio.warp import transform

    xs, ys = transform("EPSG:4326", crs, [lon], [lat])
    half = tile_px * PIXEL_M / 2
    return (
        float(np.round((xs[0] - half) / PIXEL_M) * PIXEL_M),
        float(np.round((ys[0] + half) / PIXEL_M) * PIXEL_M),
    )


def _area_resize(band: np.ndarray, size: int) -> np.ndarray:
    """Coarser band from the 10 m field: block mean when the factor divides, else nearest."""
    factor = band.shape[0] // size
    if factor * size == band.shape[0]:
        return band.reshape(size, factor, size, factor).mean(axis=(1, 3))
    return nearest_resize(band, size)


def s2_row(
    scene: Scene, defect: str | None, rng: np.random.Generator, offset: int = 0
) -> dict[str, np.ndarray]:
    """The S2L2A band arrays of one tile (uint16 at native resolutions, cloud mask), with the
    digital-number ``offset`` of the product's processing baseline added."""
    size = scene.classes.shape[0]
    invalid = np.zeros((size, size), bool)
    if defect == "all_invalid":
        invalid[:] = True
    elif defect == "s2_nodata_wedge":  # outside the swath: a wedge along one side
        rows, cols = np.mgrid[0:size, 0:size]
        invalid = cols < rng.uniform(0.1, 0.5) * size - rng.uniform(-0.3, 0.3) * rows
    bands = {}
    stack = scene.s2_bands(S2_L2A_BANDS)
    for name, band in zip(S2_L2A_BANDS, stack, strict=True):
        n = size_at(name, size)
        values = np.clip(np.rint(_area_resize(band, n)) + offset, 1, 65535).astype(np.uint16)
        if invalid.any():
            values[nearest_resize(invalid, n)] = S2_NODATA
        bands[name] = values
    bands["cloud_mask"] = np.zeros((size, size), np.uint8)
    return bands


def s1_row(scene: Scene, defect: str | None, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The S1RTC band arrays of one tile (float32 linear gamma0, -32768 nodata, NaN defects)."""
    vv, vh = scene.s1.copy()
    if defect == "s1_border_nan":  # border-noise removal leaves nodata rows; NaN from RTC
        border = int(rng.integers(1, 12))
        r0, c0 = rng.integers(0, vv.shape[0] - 8, size=2)
        h, w = rng.integers(3, 30, size=2)
        for band in (vv, vh):
            band[:border] = S1_NODATA
            band[r0 : r0 + h, c0 : c0 + w] = np.nan
    return {"vv": vv, "vh": vh}


def _thumbnail_s2(bands: dict[str, np.ndarray]) -> bytes:
    rgb = np.stack([bands["B04"], bands["B03"], bands["B02"]]).astype(np.float32)
    return encode_png(np.clip(rgb / 3000.0 * 255.0, 0, 255).astype(np.uint8))


def _thumbnail_s1(bands: dict[str, np.ndarray]) -> bytes:
    # the usual SAR false colour: VV, VH, VV/VH, each scaled from dB
    with np.errstate(divide="ignore", invalid="ignore"):
        vv, vh = (10 * np.log10(np.where(b > 0, b, np.nan)) for b in (bands["vv"], bands["vh"]))
        rgb = np.stack([(vv + 25) / 25, (vh + 30) / 25, (vv - vh) / 15])
    return encode_png((np.nan_to_num(np.clip(rgb, 0, 1)) * 255).astype(np.uint8))


def _pick_defects(n: int, spec: WorldSpec, rng: np.random.Generator) -> list[str | None]:
    """Assign each tile at most one defect (seeded), in the proportions of the spec."""
    counts = [
        min(spec.all_invalid_tiles, n),
        round(spec.s2_nodata_wedge * n),
        round(spec.s1_border_nan * n),
    ]
    labels: list[str | None] = [None] * n
    order = rng.permutation(n)
    start = 0
    for name, count in zip(DEFECTS, counts, strict=True):
        for i in order[start : start + count]:
            labels[i] = name
        start += count
    return labels


def render_tile(
    cell: dict[str, Any], defect: str | None, spec: WorldSpec
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """One cell as Major TOM rows: product → (image row, metadata row without its location in
    the part files). Pure, so that tiles can be rendered in worker processes."""
    seed = cell_seed(cell["grid_cell"], spec.seed)
    scene = render_scene(
        cell["centre_lat"], cell["centre_lon"], cell["climate"], int(cell["landcover"]),
        spec.tile_px, seed,
    )  # fmt: skip
    tile_rng = np.random.default_rng(seed + 1)
    crs = utm_crs(scene.lat, scene.lon)
    west, north = _tile_origin(scene.lat, scene.lon, crs, spec.tile_px)
    id_rng = np.random.default_rng(seed + 2)  # own stream: scenes and defects stay as they were
    when = acquisition_time(scene.doy, id_rng)
    product_ids = {
        "S2L2A": s2_product_id(when, scene.lat, scene.lon, id_rng),
        "S1RTC": s1_product_id(when, id_rng),
    }
    offset = boa_offset(s2_baseline_on(when))
    extent = spec.tile_px * PIXEL_M
    out = {}
    for product, arrays in (
        ("S2L2A", s2_row(scene, defect, tile_rng, offset)),
        ("S1RTC", s1_row(scene, defect, tile_rng)),
    ):
        nodata = S2_NODATA if product == "S2L2A" else S1_NODATA
        image = {"product_id": product_ids[product]}
        image["grid_cell"], image["timestamp"] = cell["grid_cell"], when
        for name, array in arrays.items():
            fill = None if name == "cloud_mask" else nodata
            image[name] = encode_geotiff(array, crs, west, north, extent / array.shape[0], fill)
        image["thumbnail"] = (_thumbnail_s2 if product == "S2L2A" else _thumbnail_s1)(arrays)
        meta = {
            **{k: cell[k] for k in ("grid_cell", "grid_row_u", "grid_col_r")},
            "product_id": image["product_id"],
            "timestamp": when,
            "cloud_cover": 0.0,
            "nodata": _nodata_fraction(arrays, product),
            "centre_lat": float(cell["centre_lat"]),
            "centre_lon": float(cell["centre_lon"]),
            "crs": crs,
        }
        out[product] = (image, meta)
    return out


def _render_star(args: tuple[dict[str, Any], str | None, WorldSpec]) -> dict[str, Any]:
    return render_tile(*args)


def write_world(
    cells: pd.DataFrame, out_dir: str | Path, spec: WorldSpec, workers: int = 0
) -> dict[str, Any]:
    """Render and write every cell of ``cells`` under ``out_dir`` (which must be a fresh
    folder; callers wrap it in :func:`csmoe.io.atomic_path`), rendering in ``workers``
    processes (0: in this one; same files either way). Returns counts for logging."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out_dir = Path(out_dir)
    rng = np.random.default_rng(cell_seed("defects", spec.seed))
    defects = _pick_defects(len(cells), spec, rng)
    products = {"S2L2A": ([], []), "S1RTC": ([], [])}  # (metadata rows, image rows of part)
    for product in products:
        (out_dir / product / "images").mkdir(parents=True, exist_ok=True)

    def flush(part: int) -> None:
        for product, (_, rows) in products.items():
            if rows:
                name = out_dir / product / "images" / f"part_{part:05d}.parquet"
                # one row per row group: parquet_row is the row group, as in Major TOM
                table = pa.Table.from_pylist(rows)
                pq.write_table(table, name, row_group_size=1, write_page_checksum=True)
                rows.clear()

    jobs = [(cell, defects[i], spec) for i, cell in enumerate(cells.to_dict("records"))]
    tiles = imap_ordered(_render_star, jobs, workers)
    for i, tile in enumerate(progress(tiles, total=len(jobs), desc="world tiles")):
        part, row = divmod(i, spec.rows_per_part)
        for product, (image, meta) in tile.items():
            meta_rows, image_rows = products[product]
            image_rows.append(image)
            location = {"parquet_url": f"images/part_{part:05d}.parquet", "parquet_row": row}
            meta_rows.append({**meta, **location})
        if row == spec.rows_per_part - 1:
            flush(part)
    flush(len(cells) // spec.rows_per_part)
    for product, (meta_rows, _) in products.items():
        frame = pd.DataFrame(meta_rows, columns=list(METADATA_COLUMNS))
        path = out_dir / product / "metadata.parquet"
        frame.to_parquet(path, index=False, write_page_checksum=True)
    injected = {name: sum(d == name for d in defects) for name in DEFECTS}
    return {"tiles": len(cells), "tile_px": spec.tile_px, "defects": injected}


def _nodata_fraction(arrays: dict[str, np.ndarray], product: str) -> float:
    if product == "S2L2A":
        return float((arrays["B02"] == S2_NODATA).mean())
    vv = arrays["vv"]
    return float(((vv == S1_NODATA) | ~np.isfinite(vv)).mean())
