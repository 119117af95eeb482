"""Reading the stage's own parquet files back, with a clear error when one is wrong."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from csmoe.errors import InputError, brief
from csmoe.sampling.descriptors import COLUMNS


def read_set(path: str | Path) -> pd.DataFrame:
    """An archive or sample parquet with the columns of docs/ARCHITECTURE.md."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        frame = pd.read_parquet(path, page_checksum_verification=True)
    except Exception as err:  # pyarrow raises several types for corrupt files
        raise InputError(path, f"cannot read parquet: {brief(err)}") from err
    missing = [c for c in COLUMNS if c not in frame]
    if missing:
        raise InputError(path, f"missing columns {missing}")
    if frame.empty:
        raise InputError(path, "no rows (rebuild it: an empty set samples nothing)")
    return frame
