"""The cutover report lists the last reconciliation of each job, in md, json and self-contained html."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from proxy.cli import main
from proxy.store import open_store
from proxy.store.reconcile_runs import ReconcileRun

T0 = 1_742_034_120.0  # 2025-03-15T10:22:00Z


def run(
    job: str, finished: float, verdict: str, checked: int, missing: int, extra: int, different: int
) -> ReconcileRun:
    return ReconcileRun(
        f"{job}-{finished}",
        job,
        finished - 60,
        finished,
        "ci-runner",
        verdict,
        checked,
        missing,
        extra,
        different,
    )


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A store holding two runs of `missions` (the newest is equal) and one of `users` (an error)."""
    url = f"sqlite:///{tmp_path / 'shadow.db'}"

    async def seed() -> None:
        store = open_store(url)
        try:
            await store.migrate()
            await store.save_reconciliation(run("missions", T0 + 3600, "equal", 1200, 0, 0, 0))
            await store.save_reconciliation(run("missions", T0, "different", 1200, 1, 2, 3))
            await store.save_reconciliation(run("users", T0 + 60, "error", 0, 0, 0, 0))
        finally:
            await store.close()

    asyncio.run(seed())
    return url


def report(url: str, output: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["report", "--store", url, "--format", output]) == 0
    return capsys.readouterr().out


def test_json_lists_the_newest_run_of_each_job(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(report(store_url, "json", capsys))
    assert document["reconciliations"] == [
        {
            "job": "missions",
            "started_at": "2025-03-15T11:21:00Z",
            "finished_at": "2025-03-15T11:22:00Z",
            "instance_id": "ci-runner",
            "verdict": "equal",
            "checked": 1200,
            "missing": 0,
            "extra": 0,
            "different": 0,
        },
        {
            "job": "users",
            "started_at": "2025-03-15T10:22:00Z",
            "finished_at": "2025-03-15T10:23:00Z",
            "instance_id": "ci-runner",
            "verdict": "error",
            "checked": 0,
            "missing": 0,
            "extra": 0,
            "different": 0,
        },
    ]
    assert {"routes", "audit", "all_ready", "judged"} <= set(document)  # existing fields kept


def test_markdown_has_one_row_per_job(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = report(store_url, "md", capsys)
    section = text[text.index("## Reconciliations (last run per job)") :]
    assert section.splitlines()[4:6] == [
        "| missions | 2025-03-15T11:22:00Z | equal | 1200 | 0 | 0 | 0 |",
        "| users | 2025-03-15T10:23:00Z | error | 0 | 0 | 0 | 0 |",
    ]


def test_html_shows_them_in_the_self_contained_page(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    page = report(store_url, "html", capsys)
    table = page[page.index('<table class="reconciliations">') :]
    table = table[: table.index("</table>")]
    assert table.index("missions") < table.index("users")
    assert "2025-03-15T11:22:00Z" in table and '"reconcile-error"' in table and "1,200" in table
    assert "<script" not in page and 'src="http' not in page and 'href="http' not in page


def test_a_store_without_runs_has_an_empty_list_and_no_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"

    async def migrate() -> None:
        store = open_store(url)
        await store.migrate()
        await store.close()

    asyncio.run(migrate())
    assert json.loads(report(url, "json", capsys))["reconciliations"] == []
    assert "Reconciliations" not in report(url, "md", capsys) + report(url, "html", capsys)
