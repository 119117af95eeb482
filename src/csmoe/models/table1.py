"""Table I (and the complexity columns of Table IV): our counts beside the paper's values.

Our rows are counted analytically (:func:`csmoe.models.complexity.count`) and, with
``verify``, re-counted on the real module with ``torch.utils.flop_counter`` (built on the meta
device, so a 270 M-parameter model costs no memory). Peer models are ``paper`` rows only.
"""

from __future__ import annotations

from typing import Any

from csmoe.log import get_logger, progress
from csmoe.models.complexity import count, counted_model, measure_flops, measured_encoder_params

log = get_logger(__name__)

COLUMNS = [
    "model",
    "source",
    "multimodal",
    "kind",
    "img_size",
    "patch_size",
    "params_m",
    "gflops",
    "c2c",
    "counter_params_m",
    "counter_gflops",
    "paper_params_m",
    "paper_gflops",
    "paper_c2c",
    "params_residual_pct",
    "gflops_residual_pct",
    "counted",
]
_PAPER_KEYS = ("model", "count", "paper_params_m", "paper_gflops")


def measured_row(models: dict[str, Any], spec: dict[str, Any], verify: bool) -> dict[str, Any]:
    """One of our rows: ``spec`` names a ``count`` entry plus ModelConfig overrides."""
    overrides = {k: v for k, v in spec.items() if k not in _PAPER_KEYS}
    cfg, scope = counted_model(models, spec["count"], **overrides)
    ours = count(cfg, scope)
    row: dict[str, Any] = {
        "model": spec["model"],
        "source": "ours",
        "multimodal": True,
        "kind": cfg.kind,
        "img_size": cfg.img_size,
        "patch_size": cfg.patch_size,
        **ours,
        "counted": scope.describe(),
    }
    if verify:
        import torch

        from csmoe.models.model import build_model

        with torch.device("meta"):
            module = build_model(cfg)
        row["counter_params_m"] = measured_encoder_params(module) / 1e6
        row["counter_gflops"] = measure_flops(module, scope) / 1e9
    paper_p, paper_f = spec.get("paper_params_m"), spec.get("paper_gflops")
    if paper_p is not None and paper_f is not None:
        row |= _paper_columns(paper_p, paper_f)
        row["params_residual_pct"] = 100 * (ours["params_m"] / paper_p - 1)
        row["gflops_residual_pct"] = 100 * (ours["gflops"] / paper_f - 1)
    return row


def _paper_columns(params_m: float, gflops: float) -> dict[str, float]:
    return {"paper_params_m": params_m, "paper_gflops": gflops, "paper_c2c": params_m / gflops}


def build_table1(models: dict[str, Any]) -> Any:
    """The table as a DataFrame with :data:`COLUMNS` (our rows first, then the peers)."""
    import pandas as pd

    table = models.get("table1", {})
    verify = table.get("verify", True)
    rows = [
        measured_row(models, spec, verify)
        for spec in progress(table.get("rows", []), desc="table1 rows", logger=log)
    ]
    for peer in table.get("peers", []):
        rows.append(
            {
                "model": peer["model"],
                "source": "paper",
                "multimodal": peer.get("multimodal"),
                **_paper_columns(peer["paper_params_m"], peer["paper_gflops"]),
            }
        )
    return pd.DataFrame(rows).reindex(columns=COLUMNS)
