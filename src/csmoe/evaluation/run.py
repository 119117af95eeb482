"""One evaluation job: a checkpoint probed on one GEO-Bench task, or retrieved on one
BigEarthNet-v2 set. Writes the per-evaluation JSON files the report is built from, each with
the MLflow run that holds the same numbers (experiment ``csmoe/evaluation``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from csmoe.errors import ConfigError, InputError
from csmoe.io import write_json
from csmoe.log import get_logger

log = get_logger(__name__)

METRICS = {"multilabel": "mAP_micro", "multiclass": "AA", "segmentation": "mIoU"}
SPLITS = ("train", "valid", "test")


def load_checked(checkpoint: str | Path, expected_model: dict[str, Any] | None) -> tuple:
    """Load a checkpoint; refuse it when its model differs from the config's variant."""
    from csmoe.models.checkpoint import load

    model, cfg, norm_stats, extra = load(checkpoint)
    if expected_model is not None:
        stored = cfg.to_dict()
        diff = sorted(
            k for k in set(stored) | set(expected_model) if stored.get(k) != expected_model.get(k)
        )
        if diff:
            detail = ", ".join(f"{k}: {stored.get(k)!r} != {expected_model.get(k)!r}" for k in diff)
            raise InputError(
                checkpoint,
                f"checkpoint does not match the config's variant ({detail}); "
                "rerun pretraining or fix config['variants']",
            )
    model.requires_grad_(False)
    return model, cfg, norm_stats, extra


def _provenance(checkpoint: str | Path, cfg: Any, digest: str) -> dict[str, Any]:
    from csmoe.models.complexity import count

    return {
        "checkpoint": str(checkpoint),
        "checkpoint_sha256": digest,
        "model": cfg.to_dict(),
        "complexity": count(cfg),
    }


def probe_task(
    *,
    params: dict[str, Any],
    checkpoint: str | Path,
    expected_model: dict[str, Any] | None,
    geobench_root: str | Path,
    task: str,
    variant: str,
    epoch: str,
    out_dir: str | Path,
    seed: int,
) -> list[Path]:
    """Probe ``checkpoint`` on ``task``: one JSON per [CLS] strategy (classification) or
    ``upernet.json`` + ``upernet_examples.npz`` (segmentation) in ``out_dir``."""
    from csmoe.data.geobench import load_task
    from csmoe.evaluation.features import array_digest, cached, default_layers, encode, file_digest

    torch_threads(params)
    out_dir = Path(out_dir)
    task_params = params.get("tasks", {}).get(task)
    if task_params is None:
        raise ConfigError(f"evaluation.tasks has no entry for {task!r}")
    modality = task_params.get("modality", "s2")
    model, cfg, norm_stats, _ = load_checked(checkpoint, expected_model)
    digest = file_digest(checkpoint)
    data = {s: load_task(geobench_root, task, s) for s in SPLITS}
    kind = data["train"].kind
    images = {s: getattr(d, modality) for s, d in data.items()}
    if any(v is None for v in images.values()):
        raise ConfigError(
            f"task {task!r} has no {modality} images; set evaluation.tasks.{task}.modality"
        )
    segmentation = kind == "segmentation"
    strategies = [] if segmentation else list(params["strategies"])
    up = params.get("upernet", {})
    layers = (
        (up.get("layers") or default_layers(model.depth, len(up.get("scales", [4, 2, 1, 0.5]))))
        if segmentation
        else []
    )

    def features(split: str) -> dict[str, np.ndarray]:
        key = {
            "checkpoint_sha256": digest,
            "modality": modality,
            "strategies": strategies,
            "layers": layers,
            "data": array_digest(images[split]),
        }
        return cached(
            out_dir / "cache" / f"{split}.npz",
            key,
            lambda: encode(
                model,
                norm_stats,
                images[split],
                modality,
                strategies=strategies,
                layers=layers,
                batch_size=int(params.get("feature_batch_size", 64)),
                where=f"{task}/{split}",
            ),
        )

    feats = {s: features(s) for s in SPLITS}
    labels = {s: d.labels for s, d in data.items()}
    base = {
        "variant": variant,
        "epoch": epoch,
        "task": task,
        "kind": kind,
        "metric": METRICS[kind],
        "modality": modality,
        "num_classes": data["train"].num_classes,
        "class_names": data["train"].class_names,
        "n": {s: len(labels[s]) for s in SPLITS},
        **_provenance(checkpoint, cfg, digest),
    }
    absent_policy = params.get("absent_train_classes", "keep")
    where = f"{geobench_root}/{task} (train split)"
    if segmentation:
        return [
            _segmentation(
                params, feats, labels, data, base, layers, absent_policy, where, out_dir, seed
            )
        ]
    return [
        _linear(params, s, feats, labels, base, absent_policy, where, out_dir, seed)
        for s in strategies
    ]


