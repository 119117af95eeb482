from __future__ import annotations

import pytest

from csmoe.cli import main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "tracking" in capsys.readouterr().out


def test_tracking_init_creates_store(tmp_path, capsys):
    db = tmp_path / "m.db"
    assert main(["tracking", "init", "--uri", f"sqlite:///{db}"]) == 0
    assert db.exists() and db.stat().st_size > 0
