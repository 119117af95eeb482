"""Acquisition dates and ESA product ids of the mini world's Major TOM tiles.

Major TOM Core keeps each product's ESA id in its metadata, and extraction reads the S2
processing baseline from it (:mod:`csmoe.data.s2_baseline`), so the generated ids follow ESA's
naming and agree with their dates:

- S2 L2A: ``S2B_MSIL2A_20220815T103029_N0400_R108_T32TLR_20220815T134302`` (mission, sensing
  start, baseline, relative orbit, MGRS tile, generation time);
- S1 GRD: ``S1A_IW_GRDH_1SDV_20220815T053411_20220815T053436_044544_05510C_3F2A`` (start, stop,
  absolute orbit, data-take id, product id); Major TOM's RTC rows keep the GRD id.

Acquisition years are drawn uniformly from :data:`YEARS`, so both sides of the 04.00 switch
(25 January 2022) occur; the baseline is the one ESA's operational L2A processing ran on that
date.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta

import numpy as np

YEARS = (2019, 2020, 2021, 2022, 2023)
# start of each operational L2A processing baseline (ESA's baseline history, day precision
# matters only for 04.00, the first with the +1000 offset)
S2_BASELINES = (
    (datetime(2018, 11, 6, tzinfo=UTC), "02.11"),
    (datetime(2019, 7, 8, tzinfo=UTC), "02.13"),
    (datetime(2020, 1, 30, tzinfo=UTC), "02.14"),
    (datetime(2021, 3, 30, tzinfo=UTC), "03.00"),
    (datetime(2021, 6, 30, tzinfo=UTC), "03.01"),
    (datetime(2022, 1, 25, tzinfo=UTC), "04.00"),
    (datetime(2022, 12, 6, tzinfo=UTC), "05.09"),
    (datetime(2023, 12, 13, tzinfo=UTC), "05.10"),
)
S1B_END = datetime(2021, 12, 23, tzinfo=UTC)  # Sentinel-1B's last acquisition
_STARTS = [start for start, _ in S2_BASELINES]
_MGRS_BANDS = "CDEFGHJKLMNPQRSTUVWX"  # 8° latitude bands from 80° S (X spans 72-84° N)
_MGRS_COLUMNS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")  # 100 km columns, by UTM zone mod 3
_MGRS_ROWS = "ABCDEFGHJKLMNPQRSTUV"  # 100 km rows, repeating every 2000 km of northing


def acquisition_time(doy: int, rng: np.random.Generator) -> datetime:
    """A sensing time on day ``doy`` (the scene's season) of a year drawn from :data:`YEARS`."""
    year = int(rng.choice(YEARS))
    seconds = int(rng.integers(0, 1800))  # both sensors share it: pairs are exact here
    return datetime(year, 1, 1, 10, tzinfo=UTC) + timedelta(days=doy - 1, seconds=seconds)


def s2_baseline_on(when: datetime) -> str:
    """The operational L2A processing baseline on date ``when``."""
    i = bisect_right(_STARTS, when) - 1
    if i < 0:
        raise ValueError(f"{when:%Y-%m-%d} is before operational L2A processing ({_STARTS[0]})")
    return S2_BASELINES[i][1]


def mgrs_tile(lat: float, lon: float) -> str:
    """The Sentinel-2 (MGRS 100 km) tile holding a point, e.g. ``"32TLR"``."""
    from rasterio.warp import transform

    zone = int((lon + 180.0) // 6.0) % 60 + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    xs, ys = transform("EPSG:4326", f"EPSG:{epsg}", [lon], [lat])
    band = _MGRS_BANDS[int(np.clip((lat + 80.0) // 8.0, 0, len(_MGRS_BANDS) - 1))]
    column = _MGRS_COLUMNS[(zone - 1) % 3][int(np.clip(xs[0] // 100_000 - 1, 0, 7))]
    row = _MGRS_ROWS[(int(ys[0] // 100_000) + (5 if zone % 2 == 0 else 0)) % len(_MGRS_ROWS)]
    return f"{zone:02d}{band}{column}{row}"


def s2_product_id(when: datetime, lat: float, lon: float, rng: np.random.Generator) -> str:
    """An L2A product id for a tile sensed at ``when`` around (lat, lon)."""
    generated = when + timedelta(seconds=int(rng.integers(2 * 3600, 6 * 3600)))
    return (
        f"S2{'AB'[int(rng.integers(2))]}_MSIL2A_{when:%Y%m%dT%H%M%S}"
        f"_N{s2_baseline_on(when).replace('.', '')}_R{int(rng.integers(1, 144)):03d}"
        f"_T{mgrs_tile(lat, lon)}_{generated:%Y%m%dT%H%M%S}"
    )


def s1_product_id(when: datetime, rng: np.random.Generator) -> str:
    """An IW GRD (dual polarisation) product id for a scene sensed at ``when``."""
    stop = when + timedelta(seconds=25)
    orbit, take, unique = (int(rng.integers(n)) for n in (60_000, 0x100000, 0x10000))
    mission = "AB"[int(rng.integers(2))] if when < S1B_END else "A"
    return (
        f"S1{mission}_IW_GRDH_1SDV_{when:%Y%m%dT%H%M%S}_{stop:%Y%m%dT%H%M%S}"
        f"_{orbit:06d}_{take:06X}_{unique:04X}"
    )
