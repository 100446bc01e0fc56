"""Ctrl-C stops a run cleanly: the report covers what was checked, and the exit code says it is partial."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from reconcile_support import Stores

pytestmark = [pytest.mark.postgres, pytest.mark.mongo]

DOCUMENTS = 4000
JOB = """
[[reconcile]]
name = "slow"
batch_size = 1
mongo = {mongo} }
postgres = { dsn = "{dsn}", table = "{table}" }
key = { source = "_id", target = "id" }
fields = ["v"]
"""


def test_sigint_prints_what_was_checked_and_exits_130(stores: Stores, name: str, tmp_path: Path) -> None:
    keys = [f"k{n:05d}" for n in range(DOCUMENTS)]
    stores.load_mongo(name, [{"_id": key, "v": key} for key in keys])
    stores.load_postgres(name, "id text PRIMARY KEY, v text", [[key, key] for key in keys])
    config = stores.config(tmp_path / "job.toml", name, JOB)
    command = [sys.executable, "-m", "proxy.cli", "reconcile", "--config", str(config), "--format", "json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    started = process.stderr.readline()  # the job announces itself once both sides are open

    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)

    assert "slow: reading MongoDB" in started
    assert process.returncode == 130, err
    assert "stopping; reporting what was checked" in err
    job = json.loads(out)["jobs"][0]
    checked = job["totals"]["matched"]
    assert job["status"] == "interrupted"
    assert 0 <= checked < DOCUMENTS
    assert job["totals"]["missing"] == job["totals"]["extra"] == job["totals"]["different"] == 0
    assert job["last_key"] in (None, keys[checked - 1])
