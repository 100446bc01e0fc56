"""Helpers for the reconcile tests: load one collection and one table per test, write job configs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pymongo

PG_DSN = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_up() -> bool:
    async def ping() -> None:
        connection = await asyncpg.connect(PG_DSN, timeout=3)
        await connection.close()

    try:
        asyncio.run(ping())
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


async def execute(statements: Sequence[str]) -> None:
    connection = await asyncpg.connect(PG_DSN)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


class Stores:
    """Loads one collection and one table per test, and writes job configs pointing at them."""

    def __init__(self, mongo_uri: str, database: str, schema: str) -> None:
        self.mongo_uri = mongo_uri
        self.database = database
        self.schema = schema
        self.client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_uri)

    def table(self, name: str) -> str:
        return f'"{self.schema}"."{name}"'

    def load_mongo(self, name: str, documents: Sequence[dict[str, Any]]) -> None:
        collection = self.client[self.database][name]
        collection.drop()
        self.client[self.database].create_collection(name)
        if documents:
            collection.insert_many([dict(d) for d in documents])

    def load_postgres(self, name: str, columns: str, rows: Sequence[Sequence[Any]], types: str = "") -> None:
        """`columns` is the CREATE TABLE body; `rows` are inserted with `$n` parameters (cast by `types`)."""

        async def load() -> None:
            connection = await asyncpg.connect(PG_DSN)
            try:
                await connection.execute(f"DROP TABLE IF EXISTS {self.table(name)}")
                await connection.execute(f"CREATE TABLE {self.table(name)} ({columns})")
                if rows:
                    casts = types.split(",") if types else [""] * len(rows[0])
                    marks = ", ".join(f"${i + 1}{cast}" for i, cast in enumerate(casts))
                    await connection.executemany(f"INSERT INTO {self.table(name)} VALUES ({marks})", rows)
            finally:
                await connection.close()

        asyncio.run(load())

    def config(self, path: Path, name: str, body: str) -> Path:
        """A config file whose job `name` reads collection `name`; `{table}` in `body` is the test's table."""
        text = body.replace("{table}", f"{self.schema}.{name}")
        text = text.replace("{mongo}", self._mongo(name)).replace("{dsn}", PG_DSN)
        path.write_text(text, encoding="utf-8")
        return path

    def _mongo(self, name: str) -> str:
        return f'{{ uri = "{self.mongo_uri}", database = "{self.database}", collection = "{name}"'


@contextlib.contextmanager
def failpoint_server() -> Iterator[str]:
    """A SecantusDB that accepts `configureFailPoint` (off by default, as on mongod), for fault tests."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    launcher = str(Path(sys.executable).with_name("secantusd-py"))
    command = [launcher, "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:"]
    server = subprocess.Popen(
        [*command, "--enable-test-commands", "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"mongodb://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _answers(uri):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"SecantusDB did not start on {uri}")
            time.sleep(0.1)
        yield uri
    finally:
        server.terminate()
        server.wait(10)


def _answers(uri: str) -> bool:
    try:
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=300) as client:
            client.admin.command("ping")
            return True
    except pymongo.errors.PyMongoError:
        return False


def fail_next(uri: str, command: str, times: int) -> None:
    """Make the server drop the connection on the next `times` `command`s."""
    with pymongo.MongoClient(uri) as client:
        client.admin.command(
            {
                "configureFailPoint": "failCommand",
                "mode": {"times": times},
                "data": {"failCommands": [command], "closeConnection": True},
            }
        )
