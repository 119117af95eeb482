"""Pretraining on one GPU: images/s and model FLOP utilisation (MFU) for CSMoE p16 at paper
width, plus a short run of the real training loop (Accelerate, bf16). Under five minutes.

    PYTHONPATH=src python bench/gpu_pretrain.py [--micro-batch 128] [--steps 20] [--out DIR]

1. Step throughput: whole optimizer steps as the loop runs them (120 px patches resized to
   224, all loss terms, backward, AdamW), bf16 autocast, on synthetic patches already on the
   GPU, so the figure is the model's, not the data pipeline's.
2. MFU = model FLOPs per step × steps/s ÷ the GPU's peak dense bf16 FLOP/s. Model FLOPs are
   counted once with ``torch.utils.flop_counter`` over a full training step (forward +
   backward, math attention kernel so that attention counts); for reference the analytic
   ``csmoe.models.complexity.count`` of the same model (GMACs per image, Table IV scope) is
   converted to an estimate (2 FLOPs per MAC, × 3 for forward + backward, × 2 sensors).
3. Loop check: ``run_pretraining`` for one short epoch on an in-memory set (Accelerate bf16,
   per-micro-batch mask seeds, checkpoint writing), reporting its own images/s and peak memory.

Writes ``gpu_pretrain.json`` into ``--out`` (default ``$OUT`` if set, else results/bench).
``--device cpu --config config/config.yaml`` runs the same code on the tiny model (smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from csmoe.config import load_config
from csmoe.models import build_model
from csmoe.models.complexity import count
from csmoe.models.config import ModelConfig
from csmoe.models.inputs import fit_to_model
from csmoe.train.variants import resolve_variant, variant_bundle

# dense bf16 tensor-core peaks (TFLOP/s, no sparsity) from the vendors' data sheets
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}


def peak_tflops(name: str) -> float | None:
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


class Synthetic(torch.utils.data.Dataset):
    """Normalised-looking random patches at the store's 120 px."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.s1 = torch.randn(n, 2, 120, 120, generator=g)
        self.s2 = torch.randn(n, 10, 120, 120, generator=g)

    def __len__(self) -> int:
        return len(self.s1)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"s1": self.s1[i], "s2": self.s2[i]}


def step_fn(model, opt, cfg, device, amp):
    def step(s1, s2, seed):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = model(
                fit_to_model(s1, cfg.img_size),
                fit_to_model(s2, cfg.img_size),
                generator=torch.Generator().manual_seed(seed),
            )
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return out

    return step


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_steps(job, args, device) -> dict:
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    cfg = ModelConfig.from_dict(job.model)
    torch.manual_seed(0)
    model = build_model(cfg).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    amp = device.type == "cuda"
    step = step_fn(model, opt, cfg, device, amp)
    b = args.micro_batch
    s1 = torch.randn(b, 2, 120, 120, device=device)
    s2 = torch.randn(b, 10, 120, 120, device=device)
    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:
        step(s1, s2, 0)
    flops_per_step = counter.get_total_flops()
    for i in range(args.warmup):
        step(s1, s2, i)
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for i in range(args.steps):
        start = time.perf_counter()
        step(s1, s2, i)
        sync(device)
        times.append(time.perf_counter() - start)
    step_s = statistics.median(times)
    analytic = count(cfg)["gflops"] * 1e9 * 2 * 3 * 2 * b  # MACs -> FLOPs, fwd+bwd, 2 sensors
    peak = args.peak_tflops or (peak_tflops(torch.cuda.get_device_name(device)) if amp else None)
    result = {
        "micro_batch": b,
        "step_s_median": step_s,
        "images_per_s": b / step_s,
        "flops_per_image_counted": flops_per_step / b,
        "achieved_tflops": flops_per_step / step_s / 1e12,
        "analytic_gmacs_per_image_table4_scope": count(cfg)["gflops"],
        "achieved_tflops_analytic_estimate": analytic / step_s / 1e12,
        "peak_tflops_bf16": peak,
    }
    if peak:
        result["mfu"] = result["achieved_tflops"] / peak
        result["mfu_analytic_estimate"] = result["achieved_tflops_analytic_estimate"] / peak
    if device.type == "cuda":
        result["peak_memory_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
    return result


def loop_check(job, args, cpu: bool) -> dict:
    """The real loop for one short epoch (and its checkpoint) on synthetic patches."""
    from csmoe.train.loop import run_pretraining
    from csmoe.train.state import StateDir

    tmp = Path(tempfile.mkdtemp(prefix="gpu_pretrain_"))
    os.environ.setdefault("CSMOE_MLFLOW_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    os.environ.setdefault("CSMOE_MLFLOW_ARTIFACTS", str(tmp / "mlartifacts"))
    settings = {
        **job.settings,
        "epochs": 1,
        "ckpt_every": 1,
        "batch_size": 2 * args.micro_batch,
        "micro_batch_size": args.micro_batch,
        "patches_per_epoch": None,
        "warmup_epochs": 0.5,
        "num_workers": 0,
        "mlflow_checkpoints": "none",
    }
    short = type(job)(job.variant, job.train_set, job.model, settings, job.seed)
    n = args.loop_steps * settings["batch_size"]
    start = time.perf_counter()
    history = run_pretraining(
        short,
        Synthetic(n, 0),
        Synthetic(args.micro_batch, 1),
        {},
        tmp / "out",
        StateDir(tmp / "state"),
        cpu=cpu,
    )
    row = history[-1]
    return {
        "steps": args.loop_steps,
        "wall_s": time.perf_counter() - start,
        "images_per_s": row["images_per_s"],
        "gpu_mem_gb": row.get("gpu_mem_gb"),
        "train_loss": row["train_loss"],
        "val_loss": row["val_loss"],
        "checkpoint_bytes": (tmp / "out" / "final.safetensors").stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/paper.yaml")
    parser.add_argument("--variant", default="csmoe_p16")
    parser.add_argument("--micro-batch", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--loop-steps", type=int, default=8, help="optimizer steps of the loop check"
    )
    parser.add_argument("--peak-tflops", type=float, help="override the GPU's bf16 peak")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", default=os.environ.get("OUT", "results/bench"))
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device visible (use --device cpu for a smoke test)")
    job = resolve_variant(variant_bundle(load_config(args.config), args.variant))
    torch.backends.cuda.matmul.allow_tf32 = True
    report = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "variant": args.variant,
        "model": {k: job.model[k] for k in ("kind", "img_size", "patch_size", "dim")},
    }
    t0 = time.perf_counter()
    report["steps"] = measure_steps(job, args, device)
    report["loop"] = loop_check(job, args, cpu=device.type != "cuda")
    report["total_s"] = time.perf_counter() - t0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_pretrain.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
