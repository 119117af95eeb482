"""Evaluation jobs: a checkpoint probed on GEO-Bench tasks, or retrieved on BigEarthNet-v2 sets.

Each writes the per-evaluation JSON files the report is built from, each naming the MLflow
run (experiment ``csmoe/evaluation``, tags variant / task / strategy / epoch) that holds the
same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from csmoe.errors import ConfigError, InputError
from csmoe.evaluation.records import ProbeJob
from csmoe.io import atomic_path, write_json
from csmoe.log import get_logger

log = get_logger(__name__)

METRICS = {"multilabel": "mAP_micro", "multiclass": "AA", "segmentation": "mIoU"}
SPLITS = ("train", "valid", "test")


@dataclass
class Checkpoint:
    """A loaded, frozen checkpoint and what every result records about it."""

    path: Path
    model: Any
    cfg: Any
    norm_stats: dict[str, Any]
    digest: str
    train_set: str | None  # what pretraining recorded (the paper's rows are matched by it)

    @property
    def device(self) -> str:
        return str(next(self.model.parameters()).device)

    def provenance(self) -> dict[str, Any]:
        from csmoe.models.complexity import count

        return {
            "checkpoint": str(self.path),
            "checkpoint_sha256": self.digest,
            "model": self.cfg.to_dict(),
            "complexity": count(self.cfg),
            "train_set": self.train_set,
        }


def resolve_device(name: str = "auto") -> str:
    """``auto``: the GPU when there is one (paper scale), else the CPU."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"evaluation.device is {name!r} but no GPU is visible; use auto or cpu")
    return name


def load_checked(
    path: str | Path,
    expected_model: dict[str, Any] | None,
    device: str = "cpu",
    identity: dict[str, Any] | None = None,
) -> Checkpoint:
    """Load a checkpoint; refuse it when its model differs from the config's variant, when
    what it records about itself (``extra``: variant, train_set, epoch) differs from
    ``identity`` (what the command was asked to evaluate; ``epoch: final`` takes any), or
    when its normalisation statistics are unusable."""
    from csmoe.band_stats import check_band_stats
    from csmoe.evaluation.features import file_digest
    from csmoe.models.checkpoint import load

    model, cfg, norm_stats, extra = load(path, device=device)
    check_band_stats(norm_stats, path)
    wrong = [
        f"{key} {extra[key]!r}, not {want!r}"
        for key, want in (identity or {}).items()
        if key in extra and want not in (None, "final") and str(extra[key]) != str(want)
    ]
    if wrong:
        raise InputError(path, f"checkpoint is of {', '.join(wrong)}; check --checkpoint")
    if expected_model is not None:
        stored = cfg.to_dict()
        keys = sorted(set(stored) | set(expected_model))
        diff = [k for k in keys if stored.get(k) != expected_model.get(k)]
        if diff:
            detail = ", ".join(f"{k}: {stored.get(k)!r} != {expected_model.get(k)!r}" for k in diff)
            raise InputError(
                path,
                f"checkpoint does not match the config's variant ({detail}); "
                "rerun pretraining or fix config['variants']",
            )
    model.requires_grad_(False)
    return Checkpoint(Path(path), model, cfg, norm_stats, file_digest(path), extra.get("train_set"))


def torch_threads(params: dict[str, Any]) -> None:
    """Cap torch's CPU threads (``evaluation.threads``; 0 = torch's default)."""
    import torch

    threads = int(params.get("threads", 0))
    if threads > 0:
        torch.set_num_threads(threads)


