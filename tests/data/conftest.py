"""A small patch store built once for the store and loader tests."""

from __future__ import annotations

import pytest
from tiles_fixtures import make_cells, make_world

from csmoe.data.extract import build_store


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    world = make_world(root / "w", make_cells(12, seed=7))
    params = {"workers": 0, "chunk_patches": 4, "shard_patches": 8, "mix_patches": 16,
              "val_fraction": 0.1}  # fmt: skip
    build_store(world, root / "store.zarr", root / "stats.json", params, seed=0)
    return root / "store.zarr"
