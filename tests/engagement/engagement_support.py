"""Helpers shared by the engagement tests: the Postgres DSN, unique names, running a coroutine off-loop."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from aiohttp.test_utils import TestClient

PG_DSN = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
T = TypeVar("T")
Client = TestClient[Any, Any]
ClientMaker = Callable[..., Awaitable[Client]]


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on its own thread, leaving the test's event loop alone."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(coroutine))
        except BaseException as exc:  # handed back to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{threading.get_ident() % 10_000}"
