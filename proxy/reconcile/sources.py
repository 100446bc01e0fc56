"""Both sides as key-ordered batch streams: a MongoDB collection (pymongo), a PostgreSQL query (asyncpg)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson
import pymongo.errors
from pymongo import AsyncMongoClient

from config.model import KeyPart, ReconcileJob
from proxy.reconcile.errors import ReconcileError, first_line, redact
from proxy.reconcile.keys import (
    Key,
    mongo_after,
    mongo_partitions,
    mongo_sort,
    mongo_unkeyed,
    postgres_order,
    quote_ident,
    source_key,
    target_key,
)
from proxy.reconcile.merge import Batch, merge_ordered

CONNECT_TIMEOUT = 5.0  # seconds; an unreachable server is an error after this, not a hang
RESUME_ATTEMPTS = 3  # a MongoDB read cut by a lost connection restarts after its last key this many times
RESUME_PAUSE = 0.5  # seconds, times the attempt number


class MongoSource:
    """The job's collection, read with one sorted query per key type combination, merged on the key."""

    def __init__(self, job: ReconcileJob, since: datetime | None = None) -> None:
        self.job = job
        self.side = job.mongo
        self.since = since
        self.client: AsyncMongoClient[dict[str, Any]] | None = None

    @property
    def label(self) -> str:
        return f"MongoDB {redact(self.side.uri)} ({self.side.database}.{self.side.collection})"

    async def open(self) -> None:
        """Connect and check the collection exists; a clear ReconcileError otherwise."""
        try:
            self.client = AsyncMongoClient(self.side.uri, **_timeouts(self.side.uri))
            database = self.client[self.side.database]
            names = await database.list_collection_names(filter={"name": self.side.collection})
        except pymongo.errors.PyMongoError as exc:
            raise ReconcileError(
                f"job {self.job.name!r}: {self.label} is unreachable: {first_line(exc)}"
            ) from None
        if not names:
            raise ReconcileError(f"job {self.job.name!r}: {self.label}: the collection does not exist")

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    def _filter(self, extra: dict[str, Any]) -> dict[str, Any]:
        clauses = [dict(self.side.filter)] if self.side.filter else []
        if self.since is not None:
            clauses.append({self.side.updated_at: {"$gte": self.since}})
        clauses.append(extra)
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def _projection(self) -> dict[str, Any] | None:
        """The configured projection, with the key fields added to an inclusion projection.

        Never derived from `fields` on its own: a server may well be slower projecting than sending
        (SecantusDB reads 30% fewer documents per second with a projection of most fields).
        """
        keys = [part.source for part in self.job.key]
        projection = dict(self.side.projection)
        if not projection:
            return None
        if any(value for name, value in projection.items() if name != "_id"):  # inclusion: keep the key
            for key in keys:
                if not any(key == name or key.startswith(name + ".") for name in projection):
                    projection[key] = 1
        return projection

    async def count(self) -> int:
        """How many documents the run will read (for progress); 0 when unknown."""
        try:
            return int(await self._collection().count_documents(self._filter({})))
        except pymongo.errors.PyMongoError:
            return 0

    async def expected(self) -> int:
        """The source's size for progress: the cheap metadata count when nothing narrows the read."""
        if self.since is None and not self.side.filter:
            try:
                return int(await self._collection().estimated_document_count())
            except pymongo.errors.PyMongoError:
                return 0
        return await self.count()

    async def count_unkeyed(self) -> int:
        """Documents whose key is absent, null or of another type: read by no partition, reported apart."""
        try:
            return int(await self._collection().count_documents(self._filter(mongo_unkeyed(self.job.key))))
        except pymongo.errors.PyMongoError as exc:
            raise ReconcileError(f"job {self.job.name!r}: {self.label}: {first_line(exc)}") from None

    def _collection(self) -> Any:
        assert self.client is not None, "open() first"
        return self.client[self.side.database][self.side.collection]

    async def batches(self) -> AsyncIterator[Batch]:
        """Every keyed document as (key, document), in key order, `batch_size` at a time."""
        streams = [self._partition(where) for where in mongo_partitions(self.job.key)]
        async for batch in merge_ordered(streams):
            yield batch

    async def _partition(self, where: dict[str, Any]) -> AsyncIterator[Batch]:
        """One key type's documents in key order; a dropped connection resumes after the last key read."""
        parts, size = self.job.key, self.job.batch_size
        after: dict[str, Any] | None = None
        attempts = 0
        while True:
            query = self._filter(where if after is None else {"$and": [where, after]})
            cursor = self._collection().find(
                query, self._projection(), sort=mongo_sort(parts), batch_size=size
            )
            try:
                while documents := await cursor.to_list(size):
                    attempts = 0
                    after = mongo_after(parts, documents[-1])
                    yield [(source_key(parts, document), document) for document in documents]
                return
            except pymongo.errors.AutoReconnect as exc:
                attempts += 1
                if attempts > RESUME_ATTEMPTS:
                    raise self._failed(exc) from None
                await asyncio.sleep(RESUME_PAUSE * attempts)
            except pymongo.errors.PyMongoError as exc:
                raise self._failed(exc) from None
            finally:
                with contextlib.suppress(pymongo.errors.PyMongoError):
                    await cursor.close()

    def _failed(self, exc: BaseException) -> ReconcileError:
        return ReconcileError(f"job {self.job.name!r}: {self.label}: query failed: {first_line(exc)}")


