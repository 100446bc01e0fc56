"""The store's reconciliation runs: each finished `reconcile` job, and the newest run of every job.

`ReconcileSqlStore` adds the queries to the shared SQL layer; `CutoverSqlStore` derives from it, and both
the SQLite and the PostgreSQL store from that, so every SQL store (and `isinstance(x, CutoverSqlStore)`) has
the whole Store protocol. Runs are never purged by retention, like the mode audit log: the
last reconciliation of a job stays evidence however old it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from proxy.store.rows import clean
from proxy.store.sql import SqlStore

VERDICTS: Final = ("equal", "different", "error", "interrupted")
_COLUMNS = (
    "id, job, started_at, finished_at, instance_id, verdict, checked, missing, extra, different, report"
)
_MARKS = ", ".join(f"${i}" for i in range(1, 12))
INSERT_RUN = f"INSERT INTO shadow_reconcile_runs ({_COLUMNS}) VALUES ({_MARKS})"
# The newest run per job; equal finish times are ordered by id so the answer is stable.
LAST_RUNS = (
    f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS}, ROW_NUMBER() OVER "
    "(PARTITION BY job ORDER BY finished_at DESC, id DESC) AS newest FROM shadow_reconcile_runs) AS runs "
    "WHERE newest = 1 ORDER BY job"
)


@dataclass(frozen=True, slots=True)
class ReconcileRun:
    """One reconcile job's outcome as stored; `report` is the job's JSON report (text)."""

    id: str
    job: str
    started_at: float
    finished_at: float
    instance_id: str
    verdict: str  # one of VERDICTS
    checked: int = 0  # source documents matched, different or missing
    missing: int = 0
    extra: int = 0
    different: int = 0
    report: str = "{}"


class ReconcileSqlStore(SqlStore):
    """SqlStore plus the reconciliation runs (see the module docstring)."""

    async def save_reconciliation(self, run: ReconcileRun) -> None:
        async with self._transaction(write=True) as tx:
            await tx.execute(INSERT_RUN, *_row(run))

    async def last_reconciliations(self) -> list[ReconcileRun]:
        async with self._transaction(write=False) as tx:
            rows = await tx.fetch(LAST_RUNS)
        return [_run(row) for row in rows]

    async def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        tables = await super().dump()
        async with self._transaction(write=False) as tx:
            tables["shadow_reconcile_runs"] = await tx.fetch("SELECT * FROM shadow_reconcile_runs")
        return tables


def _row(run: ReconcileRun) -> tuple[Any, ...]:
    if run.verdict not in VERDICTS:
        raise ValueError(f"reconcile verdict {run.verdict!r}: expected one of {', '.join(VERDICTS)}")
    return (
        run.id,
        clean(run.job),
        run.started_at,
        run.finished_at,
        clean(run.instance_id),
        run.verdict,
        run.checked,
        run.missing,
        run.extra,
        run.different,
        clean(run.report),
    )


def _run(row: tuple[Any, ...]) -> ReconcileRun:
    checked, missing, extra, different = (int(n) for n in row[6:10])
    times = float(row[2]), float(row[3])
    return ReconcileRun(row[0], row[1], *times, row[4], row[5], checked, missing, extra, different, row[10])
