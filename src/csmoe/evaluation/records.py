"""What a probe result records beyond one score: the score of every head seed, their mean and
spread, and the bootstrap interval over test samples from its stored per-sample results.

Names are the same for every variant, task and head, so the result JSONs, the report's tables
and MLflow's compare view line them up: ``test`` (mean over seeds), ``test_std`` (sample
standard deviation over seeds; None with one seed or none, e.g. kNN), ``test_ci_low`` /
``test_ci_high`` (the bootstrap interval), ``test_seeds`` (one score per seed); the same
without an interval for ``valid``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from csmoe.evaluation import bootstrap
from csmoe.evaluation.bootstrap import BootstrapConfig, RetrievalScores, Scores, interval
from csmoe.evaluation.metrics import label_set_scores
from csmoe.io import write_json
from csmoe.log import get_logger

log = get_logger(__name__)


def seed_stats(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (ddof 1; None for fewer than two seeds)."""
    mean = float(np.mean(values))
    return mean, float(np.std(values, ddof=1)) if len(values) > 1 else None


def summarise(
    result: dict[str, Any], scores: Scores, cfg: BootstrapConfig, key: str
) -> dict[str, Any]:
    """``result`` (with ``valid_seeds`` / ``test_seeds``) plus means, spreads and the test
    interval (resamples keyed by ``key``, the task: every model on it gets the same ones)."""
    out = dict(result)
    for split in ("valid", "test"):
        out[split], out[f"{split}_std"] = seed_stats(result[f"{split}_seeds"])
    ci = interval(scores, cfg, key)
    out["test_ci_low"], out["test_ci_high"] = ci["ci_low"], ci["ci_high"]
    # the settings are in the record's settings; this is what the resampling met
    out["bootstrap"] = {"key": key, "n": scores.n, "undefined": ci["undefined"]}
    return out


def retrieval_summary(
    scores: RetrievalScores, cfg: BootstrapConfig, key: str
) -> dict[str, float | None]:
    """One CBIR pair: precision, recall, F1 (CSMAE's form), mean per-item F1, and the F1
    interval over query resamples keyed by ``key`` (the set). Retrieval trains nothing:
    ``f1_std`` over seeds is None."""
    per_query = {
        "precision": scores.precision,
        "recall": scores.recall,
        "f1_per_item": scores.f1_per_item,
    }
    out: dict[str, float | None] = {m: float(v) for m, v in label_set_scores(per_query).items()}
    ci = interval(scores, cfg, key)
    out.update(f1_std=None, f1_ci_low=ci["ci_low"], f1_ci_high=ci["ci_high"])
    return out


def metrics(record: dict[str, Any]) -> dict[str, float]:
    """The MLflow metrics of a probe result: aggregates and one value per seed."""
    names = ("test", "test_std", "test_ci_low", "test_ci_high", "valid", "valid_std")
    out = {k: float(record[k]) for k in names if record.get(k) is not None}
    for split in ("valid", "test"):
        out.update({f"{split}_seed{i}": float(v) for i, v in enumerate(record[f"{split}_seeds"])})
    return out


@dataclass
class ProbeJob:
    """What the heads of one (checkpoint, task) share, and how each writes its result."""

    params: dict[str, Any]
    base: dict[str, Any]  # fields of every result record
    labels: dict[str, np.ndarray]
    where: str  # the task's folder, for errors
    out_dir: Path
    seed: int
    device: str
    test_data: str  # fingerprint of the test split: paired comparisons check it

    @property
    def absent_policy(self) -> str:
        return self.params.get("absent_train_classes", "keep")

    @property
    def seeds(self) -> list[int]:
        """Head seeds (``evaluation.seeds`` of them): the config seed, then the next ones."""
        return [self.seed + i for i in range(int(self.params.get("seeds", 1)))]

    def record(
        self,
        strategy: str,
        settings: dict[str, Any],
        result: dict[str, Any],
        samples: dict[str, np.ndarray],
        seeds: list[int],
    ) -> Path:
        """Store the per-sample test results (``{strategy}.npz``), summarise the seeds with a
        bootstrap interval, log it as one MLflow run and write its JSON (which names the run)."""
        from csmoe.tracking import stage_run

        base = self.base
        tags = {k: base[k] for k in ("variant", "task", "epoch")} | {"strategy": strategy}
        name = f"{base['variant']}/{base['epoch']}/{base['task']}/{strategy}"
        path = self.out_dir / f"{strategy}.json"
        if base["kind"] != "segmentation":
            samples = {**samples, "labels": self.labels["test"]}
        samples_path = path.with_suffix(".npz")
        bootstrap.save_samples(
            samples_path,
            base["kind"],
            self.test_data,
            num_classes=base["num_classes"],
            classes=result["scored_classes"],
            **samples,
        )
        boot = BootstrapConfig.from_dict(self.params.get("bootstrap", {}))
        scores = bootstrap.scores_from(bootstrap.load_samples(samples_path))
        result = summarise(result, scores, boot, key=base["task"])
        settings = {
            **settings,
            "absent_train_classes": self.absent_policy,
            "seeds": seeds,
            "bootstrap": vars(boot),
        }
        with stage_run("evaluation", name, params=settings, tags=tags) as run:
            record = {**base, "strategy": strategy, "settings": settings, **result}
            record.update(
                score=record["test"],
                samples=str(samples_path),
                test_data=self.test_data,
                mlflow_run_id=run.run_id,
            )
            write_json(path, record)
            run.log_metrics(metrics(record))
            run.log_artifact(path)
        log.info(
            "%s: %s test %.2f [%.2f, %.2f] (valid %.2f)",
            name,
            base["metric"],
            record["test"],
            record["test_ci_low"],
            record["test_ci_high"],
            record["valid"],
        )
        return path
