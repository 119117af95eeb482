"""The sampling sections of the shipped configs validate and mean what the README says."""

from __future__ import annotations

from csmoe.config import REPO_ROOT, load_config, validate_config
from csmoe.sampling.ga import GAParams


def test_default_and_paper_configs():
    default = load_config(REPO_ROOT / "config" / "config.yaml")["sampling"]
    assert default["archive"]["source"] == "grid"
    assert default["landcover"]["source"] == "mcd12c1"
    assert default["target_per_stratum"] == 100
    GAParams.from_dict(default["ga"])  # every key known, every value valid
    paper = load_config(REPO_ROOT / "config" / "paper.yaml")["sampling"]
    assert paper["archive"]["source"] == "metadata" and len(paper["archive"]["metadata"]) == 2


def test_schema_fills_sampling_defaults():
    config = validate_config({"targets": [], "mlflow": {}})
    sampling = config["sampling"]
    assert sampling["ga"]["generations"] == GAParams().generations
    assert sampling["table2"]["pair_sample"] == 2_000_000
    assert sampling["landcover"]["worldcover_tiles"] == []
