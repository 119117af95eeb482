"""Tiny generated fixtures shared by the data-tiles tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csmoe.data.majortom_world import WorldSpec, write_world


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


@pytest.fixture
def cells() -> pd.DataFrame:
    return make_cells(6)


@pytest.fixture
def world(tmp_path, cells):
    """A 6-tile, 256 px mini world with no injected defects."""
    out = tmp_path / "majortom"
    spec = WorldSpec(tile_px=256, rows_per_part=4, all_invalid_tiles=0, s2_nodata_wedge=0,
                     s1_border_nan=0, seed=3)  # fmt: skip
    write_world(cells, out, spec)
    return out
