"""The patch store's datasets: shapes, normalisation, whole-chunk batches, epochs, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiles_fixtures import make_cells, make_world

from csmoe.data.extract import build_store
from csmoe.data.store import ChunkBatches, PatchDataset, StoreLayout, make_loader, open_store
from csmoe.errors import ConfigError, InputError


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    world = make_world(root / "w", make_cells(12, seed=7))
    params = {"workers": 0, "chunk_patches": 4, "shard_patches": 8, "mix_patches": 16,
              "val_fraction": 0.1}  # fmt: skip
    build_store(world, root / "store.zarr", root / "stats.json", params, seed=0)
    return root / "store.zarr"


def _stack(dataset):
    items = [dataset[i] for i in range(len(dataset))]
    return {k: torch.stack([it[k] for it in items]) for k in ("s1", "s2")}


def test_items_have_model_shapes_and_split_sizes(store):
    train, val = PatchDataset(store, "train"), PatchDataset(store, "val")
    assert len(train) + len(val) == 48 and len(val) == round(0.1 * 48)
    item = train[0]
    assert item["s1"].shape == (2, 120, 120) and item["s2"].shape == (10, 120, 120)
    assert item["s1"].dtype == item["s2"].dtype == torch.float32


def test_train_split_is_normalised_per_band(store):
    # statistics come from a 1-in-16 pixel subsample, hence the tolerance
    x = _stack(PatchDataset(store, "train"))
    for key in ("s1", "s2"):
        mean = x[key].mean(dim=(0, 2, 3))
        std = x[key].std(dim=(0, 2, 3))
        torch.testing.assert_close(mean, torch.zeros_like(mean), atol=0.02, rtol=0)
        torch.testing.assert_close(std, torch.ones_like(std), atol=0.02, rtol=0)


def test_normalisation_uses_s1_in_db(store):
    stats = open_store(store).attrs["band_stats"]
    assert stats["s1"]["bands"] == ["VV", "VH"] and -30 < stats["s1"]["mean"][1] < -5
    assert stats["s2"]["bands"][:4] == ["B02", "B03", "B04", "B08"]


@pytest.mark.parametrize("workers", [0, 2])
def test_chunk_batches_cover_the_split_once_per_epoch(store, workers):
    reference = _stack(PatchDataset(store, "train"))
    batches = list(make_loader(store, "train", batch_size=5, workers=workers, seed=3))
    assert all(len(b["s2"]) == 5 for b in batches[:-1]) and len(batches[-1]["s2"]) <= 5
    got = {k: torch.cat([b[k] for b in batches]) for k in ("s1", "s2")}
    assert len(got["s2"]) == len(reference["s2"])
    # same patches, other order: compare the sorted per-patch checksums
    for key in ("s1", "s2"):
        a = got[key].double().sum(dim=(1, 2, 3)).sort().values
        b = reference[key].double().sum(dim=(1, 2, 3)).sort().values
        torch.testing.assert_close(a, b)


def test_epochs_reshuffle_deterministically(store):
    data = ChunkBatches(store, "train", batch_size=8, seed=1)

    def first_batch(epoch):
        data.set_epoch(epoch)
        return next(iter(data))["s2"]

    assert torch.equal(first_batch(0), first_batch(0))
    assert not torch.equal(first_batch(0), first_batch(1))


def test_ranks_split_the_chunks(store):
    n = [
        sum(len(b["s2"]) for b in ChunkBatches(store, "train", 4, rank=r, world_size=2))
        for r in (0, 1)
    ]
    assert sum(n) == len(PatchDataset(store, "train")) and min(n) > 0


@pytest.mark.parametrize("workers", [0, 2])
def test_full_batches_are_what_each_rank_yields(store, workers):
    # the pretraining loop sizes its epochs on this count: it must match the reads exactly
    for epoch in (0, 1):
        counts = []
        for rank in (0, 1):
            loader = make_loader(store, "train", 3, workers, seed=5, rank=rank, world_size=2,
                                 drop_last=True)  # fmt: skip
            loader.dataset.set_epoch(epoch)
            counts.append(sum(1 for _ in loader))
        data = ChunkBatches(store, "train", 3, seed=5, world_size=2)
        data.set_epoch(epoch)
        assert data.full_batches(workers).tolist() == counts


def test_bad_store_and_split(tmp_path, store):
    with pytest.raises(InputError, match="patch store not found"):
        PatchDataset(tmp_path / "absent.zarr")
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(InputError, match=r"empty\.zarr"):
        PatchDataset(tmp_path / "empty.zarr")
    with pytest.raises(ConfigError, match="split"):
        PatchDataset(store, "test")
    with pytest.raises(ConfigError, match="multiple"):
        StoreLayout.from_params({"chunk_patches": 3, "shard_patches": 8}, 120)


def test_writer_rejects_a_store_with_no_training_patch():
    from csmoe.data.store import band_stats_from_patches

    with pytest.raises(InputError, match="no training patch"):
        band_stats_from_patches(np.zeros((2, 12)), np.zeros((2, 12)), np.zeros(2, bool))
