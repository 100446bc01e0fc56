"""The shared store: PostgreSQL via an asyncpg pool, created lazily so the proxy starts while it is down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from proxy.store.base import StoreError, StoreUnavailable
from proxy.store.cutover import CutoverSqlStore
from proxy.store.sql import Tx

# Every replica takes this transaction-level advisory lock before migrating, so concurrent starts serialize.
MIGRATION_LOCK_KEY = 0x5348_4144_4F57  # "SHADOW"
CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 30.0
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, unreachable, and TimeoutError
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # connection closed under us, pool closing
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
)


def mask_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresStore(CutoverSqlStore):
    """A PostgreSQL database shared by every replica; `?search_path=schema` in the URL selects a schema."""

    dialect = "postgres"

    def __init__(self, dsn: str, pool_size: int = 4) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()

    @property
    def url(self) -> str:
        return mask_password(self._dsn)

    async def _get_pool(self) -> asyncpg.Pool:
        async with self._pool_lock:
            if self._pool is None:
                pool = asyncpg.create_pool(
                    self._dsn,
                    min_size=1,
                    max_size=self._pool_size,
                    timeout=CONNECT_TIMEOUT,
                    command_timeout=COMMAND_TIMEOUT,
                )
                try:
                    self._pool = await pool
                except BaseException:
                    pool.terminate()
                    raise
            return self._pool

    @asynccontextmanager
    async def _transaction(self, write: bool) -> AsyncIterator[Tx]:
        try:
            pool = await self._get_pool()
            async with pool.acquire() as connection, connection.transaction(readonly=not write):
                yield _PostgresTx(connection)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"{self.url}: {type(exc).__name__}: {exc}") from None
        except asyncpg.PostgresError as exc:
            raise StoreError(f"{self.url}: {type(exc).__name__}: {exc}") from None

    async def _lock_schema(self, tx: Tx) -> None:
        await tx.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)

    async def _has_version_table(self, tx: Tx) -> bool:
        rows = await tx.fetch("SELECT to_regclass($1) IS NOT NULL", "shadow_schema_version")
        return bool(rows[0][0])

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=CONNECT_TIMEOUT)
            except _UNAVAILABLE:  # includes TimeoutError, an OSError
                pool.terminate()


class _PostgresTx:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, *args: Any) -> int:
        status = await self._connection.execute(sql, *args)
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._connection.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(record) for record in await self._connection.fetch(sql, *args)]
