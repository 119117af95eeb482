"""Paper rows are matched by model identity (variant, kind, training set), under both configs."""

from __future__ import annotations

import numpy as np

from csmoe.evaluation.targets import eval_plan
from csmoe.report import paper
from csmoe.report.tables import table4, table6
from csmoe.train.variants import resolve_variant, variant_bundle


def _frame(config, variants, rows_of):
    """Result rows as collect builds them, with each variant's model as the config resolves it."""
    import pandas as pd

    rows = []
    for variant in variants:
        job = resolve_variant(variant_bundle(config, variant))
        model = {
            "variant": variant,
            "model_kind": job.model["kind"],
            "patch_size": job.model["patch_size"],
            "train_set": job.train_set,
            "params_m": 1.0,
            "gflops": 1.0,
            "c2c": 1.0,
            "source": f"results/x/{variant}/final",
        }
        rows += [{**model, **r} for r in rows_of(variant)]
    return pd.DataFrame(rows)


def test_every_table_row_gets_its_paper_row_under_both_configs(run_config):
    plan = eval_plan(run_config)
    cbir = _frame(
        run_config,
        plan.cbir_variants,
        lambda v: [
            {"set": s, "pair": p, "f1": 50.0} for s in paper.CBIR_SETS for p in paper.CBIR_PAIRS
        ],
    )
    t6 = table6(cbir).set_index("variant")
    paper_cols = [c for c in t6.columns if c.startswith("paper_")]
    assert len(paper_cols) == 8 and t6[paper_cols].notna().all().all()
    # the CSMAE baseline (patch 15 at paper scale, 16 by default) gets the paper's CSMAE row
    assert t6.loc["csmae", "paper_benv2_14k_s1s1"] == 66.61
    assert t6.loc["csmae", "reproduces"] == "CSMAE (MTomμ)"

    probe = _frame(
        run_config,
        plan.table4_variants,
        lambda v: [
            {"epoch": "final", "task": t, "strategy": "cls", "score": 1.0}
            for t in paper.CLASSIFICATION_TASKS
        ],
    )
    t4 = table4(probe).set_index("variant")
    assert t4.index[0] == "csmae_benv2"  # the CSMAE baseline row first
    assert t4.loc["csmae_benv2", "reproduces"] == "CSMAE (BigEarthNet-v2)"
    assert np.isnan(t4.loc["csmae_benv2", "paper_m-eurosat"])  # the paper prints no score
    for p in (32, 28, 16, 14):
        assert t4.loc[f"csmoe_p{p}", "paper_m-eurosat"] == paper.TABLE4[f"csmoe_p{p}"]["m-eurosat"]


def test_a_model_of_another_kind_or_training_set_gets_no_paper_row():
    assert paper.paper_model("csmoe_p16", "csmoe", "mtom_mu") == "csmoe_p16"
    assert paper.paper_model("csmoe_p16", "csmoe", "mtom_r") is None  # the MTomr ablation
    assert paper.paper_model("csmae", "csmoe", "mtom_mu") is None
    assert paper.paper_model("csmoe_p16_random", "csmoe", "mtom_r") is None
