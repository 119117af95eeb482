"""The training patch store (zarr v3): layout, writer, band statistics, opening it.

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
  random access (:class:`~csmoe.data.loaders.PatchDataset`, which decodes a whole chunk per
  item) cheap; bigger ones read contiguous runs a little faster (bench/README.md).
  **Shards** of ``shard_patches`` patches group chunks into one file each (a million patches
  make ~4 k files, not a million), and a shard is written in one go, never rewritten.
- **Blosc lz4 with (bit)shuffle** by default: the store is read every epoch, so decode speed
  wins over size. S1 (float32 dB with speckle) barely compresses with any codec, which
  caps the total ratio near 1.4 whatever the codec; zstd gains on S2 only and decodes slower
  (bench/data_loader.py measures both and no compression).
- **Shuffled on write.** Neighbouring patches of one tile are near duplicates; a contrastive
  batch of them would be full of false negatives. The writer mixes patches of many tiles in a
  buffer of ``mix_patches`` before writing, and the chunk loader (:mod:`csmoe.data.loaders`)
  mixes several random chunks per batch, so batches span many places while every read stays
  a whole chunk.
- **Split as a mask.** The 5 % validation hold-out is drawn (seeded, exact count) only once the
  number of valid patches is known, so it is a mask over one array rather than two arrays.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from csmoe.band_stats import check_band_stats
from csmoe.data.bands import S1_MODEL_BANDS, S2_MODEL_BANDS
from csmoe.errors import ConfigError, InputError

SPLITS = {"train": 0, "val": 1}
STATS_STRIDE = 4
FORMAT = "csmoe-patches/1"


@dataclass
class Patches:
    """The valid patches of one tile, and why the others were dropped."""

    grid_cell: str
    s2: np.ndarray  # [k, 10, p, p] uint16
    s1: np.ndarray  # [k, 2, p, p] float32 dB
    positions: np.ndarray  # [k, 2] int16 (patch row, patch col) in the tile's grid
    dropped: Counter
    s2_baseline: str = "unknown"  # processing baseline of the tile's S2 product, for counting


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
        from zarr.codecs import BloscCodec, Crc32cCodec

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
                # a CRC per chunk: blosc has none, so flipped bits would decode silently
                compressors=[Crc32cCodec()]
                if layout.codec == "none"
                else [
                    BloscCodec(cname=layout.codec, clevel=layout.clevel, shuffle=shuffle),
                    Crc32cCodec(),
                ],
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
        # a constant band (std 0) would make every normalised input inf: refuse it here
        check_band_stats(stats, "statistics of the extracted training patches")
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
