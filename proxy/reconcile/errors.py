"""The one error a reconciliation raises, and where driver exceptions become it.

    ReconcileError (exit code 2; the message names the job, the side and what to fix)
    ├── unreachable   pymongo ConnectionFailure / ServerSelectionTimeoutError, OSError and
    │                 asyncpg connection errors, timeouts while connecting
    ├── refused       pymongo OperationFailure (bad filter, auth), asyncpg PostgresError (bad query, columns)
    ├── misconfigured a job that cannot run as written (--since without updated_at, unknown columns)
    └── out of order  a side streamed a key lower than its predecessor (see keys.py for the order rule)

Differences between the stores are data (a JobResult), never an exception.
"""

from __future__ import annotations

import re

_CREDENTIALS = re.compile(r"(?<=://)([^:/@]+):([^@/]*)@")


class ReconcileError(Exception):
    """A reconciliation could not run or finish; the message is shown to the user as is."""


def redact(url: str) -> str:
    """A connection string without its password, fit for an error message."""
    return _CREDENTIALS.sub(r"\1:***@", url)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
