"""Content-based image retrieval (paper Table VI): exact cosine top-k and label-set scores.

Queries come from the validation split, the archive from the test split; every feature is
L2-normalised so that the inner product is the cosine similarity. The search is exact: one
matrix product per chunk of queries against the whole archive, then ``torch.topk``; the chunk
size keeps the similarity block under a memory budget, so a 243k archive never needs a
queries x archive matrix in memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from csmoe.evaluation.metrics import label_set_per_query, label_set_scores
from csmoe.log import progress

# query modality -> archive modality, named as in the paper (<Q><R>)
PAIRS: dict[str, tuple[str, str]] = {
    "s1s1": ("s1", "s1"),
    "s2s2": ("s2", "s2"),
    "s1s2": ("s1", "s2"),
    "s2s1": ("s2", "s1"),
}


def topk_cosine(
    queries: np.ndarray,
    archive: np.ndarray,
    k: int,
    *,
    block_bytes: int = 256 * 2**20,
    device: str = "cpu",
) -> np.ndarray:
    """Indices [Q, k] of the ``k`` archive items most cosine-similar to each query, best first.

    Ties (equal similarities) are broken arbitrarily, as by any top-k; with real-valued
    features they have probability zero.
    """
    import torch

    if len(queries) == 0:
        raise ValueError("empty query set: nothing to retrieve for")
    if len(archive) < k:
        raise ValueError(f"archive has {len(archive)} items, fewer than k={k}")
    q, a = (
        torch.nn.functional.normalize(torch.as_tensor(x, dtype=torch.float32, device=device), dim=1)
        for x in (queries, archive)
    )
    chunk = max(1, block_bytes // (4 * len(a)))
    out = torch.empty((len(q), k), dtype=torch.int64)
    starts = range(0, len(q), chunk)
    with torch.inference_mode():
        for start in progress(starts, desc="retrieval chunks", total=len(starts)):
            sims = q[start : start + chunk] @ a.T
            out[start : start + chunk] = torch.topk(sims, k, dim=1).indices.cpu()
    return out.numpy()


def retrieve(
    queries: np.ndarray,
    query_labels: np.ndarray,
    archive: np.ndarray,
    archive_labels: np.ndarray,
    k: int,
    device: str = "cpu",
) -> dict[str, np.ndarray]:
    """Per-query precision, recall, F1 (fractions) of the top-``k`` label sets."""
    idx = topk_cosine(queries, archive, k, device=device)
    return label_set_per_query(query_labels, np.asarray(archive_labels)[idx])


def retrieve_pairs(
    features: dict[str, dict[str, np.ndarray]],
    labels: dict[str, np.ndarray],
    k: int,
    *,
    query_split: str = "validation",
    archive_split: str = "test",
    device: str = "cpu",
) -> dict[str, dict[str, np.ndarray]]:
    """:func:`retrieve` for all four <Q><R> combinations; ``features[split][modality]`` is
    [N, D]."""
    return {
        name: retrieve(
            features[query_split][qmod],
            labels[query_split],
            features[archive_split][amod],
            labels[archive_split],
            k,
            device,
        )
        for name, (qmod, amod) in PAIRS.items()
    }


def evaluate_pairs(
    features: dict[str, dict[str, np.ndarray]], labels: dict[str, np.ndarray], k: int, **kw: Any
) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and mean per-query F1 (%) of every pair of
    :func:`retrieve_pairs`."""
    return {
        pair: {m: float(v) for m, v in label_set_scores(per_query).items()}
        for pair, per_query in retrieve_pairs(features, labels, k, **kw).items()
    }
