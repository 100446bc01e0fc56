"""`shadow-proxy reconcile`: check that MongoDB collections and PostgreSQL queries hold the same data."""

from __future__ import annotations

import asyncio
import signal
import sys
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from config.loader import ConfigError
from config.model import ReconcileJob
from config.reader import Section
from config.reconcile_section import parse_reconcile
from proxy.reconcile.engine import reconcile
from proxy.reconcile.progress import Progress
from proxy.reconcile.render import RENDERERS
from proxy.reconcile.result import EXIT_ERROR, ReconcileReport, ResultSink, Status
from proxy.reconcile.store_sink import StoreSink, check_store_url
from proxy.store import StoreError


def load_jobs(
    path: str, names: Sequence[str] = (), mongo_uri: str | None = None, postgres_dsn: str | None = None
) -> tuple[ReconcileJob, ...]:
    """The file's `[[reconcile]]` jobs (only those named, if any); ConfigError lists every problem.

    Only the reconcile tables are read: a file may also hold the proxy's settings, which `serve` checks.
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"<file>: cannot read {path}: {exc.strerror}"], path) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"<toml>: {exc}"], path) from None
    errors: list[str] = []
    jobs = parse_reconcile(Section(data, "", errors), mongo_uri, postgres_dsn)
    if errors:
        raise ConfigError(errors, path)
    if not jobs:
        raise ConfigError(["reconcile: no [[reconcile]] job in this file"], path)
    known = {job.name for job in jobs}
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(sorted(known))
        raise ConfigError(
            [f"--job: no reconcile job named {name!r} (jobs: {listed})" for name in unknown], path
        )
    return tuple(job for job in jobs if not names or job.name in names)


def parse_since(text: str) -> datetime:
    """An ISO-8601 date or timestamp; without an offset it is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected an ISO-8601 timestamp like 2025-03-15T10:22:00Z, got {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def _run(
    jobs: Sequence[ReconcileJob], since: datetime | None, progress: Progress, sink: ResultSink | None
) -> ReconcileReport:
    """All jobs, with Ctrl-C turned into a clean stop (a second Ctrl-C interrupts at once)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_interrupt() -> None:
        print("\nreconcile: stopping; reporting what was checked (Ctrl-C again to abort)", file=sys.stderr)
        stop.set()
        loop.remove_signal_handler(signal.SIGINT)

    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    try:
        return await reconcile(jobs, since, stop, progress, sink)
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def run_reconcile(
    config_path: str,
    job_names: Sequence[str] = (),
    mongo_uri: str | None = None,
    postgres_dsn: str | None = None,
    output_format: str = "md",
    out: str | None = None,
    since: str | None = None,
    sink: ResultSink | None = None,
    progress_stream: TextIO | None = None,
    store: str | None = None,
) -> int:
    """Run the selected jobs, print or write the report; exit 0 equal, 1 different, 2 errors, 130 Ctrl-C.

    With `store` (a store URL) each finished job is also saved there; a store fault is said after the
    report, with exit 2.
    """
    try:
        jobs = load_jobs(config_path, job_names, mongo_uri, postgres_dsn)
        since_at = parse_since(since) if since else None
        if store:
            check_store_url(store)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_ERROR
    except ValueError as exc:
        print(f"--since: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except StoreError as exc:
        print(f"--store: {exc}", file=sys.stderr)
        return EXIT_ERROR
    store_sink = StoreSink(store) if store else None
    sink = store_sink or sink
    progress = Progress(progress_stream or sys.stderr)
    report = asyncio.run(_run(jobs, since_at, progress, sink))
    for job in report.jobs:
        if job.status is Status.FAILED:
            print(f"reconcile: {job.error}", file=sys.stderr)
    text = RENDERERS[output_format](report)
    code = report.exit_code
    if out:
        try:
            Path(out).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"--out: cannot write {out}: {exc.strerror}", file=sys.stderr)
            code = EXIT_ERROR
    else:
        sys.stdout.write(text)
    if store_sink is not None and store_sink.failure():
        print(store_sink.failure(), file=sys.stderr)  # after the report: the run's findings come first
        code = EXIT_ERROR
    return code