def probe_task(
    *,
    params: dict[str, Any],
    ckpt: Checkpoint,
    geobench_root: str | Path,
    task: str,
    variant: str,
    epoch: str,
    out_dir: str | Path,
    seed: int,
) -> list[Path]:
    """Probe ``ckpt`` on ``task``: one JSON per [CLS] strategy (classification) or
    ``upernet.json`` + ``upernet_examples.npz`` (segmentation) in ``out_dir``."""
    from csmoe.data.geobench import open_task
    from csmoe.evaluation.features import cached, default_layers, encode_reader, reader_digest

    torch_threads(params)
    out_dir = Path(out_dir)
    if task not in params.get("tasks", {}):
        raise ConfigError(f"evaluation.tasks has no entry for {task!r}")
    modality = params["tasks"][task].get("modality", "s2")
    readers = {s: open_task(geobench_root, task, s) for s in SPLITS}
    spec = readers["train"].spec
    if modality == "s1" and not spec.has_s1:
        raise ConfigError(f"task {task!r} has no {modality} images; change evaluation.tasks")
    segmentation = spec.kind == "segmentation"
    up = params.get("upernet", {})
    strategies = [] if segmentation else list(params["strategies"])
    layers = []
    if segmentation:
        n_levels = len(up.get("scales", [4, 2, 1, 0.5]))
        layers = up.get("layers") or default_layers(ckpt.model.depth, n_levels)

    digests = {s: reader_digest(r, r.sample_names) for s, r in readers.items()}

    def features(split: str) -> dict[str, np.ndarray]:
        """Features and labels of ``split``, streamed from its files once, then cached."""
        reader = readers[split]

        def compute() -> dict[str, np.ndarray]:
            feats, labels = encode_reader(
                ckpt.model,
                ckpt.norm_stats,
                reader,
                [modality],
                batch_size=int(params.get("feature_batch_size", 64)),
                strategies=strategies,
                layers=layers,
                where=f"{task}/{split}",
            )
            return {**feats[modality], "labels": labels}

        key = {
            "checkpoint_sha256": ckpt.digest,
            "modality": modality,
            "strategies": strategies,
            "layers": layers,
            "data": digests[split],
        }
        return cached(out_dir / "cache" / f"{split}.npz", key, compute)

    feats = {s: features(s) for s in SPLITS}
    job = ProbeJob(
        params=params,
        base={
            "variant": variant,
            "epoch": epoch,
            "task": task,
            "kind": spec.kind,
            "metric": METRICS[spec.kind],
            "modality": modality,
            "num_classes": spec.num_classes,
            "class_names": list(spec.class_names),
            "n": {s: len(r) for s, r in readers.items()},
            **ckpt.provenance(),
        },
        labels={s: f["labels"] for s, f in feats.items()},
        where=f"{geobench_root}/{task}",
        out_dir=out_dir,
        seed=seed,
        device=ckpt.device,
        test_data=digests["test"],
    )
    if segmentation:
        maps = {s: f["maps"] for s, f in feats.items()}
        return [_segmentation(job, maps, layers, readers["test"])]
    knn = params.get("knn", {})
    knn_feats = {sp: f[knn.get("strategy", "cls")] for sp, f in feats.items()}
    return [
        *(_linear(job, {sp: f[s] for sp, f in feats.items()}, s) for s in strategies),
        *(_knn(job, knn_feats, int(k), knn.get("strategy", "cls")) for k in knn.get("k", [])),
    ]


def _linear(job: ProbeJob, feats: dict[str, np.ndarray], strategy: str) -> Path:
    from csmoe.evaluation.linear_probe import LinearConfig, probe

    cfg = LinearConfig.from_dict(job.params.get("linear", {}))
    base = job.base
    result, samples = probe(
        feats,
        job.labels,
        base["kind"],
        base["num_classes"],
        cfg,
        seeds=job.seeds,
        absent_policy=job.absent_policy,
        where=job.where,
    )
    return job.record(strategy, {"linear": vars(cfg)}, result, samples, job.seeds)


def _knn(job: ProbeJob, feats: dict[str, np.ndarray], k: int, strategy: str) -> Path:
    """kNN probe on the features of ``strategy``: ``knn{k}.json`` (deterministic: no seeds)."""
    from csmoe.evaluation.knn_probe import probe

    base = job.base
    result, samples = probe(
        feats,
        job.labels,
        base["kind"],
        base["num_classes"],
        k,
        absent_policy=job.absent_policy,
        where=job.where,
    )
    settings = {"knn": {"k": k, "strategy": strategy, "metric": "cosine", "vote": "similarity"}}
    return job.record(f"knn{k}", settings, result, samples, [])


def _segmentation(job: ProbeJob, maps: dict[str, np.ndarray], layers: list[int], test: Any) -> Path:
    """UPerNet on the frozen maps (held in memory: the head trains on them for many epochs);
    ``test`` is the lazy test split, read again only for the scenes of Fig. 8."""
    from csmoe.evaluation.upernet_probe import UPerNetConfig, probe

    up = job.params.get("upernet", {})
    cfg = UPerNetConfig.from_dict(up)
    base = job.base
    result, samples, examples = probe(
        maps,
        job.labels,
        base["num_classes"],
        cfg,
        seeds=job.seeds,
        absent_policy=job.absent_policy,
        where=job.where,
        n_examples=int(up.get("n_examples", 3)),
        device=job.device,
    )
    n = len(examples)
    rgb = np.stack([test[i][1] for i in range(n)])
    # model S2 order is B02, B03, B04, ...: true colour is bands 2, 1, 0
    with atomic_path(job.out_dir / "upernet_examples.npz") as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(
            handle,
            variant=base["variant"],
            task=base["task"],
            num_classes=base["num_classes"],
            rgb=rgb[:, [2, 1, 0]].transpose(0, 2, 3, 1),
            truth=job.labels["test"][:n],
            prediction=examples,
        )
    settings = {"upernet": vars(cfg) | {"layers": layers}}
    return job.record("upernet", settings, result, samples, job.seeds)


