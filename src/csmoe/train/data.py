"""The training data of a variant: its patch store opened with one clear error for every way
it can be broken, and the whole-chunk feed of ``pretrain.loader: chunks``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from csmoe.band_stats import check_band_stats
from csmoe.errors import CsmoeError, InputError, brief


def open_store(store: Path, stats: Path) -> tuple[Any, Any, dict[str, Any]]:
    """``(train, val, norm_stats)``: the two splits of ``store`` and the per-band statistics
    of its ``stats.json`` (stored in every checkpoint for downstream normalisation), checked
    finite, positive and equal to the ones the store normalises with."""
    rebuild = f"rebuild it with `snakemake --cores 2 {store}`"
    if not store.exists():
        raise InputError(store, f"patch store not found; {rebuild}")
    try:
        norm_stats = json.loads(stats.read_text())["band_stats"]
    except FileNotFoundError as err:
        raise InputError(stats, f"patch statistics not found; {rebuild}") from err
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise InputError(stats, f"no band_stats in this JSON ({brief(err)}); {rebuild}") from err
    from csmoe.data.loaders import PatchDataset
    from csmoe.data.store import open_store as open_group

    try:
        store_stats = open_group(store).attrs.get("band_stats")
        train, val = PatchDataset(store, "train"), PatchDataset(store, "val")
        for split, data in (("train", train), ("val", val)):
            if len(data) == 0:
                raise InputError(store, f"the {split} split is empty; {rebuild}")
            data[0]  # read one item now rather than fail mid-epoch
    except CsmoeError:
        raise
    except Exception as err:  # zarr/numcodecs raise many types for damaged stores
        problem = f"{type(err).__name__}: {brief(err)}"
        raise InputError(store, f"patch store unreadable ({problem}); {rebuild}") from err
    check_band_stats(norm_stats, stats)
    if store_stats != norm_stats:  # training would normalise with other statistics
        raise InputError(stats, f"band statistics differ from those of {store}; {rebuild}")
    return train, val, norm_stats


def store_identity(train_set: Any, norm_stats: dict[str, Any]) -> str:
    """What the training data is, as a short hash: the store's attributes (band statistics,
    tiles), every array's shape, chunking and codecs, the train/validation split mask and the
    statistics checkpoints get. A rebuilt store with another split, layout, sample or
    statistics has another identity, so a saved training state is not resumed on it. Pixel
    values are not read: two stores alike in all of this but a pixel are not told apart."""
    import numpy as np

    from csmoe.data.store import open_store as open_group

    group = open_group(train_set.reader.path)
    arrays = {name: array.metadata.to_dict() for name, array in sorted(group.arrays())}
    split = np.ascontiguousarray(group["split"][:])
    blob = json.dumps(
        {
            "attrs": dict(group.attrs),
            "arrays": arrays,
            "split": hashlib.sha256(split.tobytes()).hexdigest(),
            "norm_stats": norm_stats,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class ChunkFeed:
    """Training micro-batches for ``pretrain.loader: chunks``: whole-chunk reads
    (:func:`csmoe.data.loaders.make_loader`), the chunks of each epoch dealt to the processes.

    ``patches`` mode gathers every micro-batch patch by patch from one global order, so the
    weights do not depend on the number of processes; it decodes a whole store chunk per
    patch (~330 patches/s per core, bench/README.md "Data"), far below the ~6,500 images/s
    an H100 consumes at p16. Here each process reads its own chunks, several times faster
    per core and scaling with ``num_workers``; the price is that which patches meet in a
    micro-batch depends on the number of processes and workers.
    """

    def __init__(
        self, train_set: Any, micro_batch: int, seed: int, rank: int, world_size: int, workers: int
    ) -> None:
        from csmoe.data.loaders import make_loader

        self.workers = workers
        self.loader = make_loader(
            train_set.reader.path,
            "train",
            micro_batch,
            workers,
            seed=seed,
            rank=rank,
            world_size=world_size,
            drop_last=True,
        )

    def batches_per_epoch(self, epochs: int) -> int:
        """Full micro-batches that *every* process gets in *every* epoch: the same number on
        all ranks (computed from the split mask and the seeded chunk order, no reads), so no
        rank waits in a collective for one that ran out of data. The rest is dropped."""
        dataset = self.loader.dataset
        counts = []
        for epoch in range(epochs):
            dataset.set_epoch(epoch)
            counts.append(int(dataset.full_batches(self.workers).min()))
        return min(counts)

    def epoch(self, epoch: int, skip: int = 0) -> Iterator[Any]:
        """This process's micro-batches of ``epoch``, after the first ``skip``. The order is
        a function of (seed, epoch, processes, workers), so a resumed run skips exactly what
        the interrupted one consumed (by reading it: a chunk's patches are mixed with those
        of the chunks read with it, so there is no cheaper way to the same position)."""
        from csmoe.data.loaders import worker_errors

        self.loader.dataset.set_epoch(epoch)
        batches = worker_errors(self.loader)
        for _ in range(skip):
            next(batches)
        return batches
