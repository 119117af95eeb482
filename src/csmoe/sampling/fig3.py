"""Fig. 3: world maps of MTomr and MTomμ (plate carrée, plain matplotlib).

The archive's cells are drawn faintly behind each sample so that coverage gaps (the interior of
the Sahara, Amazonia, Siberia) and clumps show up against the land they were drawn from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

BACKGROUND_POINTS = 200_000  # enough to outline the continents, quick to draw


def make_figure(archive: pd.DataFrame, samples: dict[str, pd.DataFrame], seed: int = 0) -> Any:
    """A figure with one map per sample (``{title: frame}``), points coloured by climate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    take = min(BACKGROUND_POINTS, len(archive))
    background = archive.iloc[np.sort(rng.choice(len(archive), take, replace=False))]
    zones = sorted(set().union(*(set(s["climate"]) for s in samples.values())))
    colour = {zone: i for i, zone in enumerate(zones)}
    cmap = plt.get_cmap("tab20", max(len(zones), 1))
    fig, axes = plt.subplots(len(samples), 1, figsize=(12, 5.6 * len(samples)), squeeze=False)
    for ax, (title, frame) in zip(axes[:, 0], samples.items(), strict=True):
        ax.scatter(
            background["centre_lon"],
            background["centre_lat"],
            s=0.05,
            c="0.85",
            linewidths=0,
            rasterized=True,
        )
        ax.scatter(
            frame["centre_lon"],
            frame["centre_lat"],
            s=2.0,
            c=frame["climate"].map(colour),
            cmap=cmap,
            vmin=-0.5,
            vmax=len(zones) - 0.5,
            linewidths=0,
        )
        ax.set_xlim(-180, 180)
        ax.set_ylim(-90, 90)
        ax.set_aspect("equal")
        ax.set_xlabel("longitude (°)")
        ax.set_ylabel("latitude (°)")
        ax.set_title(f"{title}: {len(frame):,} tiles, coloured by Köppen-Geiger zone")
    fig.tight_layout()
    return fig
