"""Run reconcile jobs: open both sides, stream them concurrently in key order, merge-join, tally, report."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from config.model import ReconcileJob
from proxy.reconcile.errors import ReconcileError
from proxy.reconcile.merge import merge_join, prefetch
from proxy.reconcile.progress import Progress
from proxy.reconcile.result import JobResult, ReconcileReport, ResultSink, Status
from proxy.reconcile.sources import MongoSource, PostgresSource
from proxy.reconcile.tally import Tally

PREFETCH_BATCHES = 4  # per side: how far each reader may run ahead of the join
STOP_GRACE = 2.0  # seconds the join may take to notice Ctrl-C before its reads are cancelled


def check_job(job: ReconcileJob, since: datetime | None) -> None:
    """What the config loader cannot know: options of this run that the job does not support."""
    if since is None:
        return
    missing = [
        side
        for side, name in (("mongo", job.mongo.updated_at), ("postgres", job.postgres.updated_at))
        if not name
    ]
    if missing:
        wanted = " and ".join(f"{side}.updated_at" for side in missing)
        raise ReconcileError(
            f"job {job.name!r}: --since needs {wanted} (the field holding each row's last change)"
        )


async def _open(mongo: MongoSource, postgres: PostgresSource) -> None:
    """Open both sides at once; when both fail, say so for both."""
    outcomes = await asyncio.gather(mongo.open(), postgres.open(), return_exceptions=True)
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    for failure in failures:
        if not isinstance(failure, ReconcileError):
            raise failure
    if failures:
        raise ReconcileError("\n".join(str(failure) for failure in failures))


async def reconcile_job(
    job: ReconcileJob,
    since: datetime | None = None,
    stop: asyncio.Event | None = None,
    progress: Progress | None = None,
) -> JobResult:
    """Reconcile one job; never raises for the stores' faults: they become a FAILED result."""
    stop = stop or asyncio.Event()
    tally = Tally(job)
    mongo, postgres = MongoSource(job, since), PostgresSource(job, since)
    started, started_at = time.monotonic(), datetime.now(UTC).isoformat(timespec="seconds")

    def finish(status: Status | None, error: str = "") -> JobResult:
        return tally.result(
            status,
            source=mongo.label,
            target=postgres.label,
            source_read=tally.source_read,
            target_read=tally.target_read,
            since=since.isoformat() if since else "",
            started_at=started_at,
            elapsed=time.monotonic() - started,
            error=error,
        )

    total = [0]

    async def count() -> None:
        total[0] = await mongo.expected()

    tasks: list[asyncio.Task[Any]] = []
    try:
        check_job(job, since)
        await _open(mongo, postgres)
        if progress is not None:
            progress.begin(job.name, mongo.label, postgres.label)
            tasks.append(asyncio.create_task(count()))
            tasks.append(
                asyncio.create_task(progress.follow(job.name, lambda: tally.checked, lambda: total[0]))
            )
        # A server-side scan: run it while the join reads, not after it.
        unkeyed = asyncio.create_task(mongo.count_unkeyed())
        tasks.append(unkeyed)
        await _join(job, mongo, postgres, tally, stop)
        if stop.is_set():
            return finish(Status.INTERRUPTED)
        tally.add_unkeyed(await unkeyed)
        return finish(None)
    except ReconcileError as exc:
        return finish(Status.FAILED, str(exc))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if progress is not None and tasks:
            progress.finish(job.name, tally.checked, total[0], time.monotonic() - started)
        await asyncio.gather(mongo.close(), postgres.close(), return_exceptions=True)


async def _join(
    job: ReconcileJob, mongo: MongoSource, postgres: PostgresSource, tally: Tally, stop: asyncio.Event
) -> None:
    """The merge-join, cancelled if it has not noticed a Ctrl-C within STOP_GRACE (a read may be blocked)."""
    join = asyncio.create_task(
        merge_join(
            (mongo.label, prefetch(mongo.batches(), PREFETCH_BATCHES)),
            (postgres.label, prefetch(postgres.batches(), PREFETCH_BATCHES)),
            tally,
            stop.is_set,
        ),
        name=f"reconcile-{job.name}",
    )
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({join, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not join.done():
            await asyncio.wait({join}, timeout=STOP_GRACE)
        if not join.done():
            join.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await join
            return
        join.result()  # re-raises the join's ReconcileError
    finally:
        stopping.cancel()
        if not join.done():
            join.cancel()


async def reconcile(
    jobs: Sequence[ReconcileJob],
    since: datetime | None = None,
    stop: asyncio.Event | None = None,
    progress: Progress | None = None,
    sink: ResultSink | None = None,
) -> ReconcileReport:
    """Every job in order; after a Ctrl-C the remaining jobs are not started."""
    stop = stop or asyncio.Event()
    results: list[JobResult] = []
    for job in jobs:
        if stop.is_set():
            break
        result = await reconcile_job(job, since, stop, progress)
        if sink is not None:  # an interrupted job too: the report shows how far the last run got
            await sink.save_reconciliation(result)
        results.append(result)
    return ReconcileReport(tuple(results))
