"""Helpers for the hardening tests: the proxy served as in production, recording upstreams, raw sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from config.model import Config, ServerSettings, ShadowSettings
from proxy.app import DISPATCHER, FORWARDER, RecorderFactory, build_app
from proxy.limits import ProxyRunner
from proxy.telemetry import TELEMETRY
from proxy.testing import MemoryRecorder

RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
ROOT = Path(__file__).resolve().parents[2]
HOP_BY_HOP_OR_CLOCK = frozenset({"date", "server", "connection", "keep-alive", "transfer-encoding"})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def make_config(legacy: str, candidate: str | None = None, **fields: Any) -> Config:
    """A Config for tests; `server=`/`shadow=` take dicts of overrides on the defaults."""
    server = replace(ServerSettings(), **fields.pop("server", {}))
    shadow = replace(ShadowSettings(), **{"drain_timeout": 2.0, **fields.pop("shadow", {})})
    return Config(legacy=legacy, candidate=candidate, server=server, shadow=shadow, **fields)


@dataclass
class Running:
    """The proxy app served by ProxyRunner on a real socket, as `shadow-proxy serve` serves it."""

    app: web.Application
    runner: ProxyRunner
    port: int
    recorder: Any

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def idle(self) -> None:
        await self.app[DISPATCHER].wait_idle()

    def upstream_errors(self) -> dict[str, dict[str, dict[str, int]]]:
        errors: dict[str, dict[str, dict[str, int]]] = self.app[TELEMETRY].metrics.upstream_errors()
        return errors

    def in_flight(self) -> int:
        active: int = self.app[FORWARDER].gate.active
        return active


@asynccontextmanager
async def serving(config: Config, recorder_factory: RecorderFactory | None = None) -> AsyncIterator[Running]:
    """Serve `config` on 127.0.0.1 (an ephemeral port) with a MemoryRecorder unless a factory is given."""
    recorder = MemoryRecorder()
    app = build_app(config, recorder_factory=recorder_factory or recorder.factory)
    runner = ProxyRunner(app, config.server, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield Running(app, runner, port, recorder if recorder_factory is None else None)
    finally:
        await runner.cleanup()


@dataclass
class Received:
    """What a recording upstream parsed, request by request: method, raw target, headers, body."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    def targets(self) -> list[str]:
        return [r["target"] for r in self.requests]

    def everything(self) -> bytes:
        """Every target and body received, to search for bytes that must never arrive."""
        return b"\n".join(r["target"].encode() + b" " + r["body"] for r in self.requests)


def recording_app(received: Received, body: bytes = b'{"side": "legacy", "n": 1}') -> web.Application:
    """An upstream answering `body` (JSON) to every request, after reading and remembering it whole."""

    async def answer(request: web.Request) -> web.Response:
        data = await request.read()
        received.requests.append(
            {
                "method": request.method,
                "target": request.raw_path,
                "headers": list(request.headers.items()),
                "body": data,
            }
        )
        return web.Response(body=body, content_type="application/json", headers={"X-Side": "legacy"})

    app = web.Application(client_max_size=1024**3)
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


@asynccontextmanager
async def raw_upstream(handler: RawHandler) -> AsyncIterator[str]:
    """An asyncio server speaking whatever bytes `handler` writes; yields its base URL."""
    tasks: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)  # type: ignore[arg-type]
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()
            tasks.discard(task)  # type: ignore[arg-type]

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)


