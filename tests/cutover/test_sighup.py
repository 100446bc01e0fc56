"""`shadow-proxy serve` as a real process: SIGHUP reloads the file; an invalid file is logged and kept out."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from cutover_support import AiohttpServer, Side, side_app, url_of

ROOT = Path(__file__).resolve().parents[2]


def _write(file: Path, legacy: str, candidate: str, mode: str, extra: str = "") -> None:
    file.write_text(
        f'[upstreams]\nlegacy = "{legacy}"\ncandidate = "{candidate}"\n'
        f'[[routes]]\nname = "items"\npath = "/items"\nmode = "{mode}"\n{extra}',
        encoding="utf-8",
    )


async def _event(process: asyncio.subprocess.Process, name: str) -> dict[str, Any]:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        event = orjson.loads(line)
        if event.get("event") == name:
            return dict(event)
    raise AssertionError(f"the proxy exited before logging {name!r}")


async def test_sighup_reloads_the_config_and_refuses_an_invalid_one(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    legacy = url_of(await aiohttp_server(side_app(Side("legacy"))))
    candidate = url_of(await aiohttp_server(side_app(Side("candidate"))))
    file = tmp_path / "proxy.toml"
    _write(file, legacy, candidate, "shadow")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxy.cli",
        "serve",
        f"--config={file}",
        "--listen=127.0.0.1:0",
        "--admin-listen=127.0.0.1:0",
        f"--store=sqlite:///{tmp_path / 'shadow.db'}",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        started = await asyncio.wait_for(_event(process, "serving"), 30)
        proxy = f"http://{started['proxy']}"
        async with aiohttp.ClientSession() as client:
            assert (await _get(client, f"{proxy}/items"))["side"] == "legacy"

            _write(file, legacy, candidate, "candidate")
            process.send_signal(signal.SIGHUP)
            changed = await asyncio.wait_for(_event(process, "mode_changed"), 10)
            assert (changed["actor"], changed["to_mode"]) == ("reload", "candidate")
            assert (await _get(client, f"{proxy}/items"))["side"] == "candidate"

            _write(file, legacy, candidate, "sideways", extra="surprise = 1\n")
            process.send_signal(signal.SIGHUP)
            rejected = await asyncio.wait_for(_event(process, "reload_rejected"), 10)
            assert any(e.startswith("routes[0].mode: expected one of") for e in rejected["errors"])
            assert any(e.startswith("routes[0].surprise: unknown key") for e in rejected["errors"])
            assert (await _get(client, f"{proxy}/items"))["side"] == "candidate"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _get(client: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with client.get(url) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body
