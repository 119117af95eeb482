"""The per-band normalisation statistics every stage shares, checked wherever they are read.

One shape, from the patch store's ``stats.json`` to every checkpoint: ``{"s1"|"s2": {"mean":
[...], "std": [...], "bands": [...] (optional)}}`` with one value per model band. NaN or a zero
standard deviation would turn every normalised input, and so every feature, into NaN/inf
without any error; they are refused where the statistics are read.
"""

from __future__ import annotations

import math
from typing import Any

from csmoe.data.bands import S1_MODEL_BANDS, S2_MODEL_BANDS
from csmoe.errors import InputError

MODEL_BANDS = {"s1": S1_MODEL_BANDS, "s2": S2_MODEL_BANDS}


def check_band_stats(stats: Any, where: object) -> dict[str, Any]:
    """Return ``stats`` if it holds finite means and positive finite standard deviations for
    every band of both sensors; else an :class:`InputError` naming ``where`` and the band."""
    if not isinstance(stats, dict):
        raise InputError(where, f"band statistics are a {type(stats).__name__}, not a mapping")
    for modality, bands in MODEL_BANDS.items():
        entry = stats.get(modality)
        if not isinstance(entry, dict):
            raise InputError(where, f"band statistics have no {modality} entry")
        names = list(entry.get("bands", bands))
        if names != list(bands):
            raise InputError(where, f"{modality} statistics are for bands {names}, not {bands}")
        for key in ("mean", "std"):
            values = entry.get(key)
            if not isinstance(values, list) or len(values) != len(bands):
                raise InputError(
                    where,
                    f"{modality} {key} must list {len(bands)} numbers (one per band), "
                    f"got {_short_repr(values)}",
                )
            for name, value in zip(names, values, strict=False):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise InputError(where, f"{modality} {key} of {name} is {_short_repr(value)}")
                if not math.isfinite(value) or (key == "std" and value <= 0):
                    why = "not finite" if not math.isfinite(value) else "not positive"
                    raise InputError(where, f"{modality} {key} of {name} is {value} ({why})")
    return stats


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
