"""What each real data set downloads: only the selected Major TOM rows (range reads, reused on
a rerun, decoded like the source), GEO-Bench zips unpacked atomically."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from download_fixtures import FAST, majortom_archive

from csmoe.downloads import sets


def test_majortom_fetches_only_selected_rows(server, tmp_path):
    root, url, _ = server
    cells = [f"{i}U_{i}R" for i in range(8)]
    majortom_archive(root, cells)
    params = {**FAST, "majortom": {p: {"metadata_url": f"{url}/{p}/metadata.parquet"}
                                   for p in sets.PRODUCTS}}  # fmt: skip
    selected = pd.DataFrame({"grid_cell": ["1U_1R", "6U_6R", "99U_99R"]})
    out, cache = tmp_path / "majortom" / "mtom_mu", tmp_path / "cache"
    metadata = {p: cache / p / "metadata.parquet" for p in sets.PRODUCTS}
    for product, path in metadata.items():
        sets.majortom_metadata(product, path, params)
    stats = sets.majortom(selected, metadata, out, cache, params)
    assert stats["cells_found"] == 2
    for product in sets.PRODUCTS:
        meta = pd.read_parquet(out / product / "metadata.parquet")
        assert sorted(meta.grid_cell) == ["1U_1R", "6U_6R"]
        for _, row in meta.iterrows():  # parquet_row is the row group, as in Major TOM
            part = pq.ParquetFile(out / product / row.parquet_url)
            group = part.read_row_group(row.parquet_row)
            assert group.num_rows == 1 and group["grid_cell"][0].as_py() == row.grid_cell
        source_bytes = sum(p.stat().st_size for p in (root / product / "images").iterdir())
        assert 0 < stats[f"{product}_bytes_fetched"] < source_bytes / 2
    # a rerun reuses the fetched fragments: nothing is fetched again
    again = sets.majortom(selected, metadata, out, cache, params)
    assert again["S2L2A_bytes_fetched"] == 0


def test_geobench_zip_unpacked_atomically(server, tmp_path):
    root, url, _ = server
    zpath = root / "classification_v1.0" / "m-eurosat.zip"
    zpath.parent.mkdir()
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("m-eurosat/default_partition.json", "{}")
        zf.writestr("m-eurosat/id_0.hdf5", b"x")
    params = {**FAST, "geobench": {"base_url": url}}
    out = tmp_path / "geobench" / "classification_v1.0" / "m-eurosat"
    sets.geobench_task("classification_v1.0", "m-eurosat", out, tmp_path / "c", params)
    assert sorted(p.name for p in out.iterdir()) == ["default_partition.json", "id_0.hdf5"]


def test_majortom_download_reads_like_the_source(server, tmp_path):
    """Rows fetched from a Major TOM-format archive are what the data stage's reader decodes
    from the archive itself (the mini world's writer makes the served archive)."""
    from csmoe.data.majortom import decode_tile, iter_raw_tiles, pair_tiles
    from csmoe.world.majortom_world import WorldSpec, write_world

    root, url, _ = server
    rows = [(f"{i}U_{i}R", i, i, 40.0 + i, 10.0 + i, "Cfb", 10 * (1 + i % 5)) for i in range(6)]
    cells = pd.DataFrame(rows, columns=["grid_cell", "grid_row_u", "grid_col_r", "centre_lat",
                                        "centre_lon", "climate", "landcover"])  # fmt: skip
    spec = WorldSpec(tile_px=32, rows_per_part=4, all_invalid_tiles=0, s2_nodata_wedge=0.0,
                     s1_border_nan=0.0, seed=0)  # fmt: skip
    write_world(cells, root, spec)
    params = {**FAST, "majortom": {p: {"metadata_url": f"{url}/{p}/metadata.parquet"}
                                   for p in sets.PRODUCTS}}  # fmt: skip
    metadata = {p: root / p / "metadata.parquet" for p in sets.PRODUCTS}
    selected = cells.iloc[[1, 4]]
    out = tmp_path / "majortom" / "mtom_mu"
    sets.majortom(selected, metadata, out, tmp_path / "cache", params)

    def decoded(folder):
        pairs, unpaired = pair_tiles(folder)
        return {t.grid_cell: decode_tile(t) for t in iter_raw_tiles(pairs)}, unpaired

    got, unpaired = decoded(out)
    want, _ = decoded(root)
    assert sorted(got) == sorted(selected.grid_cell) and unpaired == {"unpaired": 0}
    for cell, tile in got.items():
        np.testing.assert_array_equal(tile.s2, want[cell].s2)
        np.testing.assert_array_equal(tile.s1, want[cell].s1)
