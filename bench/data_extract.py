"""Extraction throughput against the raw GeoTIFF decode speed of the same tiles.

    python bench/data_extract.py [--tiles 24] [--tile-px 256] [--repeats 3]

Generates a mini world of ``--tiles`` tiles, then, interleaved ``--repeats`` times on the same
files: (1) *decode only*: read each pair's row groups and decode the model's 12 GeoTIFF bands
(the practical limit: every extractor has to do this); (2) *extract*: the full
``csmoe.data.extract.build_store`` (decode, mask, cut, compress, write zarr, stats) with 0, 1
and 2 worker processes. Reports tiles/s, MB/s of encoded input, and extract/decode ratios
(best of the repeats, so that other load on the machine disturbs the ratio least).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from csmoe.data.extract import build_store
from csmoe.data.majortom import decode_band, iter_raw_tiles, pair_tiles
from csmoe.world.majortom_world import WorldSpec, write_world


def _cells(n: int) -> object:
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "grid_cell": [f"{100 + i}U_{i}R" for i in range(n)],
            "grid_row_u": 100 + np.arange(n),
            "grid_col_r": np.arange(n),
            "centre_lat": rng.uniform(-50, 60, n),
            "centre_lon": rng.uniform(-170, 170, n),
            "climate": rng.choice(["Af", "BWh", "Cfb", "Dfb", "ET"], n),
            "landcover": rng.choice([10, 20, 30, 40, 50, 60, 80], n),
        }
    )


def decode_only(root: Path) -> tuple[float, int]:
    start = time.perf_counter()
    pairs, _ = pair_tiles(root)
    nbytes = 0
    for raw in iter_raw_tiles(pairs):
        nbytes += raw.nbytes
        for band, data in (*raw.s2.items(), *raw.s1.items()):
            decode_band(data, raw.grid_cell, band)
    return time.perf_counter() - start, nbytes


def extract(root: Path, out: Path, workers: int) -> float:
    params = {"workers": workers, "chunk_patches": 4, "shard_patches": 256, "mix_patches": 1024}
    start = time.perf_counter()
    build_store(root, out / "store.zarr", out / "stats.json", params, seed=0)
    seconds = time.perf_counter() - start
    shutil.rmtree(out)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=24)
    parser.add_argument("--tile-px", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "world"
        write_world(_cells(args.tiles), root, WorldSpec(tile_px=args.tile_px, seed=0))
        times: dict[str, list[float]] = {"decode": []} | {
            f"extract w={w}": [] for w in args.workers
        }
        nbytes = 0
        for _ in range(args.repeats):
            seconds, nbytes = decode_only(root)
            times["decode"].append(seconds)
            for w in args.workers:
                times[f"extract w={w}"].append(extract(root, Path(tmp) / "out", w))
    best = {k: min(v) for k, v in times.items()}
    print(f"{args.tiles} tiles of {args.tile_px} px, {nbytes / 1e6:.1f} MB of encoded bands "
          f"(model bands), {os.cpu_count()} CPUs, best of {args.repeats}")  # fmt: skip
    print("| path | tiles/s | MB/s | time vs decode only |")
    print("|---|---|---|---|")
    for name, seconds in best.items():
        print(f"| {name} | {args.tiles / seconds:.1f} | {nbytes / 1e6 / seconds:.1f} | "
              f"{seconds / best['decode']:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
