"""Damaged downstream data given to the evaluation: a GEO-Bench HDF5 sample (probe), a
BigEarthNet-v2 GeoTIFF band and LMDB value (CBIR). One line naming the file and the sample,
no result written, earlier results untouched."""

from __future__ import annotations

import json
import shutil
from importlib.resources import files

import h5py
import numpy as np
import pandas as pd
import pytest
from inject import CORRUPTIONS, assert_refused, corrupt, run_cli, snapshot, temporaries

from csmoe.config import validate_config
from csmoe.data.geobench import task_dir
from csmoe.data.geobench_format import get_task
from csmoe.data.geobench_pickle import write_sample

TASK = "m-eurosat"
BENV2_MOCK = files("configilm") / "extra" / "mock_data" / "BENv2"


def _evaluation(**cbir):
    params = validate_config({"targets": [], "mlflow": {}})["evaluation"]
    params["cbir"].update(cbir)
    return json.dumps(params)


def _command(kind, ckpt, out, *data, subset="243k"):
    params = _evaluation(k=3, sets={"benv2": subset})
    common = ["--checkpoint", str(ckpt), "--variant", "tiny", "--out-dir", str(out)]
    return ["evaluate", kind, "--params", params, *common, *data]


@pytest.fixture(scope="module")
def geobench(tmp_path_factory):
    """A small m-eurosat task written as GEO-Bench does (with fletcher32 checksums)."""
    root = tmp_path_factory.mktemp("geobench")
    spec = get_task(TASK)
    folder = task_dir(root, TASK)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    parts = {"train": ["t0", "t1", "t2", "t3"], "valid": ["v0", "v1"], "test": ["e0", "e1"]}
    for i, name in enumerate(n for names in parts.values() for n in names):
        bands = {b: rng.uniform(100, 3000, (16, 16)).astype(np.float32) for b in spec.stored}
        write_sample(folder / f"{name}.hdf5", spec, bands, i % spec.num_classes)
    (folder / "default_partition.json").write_text(json.dumps(parts))
    return root


@pytest.fixture
def results(tmp_path):
    """The output folder with an earlier good result in it."""
    out = tmp_path / "results"
    (out / TASK).mkdir(parents=True)
    (out / TASK / "cls.json").write_text('{"test": 50.0}\n')
    return out


def _band_offset(path, band):
    with h5py.File(path, "r") as handle:
        return handle[band].id.get_chunk_info(0).byte_offset


HDF5_CASES = {
    "truncated": "not a readable HDF5 file",
    "flipped": "band '04 - Red' unreadable",  # its fletcher32 checksum fails
    "empty": "not a readable HDF5 file",
    "wrong shape": "bands of different shapes",
    "nan": "band '04 - Red' holds NaN/inf values",
    "wrong type": "label of type <U5, expected finite numbers",
}


@pytest.mark.parametrize("how", HDF5_CASES)
def test_damaged_geobench_sample(trained, geobench, results, tmp_path, capsys, how):
    root = tmp_path / "geobench"
    shutil.copytree(geobench, root)
    sample = task_dir(root, TASK) / "t1.hdf5"
    spec = get_task(TASK)
    bands = {b: np.full((16, 16), 500, np.float32) for b in spec.stored}
    if how == "flipped":
        data = bytearray(sample.read_bytes())
        data[_band_offset(sample, "04 - Red") + 100] ^= 0x01
        sample.write_bytes(bytes(data))
    elif how in CORRUPTIONS:
        corrupt(sample, how)
    elif how == "wrong shape":
        write_sample(sample, spec, {**bands, "04 - Red": np.ones((8, 8), np.float32)}, 1)
    elif how == "nan":
        bands["04 - Red"][3, 3] = np.nan
        write_sample(sample, spec, bands, 1)
    else:
        write_sample(sample, spec, bands, "three")
    before = snapshot(results)
    ckpt = trained["out"] / "final.safetensors"
    data = ["--geobench", str(root), "--tasks", TASK, "--epoch", "final"]
    outcome = run_cli(_command("probe", ckpt, results, *data), capsys)
    assert_refused(outcome, sample, HDF5_CASES[how])
    assert snapshot(results) == before and not temporaries(tmp_path)


