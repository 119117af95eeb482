"""Generated BigEarthNet-v2 set: real layout, read back by the real reader, subsets, labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio

from csmoe.data import benv2
from csmoe.data.geobench_format import BEN43
from csmoe.world.benv2_world import CLC_CODES, Benv2WorldSpec, write_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    rows = [
        ("100U_10R", 44.0, 20.5, "Cfa", 40), ("101U_11R", 44.2, 20.7, "Dfb", 10),
        ("102U_12R", 45.0, 19.8, "Cfb", 80), ("103U_13R", 43.5, 21.0, "Cfa", 50),
        ("104U_14R", 44.8, 20.1, "Dfb", 30),
    ]  # fmt: skip
    cells = pd.DataFrame(rows, columns=["grid_cell", "centre_lat", "centre_lon", "climate",
                                        "landcover"])  # fmt: skip
    out = tmp_path_factory.mktemp("benv2")
    spec = Benv2WorldSpec(samples={"train": 16, "validation": 8, "test": 8}, serbia_share=0.5,
                          seed=1)  # fmt: skip
    counts = write_world(cells, out, spec)
    return out, counts


def test_layout_and_read_back(world):
    root, counts = world
    assert counts["patches"] == 32 and counts["train"] == 16
    data = benv2.load_pairs(root, "all", "test")
    assert data.s2.shape == (8, 10, 120, 120) and data.s1.shape == (8, 2, 120, 120)
    assert data.labels.sum(axis=1).min() >= 1
    meta = benv2.read_metadata(root)
    assert list(meta.columns[:8]) == ["patch_id", "labels", "split", "country", "s1_name",
                                      "s2v1_name", "contains_seasonal_snow",
                                      "contains_cloud_or_shadow"]  # fmt: skip
    s2_dir = root / benv2.S2_DIR / benv2.s2_tile(data.patch_ids[0]) / data.patch_ids[0]
    with rasterio.open(s2_dir / f"{data.patch_ids[0]}_B05.tif") as src:
        assert src.shape == (60, 60) and src.crs.to_epsg() // 100 in (326, 327)
    with rasterio.open(s2_dir / f"{data.patch_ids[0]}_B01.tif") as src:
        assert src.shape == (20, 20)


def test_subsets_follow_metadata(world):
    root, counts = world
    meta = benv2.read_metadata(root)
    n14 = sum(len(benv2.select(meta, "14k", s)) for s in ("train", "valid", "test"))
    n243 = sum(len(benv2.select(meta, "243k", s)) for s in ("train", "valid", "test"))
    assert n14 == counts["subset_14k"] > 0 and n243 == counts["subset_243k"]
    pairs = benv2.load_pairs(root, "14k", "train")
    kept = meta.set_index("patch_id").loc[pairs.patch_ids]
    assert set(kept.country) == {"Serbia"} and set(kept.season) == {"summer"}


def test_labels_follow_the_scene(world):
    root, _ = world
    data = benv2.load_pairs(root, "all", "train")
    # the reference map's classes give the labels back (those covering >= 5 %)
    for i, patch_id in enumerate(data.patch_ids[:6]):
        ref = root / benv2.REFERENCE_DIR / benv2.s2_tile(patch_id) / patch_id
        with rasterio.open(ref / f"{patch_id}_reference_map.tif") as src:
            codes, counts = np.unique(src.read(1), return_counts=True)
        present = {BEN43[CLC_CODES.index(c)] for c, n in zip(codes, counts, strict=True)
                   if n / counts.sum() >= 0.05}  # fmt: skip
        expected = sorted({benv2.BEN43_TO_19[x] for x in present} - {None})
        assert [benv2.BEN19[j] for j in np.flatnonzero(data.labels[i])] == expected
    # and the two sensors agree: patches with water are darker in VV than those without
    water = data.labels[:, benv2.BEN19.index("Inland waters")].astype(bool)
    vv = data.s1[:, 0].mean(axis=(1, 2))
    assert water.any() and (~water).any() and vv[water].mean() < vv[~water].mean()
