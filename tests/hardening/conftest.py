"""Fixtures for the hardening tests: a recording legacy upstream and a self-signed TLS certificate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from hardening_support import Received, recording_app


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
