"""Read the per-evaluation JSON files the evaluation rules write into flat tables.

Every row keeps its ``source`` file and ``mlflow_run_id`` so each number in a table can be
traced back to the evaluation that produced it, the spread over head seeds (``std``) and the
bootstrap interval (``ci_low``, ``ci_high``) of its score, and the ``cell``: the column the
score takes in a wide table (the task; CBIR: ``{set}_{pair}``), which
:func:`csmoe.report.intervals.add_intervals` uses to put the three beside it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from csmoe.errors import InputError

_PROBE_KEYS = ("variant", "epoch", "task", "strategy", "test", "model", "complexity", "train_set")
_CBIR_KEYS = ("variant", "set", "pairs", "model", "complexity", "train_set")
_CBIR_SCORES = ("f1", "precision", "recall", "f1_per_item")


def _read(path: str | Path, keys: tuple[str, ...]) -> dict[str, Any]:
    try:
        record = json.loads(Path(path).read_text())
    except FileNotFoundError as err:
        raise InputError(path, "evaluation result not found") from err
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON: {err}") from err
    missing = [k for k in keys if k not in record]
    if missing:
        raise InputError(path, f"evaluation result lacks {missing}; rerun its evaluation job")
    return record


def _model_columns(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_kind": record["model"]["kind"],
        "patch_size": int(record["model"]["patch_size"]),
        "train_set": record["train_set"],
        **{k: float(record["complexity"][k]) for k in ("params_m", "gflops", "c2c")},
    }


def _uncertainty(record: dict[str, Any], name: str) -> dict[str, float]:
    """``std``, ``ci_low``, ``ci_high`` of score ``name`` (NaN where the record has none:
    no seeds, or written before intervals existed)."""
    return {
        k: float("nan") if record.get(f"{name}_{k}") is None else float(record[f"{name}_{k}"])
        for k in ("std", "ci_low", "ci_high")
    }


def probe_frame(paths: Iterable[str | Path]) -> Any:
    """One row per probe result: variant, epoch, task, strategy, score (test), valid, model
    kind, patch size, training set, complexity, source, mlflow_run_id."""
    import pandas as pd

    rows = []
    for path in paths:
        r = _read(path, _PROBE_KEYS)
        rows.append(
            {
                "variant": r["variant"],
                "epoch": r["epoch"],
                "task": r["task"],
                "strategy": r["strategy"],
                "score": float(r["test"]),
                "valid": float(r.get("valid", float("nan"))),
                **_uncertainty(r, "test"),
                "cell": r["task"],
                **_model_columns(r),
                "source": str(path),
                "mlflow_run_id": r.get("mlflow_run_id", ""),
            }
        )
    if not rows:
        raise InputError("probe results", "no evaluation result files given")
    return pd.DataFrame(rows)


def cbir_frame(paths: Iterable[str | Path]) -> Any:
    """One row per (variant, set, pair): f1 (CSMAE's form; also as ``score``), precision,
    recall, f1_per_item, model columns, source."""
    import pandas as pd

    rows = []
    for path in paths:
        r = _read(path, _CBIR_KEYS)
        for pair, scores in r["pairs"].items():
            missing = [k for k in _CBIR_SCORES if k not in scores]
            if missing:  # a file from before F1 followed CSMAE: its f1 is the per-item mean
                raise InputError(
                    path, f"pair {pair} lacks {missing}; rerun its CBIR job (older result file)"
                )
            rows.append(
                {
                    "variant": r["variant"],
                    "set": r["set"],
                    "pair": pair,
                    **{k: float(scores[k]) for k in _CBIR_SCORES},
                    "score": float(scores["f1"]),  # the value a table shows, as for probes
                    **_uncertainty(scores, "f1"),
                    "cell": f"{r['set']}_{pair}",
                    **_model_columns(r),
                    "source": str(path),
                    "mlflow_run_id": r.get("mlflow_run_id", ""),
                }
            )
    if not rows:
        raise InputError("CBIR results", "no evaluation result files given")
    return pd.DataFrame(rows)


def sweep_results(frame: Any) -> tuple[list[Any], Any]:
    """The Fig. 5 results of ``frame`` (rows of :func:`probe_frame`, numbered epochs) with
    their seed scores and per-sample results (the ``.npz`` beside each JSON), and the
    bootstrap settings they share."""
    from csmoe.evaluation.bootstrap import BootstrapConfig, load_samples, scores_from
    from csmoe.evaluation.sweep import SweepResult

    results, settings = [], {}
    for row in frame.itertuples():
        record = _read(row.source, ("test_seeds", "settings"))
        boot = record["settings"].get("bootstrap", {})
        settings.setdefault(json.dumps(boot, sort_keys=True), row.source)
        samples = load_samples(Path(row.source).with_suffix(".npz"))
        results.append(
            SweepResult(int(row.epoch), row.task, record["test_seeds"], scores_from(samples))
        )
    if len(settings) > 1:
        raise InputError(list(settings.values())[-1], "bootstrap settings differ within the sweep")
    return results, BootstrapConfig.from_dict(json.loads(next(iter(settings), "{}")))
