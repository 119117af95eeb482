from __future__ import annotations

import base64
import re

import pandas as pd

from csmoe.cli import main


def test_view_is_an_html_table_with_every_cell_and_the_csv(tmp_path):
    csv = tmp_path / "table.csv"
    frame = pd.DataFrame(
        {
            "variant": ["a", "b"],
            "m-eurosat": [51.234, float("nan")],
            "m-eurosat_ci_low": [48.0, float("nan")],
            "paper_m-eurosat": [84.9, 84.9],
            "excludes_zero": [True, False],
        }
    )
    frame.to_csv(csv, index=False)
    out = tmp_path / "table.html"
    args = ["report", "view", "--params", "{}", "--csv", str(csv), "--title", "T <1>"]
    assert main([*args, "--out", str(out)]) == 0
    page = out.read_text()
    assert "<h3>T &lt;1&gt;</h3>" in page
    assert re.findall(r"<th[^>]*>([^<]*)</th>", page) == list(frame.columns)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", page)
    assert cells == ["a", "51.23", "48.00", "84.90", "True", "b", "", "", "84.90", "False"]
    assert '<td class="paper num">84.90</td>' in page and "<tr class=excludes>" in page
    link = re.search(r'href="data:text/csv;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(link) == csv.read_bytes()
    assert main([*args, "--out", str(out), "--csv", str(tmp_path / "missing.csv")]) == 2
