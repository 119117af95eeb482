"""csmoe.config (named apart from tests/models/test_config.py): every section refuses unknown
keys, errors are one line."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from csmoe.config import DEFAULT_CONFIG, REPO_ROOT, load_config, validate_config
from csmoe.errors import ConfigError


def _default() -> dict:
    return yaml.safe_load(DEFAULT_CONFIG.read_text())


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ((), "data, downloads, downstream, evaluation, mlflow, models"),
        (("data",), "extract, majortom_source, sets, world"),
        (("data", "extract"), "chunk_patches, clevel, codec"),
        (("models",), "complexity, preset, presets, table1"),
        (("mlflow",), "artifacts, uri"),
        (("downloads", "majortom", "S2L2A"), "md5, metadata_url, sha256"),
    ],
)
def test_an_unknown_key_in_any_section_is_one_line_naming_it(path, allowed):
    config = _default()
    node = config
    for key in path:
        node = node[key]
    node["wrokers"] = 2
    with pytest.raises(ConfigError) as info:
        validate_config(config, source="my.yaml")
    message = str(info.value)
    dotted = ".".join((*path, "wrokers"))
    assert message.startswith(f"my.yaml: unknown key {dotted} (allowed")
    assert allowed in message and "\n" not in message and len(message) < 400


def test_a_bad_value_names_its_key_path_in_one_line(tmp_path):
    config = _default()
    config["pretrain"]["epochs"] = "six"
    with pytest.raises(ConfigError, match=r"^c: pretrain\.epochs: 'six' is not of type") as info:
        validate_config(config, source="c")
    assert "\n" not in str(info.value)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match=r"empty\.yaml: config file is empty"):
        load_config(empty)
    empty.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match=r"empty\.yaml: the config must be a mapping"):
        load_config(empty)


def test_knn_k_beyond_the_generated_training_samples_is_refused_up_front():
    # found by the rehearsal: 4 training samples per task failed k = 20 after all pretraining
    config = _default()
    config["downstream"]["geobench"]["samples"]["train"] = 4
    config["evaluation"]["knn"]["k"] = [3, 5, 20]
    with pytest.raises(ConfigError, match=r"^c: evaluation\.knn\.k \[5, 20\] exceeds .*\(4\)"):
        validate_config(config, source="c")
    config["downstream"]["source"] = "download"  # real splits: their sizes are known later
    validate_config(config, source="c")


def test_shipped_configs_validate_and_get_defaults():
    for name in ("config.yaml", "paper.yaml"):
        config = load_config(REPO_ROOT / "config" / name)
        assert config["data"]["extract"]["codec"] in {"lz4", "zstd", "none"}
    filled = validate_config({"targets": [], "mlflow": {}})
    assert filled["pretrain"]["epochs"] == 6 and filled["data"]["world"]["defects"]
    # defaults are copies: filling one config never changes the next one's defaults
    filled["data"]["world"]["defects"]["all_invalid_tiles"] = 99
    again = validate_config({"targets": [], "mlflow": {}})
    assert again["data"]["world"]["defects"]["all_invalid_tiles"] == 1


def test_snakemake_reports_a_config_typo_in_a_few_lines(tmp_path):
    bad = tmp_path / "typo.yaml"
    bad.write_text("data:\n  extract:\n    val_fractoin: 0.1\n")
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", f"--configfile={bad}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "unknown key data.extract.val_fractoin (allowed under data.extract:" in output
    assert len(output.splitlines()) < 15, output
