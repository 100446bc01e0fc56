"""Builders for the store tests: exchanges made of comparators.model values, and a toggleable TCP relay."""

from __future__ import annotations

import os
import socket
from typing import Any

from comparators.model import Comparison, Difference, DiffKind, Ignored, Observation, TransportError, Verdict
from proxy.records import Exchange, RequestInfo

PG_DSN = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
T0 = 1_700_000_000.0  # a fixed instant (minute- and hour-aligned) so buckets are predictable
JSON = (("content-type", "application/json"),)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(
    target: str = "/get",
    *,
    method: str = "GET",
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    at: float = T0,
    request_id: str = "req-1",
) -> RequestInfo:
    return RequestInfo(method, target, headers, body, request_id, at)


def response(
    body: bytes = b'{"ok": true}', status: int = 200, headers: Any = JSON, ms: float = 12.0
) -> Observation:
    return Observation(status=status, headers=tuple(headers), body=body, elapsed_ms=ms)


def diverged(*differences: Difference, ignored: tuple[Ignored, ...] = ()) -> Comparison:
    rules = frozenset(i.rule for i in ignored)
    return Comparison(Verdict.DIVERGED, tuple(differences), ignored, rules)


def value_diff(path: str = "$.ok", legacy: Any = True, candidate: Any = False) -> Difference:
    return Difference(path, DiffKind.VALUE, legacy, candidate)


def exchange(
    comparison: Comparison | None = None,
    *,
    route: str = "GET /get",
    req: RequestInfo | None = None,
    legacy: Observation | None = None,
    candidate: Observation | None = None,
    noise: Comparison | None = None,
) -> Exchange:
    return Exchange(
        route=route,
        request=req or request(),
        legacy=legacy or response(),
        candidate=candidate or response(),
        comparison=comparison or Comparison(Verdict.MATCHED),
        noise=noise,
    )


def matched(route: str = "GET /get", at: float = T0) -> Exchange:
    return exchange(route=route, req=request(at=at))


def value_divergence(route: str = "GET /get", path: str = "$.ok", at: float = T0, rid: str = "r") -> Exchange:
    return exchange(
        diverged(value_diff(path)),
        route=route,
        req=request(at=at, request_id=rid),
        candidate=response(b'{"ok": false}', ms=20.0),
    )


def candidate_error(route: str = "GET /get", at: float = T0) -> Exchange:
    failed = Observation.transport_error(TransportError.TIMEOUT, "no answer in 5 s", 5000.0)
    comparison = Comparison(Verdict.CANDIDATE_ERROR, (Difference("error", DiffKind.ERROR, None, "timeout"),))
    return exchange(comparison, route=route, req=request(at=at), candidate=failed)


def rows_text(dump: dict[str, list[tuple[Any, ...]]]) -> str:
    """Every cell of every table as one string, to search for things that must not be stored."""
    return "\n".join(f"{table}: {row!r}" for table, rows in dump.items() for row in rows)
