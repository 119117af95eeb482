from __future__ import annotations

import torch

from csmoe.models.mae import gather_tokens, patchify, random_masking, unpatchify


def test_patchify_round_trips_and_orders_patches_row_major():
    x = torch.randn(2, 3, 12, 12)
    patches = patchify(x, 4)
    assert patches.shape == (2, 9, 4 * 4 * 3)
    assert torch.equal(unpatchify(patches, 4, 3), x)
    # patch 1 is the top row's second patch, channel-last inside the patch
    assert torch.equal(patches[0, 1], x[0, :, 0:4, 4:8].permute(1, 2, 0).reshape(-1))


def test_masking_hides_the_ratio_and_keep_matches_mask():
    m = random_masking(5, 16, 0.5, torch.device("cpu"), torch.Generator().manual_seed(0))
    assert (m.mask.sum(dim=1) == 8).all()
    # kept indices are exactly the visible positions
    for b in range(5):
        assert set(m.keep[b].tolist()) == set(torch.nonzero(m.mask[b] == 0).flatten().tolist())
    # restore is the inverse of the shuffle whose first half is keep
    shuffle = m.restore.argsort(dim=1)
    assert torch.equal(shuffle[:, :8], m.keep)
    tokens = torch.arange(16.0).expand(5, 16).unsqueeze(-1)
    assert torch.equal(gather_tokens(gather_tokens(tokens, shuffle), m.restore), tokens)


def test_masking_is_reproducible_with_a_generator_and_differs_between_draws():
    cpu = torch.device("cpu")
    a = random_masking(4, 49, 0.5, cpu, torch.Generator().manual_seed(3))
    b = random_masking(4, 49, 0.5, cpu, torch.Generator().manual_seed(3))
    assert torch.equal(a.mask, b.mask)
    gen = torch.Generator().manual_seed(3)
    first, second = (random_masking(4, 49, 0.5, cpu, gen) for _ in range(2))
    assert not torch.equal(first.mask, second.mask)
    assert not torch.equal(first.mask[0], first.mask[1])  # each sample its own mask
