"""Major TOM grid: ids checked against cases worked out by hand from the DATA.md formulas.

dlat = 180 / ceil(pi * 6378.137 / 10) = 180 / 2004 deg. Columns in a row at bottom latitude
phi: m = ceil(2 pi 6378.137 cos(phi) / 10); at the equator m = ceil(4007.5) = 4008.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from csmoe.sampling.grid import MajorTomGrid, cell_names, parse_cell_names

GRID = MajorTomGrid()
DLAT = 180 / 2004


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (0.01, 0.01, "0U_0R"),  # first cell north-east of (0, 0)
        (-0.01, -0.01, "1D_1L"),  # first cell south-west of it
        (0.0, 0.0, "0U_0R"),  # edges belong to the cell above / to the right
        (10.0, 0.0, "111U_0R"),  # 10 / DLAT = 111.3 -> row 111
        (10.0, -0.001, "111U_1L"),  # just west of the prime meridian
        # -9.8 / DLAT = -109.1 -> 110D; bottom -9.880 deg, m = ceil(3948.07) = 3949,
        # -41.6 / (360 / 3949) = -456.3 -> 457L
        (-9.8, -41.6, "110D_457L"),
        # 45 / DLAT = 501 exactly -> 501U; m = ceil(2833.7) = 2834, 7 / 0.12703 = 55.1 -> 55R
        (45.0, 7.0, "501U_55R"),
        # top row: 85 / DLAT = 946.3 -> 946U; m = ceil(351.36) = 352, 179.99 / 1.0227 = 175.99
        (85.0, 179.99, "946U_175R"),
        (-84.96, -179.99, "946D_176L"),  # bottom row, westernmost column -(352 // 2)
        (84.99, -0.05, "946U_1L"),
        (-84.96, 0.05, "946D_0R"),
    ],
)
def test_locate_hand_computed(lat, lon, expected):
    assert GRID.locate(lat, lon).names()[0] == expected


def test_row_count_and_columns_at_equator():
    assert GRID.n_rows_globe == math.ceil(math.pi * 6378.137 / 10) == 2004
    assert GRID.n_cols(np.array([0]))[0] == 4008
    assert GRID.rows[0] == -946 and GRID.rows[-1] == 946  # 85 / DLAT = 946.3


def test_whole_grid_size_matches_data_md():
    assert len(GRID) == 5_094_350
    cells = GRID.cells()
    assert len(cells) == 5_094_350
    # every cell's centre locates back to the same cell
    pick = np.random.default_rng(0).choice(len(cells), 20_000, replace=False)
    back = GRID.locate(cells.centre_lat[pick], cells.centre_lon[pick])
    np.testing.assert_array_equal(back.row_u, cells.row_u[pick])
    np.testing.assert_array_equal(back.col_r, cells.col_r[pick])


def test_centre_is_midpoint_of_bottom_left_cell():
    cell = GRID.locate(-9.8, -41.6)
    m = 3949
    assert cell.centre_lat[0] == pytest.approx((-110 + 0.5) * DLAT)
    assert cell.centre_lon[0] == pytest.approx((-457 + 0.5) * 360 / m)


def test_reference_rounding_quirk_row_800d():
    # replaying the reference linspace/mod arithmetic: in row 800D the column at -180 deg comes
    # out at +180 deg and is named 624R (not 624L); Major TOM Core uses these ids
    assert GRID.locate(-71.85, -179.9).names()[0] == "800D_624R"
    assert GRID.locate(-71.85, 179.9).names()[0] == "800D_623R"


def test_names_round_trip_and_bad_ids():
    row_u, col_r = np.array([434, -3, 0]), np.array([45, -7, 0])
    names = cell_names(row_u, col_r)
    assert list(names) == ["434U_45R", "3D_7L", "0U_0R"]
    back_r, back_c = parse_cell_names(names)
    np.testing.assert_array_equal(back_r, row_u)
    np.testing.assert_array_equal(back_c, col_r)
    with pytest.raises(ValueError, match="not a Major TOM cell id"):
        parse_cell_names(np.array(["434X_45R"]))


@pytest.mark.parametrize(("lat", "lon"), [(-86.0, 0.0), (89.0, 0.0), (0.0, 181.0)])
def test_locate_outside_grid_raises(lat, lon):
    with pytest.raises(ValueError):
        GRID.locate(lat, lon)
