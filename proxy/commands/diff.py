"""`shadow-proxy diff`: run one route's rules on two saved responses and explain the verdict offline."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson

from comparators.compare import compare, normalize, read_pair
from comparators.model import Comparison, Observation
from comparators.spec import CompareSpec
from config import Config

EXIT_MATCH, EXIT_DIVERGED, EXIT_ERROR = 0, 1, 2


class InputError(ValueError):
    """A saved response that cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """A comparison with what each rule did: the evidence for debugging a rule offline."""

    comparison: Comparison
    rules: tuple[tuple[str, str, bool], ...]  # (name, reason, matched something)
    legacy_normalized: Any
    candidate_normalized: Any


def read_observation(path: str) -> Observation:
    """A saved response: a JSON file `{"status", "headers", "body"}` or any other file taken as a 200 body."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        return Observation(status=200, body=data)
    if isinstance(document, dict) and "status" in document and ("body" in document or "headers" in document):
        return _envelope(path, document)
    return Observation(status=200, headers=(("content-type", "application/json"),), body=data)


def _envelope(path: str, document: dict[str, Any]) -> Observation:
    status = document.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        raise InputError(f"{path}: status: expected an integer, got {status!r}")
    headers = _headers(path, document.get("headers", {}))
    body = document.get("body", b"")
    if isinstance(body, str):
        raw = body.encode()
    elif body is None or isinstance(body, bytes):
        raw = body or b""
    else:  # a JSON value saved inline
        raw = orjson.dumps(body)
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers += (("content-type", "application/json"),)
    return Observation(status=status, headers=headers, body=raw)


def _headers(path: str, raw: Any) -> tuple[tuple[str, str], ...]:
    """Headers as an object (`{"set-cookie": ["a", "b"]}`) or a list of [name, value] pairs."""
    if isinstance(raw, dict):
        raw = list(raw.items())
    if not isinstance(raw, list):
        raise InputError(f"{path}: headers: expected an object or a list of [name, value] pairs")
    headers: list[tuple[str, str]] = []
    for item in raw:
        if not (isinstance(item, list | tuple) and len(item) == 2):
            raise InputError(f"{path}: headers: expected [name, value], got {item!r}")
        name, value = item
        headers.extend((str(name), str(one)) for one in (value if isinstance(value, list) else [value]))
    return tuple(headers)


def explain(spec: CompareSpec, legacy: Observation, candidate: Observation) -> Explanation:
    """Compare as the proxy would, and keep what each rule saw and did."""
    comparison = compare(spec, legacy, candidate)
    pair = normalize(spec, read_pair(spec, legacy, candidate))
    rules = tuple((n.name, n.reason, n.name in pair.rules_hit) for n in spec.normalizers)
    return Explanation(comparison, rules, pair.legacy.body.content, pair.candidate.body.content)


def route_spec(config: Config, route: str | None) -> CompareSpec:
    if route is None:
        return config.default_compare
    for rule in config.routes:
        if rule.name == route:
            return rule.compare
    known = ", ".join(r.name for r in config.routes) or "none"
    raise InputError(f"--route: no route named {route!r} (configured: {known})")


def render(explanation: Explanation, out: TextIO, show_normalized: bool) -> None:
    comparison = explanation.comparison
    out.write(f"verdict: {comparison.verdict.value}\n")
    if explanation.rules:
        out.write("\nrules, in order:\n")
        for name, reason, matched in explanation.rules:
            mark = "matched" if matched else "matched nothing"
            out.write(f"  {name}: {mark}{f'  ({reason})' if reason else ''}\n")
    if comparison.ignored:
        out.write("\nignored but different (hidden by a rule):\n")
        for ignored in comparison.ignored:
            out.write(
                f"  {ignored.path}  by {ignored.rule}{f'  ({ignored.reason})' if ignored.reason else ''}\n"
            )
    if comparison.differences:
        out.write("\ndifferences:\n")
        for d in comparison.differences:
            legacy, candidate = _short(d.legacy), _short(d.candidate)
            out.write(f"  {d.path}  [{d.kind.value}]  legacy={legacy}  candidate={candidate}\n")
    if show_normalized:
        for side, content in (
            ("legacy", explanation.legacy_normalized),
            ("candidate", explanation.candidate_normalized),
        ):
            out.write(f"\nnormalized {side}:\n{_pretty(content)}\n")


def _short(value: Any) -> str:
    text = orjson.dumps(value, default=str).decode() if not isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _pretty(content: Any) -> str:
    if isinstance(content, bytes):
        return repr(content[:2000])
    if isinstance(content, str):
        return content[:4000]
    return orjson.dumps(content, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS, default=str).decode()


def run_diff(
    legacy_file: str, candidate_file: str, config: Config, route: str | None, normalized: bool
) -> int:
    """Exit 0 when the two responses match under the route's rules, 1 when they differ, 2 on bad input."""
    try:
        spec = route_spec(config, route)
        explanation = explain(spec, read_observation(legacy_file), read_observation(candidate_file))
    except InputError as exc:
        print(f"shadow-proxy diff: {exc}", file=sys.stderr)
        return EXIT_ERROR
    render(explanation, sys.stdout, normalized)
    return EXIT_MATCH if explanation.comparison.matched else EXIT_DIVERGED
