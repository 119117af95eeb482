"""Pretraining input throughput: ``pretrain.loader`` patches vs chunks on the same store.

    PYTHONPATH=src python bench/train_loader.py [--patches 640] [--micro-batch 64]

Builds one mini-world patch store per ``--chunk-patches`` (with the data benchmark's
builder, bench/data_loader.py) and times one epoch of one process's training micro-batches
exactly as :mod:`csmoe.train.loop` draws them: ``patches`` = a ``DataLoader`` over
``PatchDataset`` with the epoch's global order cut into micro-batches (random access, a
store chunk decoded per patch); ``chunks`` = :class:`csmoe.train.data.ChunkFeed` (whole-chunk
reads). Workers 0 and 2 each; the configurations take turns in every repeat, so machine
load hits them alike; best epoch of ``--repeats`` (worker start-up included).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from data_loader import build, epoch_rate, h100_images_per_s  # also puts src/ on the path
from torch.utils.data import DataLoader

from csmoe.data.loaders import PatchDataset
from csmoe.train.data import ChunkFeed
from csmoe.train.plan import epoch_order, plan_steps, rank_micro_batches


def patch_batches(train: PatchDataset, micro: int, workers: int) -> DataLoader:
    plan = plan_steps(
        len(train), global_batch=micro, micro_batch=micro, num_processes=1, epochs=1,
        warmup_epochs=0,
    )  # fmt: skip
    micro_batches = rank_micro_batches(epoch_order(len(train), 0, 0), plan, rank=0)
    return DataLoader(train, batch_sampler=[m.indices for m in micro_batches], num_workers=workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=640)
    parser.add_argument("--micro-batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--chunk-patches", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    args = parser.parse_args()
    print(f"{args.patches} patches (lz4), micro-batch {args.micro_batch}, {os.cpu_count()} CPUs, "
          f"best of {args.repeats} epochs, one process")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for chunk in args.chunk_patches:
            store = Path(tmp) / f"c{chunk}.zarr"
            build(store, args.patches, "lz4", 5, chunk)
            train = PatchDataset(store, "train")
            for w in args.workers:
                runs[chunk, "patches", w] = lambda t=train, w=w: patch_batches(
                    t, args.micro_batch, w
                )
                runs[chunk, "chunks", w] = lambda t=train, w=w: ChunkFeed(
                    t, args.micro_batch, 0, 0, 1, w
                ).epoch(0)
        best = dict.fromkeys(runs, 0.0)
        for _ in range(args.repeats):
            for key, factory in runs.items():
                best[key] = max(best[key], epoch_rate(factory, 1)[0])
    need = h100_images_per_s()
    print("| chunk | workers | patches: patches/s | chunks: patches/s | chunks / patches "
          "| chunks / one H100's need |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for chunk in args.chunk_patches:
        for w in args.workers:
            p, c = best[chunk, "patches", w], best[chunk, "chunks", w]
            print(f"| {chunk} | {w} | {p:.0f} | {c:.0f} | {c / p:.1f}x | {c / need:.2f} |")
    print(f"\nH100 at CSMoE p16: {need:.0f} images/s (bench/data_loader.py)")


if __name__ == "__main__":
    main()
