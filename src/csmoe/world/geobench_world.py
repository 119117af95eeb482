"""Generated GEO-Bench tasks for the mini world, written in the real GEO-Bench v1.0 format.

Each sample is a scene (:func:`csmoe.world.scenes.render_scene`) of a cell drawn from the
sampling stage's archive; its label follows from the scene's WorldCover class map, so a
frozen encoder that learned the scenes can beat chance on every task:

- m-bigearthnet: the BigEarthNet-43 classes of every WorldCover class covering at least
  ``min_fraction`` of the patch (multi-label);
- m-brick-kiln: "brick kiln" when built-up covers at least ``kiln_fraction`` (binary);
- m-so2sat, m-eurosat: a class from the majority land cover and the water / built-up shares
  (rules in :func:`so2sat_label`, :func:`eurosat_label`); a scene without a counterpart in
  the task's classes (e.g. snow for EuroSAT) is redrawn;
- m-cashew-plant, m-SA-crop-type: the class map mapped pixel by pixel to the task's classes.

Bands are those the real task stores, in its stored order and units (including the published
channel-order quirks of m-eurosat and m-brick-kiln, see :class:`geobench_format.Task`), so the
one reader serves real and generated sets alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from csmoe.data import geobench_format as fmt
from csmoe.data.geobench_pickle import dumps, task_specs, write_sample
from csmoe.log import get_logger, progress
from csmoe.world.scenes import Scene, cell_seed, render_scene

log = get_logger(__name__)

SPLITS = ("train", "valid", "test")
# WorldCover code → BigEarthNet-43 class; trees depend on the Köppen group (boreal/polar
# forests coniferous, the rest broad-leaved), as the rendered vigour does
_BEN43 = {
    20: "Transitional woodland/shrub",
    30: "Natural grassland",
    40: "Non-irrigated arable land",
    50: "Discontinuous urban fabric",
    60: "Sparsely vegetated areas",
    70: "Bare rock",
    80: "Water bodies",
    90: "Inland marshes",
    95: "Salt marshes",
    100: "Moors and heathland",
}
# WorldCover → class index of the segmentation tasks
_CASHEW = {10: 1, 95: 1, 20: 2, 50: 4, 80: 5}  # rest: 3 non-plantation
_SA_CROP = {40: 7, 30: 2, 60: 3, 90: 1, 20: 5, 100: 6}  # rest: 0 no data


@dataclass(frozen=True)
class GeobenchWorldSpec:
    """How many samples per split, segmentation tile size, label thresholds, seed."""

    samples: dict[str, int]
    seg_size: int = 64
    min_fraction: float = 0.05
    kiln_fraction: float = 0.10
    seed: int = 0

    @classmethod
    def from_params(cls, params: dict[str, Any], seed: int) -> GeobenchWorldSpec:
        return cls(
            samples={s: int(params["samples"][s]) for s in SPLITS},
            seg_size=int(params["seg_size"]),
            min_fraction=float(params["min_fraction"]),
            kiln_fraction=float(params["kiln_fraction"]),
            seed=seed,
        )


class CellPool:
    """The cells scenes are drawn from, as column arrays (the real archive has 1.5 M rows).

    A draw first picks a land-cover class uniformly, then a cell of that class: the archive
    is dominated by grassland (38 % of the real grid's cells, built-up 0.4 %), while
    GEO-Bench's m- tasks were subsampled towards balanced classes.
    """

    COLUMNS = ("grid_cell", "centre_lat", "centre_lon", "climate", "landcover")

    def __init__(self, cells: Any) -> None:
        self.columns = {c: cells[c].to_numpy() for c in self.COLUMNS}
        _, inverse = np.unique(self.columns["landcover"], return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.cumsum(np.bincount(inverse))[:-1]
        self.groups = np.split(order, bounds)

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        group = self.groups[int(rng.integers(len(self.groups)))]
        i = int(group[rng.integers(len(group))])
        return {c: values[i] for c, values in self.columns.items()}


def scene_of(cell: dict[str, Any], size: int, seed: int, doy: int | None = None) -> Scene:
    return render_scene(
        float(cell["centre_lat"]), float(cell["centre_lon"]), cell["climate"],
        int(cell["landcover"]), size, seed, doy=doy,
    )  # fmt: skip


def fractions(classes: np.ndarray) -> dict[int, float]:
    codes, counts = np.unique(classes, return_counts=True)
    return {int(c): n / classes.size for c, n in zip(codes, counts, strict=True)}


def ben43_index(code: int, climate: str) -> int:
    """Index in BEN43 of the BigEarthNet-43 class of WorldCover ``code`` under ``climate``."""
    if code == 10:
        name = "Coniferous forest" if climate[0] in "DE" else "Broad-leaved forest"
    else:
        name = _BEN43[code]
    return fmt.BEN43.index(name)


def ben43_label(scene: Scene, min_fraction: float) -> np.ndarray:
    """Multi-hot over BEN43 of the classes covering at least ``min_fraction``."""
    label = np.zeros(len(fmt.BEN43), np.int64)
    for code, share in fractions(scene.classes).items():
        if share >= min_fraction:
            label[ben43_index(code, scene.climate)] = 1
    return label


def so2sat_label(scene: Scene) -> int | None:
    share = fractions(scene.classes)
    major = max(share, key=share.get)
    if major == 50:
        name = "Compact low rise" if share[50] >= 0.6 else "Open low rise"
    else:
        name = {
            10: "Dense trees", 95: "Dense trees", 20: "Bush, scrub", 30: "Low plants",
            40: "Low plants", 90: "Low plants", 100: "Low plants", 60: "Bare soil or sand",
            70: "Bare rock or paved", 80: "Water",
        }[major]  # fmt: skip
    return fmt.SO2SAT17.index(name)


def eurosat_label(scene: Scene) -> int | None:
    share = fractions(scene.classes)
    water = share.get(80, 0.0)
    major = max(share, key=share.get)
    if water >= 0.5:
        name = "SeaLake"
    elif water >= 0.1:
        name = "River"
    elif major == 50:
        name = "Industrial" if share[50] >= 0.8 else "Residential"
    else:
        name = {
            10: "Forest", 95: "Forest", 40: "AnnualCrop", 30: "Pasture",
            20: "HerbaceousVegetation", 90: "HerbaceousVegetation", 100: "HerbaceousVegetation",
        }.get(major)  # fmt: skip
    return None if name is None else fmt.EUROSAT10.index(name)


def _lut(mapping: dict[int, int], default: int) -> np.ndarray:
    table = np.full(256, default, np.int16)
    for code, value in mapping.items():
        table[code] = value
    return table


_LUTS = {"m-cashew-plant": _lut(_CASHEW, 3), "m-SA-crop-type": _lut(_SA_CROP, 0)}


def make_label(task: fmt.Task, scene: Scene, spec: GeobenchWorldSpec) -> Any:
    """The task's label for ``scene``, or None when the scene has none (redraw)."""
    if task.name == "m-bigearthnet":
        return ben43_label(scene, spec.min_fraction)
    if task.name == "m-brick-kiln":
        return int(fractions(scene.classes).get(50, 0.0) >= spec.kiln_fraction)
    if task.name == "m-so2sat":
        return so2sat_label(scene)
    if task.name == "m-eurosat":
        return eurosat_label(scene)
    return _LUTS[task.name][scene.classes]


def make_bands(task: fmt.Task, scene: Scene, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Stored band name → array, in the task's units (see module docstring)."""
    from scipy.ndimage import uniform_filter

    vv, vh = scene.s1
    lee_vv, lee_vh = (uniform_filter(x, size=3) for x in (vv, vh))  # a 3×3 speckle filter
    phase = rng.uniform(0, 2 * np.pi, (3, *vv.shape)).astype(np.float32)
    cross = np.sqrt(lee_vv * lee_vh)
    s1 = {
        "VH_re": np.sqrt(vh) * np.cos(phase[0]), "VH_im": np.sqrt(vh) * np.sin(phase[0]),
        "VV_re": np.sqrt(vv) * np.cos(phase[1]), "VV_im": np.sqrt(vv) * np.sin(phase[1]),
        "VH": lee_vh, "VV": lee_vv,
        "VH_lee_re": cross * np.cos(phase[2]), "VV_lee_im": cross * np.sin(phase[2]),
    }  # fmt: skip
    tci = {f"TCI_{c}": b for c, b in zip("RGB", ("B04", "B03", "B02"), strict=True)}
    out = {}
    for stored, content in zip(task.stored, task.content, strict=True):
        if content in s1:
            out[stored] = s1[content].astype(np.float32)
        elif content == "CLD":
            out[stored] = np.zeros(scene.classes.shape, np.int16)  # cloud-free scenes
        elif content in tci:  # 8-bit true colour (0..2000 reflectance DN → 0..255)
            band = scene.s2_bands([tci[content]])[0]
            out[stored] = np.clip(band / 2000.0 * 255.0, 0, 255).astype(np.int16)
        elif task.s2_scale != 1.0:
            out[stored] = (scene.s2_bands([content])[0] / task.s2_scale).astype(np.float32)
        else:
            out[stored] = np.round(scene.s2_bands([content])[0]).astype(np.int16)
    return out


def write_task(cells: Any, out_dir: str | Path, task_name: str, spec: GeobenchWorldSpec) -> dict:
    """Generate task ``task_name`` into the fresh folder ``out_dir``; return counts."""
    import datetime

    from csmoe.io import write_json

    task = fmt.get_task(task_name)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    size = spec.seg_size if task.kind == "segmentation" else task.size
    rng = np.random.default_rng(cell_seed(f"geobench/{task.name}", spec.seed))
    pool = CellPool(cells)
    partition: dict[str, list[str]] = {s: [] for s in SPLITS}
    label_stats: dict[str, list[float]] = {}
    values: dict[str, list[np.ndarray]] = {}
    redrawn = 0
    total = sum(spec.samples.values())
    for i in progress(range(total), desc=f"geobench {task.name}"):
        split = SPLITS[int(np.searchsorted(np.cumsum([spec.samples[s] for s in SPLITS]), i,
                                           side="right"))]  # fmt: skip
        for attempt in range(100):  # bounded: a rule returning None for every cell is a bug
            cell = pool.draw(rng)
            seed = cell_seed(f"{task.name}/{cell['grid_cell']}/{i}/{attempt}", spec.seed)
            scene = scene_of(cell, size, seed)
            label = make_label(task, scene, spec)
            if label is not None:
                break
            redrawn += 1
        else:
            raise RuntimeError(f"{task.name}: no labelled scene in 100 draws")
        name = f"id_{i:05d}"
        bands = make_bands(task, scene, rng)
        date = datetime.date(2021, 1, 1) + datetime.timedelta(days=scene.doy - 1)
        write_sample(out_dir / f"{name}.hdf5", task, bands, label, date=date)
        partition[split].append(name)
        label_stats[name] = _label_stats(task, label)
        for band, data in bands.items():
            values.setdefault(band, []).append(_subsample(data, rng))
        values.setdefault(fmt.LABEL, []).append(_subsample(label, rng))  # as geobench does
    write_json(out_dir / "band_stats.json", {k: band_stats(np.concatenate(v))
                                            for k, v in values.items()})  # fmt: skip
    write_json(out_dir / "label_stats.json", label_stats)
    write_json(out_dir / "original_partition.json", partition)
    write_json(out_dir / "default_partition.json", partition)
    from csmoe.io import atomic_path

    with atomic_path(out_dir / "task_specs.pkl") as tmp:
        tmp.write_bytes(dumps(task_specs(task, size)))
    counts = {s: len(v) for s, v in partition.items()}
    return {"task": task.name, "size": size, "redrawn": redrawn, **counts}


def _label_stats(task: fmt.Task, label: Any) -> list[float]:
    """What geobench's label types report per sample (one-hot, multi-hot, class shares)."""
    if task.kind == "segmentation":
        counts = np.bincount(np.asarray(label).ravel(), minlength=task.num_classes)
        return (counts / counts.sum()).tolist()
    if task.kind == "multilabel":
        return np.asarray(label, float).tolist()
    return np.eye(task.num_classes)[label].tolist()


def _subsample(data: np.ndarray, rng: np.random.Generator, n: int = 1000) -> np.ndarray:
    flat = np.asarray(data).ravel()
    return rng.choice(flat, size=min(n, flat.size), replace=False).astype(np.float64)


def band_stats(values: np.ndarray) -> dict[str, float]:
    """geobench.dataset.compute_stats: the keys of its Stats."""
    q = np.percentile(values, [0.1, 1, 5, 50, 95, 99, 99.9])
    return {
        "min": float(values.min()), "max": float(values.max()), "mean": float(values.mean()),
        "std": float(values.std()), "median": float(q[3]), "percentile_0_1": float(q[0]),
        "percentile_1": float(q[1]), "percentile_5": float(q[2]), "percentile_95": float(q[4]),
        "percentile_99": float(q[5]), "percentile_99_9": float(q[6]),
    }  # fmt: skip
