"""The pretraining loop: Accelerate, gradient accumulation, warm-up + cosine, NaN guard,
resumable state, checkpoints every ``ckpt_every`` epochs, MLflow per epoch.

One optimizer step consumes one global batch. Each micro-batch draws its masks from a
generator seeded by (seed, epoch, step, chunk), and the data order is a function of
(seed, epoch), so the trained weights never depend on interruptions.

Two ways to feed the steps (``pretrain.loader``):

- ``patches`` (default): one global patch order per epoch, cut into micro-batches, each
  process gathering its own through :class:`~csmoe.data.loaders.PatchDataset`. The weights do
  not depend on the number of processes either (with the same micro-batch size, which also
  fixes the contrastive negatives): 1 and N processes agree to float tolerance. Random
  access decodes a store chunk per patch (~330 patches/s per core): right for the tiny
  default config and for checking that a multi-GPU set-up trains what one process does.
- ``chunks``: each process reads whole chunks of the seeded per-epoch chunk order dealt to
  it (:class:`~csmoe.train.data.ChunkFeed`), several times faster per core and scaling with
  ``num_workers``: what paper scale needs (~6,500 images/s per H100 at p16). Which patches
  share a micro-batch then depends on the number of processes and workers, so 1 vs N
  processes is not bitwise equal. At paper scale that costs nothing that matters: every
  epoch still visits each rank's patches once in a seeded order, batches still mix many
  chunks (tiles), and the schedule, global batch and step count are the same; results
  differ as runs with another seed do. Each epoch runs the number of steps that every rank
  can fill, dropping the remainder (< one micro-batch per rank and worker, plus the rank
  imbalance of the validation hold-out).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from csmoe.errors import ConfigError, CsmoeError, InputError
from csmoe.log import get_logger, progress
from csmoe.train import outputs
from csmoe.train.data import ChunkFeed, store_identity
from csmoe.train.optim import param_groups
from csmoe.train.plan import (
    StepPlan,
    chunk_seed,
    epoch_order,
    plan_steps,
    rank_micro_batches,
    val_chunks,
)
from csmoe.train.schedule import build_scheduler
from csmoe.train.state import Progress, StateDir
from csmoe.train.variants import PretrainJob

log = get_logger(__name__)

VAL_EPOCH = 2**31 - 1  # seeds of the validation masks: the same every epoch


class TrainingDiverged(CsmoeError):
    """The loss or the gradients became NaN/inf; nothing after the last good state is kept."""


def run_pretraining(
    job: PretrainJob,
    train_set: Any,
    val_set: Any,
    norm_stats: dict[str, Any],
    out_dir: Path,
    state: StateDir,
    *,
    cpu: bool,
) -> list[dict[str, float]]:
    """Train ``job`` to its last epoch (resuming from ``state``) and write its outputs.

    Every process of an ``accelerate launch`` calls this; the main one writes and logs.
    Returns the per-epoch history.
    """
    import torch
    from accelerate import Accelerator

    from csmoe.models import build_model
    from csmoe.models.config import ModelConfig

    s = job.settings
    use_cuda = not cpu and torch.cuda.is_available()
    accelerator = Accelerator(
        cpu=not use_cuda, mixed_precision=s["mixed_precision"] if use_cuda else "no"
    )
    n_train, feed = len(train_set), None
    if s["loader"] == "chunks":
        micro, procs = s["micro_batch_size"], accelerator.num_processes
        feed = ChunkFeed(
            train_set, micro, job.seed, accelerator.process_index, procs, s["num_workers"]
        )
        n_train = feed.batches_per_epoch(s["epochs"]) * micro * procs
    plan = plan_steps(
        min(n_train, s["patches_per_epoch"] or n_train),
        global_batch=s["batch_size"],
        micro_batch=s["micro_batch_size"],
        num_processes=accelerator.num_processes,
        epochs=s["epochs"],
        warmup_epochs=s["warmup_epochs"],
    )
    cfg = ModelConfig.from_dict(job.model)
    torch.manual_seed(job.seed)  # same initial weights on every process and every rerun
    model = build_model(cfg)
    optimizer = torch.optim.AdamW(
        param_groups(model, s["weight_decay"]), lr=s["lr"], betas=tuple(s["betas"])
    )
    scheduler = build_scheduler(optimizer, plan, s["min_lr"] / s["lr"])
    model, optimizer = accelerator.prepare(model, optimizer)
    fingerprint = job.fingerprint(data=store_identity(train_set, norm_stats))
    payload = state.load(fingerprint)
    done, finished = Progress(), bool(payload and payload.get("finished"))
    if payload is not None:
        done = state.restore(payload, accelerator.unwrap_model(model), optimizer, scheduler)
        log.info("resuming %s at epoch %d step %d", job.variant, done.epoch + 1, done.step)
        if done.step >= plan.steps_per_epoch:  # only a chunks run resumed on another layout
            raise ConfigError(
                f"variant {job.variant}: the saved state is at step {done.step} of epoch "
                f"{done.epoch + 1}, but with {accelerator.num_processes} process(es) and "
                f"{s['num_workers']} loader worker(s) an epoch of pretrain.loader chunks has "
                f"{plan.steps_per_epoch} steps; resume with the process and worker counts "
                "the run was started with"
            )
    if not accelerator.is_main_process:
        done.sums = {}  # the saved partial sums already hold every process's share
    loop = _Loop(job, plan, accelerator, model, optimizer, scheduler, train_set, val_set, feed)
    with _mlflow_run(job, accelerator.is_main_process, done) as run:
        for row in done.history:
            run.log_metrics(_metrics(row), step=int(row["epoch"]))
        while done.epoch < plan.epochs:
            row = loop.epoch(done, state, fingerprint)
            epoch = int(row["epoch"])
            if accelerator.is_main_process:
                if epoch in job.ckpt_epochs:
                    name = f"ckpt_epoch{epoch}.safetensors"
                    _save_checkpoint(state, name, accelerator, model, cfg, norm_stats, job, row)
                    outputs.publish(state.checkpoint(name), out_dir / name)
                    if s["mlflow_checkpoints"] == "all":
                        run.log_artifact(out_dir / name, "checkpoints")
                state.save(fingerprint, done, accelerator.unwrap_model(model), optimizer, scheduler)
                outputs.write_history(out_dir / "history.csv", done.history)
                run.log_metrics(_metrics(row), step=epoch)
            accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            if not finished:
                _save_final(job, state, accelerator, model, cfg, norm_stats, done, fingerprint)
            _publish(job, state, out_dir, done, run)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return done.history


class _Loop:
    """One epoch of training and validation on this process."""

    def __init__(
        self,
        job: PretrainJob,
        plan: StepPlan,
        accelerator: Any,
        model: Any,
        optimizer: Any,
        scheduler: Any,
        train_set: Any,
        val_set: Any,
        feed: ChunkFeed | None,
    ) -> None:
        self.job, self.plan, self.acc = job, plan, accelerator
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.train_set, self.val_set, self.feed = train_set, val_set, feed
        self.img_size = job.model["img_size"]
        self.terms: list[str] = []  # loss term names, fixed at the first forward pass

    def epoch(self, done: Progress, state: StateDir, fingerprint: str) -> dict[str, float]:
        """Train from ``done.epoch``/``done.step`` to the end of that epoch; validate."""
        import torch

        s, plan, acc = self.job.settings, self.plan, self.acc
        epoch, start = done.epoch, done.step
        if self.feed is not None:
            batches = self.feed.epoch(epoch, skip=start * plan.accum)
        else:
            order = epoch_order(len(self.train_set), self.job.seed, epoch)
            micro = rank_micro_batches(order, plan, acc.process_index, start)
            batches = self._batches([m.indices for m in micro], s["num_workers"])
        if acc.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(acc.device)
        self.model.train()
        sums: torch.Tensor | None = None
        t0 = time.perf_counter()
        steps = progress(
            range(start, plan.steps_per_epoch),
            desc=f"{self.job.variant} epoch {epoch + 1}/{plan.epochs}",
            logger=log if acc.is_main_process else _QUIET,
        )
        for step in steps:
            step_sums = self._train_step(epoch, step, batches)
            sums = step_sums if sums is None else sums + step_sums
            done.step = step + 1
            every = s["state_every_steps"]
            if every and done.step % every == 0 and done.step < plan.steps_per_epoch:
                self._save_mid_epoch(done, sums, state, fingerprint)
        train_s = time.perf_counter() - t0
        train = self._mean(sums, done.sums)
        row = {"epoch": epoch + 1, **{f"train_{k}": v for k, v in train.items()}}
        row.update({f"val_{k}": v for k, v in self._validate().items()})
        row["lr"] = self.scheduler.get_last_lr()[0]
        row["images_per_s"] = (plan.steps_per_epoch - start) * plan.global_batch / train_s
        row["epoch_s"] = train_s
        if acc.device.type == "cuda":
            row["gpu_mem_gb"] = torch.cuda.max_memory_allocated(acc.device) / 2**30
        done.history.append(row)
        done.epoch, done.step, done.sums = epoch + 1, 0, {}
        return row

    def _batches(self, index_lists: list[list[int]], workers: int) -> Iterator[Any]:
        from torch.utils.data import DataLoader

        from csmoe.data.loaders import worker_errors

        return worker_errors(
            DataLoader(
                self.train_set,
                batch_sampler=index_lists,
                num_workers=workers,
                pin_memory=self.acc.device.type == "cuda",
                persistent_workers=False,
            )
        )

    def _forward(self, model: Any, batch: dict[str, Any], seed: int) -> Any:
        import torch

        from csmoe.models.inputs import fit_to_model

        s1 = fit_to_model(batch["s1"].to(self.acc.device, non_blocking=True), self.img_size)
        s2 = fit_to_model(batch["s2"].to(self.acc.device, non_blocking=True), self.img_size)
        out = model(s1, s2, generator=torch.Generator().manual_seed(seed))
        if not self.terms:
            self.terms = sorted(out.terms)
        return out

    def _train_step(self, epoch: int, step: int, batches: Iterator[Any]) -> Any:
        """One optimizer step over this process's ``accum`` micro-batches (all full: the
        plan drops incomplete ones); returns the sample-weighted sums of the loss terms."""
        import torch

        plan, acc, seed = self.plan, self.acc, self.job.seed
        sums = None
        for a in range(plan.accum):
            chunk = acc.process_index * plan.accum + a  # as in rank_micro_batches
            batch = next(batches)
            last = a == plan.accum - 1
            with contextlib.nullcontext() if last else acc.no_sync(self.model):
                out = self._forward(self.model, batch, chunk_seed(seed, epoch, step, chunk))
                acc.backward(out.loss / plan.accum)
            part = torch.stack([out.terms[k].detach().float() for k in self.terms])
            part = part * plan.micro_batch
            sums = part if sums is None else sums + part
        clip = self.job.settings["grad_clip"]
        norm = acc.clip_grad_norm_(self.model.parameters(), clip if clip else math.inf)
        bad = (~torch.isfinite(sums).all() | ~torch.isfinite(norm)).float()
        if acc.reduce(bad, "sum").item() > 0:
            raise TrainingDiverged(self._diverged_message(epoch, step, sums))
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return sums

    def _diverged_message(self, epoch: int, step: int, sums: Any) -> str:
        terms = {k: float(v) for k, v in zip(self.terms, sums.tolist(), strict=True)}
        return (
            f"variant {self.job.variant}: loss became NaN/inf at epoch {epoch + 1}, step "
            f"{step + 1} (term sums {terms}). Nothing was saved after the last good state; "
            "earlier checkpoints are intact. Lower pretrain.lr, lengthen "
            "pretrain.warmup_epochs or set pretrain.grad_clip, then rerun: the changed config "
            "starts afresh (training is deterministic, so an unchanged rerun would resume "
            "from the last good state and diverge at the same step)"
        )

    def _save_mid_epoch(self, done: Progress, sums: Any, state: StateDir, fingerprint: str) -> None:
        total = self.acc.reduce(sums.clone(), "sum")  # every process's share, on the main one
        if self.acc.is_main_process:
            saved = {
                k: done.sums.get(k, 0.0) + v
                for k, v in zip(self.terms, total.tolist(), strict=True)
            }
            snapshot = Progress(done.epoch, done.step, saved, done.history, done.run_id)
            state.save(
                fingerprint,
                snapshot,
                self.acc.unwrap_model(self.model),
                self.optimizer,
                self.scheduler,
            )
        self.acc.wait_for_everyone()

    def _mean(self, sums: Any, carried: dict[str, float]) -> dict[str, float]:
        """Epoch means of the terms over all processes (``carried``: sums saved mid-epoch)."""
        total = self.acc.reduce(sums, "sum").tolist()
        n = self.plan.global_batch * self.plan.steps_per_epoch
        return {k: (v + carried.get(k, 0.0)) / n for k, v in zip(self.terms, total, strict=True)}

    def _validate(self) -> dict[str, float]:
        """Mean of every loss term on the held-out split, with fixed masks, in micro-batches
        of the training size: the contrastive negatives come from the batch, so its scale
        (about log of twice the batch size at chance) then matches the training term."""
        import torch
        from torch.utils.data import default_collate

        acc, s = self.acc, self.job.settings
        model = acc.unwrap_model(self.model)
        model.eval()
        n = len(self.val_set)
        sums = torch.zeros(len(self.terms), device=acc.device)
        with torch.no_grad():
            for chunk, idx in val_chunks(
                n, s["micro_batch_size"], acc.process_index, acc.num_processes
            ):
                batch = default_collate([self.val_set[i] for i in idx])
                out = self._forward(model, batch, chunk_seed(self.job.seed, VAL_EPOCH, 0, chunk))
                sums += torch.stack([out.terms[k].float() for k in self.terms]) * len(idx)
        total = acc.reduce(sums, "sum").tolist()
        return {k: v / n for k, v in zip(self.terms, total, strict=True)}


def _metrics(row: dict[str, float]) -> dict[str, float]:
    """A history row as MLflow metrics (the epoch is the step, not a metric)."""
    return {k: v for k, v in row.items() if k != "epoch"}


class _Quiet:
    def info(self, *args: Any) -> None:
        pass


_QUIET: Any = _Quiet()


def _save_checkpoint(
    state: StateDir,
    name: str,
    acc: Any,
    model: Any,
    cfg: Any,
    norm_stats: dict[str, Any],
    job: PretrainJob,
    row: dict[str, float],
) -> None:
    from csmoe.models import checkpoint

    extra = {
        "variant": job.variant,
        "epoch": int(row["epoch"]),
        "train_set": job.train_set,
        "val_loss": row["val_loss"],
    }
    checkpoint.save(state.checkpoint(name), acc.unwrap_model(model), cfg, norm_stats, extra)


def _save_final(
    job: PretrainJob,
    state: StateDir,
    acc: Any,
    model: Any,
    cfg: Any,
    norm_stats: dict[str, Any],
    done: Progress,
    fingerprint: str,
) -> None:
    """Write final.safetensors (a hard link to the last epoch's checkpoint when there is one:
    the same bytes, no second ~1 GB file) and shrink the state to its finished record."""
    final = state.checkpoint("final.safetensors")
    if done.epoch in job.ckpt_epochs:
        outputs.publish(state.checkpoint(f"ckpt_epoch{done.epoch}.safetensors"), final)
    else:
        _save_checkpoint(state, final.name, acc, model, cfg, norm_stats, job, done.history[-1])
    state.finish(fingerprint, done)


def _publish(job: PretrainJob, state: StateDir, out_dir: Path, done: Progress, run: Any) -> None:
    """Republish every checkpoint (Snakemake may have deleted them after a killed attempt),
    the history and the loss curve; log them to MLflow."""
    names = [f"ckpt_epoch{e}.safetensors" for e in job.ckpt_epochs] + ["final.safetensors"]
    missing = [n for n in names if not state.checkpoint(n).exists()]
    if missing:
        raise InputError(
            state.root, f"finished training state lacks {missing}; delete the folder to retrain"
        )
    for name in names:
        outputs.publish(state.checkpoint(name), out_dir / name)
    outputs.write_history(out_dir / "history.csv", done.history)
    outputs.plot_history(out_dir / "loss_curve.png", done.history, job.variant)
    if job.settings["mlflow_checkpoints"] != "none":
        run.log_artifact(out_dir / "final.safetensors", "checkpoints")
    run.log_artifact(out_dir / "history.csv")
    run.log_artifact(out_dir / "loss_curve.png")


@contextlib.contextmanager
def _mlflow_run(job: PretrainJob, main: bool, done: Progress) -> Iterator[Any]:
    """One MLflow run per variant on the main process; a stand-in that drops calls elsewhere."""
    if not main:
        yield _NoRun()
        return
    from csmoe.tracking import stage_run

    params = {
        "variant": job.variant,
        "train_set": job.train_set,
        "seed": job.seed,
        "model": job.model,
        "pretrain": job.settings,
    }
    tags = job.tags()
    if done.run_id:  # a rerun after a kill: link the attempts
        tags.update(resumed_from_run=done.run_id, resumed_at_epoch=done.epoch + 1)
    with stage_run(
        "pretrain", job.variant, params=params, tags=tags, supersedes=done.run_id
    ) as run:
        done.run_id = run.run_id
        yield run


class _NoRun:
    def log_metrics(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log_artifact(self, *args: Any, **kwargs: Any) -> None:
        pass
