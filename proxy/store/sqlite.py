"""The embedded store: one SQLite connection (WAL) on a dedicated thread, so the event loop never blocks."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from proxy.store.base import StoreError, StoreUnavailable
from proxy.store.cutover import CutoverSqlStore
from proxy.store.sql import Tx

T = TypeVar("T")
MEMORY = ":memory:"
_PARAMETER = re.compile(r"\$(\d+)")
# OperationalError messages that mean "not reachable now" rather than "this statement is wrong".
_TRANSIENT = ("unable to open", "locked", "busy", "disk i/o", "readonly", "disk is full")


def _translate(exc: sqlite3.Error, where: str) -> StoreError:
    message = f"{where}: {exc}"
    if isinstance(exc, sqlite3.OperationalError) and any(t in str(exc).lower() for t in _TRANSIENT):
        return StoreUnavailable(message)
    return StoreError(message)


def _enable_wal(connection: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch to WAL; two processes opening a new file at once may see SQLITE_BUSY without a busy wait."""
    for attempt in range(attempts):
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)  # on the store's own thread, never the event loop


def _positional(sql: str) -> str:
    """`$1` becomes `?1`: SQLite's numbered parameters, so one SQL text serves both dialects."""
    return _PARAMETER.sub(r"?\1", sql)


class SqliteStore(CutoverSqlStore):
    """A file (or in-memory) SQLite database; `create=False` refuses to create a missing file."""

    dialect = "sqlite"

    def __init__(self, path: str, create: bool = True) -> None:
        self._path = path
        self._create = create
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadow-sqlite")
        self._connection: sqlite3.Connection | None = None  # touched only on the executor thread
        self._lock = asyncio.Lock()  # one connection: transactions must not interleave

    @property
    def url(self) -> str:
        return f"sqlite://{self._path}" if self._path == MEMORY else f"sqlite:///{self._path}"

    async def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, work)

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return work(self._connect())
        except sqlite3.Error as exc:
            raise _translate(exc, self.url) from None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        if self._path == MEMORY:
            connection = sqlite3.connect(MEMORY, isolation_level=None)
        elif self._create:
            connection = sqlite3.connect(self._path, isolation_level=None, timeout=5.0)
        elif not Path(self._path).is_file():
            raise StoreError(f"{self.url}: no store at {self._path}")
        else:
            connection = sqlite3.connect(f"file:{quote(self._path)}?mode=rw", uri=True, isolation_level=None)
        connection.execute("PRAGMA busy_timeout = 5000")
        if self._path != MEMORY:
            _enable_wal(connection)
            connection.execute("PRAGMA synchronous = NORMAL")
        self._connection = connection
        return connection

    @asynccontextmanager
    async def _transaction(self, write: bool) -> AsyncIterator[Tx]:
        async with self._lock:
            await self._call(lambda c: c.execute("BEGIN IMMEDIATE" if write else "BEGIN"))
            try:
                yield _SqliteTx(self)
            except BaseException:
                await self._rollback()
                raise
            await self._call(lambda c: c.execute("COMMIT"))

    async def _rollback(self) -> None:
        # The original error matters more; a broken connection has no transaction left anyway.
        with contextlib.suppress(StoreError):
            await self._call(lambda c: c.execute("ROLLBACK") if c.in_transaction else None)

    async def _lock_schema(self, tx: Tx) -> None:
        """BEGIN IMMEDIATE already holds the database's write lock: nothing more to take."""

    async def _has_version_table(self, tx: Tx) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1"
        return bool(await tx.fetch(sql, "shadow_schema_version"))

    async def close(self) -> None:
        def close(_: sqlite3.Connection) -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        if self._connection is not None:
            await self._call(close)
        self._executor.shutdown(wait=False)


class _SqliteTx:
    """Each statement is one hop to the store's thread; the transaction is the store's single connection."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def execute(self, sql: str, *args: Any) -> int:
        text = _positional(sql)
        return await self._store._call(lambda c: c.execute(text, args).rowcount)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            text = _positional(sql)
            await self._store._call(lambda c: c.executemany(text, rows))

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        text = _positional(sql)
        return await self._store._call(lambda c: [tuple(row) for row in c.execute(text, args).fetchall()])
