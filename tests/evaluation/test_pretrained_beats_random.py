"""The evaluation must tell a pretrained encoder from a random one.

A tiny CSMoE is pretrained for 120 steps (about 10 s on one CPU thread) on rendered scenes;
the same architecture with random weights is the baseline. Both are probed with the code the
pipeline uses (frozen features, linear probe, exact retrieval) on scenes they never saw:
few-label linear probing (the frozen-feature regime; 3 draws of 40 labels), multi-label
probing, and cross-modal retrieval, where an untrained S1 encoder has no reason to agree with
an untrained S2 one.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scene_fixtures import LANDCOVER, class_index, norm_stats, scenes

from csmoe.evaluation.cbir import evaluate_pairs
from csmoe.evaluation.features import encode, normalise
from csmoe.evaluation.linear_probe import LinearConfig, probe
from csmoe.models import ModelConfig, build_model


def _arrays(items):
    s1 = np.stack([s.s1_db for s in items]).astype(np.float32)
    s2 = np.stack([s.s2 for s in items]).astype(np.float32)
    single = np.array([LANDCOVER.index(s.landcover) for s in items])
    multi = np.stack([np.isin(np.arange(len(LANDCOVER)), class_index(s.classes)) for s in items])
    return {"s1": s1, "s2": s2, "single": single, "multi": multi}


def _pretrain(model, data, stats, steps=120, batch=64):
    s1 = torch.as_tensor(normalise(data["s1"], stats, "s1", "train"))
    s2 = torch.as_tensor(normalise(data["s2"], stats, "s2", "train"))
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(steps):
        idx = torch.randperm(len(s1), generator=gen)[:batch]
        opt.zero_grad()
        model(s1[idx], s2[idx], generator=gen).loss.backward()
        opt.step()
    return model.eval()


def _scores(model, stats, splits):
    feats = {}
    for s, d in splits.items():
        out = encode(
            model, stats, [{"s1": d["s1"], "s2": d["s2"]}], len(d["s1"]), strategies=["cls"]
        )
        feats[s] = {m: f["cls"] for m, f in out.items()}
    cfg = LinearConfig(epochs=100, batch_size=64, lr=1e-2)
    kwargs = dict(seeds=[0], absent_policy="keep", where="scenes")
    # few labels (40 scenes, 5 per class on average), averaged over 3 disjoint draws
    few = []
    for start in (0, 40, 80):
        part = slice(start, start + 40)
        few.append(
            probe(
                {s: f["s2"][part] if s == "train" else f["s2"] for s, f in feats.items()},
                {s: d["single"][part] if s == "train" else d["single"] for s, d in splits.items()},
                "multiclass",
                len(LANDCOVER),
                cfg,
                **kwargs,
            )[0]["test_seeds"][0]
        )
    mean_ap = probe(
        {s: f["s2"] for s, f in feats.items()},
        {s: d["multi"] for s, d in splits.items()},
        "multilabel",
        len(LANDCOVER),
        cfg,
        **kwargs,
    )[0]["test_seeds"][0]
    cbir = evaluate_pairs(
        {"validation": feats["valid"], "test": feats["test"]},
        {"validation": splits["valid"]["multi"], "test": splits["test"]["multi"]},
        k=10,
    )
    return float(np.mean(few)), mean_ap, cbir


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared 2-core CI box is slower with more
    yield
    torch.set_num_threads(before)


def test_pretrained_encoder_clearly_beats_random(one_thread, tiny_model):
    pretrain = scenes(400, 0)
    splits = {
        "train": _arrays(scenes(200, 1)),
        "valid": _arrays(scenes(60, 2)),
        "test": _arrays(scenes(150, 3)),
    }
    stats = norm_stats(pretrain)
    cfg = ModelConfig.from_dict(tiny_model)
    torch.manual_seed(0)
    random_model = build_model(cfg).eval()
    torch.manual_seed(0)
    trained = _pretrain(build_model(cfg), _arrays(pretrain), stats)

    aa_r, map_r, cbir_r = _scores(random_model, stats, splits)
    aa_p, map_p, cbir_p = _scores(trained, stats, splits)
    assert aa_p > aa_r + 5, (aa_p, aa_r)
    assert map_p > map_r + 2, (map_p, map_r)
    for pair in ("s1s2", "s2s1"):
        assert cbir_p[pair]["f1"] > cbir_r[pair]["f1"] + 8, (pair, cbir_p, cbir_r)
