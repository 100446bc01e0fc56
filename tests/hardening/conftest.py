"""Fixtures for the hardening tests: a recording legacy, a self-signed certificate, a Postgres schema."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from hardening_support import PG_DSN, Received, recording_app


@pytest.fixture
async def legacy(aiohttp_server: object) -> tuple[str, Received]:
    """A real legacy upstream that remembers every request it parsed; its base URL and what it received."""
    received = Received()
    server: TestServer = await aiohttp_server(recording_app(received))  # type: ignore[operator]
    return str(server.make_url("")).rstrip("/"), received


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate and its key (openssl), for a TLS server nobody trusts."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A store URL on a fresh schema of the test database (skipped when PostgreSQL is unreachable)."""
    try:
        connection = await asyncpg.connect(PG_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL unreachable at {PG_DSN}: {exc}")
    schema = f"hardening_{secrets.token_hex(6)}"
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        yield f"{PG_DSN}?search_path={schema}"
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test runs once per store: a SQLite file, and a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shadow.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url
