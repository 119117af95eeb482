"""Open a variant's patch store for training, turning every way it can be broken into one
clear error that names the file and what to do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from csmoe.errors import CsmoeError, InputError


def open_store(store: Path, stats: Path) -> tuple[Any, Any, dict[str, Any]]:
    """``(train, val, norm_stats)``: the two splits of ``store`` and the per-band statistics
    of its ``stats.json`` (stored in every checkpoint for downstream normalisation)."""
    rebuild = f"rebuild it with `snakemake --cores 2 {store}`"
    if not store.exists():
        raise InputError(store, f"patch store not found; {rebuild}")
    try:
        norm_stats = json.loads(stats.read_text())["band_stats"]
    except FileNotFoundError as err:
        raise InputError(stats, f"patch statistics not found; {rebuild}") from err
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise InputError(stats, f"no band_stats in this JSON ({err}); {rebuild}") from err
    from csmoe.data.store import PatchDataset

    try:
        train, val = PatchDataset(store, "train"), PatchDataset(store, "val")
        for split, data in (("train", train), ("val", val)):
            if len(data) == 0:
                raise InputError(store, f"the {split} split is empty; {rebuild}")
            data[0]  # read one item now rather than fail mid-epoch
    except CsmoeError:
        raise
    except Exception as err:  # zarr/numcodecs raise many types for damaged stores
        raise InputError(
            store, f"patch store unreadable ({type(err).__name__}: {err}); {rebuild}"
        ) from err
    return train, val, norm_stats
