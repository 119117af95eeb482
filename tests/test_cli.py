from __future__ import annotations

import pytest

from csmoe.cli import RENAMED, main, rename_old_command


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "tracking" in capsys.readouterr().out


def test_tracking_init_creates_store(tmp_path, capsys):
    db = tmp_path / "m.db"
    assert main(["tracking", "init", "--uri", f"sqlite:///{db}"]) == 0
    assert db.exists() and db.stat().st_size > 0


@pytest.mark.parametrize(("old", "new"), list(RENAMED.items()))
def test_old_command_names_still_run_the_new_commands(old, new):
    argv = ["--mlflow-uri", "sqlite:///m.db", "--log-level=INFO", *old, "--out", "o"]
    renamed, warning = rename_old_command(argv)
    assert renamed == ["--mlflow-uri", "sqlite:///m.db", "--log-level=INFO", *new, "--out", "o"]
    assert f"is now 'csmoe {' '.join(new)}'" in warning


def test_only_the_command_is_renamed():
    # "data world" as the value of an option is not the old command
    argv = ["--mlflow-artifacts", "data", "world", "majortom", "--cells", "c"]
    assert rename_old_command(argv) == (argv, None)
    assert rename_old_command(["world", "majortom"]) == (["world", "majortom"], None)


def test_old_name_runs_with_a_warning(tmp_path, capsys, caplog):
    code = main(["downstream", "inspect", "--root", str(tmp_path / "nope"), "--task", "m-eurosat"])
    assert code == 2 and "nope" in capsys.readouterr().err  # `data inspect` ran and failed cleanly
    assert "'csmoe downstream inspect' is now 'csmoe data inspect'" in caplog.text