@pytest.fixture
def lmdb_set(tmp_path):
    root = tmp_path / "benv2"
    shutil.copytree(str(BENV2_MOCK), root)
    meta = pd.read_parquet(root / "metadata.parquet")
    first = meta[meta["split"] == "validation"].sort_values("patch_id").iloc[0]
    return root, first["patch_id"]


def _put(root, key, value):
    import lmdb

    env = lmdb.open(str(root / "BigEarthNet-V2-LMDB"), map_size=1 << 30)
    with env.begin(write=True) as txn:
        old = txn.get(key.encode())
        txn.put(key.encode(), value(bytes(old)))
    env.close()


LMDB_CASES = {
    "truncated": "not a safetensors record",
    "flipped": "not a safetensors record",  # in the record's header; see the README
    "empty": "not a safetensors record",
    "wrong shape": "band B02 has shape (50, 50), not a divisor of 120",
}


@pytest.mark.parametrize("how", LMDB_CASES)
def test_damaged_benv2_lmdb_value(trained, lmdb_set, results, tmp_path, capsys, how):
    from safetensors.numpy import load, save

    root, patch = lmdb_set

    def damaged(value):
        if how == "truncated":
            return value[: len(value) // 2]
        if how == "flipped":
            return bytes(b ^ 0x5A if 8 <= i < 24 else b for i, b in enumerate(value))
        if how == "empty":
            return b""
        return save({**load(value), "B02": np.zeros((50, 50), np.uint16)})

    _put(root, patch, damaged)
    before = snapshot(results)
    ckpt = trained["out"] / "final.safetensors"
    outcome = run_cli(
        _command("cbir", ckpt, results, "--benv2", str(root), "--sets", "benv2"), capsys
    )
    where = patch if how == "wrong shape" else root / "BigEarthNet-V2-LMDB"
    assert_refused(outcome, where, LMDB_CASES[how])
    assert snapshot(results) == before and not temporaries(tmp_path)


@pytest.fixture(scope="module")
def tiff_set(tmp_path_factory):
    """A generated BigEarthNet-v2 set in the GeoTIFF layout."""
    from tiles_fixtures import make_cells

    from csmoe.world.benv2_world import Benv2WorldSpec, write_world

    root = tmp_path_factory.mktemp("benv2") / "benv2"
    samples = {"train": 1, "validation": 4, "test": 6}
    write_world(make_cells(6), root, Benv2WorldSpec(samples=samples, seed=0))
    return root


TIFF_CASES = {
    "truncated": "unreadable",
    "empty": "unreadable",
    "wrong shape": "band B02 has shape (50, 50), not a divisor of 120",
}


@pytest.mark.parametrize("how", TIFF_CASES)
def test_damaged_benv2_geotiff_band(trained, tiff_set, results, tmp_path, capsys, how):
    from csmoe.data.benv2 import S2_DIR, s2_tile
    from csmoe.world.benv2_world import write_tif

    root = tmp_path / "benv2"
    shutil.copytree(tiff_set, root)
    meta = pd.read_parquet(root / "metadata.parquet")
    patch = meta[meta["split"] == "validation"].sort_values("patch_id").iloc[0]["patch_id"]
    band = root / S2_DIR / s2_tile(patch) / patch / f"{patch}_B02.tif"
    if how in CORRUPTIONS:
        corrupt(band, how)
    else:
        write_tif(band, np.zeros((50, 50), np.uint16), "EPSG:32633", None)
    before = snapshot(results)
    ckpt = trained["out"] / "final.safetensors"
    command = _command("cbir", ckpt, results, "--benv2", str(root), "--sets", "benv2", subset="all")
    outcome = run_cli(command, capsys)
    assert_refused(outcome, patch if how == "wrong shape" else band, TIFF_CASES[how])
    assert snapshot(results) == before and not temporaries(tmp_path)
