"""Read BigEarthNet-v2 (reBEN) S1/S2 pairs with their 19-class labels.

Two real layouts, both with ``metadata.parquet`` (patch_id, labels, split, country, s1_name,
s2v1_name, contains_seasonal_snow, contains_cloud_or_shadow) at ``root``:

- GeoTIFF folders: ``BigEarthNet-S2/<tile>/<patch_id>/<patch_id>_<band>.tif`` and
  ``BigEarthNet-S1/<product>/<s1_name>/<s1_name>_{VV,VH}.tif``;
- LMDB: ``BigEarthNet-V2-LMDB/`` whose keys (patch_id for S2, s1_name for S1) hold a
  safetensors dict of bands (as distributed with configilm / rs-benchmarks).

Output is in model bands (docs/ARCHITECTURE.md): S2 (B02, B03, B04, B08, B05, B06, B07, B8A,
B11, B12) reflectance ×10 000 with the 20 m bands brought to 120 px by nearest neighbour, and
S1 (VV, VH) in dB as stored.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from csmoe.data.bands import S1_MODEL_BANDS, S2_MODEL_BANDS
from csmoe.data.geobench_format import BEN43
from csmoe.errors import ConfigError, InputError, brief
from csmoe.log import get_logger

log = get_logger(__name__)

SIZE = 120
LMDB_DIR = "BigEarthNet-V2-LMDB"
S2_DIR = "BigEarthNet-S2"
S1_DIR = "BigEarthNet-S1"
REFERENCE_DIR = "Reference_Maps"
METADATA = "metadata.parquet"
SNOW_CLOUD_METADATA = "metadata_for_patches_with_snow_cloud_or_shadow.parquet"

# the 19-class nomenclature (Sumbul et al. 2021) in its original order; multi-hot vectors use
# the lexicographic order, as configilm and torchgeo do (bigearthnet_common NEW_LABELS)
BEN19_ORIGINAL = (
    "Urban fabric",
    "Industrial or commercial units",
    "Arable land",
    "Permanent crops",
    "Pastures",
    "Complex cultivation patterns",
    "Land principally occupied by agriculture, with significant areas of natural vegetation",
    "Agro-forestry areas",
    "Broad-leaved forest",
    "Coniferous forest",
    "Mixed forest",
    "Natural grassland and sparsely vegetated areas",
    "Moors, heathland and sclerophyllous vegetation",
    "Transitional woodland, shrub",
    "Beaches, dunes, sands",
    "Inland wetlands",
    "Coastal wetlands",
    "Inland waters",
    "Marine waters",
)
BEN19 = tuple(sorted(BEN19_ORIGINAL))
_INDEX = {name: i for i, name in enumerate(BEN19)}

# the ten countries of BigEarthNet; BENv2-243k is all of them in summer and autumn
COUNTRIES = (
    "Austria",
    "Belgium",
    "Finland",
    "Ireland",
    "Kosovo",
    "Lithuania",
    "Luxembourg",
    "Portugal",
    "Serbia",
    "Switzerland",
)
SUBSETS = {
    "14k": ({"Serbia"}, {"summer"}),
    "243k": (set(COUNTRIES), {"summer", "autumn"}),
    "all": (None, None),
}
BEN_YEARS = (2017, 2018)  # BigEarthNet's acquisitions
SPLITS = {"train": "train", "valid": "validation", "val": "validation",
          "validation": "validation", "test": "test"}  # fmt: skip


@dataclass
class PairData:
    s1: np.ndarray  # [N, 2, 120, 120] float32, VV, VH in dB
    s2: np.ndarray  # [N, 10, 120, 120] float32, reflectance ×10 000
    labels: np.ndarray  # [N, 19] uint8 multi-hot over BEN19
    patch_ids: list[str]


def multi_hot(labels: object, where: object = "metadata") -> np.ndarray:
    """19-class names → multi-hot over :data:`BEN19`."""
    out = np.zeros(len(BEN19), np.uint8)
    for name in labels:  # type: ignore[attr-defined]
        if name not in _INDEX:
            raise InputError(where, f"unknown BigEarthNet-19 label {name!r}")
        out[_INDEX[name]] = 1
    return out


def read_metadata(root: str | Path, *, include_snow_cloud: bool = False):  # -> pd.DataFrame
    """The patch table with a ``season`` column (summer/autumn/winter/spring)."""
    import pandas as pd

    root = Path(root)
    files = [root / METADATA]
    if include_snow_cloud and (root / SNOW_CLOUD_METADATA).exists():
        files.append(root / SNOW_CLOUD_METADATA)
    frames = []
    for path in files:
        try:
            frames.append(pd.read_parquet(path, page_checksum_verification=True))
        except FileNotFoundError as err:
            raise InputError(path, "BigEarthNet-v2 metadata not found") from err
        except Exception as err:  # pyarrow raises several types for a corrupt file
            raise InputError(path, f"not a readable parquet file: {brief(err)}") from err
    meta = pd.concat(frames, ignore_index=True)
    need = {"patch_id", "labels", "split", "country", "s1_name", "s2v1_name"}
    missing = need - set(meta.columns)
    if missing:
        raise InputError(files[0], f"metadata lacks column(s) {sorted(missing)}")
    meta["season"] = [season_of(n) for n in meta["s2v1_name"]]
    return meta


def season_of(s2v1_name: str) -> str:
    """Season of a patch: BigEarthNet's own table where it knows the patch, else by month.

    The official table (bigearthnet_common s1_s2_name_country_season) is not a pure month
    rule (a few late-August acquisitions count as autumn), so it wins when installed.
    """
    day = datetime.datetime.strptime(s2v1_name.split("_")[2][:8], "%Y%m%d")
    if day.year in BEN_YEARS:  # only then can the table know it (and is worth loading)
        table = _season_table()
        if s2v1_name in table:
            return table[s2v1_name]
    month = day.month
    return ("winter", "spring", "summer", "autumn")[(month % 12) // 3]


@lru_cache(maxsize=1)
def _season_table() -> dict[str, str]:
    try:
        from importlib.resources import files

        import pandas as pd

        path = files("bigearthnet_common") / "s1_s2_name_country_season.csv.bz2"
        table = pd.read_csv(str(path), usecols=["s2_name", "season"])
    except (ModuleNotFoundError, FileNotFoundError):
        log.warning("bigearthnet_common not installed: seasons from the acquisition month")
        return {}
    names = {"Summer": "summer", "Fall": "autumn", "Winter": "winter", "Spring": "spring"}
    return dict(zip(table["s2_name"], table["season"].map(names), strict=True))


def select(meta, subset: str, split: str):  # -> pd.DataFrame
    """Rows of ``subset`` (14k, 243k, all) and ``split`` (train/valid/test)."""
    if subset not in SUBSETS:
        raise ConfigError(f"unknown BigEarthNet-v2 subset {subset!r}; known: {list(SUBSETS)}")
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; use train, valid or test")
    countries, seasons = SUBSETS[subset]
    keep = meta["split"] == SPLITS[split]
    if countries is not None:
        keep &= meta["country"].isin(countries) & meta["season"].isin(seasons)
    return meta[keep].sort_values("patch_id")


class PairReader:
    """One subset/split read pair by pair (BENv2-243k is 168 GB as float32 model inputs).

    The store (LMDB environment or GeoTIFF folders) is opened on first use in each process
    and left out of pickles, so a reader can be handed to worker processes (prefer spawn or
    forkserver workers: forking a process that already runs pyarrow threads can deadlock).
    """

    def __init__(self, root: Path, rows) -> None:  # rows: pd.DataFrame from select()
        self.root = root
        self.patch_ids = list(rows["patch_id"])
        self.s1_names = list(rows["s1_name"])
        self.labels = np.stack([multi_hot(v, root / METADATA) for v in rows["labels"]])
        self._store: tuple[int, _LmdbStore | _TiffStore] | None = None

    def _opened(self) -> _LmdbStore | _TiffStore:
        if self._store is None or self._store[0] != os.getpid():
            self._store = (os.getpid(), open_store(self.root))
        return self._store[1]

    def __getstate__(self) -> dict:
        # picklable for spawned workers: the open store stays behind
        return {**self.__dict__, "_store": None}

    def __len__(self) -> int:
        return len(self.patch_ids)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Pair ``i`` as (s1 [2,120,120] dB, s2 [10,120,120])."""
        store = self._opened()
        s2 = stack_s2(store.s2(self.patch_ids[i]), self.patch_ids[i])
        s1 = stack_s1(store.s1(self.s1_names[i]), self.s1_names[i])
        return s1, s2

    def batches(self, size: int) -> Iterator[PairData]:
        """Consecutive pairs, ``size`` at a time, as :class:`PairData`."""
        for start in range(0, len(self), size):
            pairs = [self[i] for i in range(start, min(start + size, len(self)))]
            yield PairData(
                np.stack([p[0] for p in pairs]),
                np.stack([p[1] for p in pairs]),
                self.labels[start : start + size],
                self.patch_ids[start : start + size],
            )

    def close(self) -> None:
        if self._store is not None and self._store[0] == os.getpid():
            self._store[1].close()
        self._store = None


