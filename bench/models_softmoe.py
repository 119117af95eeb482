"""Soft MoE layer forward+backward vs a dense MLP of equal FLOPs and vs a per-expert loop.

    PYTHONPATH=src python bench/models_softmoe.py [--dim 768] [--batch 8] [--repeats 7]

All three run side by side in one process, interleaved round by round, so machine noise hits
them alike; the ratios (median times) are what to read. Tokens = 197 (224 px, patch 16), 8
experts, as many slots as patches (the paper preset), MLP ratio 4.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from csmoe.models.blocks import Mlp
from csmoe.models.complexity import block_macs
from csmoe.models.softmoe import SoftMoE


class LoopSoftMoE(SoftMoE):
    """The same layer, experts run one after the other in Python (the naive implementation)."""

    def experts(self, slots: torch.Tensor) -> torch.Tensor:
        outs = [
            F.gelu(slots[:, e] @ self.w1[e] + self.b1[e]) @ self.w2[e] + self.b2[e]
            for e in range(self.num_experts)
        ]
        return torch.stack(outs, dim=1)


def step(layer: torch.nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    layer(x).sum().backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--tokens", type=int, default=197)
    parser.add_argument("--experts", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    d, n, e = args.dim, args.tokens, args.experts
    slots = -(-(n - 1) // e)  # as many slots as patches, as in the paper preset
    hidden = 4 * d
    moe = SoftMoE(d, hidden, e, slots)
    loop = LoopSoftMoE(d, hidden, e, slots)
    loop.load_state_dict(moe.state_dict())
    # dense MLP whose MACs equal the Soft MoE's (experts + routing): widen its hidden layer
    moe_macs = (
        block_macs(n, d, 4.0, True, e, slots) - block_macs(n, d, 4.0, False) + (n * 2 * d * hidden)
    )
    dense_hidden = round(moe_macs / (n * 2 * d))
    dense = Mlp(d, dense_hidden)
    layers = {"soft_moe": moe, "dense_mlp_equal_flops": dense, "per_expert_loop": loop}
    x = torch.randn(args.batch, n, d, requires_grad=True)
    times: dict[str, list[float]] = {k: [] for k in layers}
    for layer in layers.values():  # warm-up
        step(layer, x)
    for _ in range(args.repeats):
        for name, layer in layers.items():
            times[name].append(step(layer, x))
    print(
        f"tokens {n}, width {d}, {e} experts x {slots} slots, batch {args.batch}, "
        f"threads {torch.get_num_threads()}, {args.repeats} rounds; MACs/sample: soft MoE "
        f"{moe_macs / 1e9:.3f} G, dense MLP {n * 2 * d * dense_hidden / 1e9:.3f} G "
        f"(hidden {dense_hidden})"
    )
    # the minimum is the least disturbed run on a shared machine; the median is shown beside it
    for stat in (min, statistics.median):
        best = {k: stat(v) for k, v in times.items()}
        cells = "  ".join(f"{k} {v * 1e3:.0f} ms" for k, v in best.items())
        print(
            f"{stat.__name__:6s} {cells}  |  soft MoE / dense "
            f"{best['soft_moe'] / best['dense_mlp_equal_flops']:.2f}x, loop / soft MoE "
            f"{best['per_expert_loop'] / best['soft_moe']:.2f}x"
        )


if __name__ == "__main__":
    main()
