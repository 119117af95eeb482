"""Processing baselines from product ids, the offset they imply, and its removal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csmoe.data.s2_baseline import (
    boa_offset,
    offset_summary,
    processing_baseline,
    product_baselines,
    remove_offset,
)
from csmoe.errors import InputError

REAL_ID = "S2B_MSIL2A_20200815T103629_N0214_R008_T32TLR_20200815T134302"  # DATA.md


@pytest.mark.parametrize(
    ("product_id", "baseline"),
    [
        (REAL_ID, "02.14"),
        ("S2A_MSIL2A_20220301T101021_N0400_R022_T32TQM_20220301T130807", "04.00"),
        ("S2A_MSIL2A_20190706T080611_N0500_R078_T36RUU_20230120T152349.SAFE", "05.00"),
        ("S2B_MSIL2A_20200815T103629_R008_T32TLR_20200815T134302", None),  # no baseline field
        ("S2B_MSIL2A_20200815T103629_N214_R008", None),
        (None, None),
    ],
)
def test_processing_baseline_from_product_id(product_id, baseline):
    assert processing_baseline(product_id) == baseline


def test_offset_from_baseline_04_00_on():
    assert [boa_offset(b) for b in ("02.14", "03.01", "04.00", "05.09", "10.00")] == [
        0, 0, 1000, 1000, 1000,
    ]  # fmt: skip


def test_remove_offset_subtracts_and_clips_at_zero_in_place():
    dn = np.array([0, 1, 999, 1000, 1001, 11000, 65535], np.uint16)
    out = remove_offset(dn, 1000)
    assert out is dn and out.dtype == np.uint16
    assert out.tolist() == [0, 0, 0, 0, 1, 10000, 64535]
    kept = np.array([0, 5, 1500], np.uint16)
    assert remove_offset(kept, 0).tolist() == [0, 5, 1500]


def test_unreadable_baseline_is_an_error_naming_file_and_id_when_removing():
    meta = pd.DataFrame({"product_id": [REAL_ID, "S2A_MSIL2A_bad_id"]})
    with pytest.raises(InputError, match=r"meta.parquet: 1 product id\(s\) .*'S2A_MSIL2A_bad_id'"):
        product_baselines(meta, "meta.parquet", required=True)
    with pytest.raises(InputError, match=r"meta.parquet: no product_id column.*remove_s2_offset"):
        product_baselines(pd.DataFrame({"grid_cell": ["1U_1R"]}), "meta.parquet", required=True)
    # keeping the values as stored needs no baseline: such products are counted as unknown
    assert product_baselines(meta, "meta.parquet", required=False).tolist() == ["02.14", "unknown"]


def test_offset_summary_counts_tiles_per_baseline():
    counts = {"04.00": 3, "02.14": 5, "05.09": 1}
    summary = offset_summary(counts, removed=True)
    assert summary == {
        "removed": True,
        "offset": 1000,
        "tiles_per_baseline": {"02.14": 5, "04.00": 3, "05.09": 1},
        "tiles_offset_removed": 4,
    }
    assert offset_summary({**counts, "unknown": 2}, removed=False)["tiles_offset_removed"] == 0
