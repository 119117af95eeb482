"""Patch extraction: whole valid patches only, every drop counted, nothing partial left behind."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zarr
from tiles_fixtures import make_cells, make_world

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))  # the suite's helpers
from inject import deadline

from csmoe.data import store as store_module
from csmoe.data.extract import build_store, cut_patches
from csmoe.data.majortom import Tile
from csmoe.errors import ConfigError, InputError

PARAMS = {"workers": 0, "chunk_patches": 4, "shard_patches": 8, "mix_patches": 8}


def _tile(size=256):
    rng = np.random.default_rng(0)
    s2 = rng.integers(1, 5000, (10, size, size)).astype(np.uint16)
    s1 = rng.normal(-12, 3, (2, size, size)).astype(np.float32)
    invalid = {k: np.zeros((size, size), bool) for k in ("nan", "s1_nodata", "s2_nodata")}
    return Tile("1U_1R", s2, s1, invalid)


def test_cut_counts_partial_and_invalid_patches_by_reason():
    tile = _tile()
    tile.invalid["nan"][5, 5] = True  # patch (0, 0)
    tile.invalid["s1_nodata"][130, 10] = True  # patch (1, 0)
    tile.invalid["s2_nodata"][10, 130] = True  # patch (0, 1) ...
    tile.invalid["nan"][15, 135] = True  # ... counted once, under the first reason
    tile.invalid["s2_nodata"][250, 250] = True  # in the dropped edge strip: no extra count
    patches = cut_patches(tile, 120)
    assert dict(patches.dropped) == {"partial_edge": 5, "nan": 2, "s1_nodata": 1, "s2_nodata": 0}
    assert patches.positions.tolist() == [[1, 1]]
    assert np.array_equal(patches.s2[0], tile.s2[:, 120:240, 120:240])
    assert np.array_equal(patches.s1[0], tile.s1[:, 120:240, 120:240])


def test_full_size_major_tom_tile_gives_64_patches():
    patches = cut_patches(_tile(1068), 120)
    assert len(patches.s2) == 64 and patches.dropped["partial_edge"] == 17


def test_store_and_stats_add_up(tmp_path):
    world = make_world(tmp_path / "w", make_cells(10), all_invalid_tiles=1, s2_nodata_wedge=0.2,
                       s1_border_nan=0.2)  # fmt: skip
    stats = build_store(world, tmp_path / "store.zarr", tmp_path / "stats.json", PARAMS, seed=0)
    assert stats == json.loads((tmp_path / "stats.json").read_text())
    assert stats["tiles_in"] == 10 and stats["tiles_skipped"]["all_invalid"] == 1
    used = stats["tiles_used"]
    assert used == 9 and stats["patches_dropped"]["partial_edge"] == 5 * used
    invalid = sum(v for k, v in stats["patches_dropped"].items() if k != "partial_edge")
    assert invalid > 0 and stats["patches_written"] + invalid == 4 * used
    assert stats["split"]["val"] == round(0.05 * stats["patches_written"])
    assert stats["paper"] == {"tiles": 18846, "patches": 1055080, "val_fraction": 0.05}
    group = zarr.open_group(str(tmp_path / "store.zarr"), mode="r")
    assert group["s2"].shape == (stats["patches_written"], 10, 120, 120)
    assert group["s1"].shape[1:] == (2, 120, 120) and np.isfinite(group["s1"][:]).all()
    assert (group["s2"][:] > 0).all()
    tiles = group["tile"][:]
    assert set(tiles) == set(range(len(group.attrs["tiles"])))  # tiles with a valid patch
    assert len(set(tiles[:8])) > 2  # the first shard mixes patches of several tiles


def test_same_seed_same_store_whatever_the_workers(tmp_path):
    # with a skipped tile, so that a TileSkip has to cross the process pool too
    world = make_world(tmp_path / "w", make_cells(5), all_invalid_tiles=1)
    build_store(world, tmp_path / "a.zarr", tmp_path / "a.json", PARAMS, seed=1)
    build_store(world, tmp_path / "b.zarr", tmp_path / "b.json", {**PARAMS, "workers": 2}, 1)
    a, b = (zarr.open_group(str(tmp_path / n), mode="r") for n in ("a.zarr", "b.zarr"))
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()
    for name in ("s1", "s2", "split", "tile", "position"):
        assert np.array_equal(a[name][:], b[name][:], equal_nan=True), name


def test_failure_leaves_no_store_and_no_stats(tmp_path, monkeypatch):
    world = make_world(tmp_path / "w", make_cells(2))

    def boom(self, val_fraction):
        raise OSError("disk full")

    monkeypatch.setattr(store_module.PatchWriter, "close", boom)
    with pytest.raises(OSError, match="disk full"):
        build_store(world, tmp_path / "out" / "store.zarr", tmp_path / "out" / "stats.json",
                    PARAMS, seed=0)  # fmt: skip
    assert list((tmp_path / "out").iterdir()) == []


def test_no_usable_tile_is_an_error(tmp_path):
    world = make_world(tmp_path / "w", make_cells(1), all_invalid_tiles=1)
    with pytest.raises(InputError, match="no usable tile"):
        build_store(world, tmp_path / "s.zarr", tmp_path / "s.json", PARAMS, seed=0)
    assert not (tmp_path / "s.zarr").exists()


def test_shards_must_hold_whole_chunks(tmp_path):
    world = make_world(tmp_path / "w", make_cells(1))
    with pytest.raises(ConfigError, match="multiple of chunk_patches"):
        build_store(world, tmp_path / "s.zarr", tmp_path / "s.json",
                    {**PARAMS, "shard_patches": 6}, seed=0)  # fmt: skip


def _break_part(world, how):
    import pyarrow as pa
    import pyarrow.parquet as pq

    part = world / "S2L2A" / "images" / "part_00000.parquet"
    if how == "truncated":
        part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    elif how == "missing band column":
        data = pq.read_table(part).to_pydict()
        del data["B11"]
        pq.write_table(pa.Table.from_pydict(data), part, row_group_size=1)
    else:  # a metadata row pointing past the part's row groups
        meta = pd.read_parquet(world / "S2L2A" / "metadata.parquet")
        meta.loc[0, "parquet_row"] = 99
        meta.to_parquet(world / "S2L2A" / "metadata.parquet")
    return part


@pytest.mark.parametrize("how", ["truncated", "missing band column", "row out of range"])
def test_a_broken_part_file_stops_extraction_promptly_with_workers(tmp_path, how):
    # with workers = 1 (the default) this used to hang forever
    world = make_world(tmp_path / "w", make_cells(6))
    part = _break_part(world, how)
    params = {**PARAMS, "workers": 1}
    with deadline(60), pytest.raises(InputError, match=rf"{part}: "):
        build_store(world, tmp_path / "s.zarr", tmp_path / "s.json", params, seed=0)
    assert not (tmp_path / "s.zarr").exists() and not (tmp_path / "s.json").exists()


def test_stats_count_baselines_and_offset_moves_s2_means_by_its_share(tmp_path):
    world = make_world(tmp_path / "w", make_cells(10))
    runs = {}
    for removed in (True, False):
        out = tmp_path / str(removed)
        params = {**PARAMS, "remove_s2_offset": removed}
        runs[removed] = build_store(world, out / "store.zarr", out / "stats.json", params, seed=0)
    summary = runs[True]["s2_offset"]
    per_baseline = summary["tiles_per_baseline"]
    assert sum(per_baseline.values()) == runs[True]["tiles_used"] == 10
    assert min(per_baseline) < "04.00" <= max(per_baseline)  # the mini world has both kinds
    late_tiles = sum(n for b, n in per_baseline.items() if b >= "04.00")
    assert summary["tiles_offset_removed"] == late_tiles
    assert runs[False]["s2_offset"] == {**summary, "removed": False, "tiles_offset_removed": 0}
    # same patches and split either way: the kept offset raises every S2 band mean by 1000
    # times the share of training patches from tiles of baseline 04.00 and later
    group = zarr.open_group(str(tmp_path / "True" / "store.zarr"), mode="r")
    meta = pd.read_parquet(world / "S2L2A" / "metadata.parquet").set_index("grid_cell")
    tiles = np.array(group.attrs["tiles"])[group["tile"][:]]
    late = meta.loc[tiles, "product_id"].str.contains("_N0[4-9]").to_numpy()
    share = late[group["split"][:] == 0].mean()
    assert 0 < share < 1
    means = {k: np.array(run["band_stats"]["s2"]["mean"]) for k, run in runs.items()}
    shift = means[False] - means[True]
    np.testing.assert_allclose(shift, 1000 * share, rtol=1e-9)
