"""Sentinel-2 L2A processing baselines and the radiometric offset of baseline 04.00 and later.

Up to baseline 03.01 an L2A digital number is reflectance × 10 000. From 04.00 (operational
since 25 January 2022; ESA's Collection-1 reprocessing of older acquisitions is 05.xx, so the
date alone does not tell) products carry ``BOA_ADD_OFFSET = -1000``: reflectance × 10 000 =
DN - 1000, which keeps slightly negative reflectances of dark surfaces. BigEarthNet-v2 (2017-18)
and GEO-Bench predate it, while Major TOM Core holds both kinds; extraction removes the offset
so that the patch store, its statistics and the downstream data share one radiometry.

The baseline is the ``Nxxyy`` field of ESA's product id, which Major TOM's metadata keeps in
``product_id``: ``S2B_MSIL2A_20200815T103629_N0214_R008_T32TLR_20200815T134302`` → ``"02.14"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from csmoe.errors import InputError

BOA_OFFSET = 1000  # -BOA_ADD_OFFSET, the same for every band in all products so far
OFFSET_SINCE = "04.00"
UNKNOWN = "unknown"  # the baseline of an unreadable product id when the offset is kept
_BASELINE = re.compile(r"_N(\d{2})(\d{2})_")


def processing_baseline(product_id: object) -> str | None:
    """``"xx.yy"`` from the ``_Nxxyy_`` field of a product id, None when there is none."""
    match = _BASELINE.search(product_id) if isinstance(product_id, str) else None
    return None if match is None else f"{match[1]}.{match[2]}"


def boa_offset(baseline: str) -> int:
    """The digital-number offset a product of ``baseline`` carries (0 before 04.00)."""
    return BOA_OFFSET if baseline >= OFFSET_SINCE else 0  # "xx.yy" strings order like numbers


def product_baselines(meta: pd.DataFrame, path: str | Path, required: bool) -> pd.Series:
    """The baseline of every product in an S2 metadata table.

    With ``required`` (the offset is to be removed) a missing ``product_id`` column or an id
    without a baseline is an error: guessing would mix two radiometries in the store. Otherwise
    such products count as :data:`UNKNOWN`.
    """
    ids = meta["product_id"] if "product_id" in meta.columns else pd.Series(None, meta.index)
    baselines = ids.map(processing_baseline)
    unreadable = baselines.isna()
    if required and unreadable.any():
        if "product_id" not in meta.columns:
            problem = "no product_id column"
        else:
            problem = (
                f"{int(unreadable.sum())} product id(s) without an _Nxxyy_ processing baseline,"
                f" e.g. {ids[unreadable].iloc[0]!r}"
            )
        raise InputError(
            path,
            f"{problem}: cannot tell which S2 products carry the +{BOA_OFFSET} offset (set "
            "data.extract.remove_s2_offset: false if the values are already harmonised)",
        )
    return baselines.fillna(UNKNOWN)


def remove_offset(dn: np.ndarray, offset: int) -> np.ndarray:
    """``dn - offset`` clipped at 0, in place (uint16 stays uint16).

    Nodata pixels (0) stay 0; callers take the nodata mask from the stored values before.
    """
    if offset:
        np.maximum(dn, offset, out=dn)
        dn -= np.asarray(offset, dn.dtype)
    return dn


def offset_summary(tiles_per_baseline: Mapping[str, int], removed: bool) -> dict[str, Any]:
    """The ``s2_offset`` entry of stats.json: tiles per baseline and how many were shifted."""
    per_baseline = dict(sorted(tiles_per_baseline.items()))
    carrying = sum(n for b, n in per_baseline.items() if b != UNKNOWN and boa_offset(b))
    return {
        "removed": removed,
        "offset": BOA_OFFSET,
        "tiles_per_baseline": per_baseline,
        "tiles_offset_removed": carrying if removed else 0,
    }
