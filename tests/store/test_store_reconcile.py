"""The shared store suite, reconciliation runs: kept, newest per job, schema, never purged.

Every test runs against SQLite and a real PostgreSQL (the `store` fixture), like tests/store/test_store.py.
"""

from __future__ import annotations

import pytest
from store_support import T0

from proxy.store import Store
from proxy.store.reconcile_runs import ReconcileRun


def run(job: str, finished: float, verdict: str = "equal", **counts: int) -> ReconcileRun:
    return ReconcileRun(
        id=f"{job}-{finished}",
        job=job,
        started_at=finished - 30,
        finished_at=finished,
        instance_id="ci-runner",
        verdict=verdict,
        checked=counts.get("checked", 100),
        missing=counts.get("missing", 0),
        extra=counts.get("extra", 0),
        different=counts.get("different", 0),
        report=f'{{"job": "{job}"}}',
    )


async def test_an_empty_store_has_no_reconciliation(store: Store) -> None:
    assert await store.last_reconciliations() == []


async def test_a_saved_run_reads_back_whole(store: Store) -> None:
    saved = run("missions", T0, "different", checked=1200, missing=1, extra=2, different=3)
    await store.save_reconciliation(saved)
    assert await store.last_reconciliations() == [saved]


async def test_the_newest_run_of_each_job_wins_whatever_the_save_order(store: Store) -> None:
    newest_missions = run("missions", T0 + 600, "interrupted", checked=40)
    for saved in (
        run("users", T0 + 60, "error", checked=0),
        newest_missions,
        run("missions", T0, "different", different=5),
        run("missions", T0 + 300, "equal"),
    ):
        await store.save_reconciliation(saved)
    last = await store.last_reconciliations()
    assert [(r.job, r.verdict, r.finished_at) for r in last] == [
        ("missions", "interrupted", T0 + 600),
        ("users", "error", T0 + 60),
    ]
    assert last[0] == newest_missions
    assert len((await store.dump())["shadow_reconcile_runs"]) == 4  # every run is kept


async def test_runs_survive_retention(store: Store) -> None:
    await store.save_reconciliation(run("missions", T0))
    await store.purge(T0 + 86400 * 365)
    assert [r.job for r in await store.last_reconciliations()] == ["missions"]


async def test_an_unknown_verdict_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="verdict 'failed'"):
        await store.save_reconciliation(run("missions", T0, "failed"))
    assert await store.last_reconciliations() == []
