"""Damaged Major TOM inputs (image part files, metadata, GeoTIFF bands) to ``csmoe data
extract``, with a worker pool as in the default config: one line naming the file (a tile whose
GeoTIFF bytes do not decode is a counted skip, see the README), earlier outputs untouched."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
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
from tiles_fixtures import make_cells, make_world

PART = "images/part_00000.parquet"
PARAMS = {"workers": 1, "chunk_patches": 4, "shard_patches": 8, "mix_patches": 8}


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A mini Major TOM world and the store and stats extracted from it."""
    root = tmp_path_factory.mktemp("majortom")
    world = make_world(root / "world", make_cells(4))
    out = root / "patches"
    args = _args(world, out)
    from csmoe.cli import main

    assert main(args) == 0
    return world, out


def _args(world, out):
    return [
        "data",
        "extract",
        "--tiles",
        str(world),
        "--store",
        str(out / "store.zarr"),
        "--stats",
        str(out / "stats.json"),
        "--params",
        json.dumps(PARAMS),
    ]


@pytest.fixture
def job(good, tmp_path):
    """A copy of the world to damage, and of the earlier outputs that must stay as they were."""
    world, out = good
    shutil.copytree(world, tmp_path / "world")
    shutil.copytree(out, tmp_path / "patches")
    return tmp_path / "world", tmp_path / "patches", snapshot(tmp_path / "patches")


def _rewrite(path, edit):
    table = pq.read_table(path).to_pydict()
    edit(table)
    pq.write_table(pa.Table.from_pydict(table), path, row_group_size=1, write_page_checksum=True)


PART_CASES = {
    "truncated": "not a readable parquet file",
    "flipped": "CRC checksum verification failed",
    "empty": "not a readable parquet file",
    "missing band column": "missing band columns ['B11']",
    "row out of range": "parquet_row 7 outside 0..3",
}


@pytest.mark.parametrize("how", PART_CASES)
def test_damaged_part_file(job, capsys, how):
    world, out, before = job
    part = world / "S2L2A" / PART
    if how == "flipped":
        flip_in_column(part, "B04")
    elif how in CORRUPTIONS:
        corrupt(part, how)
    elif how == "missing band column":
        _rewrite(part, lambda t: t.pop("B11"))
    else:
        meta = pd.read_parquet(world / "S2L2A" / "metadata.parquet")
        meta.loc[1, "parquet_row"] = 7
        meta.to_parquet(world / "S2L2A" / "metadata.parquet")
    assert_refused(run_cli(_args(world, out), capsys), part, PART_CASES[how])
    assert snapshot(out) == before and not temporaries(out)


META_CASES = {
    "truncated": "not a readable parquet file",
    "flipped": "CRC checksum verification failed",
    "empty": "not a readable parquet file",
    "no rows": "no S1/S2 pair found",
    "wrong type": "columns of the wrong type",
}


@pytest.mark.parametrize("how", META_CASES)
def test_damaged_metadata(job, capsys, how):
    world, out, before = job
    meta = world / "S1RTC" / "metadata.parquet"
    frame = pd.read_parquet(meta)
    if how == "flipped":
        flip_in_column(meta, "grid_cell")
    elif how in CORRUPTIONS:
        corrupt(meta, how)
    elif how == "no rows":
        frame.iloc[:0].to_parquet(meta)
    else:
        frame.astype({"parquet_row": str}).to_parquet(meta)
    where = world if how == "no rows" else meta
    assert_refused(run_cli(_args(world, out), capsys), where, META_CASES[how])
    assert snapshot(out) == before and not temporaries(out)


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_damaged_geotiff_band_costs_its_tile(job, capsys, how):
    world, out, _ = job

    def damage(table):
        data = bytearray(table["B04"][1])
        if how == "truncated":
            data = data[: len(data) // 2]
        elif how == "flipped":  # inside the compressed pixels
            for i in range(len(data) // 2, len(data) // 2 + 64):
                data[i] ^= 0xA5
        else:
            data = bytearray()
        table["B04"][1] = bytes(data)

    _rewrite(world / "S2L2A" / PART, damage)
    outcome = run_cli(_args(world, out), capsys)
    assert outcome.status == 0 and "Traceback" not in outcome.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["tiles_skipped"]["corrupt_geotiff"] == 1 and stats["tiles_used"] == 3

    def damage_all(table):
        table["B04"] = [b"" for _ in table["B04"]]

    _rewrite(world / "S2L2A" / PART, damage_all)
    before = snapshot(out)
    outcome = run_cli(_args(world, out), capsys)
    assert_refused(outcome, world, "no usable tile", "corrupt_geotiff")
    assert snapshot(out) == before and not temporaries(out)
