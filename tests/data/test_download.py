"""Downloads against a loopback HTTP server: resume after a dropped connection, checksum
errors leave no file, range reads fetch only the needed parquet row groups, archives."""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from csmoe.data import download, download_sets
from csmoe.errors import InputError

FAST = {"retries": 3, "backoff_s": 0.01}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves files from ``root`` with Range support; ``drops`` maps a path to a byte count
    after which the first response on it is cut (once), to simulate a dropped connection."""

    root: Path
    drops: dict[str, int]
    log: list[tuple[str, str | None]]

    def log_message(self, *args):  # keep the test output clean
        pass

    def _target(self):
        path = self.root / self.path.lstrip("/")
        return path if path.is_file() else None

    def do_HEAD(self):
        path = self._target()
        if path is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()

    def do_GET(self):
        self.log.append((self.path, self.headers.get("Range")))
        path = self._target()
        if path is None:
            self.send_error(404)
            return
        data = path.read_bytes()
        start, end = 0, len(data) - 1
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if match:
            start = int(match[1])
            end = int(match[2]) if match[2] else end
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start : end + 1]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = self.drops.pop(self.path, None)
        self.wfile.write(body if cut is None else body[:cut])
        if cut is not None:
            self.wfile.flush()
            self.close_connection = True


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = type("H", (_Handler,), {"root": root, "drops": {}, "log": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_resume_after_dropped_connection(server, tmp_path):
    root, url, handler = server
    payload = np.random.default_rng(0).bytes(3_000_000)
    (root / "big.bin").write_bytes(payload)
    handler.drops["/big.bin"] = 1_000_000
    dest = tmp_path / "out" / "big.bin"
    download.fetch(f"{url}/big.bin", dest, sha256=hashlib.sha256(payload).hexdigest(), **FAST)
    assert dest.read_bytes() == payload
    assert not dest.with_name("big.bin.part").exists()
    # the second request resumed where the first was cut instead of starting over
    assert [r for _, r in handler.log] == [None, "bytes=1000000-"]
    # present and verified: no new request
    download.fetch(f"{url}/big.bin", dest, sha256=hashlib.sha256(payload).hexdigest(), **FAST)
    assert len(handler.log) == 2


def test_stale_part_larger_than_remote_restarts(server, tmp_path):
    root, url, handler = server
    (root / "f.bin").write_bytes(b"0123456789")
    dest = tmp_path / "f.bin"
    dest.with_name("f.bin.part").write_bytes(b"x" * 20)  # left by a different, larger file
    download.fetch(f"{url}/f.bin", dest, **FAST)
    assert dest.read_bytes() == b"0123456789"
    assert [r for _, r in handler.log] == ["bytes=20-", None]


def test_corrupt_file_leaves_nothing(server, tmp_path):
    root, url, _ = server
    (root / "f.bin").write_bytes(b"corrupted content")
    dest = tmp_path / "f.bin"
    with pytest.raises(download.DownloadError, match="md5 mismatch"):
        download.fetch(f"{url}/f.bin", dest, md5=hashlib.md5(b"good").hexdigest(), **FAST)
    assert list(tmp_path.glob("f.bin*")) == []


def test_missing_file_fails_fast(server, tmp_path):
    _, url, handler = server
    with pytest.raises(download.DownloadError, match="HTTP 404"):
        download.fetch(f"{url}/nope.bin", tmp_path / "nope.bin", **FAST)
    assert len(handler.log) == 1  # a client error is not retried


def test_retries_are_bounded(tmp_path):
    # nothing listens on this port: every attempt fails, the loop stops by itself
    with pytest.raises(download.DownloadError, match="failed after 4 attempts"):
        download.fetch("http://127.0.0.1:9/x", tmp_path / "x", **FAST)


def _majortom_fixture(root: Path, cells: list[str], rows_per_file: int = 4):
    """Two products, each two parquet files with one row group per row (as Major TOM)."""
    rng = np.random.default_rng(0)
    for product in download_sets.PRODUCTS:
        meta = []
        for k in range(0, len(cells), rows_per_file):
            chunk = cells[k : k + rows_per_file]
            images = pa.table({
                "grid_cell": chunk,
                # incompressible like imagery, and large next to the 64 KiB that pyarrow
                # reads speculatively at the end of a file for its footer
                "B04": [rng.bytes(200_000) for _ in chunk],
            })  # fmt: skip
            name = f"images/part_{k // rows_per_file:05d}.parquet"
            (root / product / "images").mkdir(parents=True, exist_ok=True)
            pq.write_table(images, root / product / name, row_group_size=1)
            when = pd.Timestamp("2021-06-01")
            meta += [dict(grid_cell=c, timestamp=when, cloud_cover=0.0, parquet_url=name,
                          parquet_row=i) for i, c in enumerate(chunk)]  # fmt: skip
        pd.DataFrame(meta).to_parquet(root / product / "metadata.parquet")


def test_majortom_fetches_only_selected_rows(server, tmp_path):
    root, url, _ = server
    cells = [f"{i}U_{i}R" for i in range(8)]
    _majortom_fixture(root, cells)
    params = {**FAST, "majortom": {p: {"metadata_url": f"{url}/{p}/metadata.parquet"}
                                   for p in download_sets.PRODUCTS}}  # fmt: skip
    selected = pd.DataFrame({"grid_cell": ["1U_1R", "6U_6R", "99U_99R"]})
    out, cache = tmp_path / "majortom" / "mtom_mu", tmp_path / "cache"
    metadata = {p: cache / p / "metadata.parquet" for p in download_sets.PRODUCTS}
    for product, path in metadata.items():
        download_sets.majortom_metadata(product, path, params)
    stats = download_sets.majortom(selected, metadata, out, cache, params)
    assert stats["cells_found"] == 2
    for product in download_sets.PRODUCTS:
        meta = pd.read_parquet(out / product / "metadata.parquet")
        assert sorted(meta.grid_cell) == ["1U_1R", "6U_6R"]
        for _, row in meta.iterrows():  # parquet_row is the row group, as in Major TOM
            part = pq.ParquetFile(out / product / row.parquet_url)
            group = part.read_row_group(row.parquet_row)
            assert group.num_rows == 1 and group["grid_cell"][0].as_py() == row.grid_cell
        source_bytes = sum(p.stat().st_size for p in (root / product / "images").iterdir())
        assert 0 < stats[f"{product}_bytes_fetched"] < source_bytes / 2
    # a rerun reuses the fetched fragments: nothing is fetched again
    again = download_sets.majortom(selected, metadata, out, cache, params)
    assert again["S2L2A_bytes_fetched"] == 0


def test_range_rows_out_of_bounds(server):
    root, url, _ = server
    _majortom_fixture(root, ["0U_0R"])
    with pytest.raises(InputError, match=r"part_00000\.parquet: parquet_row 5 outside"):
        download.read_row_groups(f"{url}/S2L2A/images/part_00000.parquet", [5], **FAST)


def test_geobench_zip_unpacked_atomically(server, tmp_path):
    root, url, _ = server
    zpath = root / "classification_v1.0" / "m-eurosat.zip"
    zpath.parent.mkdir()
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("m-eurosat/default_partition.json", "{}")
        zf.writestr("m-eurosat/id_0.hdf5", b"x")
    params = {**FAST, "geobench": {"base_url": url}}
    out = tmp_path / "geobench" / "classification_v1.0" / "m-eurosat"
    download_sets.geobench_task("classification_v1.0", "m-eurosat", out, tmp_path / "c", params)
    assert sorted(p.name for p in out.iterdir()) == ["default_partition.json", "id_0.hdf5"]


def test_zip_slip_refused(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../escape.txt", "x")
    with pytest.raises(InputError, match="outside the target"):
        download.extract(evil, tmp_path / "dest")
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "dest").exists()


def test_majortom_download_reads_like_the_source(server, tmp_path):
    """Rows fetched from a Major TOM-format archive are what the data stage's reader decodes
    from the archive itself (the mini world's writer makes the served archive)."""
    from csmoe.data.majortom import decode_tile, iter_raw_tiles, pair_tiles
    from csmoe.data.majortom_world import WorldSpec, write_world

    root, url, _ = server
    rows = [(f"{i}U_{i}R", i, i, 40.0 + i, 10.0 + i, "Cfb", 10 * (1 + i % 5)) for i in range(6)]
    cells = pd.DataFrame(rows, columns=["grid_cell", "grid_row_u", "grid_col_r", "centre_lat",
                                        "centre_lon", "climate", "landcover"])  # fmt: skip
    spec = WorldSpec(tile_px=32, rows_per_part=4, all_invalid_tiles=0, s2_nodata_wedge=0.0,
                     s1_border_nan=0.0, seed=0)  # fmt: skip
    write_world(cells, root, spec)
    params = {**FAST, "majortom": {p: {"metadata_url": f"{url}/{p}/metadata.parquet"}
                                   for p in download_sets.PRODUCTS}}  # fmt: skip
    metadata = {p: root / p / "metadata.parquet" for p in download_sets.PRODUCTS}
    selected = cells.iloc[[1, 4]]
    out = tmp_path / "majortom" / "mtom_mu"
    download_sets.majortom(selected, metadata, out, tmp_path / "cache", params)

    def decoded(folder):
        pairs, unpaired = pair_tiles(folder)
        return {t.grid_cell: decode_tile(t) for t in iter_raw_tiles(pairs)}, unpaired

    got, unpaired = decoded(out)
    want, _ = decoded(root)
    assert sorted(got) == sorted(selected.grid_cell) and unpaired == {"unpaired": 0}
    for cell, tile in got.items():
        np.testing.assert_array_equal(tile.s2, want[cell].s2)
        np.testing.assert_array_equal(tile.s1, want[cell].s1)
