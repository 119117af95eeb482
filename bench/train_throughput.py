"""Pretraining throughput on CPU: CSMoE vs CSMAE at equal width (the default tiny config).

    PYTHONPATH=src python bench/train_throughput.py [--steps 6] [--threads 1]

Times whole optimizer steps as ``csmoe pretrain run`` does them (120 px patches resized to
the model's input size, forward with all loss terms, backward, gradient clipping, AdamW) for
the default config's ``csmoe_p16`` and ``csmae`` variants (same preset, same patch size; CSMAE
has dense MLPs where CSMoE has Soft MoE layers), interleaved step by step in one process so
machine load hits both alike. Reports patches/s (median over steps) and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from csmoe.config import load_config
from csmoe.models import build_model
from csmoe.models.config import ModelConfig
from csmoe.models.inputs import fit_to_model
from csmoe.train.variants import resolve_variant, variant_bundle

VARIANTS = ("csmoe_p16", "csmae")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per model")
    parser.add_argument("--threads", type=int, default=1, help="as pretrain.threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(args.config)
    runs = {}
    for name in VARIANTS:
        job = resolve_variant(variant_bundle(config, name))
        torch.manual_seed(0)
        model = build_model(ModelConfig.from_dict(job.model)).train()
        opt = torch.optim.AdamW(model.parameters(), lr=job.settings["lr"])
        batch = job.settings["micro_batch_size"]
        gen = torch.Generator().manual_seed(1)
        data = (
            torch.randn(batch, 2, 120, 120, generator=gen),
            torch.randn(batch, 10, 120, 120, generator=gen),
        )
        runs[name] = (job, model, opt, data)

    def step(job, model, opt, data):
        s1, s2 = (fit_to_model(x, job.model["img_size"]) for x in data)
        out = model(s1, s2, generator=torch.Generator().manual_seed(0))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for run in runs.values():  # warm-up
        step(*run)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.steps):
        for name, run in runs.items():
            start = time.perf_counter()
            step(*run)
            rates[name].append(run[3][0].shape[0] / (time.perf_counter() - start))
    median = {name: statistics.median(r) for name, r in rates.items()}
    job = runs["csmoe_p16"][0]
    print(
        f"img {job.model['img_size']} px, patch {job.model['patch_size']}, width "
        f"{job.model['dim']}, micro-batch {job.settings['micro_batch_size']}, threads "
        f"{torch.get_num_threads()}, median of {args.steps} steps"
    )
    for name, rate in median.items():
        params = sum(p.numel() for p in runs[name][1].parameters()) / 1e6
        print(f"{name:10s} {rate:7.1f} patches/s   ({params:.2f} M parameters)")
    print(f"CSMAE / CSMoE throughput: {median['csmae'] / median['csmoe_p16']:.2f}x")


if __name__ == "__main__":
    main()
