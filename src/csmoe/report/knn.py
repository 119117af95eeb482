"""The kNN-probe table (beyond the paper): per variant and k, the four classification scores
of the kNN probe on the same frozen features the linear probe of Table IV uses."""

from __future__ import annotations

from typing import Any

from csmoe.report import paper
from csmoe.report.tables import _ordered


def table_knn(probe: Any) -> Any:
    """One row per (variant, k) of the ``knn{k}`` results in ``probe`` (one checkpoint per
    variant: the rule passes the epoch Table IV uses), rows by patch size (large first), k."""
    import pandas as pd

    sel = probe[probe["strategy"].str.fullmatch(r"knn\d+")]
    if sel.empty:
        raise ValueError("no kNN probe results (files named knn{k}.json)")
    dupes = sel.duplicated(["variant", "strategy", "task"], keep=False)
    if dupes.any():
        raise ValueError(f"kNN table: more than one result for {sel[dupes].iloc[0].to_dict()}")
    tasks = _ordered(sel["task"], paper.CLASSIFICATION_TASKS)
    rows = []
    for (variant, strategy), group in sel.groupby(["variant", "strategy"], sort=False):
        first = group.iloc[0]
        scores = group.set_index("task")["score"]
        rows.append(
            {
                "variant": variant,
                "model": first["model_kind"],
                "patch_size": int(first["patch_size"]),
                "train_set": first["train_set"],
                "epoch": first["epoch"],
                "strategy": strategy,
                "k": int(strategy.removeprefix("knn")),
                **{t: scores.get(t) for t in tasks},
                "source": str(first["source"]).rsplit("/", 2)[0],
            }
        )
    out = pd.DataFrame(rows)
    return out.sort_values(["patch_size", "k"], ascending=[False, True], kind="stable")
