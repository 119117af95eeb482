"""The paper's own numbers (shared/paper/NOTES.md), only ever shown in columns labelled
``paper``. Scores in %, parameters in millions, FLOPs in GMACs per image."""

from __future__ import annotations

from dataclasses import dataclass

CLASSIFICATION_TASKS = ("m-bigearthnet", "m-brick-kiln", "m-so2sat", "m-eurosat")
SEGMENTATION_TASKS = ("m-cashew-plant", "m-SA-crop-type")
TASKS = CLASSIFICATION_TASKS + SEGMENTATION_TASKS


@dataclass(frozen=True)
class PaperModel:
    """A model of the paper's tables: its name there, its kind and its pretraining set."""

    label: str
    kind: str
    train_set: str


# The paper's models, keyed by the variant that reproduces each one in config/config.yaml and
# config/paper.yaml. A result gets a paper row by this identity (variant, kind, training set),
# never by patch size: the CSMAE baseline is patch 15 at 120 px at paper scale and patch 16 in
# the tiny default config, and a CSMoE p16 trained on MTomr or for 800 epochs is not the
# paper's p16 row.
MODELS: dict[str, PaperModel] = {
    "csmoe_p32": PaperModel("CSMoE p32", "csmoe", "mtom_mu"),
    "csmoe_p28": PaperModel("CSMoE p28", "csmoe", "mtom_mu"),
    "csmoe_p16": PaperModel("CSMoE p16", "csmoe", "mtom_mu"),
    "csmoe_p14": PaperModel("CSMoE p14", "csmoe", "mtom_mu"),
    # pretrained on MTomμ: the retrieval baseline of Table VI
    "csmae": PaperModel("CSMAE (MTomμ)", "csmae", "mtom_mu"),
    # pretrained on BigEarthNet-v2: the probing baseline of Figs. 6-7 (the text gives no score)
    "csmae_benv2": PaperModel("CSMAE (BigEarthNet-v2)", "csmae", "benv2"),
}


def paper_model(variant: str, kind: str, train_set: str | None) -> str | None:
    """The key of the paper model that ``variant`` reproduces, or None when its kind or
    training set is not that model's (a renamed or re-purposed variant gets no paper values)."""
    model = MODELS.get(variant)
    if model is None or (model.kind, model.train_set) != (kind, train_set):
        return None
    return variant


# Table IV: CSMoE by patch size: six scores, params (M), GFLOPs, C2C
TABLE4: dict[str, dict[str, float]] = {
    variant: dict(zip((*TASKS, "params_m", "gflops", "c2c"), row, strict=True))
    for variant, row in {
        "csmoe_p32": (62.6, 93.2, 44.1, 84.9, 46.0, 35.8, 277, 2.92, 94.86),
        "csmoe_p28": (65.1, 93.8, 46.3, 84.9, 48.3, 36.7, 275, 3.67, 74.93),
        "csmoe_p16": (66.5, 94.3, 48.0, 86.2, 55.7, 38.6, 271, 10.11, 26.81),
        "csmoe_p14": (66.0, 94.4, 49.6, 88.3, 59.4, 39.8, 271, 13.40, 20.22),
    }.items()
}

# Table V: [CLS] strategies, CSMoE p = 32, classification tasks
TABLE5: dict[str, dict[str, float]] = {
    s: dict(zip(CLASSIFICATION_TASKS, row, strict=True))
    for s, row in {
        "avg_no_cls": (60.2, 89.4, 40.1, 82.3),
        "avg_all": (60.1, 88.9, 40.2, 82.3),
        "cls": (62.6, 93.2, 44.1, 84.9),
        "cls_norm": (40.8, 82.4, 21.9, 69.8),
        "cls_norm_proj": (40.8, 82.4, 21.9, 69.8),
    }.items()
}
TABLE5_PATCH_SIZE = 32

# Table VI: CBIR F1 (CSMAE's form: csmoe.evaluation.metrics.label_set_prf) by model and set
CBIR_PAIRS = ("s1s1", "s2s2", "s1s2", "s2s1")
CBIR_SETS = ("benv2_14k", "benv2_243k")
_TABLE6_ROWS = {
    "csmae": ((66.61, 72.29, 30.86, 42.63), (63.59, 70.78, 33.04, 37.83)),
    "csmoe_p32": ((62.84, 69.13, 37.48, 45.86), (60.06, 67.36, 32.26, 32.63)),
    "csmoe_p28": ((63.82, 71.41, 40.57, 38.65), (61.55, 69.48, 32.93, 27.02)),
    "csmoe_p16": ((65.95, 71.73, 36.14, 49.49), (63.16, 70.25, 24.59, 32.16)),
    "csmoe_p14": ((66.71, 72.37, 43.01, 45.43), (64.14, 70.89, 32.30, 31.04)),
}
TABLE6: dict[str, dict[str, dict[str, float]]] = {
    variant: {
        name: dict(zip(CBIR_PAIRS, scores, strict=True))
        for name, scores in zip(CBIR_SETS, rows, strict=True)
    }
    for variant, rows in _TABLE6_ROWS.items()
}

# Fig. 5 (text): mean normalised score (%) at some epochs
FIG5_MEAN = {50: 97.5, 100: 99.0, 150: 98.8}

# Figs. 6/7 peers: (GFLOPs from Table I, {task: score}) where the text states the score
PEERS: dict[str, tuple[float, dict[str, float]]] = {
    "Prithvi V2-300": (59.85, {"m-cashew-plant": 58.5}),
    "Prithvi V2-600": (162.18, {"m-cashew-plant": 61.9}),
    "TerraMind": (17.84, {"m-cashew-plant": 58.8}),
    "Satlas": (17.12, {}),
    "DOFA": (17.47, {}),
    "CSMAE": (5.64, {}),
}
