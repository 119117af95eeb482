"""The Major TOM Core reader on bad input: errors that stop, skips that are counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tiles_fixtures import make_cells, make_world

from csmoe.data.majortom import (
    TileSkip,
    decode_tile,
    iter_raw_tiles,
    pair_tiles,
    read_metadata,
)
from csmoe.errors import InputError
from csmoe.world.majortom_world import encode_geotiff

PART = "images/part_00000.parquet"


def _edit_part(path, column, row, value):
    """Replace one cell of an image part file (``value=None`` drops the whole column)."""
    data = pq.read_table(path).to_pydict()
    if value is None:
        del data[column]
    else:
        data[column][row] = value
    pq.write_table(pa.Table.from_pydict(data), path, row_group_size=1)  # as Major TOM


def _decode_all(root):
    pairs, _ = pair_tiles(root)
    out = {}
    for raw in iter_raw_tiles(pairs):
        try:
            out[raw.grid_cell] = decode_tile(raw)
        except TileSkip as skip:
            out[raw.grid_cell] = skip
    return out


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path / "w", make_cells(3))


def test_corrupt_geotiff_bytes_skip_that_tile_only(world):
    _edit_part(world / "S2L2A" / PART, "B04", 1, b"II*\x00garbage")
    results = _decode_all(world)
    skip = results["501U_1R"]
    assert isinstance(skip, TileSkip) and skip.reason == "corrupt_geotiff"
    assert "B04" in str(skip) and "501U_1R" in str(skip)
    assert all(not isinstance(results[c], TileSkip) for c in ("500U_0R", "502U_2R"))


def test_missing_band_column_is_an_error_naming_file_and_band(world):
    _edit_part(world / "S2L2A" / PART, "B11", 0, None)
    pairs, _ = pair_tiles(world)
    with pytest.raises(InputError, match=r"S2L2A/images/part_00000.parquet: .*\['B11'\]"):
        next(iter_raw_tiles(pairs))


def test_s1_s2_size_mismatch_is_a_counted_skip(world):
    small = encode_geotiff(np.ones((200, 200), np.float32), "EPSG:32632", 0, 0, 10, -32768.0)
    _edit_part(world / "S1RTC" / PART, "vh", 2, small)
    skip = _decode_all(world)["502U_2R"]
    assert isinstance(skip, TileSkip) and skip.reason == "size_mismatch"
    assert "(200, 200)" in skip.detail and "(256, 256)" in skip.detail


def test_all_invalid_tile_is_a_counted_skip(world):
    nodata = encode_geotiff(np.full((256, 256), -32768, np.float32), "EPSG:32632", 0, 0, 10,
                            -32768.0)  # fmt: skip
    _edit_part(world / "S1RTC" / PART, "vv", 0, nodata)
    skip = _decode_all(world)["500U_0R"]
    assert isinstance(skip, TileSkip) and skip.reason == "all_invalid"


def test_invalid_pixels_are_masked_by_reason(world):
    vv = np.full((256, 256), 0.05, np.float32)
    vv[0, :5] = np.nan
    vv[10, :7] = -32768.0
    vv[20, :3] = 0.0  # zero power has no dB value
    encoded = encode_geotiff(vv, "EPSG:32632", 0, 0, 10, -32768.0)
    _edit_part(world / "S1RTC" / PART, "vv", 0, encoded)
    tile = _decode_all(world)["500U_0R"]
    assert tile.invalid["nan"].sum() == 5 and tile.invalid["s1_nodata"].sum() == 10
    assert np.isnan(tile.s1[:, 0, :5]).all() and np.isnan(tile.s1[:, 20, :3]).all()
    assert tile.s1[0, 30, 30] == pytest.approx(10 * np.log10(0.05), abs=1e-4)


def test_unpaired_cells_are_counted(world):
    meta = pd.read_parquet(world / "S1RTC" / "metadata.parquet")
    meta.iloc[1:].to_parquet(world / "S1RTC" / "metadata.parquet")
    pairs, counts = pair_tiles(world)
    assert counts == {"unpaired": 1} and "500U_0R" not in set(pairs["grid_cell"])


def test_closest_s1_in_time_is_paired(world):
    path = world / "S1RTC" / "metadata.parquet"
    meta = pd.read_parquet(path)
    extra = meta.iloc[[0]].assign(parquet_row=2, timestamp=meta["timestamp"][0] + pd.Timedelta(
        days=40))  # fmt: skip
    pd.concat([extra, meta]).to_parquet(path)
    pairs, _ = pair_tiles(world)
    assert len(pairs) == 3
    assert pairs.set_index("grid_cell").loc["500U_0R", "parquet_row_s1"] == 0


def test_real_archive_urls_map_to_local_part_files(world):
    path = world / "S2L2A" / "metadata.parquet"
    meta = pd.read_parquet(path)
    meta["parquet_url"] = (
        "https://huggingface.co/datasets/Major-TOM/Core-S2L2A/resolve/main/" + meta["parquet_url"]
    )
    meta.to_parquet(path)
    assert set(read_metadata(world / "S2L2A")["part_file"]) == {str(world / "S2L2A" / PART)}
    assert len(_decode_all(world)) == 3


def test_missing_or_broken_metadata_is_an_error(world):
    (world / "S1RTC" / "metadata.parquet").unlink()
    with pytest.raises(InputError, match=r"S1RTC/metadata\.parquet: Major TOM metadata not found"):
        pair_tiles(world)
    pd.DataFrame({"grid_cell": ["x"]}).to_parquet(world / "S1RTC" / "metadata.parquet")
    with pytest.raises(InputError, match="missing columns"):
        pair_tiles(world)


def test_row_outside_part_file_is_an_error(world):
    path = world / "S2L2A" / "metadata.parquet"
    pd.read_parquet(path).assign(parquet_row=9).to_parquet(path)
    pairs, _ = pair_tiles(world)
    with pytest.raises(InputError, match="parquet_row 9 outside"):
        next(iter_raw_tiles(pairs))


def test_part_file_without_one_row_per_row_group_is_an_error(world):
    path = world / "S1RTC" / PART
    pq.write_table(pq.read_table(path), path)  # all rows in one row group
    pairs, _ = pair_tiles(world)
    with pytest.raises(InputError, match="row group 0 holds 3 rows, not 1"):
        list(iter_raw_tiles(pairs))


def _set_product_ids(world, ids):
    path = world / "S2L2A" / "metadata.parquet"
    meta = pd.read_parquet(path)
    meta["product_id"] = meta["grid_cell"].map(ids)
    meta.to_parquet(path)


def _s2_id(baseline):
    return f"S2A_MSIL2A_20220301T101021_N{baseline}_R022_T32TQM_20220301T130807"


def test_offset_removed_from_baseline_04_00_on_and_kept_before(world):
    # B02 of the first tile: a nodata column, dark pixels below the offset, the rest bright
    b02 = np.full((256, 256), 1500, np.uint16)
    b02[:, 0] = 0
    b02[100:110, 100:110] = 700
    _edit_part(world / "S2L2A" / PART, "B02", 0, encode_geotiff(b02, "EPSG:32632", 0, 0, 10, 0))
    cells = ["500U_0R", "501U_1R", "502U_2R"]
    _set_product_ids(world, dict(zip(cells, map(_s2_id, ("0400", "0214", "0509")), strict=True)))
    stored = {}
    for raw in iter_raw_tiles(pair_tiles(world, remove_s2_offset=False)[0]):
        stored[raw.grid_cell] = decode_tile(raw)
    harmonised = _decode_all(world)  # remove_s2_offset is the default
    for cell, offset in zip(cells, (1000, 0, 1000), strict=True):
        before, after = stored[cell].s2.astype(int), harmonised[cell].s2.astype(int)
        assert np.array_equal(after, np.maximum(before - offset, 0)), cell
        assert harmonised[cell].s2_baseline == stored[cell].s2_baseline
    assert harmonised["501U_1R"].s2_baseline == "02.14"
    # the nodata mask comes from the stored values: harmonised zeros are valid pixels
    tile = harmonised["500U_0R"]
    assert (tile.s2[0, 100:110, 100:110] == 0).all() and (tile.s2[0, 5:, 5:50] == 500).all()
    assert tile.invalid["s2_nodata"].sum() == 256 and tile.invalid["s2_nodata"][:, 0].all()


def test_product_id_without_baseline_is_an_error_unless_offset_kept(world):
    _set_product_ids(world, {"500U_0R": _s2_id("0400"), "501U_1R": "S2A_MSIL2A_20220301T101021",
                             "502U_2R": _s2_id("0214")})  # fmt: skip
    with pytest.raises(InputError, match=r"S2L2A/metadata\.parquet: 1 product id\(s\) without"):
        pair_tiles(world)
    pairs, _ = pair_tiles(world, remove_s2_offset=False)
    assert dict(zip(pairs["grid_cell"], pairs["s2_baseline"], strict=True)) == {
        "500U_0R": "04.00", "501U_1R": "unknown", "502U_2R": "02.14",
    }  # fmt: skip
    assert (pairs["s2_offset"] == 0).all()