def open_pairs(
    root: str | Path, subset: str, split: str, *, include_snow_cloud: bool = False
) -> PairReader:
    """A lazy reader of the S1/S2 pairs of ``subset`` / ``split`` in either layout."""
    root = Path(root)
    rows = select(read_metadata(root, include_snow_cloud=include_snow_cloud), subset, split)
    if rows.empty:
        raise InputError(root / METADATA, f"no patches in subset {subset!r}, split {split!r}")
    return PairReader(root, rows)


def load_pairs(
    root: str | Path, subset: str, split: str, *, include_snow_cloud: bool = False
) -> PairData:
    """All pairs of ``subset`` / ``split`` in memory (see :func:`open_pairs`)."""
    reader = open_pairs(root, subset, split, include_snow_cloud=include_snow_cloud)
    try:
        return next(reader.batches(len(reader)))
    finally:
        reader.close()


def stack_s2(bands: dict[str, np.ndarray], patch_id: str) -> np.ndarray:
    out = np.empty((len(S2_MODEL_BANDS), SIZE, SIZE), np.float32)
    for i, band in enumerate(S2_MODEL_BANDS):
        if band not in bands:
            raise InputError(patch_id, f"S2 band {band} missing")
        out[i] = upsample(bands[band], patch_id, band)
    return out


