"""Public testing helpers: an in-memory Recorder, and a TCP relay that can be cut and restored."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from config.model import Config
from proxy.records import VERDICT_COUNTERS, Counter, Exchange


def counters_for(exchange: Exchange) -> tuple[Counter, ...]:
    """The counters one recorded exchange implies (recording is counting; callers never count these)."""
    return VERDICT_COUNTERS[exchange.comparison.verdict]


class MemoryRecorder:
    """A real Recorder kept in memory: `record` and `count` never block and never raise."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.counters: collections.Counter[tuple[str, Counter]] = collections.Counter()
        self.degraded = False
        self.opened = False
        self.closed = False

    def record(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        for counter in counters_for(exchange):
            self.counters[(exchange.route, counter)] += 1

    def count(self, route: str, counter: Counter, n: int = 1) -> None:
        self.counters[(route, counter)] += n

    def get(self, route: str, counter: Counter) -> int:
        return self.counters[(route, counter)]

    def total(self, counter: Counter) -> int:
        """One counter summed over every route."""
        return sum(n for (_, c), n in self.counters.items() if c is counter)

    def snapshot(self) -> dict[str, Any]:
        """Counters per route, as the admin server's /stats shows them."""
        routes: dict[str, dict[str, int]] = {}
        for (route, counter), n in sorted(self.counters.items()):
            routes.setdefault(route, {})[counter.value] = n
        return {"routes": routes, "degraded": self.degraded}

    @asynccontextmanager
    async def factory(self, config: Config) -> AsyncIterator[MemoryRecorder]:
        """Use as `build_app(config, recorder_factory=recorder.factory)`; marks itself opened and closed."""
        self.opened = True
        try:
            yield self
        finally:
            self.closed = True


class TcpRelay:
    """A TCP relay in front of a server (a store, an upstream) that can be cut — listener closed, every
    relayed connection reset, as a crashed database or a lost network would — and restored on its port."""

    def __init__(self, upstream: tuple[str, int], port: int = 0) -> None:
        self.upstream = upstream
        self.port = port or _free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        pipes = {
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        }
        self._pipes.update(pipes)
        await asyncio.gather(*pipes, return_exceptions=True)
        self._pipes.difference_update(pipes)
        for each in (writer, up_writer):
            self._writers.discard(each)
            each.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