def _timeouts(uri: str) -> dict[str, Any]:
    """Our deadline to find the server, unless the URI sets its own (`?serverSelectionTimeoutMS=…`).

    connectTimeoutMS stays at the driver's default: it also bounds the monitor's heartbeats, and a busy
    server missing a short one makes the driver cancel the reads in flight.
    """
    if "serverselectiontimeoutms" in uri.lower():
        return {}
    return {"serverSelectionTimeoutMS": int(CONNECT_TIMEOUT * 1000)}


class PostgresSource:
    """The job's query, wrapped to add `--since` and the key order, read by a server-side cursor."""

    def __init__(self, job: ReconcileJob, since: datetime | None = None) -> None:
        self.job = job
        self.side = job.postgres
        self.since = since
        self.connection: asyncpg.Connection | None = None
        self.statement: asyncpg.prepared_stmt.PreparedStatement | None = None

    @property
    def label(self) -> str:
        return f"PostgreSQL {redact(self.side.dsn)}"

    def sql(self) -> str:
        where = f"WHERE src.{quote_ident(self.side.updated_at)} >= $1::timestamptz" if self.since else ""
        return f"SELECT * FROM ({self.side.query}\n) AS src {where} ORDER BY {postgres_order(self.job.key)}"

    def _arguments(self) -> tuple[Any, ...]:
        return (self.since,) if self.since else ()

    async def open(self) -> None:
        """Connect (time zone UTC, JSON decoded), begin the snapshot, check the query's columns."""
        try:
            self.connection = await asyncpg.connect(
                self.side.dsn,
                timeout=CONNECT_TIMEOUT,
                server_settings={"timezone": "UTC", "application_name": "shadow-proxy reconcile"},
            )
        except Exception as exc:  # refused, reset, not PostgreSQL at all, bad DSN: all mean "cannot use it"
            raise ReconcileError(
                f"job {self.job.name!r}: {self.label} is unreachable: {first_line(exc)}"
            ) from None
        for kind in ("json", "jsonb"):
            await self.connection.set_type_codec(
                kind, encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
            )
        # One read-only snapshot for the whole run, begun before anything else touches the connection.
        await self.connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            self.statement = await self.connection.prepare(self.sql())
        except asyncpg.PostgresError as exc:
            raise ReconcileError(
                f"job {self.job.name!r}: {self.label}: the query fails: {first_line(exc)}"
            ) from None
        self._check_columns(self.statement)

    def _check_columns(self, statement: asyncpg.prepared_stmt.PreparedStatement) -> None:
        columns = {attribute.name for attribute in statement.get_attributes()}
        wanted = [("key", part.target) for part in self.job.key]
        wanted += [("fields", f.target[2:].split(".")[0]) for f in self.job.fields]
        missing = [f"{what} column {name!r}" for what, name in wanted if name not in columns]
        if missing:
            raise ReconcileError(
                f"job {self.job.name!r}: the postgres query has no {', '.join(missing)}"
                f" (its columns: {', '.join(sorted(columns))})"
            )

    async def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.connection.close(), CONNECT_TIMEOUT)

    async def batches(self) -> AsyncIterator[Batch]:
        """Every row as (key, row) in key order; NULL keys come last and are yielded unkeyed (None)."""
        assert self.statement is not None, "open() first"
        parts: Sequence[KeyPart] = self.job.key
        try:
            cursor = await self.statement.cursor(*self._arguments())
            while records := await cursor.fetch(self.job.batch_size):
                yield [_keyed(parts, dict(record)) for record in records]
        except asyncpg.PostgresError as exc:
            raise ReconcileError(
                f"job {self.job.name!r}: {self.label}: query failed: {first_line(exc)}"
            ) from None
        except (OSError, asyncpg.exceptions.ConnectionDoesNotExistError) as exc:
            raise ReconcileError(
                f"job {self.job.name!r}: {self.label}: connection lost: {first_line(exc)}"
            ) from None


def _keyed(parts: Sequence[KeyPart], row: dict[str, Any]) -> tuple[Key | None, dict[str, Any]]:
    return target_key(parts, row), row
