"""Mapping between the store's domain rows and flat SQL rows (column order is the schema's)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from proxy.store.base import COUNTER_COLUMNS, Body, Example, RouteMinute, StoredResponse

_REQUEST_COLUMNS = ("request_headers", "request_body", "request_body_format", "request_body_size")
_SIDE_COLUMNS = ("status", "error", "ms", "headers", "body", "body_format", "body_size")


def clean(text: str) -> str:
    """Text every database accepts: NUL and lone surrogates (both legal in Python str) are escaped."""
    if "\x00" not in text and text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def example_columns() -> tuple[str, ...]:
    head = ("id", "signature", "route", "hour", "recorded_at", "instance_id", "request_id", "trace_id")
    sides = tuple(f"{side}_{column}" for side in ("legacy", "candidate") for column in _SIDE_COLUMNS)
    return (*head, "verdict", "method", "target", *_REQUEST_COLUMNS, *sides, "differences")


def route_minute_values(row: RouteMinute) -> tuple[Any, ...]:
    """Counter values in COUNTER_COLUMNS order, then each side's latency sum, count and buckets."""
    counts = tuple(int(row.counts.get(name, 0)) for name in COUNTER_COLUMNS)
    latency: list[Any] = []
    for side in (row.legacy, row.candidate):
        latency += [float(side.sum_ms), side.count, *side.buckets]
    return (*counts, *latency)


def _headers_json(headers: tuple[tuple[str, str], ...]) -> str:
    return clean(json.dumps([[name, value] for name, value in headers], ensure_ascii=False))


def _headers(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(value)) for name, value in json.loads(text))


def _side_values(side: StoredResponse) -> tuple[Any, ...]:
    body = side.body
    return (
        side.status,
        side.error,
        float(side.elapsed_ms),
        _headers_json(side.headers),
        body.text,
        body.format,
        body.size,
    )


def example_to_row(example: Example, instance_id: str) -> tuple[Any, ...]:
    body = example.request_body
    return (
        example.id,
        example.signature,
        clean(example.route),
        example.hour,
        float(example.recorded_at),
        clean(instance_id),
        clean(example.request_id),
        clean(example.trace_id),
        example.verdict,
        clean(example.method),
        clean(example.target),
        _headers_json(example.request_headers),
        clean(body.text),
        body.format,
        body.size,
        *_side_values(example.legacy),
        *_side_values(example.candidate),
        clean(example.differences),
    )


def _side(row: Mapping[str, Any], side: str) -> StoredResponse:
    status = row[f"{side}_status"]
    return StoredResponse(
        status=int(status) if status is not None else None,
        headers=_headers(row[f"{side}_headers"]),
        body=Body(row[f"{side}_body"], row[f"{side}_body_format"], int(row[f"{side}_body_size"])),
        error=row[f"{side}_error"],
        elapsed_ms=float(row[f"{side}_ms"]),
    )


def example_from_row(row: Mapping[str, Any]) -> Example:
    return Example(
        id=row["id"],
        signature=row["signature"],
        route=row["route"],
        recorded_at=float(row["recorded_at"]),
        request_id=row["request_id"],
        trace_id=row["trace_id"],
        method=row["method"],
        target=row["target"],
        request_headers=_headers(row["request_headers"]),
        request_body=Body(row["request_body"], row["request_body_format"], int(row["request_body_size"])),
        legacy=_side(row, "legacy"),
        candidate=_side(row, "candidate"),
        verdict=row["verdict"],
        differences=row["differences"],
        instance_id=row["instance_id"],
    )
