"""The mini world's Major TOM writer: layout, stratified cap, and a round trip via the reader."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image
from tiles_fixtures import make_cells, make_world

from csmoe.data.bands import S2_MODEL_BANDS
from csmoe.data.majortom import (
    METADATA_COLUMNS,
    TileSkip,
    decode_tile,
    iter_raw_tiles,
    pair_tiles,
)
from csmoe.errors import InputError
from csmoe.world.majortom_world import WorldSpec, read_cells, select_tiles, utm_crs, write_world
from csmoe.world.scenes import cell_seed, render_scene


def test_layout_metadata_and_geotiffs(tmp_path):
    cells = make_cells(6)
    world = make_world(tmp_path, cells)
    import rasterio
    from rasterio.io import MemoryFile

    for product, bands in (("S2L2A", ["B02", "B05", "B01", "cloud_mask"]), ("S1RTC", ["vv"])):
        meta = pd.read_parquet(world / product / "metadata.parquet")
        assert list(meta.columns) == list(METADATA_COLUMNS)
        assert sorted(meta["grid_cell"]) == sorted(cells["grid_cell"])
        row = meta.iloc[5]
        assert row["parquet_url"] == "images/part_00001.parquet" and row["parquet_row"] == 1
        table = pq.read_table(world / product / row["parquet_url"])
        assert table.column("grid_cell")[1].as_py() == row["grid_cell"]
        sizes = {}
        for band in bands:
            with MemoryFile(table.column(band)[1].as_py()) as mem, mem.open() as src:
                sizes[band] = src.width
                assert src.crs == rasterio.crs.CRS.from_string(row["crs"])
                assert src.crs.to_epsg() == int(utm_crs(row["centre_lat"], row["centre_lon"])[5:])
                assert src.transform.a * src.width == pytest.approx(2560.0)  # 256 px at 10 m
        thumb = Image.open(io.BytesIO(table.column("thumbnail")[1].as_py()))
        assert thumb.format == "PNG" and thumb.size == (256, 256)
    assert sizes == {"vv": 256}


def test_s2_band_sizes_follow_resolution(tmp_path):
    world = make_world(tmp_path, make_cells(1))
    from rasterio.io import MemoryFile

    table = pq.read_table(world / "S2L2A" / "images" / "part_00000.parquet")
    for band, size in (("B02", 256), ("B05", 128), ("B8A", 128), ("B01", 43), ("B09", 43)):
        with MemoryFile(table.column(band)[0].as_py()) as mem, mem.open() as src:
            assert (src.width, src.dtypes[0]) == (size, "uint16"), band
    assert "B10" not in table.column_names  # L2A has no cirrus band


def test_round_trip_reader_returns_the_scene_whatever_the_baseline(tmp_path):
    cells = make_cells(6)
    world = make_world(tmp_path, cells)
    pairs, counts = pair_tiles(world)
    assert counts == {"unpaired": 0} and len(pairs) == len(cells)
    assert set(pairs["s2_offset"]) == {0, 1000}  # both sides of baseline 04.00 in six tiles
    i = S2_MODEL_BANDS.index("B05")
    for raw in iter_raw_tiles(pairs):
        tile = decode_tile(raw)
        cell = cells.set_index("grid_cell").loc[tile.grid_cell]
        scene = render_scene(
            cell.centre_lat, cell.centre_lon, cell.climate, int(cell.landcover), 256,
            cell_seed(tile.grid_cell, 3),
        )  # fmt: skip
        expected_10m = np.clip(np.rint(scene.s2_bands(["B02", "B08"])), 1, 65535)
        assert np.array_equal(tile.s2[[0, 3]], expected_10m.astype(np.uint16))
        # 20 m: 2x2 block mean at write, nearest neighbour back to 10 m at read
        b05 = scene.s2_bands(["B05"])[0].reshape(128, 2, 128, 2).mean(axis=(1, 3))
        expected_20m = np.clip(np.rint(b05), 1, 65535).astype(np.uint16)
        assert np.array_equal(tile.s2[i][::2, ::2], expected_20m)
        assert np.array_equal(tile.s2[i][1::2, 1::2], tile.s2[i][::2, ::2])
        np.testing.assert_allclose(tile.s1, scene.s1_db, atol=1e-4)
        assert not any(mask.any() for mask in tile.invalid.values())


def test_s2_values_carry_the_offset_of_their_baseline_and_dates_agree(tmp_path):
    """As in Major TOM Core: products of baseline 04.00 and later (25 January 2022 on) store
    reflectance x 10 000 + 1000, older ones reflectance x 10 000."""
    from rasterio.io import MemoryFile

    cells = make_cells(8)
    world = make_world(tmp_path, cells)
    meta = pd.read_parquet(world / "S2L2A" / "metadata.parquet")
    s1_meta = pd.read_parquet(world / "S1RTC" / "metadata.parquet")
    assert (meta["timestamp"] == s1_meta["timestamp"]).all()
    late = meta["product_id"].str.contains("_N0[4-9]")
    assert late.any() and not late.all()
    assert (late == (meta["timestamp"] >= pd.Timestamp("2022-01-25", tz="UTC"))).all()
    for row in meta.itertuples():
        stamp = f"{row.timestamp:%Y%m%dT%H%M%S}"
        assert row.product_id.startswith(("S2A_MSIL2A_", "S2B_MSIL2A_"))
        assert row.product_id[11:26] == stamp and stamp in s1_meta.product_id[row.Index]
        table = pq.read_table(world / "S2L2A" / row.parquet_url)
        with MemoryFile(table.column("B02")[row.parquet_row].as_py()) as mem, mem.open() as src:
            stored = src.read(1)
        scene = render_scene(
            row.centre_lat, row.centre_lon, *cells.set_index("grid_cell").loc[
                row.grid_cell, ["climate", "landcover"]], 256, cell_seed(row.grid_cell, 3),
        )  # fmt: skip
        expected = np.clip(np.rint(scene.s2_bands(["B02"])[0]) + 1000 * late[row.Index], 1, 65535)
        assert np.array_equal(stored, expected.astype(np.uint16)), row.product_id


def test_injected_defects_become_counted_problems(tmp_path):
    spec = WorldSpec(tile_px=256, rows_per_part=8, all_invalid_tiles=1, s2_nodata_wedge=0.25,
                     s1_border_nan=0.25, seed=1)  # fmt: skip
    summary = write_world(make_cells(8, seed=2), tmp_path / "w", spec)
    assert summary["defects"] == {"all_invalid": 1, "s2_nodata_wedge": 2, "s1_border_nan": 2}
    pairs, _ = pair_tiles(tmp_path / "w")
    seen = {"all_invalid": 0, "s2_nodata": 0, "nan": 0, "s1_nodata": 0}
    for raw in iter_raw_tiles(pairs):
        try:
            tile = decode_tile(raw)
        except TileSkip as skip:
            seen[skip.reason] += 1
            continue
        for reason, mask in tile.invalid.items():
            seen[reason] += int(mask.any())
    assert seen == {"all_invalid": 1, "s2_nodata": 2, "nan": 2, "s1_nodata": 2}
    meta = pd.read_parquet(tmp_path / "w" / "S2L2A" / "metadata.parquet")
    assert (meta["nodata"] == 1.0).sum() == 1 and (meta["nodata"] > 0).sum() == 3


def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    spec = WorldSpec(tile_px=128, rows_per_part=2, seed=5)
    for name, workers in (("a", 0), ("b", 2)):
        write_world(make_cells(3), tmp_path / name, spec, workers)
    for part in ("S1RTC/images/part_00001.parquet", "S2L2A/metadata.parquet"):
        assert pq.read_table(tmp_path / "a" / part).equals(pq.read_table(tmp_path / "b" / part))


def test_select_tiles_keeps_every_stratum():
    cells = make_cells(200, seed=4)
    n_strata = cells.groupby(["climate", "landcover"]).ngroups
    picked = select_tiles(cells, n_strata + 3, seed=0)
    assert len(picked) == n_strata + 3 and not picked["grid_cell"].duplicated().any()
    assert picked.groupby(["climate", "landcover"]).ngroups == n_strata
    assert picked.equals(select_tiles(cells, n_strata + 3, seed=0))
    assert not picked.equals(select_tiles(cells, n_strata + 3, seed=1))
    assert len(select_tiles(cells, None, 0)) == 200


def test_read_cells_names_the_problem(tmp_path):
    path = tmp_path / "cells.parquet"
    make_cells(3).drop(columns="climate").to_parquet(path)
    with pytest.raises(InputError, match=r"cells.parquet: missing columns \['climate'\]"):
        read_cells(path)
    path.write_text("not parquet")
    with pytest.raises(InputError, match="not a readable parquet"):
        read_cells(path)
    with pytest.raises(InputError, match="not found"):
        read_cells(tmp_path / "absent.parquet")
