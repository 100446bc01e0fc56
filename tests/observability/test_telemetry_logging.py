"""JSON logs from structlog and the standard library, trace ids in events, the opt-in divergence bodies."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import orjson
import pytest
from observability_support import exchange
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from comparators.model import Observation, Verdict
from config.model import RedactSettings
from proxy.redact import Redactor
from proxy.store.examples import ExampleBuilder
from proxy.telemetry import Telemetry, current_trace_id, incoming_trace_id
from proxy.telemetry_logging import AddTraceContext, add_logger_name, divergence_body_fields

ROOT = Path(__file__).resolve().parents[2]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    ("headers", "trace_id"),
    [
        ((("traceparent", f"00-{TRACE}-00f067aa0ba902b7-01"),), TRACE),
        ((("Traceparent", f" 00-{TRACE}-00f067aa0ba902b7-00 "),), TRACE),
        ((("traceparent", f"00-{TRACE.upper()}-00f067aa0ba902b7-01"),), ""),  # uppercase is invalid
        ((("traceparent", f"00-{'0' * 32}-00f067aa0ba902b7-01"),), ""),
        ((("traceparent", f"00-{TRACE}-{'0' * 16}-01"),), ""),
        ((("traceparent", f"ff-{TRACE}-00f067aa0ba902b7-01"),), ""),
        ((("traceparent", "garbage"),), ""),
        ((("x-traceparent", f"00-{TRACE}-00f067aa0ba902b7-01"),), ""),
        ((), ""),
    ],
)
def test_incoming_trace_id(headers: tuple[tuple[str, str], ...], trace_id: str) -> None:
    assert incoming_trace_id(headers) == trace_id


async def test_events_inside_a_span_carry_its_ids() -> None:
    telemetry = Telemetry.tracing_into(SimpleSpanProcessor(InMemorySpanExporter()))
    add = AddTraceContext()
    try:
        assert add(None, "info", {"event": "outside"}) == {"event": "outside"}
        assert current_trace_id() == ""
        with telemetry.compare_span("catalog") as span:
            assert span is not None
            context = span.get_span_context()
            inside = add(None, "info", {"event": "inside"})
            explicit = add(None, "info", {"event": "divergence", "trace_id": TRACE})
            assert current_trace_id() == format(context.trace_id, "032x")
    finally:
        await telemetry.aclose()
    assert inside == {
        "event": "inside",
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
    }
    assert explicit == {"event": "divergence", "trace_id": TRACE}  # a named trace is never replaced


def test_logger_name() -> None:
    class Named:
        name = "proxy.divergence"

    assert add_logger_name(Named(), "info", {}) == {"logger": "proxy.divergence"}
    assert add_logger_name(object(), "info", {}) == {}


SCRIPT = textwrap.dedent(
    """
    import logging
    import structlog
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from proxy.telemetry import Telemetry
    from proxy.telemetry_logging import configure_logging

    configure_logging()
    telemetry = Telemetry.tracing_into(SimpleSpanProcessor(InMemorySpanExporter()))
    with telemetry.compare_span("catalog") as span:
        structlog.get_logger("proxy.divergence").info("divergence", route="catalog")
        print(format(span.get_span_context().trace_id, "032x"), flush=True)
    try:
        1 / 0
    except ZeroDivisionError:
        logging.getLogger("aiohttp.server").exception("Error handling request")
    logging.getLogger("aiohttp.access").info("chatter below WARNING is not written")
    """
)


def test_everything_is_json_lines() -> None:
    """In a child process: configure_logging is global and caches loggers, so it must not touch this one."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, timeout=30, check=True
    )
    event_line, trace_line = done.stdout.decode().splitlines()
    event: dict[str, Any] = orjson.loads(event_line)
    assert {k: event[k] for k in ("event", "logger", "level", "route")} == {
        "event": "divergence",
        "logger": "proxy.divergence",
        "level": "info",
        "route": "catalog",
    }
    assert event["trace_id"] == trace_line and event["timestamp"].endswith("Z")
    [stdlib_line] = done.stderr.decode().splitlines()
    record: dict[str, Any] = orjson.loads(stdlib_line)
    assert {k: record[k] for k in ("event", "logger", "level")} == {
        "event": "Error handling request",
        "logger": "aiohttp.server",
        "level": "error",
    }
    assert record["exception"][0]["exc_type"] == "ZeroDivisionError"


def test_divergence_body_fields_are_redacted_and_bounded() -> None:
    secret = b'{"password": "hunter2", "name": "' + b"x" * 100 + b'"}'
    base = exchange("catalog", Verdict.DIVERGED)
    diverged = type(base)(
        base.route,
        base.request,
        Observation(200, (("Content-Type", "application/json"),), secret, elapsed_ms=3.0),
        Observation(200, (), b"\xff\xfe", elapsed_ms=4.0),
        base.comparison,
    )
    builder = ExampleBuilder(Redactor.from_settings(RedactSettings(body_paths=("$.password",))), 64)
    fields = divergence_body_fields(builder.build(diverged, "sig"))
    assert set(fields) == {"request_body", "legacy_body", "candidate_body"}
    assert "hunter2" not in fields["legacy_body"] and "[redacted:" in fields["legacy_body"]
    assert fields["legacy_body"].endswith(f"[...{len(secret)} bytes]")  # cut at 64 bytes
    assert fields["candidate_body"] == "base64://4="
    assert fields["request_body"] == ""
