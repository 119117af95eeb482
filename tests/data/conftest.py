"""Fixtures of the real-data tests: a small patch store (store and loader tests) and a
geobench-style pickler (GEO-Bench reader and writer tests)."""

from __future__ import annotations

import pickle
import sys
import types

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


class _Band:  # attribute layout of geobench.dataset.BandInfo subclasses
    def __init__(self, name, alt_names=(), spatial_resolution=10, wavelength=None):
        self.name = name
        self.alt_names = alt_names
        self.spatial_resolution = spatial_resolution
        self.wavelength = wavelength


@pytest.fixture
def real_pickler(monkeypatch):
    """Pickle with a stand-in geobench.dataset module, then make geobench unimportable."""
    module = types.ModuleType("geobench.dataset")
    classes = {}
    for name in ("Sentinel1", "Sentinel2", "CloudProbability", "SegmentationClasses"):
        cls = type(name, (_Band,), {"__module__": "geobench.dataset"})
        setattr(module, name, cls)
        classes[name] = cls
    monkeypatch.setitem(sys.modules, "geobench", types.ModuleType("geobench"))
    monkeypatch.setitem(sys.modules, "geobench.dataset", module)

    def dump(obj):
        return str(pickle.dumps(obj))

    yield classes, dump
