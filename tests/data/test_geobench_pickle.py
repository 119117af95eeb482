"""GEO-Bench files: what we write loads as geobench loads it; what we read never imports or
runs anything the file names."""

from __future__ import annotations

import ast
import pickle

import h5py
import numpy as np

from csmoe.data.geobench_format import TASKS
from csmoe.data.geobench_pickle import Restored, safe_loads, write_sample


def test_our_writer_is_loadable_by_geobench_style_unpickling(tmp_path, real_pickler):
    classes, _ = real_pickler
    spec = TASKS["m-SA-crop-type"]
    bands = {name: np.full((8, 8), 3, np.int16) for name in spec.stored}
    path = tmp_path / "s.hdf5"
    write_sample(path, spec, bands, np.ones((8, 8), np.int16))
    with h5py.File(path) as handle:
        attrs = pickle.loads(ast.literal_eval(handle.attrs["pickle"]))  # what geobench does
        assert attrs["bands_order"][-1] == "label"
        info = attrs["02 - Blue"]["band_info"]
        assert isinstance(info, classes["Sentinel2"]) and info.wavelength == 0.49


class _Payload:
    """Unpickling this calls ``marker.touch()``: what a malicious file would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (type(self.marker).touch, (self.marker,))


def test_safe_loads_neither_imports_nor_calls_what_the_file_names(tmp_path):
    marker = tmp_path / "ran"
    data = pickle.dumps({"band": _Payload(marker), "when": np.float32(2.5)})
    pickle.loads(data)  # the standard unpickler runs it ...
    assert marker.exists()
    marker.unlink()
    restored = safe_loads(data)  # ... the safe one only records it
    assert not marker.exists()
    assert isinstance(restored["band"], Restored) and restored["when"] == 2.5
