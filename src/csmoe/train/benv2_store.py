"""BigEarthNet-v2 as a pretraining set: the S1+S2 pairs of one subset and split written as a
patch store, for the CSMAE the paper pretrains on BigEarthNet-v2 and probes in Figs. 6-7.

The pairs come from the downstream reader (:func:`csmoe.data.benv2.open_pairs`: the model's
bands and units, 20 m bands brought to 10 m as for every other input) and go through the
patch store's writer (:class:`csmoe.data.store.PatchWriter`), so pretraining reads them like
a Major TOM sample. BigEarthNet patches are 120 px, the store's patch size: each pair is its
own one-patch tile, named by its patch id. They are read in a seeded random order, because the
writer only mixes patches within its buffer and a sorted split would put thousands of patches
of one S2 product, side by side, into the same shards and batches.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from csmoe.errors import InputError
from csmoe.log import get_logger, progress

log = get_logger(__name__)

UINT16_MAX = np.iinfo(np.uint16).max


def store_arrays(s1: np.ndarray, s2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(keep, s1, s2)`` of a batch of pairs in the store's dtypes: S2 reflectance ×10 000
    rounded to uint16, S1 dB float32; ``keep`` drops pairs with any non-finite value (a
    patch with an invalid pixel is dropped in extraction too)."""
    keep = np.isfinite(s1).all(axis=(1, 2, 3)) & np.isfinite(s2).all(axis=(1, 2, 3))
    s2_store = np.clip(np.rint(s2[keep]), 0, UINT16_MAX).astype(np.uint16)
    return keep, s1[keep].astype(np.float32), s2_store


def build_benv2_store(
    root: str | Path,
    store_path: str | Path,
    stats_path: str | Path,
    params: dict[str, Any],
    layout_params: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Write the pairs of ``params`` (``benv2_train_set``: subset, split, val_fraction,
    batch_size) under ``root`` into ``store_path`` (layout: ``data.extract``) and its
    ``stats.json``. Both appear only when everything succeeded (temporary names, renamed)."""
    from csmoe.data.benv2 import SIZE, open_pairs
    from csmoe.data.store import Patches, PatchWriter, StoreLayout
    from csmoe.io import atomic_path

    subset, split = params.get("subset", "all"), params.get("split", "train")
    layout = StoreLayout.from_params(layout_params, SIZE)  # BigEarthNet's patches are 120 px
    reader = open_pairs(root, subset, split)
    size = int(params.get("batch_size", 256))
    order = np.random.default_rng([seed, len(reader)]).permutation(len(reader))
    dropped = 0
    try:
        with atomic_path(stats_path) as stats_tmp, atomic_path(store_path, is_dir=True) as tmp:
            writer = PatchWriter(tmp, layout, seed=seed)
            batches = range(0, len(order), size)
            for start in progress(batches, total=len(batches), desc="BENv2 pairs", logger=log):
                idx = order[start : start + size]
                pairs = [reader[int(i)] for i in idx]
                keep, s1, s2 = store_arrays(
                    np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
                )
                dropped += int((~keep).sum())
                for j, i in enumerate(idx[keep]):
                    writer.add(
                        Patches(
                            grid_cell=reader.patch_ids[i],
                            s2=s2[j : j + 1],
                            s1=s1[j : j + 1],
                            positions=np.zeros((1, 2), np.int16),
                            dropped=Counter(),
                        )
                    )
            if dropped == len(order):
                raise InputError(root, f"no finite pair in subset {subset!r}, split {split!r}")
            summary = writer.close(val_fraction=float(params.get("val_fraction", 0.05)))
            stats = {
                "source": "BigEarthNet-v2",
                "subset": subset,
                "split_read": split,
                "pairs_in": len(order),
                "patch_px": layout.patch_px,
                "patches_written": summary["patches"],
                "patches_dropped": {"nonfinite": dropped},
                "split": summary["split"],
                "band_stats": summary["band_stats"],
                "store": {
                    "chunk_patches": layout.chunk_patches,
                    "shard_patches": layout.shard_patches,
                    "codec": f"{layout.codec}:{layout.clevel}",
                },
            }
            stats_tmp.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    finally:
        reader.close()
    return stats
