"""How many optimizer steps, which samples go where: the batch plan of a pretraining run.

Torch-free on purpose: Snakemake imports :func:`checkpoint_epochs` to declare the outputs.

Everything is defined in terms of the *global* batch (all processes × gradient accumulation),
so the data order, the learning-rate schedule and (with the per-chunk mask seeds) the
gradients do not depend on how many processes share the work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from csmoe.errors import ConfigError


def checkpoint_epochs(epochs: int, every: int) -> list[int]:
    """Epochs (1-based, counted when finished) after which a weight checkpoint is written."""
    if every < 1:
        raise ConfigError(f"pretrain.ckpt_every must be >= 1, got {every}")
    return list(range(every, epochs + 1, every))


@dataclass(frozen=True)
class StepPlan:
    """The global batch is cut into ``chunks = num_processes * accum`` micro-batches of
    ``micro_batch`` samples; process ``r`` runs chunks ``r*accum .. r*accum + accum - 1``."""

    global_batch: int
    micro_batch: int
    num_processes: int
    accum: int
    steps_per_epoch: int
    epochs: int
    warmup_steps: int

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    @property
    def chunks(self) -> int:
        return self.num_processes * self.accum


def plan_steps(
    n_train: int,
    *,
    global_batch: int,
    micro_batch: int,
    num_processes: int,
    epochs: int,
    warmup_epochs: float,
) -> StepPlan:
    """Check that the batch sizes fit together and the data, and count the steps."""
    per_step = micro_batch * num_processes
    if global_batch % per_step:
        raise ConfigError(
            f"pretrain.batch_size {global_batch} is not a multiple of micro_batch_size "
            f"{micro_batch} × {num_processes} processes; change one of them"
        )
    steps = n_train // global_batch  # the last incomplete batch is dropped
    if steps == 0:
        raise ConfigError(
            f"the training split has {n_train} patches, fewer than one global batch "
            f"({global_batch}); lower pretrain.batch_size"
        )
    return StepPlan(
        global_batch=global_batch,
        micro_batch=micro_batch,
        num_processes=num_processes,
        accum=global_batch // per_step,
        steps_per_epoch=steps,
        epochs=epochs,
        warmup_steps=round(warmup_epochs * steps),
    )


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled sample order of ``epoch``: a pure function of (seed, epoch), so a resumed
    run sees exactly the order the interrupted one would have seen. An epoch shorter than the
    split (``pretrain.patches_per_epoch``) takes the head of it: a new subset every epoch."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def chunk_seed(seed: int, epoch: int, step: int, chunk: int) -> int:
    """Seed of the random masks of one micro-batch, independent of the process layout."""
    return int(np.random.SeedSequence([seed, epoch, step, chunk]).generate_state(1)[0])


@dataclass(frozen=True)
class MicroBatch:
    step: int  # optimizer step within the epoch
    chunk: int  # position of this micro-batch within the global batch
    indices: list[int]


def rank_micro_batches(
    order: np.ndarray, plan: StepPlan, rank: int, start_step: int = 0
) -> list[MicroBatch]:
    """The micro-batches process ``rank`` runs in one epoch, from ``start_step`` on."""
    out = []
    for step in range(start_step, plan.steps_per_epoch):
        base = step * plan.global_batch
        for a in range(plan.accum):
            chunk = rank * plan.accum + a
            lo = base + chunk * plan.micro_batch
            out.append(MicroBatch(step, chunk, order[lo : lo + plan.micro_batch].tolist()))
    return out


def val_chunks(n_val: int, batch: int, rank: int, world: int) -> list[tuple[int, list[int]]]:
    """Validation batches ``(chunk, indices)`` of process ``rank``: fixed chunks, dealt round
    robin, so the summed loss is the same for any number of processes."""
    starts = range(0, n_val, batch)
    return [
        (i, list(range(lo, min(lo + batch, n_val))))
        for i, lo in enumerate(starts)
        if i % world == rank
    ]
