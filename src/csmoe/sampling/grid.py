"""The Major TOM grid (Francis & Czerkawski 2024), vectorised over millions of cells.

Rows are bands of equal latitude height ``180 / ceil(pi R / D)`` degrees; the row whose bottom
edge is the equator is ``0U`` (north ``iU``, south ``iD``). A row at bottom latitude phi holds
``ceil(2 pi R cos(phi) / D)`` columns of equal longitude width; the column starting at 0 deg is
``0R`` (east ``iR``, west ``iL``). Cells are anchored at their bottom-left corner and named
``{row}_{col}`` (e.g. ``434U_45R``). Only rows whose bottom edge lies in the latitude range are in
the grid. In a row with an odd number of columns the easternmost column straddles 180 deg.

This is the closed form of the reference ``Grid`` (which builds the same rows and columns
from ``linspace``/``mod``/``sort``), so no per-row Python loop is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_KM = 6378.137


@dataclass(frozen=True)
class Cells:
    """A set of grid cells as parallel arrays (row/column as signed integers, U/R positive)."""

    row_u: np.ndarray
    col_r: np.ndarray
    centre_lat: np.ndarray
    centre_lon: np.ndarray

    def __len__(self) -> int:
        return len(self.row_u)

    def names(self) -> np.ndarray:
        """Cell ids like ``434U_45R`` (object array of str)."""
        return cell_names(self.row_u, self.col_r)


class MajorTomGrid:
    """The grid at spacing ``km`` (10 km in Major TOM Core) over ``lat_range``."""

    def __init__(self, km: float = 10.0, lat_range: tuple[float, float] = (-85.0, 85.0)) -> None:
        if km <= 0:
            raise ValueError(f"grid spacing must be positive, got {km}")
        self.km = float(km)
        self.lat_range = (float(lat_range[0]), float(lat_range[1]))
        self.n_rows_globe = int(np.ceil(np.pi * EARTH_RADIUS_KM / self.km))
        self.dlat = 180.0 / self.n_rows_globe
        # rows whose bottom edge lies in the range (the reference filters bottom latitudes)
        lo = int(np.ceil(self.lat_range[0] / self.dlat - 1e-9))
        hi = int(np.floor(self.lat_range[1] / self.dlat + 1e-9))
        self.rows = np.arange(lo, hi + 1, dtype=np.int64)
        self._west = self._west_counts()

    def _west_counts(self) -> np.ndarray:
        """Per row, how many columns are named ``L`` (the index of ``0R``).

        Closed form: ``m // 2``. The reference builds longitudes as
        ``sort(mod(linspace(-180, 180, m + 1)[:-1], 360) - 180)``, and in a few rows (e.g. 800D)
        rounding turns the column at -180 into one at +180, which then becomes ``(m/2)R``
        instead of ``(m/2)L``. Replaying the reference arithmetic per row (1,893 rows, cheap)
        keeps the ids identical to Major TOM Core's.
        """
        west = np.empty(len(self.rows), dtype=np.int64)
        for i, m in enumerate(self.n_cols(self.rows)):
            lons = np.mod(np.linspace(-180, 180, int(m) + 1)[:-1], 360) - 180
            west[i] = int(np.count_nonzero(lons < 0))
        return west

    def row_bottom(self, row_u: np.ndarray) -> np.ndarray:
        return np.asarray(row_u) * self.dlat

    def n_cols(self, row_u: np.ndarray) -> np.ndarray:
        """Columns in each row: ceil(circumference at the row's bottom latitude / D)."""
        circumference = 2 * np.pi * EARTH_RADIUS_KM * np.cos(np.radians(self.row_bottom(row_u)))
        return np.maximum(np.ceil(circumference / self.km), 1).astype(np.int64)

    def __len__(self) -> int:
        return int(self.n_cols(self.rows).sum())

    def cells(self) -> Cells:
        """Every cell of the grid, south to north, west to east within a row."""
        counts = self.n_cols(self.rows)
        row_u = np.repeat(self.rows, counts)
        starts = np.cumsum(counts) - counts
        position = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)
        m = np.repeat(counts, counts)
        col_r = position - np.repeat(self._west, counts)
        return self._with_centres(row_u, col_r, m)

    def locate(self, lat: np.ndarray | float, lon: np.ndarray | float) -> Cells:
        """The cells containing points (bottom-left anchoring: edges belong to the cell above /
        to the right). Raises ValueError for points outside the grid's rows or bad longitudes."""
        lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        if np.any(~np.isfinite(lat)) or np.any(~np.isfinite(lon)):
            raise ValueError("coordinates must be finite")
        if np.any(np.abs(lon) > 180):
            raise ValueError("longitude must be in [-180, 180]")
        row_u = np.floor(lat / self.dlat + 1e-12).astype(np.int64)
        if np.any((row_u < self.rows[0]) | (row_u > self.rows[-1])):
            bad = lat[(row_u < self.rows[0]) | (row_u > self.rows[-1])][0]
            raise ValueError(
                f"latitude {bad} is outside the grid's rows "
                f"[{self.rows[0] * self.dlat:.4f}, {(self.rows[-1] + 1) * self.dlat:.4f})"
            )
        m = self.n_cols(row_u)
        west = self._west[row_u - self.rows[0]]
        col_r = (np.floor(lon / (360.0 / m) + 1e-12).astype(np.int64) + west) % m - west
        return self._with_centres(row_u, col_r, m)

    def _with_centres(self, row_u: np.ndarray, col_r: np.ndarray, m: np.ndarray) -> Cells:
        # centre = midpoint in latitude and longitude of the cell (Major TOM's centre_lat/lon)
        dlon = 360.0 / m
        centre_lat = (row_u + 0.5) * self.dlat
        centre_lon = (col_r + 0.5) * dlon
        centre_lon = np.where(centre_lon >= 180.0, centre_lon - 360.0, centre_lon)
        return Cells(row_u, col_r, centre_lat, centre_lon)


def cell_names(row_u: np.ndarray, col_r: np.ndarray) -> np.ndarray:
    """``(434, 45) -> '434U_45R'``, ``(-3, -7) -> '3D_7L'`` (object array of str)."""
    # a plain comprehension is ~5x faster than numpy's char functions here
    names = [
        f"{abs(r)}{'U' if r >= 0 else 'D'}_{abs(c)}{'R' if c >= 0 else 'L'}"
        for r, c in zip(np.asarray(row_u).tolist(), np.asarray(col_r).tolist(), strict=True)
    ]
    return np.array(names, dtype=object)


def parse_cell_names(names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`cell_names`; raises ValueError on a malformed id."""
    import pandas as pd

    parts = pd.Series(np.asarray(names, dtype=str)).str.extract(r"^(\d+)([UD])_(\d+)([RL])$")
    bad = parts.isna().any(axis=1).to_numpy()
    if bad.any():
        raise ValueError(f"not a Major TOM cell id: {np.asarray(names)[bad][0]!r}")
    row_u = parts[0].astype(np.int64).to_numpy()
    col_r = parts[2].astype(np.int64).to_numpy()
    return np.where(parts[1] == "U", row_u, -row_u), np.where(parts[3] == "R", col_r, -col_r)
