"""Generated BigEarthNet-v2 (reBEN) set for the mini world, in the real GeoTIFF layout.

Writes, for patches cut from scenes of cells of the sampling stage's archive::

    {out}/metadata.parquet
    {out}/BigEarthNet-S2/<tile>/<patch_id>/<patch_id>_<band>.tif      12 L2A bands, uint16
    {out}/BigEarthNet-S1/<product>/<s1_name>/<s1_name>_{VV,VH}.tif     float32 dB
    {out}/Reference_Maps/<tile>/<patch_id>/<patch_id>_reference_map.tif  CLC level-3 codes

120×120 px at 10 m (20 m bands 60 px, 60 m bands 20 px, block means of the 10 m scene), UTM.
Labels are the 19-class labels of the BigEarthNet-43 classes present in the patch's class map
(the same WorldCover → BigEarthNet-43 rule as the generated m-bigearthnet), so label-based
retrieval F1 measures whether S1 and S2 embeddings of one place agree on its content.

Country and season are drawn per patch (Serbia with probability ``serbia_share``, the nine
other countries sharing the rest; seasons by :data:`SEASON_WEIGHTS`), the scene is rendered
on a day of that season, and acquisition dates use the year 2021, so that the 14k (Serbia,
summer) and 243k (summer and autumn) subsets select by metadata exactly as on the real set.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from csmoe.data import benv2
from csmoe.data.bands import S2_L2A_BANDS, S2_RESOLUTION_M
from csmoe.data.geobench_format import BEN43
from csmoe.log import get_logger, progress
from csmoe.world.geobench_world import CellPool, ben43_index, ben43_label, scene_of
from csmoe.world.majortom_world import utm_crs
from csmoe.world.scenes import Scene, cell_seed

log = get_logger(__name__)

SPLITS = ("train", "validation", "test")
SEASON_WEIGHTS = {"summer": 0.45, "autumn": 0.35, "winter": 0.1, "spring": 0.1}
_SEASON_MONTHS = {"winter": (12, 1, 2), "spring": (3, 4, 5), "summer": (6, 7, 8),
                  "autumn": (9, 10, 11)}  # fmt: skip
YEAR = 2021  # not a BigEarthNet year: generated names never collide with the season table
# CORINE Land Cover level-3 codes of the 43 classes, in geobench_format.BEN43 order
CLC_CODES = (
    111, 112, 121, 122, 123, 124, 131, 132, 133, 141, 142, 211, 212, 213, 221, 222, 223, 231,
    241, 242, 243, 244, 311, 312, 313, 321, 322, 323, 324, 331, 332, 333, 334, 411, 412, 421,
    422, 423, 511, 512, 521, 522, 523,
)  # fmt: skip


@dataclass(frozen=True)
class Benv2WorldSpec:
    samples: dict[str, int]
    serbia_share: float = 0.4
    min_fraction: float = 0.05
    seed: int = 0

    @classmethod
    def from_params(cls, params: dict[str, Any], seed: int) -> Benv2WorldSpec:
        return cls(
            samples={s: int(params["samples"][s]) for s in SPLITS},
            serbia_share=float(params["serbia_share"]),
            min_fraction=float(params["min_fraction"]),
            seed=seed,
        )


def labels19(label43: np.ndarray) -> list[str]:
    names = {benv2.BEN43_TO_19[BEN43[i]] for i in np.flatnonzero(label43)}
    return sorted(names - {None})


def write_world(cells: Any, out_dir: str | Path, spec: Benv2WorldSpec) -> dict[str, Any]:
    """Render and write the set under the fresh folder ``out_dir``; return counts."""
    import pandas as pd
    import rasterio

    from csmoe.io import write_parquet

    out_dir = Path(out_dir)
    rng = np.random.default_rng(cell_seed("benv2", spec.seed))
    pool = CellPool(cells)
    others = [c for c in benv2.COUNTRIES if c != "Serbia"]
    share = (1 - spec.serbia_share) / len(others)
    countries = {"Serbia": spec.serbia_share, **dict.fromkeys(others, share)}
    splits = [s for s in SPLITS for _ in range(spec.samples[s])]
    rows, seasons, redrawn = [], [], 0
    with rasterio.Env():  # one GDAL environment for all files (not one per file)
        for i, split in enumerate(progress(splits, desc="benv2 patches")):
            row, season, tries = _patch(out_dir, pool, i, split, spec, rng, countries)
            rows.append(row)
            seasons.append(season)
            redrawn += tries
    meta = pd.DataFrame(rows)
    write_parquet(out_dir / benv2.METADATA, meta)
    summer, serbia = np.array(seasons) == "summer", meta["country"].to_numpy() == "Serbia"
    autumn = np.array(seasons) == "autumn"
    return {
        "patches": len(meta),
        "redrawn": redrawn,
        **meta.groupby("split").size().to_dict(),
        "subset_14k": int((serbia & summer).sum()),
        "subset_243k": int((summer | autumn).sum()),
    }


def _date_in(season: str, rng: np.random.Generator) -> datetime.date:
    month = int(rng.choice(_SEASON_MONTHS[season]))
    return datetime.date(YEAR, month, int(rng.integers(1, 29)))


def patch_names(scene: Scene, date: datetime.date, index: int) -> dict[str, str]:
    """reBEN-style names: S2 patch id with its tile, v1 S2 name, S1 name (row/col = index)."""
    zone = int(utm_crs(scene.lat, scene.lon)[-2:])
    band = "CDEFGHJKLMNPQRSTUVWX"[min(19, max(0, int((scene.lat + 80.0) // 8.0)))]
    tile = f"{zone:02d}{band}XX"
    row, col = divmod(index, 100)
    day = date.strftime("%Y%m%d")
    return {
        "patch_id": f"S2A_MSIL2A_{day}T101031_N9999_R022_T{tile}_{row:02d}_{col:02d}",
        "s2v1_name": f"S2A_MSIL2A_{day}T101031_{row}_{col}",
        "s1_name": f"S1A_IW_GRDH_1SDV_{day}T165043_{tile}_{row}_{col}",
    }


def _write_patch(out_dir: Path, scene: Scene, names: dict[str, str]) -> None:
    patch_id, s1_name = names["patch_id"], names["s1_name"]
    crs, transform = _georef(scene)
    s2_dir = out_dir / benv2.S2_DIR / benv2.s2_tile(patch_id) / patch_id
    for band in S2_L2A_BANDS:
        factor = S2_RESOLUTION_M[band] // 10
        data = block_mean(scene.s2_bands([band])[0], factor)
        data = np.clip(np.round(data), 1, 65535).astype(np.uint16)
        write_tif(s2_dir / f"{patch_id}_{band}.tif", data, crs, transform @ _scale(factor))
    s1_dir = out_dir / benv2.S1_DIR / benv2.s1_product(s1_name) / s1_name
    for band, data in zip(("VV", "VH"), scene.s1_db, strict=True):
        write_tif(s1_dir / f"{s1_name}_{band}.tif", data.astype(np.float32), crs, transform)
    ref_dir = out_dir / benv2.REFERENCE_DIR / benv2.s2_tile(patch_id) / patch_id
    write_tif(ref_dir / f"{patch_id}_reference_map.tif", reference_map(scene), crs, transform)


def reference_map(scene: Scene) -> np.ndarray:
    """Per-pixel CLC level-3 code of the BigEarthNet-43 class of each WorldCover pixel."""
    out = np.zeros(scene.classes.shape, np.uint16)
    for code in np.unique(scene.classes):
        out[scene.classes == code] = CLC_CODES[ben43_index(int(code), scene.climate)]
    return out


def block_mean(band: np.ndarray, factor: int) -> np.ndarray:
    """Area average over ``factor``×``factor`` blocks (a coarser band's footprint)."""
    if factor == 1:
        return band
    n = band.shape[0] // factor
    return band[: n * factor, : n * factor].reshape(n, factor, n, factor).mean(axis=(1, 3))


def _scale(factor: int) -> Any:
    from affine import Affine

    return Affine.scale(factor)


def _georef(scene: Scene) -> tuple[str, Any]:
    """UTM CRS and 10 m north-up transform of a patch centred on the scene's centre."""
    from affine import Affine
    from rasterio.warp import transform

    crs = utm_crs(scene.lat, scene.lon)
    (x,), (y,) = transform("EPSG:4326", crs, [scene.lon], [scene.lat])
    half = benv2.SIZE * 10 / 2
    return crs, Affine(10.0, 0.0, x - half, 0.0, -10.0, y + half)


def write_tif(path: Path, data: np.ndarray, crs: str, transform: Any) -> None:
    import rasterio

    path.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(driver="GTiff", height=data.shape[0], width=data.shape[1], count=1,
                   dtype=data.dtype.name, crs=crs, transform=transform)  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def _patch(
    out_dir: Path,
    pool: CellPool,
    i: int,
    split: str,
    spec: Benv2WorldSpec,
    rng: np.random.Generator,
    countries: dict[str, float],
) -> tuple[dict[str, Any], str, int]:
    """Render, label and write patch ``i``; return its metadata row, season, redraws."""
    redrawn = 0
    country = str(rng.choice(list(countries), p=list(countries.values())))
    season = str(rng.choice(list(SEASON_WEIGHTS), p=list(SEASON_WEIGHTS.values())))
    for attempt in range(100):  # bounded redraw of scenes without any 19-class label
        cell = pool.draw(rng)
        date = _date_in(season, rng)
        seed = cell_seed(f"benv2/{cell['grid_cell']}/{i}/{attempt}", spec.seed)
        scene = scene_of(cell, benv2.SIZE, seed, doy=date.timetuple().tm_yday)
        label43 = ben43_label(scene, spec.min_fraction)
        if labels19(label43):
            break
        redrawn += 1
    else:
        raise RuntimeError("benv2: no labelled scene in 100 draws")
    names = patch_names(scene, date, i)
    _write_patch(out_dir, scene, names)
    row = {
        "patch_id": names["patch_id"], "labels": labels19(label43), "split": split,
        "country": country, "s1_name": names["s1_name"], "s2v1_name": names["s2v1_name"],
        "contains_seasonal_snow": season == "winter" and scene.climate[0] in "DE",
        "contains_cloud_or_shadow": False,
    }  # fmt: skip
    return row, season, redrawn
