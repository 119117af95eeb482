"""The training patch store (zarr v3) and the PyTorch datasets that read it.

Layout of ``store.zarr`` (one zarr v3 group)::

    s2        [N, 10, 120, 120] uint16   reflectance ×10 000, S2_MODEL_BANDS order
    s1        [N, 2, 120, 120]  float32  backscatter dB (VV, VH)
    split     [N] uint8                  0 = train, 1 = validation
    tile      [N] int32                  index into attrs["tiles"] (grid cell of the patch)
    position  [N, 2] int16               patch row/col inside its tile
    attrs: bands, units, patch_px, band_stats (per-band mean/std of the train split), tiles

Why this shape:

- **Physical units on disk, normalised on read.** Normalisation statistics live in the attrs
  (and in stats.json); keeping raw uint16 S2 halves the size against float32 and lets the
  statistics change without rewriting the store.
- **Chunks along the patch axis only** (``chunk_patches`` whole patches, all bands): one chunk
  is one contiguous, independently compressed unit of a batch, so a batched read decompresses
  exactly the patches it returns and nothing else. Small chunks (4 patches by default) keep
  random access (:class:`PatchDataset`, which decodes a whole chunk per item) cheap; bigger
  ones read contiguous runs a little faster (bench/README.md). **Shards** of
  ``shard_patches`` patches group chunks into one file each (a million patches make ~4 k
  files, not a million), and a shard is written in one go, never rewritten.
- **Blosc lz4 with (bit)shuffle** by default: the store is read every epoch, so decode speed
  wins over size. S1 (float32 dB with speckle) barely compresses with any codec, which
  caps the total ratio near 1.4 whatever the codec; zstd gains on S2 only and decodes slower
  (bench/data_loader.py measures both and no compression).
- **Shuffled on write.** Neighbouring patches of one tile are near duplicates; a contrastive
  batch of them would be full of false negatives. The writer mixes patches of many tiles in a
  buffer of ``mix_patches`` before writing, and the chunk loader mixes several random chunks
  per batch, so batches span many places while every read stays a whole chunk.
- **Split as a mask.** The 5 % validation hold-out is drawn (seeded, exact count) only once the
  number of valid patches is known, so it is a mask over one array rather than two arrays.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from csmoe.data.bands import S1_MODEL_BANDS, S2_MODEL_BANDS
from csmoe.errors import ConfigError, InputError

if TYPE_CHECKING:
    from csmoe.data.extract import Patches

SPLITS = {"train": 0, "val": 1}
STATS_STRIDE = 4
FORMAT = "csmoe-patches/1"


@dataclass(frozen=True)
class StoreLayout:
    patch_px: int = 120
    chunk_patches: int = 4
    shard_patches: int = 256
    mix_patches: int = 2048
    codec: str = "lz4"
    clevel: int = 5

    @classmethod
    def from_params(cls, params: dict[str, Any], patch_px: int) -> StoreLayout:
        layout = cls(
            patch_px=patch_px,
            chunk_patches=int(params.get("chunk_patches", cls.chunk_patches)),
            shard_patches=int(params.get("shard_patches", cls.shard_patches)),
            mix_patches=int(params.get("mix_patches", cls.mix_patches)),
            codec=str(params.get("codec", cls.codec)),
            clevel=int(params.get("clevel", cls.clevel)),
        )
        if layout.shard_patches % layout.chunk_patches:
            raise ConfigError(
                f"data.extract.shard_patches ({layout.shard_patches}) must be a multiple of "
                f"chunk_patches ({layout.chunk_patches})"
            )
        return layout


class PatchWriter:
    """Streams patches into a new store: mixes them, writes whole shards, then the split."""

    def __init__(self, path: str | Path, layout: StoreLayout, seed: int) -> None:
        import zarr
        from zarr.codecs import BloscCodec

        self.layout = layout
        self.rng = np.random.default_rng(seed)
        self.group = zarr.open_group(str(path), mode="w")
        p = layout.patch_px
        specs = {
            "s2": ((len(S2_MODEL_BANDS), p, p), "uint16", "bitshuffle"),
            "s1": ((len(S1_MODEL_BANDS), p, p), "float32", "shuffle"),
            "tile": ((), "int32", "shuffle"),
            "position": ((2,), "int16", "shuffle"),
        }
        self.arrays = {
            name: self.group.create_array(
                name,
                shape=(0, *tail),
                dtype=dtype,
                chunks=(layout.chunk_patches, *tail),
                shards=(layout.shard_patches, *tail),
                compressors=None
                if layout.codec == "none"
                else BloscCodec(cname=layout.codec, clevel=layout.clevel, shuffle=shuffle),
            )
            for name, (tail, dtype, shuffle) in specs.items()
        }
        self.tiles: list[str] = []
        self.pending: list[dict[str, np.ndarray]] = []
        self.n_pending = 0
        self.n_written = 0
        # per-patch band mean and variance: train-only statistics once the split is known
        self.means: list[np.ndarray] = []
        self.variances: list[np.ndarray] = []

    def add(self, patches: Patches) -> None:
        """Queue the patches of one tile."""
        k = len(patches.s2)
        if k == 0:
            return
        self.pending.append(
            {
                "s2": patches.s2,
                "s1": patches.s1,
                "tile": np.full(k, len(self.tiles), np.int32),
                "position": patches.positions,
            }
        )
        self.tiles.append(patches.grid_cell)
        self.n_pending += k
        if self.n_pending >= max(self.layout.mix_patches, self.layout.shard_patches):
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        block = {k: np.concatenate([p[k] for p in self.pending]) for k in self.pending[0]}
        order = self.rng.permutation(len(block["s2"]))
        shard = self.layout.shard_patches
        n_out = len(order) if final else len(order) // shard * shard
        out, rest = order[:n_out], order[n_out:]
        start, stop = self.n_written, self.n_written + n_out
        for name, array in self.arrays.items():
            array.resize((stop, *array.shape[1:]))
            array[start:stop] = block[name][out]
        # normalisation statistics from every STATS_STRIDE-th pixel in each direction: the
        # per-band moments of ~1 M patches do not need all 14 400 pixels of each (16x cheaper)
        sub = (
            slice(None),
            slice(None),
            slice(None, None, STATS_STRIDE),
            slice(None, None, STATS_STRIDE),
        )
        bands = np.concatenate(
            [block["s1"][out][sub].astype(np.float64), block["s2"][out][sub].astype(np.float64)],
            axis=1,
        )
        self.means.append(bands.mean(axis=(2, 3)))
        self.variances.append(bands.var(axis=(2, 3)))
        self.n_written = stop
        self.pending = [{k: v[rest] for k, v in block.items()}] if len(rest) else []
        self.n_pending = len(rest)

    def close(self, val_fraction: float) -> dict[str, Any]:
        """Write what is left, draw the validation split, compute train band statistics."""
        if self.pending:
            self._flush(final=True)
        n = self.n_written
        split = np.zeros(n, np.uint8)
        n_val = round(val_fraction * n)
        split[self.rng.choice(n, size=n_val, replace=False)] = SPLITS["val"]
        self.group.create_array("split", data=split, chunks=(max(n, 1),))
        stats = band_stats_from_patches(
            np.concatenate(self.means), np.concatenate(self.variances), split == SPLITS["train"]
        )
        self.group.attrs.update(
            {
                "format": FORMAT,
                "s1_bands": list(S1_MODEL_BANDS),
                "s2_bands": list(S2_MODEL_BANDS),
                "s1_unit": "dB",
                "s2_unit": "reflectance x 10000",
                "patch_px": self.layout.patch_px,
                "band_stats": stats,
                "tiles": self.tiles,
            }
        )
        return {
            "patches": n,
            "split": {"train": n - n_val, "val": n_val},
            "band_stats": stats,
        }


def band_stats_from_patches(
    means: np.ndarray, variances: np.ndarray, use: np.ndarray
) -> dict[str, dict[str, list[float]]]:
    """Per-band mean/std over the selected patches from per-patch means and variances
    (all patches have the same pixel count: total variance = mean variance + variance of means).
    """
    if not use.any():
        raise InputError("patch store", "no training patch to compute band statistics from")
    m, v = means[use], variances[use]
    mean = m.mean(axis=0)
    std = np.sqrt(v.mean(axis=0) + m.var(axis=0))
    n1 = len(S1_MODEL_BANDS)
    return {
        "s1": {"bands": list(S1_MODEL_BANDS), "mean": mean[:n1].tolist(), "std": std[:n1].tolist()},
        "s2": {"bands": list(S2_MODEL_BANDS), "mean": mean[n1:].tolist(), "std": std[n1:].tolist()},
    }


def open_store(path: str | Path) -> Any:
    """Open a patch store read-only, checking that it is one."""
    import zarr

    path = Path(path)
    if not path.is_dir():
        raise InputError(path, "patch store not found")
    try:
        group = zarr.open_group(str(path), mode="r")
    except Exception as err:
        raise InputError(path, f"not a zarr group: {err}") from err
    if group.attrs.get("format") != FORMAT:
        raise InputError(path, f"not a csmoe patch store (format {group.attrs.get('format')!r})")
    return group


class _StoreReader:
    """Shared by both datasets: opens the store lazily in each worker process (zarr handles
    are not shared across fork), knows the split and the normalisation."""

    def __init__(self, store: str | Path, split: str) -> None:
        if split not in SPLITS:
            raise ConfigError(f"split must be one of {list(SPLITS)}, got {split!r}")
        group = open_store(store)
        self.path, self.split = str(store), split
        self.in_split = group["split"][:] == SPLITS[split]
        self.index = np.flatnonzero(self.in_split)
        stats = group.attrs["band_stats"]
        self.chunk_patches = group["s2"].chunks[0]
        self.n_total = group["s2"].shape[0]
        self.norm = {
            k: (
                np.asarray(stats[k]["mean"], np.float32)[:, None, None],
                np.asarray(stats[k]["std"], np.float32)[:, None, None],
            )
            for k in ("s1", "s2")
        }
        self._pid: int | None = None
        self._arrays: dict[str, Any] = {}

    def arrays(self) -> dict[str, Any]:
        if self._pid != os.getpid():
            group = open_store(self.path)
            self._arrays = {"s1": group["s1"], "s2": group["s2"]}
            self._pid = os.getpid()
        return self._arrays

    def normalise(self, key: str, x: np.ndarray) -> torch.Tensor:
        """(x - mean) / std as float32, written once into the tensor that is returned.

        In a DataLoader worker that tensor is allocated in shared memory up front, so handing
        the batch to the main process needs no further copy of it.
        """
        mean, std = self.norm[key]
        out = torch.empty(x.shape, dtype=torch.float32)
        if get_worker_info() is not None:
            out.share_memory_()
        view = out.numpy()
        np.subtract(x, mean, out=view, casting="unsafe")
        view /= std
        return out

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_arrays": {}, "_pid": None}


class PatchDataset(Dataset):
    """Map-style dataset: item ``i`` of ``split`` → ``{"s1": [2,p,p], "s2": [10,p,p]}``,
    float32, normalised with the store's per-band statistics. Random access decodes the one
    chunk holding the patch; for throughput use :func:`make_loader` (whole-chunk reads)."""

    def __init__(self, store: str | Path, split: str = "train") -> None:
        self.reader = _StoreReader(store, split)

    def __len__(self) -> int:
        return len(self.reader.index)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        j = int(self.reader.index[i])
        arrays = self.reader.arrays()
        return {k: self.reader.normalise(k, arrays[k][j]) for k in ("s1", "s2")}


class ChunkBatches(IterableDataset):
    """Batches ``{"s1": [B,2,p,p], "s2": [B,10,p,p]}`` built from whole-chunk reads.

    Each epoch the chunks are put in a seeded random order and dealt out to ranks
    (``world_size``, for multi-GPU) and DataLoader workers; each worker reads ``mix_patches``
    worth of chunks at a time, keeps the patches of its split, shuffles them and cuts batches. Reads
    never decode a patch they do not return (other than the other split's, 5 % of train reads).
    """

    def __init__(
        self,
        store: str | Path,
        split: str = "train",
        batch_size: int = 64,
        *,
        shuffle: bool = True,
        seed: int = 0,
        mix_patches: int = 256,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.reader = _StoreReader(store, split)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.mix_chunks = max(1, mix_patches // self.reader.chunk_patches)
        self.drop_last = drop_last
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _epoch_chunks(self) -> np.ndarray:
        """This epoch's chunk order, before it is dealt to ranks and workers."""
        n_chunks = -(-self.reader.n_total // self.reader.chunk_patches)
        if not self.shuffle:
            return np.arange(n_chunks)
        return np.random.default_rng([self.seed, self.epoch]).permutation(n_chunks)

    def _my_chunks(self) -> np.ndarray:
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        return self._epoch_chunks()[self.rank * workers + worker :: self.world_size * workers]

    def full_batches(self, workers: int) -> np.ndarray:
        """Full batches each rank yields this epoch with ``workers`` DataLoader workers
        (0: read in the main process), ``[world_size]``. Known without reading any pixel
        (split mask + chunk order), so every rank can agree on an epoch length that none
        runs out of. A worker's leftovers carry across its reads, so it yields
        ``floor(its patches / batch_size)`` full batches (plus one partial unless
        ``drop_last``)."""
        cp, n = self.reader.chunk_patches, self.reader.n_total
        per_chunk = np.add.reduceat(self.reader.in_split.astype(np.int64), np.arange(0, n, cp))
        slots = self.world_size * max(workers, 1)
        order = self._epoch_chunks()
        per_slot = np.bincount(
            np.arange(len(order)) % slots, weights=per_chunk[order], minlength=slots
        )
        full = per_slot.astype(np.int64) // self.batch_size
        return full.reshape(self.world_size, -1).sum(axis=1)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        reader, cp = self.reader, self.reader.chunk_patches
        arrays = reader.arrays()
        info = get_worker_info()
        rng = np.random.default_rng([self.seed, self.epoch, self.rank, info.id if info else 0])
        chunks = self._my_chunks()
        carry: dict[str, np.ndarray] | None = None
        for g in range(0, len(chunks), self.mix_chunks):
            parts: dict[str, list[np.ndarray]] = {"s1": [], "s2": []}
            if carry is not None:
                for k in parts:
                    parts[k].append(carry[k])
            for c in chunks[g : g + self.mix_chunks]:
                sl = slice(int(c) * cp, min((int(c) + 1) * cp, reader.n_total))
                keep = reader.in_split[sl]
                if keep.any():
                    for k in parts:
                        chunk = arrays[k][sl]
                        parts[k].append(chunk if keep.all() else chunk[keep])
            if not parts["s2"]:
                continue
            block = {k: np.concatenate(v) for k, v in parts.items()}
            n = len(block["s2"])
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            n_full = n // self.batch_size * self.batch_size
            # each batch is gathered straight from the block: one copy, then normalised in place
            for b in range(0, n_full, self.batch_size):
                take = order[b : b + self.batch_size]
                yield {k: reader.normalise(k, v[take]) for k, v in block.items()}
            carry = {k: v[order[n_full:]] for k, v in block.items()}
        if carry is not None and len(carry["s2"]) and not self.drop_last:
            yield {k: reader.normalise(k, v) for k, v in carry.items()}


def make_loader(
    store: str | Path,
    split: str = "train",
    batch_size: int = 64,
    workers: int = 0,
    **kwargs: Any,
) -> DataLoader:
    """A DataLoader over :class:`ChunkBatches` (batches come ready-made from the workers)."""
    dataset = ChunkBatches(store, split, batch_size, **kwargs)
    return DataLoader(
        dataset,
        batch_size=None,
        num_workers=workers,
        persistent_workers=False,  # workers must see set_epoch: re-created each epoch
        prefetch_factor=4 if workers > 0 else None,
    )
