"""Plain helpers shared by the download tests (imported by the test modules)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from csmoe.downloads.sets import PRODUCTS

# retry settings that keep failing tests fast
FAST = {"retries": 3, "backoff_s": 0.01}


def majortom_archive(root: Path, cells: list[str], rows_per_file: int = 4):
    """Two products, each two parquet files with one row group per row (as Major TOM)."""
    rng = np.random.default_rng(0)
    for product in PRODUCTS:
        meta = []
        for k in range(0, len(cells), rows_per_file):
            chunk = cells[k : k + rows_per_file]
            images = pa.table({
                "grid_cell": chunk,
                # incompressible like imagery, and large next to the 64 KiB that pyarrow
                # reads speculatively at the end of a file for its footer
                "B04": [rng.bytes(200_000) for _ in chunk],
            })  # fmt: skip
            name = f"images/part_{k // rows_per_file:05d}.parquet"
            (root / product / "images").mkdir(parents=True, exist_ok=True)
            pq.write_table(images, root / product / name, row_group_size=1)
            when = pd.Timestamp("2021-06-01")
            meta += [dict(grid_cell=c, timestamp=when, cloud_cover=0.0, parquet_url=name,
                          parquet_row=i) for i, c in enumerate(chunk)]  # fmt: skip
        pd.DataFrame(meta).to_parquet(root / product / "metadata.parquet")
