from __future__ import annotations

import json

import pytest
import torch

from csmoe.errors import InputError
from csmoe.models import ModelConfig, build_model
from csmoe.models.checkpoint import load, save

CFG = ModelConfig(
    img_size=32,
    patch_size=8,
    dim=16,
    heads=2,
    modality_layers=1,
    shared_layers=1,
    decoder_dim=8,
    decoder_heads=2,
    decoder_layers=1,
    proj_dim=8,
    num_experts=2,
    moe_modality_layers=(0,),
    moe_shared_layers=(0,),
)


def test_save_then_load_restores_the_same_model(tmp_path):
    torch.manual_seed(0)
    model = build_model(CFG)
    stats = {"s1": {"mean": [1.0, 2.0], "std": [3.0, 4.0]}}
    path = tmp_path / "ckpt.safetensors"
    save(path, model, CFG, norm_stats=stats, extra={"epoch": 7})
    loaded, cfg, norm_stats, extra = load(path)
    assert cfg == CFG and norm_stats == stats and extra == {"epoch": 7}
    x = torch.randn(2, 10, 32, 32)
    model.eval()
    assert torch.equal(loaded.encode(x, "s2").tokens, model.encode(x, "s2").tokens)
    assert not loaded.training


def test_array_statistics_are_stored_as_lists(tmp_path):
    import numpy as np

    path = tmp_path / "ckpt.safetensors"
    save(path, build_model(CFG), CFG, norm_stats={"mean": np.array([1.5, 2.5])})
    assert load(path)[2] == {"mean": [1.5, 2.5]}


def test_load_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load(tmp_path / "absent.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="safetensors"):
        load(junk)
    from safetensors.torch import save_file

    bare = tmp_path / "bare.safetensors"
    save_file({"w": torch.zeros(2)}, str(bare))
    with pytest.raises(InputError, match="metadata"):
        load(bare)


def test_same_weights_give_the_same_bytes_and_the_usual_mode(tmp_path):
    # safetensors writes its metadata map in hash order; the evaluation cache is keyed by the
    # checkpoint's SHA-256, so the same training must give the same file
    import hashlib
    import os

    torch.manual_seed(0)
    model = build_model(CFG)
    stats = {"s1": {"mean": [1.0, 2.0], "std": [3.0, 4.0]}}
    digests = set()
    old = os.umask(0o022)
    try:
        for i in range(6):
            path = tmp_path / f"c{i}.safetensors"
            save(path, model, CFG, norm_stats=stats, extra={"epoch": 7, "variant": "v"})
            digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
            assert path.stat().st_mode & 0o777 == 0o644  # not the writer's private 0600
    finally:
        os.umask(old)
    assert len(digests) == 1
    assert load(tmp_path / "c0.safetensors")[3] == {"epoch": 7, "variant": "v"}


def test_a_flipped_byte_in_the_weights_is_detected(tmp_path):
    # safetensors has no checksum: without the stored digest this loads silently
    path = tmp_path / "ckpt.safetensors"
    save(path, build_model(CFG), CFG, extra={"epoch": 1})
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"ckpt\.safetensors: weights do not match the checksum"):
        load(path)


def test_unusable_metadata_is_one_line(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "odd.safetensors"
    meta = {"config": "{not json", "norm_stats": "{}", "extra": "[]"}
    save_file({"w": torch.zeros(2)}, str(path), metadata=meta)
    with pytest.raises(InputError, match=r"odd\.safetensors: checkpoint metadata unusable"):
        load(path)
    meta["config"] = json.dumps(CFG.to_dict())
    save_file({"w": torch.zeros(2)}, str(path), metadata=meta)
    with pytest.raises(InputError, match=r"must be JSON objects"):
        load(path)
