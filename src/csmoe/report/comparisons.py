"""Paired comparisons (``results/comparisons.csv``): which differences between two models are
larger than the test set's sampling noise.

For every configured pair (a, b) and every probe task and CBIR set x pair that both have a
result: the difference a - b of the point estimates (means over head seeds), its paired
bootstrap interval (both models scored on the same resampled test samples / queries, the
resamples of :mod:`csmoe.evaluation.bootstrap` keyed by the task or set) and whether that
interval excludes 0. Both results must come from the same test samples (same fingerprint)
and the same bootstrap settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from csmoe.errors import InputError
from csmoe.evaluation.bootstrap import (
    BootstrapConfig,
    load_samples,
    paired_distribution,
    percentile_interval,
    scores_from,
)
from csmoe.evaluation.cbir import PAIRS
from csmoe.report import paper


def _index(paths: Iterable[str | Path]) -> dict[tuple[str, str, str], tuple[Path, dict]]:
    """(variant, kind, task or set) -> (path, record) of every result file."""
    out = {}
    for path in map(Path, paths):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise InputError(path, f"unreadable evaluation result: {err}") from err
        kind = "cbir" if "pairs" in record else "probe"
        where = record["set"] if kind == "cbir" else record["task"]
        key = (record["variant"], kind, where)
        if key in out:
            raise InputError(path, f"a second result for {key} (first: {out[key][0]})")
        out[key] = (path, record)
    return out


def _checked(a: tuple[Path, dict], b: tuple[Path, dict]) -> BootstrapConfig:
    """The bootstrap settings both results were summarised with; refuse unpaired results."""
    (path_a, rec_a), (path_b, rec_b) = a, b
    if rec_a.get("test_data") != rec_b.get("test_data"):
        raise InputError(path_b, f"not scored on the same test samples as {path_a}")
    boot_a, boot_b = (r["settings"].get("bootstrap") for r in (rec_a, rec_b))
    if boot_a != boot_b:
        raise InputError(path_b, f"bootstrap settings {boot_b} differ from {path_a}'s {boot_a}")
    return BootstrapConfig.from_dict(boot_a or {})


def _row(a: tuple[Path, dict], b: tuple[Path, dict], what: dict, pair: str = "") -> dict:
    cfg = _checked(a, b)
    samples = [scores_from(load_samples(p.with_suffix(".npz")), pair) for p, _ in (a, b)]
    diffs = paired_distribution(*samples, cfg, what["task"])
    ci = percentile_interval(diffs, cfg.confidence)
    score_a, score_b = what.pop("scores")
    return {
        **what,
        "pair": pair,
        "a_score": score_a,
        "b_score": score_b,
        "diff": score_a - score_b,
        "diff_ci_low": ci["ci_low"],
        "diff_ci_high": ci["ci_high"],
        # strictly: an interval that touches 0 does not exclude it
        "excludes_zero": bool(ci["ci_low"] > 0 or ci["ci_high"] < 0),
        "n": samples[0].n,
        "resamples": cfg.resamples,
        "undefined": ci["undefined"],
    }


def comparisons(pairs: Sequence[tuple[str, str]], paths: Iterable[str | Path]) -> Any:
    """One row per (pair, task) and (pair, CBIR set, query/archive pair)."""
    import pandas as pd

    index = _index(paths)
    rows = []
    for a, b in pairs:
        base = {"comparison": f"{a} - {b}", "a": a, "b": b}
        found = {k[1:] for k in index if k[0] == a} & {k[1:] for k in index if k[0] == b}
        probes = [t for t in paper.TASKS if ("probe", t) in found]
        probes += sorted(t for kind, t in found if kind == "probe" and t not in probes)
        for task in probes:
            ra, rb = index[(a, "probe", task)], index[(b, "probe", task)]
            what = {**base, "kind": "probe", "task": task, "metric": ra[1]["metric"]}
            what["scores"] = (float(ra[1]["test"]), float(rb[1]["test"]))
            rows.append(_row(ra, rb, what))
        for set_name in sorted(s for kind, s in found if kind == "cbir"):
            ra, rb = index[(a, "cbir", set_name)], index[(b, "cbir", set_name)]
            for pair in PAIRS:
                what = {**base, "kind": "cbir", "task": set_name, "metric": "F1"}
                what["scores"] = tuple(float(r[1]["pairs"][pair]["f1"]) for r in (ra, rb))
                rows.append(_row(ra, rb, what, pair))
        if not probes and not any(kind == "cbir" for kind, _ in found):
            raise InputError("comparisons", f"{a} and {b} have no result on a common task")
    return pd.DataFrame(rows)
