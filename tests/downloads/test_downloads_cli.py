"""``csmoe download ...`` against a loopback server: files land verified, a bad checksum is a
one-line error, set downloads log an MLflow run."""

from __future__ import annotations

import hashlib
import json
import zipfile

from download_fixtures import FAST

from csmoe.cli import main


def test_fetch_verifies_and_a_bad_checksum_is_one_line(server, tmp_path, capsys):
    root, url, _ = server
    (root / "f.bin").write_bytes(b"payload")
    dest = tmp_path / "f.bin"
    good = hashlib.sha256(b"payload").hexdigest()
    assert main(["download", "fetch", f"{url}/f.bin", str(dest), "--sha256", good]) == 0
    assert dest.read_bytes() == b"payload"
    bad = tmp_path / "g.bin"
    code = main(["download", "fetch", f"{url}/f.bin", str(bad), "--md5", "0" * 32,
                 "--retries", "0"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not bad.exists()
    assert len(err) == 1 and "md5 mismatch" in err[0]


def test_geobench_task_logs_a_run(server, tmp_path):
    root, url, _ = server
    (root / "classification_v1.0").mkdir()
    with zipfile.ZipFile(root / "classification_v1.0" / "m-eurosat.zip", "w") as zf:
        zf.writestr("m-eurosat/default_partition.json", "{}")
    params = {**FAST, "cache": str(tmp_path / "cache"), "geobench": {"base_url": url}}
    out = tmp_path / "geobench" / "classification_v1.0" / "m-eurosat"
    assert main(["download", "geobench", "--params", json.dumps(params), "--task", "m-eurosat",
                 "--out", str(out)]) == 0  # fmt: skip
    assert (out / "default_partition.json").exists()

    from mlflow.tracking import MlflowClient

    from csmoe.tracking import store_uri

    client = MlflowClient(store_uri())
    runs = client.search_runs([client.get_experiment_by_name("csmoe/data").experiment_id])
    assert [r.info.run_name for r in runs] == ["download-geobench-m-eurosat"]
    assert runs[0].data.tags["task"] == "m-eurosat"
