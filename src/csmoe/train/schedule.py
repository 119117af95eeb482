"""Learning rate: linear warm-up, then cosine decay, counted in optimizer steps.

The schedule is stepped once per optimizer step of the *global* batch, never once per
process or per micro-batch (Accelerate's prepared scheduler would step once per process),
so 1, 2 or 8 processes sharing the same global batch follow the same curve.
"""

from __future__ import annotations

import math
from typing import Any

from csmoe.train.plan import StepPlan


def lr_factor(step: int, total_steps: int, warmup_steps: int, min_ratio: float = 0.0) -> float:
    """Multiplier of the base learning rate for optimizer step ``step`` (0-based)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(optimizer: Any, plan: StepPlan, min_ratio: float) -> Any:
    """A ``LambdaLR`` following :func:`lr_factor`; call ``.step()`` after each optimizer step."""
    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(
        optimizer,
        lambda step: lr_factor(step, plan.total_steps, plan.warmup_steps, min_ratio),
    )