def cbir_set(
    *,
    params: dict[str, Any],
    ckpt: Checkpoint,
    benv2_root: str | Path,
    set_name: str,
    variant: str,
    out: str | Path,
) -> Path:
    """Uni- and cross-modal retrieval on one BigEarthNet-v2 set: validation queries, test
    archive, top-k label-set precision / recall / F1 for S1→S1, S2→S2, S1→S2, S2→S1, with
    bootstrap intervals over the queries (per-query results in ``{set}.npz`` beside ``out``)."""
    from csmoe.data.benv2 import open_pairs
    from csmoe.evaluation import bootstrap
    from csmoe.evaluation.cbir import retrieve_pairs
    from csmoe.evaluation.features import reader_digest
    from csmoe.evaluation.records import retrieval_summary
    from csmoe.tracking import stage_run

    torch_threads(params)
    cb = params.get("cbir", {})
    sets = cb.get("sets", {})
    if set_name not in sets:
        raise ConfigError(f"evaluation.cbir.sets has no set {set_name!r} (have {sorted(sets)})")
    strategy, k = cb.get("strategy", "cls"), int(cb.get("k", 10))
    out = Path(out)
    readers = {s: open_pairs(benv2_root, sets[set_name], s) for s in ("validation", "test")}
    labels = {s: r.labels for s, r in readers.items()}
    if len(labels["test"]) <= k:
        raise InputError(
            benv2_root,
            f"set {set_name!r} has {len(labels['test'])} test patches: top-{k} would retrieve the "
            "whole archive for every query (a score that cannot tell models apart); "
            "lower evaluation.cbir.k or use a larger set",
        )
    feats, digests = {}, {}
    for split, reader in readers.items():
        try:
            digests[split] = reader_digest(reader, reader.patch_ids, reader.labels)
            feats[split] = _pair_features(
                ckpt,
                reader,
                strategy,
                batch_size=int(params.get("feature_batch_size", 64)),
                cache=out.parent / "cache" / f"{set_name}_{split}.npz",
                data=digests[split],
                where=f"{set_name}/{split}",
            )
        finally:
            reader.close()
    per_query = retrieve_pairs(feats, labels, k, device=ckpt.device)
    samples = out.with_suffix(".npz")
    # the queries are what a paired comparison resamples: their fingerprint names the samples
    bootstrap.save_samples(
        samples,
        "retrieval",
        digests["validation"],
        **{f"{p}_{m}": v for p, q in per_query.items() for m, v in q.items()},
    )
    boot = bootstrap.BootstrapConfig.from_dict(params.get("bootstrap", {}))
    stored = bootstrap.load_samples(samples)
    results = {
        p: retrieval_summary(bootstrap.scores_from(stored, p), boot, key=set_name)
        for p in per_query
    }
    settings = {
        "cbir": {"k": k, "strategy": strategy, "subset": sets[set_name]},
        "bootstrap": vars(boot),
    }
    tags = {"variant": variant, "set": set_name, "strategy": strategy, "epoch": "final"}
    with stage_run("evaluation", f"{variant}/cbir/{set_name}", params=settings, tags=tags) as run:
        record = {
            "variant": variant,
            "set": set_name,
            "subset": sets[set_name],
            "k": k,
            "strategy": strategy,
            "n_queries": len(labels["validation"]),
            "n_archive": len(labels["test"]),
            "pairs": results,
            "settings": settings,
            "samples": str(samples),
            "test_data": digests["validation"],
            **ckpt.provenance(),
            "mlflow_run_id": run.run_id,
        }
        write_json(out, record)
        run.log_metrics(
            {f"{p}.{m}": v for p, r in results.items() for m, v in r.items() if v is not None}
        )
        run.log_artifact(out)
    log.info("%s %s F1: %s", variant, set_name, {p: round(r["f1"], 2) for p, r in results.items()})
    return out


def _pair_features(
    ckpt: Checkpoint,
    reader: Any,
    strategy: str,
    *,
    batch_size: int,
    cache: Path,
    data: str,
    where: str,
) -> dict[str, np.ndarray]:
    """S1 and S2 features of a lazy BigEarthNet-v2 split (``open_pairs``, fingerprint
    ``data``), cached: both modalities of a pair come from one read, so the split is read
    once."""
    from csmoe.evaluation.features import cached, encode_reader

    def compute() -> dict[str, np.ndarray]:
        feats, _ = encode_reader(
            ckpt.model,
            ckpt.norm_stats,
            reader,
            ["s1", "s2"],
            batch_size=batch_size,
            strategies=[strategy],
            where=where,
        )
        return {m: f[strategy] for m, f in feats.items()}

    key = {
        "checkpoint_sha256": ckpt.digest,
        "strategy": strategy,
        "data": data,
    }
    return cached(cache, key, compute)
