"""Tiny generated inputs shared by the data-tiles tests (plain helpers imported by the test
modules, not a conftest, so that they cannot collide with other packages' fixtures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from csmoe.world.majortom_world import WorldSpec, write_world


def make_cells(n: int, seed: int = 0) -> pd.DataFrame:
    """A selected-cells table like sampling's output (columns of ARCHITECTURE.md)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "grid_cell": [f"{500 + i}U_{i}R" for i in range(n)],
            "grid_row_u": 500 + np.arange(n),
            "grid_col_r": np.arange(n),
            "centre_lat": rng.uniform(-50, 60, n),
            "centre_lon": rng.uniform(-170, 170, n),
            "climate": rng.choice(["Af", "BWh", "Cfb", "Dfb"], n),
            "landcover": rng.choice([10, 30, 40, 50, 60, 80], n).astype("int16"),
        }
    )


CLEAN = {"all_invalid_tiles": 0, "s2_nodata_wedge": 0.0, "s1_border_nan": 0.0}


def make_world(out: Path, cells: pd.DataFrame, **spec: float) -> Path:
    """Write ``cells`` as a 256 px mini world (no defects unless asked) and return ``out``."""
    settings = {"tile_px": 256, "rows_per_part": 4, "seed": 3, **CLEAN, **spec}
    write_world(cells, out, WorldSpec(**settings))
    return out
