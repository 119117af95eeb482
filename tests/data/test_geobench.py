"""GEO-Bench reader: files written the way geobench itself writes them.

No real GEO-Bench sample ships on PyPI, so the fixture below reproduces
``geobench.dataset.write_sample_hdf5`` independently of our writer: it registers stand-in
``geobench.dataset`` classes, pickles real class instances with the standard pickler and
removes the module again, so the reader must cope without ``geobench`` installed.
"""

from __future__ import annotations

import datetime
import json
import sys

import h5py
import numpy as np
import pytest

from csmoe.data import geobench_format as fmt
from csmoe.data.bands import S2_MODEL_BANDS
from csmoe.data.geobench import load_task
from csmoe.errors import InputError


def _write_real(path, bands, label, classes, dump, *, label_band=False, date=None):
    """Mimic geobench.dataset.write_sample_hdf5 for (stored name, array, class) bands."""
    attr, order = {}, []
    entries = list(bands)
    if label_band:
        entries.append(("label", label, classes["SegmentationClasses"]("label")))
    else:
        attr["label"] = label
    with h5py.File(path, "w") as handle:
        for name, data, info in entries:
            descriptor = f"{name}_{date:%Y-%m-%d}" if date and name != "label" else name
            handle.create_dataset(descriptor, data=data)
            attr[descriptor] = {"date": date, "band_info": info, "transform": None, "crs": None}
            order.append(descriptor)
        attr["bands_order"] = order
        handle.attrs["pickle"] = dump(attr)


def _task_folder(tmp_path, task, names):
    spec = fmt.TASKS[task]
    folder = tmp_path / spec.benchmark / task
    folder.mkdir(parents=True)
    split = {"train": names[:2], "valid": names[2:3], "test": names[3:]}
    (folder / "default_partition.json").write_text(json.dumps(split))
    return spec, folder


def _s2_bands(spec, cls, size, rng, value_of=None):
    out = []
    for stored, content in zip(spec.stored, spec.content, strict=True):
        data = rng.integers(0, 5000, (size, size)).astype(np.int16)
        if value_of is not None:
            data[:] = value_of(content)
        out.append((stored, data, cls[_cls_name(stored)](stored)))
    return out


def _cls_name(stored):
    if stored == fmt.CLOUD:
        return "CloudProbability"
    return "Sentinel1" if stored in fmt.S1_SO2SAT else "Sentinel2"


CODES = {c: 100 * (i + 1) for i, c in enumerate(fmt.S2_NAMES)}


def test_eurosat_channels_by_position(tmp_path, real_pickler):
    classes, dump = real_pickler
    names = [f"id_{i:04d}" for i in range(4)]
    spec, folder = _task_folder(tmp_path, "m-eurosat", names)
    rng = np.random.default_rng(0)
    for i, name in enumerate(names):
        bands = _s2_bands(spec, classes, 64, rng, value_of=lambda c: CODES.get(c, 0))
        _write_real(folder / f"{name}.hdf5", bands, i % 10, classes, dump)
    sys.modules.pop("geobench.dataset")  # the reader must not need geobench
    data = load_task(tmp_path, "m-eurosat", "train")
    assert data.s1 is None and data.kind == "multiclass" and data.num_classes == 10
    assert data.s2.shape == (2, 10, 64, 64)
    # issue #28: the channel named "08A" holds B09 and the last one holds B8A
    expected = [CODES[b] for b in S2_MODEL_BANDS]
    assert data.s2[0, :, 0, 0].tolist() == expected
    assert data.labels.tolist() == [0, 1]


def test_brick_kiln_interpolates_b06(tmp_path, real_pickler):
    classes, dump = real_pickler
    names = [f"s{i}" for i in range(4)]
    spec, folder = _task_folder(tmp_path, "m-brick-kiln", names)
    rng = np.random.default_rng(0)
    for name in names:
        bands = _s2_bands(spec, classes, 64, rng, value_of=lambda c: CODES.get(c, 7))
        _write_real(folder / f"{name}.hdf5", bands, 1, classes, dump)
    data = load_task(tmp_path, "m-brick-kiln", "test")
    b05, b06, b07 = data.s2[0, 4:7, 0, 0]
    assert b05 == CODES["B05"] and b07 == CODES["B07"] and b05 < b06 < b07


def test_so2sat_units_and_s1_db(tmp_path, real_pickler):
    classes, dump = real_pickler
    names = [f"id_{i}" for i in range(4)]
    spec, folder = _task_folder(tmp_path, "m-so2sat", names)
    rng = np.random.default_rng(1)
    for name in names:
        bands = []
        for stored, content in zip(spec.stored, spec.content, strict=True):
            value = {"VV": 0.1, "VH": 0.01}.get(content, 0.05)  # linear power, reflectance
            data = np.full((32, 32), value, np.float32) + rng.normal(0, 1e-6, (32, 32))
            bands.append((stored, data.astype(np.float32), classes[_cls_name(stored)](stored)))
        _write_real(folder / f"{name}.hdf5", bands, 16, classes, dump)
    data = load_task(tmp_path, "m-so2sat", "valid")
    assert data.s1.shape == (1, 2, 32, 32)
    np.testing.assert_allclose(data.s1[0, :, 0, 0], [-10.0, -20.0], atol=1e-3)
    np.testing.assert_allclose(data.s2[0, 0, 0, 0], 500.0, rtol=1e-3)  # ×10 000


