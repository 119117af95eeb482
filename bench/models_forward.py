"""CSMoE p16 vs CSMAE: forward time per image at paper width, against their FLOP ratio.

    PYTHONPATH=src python bench/models_forward.py [--batch 4] [--repeats 5]

Each model runs exactly the forward its Table I count covers
(``csmoe.models.complexity.counted_forward``; scopes from config/paper.yaml), without
gradients, interleaved round by round in one process. Models: CSMoE p16 (paper preset), the
CSMAE of Table I (ViT-B, 120 px, patch 15) and our CSMAE baseline in the CSMoE layout (p16,
dense MLPs) counted like CSMoE.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from csmoe.config import load_config
from csmoe.models import build_model
from csmoe.models.complexity import count, counted_forward, counted_model

MODELS = {
    "CSMoE p16": ("csmoe", {"patch_size": 16}),
    "CSMAE (Table I)": ("csmae", {}),
    "CSMAE layout p16": ("csmoe", {"patch_size": 16, "kind": "csmae"}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--config", default="config/paper.yaml")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models_cfg = load_config(args.config)["models"]
    runs = {}
    for label, (name, overrides) in MODELS.items():
        cfg, scope = counted_model(models_cfg, name, **overrides)
        model = build_model(cfg).eval()
        x = torch.randn(args.batch, cfg.bands(scope.modality), cfg.img_size, cfg.img_size)
        runs[label] = (model, x, scope, count(cfg, scope)["gflops"])
    times: dict[str, list[float]] = {k: [] for k in runs}
    with torch.no_grad():
        for model, x, scope, _ in runs.values():  # warm-up
            counted_forward(model, x, scope)
        for _ in range(args.repeats):
            for label, (model, x, scope, _) in runs.items():
                start = time.perf_counter()
                counted_forward(model, x, scope)
                times[label].append((time.perf_counter() - start) / args.batch)
    base = "CSMoE p16"
    print(f"batch {args.batch}, threads {torch.get_num_threads()}, {args.repeats} rounds")
    # the minimum is the least disturbed run on a shared machine; the median is shown beside it
    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    for label, (_, _, _, gflops) in runs.items():
        print(
            f"{label:18s} {gflops:6.2f} GFLOPs (ratio {gflops / runs[base][3]:.2f})  "
            f"min {best[label] * 1e3:7.1f} ms/image (ratio {best[label] / best[base]:.2f})  "
            f"median {med[label] * 1e3:7.1f} ms/image (ratio {med[label] / med[base]:.2f})"
        )


if __name__ == "__main__":
    main()