def stack_s1(bands: dict[str, np.ndarray], s1_name: str) -> np.ndarray:
    missing = [b for b in S1_MODEL_BANDS if b not in bands]
    if missing:
        raise InputError(s1_name, f"S1 band(s) {missing} missing")
    out = np.stack([bands[b] for b in S1_MODEL_BANDS]).astype(np.float32)
    if out.shape[1:] != (SIZE, SIZE):
        raise InputError(s1_name, f"S1 bands are {out.shape[1:]}, expected {SIZE}×{SIZE}")
    return out


def upsample(band: np.ndarray, where: str, name: str) -> np.ndarray:
    """Nearest-neighbour to 120 px (the paper's choice for the 20 m bands)."""
    factor, rest = divmod(SIZE, band.shape[-1])
    if rest or band.shape[0] != band.shape[1]:
        raise InputError(where, f"band {name} has shape {band.shape}, not a divisor of {SIZE}")
    return np.repeat(np.repeat(band, factor, axis=0), factor, axis=1)


# ---- stores ------------------------------------------------------------------------------


class _LmdbStore:
    def __init__(self, path: Path) -> None:
        import lmdb

        try:
            self.env = lmdb.open(str(path), readonly=True, lock=False, readahead=False)
        except lmdb.Error as err:
            raise InputError(path, f"not a readable LMDB: {err}") from err
        self.path = path

    def _get(self, key: str) -> dict[str, np.ndarray]:
        from safetensors.numpy import load

        with self.env.begin() as txn:
            raw = txn.get(key.encode())
        if raw is None:
            raise InputError(self.path, f"patch {key} is missing from the store")
        try:
            return load(bytes(raw))
        except Exception as err:  # safetensors raises its own error type
            raise InputError(self.path, f"patch {key}: not a safetensors record: {err}") from err

    s1 = s2 = _get

    def close(self) -> None:
        self.env.close()