async def answer_raw(port: int, data: bytes, *, settle: float = 1.0, responses: int = 0) -> bytes:
    """Send raw bytes and read what comes back until the proxy closes, `responses` complete answers (with a
    Content-Length) have arrived, or it stays quiet for `settle` seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        out = b""
        while not responses or complete_responses(out) < responses:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), settle)
            except TimeoutError:
                return out
            if not chunk:
                return out
            out += chunk
        return out
    except ConnectionError:
        return b""
    finally:
        writer.close()


def complete_responses(raw: bytes) -> int:
    """How many whole final responses with a Content-Length `raw` holds (interim 1xx not counted)."""
    count = 0
    while b"\r\n\r\n" in raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(rest) < length:
            break
        if head.split(b" ", 2)[1:2] != [b"100"]:
            count += 1
        raw = rest[length:]
    return count


def status_of(raw: bytes) -> int:
    """The status code of the first response in raw bytes (0 when there is none)."""
    line = raw.split(b"\r\n", 1)[0].split(b" ")
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else 0


def statuses(raw: bytes) -> list[int]:
    """The status codes of every final response in raw bytes, in order (interim 1xx left out)."""
    found = []
    for part in raw.split(b"HTTP/1.")[1:]:
        code = part[2:5]
        if code.isdigit() and not code.startswith(b"1"):
            found.append(int(code))
    return found


@dataclass(frozen=True)
class Answer:
    """One HTTP answer as a client sees it, minus the headers a proxy or a clock may change."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


async def fetch(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> Answer:
    async with session.request(kwargs.pop("method", "GET"), url, **kwargs) as response:
        body = await response.read()
        headers = tuple((k, v) for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP_OR_CLOCK)
        return Answer(response.status, headers, body)


class ServeProcess:
    """`shadow-proxy serve --config FILE` as a real process; its JSON log lines are read as they come."""

    def __init__(self, config_file: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.config_file = config_file
        self.extra = extra
        self.env = env
        self.lines: list[dict[str, Any]] = []
        self.raw_output: list[bytes] = []
        self.process: asyncio.subprocess.Process | None = None
        self.proxy = self.admin = ""
        self._reader: asyncio.Task[None] | None = None
        self._seen = asyncio.Condition()

    async def start(self) -> ServeProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "proxy.cli",
            "serve",
            f"--config={self.config_file}",
            *self.extra,
            cwd=ROOT,
            env={**os.environ, **(self.env or {})},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,  # stdlib records too: every line must be searchable
        )
        self._reader = asyncio.create_task(self._read())
        serving = await asyncio.wait_for(self.event("serving"), 30)
        self.proxy, self.admin = f"http://{serving['proxy']}", f"http://{serving['admin']}"
        return self

    async def event(self, name: str, after: int = 0) -> dict[str, Any]:
        """The first log line with this event name (from line `after` on); waits for it."""
        async with self._seen:
            while True:
                for line in self.lines[after:]:
                    if line.get("event") == name:
                        return line
                if self._reader is None or self._reader.done():
                    raise AssertionError(f"the proxy exited before logging {name!r}")
                await self._seen.wait()

    async def stop(self, signum: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signum)
        code = await asyncio.wait_for(self.process.wait(), 60)
        if self._reader is not None:
            await self._reader
        return code

    def text(self) -> str:
        return b"".join(self.raw_output).decode("utf-8", "replace")

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.raw_output.append(line)
            with contextlib.suppress(ValueError):
                parsed = orjson.loads(line)
                if isinstance(parsed, dict):
                    async with self._seen:
                        self.lines.append(parsed)
                        self._seen.notify_all()
        async with self._seen:
            self._seen.notify_all()


@asynccontextmanager
async def serve_process(
    config_file: Path, *extra: str, env: dict[str, str] | None = None
) -> AsyncIterator[ServeProcess]:
    running = ServeProcess(config_file, *extra, env=env)
    try:
        yield await running.start()
    finally:
        if running.process is not None and running.process.returncode is None:
            running.process.kill()
            await running.process.wait()


def write_config(file: Path, legacy: str, candidate: str, store: str, extra: str = "") -> Path:
    file.write_text(
        f'instance_id = "hardening"\n{extra}\n'
        f'[upstreams]\nlegacy = "{legacy}"\ncandidate = "{candidate}"\n'
        f'[server]\nlisten = "127.0.0.1:0"\nadmin_listen = "127.0.0.1:0"\n'
        f'[store]\nurl = "{store}"\nflush_interval = 0.05\n',
        encoding="utf-8",
    )
    return file


PG_DSN = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