def _run_and_write(
    base: dict[str, Any],
    strategy: str,
    settings: dict[str, Any],
    result: dict[str, Any],
    path: Path,
) -> Path:
    from csmoe.tracking import stage_run

    tags = {k: base[k] for k in ("variant", "task", "epoch")} | {"strategy": strategy}
    name = f"{base['variant']}/{base['epoch']}/{base['task']}/{strategy}"
    with stage_run("evaluation", name, params=settings, tags=tags) as run:
        record = {
            **base,
            "strategy": strategy,
            "settings": settings,
            **result,
            "mlflow_run_id": run.run_id,
        }
        record["score"] = record["test"]
        write_json(path, record)
        run.log_metrics({"test": record["test"], "valid": record["valid"]})
        run.log_artifact(path)
    log.info("%s: %s test %.2f (valid %.2f)", name, base["metric"], record["test"], record["valid"])
    return path


def _linear(params, strategy, feats, labels, base, absent_policy, where, out_dir, seed) -> Path:
    from csmoe.evaluation.linear_probe import LinearConfig, probe

    cfg = LinearConfig.from_dict(params.get("linear", {}))
    result = probe(
        {s: f[strategy] for s, f in feats.items()},
        labels,
        base["kind"],
        base["num_classes"],
        cfg,
        seed=seed,
        absent_policy=absent_policy,
        where=where,
    )
    settings = {"linear": vars(cfg), "absent_train_classes": absent_policy, "seed": seed}
    return _run_and_write(base, strategy, settings, result, out_dir / f"{strategy}.json")


def _segmentation(
    params, feats, labels, data, base, layers, absent_policy, where, out_dir, seed
) -> Path:
    from csmoe.evaluation.upernet_probe import UPerNetConfig, probe
    from csmoe.io import atomic_path

    up = params.get("upernet", {})
    cfg = UPerNetConfig.from_dict(up)
    n_examples = int(up.get("n_examples", 3))
    result, examples = probe(
        {s: f["maps"] for s, f in feats.items()},
        labels,
        base["num_classes"],
        cfg,
        seed=seed,
        absent_policy=absent_policy,
        where=where,
        n_examples=n_examples,
    )
    n = len(examples)
    # model S2 order is B02, B03, B04, ...: true colour is bands 2, 1, 0
    with atomic_path(out_dir / "upernet_examples.npz") as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(
            handle,
            variant=base["variant"],
            task=base["task"],
            num_classes=base["num_classes"],
            rgb=data["test"].s2[:n, [2, 1, 0]].transpose(0, 2, 3, 1),
            truth=labels["test"][:n],
            prediction=examples,
        )
    settings = {
        "upernet": vars(cfg) | {"layers": layers},
        "absent_train_classes": absent_policy,
        "seed": seed,
    }
    return _run_and_write(base, "upernet", settings, result, out_dir / "upernet.json")


def cbir_set(
    *,
    params: dict[str, Any],
    checkpoint: str | Path,
    expected_model: dict[str, Any] | None,
    benv2_root: str | Path,
    set_name: str,
    variant: str,
    out: str | Path,
) -> Path:
    """Uni- and cross-modal retrieval on one BigEarthNet-v2 set: validation queries, test
    archive, top-k label-set precision / recall / F1 for S1→S1, S2→S2, S1→S2, S2→S1."""
    from csmoe.data.benv2 import load_pairs
    from csmoe.evaluation.cbir import evaluate_pairs
    from csmoe.evaluation.features import array_digest, cached, encode, file_digest
    from csmoe.tracking import stage_run

    torch_threads(params)
    cb = params.get("cbir", {})
    sets = cb.get("sets", {})
    if set_name not in sets:
        raise ConfigError(f"evaluation.cbir.sets has no set {set_name!r} (have {sorted(sets)})")
    strategy, k = cb.get("strategy", "cls"), int(cb.get("k", 10))
    model, cfg, norm_stats, _ = load_checked(checkpoint, expected_model)
    digest = file_digest(checkpoint)
    out = Path(out)
    feats: dict[str, dict[str, np.ndarray]] = {}
    labels: dict[str, np.ndarray] = {}
    for split in ("validation", "test"):
        pairs = load_pairs(benv2_root, sets[set_name], split)
        labels[split] = pairs.labels
        feats[split] = {}
        for modality in ("s1", "s2"):
            images = getattr(pairs, modality)
            key = {"checkpoint_sha256": digest, "strategy": strategy, "data": array_digest(images)}
            feats[split][modality] = cached(
                out.parent / "cache" / f"{set_name}_{split}_{modality}.npz",
                key,
                lambda images=images, modality=modality, split=split: encode(
                    model,
                    norm_stats,
                    images,
                    modality,
                    strategies=[strategy],
                    batch_size=int(params.get("feature_batch_size", 64)),
                    where=f"{set_name}/{split}/{modality}",
                ),
            )[strategy]
    results = evaluate_pairs(feats, labels, k)
    settings = {"cbir": {"k": k, "strategy": strategy, "subset": sets[set_name]}}
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
            **_provenance(checkpoint, cfg, digest),
            "mlflow_run_id": run.run_id,
        }
        write_json(out, record)
        run.log_metrics({f"{p}.{m}": v for p, r in results.items() for m, v in r.items()})
        run.log_artifact(out)
    log.info("%s %s F1: %s", variant, set_name, {p: round(r["f1"], 2) for p, r in results.items()})
    return out


def torch_threads(params: dict[str, Any]) -> None:
    """Cap torch's CPU threads (``evaluation.threads``; 0 = torch's default)."""
    import torch

    threads = int(params.get("threads", 0))
    if threads > 0:
        torch.set_num_threads(threads)
