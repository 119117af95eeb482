"""Tables IV, V, VI and the sampling ablation: our numbers per variant, the paper's in columns
prefixed ``paper_``.

Paper rows are matched by model identity (:func:`csmoe.report.paper.paper_model`: variant,
kind and training set), never by patch size; Table V is the paper's p = 32 model, whatever
variant we probe. Where the paper has no matching row its columns stay empty. Every column
comes from the result files (``collect.probe_frame`` / ``collect.cbir_frame``).
"""

from __future__ import annotations

from typing import Any

from csmoe.errors import InputError
from csmoe.report import paper

_COMPLEXITY = ("params_m", "gflops", "c2c")
_KIND_ORDER = {"csmae": 0, "csmoe": 1}  # the paper lists the CSMAE baseline first


def _ordered(tasks: Any, canonical: tuple[str, ...]) -> list[str]:
    present = list(dict.fromkeys(tasks))
    return [t for t in canonical if t in present] + [t for t in present if t not in canonical]


def _one_value(frame: Any, what: str) -> Any:
    dupes = frame[frame.duplicated(list(frame.columns[:-1]), keep=False)]
    if not dupes.empty:
        raise ValueError(f"{what}: more than one result for {dupes.iloc[0].to_dict()}")
    return frame


def _identity(variant: str, first: Any) -> tuple[dict[str, Any], str | None]:
    """The columns naming a variant's model, and the key of the paper model it reproduces."""
    key = paper.paper_model(variant, first["model_kind"], first["train_set"])
    row = {
        "variant": variant,
        "model": first["model_kind"],
        "patch_size": int(first["patch_size"]),
        "train_set": first["train_set"],
        "reproduces": paper.MODELS[key].label if key else "",  # the paper model
    }
    return row, key


def _paper_order(table: Any) -> Any:
    """CSMAE rows first, then CSMoE from the largest patch size, as in the paper's tables."""
    rank = table["model"].map(_KIND_ORDER).fillna(len(_KIND_ORDER))
    order = table.assign(_rank=rank).sort_values(
        ["_rank", "patch_size"], ascending=[True, False], kind="stable"
    )
    return order.drop(columns="_rank")


def probe_selection(probe: Any, strategy: str) -> tuple[Any, list[str]]:
    """The six task scores: classification with ``strategy``, segmentation with UPerNet."""
    sel = probe[probe["strategy"].isin([strategy, "upernet"])]
    if sel.empty:
        raise ValueError(f"no probe results for strategy {strategy!r}")
    _one_value(sel[["variant", "task", "score"]], "probe scores")
    return sel, _ordered(sel["task"], paper.TASKS)


def _cbir_columns(cbir: Any) -> list[tuple[str, str]]:
    _one_value(cbir[["variant", "set", "pair", "f1"]], "CBIR scores")
    sets = list(dict.fromkeys(cbir["set"]))
    return [(s, p) for s in sets for p in _ordered(cbir["pair"], paper.CBIR_PAIRS)]


def table4(probe: Any, *, strategy: str = "cls") -> Any:
    """Patch-size sweep and the CSMAE baseline: per variant the six task scores, params,
    GFLOPs, C2C, and the paper's row of the same model. ``probe`` holds one checkpoint per
    variant (the rule passes final weights: complete runs of the paper's length)."""
    import pandas as pd

    sel, tasks = probe_selection(probe, strategy)
    rows = []
    for variant, group in sel.groupby("variant", sort=False):
        first = group.iloc[0]
        row, key = _identity(variant, first)
        row["epoch"] = first["epoch"]
        scores = group.set_index("task")["score"]
        row.update({t: scores.get(t) for t in tasks})
        row.update({k: first[k] for k in _COMPLEXITY})
        ref = paper.TABLE4.get(key or "", {})
        row.update({f"paper_{k}": ref.get(k) for k in (*tasks, *_COMPLEXITY)})
        row["source"] = str(first["source"]).rsplit("/", 2)[0]
        rows.append(row)
    return _paper_order(pd.DataFrame(rows))


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
    """CBIR F1 (CSMAE's form) per variant: ``{set}_{pair}`` columns, complexity, and the
    paper's F1 of the same model."""
    import pandas as pd

    columns = _cbir_columns(cbir)
    pairs = list(dict.fromkeys(p for _, p in columns))
    rows = []
    for variant, group in cbir.groupby("variant", sort=False):
        first = group.iloc[0]
        row, key = _identity(variant, first)
        f1 = group.set_index(["set", "pair"])["f1"]
        row.update({f"{s}_{p}": f1.get((s, p)) for s, p in columns})
        row.update({k: first[k] for k in _COMPLEXITY})
        ref = paper.TABLE6.get(key or "", {})
        row.update(
            {f"paper_{s}_{p}": ref.get(s, {}).get(p) for s in paper.CBIR_SETS for p in pairs}
        )
        rows.append(row)
    return _paper_order(pd.DataFrame(rows))


def table_sampling(probe: Any, cbir: Any, *, strategy: str = "cls") -> Any:
    """Sampling ablation (does GA sampling help downstream?): one row per training set, its
    six probe scores and its CBIR F1 per set and pair, then one row per further training set
    with the difference first minus it (first = the GA-sampled MTomμ when present). The
    variants differ only in their training set (``evaluation.sampling_variants``, checked by
    ``csmoe.evaluation.targets``); the paper reports no numbers for this ablation."""
    import pandas as pd

    sel, tasks = probe_selection(probe, strategy)
    columns = _cbir_columns(cbir)
    rows = []
    for train_set in sorted(set(sel["train_set"]), key=lambda s: (s != "mtom_mu", s)):
        variants = sorted(set(sel.loc[sel["train_set"] == train_set, "variant"]))
        if len(variants) != 1:
            raise InputError(
                "probe results", f"training set {train_set!r} has variants {variants}, not one"
            )
        variant = variants[0]
        if variant not in set(cbir["variant"]):
            raise InputError("CBIR results", f"no CBIR result of {variant} ({train_set})")
        scores = sel[sel["variant"] == variant].set_index("task")["score"]
        f1 = cbir[cbir["variant"] == variant].set_index(["set", "pair"])["f1"]
        row: dict[str, Any] = {"train_set": train_set, "variant": variant}
        row.update({t: scores.get(t) for t in tasks})
        row.update({f"{s}_{p}": f1.get((s, p)) for s, p in columns})
        rows.append(row)
    if len(rows) < 2:
        raise InputError("probe results", "the sampling ablation needs two training sets")
    table = pd.DataFrame(rows)
    values = table.drop(columns=["train_set", "variant"]).astype(float)
    diffs = values.iloc[0] - values.iloc[1:]
    diffs.insert(0, "variant", "")
    diffs.insert(0, "train_set", [f"{rows[0]['train_set']} - {r['train_set']}" for r in rows[1:]])
    return pd.concat([table, diffs], ignore_index=True)
