"""Read GEO-Bench v1.0 tasks (per-sample HDF5) into the model's S1/S2 bands.

Layout: ``{root}/{classification_v1.0|segmentation_v1.0}/{task}/`` holds ``{sample}.hdf5``,
``task_specs.pkl``, ``band_stats.json``, ``{name}_partition.json`` and
``default_partition.json``. Each HDF5 file has one dataset per band and
``attrs["pickle"]`` (``str`` of a pickled dict: per band its ``band_info``, ``bands_order``,
and ``label`` for classification); segmentation keeps its label as the band ``label``.

Model units: S2 reflectance ×10 000 in the order of ``S2_MODEL_BANDS``; S1 VV, VH in dB.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from csmoe.data.bands import S2_MODEL_BANDS, linear_to_db
from csmoe.data.geobench_format import LABEL, S2_INFO, Task, get_task
from csmoe.data.geobench_pickle import safe_loads
from csmoe.errors import InputError, brief

SPLITS = {"train": "train", "valid": "valid", "val": "valid", "validation": "valid", "test": "test"}


@dataclass
class TaskData:
    """One split of one task, in model bands and physical units."""

    s1: np.ndarray | None  # [N, 2, H, W] float32 dB, or None when the task has no S1
    s2: np.ndarray  # [N, 10, H, W] float32 reflectance ×10 000
    labels: np.ndarray  # [N] int64 | [N, C] uint8 multi-hot | [N, H, W] int64
    kind: str  # multilabel | multiclass | segmentation
    num_classes: int
    class_names: list[str]
    sample_names: list[str]


def task_dir(root: str | Path, task: str) -> Path:
    spec = get_task(task)
    return Path(root) / spec.benchmark / spec.name


def read_partition(folder: Path, partition: str = "default") -> dict[str, list[str]]:
    path = folder / f"{partition}_partition.json"
    try:
        parts = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise InputError(path, "partition file not found (is the task downloaded/built?)") from err
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON: {err}") from err
    missing = {"train", "valid", "test"} - set(parts)
    if missing:
        raise InputError(path, f"partition lacks split(s) {sorted(missing)}")
    return parts


class TaskReader:
    """One split of one task, read sample by sample (paper-scale splits do not fit in memory:
    m-bigearthnet's 20 k training samples are 11.5 GB as float32)."""

    def __init__(self, root: str | Path, task: str, split: str, partition: str = "default"):
        self.spec = get_task(task)
        self.folder = task_dir(root, task)
        if split not in SPLITS:
            raise InputError(self.folder, f"unknown split {split!r}; use train, valid or test")
        self.sample_names = list(read_partition(self.folder, partition)[SPLITS[split]])
        if not self.sample_names:
            path = self.folder / f"{partition}_partition.json"
            raise InputError(path, f"split {split!r} is empty")

    def __len__(self) -> int:
        return len(self.sample_names)

    def __getitem__(self, i: int) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """Sample ``i`` as (s1 [2,H,W] dB or None, s2 [10,H,W], label)."""
        return read_sample(self.folder / f"{self.sample_names[i]}.hdf5", self.spec)

    def batches(self, size: int) -> Iterator[TaskData]:
        """Consecutive samples, ``size`` at a time, as :class:`TaskData`."""
        for start in range(0, len(self), size):
            samples = [self[i] for i in range(start, min(start + size, len(self)))]
            yield TaskData(
                s1=np.stack([s[0] for s in samples]) if self.spec.has_s1 else None,
                s2=np.stack([s[1] for s in samples]),
                labels=np.stack([s[2] for s in samples]),
                kind=self.spec.kind,
                num_classes=self.spec.num_classes,
                class_names=list(self.spec.class_names),
                sample_names=self.sample_names[start : start + size],
            )


def open_task(root: str | Path, task: str, split: str, *, partition: str = "default") -> TaskReader:
    """A lazy reader of split ``split`` (train/valid/test) of GEO-Bench task ``task``.

    Channels are mapped by position (see :class:`~csmoe.data.geobench_format.Task`); the one
    model band a task lacks (B06 in m-brick-kiln) is interpolated between B05 and B07 by
    wavelength rather than left at zero, so a frozen encoder sees a plausible red edge.
    """
    return TaskReader(root, task, split, partition)


def load_task(root: str | Path, task: str, split: str, *, partition: str = "default") -> TaskData:
    """The whole split in memory (see :func:`open_task` for what is read and how)."""
    reader = open_task(root, task, split, partition=partition)
    return next(reader.batches(len(reader)))


def read_sample(path: Path, spec: Task) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """One sample → (s1 [2,H,W] dB or None, s2 [10,H,W], label) in model bands."""
    import h5py

    try:
        handle = h5py.File(path, "r")
    except FileNotFoundError as err:
        raise InputError(path, "sample listed in the partition but not found") from err
    except OSError as err:
        raise InputError(path, f"not a readable HDF5 file: {err}") from err
    with handle:
        try:
            text = handle.attrs["pickle"]  # str(pickle.dumps(...)): a bytes literal as text
            text = text.decode() if isinstance(text, bytes) else text
            attrs = safe_loads(ast.literal_eval(text))
        except (KeyError, ValueError, SyntaxError) as err:
            raise InputError(path, f"no readable attrs['pickle'] metadata: {err}") from err
        except Exception as err:  # a corrupt pickle raises anything from UnpicklingError on
            raise InputError(path, f"attrs['pickle'] is not a valid pickle: {err}") from err
        arrays: dict[str, np.ndarray] = {}
        label = None
        for descriptor in attrs.get("bands_order", list(handle)):
            info = attrs.get(descriptor, {}).get("band_info")
            # dated descriptors ("02 - Blue_2019-11-05") carry the plain name in band_info
            name = getattr(info, "name", descriptor)
            if descriptor not in handle:
                raise InputError(path, f"band {descriptor!r} listed in bands_order is missing")
            try:  # HDF5 checks its own checksums (fletcher32) and filters only when read
                data = np.asarray(handle[descriptor], dtype=None if name == LABEL else np.float32)
            except (OSError, ValueError, TypeError) as err:
                raise InputError(path, f"band {descriptor!r} unreadable: {brief(err)}") from err
            if name == LABEL:
                label = data
            else:
                arrays[name] = _checked_band(data, descriptor, path)
    if label is None:
        label = attrs.get(LABEL)
    if label is None:
        raise InputError(path, "sample has no label (neither a 'label' band nor attrs label)")
    return _s1(arrays, spec, path), _s2(arrays, spec, path), _label(label, spec, path)


def _checked_band(data: np.ndarray, descriptor: str, path: Path) -> np.ndarray:
    """A band as read, refused when it is not 2-D or holds NaN/inf (damaged bytes inside an
    uncompressed band otherwise pass as pixel values)."""
    if data.ndim != 2:
        raise InputError(path, f"band {descriptor!r} has shape {data.shape}, not 2-D")
    if not np.isfinite(data).all():
        raise InputError(path, f"band {descriptor!r} holds NaN/inf values")
    return data


def _channels(arrays: dict[str, np.ndarray], spec: Task, path: Path) -> dict[str, np.ndarray]:
    """Stored band name → content code, by position in the task's stored order."""
    out = {}
    for stored, content in zip(spec.stored, spec.content, strict=True):
        if stored not in arrays:
            raise InputError(path, f"missing band {stored!r} (task {spec.name})")
        out[content] = arrays[stored]
    shapes = {band.shape for band in out.values()}
    if len(shapes) > 1:
        raise InputError(path, f"bands of different shapes {sorted(shapes)}")
    return out


def _s2(arrays: dict[str, np.ndarray], spec: Task, path: Path) -> np.ndarray:
    bands = _channels(arrays, spec, path)
    if "B06" not in bands:
        # m-brick-kiln has no B06: interpolate between its neighbours by wavelength
        w5, w6, w7 = (S2_INFO[b][2] for b in ("B05", "B06", "B07"))
        t = (w6 - w5) / (w7 - w5)
        bands["B06"] = (1 - t) * bands["B05"] + t * bands["B07"]
    s2 = np.stack([bands[b] for b in S2_MODEL_BANDS]).astype(np.float32)
    return s2 * np.float32(spec.s2_scale)


def _s1(arrays: dict[str, np.ndarray], spec: Task, path: Path) -> np.ndarray | None:
    if not spec.has_s1:
        return None
    bands = _channels(arrays, spec, path)
    # Lee-filtered intensities are linear power; the model takes backscatter in dB
    linear = np.stack([bands["VV"], bands["VH"]])
    return linear_to_db(np.maximum(linear, 1e-6))


def _label(value: object, spec: Task, path: Path) -> np.ndarray:
    label = np.asarray(value)
    if label.dtype.kind not in "biuf" or not np.isfinite(label).all():
        raise InputError(path, f"label of type {label.dtype}, expected finite numbers")
    if spec.kind == "multilabel":
        if label.shape != (spec.num_classes,):
            raise InputError(
                path, f"multi-label label of shape {label.shape}, expected ({spec.num_classes},)"
            )
        return (label > 0).astype(np.uint8)
    label = label.astype(np.int64)
    if spec.kind == "segmentation" and label.ndim != 2:
        raise InputError(path, f"segmentation label must be 2-D, got shape {label.shape}")
    if spec.kind == "multiclass" and label.ndim != 0:
        raise InputError(path, f"class label must be a scalar, got shape {label.shape}")
    if label.min() < 0 or label.max() >= spec.num_classes:
        raise InputError(path, f"label outside [0, {spec.num_classes})")
    return label
