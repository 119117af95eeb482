"""What the patch store's per-chunk CRC32C costs on reads, side by side in one run.

    python bench/store_checksum.py [--patches 1024] [--repeats 5]

Builds one mini-world patch store with the writer (``PatchWriter``: Blosc-lz4 then CRC32C per
chunk), copies its ``s1``/``s2`` arrays into a second store with the same chunks, shards and
Blosc settings but no CRC, and times whole-chunk reads of every chunk of both (the work of
``make_loader``; ``PatchDataset`` decodes the same chunks, one per patch), alternating the
two for ``--repeats`` rounds: best times, and the median of the per-round ratios (robust to a
machine whose load changes during the run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from data_loader import build


def copy_without_crc(source, path: Path):
    import zarr

    target = zarr.open_group(str(path), mode="w")
    for name in ("s1", "s2"):
        array = source[name]
        blosc = [c for c in array.compressors if type(c).__name__ == "BloscCodec"]
        copy = target.create_array(
            name,
            shape=array.shape,
            dtype=array.dtype,
            chunks=array.chunks,
            shards=array.shards,
            compressors=blosc,
        )
        copy[:] = array[:]
    return target


def read_all(group) -> float:
    """Seconds to read every chunk of s1 and s2, one chunk at a time."""
    start = time.perf_counter()
    for name in ("s1", "s2"):
        array = group[name]
        step = array.chunks[0]
        for i in range(0, array.shape[0], step):
            array[i : i + step]
    return time.perf_counter() - start


def main() -> None:
    import zarr

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp) / "crc.zarr", args.patches, "lz4", 5)
        with_crc = zarr.open_group(str(Path(tmp) / "crc.zarr"), mode="r")
        names = [type(c).__name__ for c in with_crc["s2"].compressors]
        without = copy_without_crc(with_crc, Path(tmp) / "plain.zarr")
        times: dict[str, list[float]] = {"crc32c": [], "none": []}
        for i in range(args.repeats):
            order = (("crc32c", with_crc), ("none", without))
            for name, group in order if i % 2 == 0 else order[::-1]:
                times[name].append(read_all(group))
        n, chunk = with_crc["s2"].shape[0], with_crc["s2"].chunks[0]
    print(f"{n} patches, chunks of {chunk}, codecs {names} vs Blosc only")
    for name, seconds in times.items():
        print(f"  {name:7s} best {min(seconds):.3f} s  {n / min(seconds):8.0f} patches/s")
    ratios = [a / b for a, b in zip(times["crc32c"], times["none"], strict=True)]
    print(
        f"  read time with / without CRC32C: median {statistics.median(ratios):.3f} "
        f"over {len(ratios)} rounds (best/best {min(times['crc32c']) / min(times['none']):.3f})"
    )


if __name__ == "__main__":
    main()
