"""What to download for each real data set, and where it lands (paper.yaml).

Every function keeps its downloads in a cache folder outside the declared output (Snakemake
deletes the outputs of a failed job, the cache survives), so a rerun resumes: finished files
are verified and skipped, a ``.part`` resumes, Major TOM fragments already fetched are kept.
Outputs are written through :func:`csmoe.io.atomic_path`.

- Major TOM Core: :func:`majortom_metadata` → the products' metadata parquets (whole: the
  sampling stage's archive in paper.yaml); :func:`majortom` → ``{out}/{S2L2A,S1RTC}/`` with
  ``metadata.parquet`` +
  ``images/part_*.parquet``, the layout the generated mini world uses (and the Hugging Face
  datasets Major-TOM/Core-S2L2A and Core-S1RTC have), holding only the selected cells;
- GEO-Bench: :func:`geobench_task` → ``{out}`` = ``.../{benchmark}/{task}/`` unzipped;
- BigEarthNet-v2: :func:`benv2` → ``{out}/`` with metadata.parquet and the unpacked folders;
- rasters: :func:`raster` → one file (or unpacked folder) per configured raster.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from pathlib import Path
from typing import Any

from csmoe.downloads.protocol import extract, fetch, read_row_groups
from csmoe.errors import ConfigError, InputError
from csmoe.io import atomic_path
from csmoe.log import get_logger, progress

log = get_logger(__name__)

PRODUCTS = ("S2L2A", "S1RTC")


def _retry(params: dict[str, Any]) -> dict[str, Any]:
    return {"retries": int(params["retries"]), "backoff_s": float(params["backoff_s"])}


def _fetch(entry: dict[str, Any], dest: Path, params: dict[str, Any]) -> Path:
    return fetch(entry["url"], dest, md5=entry.get("md5"), sha256=entry.get("sha256"),
                 **_retry(params))  # fmt: skip


def majortom_metadata(product: str, out: Path, params: dict[str, Any]) -> Path:
    """The whole metadata parquet of a Major TOM Core product (the sampling archive's input)."""
    if product not in PRODUCTS:
        raise ConfigError(f"unknown Major TOM product {product!r}; known: {PRODUCTS}")
    entry = params["majortom"][product]
    return _fetch({**entry, "url": entry["metadata_url"]}, out, params)


def majortom(
    cells: Any, metadata: dict[str, Path], out: Path, cache: Path, params: dict[str, Any]
) -> dict[str, Any]:
    """Fetch the S2L2A and S1RTC rows of the cells ``cells.grid_cell`` present in both.

    ``metadata`` maps each product to its downloaded metadata parquet; fetched rows are kept
    under ``cache/{product}/`` named by source file and row set, so a rerun (or another cell
    set sharing a source file and rows) does not fetch them again.
    """
    import hashlib

    import pandas as pd
    import pyarrow.parquet as pq

    wanted = set(cells["grid_cell"])
    metas = {}
    for product in PRODUCTS:
        try:
            meta = pd.read_parquet(metadata[product])
        except Exception as err:  # pyarrow raises several types for a corrupt file
            raise InputError(metadata[product], f"unreadable Major TOM metadata: {err}") from err
        metas[product] = meta[meta["grid_cell"].isin(wanted)]
    # one pair per cell: the clearest S2, then the S1 closest to it in time (as the paper
    # pairs one acquisition of each sensor; the reader would pick the same pair)
    s2 = metas["S2L2A"].sort_values(["grid_cell", "cloud_cover", "timestamp"])
    s2 = s2.drop_duplicates("grid_cell")
    s1 = metas["S1RTC"].merge(s2[["grid_cell", "timestamp"]], on="grid_cell", suffixes=("", "_s2"))
    gap = (pd.to_datetime(s1["timestamp"]) - pd.to_datetime(s1["timestamp_s2"])).abs()
    s1 = s1.assign(_gap=gap).sort_values(["grid_cell", "_gap"], kind="stable")
    s1 = s1.drop_duplicates("grid_cell").drop(columns=["_gap", "timestamp_s2"])
    metas = {"S2L2A": s2[s2["grid_cell"].isin(s1["grid_cell"])], "S1RTC": s1}
    both = set(s1["grid_cell"])
    stats: dict[str, Any] = {"cells_wanted": len(wanted), "cells_found": len(both)}
    with atomic_path(out, is_dir=True) as tmp:
        for product in PRODUCTS:
            meta = metas[product].copy()
            base = params["majortom"][product]["metadata_url"]
            meta["source_url"] = [urllib.parse.urljoin(base, u) for u in meta["parquet_url"]]
            (tmp / product / "images").mkdir(parents=True)
            fetched = 0
            parts = list(meta.groupby("source_url", sort=True))
            for k, (source, rows) in enumerate(progress(parts, desc=f"Major TOM {product}")):
                key = hashlib.sha1(f"{source}:{list(rows['parquet_row'])}".encode()).hexdigest()
                stem = Path(urllib.parse.urlparse(source).path).stem
                fragment = cache / product / "rows" / f"{stem}-{key[:12]}.parquet"
                if not fragment.exists():  # resumable at the granularity of a source file
                    groups = [int(g) for g in rows["parquet_row"]]
                    table, moved = read_row_groups(source, groups, **_retry(params))
                    fetched += moved
                    with atomic_path(fragment) as part:
                        pq.write_table(table, part, row_group_size=1, write_page_checksum=True)
                _link_or_copy(fragment, tmp / product / "images" / f"part_{k:05d}.parquet")
                meta.loc[rows.index, "parquet_url"] = f"images/part_{k:05d}.parquet"
                meta.loc[rows.index, "parquet_row"] = range(len(rows))  # one row per group
            meta.drop(columns="source_url").to_parquet(
                tmp / product / "metadata.parquet", index=False, write_page_checksum=True
            )
            stats[f"{product}_bytes_fetched"] = fetched
    return stats


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard link (no second copy of hundreds of GB) where the file system allows it."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def geobench_task(benchmark: str, task: str, out: Path, cache: Path, params: dict) -> Path:
    """Download and unzip one GEO-Bench task (Hugging Face recursix/geo-bench-1.0)."""
    files = params["geobench"].get("files", {}).get(task) or [f"{benchmark}/{task}.zip"]
    checksums = params["geobench"].get("checksums", {})
    base = params["geobench"]["base_url"].rstrip("/") + "/"
    if len(files) != 1:
        raise ConfigError(f"downloads.geobench.files.{task}: expected one archive")
    entry = {"url": base + files[0], **checksums.get(files[0], {})}
    archive = _fetch(entry, cache / files[0], params)
    return extract(archive, out, strip_single_dir=task)


def benv2(out: Path, cache: Path, params: dict[str, Any]) -> Path:
    """Download reBEN's archives and metadata into one folder (the GeoTIFF layout)."""
    entries = params["benv2"]["files"]
    if not entries:
        raise ConfigError("downloads.benv2.files is empty")
    with atomic_path(out, is_dir=True) as tmp:
        for entry in entries:
            name = Path(urllib.parse.urlparse(entry["url"]).path).name
            path = _fetch(entry, cache / name, params)
            if name.endswith((".zip", ".tar", ".tar.gz", ".tar.zst")):
                # unpacks into a sibling, then moves its top-level folders in place
                unpacked = extract(path, cache / f"{name}.d")
                for child in unpacked.iterdir():
                    child.rename(tmp / child.name)
                unpacked.rmdir()
            else:
                shutil.copyfile(path, tmp / name)
        if not (tmp / "metadata.parquet").exists():
            raise InputError(entries[0]["url"], "the downloads gave no metadata.parquet")
    return out


def raster(name: str, out: Path, cache: Path, params: dict[str, Any]) -> Path:
    """One configured raster: the file itself, or the unpacked folder of an archive."""
    rasters = params["rasters"]
    if name not in rasters:
        raise ConfigError(f"downloads.rasters has no entry {name!r}")
    entry = rasters[name]
    filename = Path(urllib.parse.urlparse(entry["url"]).path).name
    path = _fetch(entry, cache / filename, params)
    if entry.get("extract"):
        return extract(path, out)
    with atomic_path(out) as tmp:
        shutil.copyfile(path, tmp)
    return out
