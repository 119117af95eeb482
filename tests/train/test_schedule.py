from __future__ import annotations

import math

import pytest
import torch

from csmoe.train.plan import plan_steps
from csmoe.train.schedule import build_scheduler, lr_factor


def test_warmup_is_linear_then_cosine_to_min():
    assert [lr_factor(s, 10, 4) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(4, 10, 4) == 1.0
    assert lr_factor(7, 10, 4) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_factor(10, 10, 4, min_ratio=0.1) == pytest.approx(0.1)
    assert lr_factor(0, 10, 0) == 1.0  # no warm-up


def test_scheduler_follows_optimizer_steps_of_the_global_batch():
    # 2 processes x 2 accumulation or 1 x 4: the same number of scheduler steps per epoch
    lrs = {}
    for procs in (1, 2):
        plan = plan_steps(
            64, global_batch=16, micro_batch=4, num_processes=procs, epochs=2, warmup_epochs=1
        )
        opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        sched = build_scheduler(opt, plan, 0.0)
        seen = []
        for _ in range(plan.total_steps):
            seen.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        lrs[procs] = seen
    assert lrs[1] == lrs[2]
    assert lrs[1][:4] == [0.25, 0.5, 0.75, 1.0] and lrs[1][-1] < 0.2
