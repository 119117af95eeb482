"""A loopback HTTP server for the download tests: serves files with Range support and can
cut a response short, to simulate a dropped connection."""

from __future__ import annotations

import http.server
import re
import threading
from pathlib import Path

import pytest


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
