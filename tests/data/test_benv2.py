"""BigEarthNet-v2 reader on real patches: configilm's reBEN LMDB sample (24 S2 + 24 S1) and
bigearthnet_common's six BigEarthNet v1 pairs laid out as reBEN GeoTIFF folders."""

from __future__ import annotations

import ast
import json
import shutil
import tarfile
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest

from csmoe.data import benv2
from csmoe.data.geobench_format import BEN43
from csmoe.errors import InputError

MOCK = files("configilm") / "extra" / "mock_data" / "BENv2"
BEN_COMMON = files("bigearthnet_common")


def _constants():
    """bigearthnet_common.constants' literals, without importing it (it needs natsort/rich)."""
    tree = ast.parse((BEN_COMMON / "constants.py").read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("OLD2NEW_LABELS_DICT", "NEW_LABELS_ORIGINAL_ORDER"):
                out[name] = ast.literal_eval(node.value)
    return out


def test_label_tables_match_bigearthnet_common():
    consts = _constants()
    assert tuple(consts["NEW_LABELS_ORIGINAL_ORDER"]) == benv2.BEN19_ORIGINAL
    assert tuple(consts["OLD2NEW_LABELS_DICT"]) == BEN43
    assert consts["OLD2NEW_LABELS_DICT"] == benv2.BEN43_TO_19


@pytest.fixture
def lmdb_root(tmp_path):
    """The real reBEN sample with both metadata files (LMDB is opened read-only in place)."""
    root = tmp_path / "benv2"
    root.mkdir()
    for name in (benv2.METADATA, benv2.SNOW_CLOUD_METADATA):
        shutil.copy(MOCK / name, root / name)
    (root / benv2.LMDB_DIR).symlink_to(MOCK / benv2.LMDB_DIR)
    return root


def test_real_lmdb_pairs(lmdb_root):
    meta = pd.read_parquet(lmdb_root / benv2.METADATA)
    data = benv2.load_pairs(lmdb_root, "all", "train")
    assert len(data.patch_ids) == (meta.split == "train").sum() == 6
    assert data.s2.shape == (6, 10, 120, 120) and data.s1.shape == (6, 2, 120, 120)
    # physical units: S2 reflectance ×10 000, S1 backscatter in dB (VV brighter than VH)
    assert 100 < data.s2.mean() < 5000
    assert -30 < data.s1[:, 1].mean() < data.s1[:, 0].mean() < 0
    # 20 m bands are nearest-neighbour upsampled: constant 2×2 blocks
    b05 = data.s2[:, 4]
    assert np.array_equal(b05[:, ::2, ::2], b05[:, 1::2, 1::2])
    row = meta.set_index("patch_id").loc[data.patch_ids[0]]
    names = [benv2.BEN19[i] for i in np.flatnonzero(data.labels[0])]
    assert names == sorted(row["labels"])


def test_real_subsets_by_season(lmdb_root):
    meta = benv2.read_metadata(lmdb_root, include_snow_cloud=True)
    assert len(meta) == 24
    # the sample: Austria in June (summer), Finland in November (autumn)
    assert set(meta.loc[meta.country == "Austria", "season"]) == {"summer"}
    assert set(meta.loc[meta.country == "Finland", "season"]) == {"autumn"}
    kept = benv2.select(meta, "243k", "test")
    assert set(kept.country) == {"Austria", "Finland"}
    assert benv2.select(meta, "14k", "test").empty  # no Serbian patch in the sample
    with pytest.raises(InputError, match="no patches in subset '14k'"):
        benv2.load_pairs(lmdb_root, "14k", "test")


def test_missing_patch_named(lmdb_root):
    meta = pd.read_parquet(lmdb_root / benv2.METADATA)
    meta.loc[meta.index[0], "s1_name"] = "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_99_99"
    meta.loc[meta.index[0], "split"] = "train"
    meta.to_parquet(lmdb_root / benv2.METADATA)
    with pytest.raises(InputError, match="S1A_IW_GRDH_1SDV_20170613T165043_33UUP_99_99 is missing"):
        benv2.load_pairs(lmdb_root, "all", "train")


@pytest.fixture(scope="module")
def v1_as_v2(tmp_path_factory):
    """The six real BigEarthNet v1 pairs, rearranged into the reBEN GeoTIFF layout."""
    tmp = tmp_path_factory.mktemp("ben1")
    for sensor in ("S1", "S2"):
        with tarfile.open(BEN_COMMON / f"BigEarthNet-{sensor}-Example.tar.bz2") as tar:
            tar.extractall(tmp, filter="data")
    root = tmp / "v2"
    rows = []
    for s1_dir in sorted((tmp / "BigEarthNet-S1-Example").iterdir()):
        meta = json.loads((s1_dir / f"{s1_dir.name}_labels_metadata.json").read_text())
        s2v1 = meta["corresponding_s2_patch"]
        # v2 names carry the tile; v1 names do not, so borrow the tile of the S1 name
        tile = s1_dir.name.split("_")[5]
        s2_parts = s2v1.split("_")
        patch_id = "_".join([*s2_parts[:3], "N9999", "R000", f"T{tile}", *s2_parts[3:]])
        s2_dest = root / benv2.S2_DIR / benv2.s2_tile(patch_id) / patch_id
        s2_dest.mkdir(parents=True)
        for tif in (tmp / "BigEarthNet-S2-Example" / s2v1).glob("*.tif"):
            shutil.copy(tif, s2_dest / tif.name.replace(s2v1, patch_id))
        s1_dest = root / benv2.S1_DIR / benv2.s1_product(s1_dir.name) / s1_dir.name
        shutil.copytree(s1_dir, s1_dest)
        labels = sorted({benv2.BEN43_TO_19[x] for x in meta["labels"]} - {None})
        rows.append(dict(patch_id=patch_id, labels=labels, split="test", country="?",
                         s1_name=s1_dir.name, s2v1_name=s2v1, contains_seasonal_snow=False,
                         contains_cloud_or_shadow=False))  # fmt: skip
    pd.DataFrame(rows).to_parquet(root / benv2.METADATA)
    return root


def test_real_v1_pairs_as_geotiff_folders(v1_as_v2):
    data = benv2.load_pairs(v1_as_v2, "all", "test")
    assert data.s2.shape == (6, 10, 120, 120) and data.s1.shape == (6, 2, 120, 120)
    assert data.labels.sum(axis=1).min() >= 1
    assert -35 < data.s1.mean() < 0 and data.s2.mean() > 50


def test_corrupt_band_named(v1_as_v2, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(v1_as_v2, root)
    victim = next((root / benv2.S2_DIR).rglob("*_B08.tif"))
    victim.write_bytes(b"not a tiff")
    with pytest.raises(InputError, match=r"_B08\.tif.*band B08"):
        benv2.load_pairs(root, "all", "test")


def test_missing_patch_folder_named(v1_as_v2, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(v1_as_v2, root)
    victim = next((root / benv2.S1_DIR).glob("*/*"))
    shutil.rmtree(victim)
    with pytest.raises(InputError, match=f"patch {victim.name} is missing from the store"):
        benv2.load_pairs(root, "all", "test")


def _first_pair_sum(reader):
    s1, s2 = reader[0]
    return float(s1.sum() + s2.sum())


def test_lazy_reader_batches_and_forked_workers(lmdb_root):
    import multiprocessing

    whole = benv2.load_pairs(lmdb_root, "all", "test")
    reader = benv2.open_pairs(lmdb_root, "all", "test")
    parts = list(reader.batches(4))
    assert [len(p.patch_ids) for p in parts] == [4, 2]
    assert np.array_equal(np.concatenate([p.s2 for p in parts]), whole.s2)
    assert np.array_equal(np.concatenate([p.labels for p in parts]), whole.labels)
    # the reader is pickled to the worker, which opens its own LMDB environment
    expected = _first_pair_sum(reader)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_first_pair_sum, (reader,)) == expected
    reader.close()
