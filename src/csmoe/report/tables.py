"""Tables IV, V and VI: our numbers per variant, the paper's in columns prefixed ``paper_``.

Paper rows are matched by model kind and patch size (Table V is the paper's p = 32 model,
whatever variant we probe); where the paper has no matching row its columns stay empty.
"""

from __future__ import annotations

from typing import Any

from csmoe.report import paper

_COMPLEXITY = ("params_m", "gflops", "c2c")


def _ordered(tasks: Any, canonical: tuple[str, ...]) -> list[str]:
    present = list(dict.fromkeys(tasks))
    return [t for t in canonical if t in present] + [t for t in present if t not in canonical]


def _one_value(frame: Any, what: str) -> Any:
    dupes = frame[frame.duplicated(list(frame.columns[:-1]), keep=False)]
    if not dupes.empty:
        raise ValueError(f"{what}: more than one result for {dupes.iloc[0].to_dict()}")
    return frame


def table4_rows(probe: Any, strategy: str) -> Any:
    """The results Table IV is built from: classification with ``strategy``, UPerNet."""
    return probe[probe["strategy"].isin([strategy, "upernet"])]


def table4(probe: Any, *, strategy: str = "cls") -> Any:
    """Patch-size sweep: per variant the six task scores (classification with ``strategy``,
    segmentation with UPerNet), params, GFLOPs, C2C, and the paper's row for its patch size.
    ``probe`` holds one checkpoint per variant (the rule passes the epoch Table IV uses)."""
    import pandas as pd

    sel = table4_rows(probe, strategy)
    if sel.empty:
        raise ValueError(f"no probe results for strategy {strategy!r}")
    _one_value(sel[["variant", "task", "score"]], "table 4")
    tasks = _ordered(sel["task"], paper.TASKS)
    rows = []
    for variant, group in sel.groupby("variant", sort=False):
        first = group.iloc[0]
        row: dict[str, Any] = {
            "variant": variant,
            "model": first["model_kind"],
            "patch_size": int(first["patch_size"]),
            "epoch": first["epoch"],
        }
        scores = group.set_index("task")["score"]
        row.update({t: scores.get(t) for t in tasks})
        row.update({k: first[k] for k in _COMPLEXITY})
        ref = paper.TABLE4.get(row["patch_size"]) if row["model"] == "csmoe" else None
        row.update({f"paper_{k}": (ref or {}).get(k) for k in (*tasks, *_COMPLEXITY)})
        row["source"] = str(first["source"]).rsplit("/", 2)[0]
        rows.append(row)
    return pd.DataFrame(rows).sort_values("patch_size", ascending=False, kind="stable")


def table5(probe: Any, *, variant: str, epoch: str = "final") -> Any:
    """[CLS] strategies: per strategy the classification scores of ``variant``, beside the
    paper's (its p = 32 model)."""
    import pandas as pd

    from csmoe.evaluation.strategies import STRATEGIES

    sel = probe[
        (probe["variant"] == variant)
        & (probe["epoch"].astype(str) == str(epoch))
        & probe["strategy"].isin(list(STRATEGIES))
    ]
    if sel.empty:
        raise ValueError(f"no [CLS]-strategy results for variant {variant!r}, epoch {epoch!r}")
    _one_value(sel[["strategy", "task", "score"]], "table 5")
    tasks = _ordered(sel["task"], paper.CLASSIFICATION_TASKS)
    rows = []
    for strategy in [s for s in STRATEGIES if s in set(sel["strategy"])]:
        scores = sel[sel["strategy"] == strategy].set_index("task")["score"]
        row: dict[str, Any] = {"strategy": strategy, "label": STRATEGIES[strategy]}
        row.update({t: scores.get(t) for t in tasks})
        row.update({f"paper_{t}": paper.TABLE5[strategy].get(t) for t in tasks})
        rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(0, "variant", variant)
    out["paper_patch_size"] = paper.TABLE5_PATCH_SIZE
    return out


def table6(cbir: Any) -> Any:
    """CBIR F1 per variant: ``{set}_{pair}`` columns, complexity, and the paper's F1 for the
    same model kind and patch size."""
    import pandas as pd

    _one_value(cbir[["variant", "set", "pair", "f1"]], "table 6")
    sets = list(dict.fromkeys(cbir["set"]))
    pairs = _ordered(cbir["pair"], paper.CBIR_PAIRS)
    rows = []
    for variant, group in cbir.groupby("variant", sort=False):
        first = group.iloc[0]
        row: dict[str, Any] = {
            "variant": variant,
            "model": first["model_kind"],
            "patch_size": int(first["patch_size"]),
        }
        f1 = group.set_index(["set", "pair"])["f1"]
        row.update({f"{s}_{p}": f1.get((s, p)) for s in sets for p in pairs})
        row.update({k: first[k] for k in _COMPLEXITY})
        ref = paper.TABLE6.get((row["model"], row["patch_size"]), {})
        row.update(
            {
                f"paper_{s}_{p}": ref.get(s, {}).get(p)
                for s in paper.TABLE6[("csmae", 16)]
                for p in pairs
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)
