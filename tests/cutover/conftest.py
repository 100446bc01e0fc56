"""Fixtures for the cutover tests: a proxy (in-memory recorder) with its admin app, and a Postgres schema."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from cutover_support import FAST, AiohttpClient, Running, StartProxy

from config.model import Config
from proxy.admin import build_admin_app
from proxy.app import CutoverOptions, build_app
from proxy.cutover import ConfigLoader
from proxy.testing import MemoryRecorder

PG_DSN = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def start_proxy(aiohttp_client: AiohttpClient) -> StartProxy:
    async def start(
        config: Config, *, loader: ConfigLoader | None = None, store_url: str | None = None, **options: Any
    ) -> Running:
        recorder = MemoryRecorder()
        cutover = CutoverOptions(
            loader=loader,
            timing=options.pop("timing", FAST),
            store_url=store_url,
            clock=options.pop("clock", time.time),
        )
        app = build_app(config, recorder_factory=recorder.factory, cutover=cutover)
        client = await aiohttp_client(app, **options)
        admin = await aiohttp_client(build_admin_app(app, token=None))
        return Running(client, admin, recorder, app)

    return start


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A store URL on a fresh schema of the test database (skipped when PostgreSQL is unreachable).

    Request it before `start_proxy`, so the schema outlives the proxies that write to it at shutdown.
    """
    try:
        connection = await asyncpg.connect(PG_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL unreachable at {PG_DSN}: {exc}")
    schema = f"cutover_{secrets.token_hex(6)}"
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        yield f"{PG_DSN}?search_path={schema}"
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await connection.close()