class _TiffStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def s2(self, patch_id: str) -> dict[str, np.ndarray]:
        folder = self.root / S2_DIR / s2_tile(patch_id) / patch_id
        return self._read(folder, patch_id, S2_MODEL_BANDS)

    def s1(self, s1_name: str) -> dict[str, np.ndarray]:
        folder = self.root / S1_DIR / s1_product(s1_name) / s1_name
        return self._read(folder, s1_name, S1_MODEL_BANDS)

    def _read(self, folder: Path, name: str, bands: tuple[str, ...]) -> dict[str, np.ndarray]:
        import rasterio

        if not folder.is_dir():
            raise InputError(folder, f"patch {name} is missing from the store")
        out = {}
        for band in bands:
            path = folder / f"{name}_{band}.tif"
            try:
                with rasterio.open(path) as src:
                    out[band] = src.read(1)
            except rasterio.errors.RasterioIOError as err:
                raise InputError(path, f"band {band} of patch {name} unreadable: {err}") from err
        return out

    def close(self) -> None:
        pass


def s2_tile(patch_id: str) -> str:
    """``S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_26_57`` → its tile folder."""
    return patch_id.rsplit("_", 2)[0]


def s1_product(s1_name: str) -> str:
    """``S1A_IW_GRDH_1SDV_20170613T165043_33UUP_70_40`` → its product folder."""
    return s1_name.rsplit("_", 3)[0]


def open_store(root: Path) -> _LmdbStore | _TiffStore:
    """The LMDB layout when ``BigEarthNet-V2-LMDB/`` exists, else the GeoTIFF folders."""
    if (root / LMDB_DIR).is_dir():
        return _LmdbStore(root / LMDB_DIR)
    if (root / S2_DIR).is_dir() and (root / S1_DIR).is_dir():
        return _TiffStore(root)
    raise InputError(root, f"neither {LMDB_DIR}/ nor {S2_DIR}/ + {S1_DIR}/ found")


# BigEarthNet v1's 43 classes → the 19-class nomenclature (None: dropped), in the order of
# geobench_format.BEN43; mirrors bigearthnet_common.constants.OLD2NEW_LABELS_DICT
BEN43_TO_19 = dict(
    zip(
        BEN43,
        (
            "Urban fabric", "Urban fabric", "Industrial or commercial units",
            None, None, None, None, None, None, None, None,
            "Arable land", "Arable land", "Arable land",
            "Permanent crops", "Permanent crops", "Permanent crops",
            "Pastures", "Permanent crops", "Complex cultivation patterns",
            BEN19_ORIGINAL[6], "Agro-forestry areas",
            "Broad-leaved forest", "Coniferous forest", "Mixed forest",
            "Natural grassland and sparsely vegetated areas",
            "Moors, heathland and sclerophyllous vegetation",
            "Moors, heathland and sclerophyllous vegetation",
            "Transitional woodland, shrub", "Beaches, dunes, sands", None,
            "Natural grassland and sparsely vegetated areas", None,
            "Inland wetlands", "Inland wetlands", "Coastal wetlands", "Coastal wetlands", None,
            "Inland waters", "Inland waters", "Marine waters", "Marine waters", "Marine waters",
        ),
        strict=True,
    )
)  # fmt: skip
