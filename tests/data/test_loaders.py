"""The patch store's datasets: shapes, normalisation, whole-chunk batches, epochs, ranks,
bad input."""

from __future__ import annotations

import pytest
import torch

from csmoe.data.loaders import ChunkBatches, PatchDataset, make_loader
from csmoe.errors import ConfigError, InputError


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
    with pytest.raises(ConfigError, match="split"):
        PatchDataset(store, "test")


def _damaged_copy(store, tmp_path, shard=1):
    """A copy of the store with bytes flipped in the middle of one S2 shard file."""
    import shutil

    copy = tmp_path / "store.zarr"
    shutil.copytree(store, copy)
    path = copy / "s2" / "c" / str(shard) / "0" / "0" / "0"
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 16):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return copy, path


def test_a_damaged_chunk_names_its_shard_file_and_patches(store, tmp_path):
    # it used to fail mid-epoch with a bare zarr/blosc traceback (or decode silently)
    copy, shard = _damaged_copy(store, tmp_path)
    reader = PatchDataset(copy, "train").reader
    reader.read("s2", slice(0, 4))  # the first shard is intact
    with pytest.raises(InputError, match=rf"{shard}: patches 8-11 unreadable .*rebuild it"):
        reader.read("s2", slice(8, 12))


@pytest.mark.parametrize("workers", [0, 1])
def test_a_damaged_chunk_read_by_a_loader_is_one_line(store, tmp_path, workers):
    from csmoe.data.loaders import worker_errors
    from csmoe.errors import CsmoeError

    copy, shard = _damaged_copy(store, tmp_path)
    loader = make_loader(copy, "train", batch_size=4, workers=workers, seed=0)
    with pytest.raises(CsmoeError) as info:
        list(worker_errors(loader))
    assert str(info.value).startswith(f"{shard}: patches 8-") and "\n" not in str(info.value)


def test_store_attributes_are_checked(store, tmp_path):
    import json
    import shutil

    copy = tmp_path / "store.zarr"
    shutil.copytree(store, copy)
    meta = json.loads((copy / "zarr.json").read_text())
    meta["attributes"]["band_stats"]["s2"]["std"][2] = 0.0
    (copy / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"zarr\.json: s2 std of B04 is 0\.0 \(not positive\)"):
        PatchDataset(copy)
