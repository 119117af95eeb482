"""HTML views of the CSV tables for the Snakemake report.

The report shows a CSV only as a download; an HTML page it shows inline. Each view is the
whole table as an HTML table (numbers to two decimals, the paper's columns in grey, the
uncertainty columns small, comparisons that exclude 0 in bold) with the CSV itself embedded as
a download link, so the numbers in the report are exactly the file's.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from csmoe.errors import InputError
from csmoe.io import write_text

_STYLE = """
body { font-family: sans-serif; font-size: 13px; margin: 8px; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 2px 6px; white-space: nowrap; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.paper { color: #888; }
.spread { color: #555; font-size: 11px; }
tr.excludes td { font-weight: bold; }
"""


def _cell_class(column: str) -> str:
    if column.startswith("paper_"):
        return "paper"
    if column.endswith(("_std", "_ci_low", "_ci_high")):
        return "spread"
    return ""


def _format(value: object) -> tuple[str, bool]:
    """Display text and whether it is a number."""
    if isinstance(value, bool):
        return str(value), False
    if isinstance(value, int | float):
        if value != value:  # NaN: no value
            return "", True
        return (f"{value:.2f}" if isinstance(value, float) else str(value)), True
    return str(value), False


def render(csv_path: str | Path, out: str | Path, *, title: str) -> None:
    """Write ``out``: ``title``, the table of ``csv_path`` and a link to download the CSV."""
    import pandas as pd

    try:
        raw = Path(csv_path).read_bytes()
    except FileNotFoundError as err:
        raise InputError(csv_path, "table not found") from err
    try:
        frame = pd.read_csv(csv_path)
    except (ValueError, pd.errors.ParserError) as err:
        raise InputError(csv_path, f"not a readable CSV table: {err}") from err
    head = "".join(f'<th class="{_cell_class(c)}">{html.escape(str(c))}</th>' for c in frame)
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for column, value in record.items():
            text, number = _format(value)
            classes = " ".join(x for x in (_cell_class(column), "num" if number else "") if x)
            cells.append(f'<td class="{classes}">{html.escape(text)}</td>')
        excludes = record.get("excludes_zero") is True
        rows.append(f"<tr{' class=excludes' if excludes else ''}>{''.join(cells)}</tr>")
    name = Path(csv_path).name
    link = f"data:text/csv;base64,{base64.b64encode(raw).decode()}"
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h3>{html.escape(title)}</h3>"
        f"<p>{len(frame)} rows from <code>{html.escape(str(csv_path))}</code> &middot; "
        f'<a download="{html.escape(name)}" href="{link}">download {html.escape(name)}</a></p>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</body></html>"
    )
    write_text(out, page)
