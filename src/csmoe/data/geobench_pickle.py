"""GEO-Bench v1.0 files: the pickled metadata (read safely, written as geobench writes it) and
the per-sample HDF5 files.

GEO-Bench stores, per sample, ``attrs["pickle"] = str(pickle.dumps(attr_dict))`` whose values
are instances of ``geobench.dataset`` classes (band descriptions) and, per task,
``task_specs.pkl`` (a ``geobench.task.TaskSpecifications``). The ``geobench`` package is not
installable here, so:

- reading uses :func:`safe_loads`, an unpickler that turns every non-whitelisted class into a
  plain attribute holder. It never imports or runs code named in the file, which also makes
  opening a downloaded file safe;
- writing uses :func:`dumps`, which emits references to the real ``geobench`` class paths for
  :class:`GeobenchObject` values, so the real ``geobench`` library can load our files.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from csmoe.data.geobench_format import CLOUD, LABEL, S1_SO2SAT, S2_INFO, S2_NAMES, Task

# ---- pickles -----------------------------------------------------------------------------


class Restored:
    """Attribute holder standing in for a class the safe unpickler would not import."""

    origin = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> Restored:
        obj = object.__new__(cls)
        if args:  # objects rebuilt from constructor arguments (namedtuples, Affine, ...)
            obj.args = args
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots)
            state = {**(state[0] or {}), **(state[1] or {})}
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.state = state

    def __repr__(self) -> str:
        return f"<{self.origin} {self.__dict__}>"


_SAFE = {
    "builtins": {"set", "frozenset", "complex", "slice", "range", "bytearray"},
    "collections": {"OrderedDict"},
    "datetime": {"date", "datetime", "time", "timedelta", "timezone"},
    "numpy": {"dtype", "ndarray"},
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    "numpy.core.numeric": {"_frombuffer"},
    "numpy._core.numeric": {"_frombuffer"},
    "_codecs": {"encode"},
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name in _SAFE.get(module, ()):
            return super().find_class(module, name)
        return type(name, (Restored,), {"origin": f"{module}.{name}"})


def safe_loads(data: bytes) -> Any:
    """Unpickle GEO-Bench metadata without importing ``geobench`` (or anything else)."""
    return _SafeUnpickler(io.BytesIO(data)).load()


class GeobenchObject:
    """A value to be pickled as an instance of the real ``geobench`` class ``path``."""

    def __init__(self, path: str, **state: Any) -> None:
        self.path = path
        self.state = state


class _GeobenchPickler(pickle._Pickler):  # the pure-Python pickler lets us write any class path
    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if not isinstance(obj, GeobenchObject):
            super().save(obj, save_persistent_id)
            return
        memo = self.memo.get(id(obj))
        if memo is not None:
            self.write(self.get(memo[0]))
            return
        # what pickle writes for a plain object: class reference, NEWOBJ, then its __dict__
        module, _, qualname = obj.path.rpartition(".")
        self.save(module)
        self.save(qualname)
        self.write(pickle.STACK_GLOBAL)
        self.save(())
        self.write(pickle.NEWOBJ)
        self.memoize(obj)
        self.save(obj.state)
        self.write(pickle.BUILD)


def dumps(obj: Any) -> bytes:
    """Pickle ``obj`` (protocol 4, as GEO-Bench), writing GeobenchObject as real classes."""
    buffer = io.BytesIO()
    _GeobenchPickler(buffer, protocol=4).dump(obj)
    return buffer.getvalue()


# ---- writing -----------------------------------------------------------------------------


def band_info(stored: str, spec: Task) -> GeobenchObject:
    """The geobench BandInfo object GEO-Bench stores for band ``stored`` of ``spec``."""
    if stored == CLOUD:
        return GeobenchObject(
            "geobench.dataset.CloudProbability",
            name=CLOUD,
            alt_names=("CPL", "CLD"),
            spatial_resolution=10,
        )
    if stored in S1_SO2SAT:
        return GeobenchObject(
            "geobench.dataset.Sentinel1",
            name=stored,
            alt_names=(),
            spatial_resolution=10,
            wavelength=None,
        )
    code = next(c for c, n in S2_NAMES.items() if n == stored)
    alt, resolution, wavelength = S2_INFO[code]
    return GeobenchObject(
        "geobench.dataset.Sentinel2",
        name=stored,
        alt_names=alt,
        spatial_resolution=resolution,
        wavelength=wavelength,
    )


def label_type(spec: Task) -> GeobenchObject:
    names = list(spec.class_names)
    if spec.kind == "segmentation":
        return GeobenchObject(
            "geobench.dataset.SegmentationClasses",
            name=LABEL,
            alt_names=(),
            spatial_resolution=10,
            n_classes=spec.num_classes,
            _class_names=names,
        )
    if spec.kind == "multilabel":
        return GeobenchObject(
            "geobench.label.MultiLabelClassification",
            n_classes=spec.num_classes,
            class_name=names,
        )
    return GeobenchObject(
        "geobench.label.Classification", n_classes=spec.num_classes, _class_names=names
    )


def task_specs(spec: Task, size: int) -> GeobenchObject:
    """``task_specs.pkl`` content: a geobench.task.TaskSpecifications."""
    return GeobenchObject(
        "geobench.task.TaskSpecifications",
        dataset_name=spec.name,
        benchmark_name=spec.benchmark,
        patch_size=(size, size),
        n_time_steps=1,
        bands_info=[band_info(b, spec) for b in spec.stored],
        label_type=label_type(spec),
        spatial_resolution=10,
    )


def write_sample(
    path: str | Any,
    spec: Task,
    bands: dict[str, Any],
    label: Any,
    *,
    date: Any = None,
) -> None:
    """Write one sample as geobench.dataset.write_sample_hdf5 does (atomically).

    ``bands`` maps stored band names to 2-D arrays; ``label`` is an int (multiclass), a
    multi-hot array (multilabel) or a 2-D class map (segmentation, stored as band ``label``).
    """
    import h5py

    from csmoe.io import atomic_path

    entries = [(name, bands[name], band_info(name, spec)) for name in spec.stored]
    attr: dict[str, Any] = {}
    if spec.kind == "segmentation":
        entries.append((LABEL, label, label_type(spec)))
    else:
        attr[LABEL] = label
    order = []
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        for name, data, info in entries:
            dated = spec.dated and name != LABEL and date is not None
            descriptor = f"{name}_{date.strftime('%Y-%m-%d')}" if dated else name
            # fletcher32: a checksum per chunk, so damaged bytes fail the read instead of
            # passing as pixel values (real GEO-Bench files have none)
            handle.create_dataset(descriptor, data=data, fletcher32=True)
            attr[descriptor] = {
                "date": date if name != LABEL else None,
                "date_id": date if name != LABEL else None,
                "spatial_resolution": 10,
                "band_info": info,
                "meta_info": None,
                "transform": None,
                "crs": None,
            }
            order.append(descriptor)
        attr["bands_order"] = order
        handle.attrs["pickle"] = str(dumps(attr))
