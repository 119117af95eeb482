from __future__ import annotations

import numpy as np
import pytest

from csmoe.errors import ConfigError
from csmoe.train.plan import (
    checkpoint_epochs,
    chunk_seed,
    epoch_order,
    plan_steps,
    rank_micro_batches,
    val_chunks,
)


def test_checkpoint_epochs_every_n():
    assert checkpoint_epochs(800, 50) == list(range(50, 801, 50))
    assert checkpoint_epochs(5, 2) == [2, 4]
    with pytest.raises(ConfigError):
        checkpoint_epochs(5, 0)


def _plan(procs, micro=4, n=100):
    return plan_steps(
        n, global_batch=16, micro_batch=micro, num_processes=procs, epochs=3, warmup_epochs=0.5
    )


def test_global_batch_fixes_the_steps_whatever_the_process_count():
    one, two, four = _plan(1), _plan(2), _plan(4)
    assert (one.accum, two.accum, four.accum) == (4, 2, 1)
    assert one.steps_per_epoch == two.steps_per_epoch == four.steps_per_epoch == 6
    assert one.total_steps == 18 and one.warmup_steps == 3


def test_every_layout_runs_the_same_micro_batches():
    order = epoch_order(100, seed=3, epoch=1)
    ref = {(m.step, m.chunk): m.indices for m in rank_micro_batches(order, _plan(1), 0)}
    for procs in (2, 4):
        plan = _plan(procs)
        got = {}
        for rank in range(procs):
            got.update(
                {(m.step, m.chunk): m.indices for m in rank_micro_batches(order, plan, rank)}
            )
        assert got == ref
    used = [i for idx in ref.values() for i in idx]
    assert len(used) == len(set(used)) == 96  # the incomplete last batch is dropped


def test_resume_position_skips_done_steps():
    order = epoch_order(100, 0, 0)
    rest = rank_micro_batches(order, _plan(2), 1, start_step=4)
    assert [m.step for m in rest] == [4, 4, 5, 5]
    assert rest == rank_micro_batches(order, _plan(2), 1)[-4:]


def test_order_and_seeds_are_pure_functions():
    assert np.array_equal(epoch_order(50, 1, 2), epoch_order(50, 1, 2))
    assert not np.array_equal(epoch_order(50, 1, 2), epoch_order(50, 1, 3))
    assert chunk_seed(0, 1, 2, 3) == chunk_seed(0, 1, 2, 3) != chunk_seed(0, 1, 2, 4)


def test_bad_batch_sizes_are_refused():
    with pytest.raises(ConfigError, match="multiple"):
        plan_steps(100, global_batch=10, micro_batch=4, num_processes=1, epochs=1, warmup_epochs=0)
    with pytest.raises(ConfigError, match="fewer than one global batch"):
        plan_steps(10, global_batch=16, micro_batch=4, num_processes=1, epochs=1, warmup_epochs=0)


def test_val_chunks_cover_the_split_once_for_any_world_size():
    for world in (1, 2, 3):
        chunks = [c for r in range(world) for c in val_chunks(21, 4, r, world)]
        assert sorted(c for c, _ in chunks) == list(range(6))
        assert sorted(i for _, idx in chunks for i in idx) == list(range(21))
