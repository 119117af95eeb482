"""The mini world's acquisition dates and ESA product ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pytest

from csmoe.data.s2_baseline import processing_baseline
from csmoe.world.product_ids import (
    YEARS,
    acquisition_time,
    mgrs_tile,
    s1_product_id,
    s2_baseline_on,
    s2_product_id,
)

S2_ID = re.compile(r"S2[AB]_MSIL2A_(\d{8}T\d{6})_N\d{4}_R\d{3}_T(\d{2}[C-X][A-Z]{2})_(\d{8}T\d{6})")
S1_ID = re.compile(r"S1[AB]_IW_GRDH_1SDV_(\d{8}T\d{6})_(\d{8}T\d{6})_\d{6}_[0-9A-F]{6}_[0-9A-F]{4}")


@pytest.mark.parametrize(
    ("lat", "lon", "tile"),
    [
        (45.5, 7.0, "32TLR"),  # DATA.md's S2B_MSIL2A_20200815T103629_N0214_R008_T32TLR_...
        (-4.3, 52.3, "39MXR"),  # S2A_MSIL2A_20200909T065031_N0214_R077_T39MXR_... (southern)
    ],
)
def test_mgrs_tile_of_known_places(lat, lon, tile):
    assert mgrs_tile(lat, lon) == tile


def test_baseline_switches_to_04_00_on_25_january_2022():
    assert s2_baseline_on(datetime(2022, 1, 24, 23, tzinfo=UTC)) == "03.01"
    assert s2_baseline_on(datetime(2022, 1, 25, tzinfo=UTC)) == "04.00"
    assert s2_baseline_on(datetime(2020, 8, 15, tzinfo=UTC)) == "02.14"
    assert s2_baseline_on(datetime(2023, 6, 1, tzinfo=UTC)) == "05.09"
    with pytest.raises(ValueError, match="before operational L2A"):
        s2_baseline_on(datetime(2017, 6, 1, tzinfo=UTC))


def test_ids_follow_esa_naming_and_agree_with_the_date():
    rng = np.random.default_rng(0)
    years = set()
    for doy in range(1, 366, 7):
        when = acquisition_time(doy, rng)
        years.add(when.year)
        assert when.timetuple().tm_yday == doy
        s2 = S2_ID.fullmatch(s2_product_id(when, 45.5, 7.0, rng))
        assert s2 and s2[1] == f"{when:%Y%m%dT%H%M%S}" and s2[2] == "32TLR" and s2[3] > s2[1]
        assert processing_baseline(s2[0]) == s2_baseline_on(when)
        s1 = S1_ID.fullmatch(s1_product_id(when, rng))
        assert s1 and s1[1] == f"{when:%Y%m%dT%H%M%S}" and s1[2] > s1[1]
        if when.year >= 2022:
            assert s1[0].startswith("S1A")  # Sentinel-1B failed in December 2021
    assert years == set(YEARS)
