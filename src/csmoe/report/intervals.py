"""Uncertainty beside every score of a table built from result JSONs.

Every score table (Tables IV-VI, the kNN table, the sampling table, ...) goes through
:func:`add_intervals` once it is built: each score column ``{column}`` gets, right after it,
``{column}_std`` (over head seeds), ``{column}_ci_low`` and ``{column}_ci_high`` (the 95 %
bootstrap interval over test samples), looked up in the long frame the table was built from
(:mod:`csmoe.report.collect`, whose ``cell`` names the column a score lands in).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SUFFIXES = ("std", "ci_low", "ci_high")


def add_intervals(table: Any, long: Any, keys: Sequence[str]) -> Any:
    """``table`` with ``{column}_std`` / ``_ci_low`` / ``_ci_high`` after each column that is a
    ``cell`` of ``long`` (probe and CBIR rows may be mixed). A table row is found in ``long`` by
    its ``keys`` columns; a cell whose value differs from ``long["score"]`` means the two frames
    do not belong together (error)."""
    lookup = long.set_index([*keys, "cell"]).sort_index()
    cells = set(long["cell"])
    out = table.copy()
    order: list[str] = []
    for column in table.columns:
        order.append(column)
        if column not in cells or column in keys:
            continue
        extra: dict[str, list[float]] = {s: [] for s in SUFFIXES}
        for _, row in table.iterrows():
            at = (*(row[k] for k in keys), column)
            if at not in lookup.index:
                for s in SUFFIXES:
                    extra[s].append(float("nan"))
                continue
            found = lookup.loc[[at]]
            if len(found) > 1:
                raise ValueError(f"more than one result for {at}")
            found = found.iloc[0]
            if float(found["score"]) != float(row[column]):
                raise ValueError(f"table value {row[column]} at {at} is not the result's")
            for s in SUFFIXES:
                extra[s].append(float(found[s]))
        for s in SUFFIXES:
            out[f"{column}_{s}"] = extra[s]
            order.append(f"{column}_{s}")
    return out[order]
