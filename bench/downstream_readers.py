"""Reader throughput of the downstream sets, side by side in one run.

- BigEarthNet-v2: the 24 real reBEN pairs shipped with configilm, read from their LMDB and from
  the same pixels written out in the reBEN GeoTIFF folder layout (checked identical);
- GEO-Bench: generated m-bigearthnet samples (120 px, 12 bands, per-sample HDF5), as no real
  GEO-Bench sample is installable offline.

Usage: PYTHONPATH=src python bench/downstream_readers.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd


def _lmdb_to_geotiff(lmdb_root: Path, out: Path) -> None:
    """Write every patch of the reBEN LMDB sample in the reBEN GeoTIFF layout."""
    import lmdb
    from affine import Affine
    from safetensors.numpy import load

    from csmoe.data import benv2
    from csmoe.world.benv2_world import write_tif

    meta = benv2.read_metadata(lmdb_root, include_snow_cloud=True)
    meta.drop(columns="season").to_parquet(out / benv2.METADATA)
    env = lmdb.open(str(lmdb_root / benv2.LMDB_DIR), readonly=True, lock=False)
    with env.begin() as txn:
        for patch_id, s1_name in zip(meta.patch_id, meta.s1_name, strict=True):
            folder = out / benv2.S2_DIR / benv2.s2_tile(patch_id) / patch_id
            for band, data in load(txn.get(patch_id.encode())).items():
                step = 10 * benv2.SIZE // data.shape[0]
                write_tif(folder / f"{patch_id}_{band}.tif", data, "EPSG:32633",
                          Affine(step, 0, 500000, 0, -step, 5300000))  # fmt: skip
            folder = out / benv2.S1_DIR / benv2.s1_product(s1_name) / s1_name
            for band, data in load(txn.get(s1_name.encode())).items():
                write_tif(folder / f"{s1_name}_{band}.tif", data, "EPSG:32633",
                          Affine(10, 0, 500000, 0, -10, 5300000))  # fmt: skip


def _rate(fn, repeat: int) -> tuple[float, object]:
    fn()  # warm the page cache and imports: we compare decoders, not the disk
    start = time.perf_counter()
    for _ in range(repeat):
        result = fn()
    return (time.perf_counter() - start) / repeat, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from csmoe.data import benv2, geobench_format
    from csmoe.data.geobench import load_task
    from csmoe.world.geobench_world import GeobenchWorldSpec, write_task

    tmp = Path(tempfile.mkdtemp(prefix="bench-downstream-"))
    try:
        lmdb_root = tmp / "lmdb"
        lmdb_root.mkdir()
        mock = files("configilm") / "extra" / "mock_data" / "BENv2"
        for name in (benv2.METADATA, benv2.SNOW_CLOUD_METADATA):
            shutil.copy(mock / name, lmdb_root / name)
        (lmdb_root / benv2.LMDB_DIR).symlink_to(mock / benv2.LMDB_DIR)
        tiff_root = tmp / "tiff"
        tiff_root.mkdir()
        _lmdb_to_geotiff(lmdb_root, tiff_root)

        def read(root: Path):
            return [benv2.load_pairs(root, "all", s, include_snow_cloud=True)
                    for s in ("train", "valid", "test")]  # fmt: skip

        t_lmdb, a = _rate(lambda: read(lmdb_root), args.repeat)
        t_tiff, b = _rate(lambda: read(tiff_root), args.repeat)
        assert all(np.array_equal(x.s2, y.s2) and np.array_equal(x.s1, y.s1)
                   for x, y in zip(a, b, strict=True))  # fmt: skip
        pairs = sum(len(x.patch_ids) for x in a)
        mbytes = sum(x.s1.nbytes + x.s2.nbytes for x in a) / 1e6

        cells = pd.DataFrame(
            [("0U_0R", 48.0, 11.0, "Cfb", 40), ("1U_1R", 47.0, 10.0, "Dfb", 10)],
            columns=["grid_cell", "centre_lat", "centre_lon", "climate", "landcover"],
        )
        task = geobench_format.TASKS["m-bigearthnet"]
        spec = GeobenchWorldSpec(samples={"train": 64, "valid": 1, "test": 1})
        write_task(cells, tmp / "gb" / task.benchmark / task.name, task.name, spec)
        t_h5, data = _rate(lambda: load_task(tmp / "gb", task.name, "train"), args.repeat)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"BigEarthNet-v2, {pairs} real reBEN pairs (S1 + S2 -> model bands, "
          f"{mbytes / pairs:.2f} MB float32 per pair):")  # fmt: skip
    print(f"  LMDB/safetensors  {pairs / t_lmdb:8.0f} pairs/s  {mbytes / t_lmdb:7.1f} MB/s")
    print(f"  GeoTIFF folders   {pairs / t_tiff:8.0f} pairs/s  {mbytes / t_tiff:7.1f} MB/s")
    print(f"  ratio LMDB / GeoTIFF: {t_tiff / t_lmdb:.1f}x (identical arrays)")
    print(f"  BENv2-243k (243,130 pairs) would take {243_130 * t_lmdb / pairs / 60:.1f} min "
          f"(LMDB) vs {243_130 * t_tiff / pairs / 60:.1f} min (GeoTIFF) on one core")  # fmt: skip
    n = len(data.sample_names)
    print(f"GEO-Bench m-bigearthnet, {n} generated samples (HDF5, 120 px x 12 bands):")
    print(f"  {n / t_h5:8.0f} samples/s  {data.s2.nbytes / 1e6 / t_h5:7.1f} MB/s")


if __name__ == "__main__":
    main()
