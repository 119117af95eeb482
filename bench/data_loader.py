"""Loader throughput (patches/s) with 0, 1, 2 workers, against what an H100 needs at p16.

    python bench/data_loader.py [--patches 640] [--batch 64] [--codecs zstd:1 lz4:5]

Builds a patch store of ``--patches`` mini-world patches per codec (straight from scenes, no
GeoTIFF step), then times one epoch of: the map-style ``PatchDataset`` in a shuffled
``DataLoader`` (random access, one chunk decoded per patch) and the whole-chunk
``make_loader`` path with 0, 1 and 2 workers; best of ``--repeats`` epochs, worker start-up
included. Finally the rate one H100 consumes when pretraining CSMoE p16 at paper width:

    images/s = (peak bf16 FLOP/s x utilisation) / (3 x forward FLOPs per image)

with 10.11 GMAC (= 20.2 GFLOP) forward per image (paper Table IV), x3 for forward+backward,
989 TFLOP/s dense bf16 peak and 40 % utilisation (assumptions, stated in the output).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from torch.utils.data import DataLoader

from csmoe.data.loaders import PatchDataset, make_loader
from csmoe.data.store import Patches, PatchWriter, StoreLayout
from csmoe.world.scenes import render_scene

GMAC_FORWARD_P16 = 10.11  # paper Table IV, CSMoE p16 (multiply-accumulates per image)
H100_BF16_TFLOPS = 989.0  # dense bf16 peak (SXM)
UTILISATION = 0.40


def h100_images_per_s() -> float:
    flop_per_image = 3 * 2 * GMAC_FORWARD_P16 * 1e9
    return H100_BF16_TFLOPS * 1e12 * UTILISATION / flop_per_image


def build(path: Path, n_patches: int, codec: str, clevel: int, chunk_patches: int = 4) -> None:
    layout = StoreLayout(chunk_patches=chunk_patches, shard_patches=256, mix_patches=1024,
                         codec=codec, clevel=clevel)  # fmt: skip
    writer = PatchWriter(path, layout, seed=0)
    rng = np.random.default_rng(0)
    for i in range(-(-n_patches // 4)):
        scene = render_scene(rng.uniform(-50, 60), 0.0, str(rng.choice(["Af", "Cfb", "BWh"])),
                             int(rng.choice([10, 30, 40, 50, 80])), 240, seed=i)  # fmt: skip
        s2 = np.clip(np.rint(scene.s2), 1, 65535).astype(np.uint16)
        blocks = [(r, c) for r in (0, 1) for c in (0, 1)]
        writer.add(Patches(
            grid_cell=f"{i}U_0R",
            s2=np.stack([s2[:, r*120:(r+1)*120, c*120:(c+1)*120] for r, c in blocks]),
            s1=np.stack([scene.s1_db[:, r*120:(r+1)*120, c*120:(c+1)*120] for r, c in blocks]),
            positions=np.array(blocks, np.int16),
            dropped=Counter(),
        ))  # fmt: skip
    writer.close(val_fraction=0.05)


def epoch_rate(loader_factory, repeats: int) -> tuple[float, float]:
    """Best patches/s over ``repeats`` epochs: whole epoch (worker start-up included), and
    steady state (from the first batch's arrival to the end)."""
    best_epoch = best_steady = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        n = n_first = 0
        first = start
        for batch in loader_factory():
            if n == 0:
                first, n_first = time.perf_counter(), len(batch["s2"])
            n += len(batch["s2"])
        end = time.perf_counter()
        best_epoch = max(best_epoch, n / (end - start))
        best_steady = max(best_steady, (n - n_first) / max(end - first, 1e-9))
    return best_epoch, best_steady


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=1280)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--codecs", nargs="+", default=["lz4:5", "zstd:1", "none:0"])
    parser.add_argument("--chunk-patches", type=int, nargs="+", default=[4, 16])
    args = parser.parse_args()
    need = h100_images_per_s()
    print(f"{args.patches} patches, batch {args.batch}, {os.cpu_count()} CPUs, "
          f"best of {args.repeats} epochs (worker start-up included)")  # fmt: skip
    print("| store codec | chunk | loader | workers | patches/s epoch | patches/s steady "
          "| MB/s steady (decompressed) | steady / one H100's need |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    patch_mb = (10 * 2 + 2 * 4) * 120 * 120 / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        for spec, chunk in [(c, k) for c in args.codecs for k in args.chunk_patches]:
            codec, clevel = spec.split(":")
            store = Path(tmp) / f"{codec}{clevel}_{chunk}.zarr"
            build(store, args.patches, codec, int(clevel), chunk)
            size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
            label = f"{codec} {clevel} ({args.patches * patch_mb / (size / 1e6):.2f}x) | {chunk}"
            runs = [("PatchDataset", 0, lambda s=store: DataLoader(
                PatchDataset(s, "train"), batch_size=args.batch, shuffle=True))]  # fmt: skip
            runs += [("make_loader", w, lambda s=store, w=w: make_loader(
                s, "train", args.batch, workers=w)) for w in (0, 1, 2)]  # fmt: skip
            for name, workers, factory in runs:
                epoch, steady = epoch_rate(factory, args.repeats)
                print(f"| {label} | {name} | {workers} | {epoch:.0f} | {steady:.0f} | "
                      f"{steady * patch_mb:.0f} | {steady / need:.2f} |", flush=True)  # fmt: skip
    print(f"\nH100 at CSMoE p16: {need:.0f} images/s = 989 TFLOP/s x {UTILISATION:.0%} / "
          f"(3 x 2 x {GMAC_FORWARD_P16} GMAC)")  # fmt: skip


if __name__ == "__main__":
    main()
