"""Cut Major TOM tiles into 120×120 patches and fill the training store (paper III-A).

Each tile is cut on a regular grid from its top-left corner; the partial patches along the
right and bottom edges are dropped (1068 px tiles give 8×8 = 64 whole patches and 17 partial
ones). A whole patch is dropped when any of its pixels is invalid, counted under the first
reason that applies: ``nan`` (NaN in S1), ``s1_nodata`` (S1 nodata or non-positive power),
``s2_nodata`` (S2 nodata in any band). Whole tiles can be skipped too (see
:mod:`csmoe.data.majortom`); ``stats.json`` counts every drop and skip, so tiles in, patches
written and drops add up.

Decoding the GeoTIFFs is most of the work, so tiles are decoded and cut in ``workers``
processes while the main process streams the part files and writes the store.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from csmoe.data.majortom import (
    INVALID_REASONS,
    SKIP_REASONS,
    RawTile,
    Tile,
    TileSkip,
    decode_tile,
    iter_raw_tiles,
    pair_tiles,
)
from csmoe.data.s2_baseline import offset_summary
from csmoe.data.store import Patches, PatchWriter, StoreLayout
from csmoe.errors import InputError
from csmoe.log import get_logger, progress
from csmoe.parallel import imap_ordered

log = get_logger(__name__)

PATCH_PX = 120
DROP_REASONS = ("partial_edge", *INVALID_REASONS)
# the paper's full-scale figures, reported beside ours as a labelled reference
PAPER_REFERENCE = {"tiles": 18_846, "patches": 1_055_080, "val_fraction": 0.05}


def _blocks(array: np.ndarray, n: int, p: int) -> np.ndarray:
    """``[..., H, W]`` → ``[n*n, ..., p, p]``: the whole p×p blocks of the top-left n·p square."""
    lead = array.shape[:-2]
    cut = array[..., : n * p, : n * p].reshape(*lead, n, p, n, p)
    axes = (len(lead), len(lead) + 2, *range(len(lead)), len(lead) + 1, len(lead) + 3)
    return cut.transpose(axes).reshape(n * n, *lead, p, p)


def cut_patches(tile: Tile, patch_px: int = PATCH_PX) -> Patches:
    """All whole, fully valid ``patch_px`` patches of ``tile``, with drop counts by reason.

    Tiles are square (the reader checks), so the grid is n×n with n = size // patch_px.
    """
    height, width = tile.s2.shape[-2:]
    n = min(height, width) // patch_px
    partial = -(-height // patch_px) * -(-width // patch_px) - n * n
    dropped: Counter = Counter({"partial_edge": partial})
    keep = np.ones(n * n, bool)
    for reason in INVALID_REASONS:  # first reason that applies takes the patch
        hit = _blocks(tile.invalid[reason], n, patch_px).any(axis=(1, 2)) & keep
        dropped[reason] += int(hit.sum())
        keep &= ~hit
    rows, cols = np.divmod(np.arange(n * n), n)
    return Patches(
        grid_cell=tile.grid_cell,
        s2=np.ascontiguousarray(_blocks(tile.s2, n, patch_px)[keep]),
        s1=np.ascontiguousarray(_blocks(tile.s1, n, patch_px)[keep]),
        positions=np.stack([rows, cols], axis=1)[keep].astype(np.int16),
        dropped=dropped,
        s2_baseline=tile.s2_baseline,
    )


def process_tile(raw: RawTile, patch_px: int = PATCH_PX) -> Patches | TileSkip:
    """Decode and cut one tile; a skip is returned (not raised) so worker pools pass it back."""
    try:
        return cut_patches(decode_tile(raw), patch_px)
    except TileSkip as skip:
        return skip


def iter_patches(
    root: str | Path, patch_px: int = PATCH_PX, workers: int = 0, remove_s2_offset: bool = True
) -> tuple[int, Counter, Iterator[Patches | TileSkip]]:
    """Number of paired tiles, tile-level skips found while pairing, and the results per tile
    (in a stable order whatever ``workers`` is, so the store does not depend on it)."""
    pairs, unpaired = pair_tiles(root, remove_s2_offset)
    skips = Counter({k: v for k, v in unpaired.items() if v})
    work = functools.partial(process_tile, patch_px=patch_px)
    return len(pairs), skips, imap_ordered(work, iter_raw_tiles(pairs), workers)


def build_store(
    root: str | Path,
    store_path: str | Path,
    stats_path: str | Path,
    params: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Extract every paired tile of ``root`` into ``store_path`` and write ``stats_path``.

    Both outputs appear only when everything succeeded: each is built under a temporary
    sibling name, the store is renamed into place first, then stats.json; any failure before
    that removes both temporaries.
    """
    import json

    from csmoe.io import atomic_path

    patch_px = int(params.get("patch_px", PATCH_PX))
    layout = StoreLayout.from_params(params, patch_px)
    remove = bool(params.get("remove_s2_offset", True))
    n_tiles, skipped, results = iter_patches(root, patch_px, int(params.get("workers", 0)), remove)
    if n_tiles == 0:
        raise InputError(root, "no S1/S2 pair found")
    dropped: Counter = Counter({r: 0 for r in DROP_REASONS})
    tiles_used = 0
    baselines: Counter = Counter()  # tiles used per S2 processing baseline
    with atomic_path(stats_path) as stats_tmp, atomic_path(store_path, is_dir=True) as tmp:
        writer = PatchWriter(tmp, layout, seed=seed)
        for result in progress(results, total=n_tiles, desc="extract tiles", logger=log):
            if isinstance(result, TileSkip):
                log.warning("skipping tile %s", result)
                skipped[result.reason] += 1
                continue
            tiles_used += 1
            dropped.update(result.dropped)
            baselines[result.s2_baseline] += 1
            writer.add(result)
        if tiles_used == 0:
            raise InputError(root, f"no usable tile: skipped {dict(skipped)}")
        summary = writer.close(val_fraction=float(params.get("val_fraction", 0.05)))
        stats = {
            "tiles_in": n_tiles + skipped["unpaired"],
            "tiles_used": tiles_used,
            "tiles_skipped": {r: skipped[r] for r in SKIP_REASONS},
            "patch_px": patch_px,
            "patches_written": summary["patches"],
            "patches_dropped": dict(dropped),
            "split": summary["split"],
            "s2_offset": offset_summary(baselines, remove),
            "band_stats": summary["band_stats"],
            "store": {
                "chunk_patches": layout.chunk_patches,
                "shard_patches": layout.shard_patches,
                "codec": f"{layout.codec}:{layout.clevel}",
            },
            "paper": PAPER_REFERENCE,
        }
        stats_tmp.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    return stats
