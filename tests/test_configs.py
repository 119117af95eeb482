"""config/rehearsal.yaml is config/paper.yaml with only counts shrunk (README, Rehearsal)."""

from __future__ import annotations

from typing import Any

import yaml

from csmoe.config import REPO_ROOT


def _yaml(name: str) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "config" / name).read_text())


def _keys(node: Any, prefix: str = "") -> set[str]:
    if not isinstance(node, dict):
        return set()
    out = set()
    for key, value in node.items():
        out.add(f"{prefix}{key}")
        out |= _keys(value, f"{prefix}{key}.")
    return out


def test_rehearsal_has_the_paper_structure_models_and_variants():
    paper, rehearsal = _yaml("paper.yaml"), _yaml("rehearsal.yaml")
    assert _keys(rehearsal) == _keys(paper)
    assert rehearsal["models"] == paper["models"]  # presets at full width and size, Table I
    assert rehearsal["targets"] == paper["targets"]
    assert set(rehearsal["variants"]) == set(paper["variants"])
    for name, spec in paper["variants"].items():
        same = {k: v for k, v in spec.items() if k != "pretrain"}
        assert {k: v for k, v in rehearsal["variants"][name].items() if k != "pretrain"} == same
    ev_paper, ev = paper["evaluation"], rehearsal["evaluation"]
    for key in ("strategies", "strategy", "tasks", "cbir", "table4_variants", "cbir_variants"):
        assert ev[key] == ev_paper[key], key
    for key in ("table5_variant", "sweep_variant", "sampling_variants"):
        assert ev[key] == ev_paper[key], key
    up, up_paper = ev["upernet"], ev_paper["upernet"]
    assert {k: up[k] for k in ("scales", "channels", "pool_bins", "layers")} == {
        k: up_paper[k] for k in ("scales", "channels", "pool_bins", "layers")
    }
    # ... and asks results/table4.csv for the rest of every table and figure (one target
    # rehearses everything: tests/evaluation/test_rules.py dry-runs it)
    required = set(rehearsal["report"]["table4_requires"])
    assert set(paper["report"]["table4_requires"]) <= required
    assert {"results/table1.csv", "results/table2.csv", "results/fig3.png"} <= required
    assert {"results/table_knn.csv", "results/comparisons.csv"} <= required
    assert rehearsal["report"]["comparisons"] == paper["report"]["comparisons"]
    assert ev["bootstrap"] == ev_paper["bootstrap"] and ev["knn"] == ev_paper["knn"]


def test_rehearsal_keeps_tiles_loader_checkpoints_and_sweep_at_paper_settings():
    rehearsal = _yaml("rehearsal.yaml")
    assert rehearsal["data"]["world"]["tile_px"] == 1068
    assert rehearsal["data"]["extract"]["chunk_patches"] == 16
    assert rehearsal["data"]["majortom_source"] == "generate"  # Major TOM format, no download
    pretrain = rehearsal["pretrain"]
    assert pretrain["loader"] == "chunks" and pretrain["ckpt_every"] == 1
    sweep = rehearsal["evaluation"]["sweep_variant"]
    assert rehearsal["variants"][sweep]["pretrain"]["epochs"] > pretrain["epochs"]  # Fig. 5
