"""PyTorch datasets over the patch store (:mod:`csmoe.data.store`).

- :class:`PatchDataset`: random access, one patch per item; decodes the chunk holding it.
- :class:`ChunkBatches` / :func:`make_loader`: ready-made batches from whole-chunk reads, the
  chunks of each epoch in a seeded order dealt to ranks and DataLoader workers, several random
  chunks mixed per batch (neighbouring patches of one tile are near duplicates, and would be
  false negatives of a contrastive batch).

Both normalise with the store's per-band statistics of the train split. A damaged chunk is an
:class:`~csmoe.errors.InputError` naming its shard file and patches when it is read; from a
DataLoader worker, iterate through :func:`worker_errors` to get it as one line too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from csmoe.band_stats import check_band_stats
from csmoe.data.store import SPLITS, open_store
from csmoe.errors import ConfigError, CsmoeError, InputError, brief

T = TypeVar("T")


class _StoreReader:
    """Shared by both datasets: opens the store lazily in each worker process (zarr handles
    are not shared across fork), knows the split and the normalisation."""

    def __init__(self, store: str | Path, split: str) -> None:
        if split not in SPLITS:
            raise ConfigError(f"split must be one of {list(SPLITS)}, got {split!r}")
        group = open_store(store)
        self.path, self.split = str(store), split
        lengths = {k: group[k].shape[0] for k in ("s1", "s2", "split") if k in group}
        if len(lengths) < 3 or len(set(lengths.values())) > 1:
            raise InputError(store, f"arrays s1, s2, split should hold N patches each: {lengths}")
        self.in_split = group["split"][:] == SPLITS[split]
        self.index = np.flatnonzero(self.in_split)
        stats = check_band_stats(group.attrs.get("band_stats"), Path(store) / "zarr.json")
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

    def read(self, key: str, rows: int | slice) -> np.ndarray:
        """Patches ``rows`` of array ``key``; a chunk that does not decode (or fails its
        checksum) is an error naming its shard file and the patches."""
        array = self.arrays()[key]
        try:
            return array[rows]
        except Exception as err:  # zarr and numcodecs raise many types for damaged chunks
            first, last = (rows, rows) if isinstance(rows, int) else (rows.start, rows.stop - 1)
            shard = (first // (array.shards or array.chunks)[0],) + (0,) * (array.ndim - 1)
            raise InputError(
                Path(self.path) / key / array.metadata.encode_chunk_key(shard),
                f"patches {first}-{last} unreadable ({type(err).__name__}: {brief(err)}); "
                "the store is damaged: rebuild it",
            ) from err

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
        return {k: self.reader.normalise(k, self.reader.read(k, j)) for k in ("s1", "s2")}


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
                        chunk = reader.read(k, sl)
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


def worker_errors(batches: Iterable[T]) -> Iterator[T]:
    """Iterate a DataLoader, turning a csmoe error raised in one of its worker processes back
    into one line. torch re-raises a worker's exception with the worker's whole traceback as
    its message (and as a RuntimeError when, like InputError, it takes more than a message);
    the traceback's last line is the original error."""
    try:
        yield from batches
    except (RuntimeError, CsmoeError) as err:
        text = str(err)
        last = text.rstrip().splitlines()[-1] if text.strip() else ""
        if not (text.startswith("Caught ") and last.startswith("csmoe.")):
            raise
        raise CsmoeError(last.split(": ", 1)[-1]) from err


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
