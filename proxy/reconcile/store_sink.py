"""`reconcile --store URL`: each finished job goes to the divergence store, for the cutover report.

A store fault never loses the run: `StoreSink` keeps what went wrong, the command prints its report first
and then says which jobs were not saved (exit 2). After one failure the later jobs are not tried: the store
is down or wrong, and each attempt could wait for a connect timeout.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from dataclasses import dataclass, field

import orjson

from proxy.reconcile.render import job_json
from proxy.reconcile.result import JobResult, Outcome, Status
from proxy.store import StoreError, open_store
from proxy.store.reconcile_runs import ReconcileRun

VERDICTS = {
    Status.EQUAL: "equal",
    Status.DIFFERENT: "different",
    Status.FAILED: "error",
    Status.INTERRUPTED: "interrupted",
}


def check_store_url(url: str) -> None:
    """Raise StoreError now for a URL no store understands, before any job runs (no I/O)."""
    asyncio.run(open_store(url).close())


def run_of(result: JobResult, instance_id: str, finished_at: float, run_id: str = "") -> ReconcileRun:
    """The stored form of one job's result: verdict, totals as numbers, and its JSON report.

    Times come from the finish and the elapsed time: `started_at` is shown to the second only, and two
    runs within one second must still order by when they ended.
    """
    checked = result.matched + result.count(Outcome.DIFFERENT) + result.count(Outcome.MISSING)
    return ReconcileRun(
        id=run_id or secrets.token_hex(8),
        job=result.job,
        started_at=finished_at - result.elapsed,
        finished_at=finished_at,
        instance_id=instance_id,
        verdict=VERDICTS[result.status],
        checked=checked,
        missing=result.count(Outcome.MISSING),
        extra=result.count(Outcome.EXTRA),
        different=result.count(Outcome.DIFFERENT),
        report=orjson.dumps(job_json(result)).decode(),
    )


@dataclass
class StoreSink:
    """A ResultSink that opens the store, migrates it, saves the job and closes it, once per job."""

    url: str
    instance_id: str = field(default_factory=socket.gethostname)
    error: str = ""  # the first store failure; empty while every save succeeded
    unsaved: list[str] = field(default_factory=list)  # jobs not saved, in run order

    async def save_reconciliation(self, result: JobResult) -> None:
        if self.error:
            self.unsaved.append(result.job)
            return
        try:
            await self._save(run_of(result, self.instance_id, time.time()))
        except StoreError as exc:
            self.error = str(exc)
            self.unsaved.append(result.job)

    async def _save(self, run: ReconcileRun) -> None:
        store = open_store(self.url)
        try:
            await store.migrate()
            await store.save_reconciliation(run)
        finally:
            await store.close()

    def failure(self) -> str:
        """What to tell the operator after the report; empty when every job was saved."""
        if not self.error:
            return ""
        jobs = ", ".join(self.unsaved)
        return f"reconcile: --store: results not saved ({jobs}): {self.error}"