def test_bigearthnet_multilabel_and_cashew_dated_segmentation(tmp_path, real_pickler):
    classes, dump = real_pickler
    rng = np.random.default_rng(2)
    names = [f"id_{i}" for i in range(4)]
    spec, folder = _task_folder(tmp_path, "m-bigearthnet", names)
    for name in names:
        label = np.zeros(43, np.int64)
        label[[3, 22]] = 1
        _write_real(
            folder / f"{name}.hdf5", _s2_bands(spec, classes, 120, rng), label, classes, dump
        )
    data = load_task(tmp_path, "m-bigearthnet", "train")
    assert data.labels.shape == (2, 43) and data.labels[0].nonzero()[0].tolist() == [3, 22]

    spec, folder = _task_folder(tmp_path, "m-cashew-plant", names)
    for name in names:
        mask = rng.integers(0, 7, (16, 16))
        _write_real(
            folder / f"{name}.hdf5",
            _s2_bands(spec, classes, 16, rng),
            mask,
            classes,
            dump,
            label_band=True,
            date=datetime.date(2019, 11, 5),
        )
    data = load_task(tmp_path, "m-cashew-plant", "train")
    assert data.kind == "segmentation" and data.labels.shape == (2, 16, 16)
    assert data.labels.max() < 7


def test_missing_label_and_band_name_the_file(tmp_path, real_pickler):
    classes, dump = real_pickler
    names = [f"id_{i}" for i in range(4)]
    spec, folder = _task_folder(tmp_path, "m-eurosat", names)
    rng = np.random.default_rng(3)
    bands = _s2_bands(spec, classes, 8, rng)
    _write_real(folder / "id_0.hdf5", bands, None, classes, dump)
    with pytest.raises(InputError, match=r"id_0\.hdf5.*no label"):
        load_task(tmp_path, "m-eurosat", "train")
    _write_real(folder / "id_0.hdf5", bands[:-1], 1, classes, dump)
    with pytest.raises(InputError, match=r"id_0\.hdf5.*missing band '12 - SWIR'"):
        load_task(tmp_path, "m-eurosat", "train")


def test_corrupt_sample_and_missing_partition_named(tmp_path):
    names = [f"id_{i}" for i in range(4)]
    _, folder = _task_folder(tmp_path, "m-brick-kiln", names)
    (folder / "id_0.hdf5").write_bytes(b"\x00not hdf5")
    with pytest.raises(InputError, match=r"id_0\.hdf5: not a readable HDF5"):
        load_task(tmp_path, "m-brick-kiln", "train")
    (folder / "default_partition.json").unlink()
    with pytest.raises(InputError, match=r"default_partition\.json: partition file not found"):
        load_task(tmp_path, "m-brick-kiln", "train")


def _band_offset(path, descriptor):
    with h5py.File(path, "r") as handle:
        dataset = handle[descriptor]
        if dataset.chunks is None:
            return dataset.id.get_offset()
        return dataset.id.get_chunk_info(0).byte_offset


def test_garbage_inside_a_sample_is_an_error_naming_it(tmp_path, real_pickler):
    # real GEO-Bench files have no checksums: NaN/inf garbage is caught by value, finite
    # garbage cannot be (README); samples written here carry fletcher32 checksums
    from csmoe.data.geobench_pickle import write_sample

    classes, dump = real_pickler
    names = [f"id_{i}" for i in range(4)]
    spec, folder = _task_folder(tmp_path, "m-eurosat", names)
    rng = np.random.default_rng(0)
    bands = [(s, d.astype(np.float32), c) for s, d, c in _s2_bands(spec, classes, 16, rng)]
    path = folder / "id_0.hdf5"
    for name in names:
        _write_real(folder / f"{name}.hdf5", bands, 1, classes, dump)
    at = _band_offset(path, "03 - Green")
    data = bytearray(path.read_bytes())
    data[at + 40 : at + 48] = np.full(2, np.nan, np.float32).tobytes()  # garbage that is NaN
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"id_0\.hdf5: band '03 - Green' holds NaN/inf"):
        load_task(tmp_path, "m-eurosat", "train")
    write_sample(path, spec, {s: d for s, d, _ in bands}, 1)  # with checksums
    at = _band_offset(path, "03 - Green")
    data = bytearray(path.read_bytes())
    data[at + 40] ^= 0x01  # a finite value changed by one bit
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"id_0\.hdf5: band '03 - Green' unreadable"):
        load_task(tmp_path, "m-eurosat", "train")
