"""JSON logs for everything the process writes, correlated with traces; and the opt-in divergence bodies.

`configure_logging` is a drop-in for proxy.server's: structlog events as JSON lines on stdout (now with the
logger's name and, inside a span, its trace and span ids), and the standard library's records (aiohttp,
asyncio, the OpenTelemetry SDK's own export errors) as JSON lines on stderr instead of plain text.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, BinaryIO, TextIO

import orjson
import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor

from proxy.store.base import Body, Example


class AddTraceContext:
    """Processor: `trace_id` and `span_id` of the current span, unless the event already names a trace."""

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        if event_dict.get("trace_id"):
            return event_dict
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            event_dict["trace_id"] = format(context.trace_id, "032x")
            event_dict["span_id"] = format(context.span_id, "016x")
        return event_dict


def add_logger_name(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Processor: the name given to structlog.get_logger(name) (BytesLogger keeps it), when there is one."""
    name = getattr(logger, "name", None)
    if name:
        event_dict.setdefault("logger", name)
    return event_dict


def shared_processors() -> list[Processor]:
    """What every event gets, from structlog or from the standard library, before rendering."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        AddTraceContext(),
    ]


def configure_logging(
    level: int = logging.INFO, *, out: BinaryIO | None = None, err: TextIO | None = None
) -> None:
    """structlog JSON lines on `out` (stdout); standard library records as JSON lines on `err` (stderr)."""
    structlog.configure(
        processors=[
            *shared_processors(),
            add_logger_name,
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.BytesLoggerFactory(out or sys.stdout.buffer),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(err or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared_processors(), structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.dict_tracebacks,
                structlog.processors.JSONRenderer(serializer=_dumps_text),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # aiohttp's and the SDK's errors and warnings, not their chatter


def _dumps_text(value: Any, **kwargs: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def divergence_body_fields(example: Example) -> dict[str, str]:
    """For `log_bodies = true`: the example's request and both answers, redacted and truncated as stored."""
    return {
        "request_body": _body_text(example.request_body),
        "legacy_body": _body_text(example.legacy.body),
        "candidate_body": _body_text(example.candidate.body),
    }


def _body_text(body: Body) -> str:
    text = body.text if body.format == "text" else f"base64:{body.text}"
    return f"{text}[...{body.size} bytes]" if body.truncated else text
