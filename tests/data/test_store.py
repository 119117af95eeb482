"""The patch store itself: band statistics in its attrs, opening checks, layout, writer."""

from __future__ import annotations

import numpy as np
import pytest

from csmoe.data.store import StoreLayout, band_stats_from_patches, open_store
from csmoe.errors import ConfigError, InputError


def test_normalisation_uses_s1_in_db(store):
    stats = open_store(store).attrs["band_stats"]
    assert stats["s1"]["bands"] == ["VV", "VH"] and -30 < stats["s1"]["mean"][1] < -5
    assert stats["s2"]["bands"][:4] == ["B02", "B03", "B04", "B08"]


def test_bad_store_and_layout(tmp_path):
    with pytest.raises(InputError, match="patch store not found"):
        open_store(tmp_path / "absent.zarr")
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(InputError, match=r"empty\.zarr"):
        open_store(tmp_path / "empty.zarr")
    with pytest.raises(ConfigError, match="multiple"):
        StoreLayout.from_params({"chunk_patches": 3, "shard_patches": 8}, 120)


def test_writer_rejects_a_store_with_no_training_patch():
    with pytest.raises(InputError, match="no training patch"):
        band_stats_from_patches(np.zeros((2, 12)), np.zeros((2, 12)), np.zeros(2, bool))
