"""A damaged config file: one line naming the file and the problem, nothing run."""

from __future__ import annotations

import pytest
from inject import assert_refused, corrupt, run_cli

from csmoe.config import DEFAULT_CONFIG

LAUNCH = ["pretrain", "run", "--variant", "csmoe_p16", "--print-launch", "--config"]


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(DEFAULT_CONFIG.read_bytes())
    return path


def _inside_a_key(config):
    # a cut inside a key; a cut at a line end is a valid, shorter config (see the README)
    text = config.read_bytes()
    return {"keep": (text.index(b"val_fraction") + 8) / len(text)}


def _key_and_value(config):
    # bits flipped across a key and its value (inside a comment they would change nothing)
    text = config.read_bytes()
    return {"at": text.index(b"val_fraction") / len(text), "n": 8}


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("truncated", ("not valid YAML", "could not find expected ':'")),
        ("flipped", ("unknown key data.extract.",)),
        ("empty", ("config file is empty",)),
    ],
)
def test_damaged_config(config, capsys, how, words):
    kwargs = {"truncated": _inside_a_key(config), "flipped": _key_and_value(config)}.get(how, {})
    corrupt(config, how, **kwargs)
    outcome = run_cli([*LAUNCH, str(config)], capsys)
    assert_refused(outcome, config, *words)
    assert outcome.stderr.count("\n") <= 2  # the log line and the error line


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("  epochs: 6\n", '  epochs: "six"\n', "pretrain.epochs: 'six' is not of type 'integer'"),
        ("  val_fraction:", "  val_fractoin:", "unknown key data.extract.val_fractoin (allowed"),
        ("mlflow:\n", "mlfow:\n", "unknown key mlfow (allowed: "),
        ("  sets: [mtom_mu, mtom_r]", "  sets: mtom_mu", "data.sets: 'mtom_mu' is not of type"),
    ],
)
def test_wrong_type_or_key_in_config(config, capsys, old, new, words):
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))
    assert_refused(run_cli([*LAUNCH, str(config)], capsys), config, words)
