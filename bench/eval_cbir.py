"""Exact top-k retrieval at BigEarthNet-v2 243k scale: csmoe's chunked matrix-product search
against a naive brute force, side by side in one run (same features, same machine).

    python bench/eval_cbir.py                      # 243,130 x 768 archive, 2,000 queries
    python bench/eval_cbir.py --archive 20000 --queries 500 --dim 128   # quick check

The naive baseline is what one writes first: for each query, the cosine similarity to every
archive item with numpy and a full argsort. Both must return the same neighbours (checked).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def naive(queries: np.ndarray, archive: np.ndarray, k: int) -> np.ndarray:
    a = archive / np.linalg.norm(archive, axis=1, keepdims=True)
    out = np.empty((len(queries), k), np.int64)
    for i, q in enumerate(queries):
        sims = a @ (q / np.linalg.norm(q))
        out[i] = np.argsort(-sims)[:k]
    return out


def main() -> None:
    import torch

    from csmoe.evaluation.cbir import topk_cosine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=int, default=243_130)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--naive-queries",
        type=int,
        default=200,
        help="queries timed for the naive search (its time is per query)",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    archive = rng.normal(size=(args.archive, args.dim)).astype(np.float32)
    queries = rng.normal(size=(args.queries, args.dim)).astype(np.float32)

    t0 = time.perf_counter()
    fast = topk_cosine(queries, archive, args.k)
    t_fast = time.perf_counter() - t0
    n = min(args.naive_queries, args.queries)
    t0 = time.perf_counter()
    slow = naive(queries[:n], archive, args.k)
    t_naive = (time.perf_counter() - t0) / n * args.queries
    same = np.array_equal(fast[:n], slow)

    print(
        f"archive {args.archive} x {args.dim}, {args.queries} queries, k={args.k}, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(f"chunked matmul + topk : {t_fast:8.2f} s  ({args.queries / t_fast:9.1f} queries/s)")
    print(
        f"naive per-query argsort: {t_naive:8.2f} s  ({args.queries / t_naive:9.1f} queries/s)"
        f"  [timed on {n} queries]"
    )
    print(f"speed-up {t_naive / t_fast:.1f}x; identical neighbours on the timed queries: {same}")
    if not same:
        raise SystemExit("results differ")


if __name__ == "__main__":
    main()
