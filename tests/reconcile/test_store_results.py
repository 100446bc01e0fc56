"""`reconcile --store URL`: each job's result kept in the divergence store, shown by the cutover report."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from reconcile_support import Stores

from proxy.cli import main
from proxy.reconcile.result import JobResult, Outcome, Status
from proxy.reconcile.store_sink import StoreSink, run_of
from proxy.store import open_store
from proxy.store.reconcile_runs import ReconcileRun

JOB = """
[[reconcile]]
name = "{name}"
batch_size = 2
mongo = {mongo} }
postgres = { dsn = "{dsn}", table = "{table}" }
key = { source = "_id", target = "id" }
fields = ["title"]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _rows(count: int, titles: dict[int, str]) -> list[list[str]]:
    return [[f"m{n}", titles.get(n, f"Mission {n}")] for n in range(count)]


def load(stores: Stores, name: str, rows: list[list[str]]) -> None:
    """Five missions in MongoDB; PostgreSQL holds `rows`."""
    stores.load_mongo(name, [{"_id": f"m{n}", "title": f"Mission {n}"} for n in range(5)])
    stores.load_postgres(name, "id text PRIMARY KEY, title text", rows)


def reconcile(config: Path, store: str, *extra: str) -> int:
    return main(["reconcile", "--config", str(config), "--format", "json", "--store", store, *extra])


def report_json(store: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["report", "--store", store, "--format", "json"]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def last_runs(store: str) -> list[ReconcileRun]:
    async def read() -> list[ReconcileRun]:
        opened = open_store(store, create=False)
        try:
            return await opened.last_reconciliations()
        finally:
            await opened.close()

    return asyncio.run(read())


@pytest.mark.postgres
@pytest.mark.mongo
def test_the_cutover_report_shows_the_last_run_of_the_job(
    stores: Stores, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'shadow.db'}"
    config = stores.config(tmp_path / "job.toml", name, JOB.replace("{name}", name))
    # m1 differs, m4 is missing in PostgreSQL, x9 is extra there.
    load(stores, name, [*_rows(4, {1: "Mission one"}), ["x9", "?"]])

    assert reconcile(config, store) == 1
    printed = json.loads(capsys.readouterr().out)
    [shown] = report_json(store, capsys)["reconciliations"]

    assert printed["jobs"][0]["totals"]["different"] == 1  # the printed report is whole
    assert {k: shown[k] for k in ("job", "verdict", "checked", "missing", "extra", "different")} == {
        "job": name,
        "verdict": "different",
        "checked": 5,
        "missing": 1,
        "extra": 1,
        "different": 1,
    }
    assert shown["started_at"] <= shown["finished_at"] and shown["finished_at"].endswith("Z")

    load(stores, name, _rows(5, {}))
    assert reconcile(config, store) == 0
    [newest] = report_json(store, capsys)["reconciliations"]
    assert (newest["verdict"], newest["checked"], newest["missing"], newest["different"]) == (
        "equal",
        5,
        0,
        0,
    )


@pytest.mark.postgres
@pytest.mark.mongo
def test_an_unreachable_store_exits_2_after_the_whole_report(
    stores: Stores, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load(stores, name, _rows(5, {}))
    config = stores.config(tmp_path / "job.toml", name, JOB.replace("{name}", name))
    store = f"postgresql://postgres@127.0.0.1:{free_port()}/test"

    assert reconcile(config, store) == 2

    out, err = capsys.readouterr()
    assert json.loads(out)["jobs"][0]["status"] == "equal"
    assert f"reconcile: --store: results not saved ({name}): {store}" in err


def test_a_store_url_no_store_understands_exits_2_before_any_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "job.toml"
    job = JOB.replace("{name}", "j").replace("{table}", "t").replace("{dsn}", "postgresql://x@127.0.0.1:1/x")
    config.write_text(
        job.replace("{mongo}", '{ uri = "mongodb://127.0.0.1:1", database = "d", collection = "c"')
    )

    assert reconcile(config, "mysql://db/shadow") == 2

    out, err = capsys.readouterr()
    assert out == "" and "--store: unknown store URL 'mysql://db/shadow'" in err


@pytest.mark.postgres
@pytest.mark.mongo
def test_an_interrupted_job_is_saved_as_interrupted(stores: Stores, name: str, tmp_path: Path) -> None:
    keys = [f"k{n:05d}" for n in range(4000)]
    stores.load_mongo(name, [{"_id": key, "title": key} for key in keys])
    stores.load_postgres(name, "id text PRIMARY KEY, title text", [[key, key] for key in keys])
    config = stores.config(tmp_path / "job.toml", name, JOB.replace("{name}", name).replace("= 2", "= 1"))
    store = f"sqlite:///{tmp_path / 'shadow.db'}"
    command = [sys.executable, "-m", "proxy.cli", "reconcile", "--config", str(config), "--store", store]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    process.stderr.readline()  # the job announces itself once both sides are open

    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)

    assert process.returncode == 130, err
    [run] = last_runs(store)
    assert (run.job, run.verdict, run.missing, run.extra, run.different) == (name, "interrupted", 0, 0, 0)
    assert 0 <= run.checked < len(keys)
    assert json.loads(run.report)["status"] == "interrupted"


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (Status.EQUAL, "equal"),
        (Status.DIFFERENT, "different"),
        (Status.FAILED, "error"),
        (Status.INTERRUPTED, "interrupted"),
    ],
)
def test_each_status_is_stored_as_its_verdict(status: Status, verdict: str) -> None:
    result = JobResult(
        "missions",
        status,
        matched=7,
        counts={Outcome.MISSING: 1, Outcome.EXTRA: 2, Outcome.DIFFERENT: 3, Outcome.UNKEYED: 4},
        started_at="2025-03-15T10:22:00+00:00",
        elapsed=2.5,
    )
    run = run_of(result, "ci", 1742034122.5, "run-1")
    assert (run.verdict, run.checked, run.missing, run.extra, run.different) == (verdict, 11, 1, 2, 3)
    assert (run.started_at, run.finished_at) == (1742034120.0, 1742034122.5)
    assert json.loads(run.report)["status"] == status.value


async def test_a_sink_stops_trying_after_the_first_store_failure(tmp_path: Path) -> None:
    sink = StoreSink(f"sqlite:///{tmp_path / 'absent' / 'shadow.db'}")  # no such directory
    for job in ("a", "b"):
        await sink.save_reconciliation(JobResult(job, Status.EQUAL, started_at="2025-03-15T10:22:00+00:00"))
    assert sink.unsaved == ["a", "b"]
    assert sink.failure().startswith("reconcile: --store: results not saved (a, b): sqlite:///")
