"""One divergence example shown side by side: legacy vs candidate, raw and normalized, changes highlighted.

Raw is the stored (redacted, truncated) response: status, headers, then the body pretty-printed when it is
JSON. Normalized re-runs the route's comparison pipeline (comparators) on the stored example, so what the
rules hid is gone and what still differs is what made the divergence. Lines are aligned with difflib;
inside a changed line the changed characters are marked.
"""

from __future__ import annotations

import base64
import difflib
import json
from collections.abc import Sequence
from typing import Any

from comparators.body import BodyKind
from comparators.compare import normalize
from comparators.model import Observation
from comparators.pair import Pair, Side, read_side
from comparators.spec import CompareSpec
from config.model import Config
from proxy.htmlkit import Markup, join, table, tag
from proxy.store.base import Body, Example, StoredResponse

MAX_LINES = 3000  # per side: a huge body is cut, the page stays usable
CONTEXT = 6  # unchanged lines kept around each change when a long run is folded
_DECODED_AWAY = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _json_lines(value: Any) -> list[str]:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str).splitlines()


def body_lines(body: Body) -> list[str]:
    """A stored body as lines: pretty JSON when it parses, else its text; binary is summarized."""
    if body.format == "base64":
        return [f"[binary body: {body.size:,} bytes]"]
    suffix = [f"[truncated: {body.size:,} bytes in the original]"] if body.truncated else []
    try:
        return _json_lines(json.loads(body.text)) + suffix
    except ValueError:
        return body.text.splitlines() + suffix


def response_lines(response: StoredResponse) -> list[str]:
    head = [f"HTTP {response.status}"] if response.status is not None else []
    if response.error:
        head.append(f"[no response: {response.error}]")
    headers = [f"{name.lower()}: {value}" for name, value in response.headers]
    return [*head, *headers, "", *body_lines(response.body)]


def observation(response: StoredResponse) -> Observation:
    """The stored response as the comparators see one (its body is stored already decoded)."""
    raw = base64.b64decode(response.body.text) if response.body.format == "base64" else response.body.text
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    headers = tuple((n, v) for n, v in response.headers if n.lower() not in _DECODED_AWAY)
    return Observation(status=response.status, headers=headers, body=data, elapsed_ms=response.elapsed_ms)


def side_lines(side: Side) -> list[str]:
    head = [f"HTTP {side.status}"] if side.status is not None else []
    headers = [f"{name}: {value}" for name, values in sorted(side.headers.items()) for value in values]
    body = side.body
    if body.kind.structured:
        content = _json_lines(body.content)
    elif body.kind is BodyKind.BYTES:
        content = [f"[binary body: {len(body.raw):,} bytes]"]
    else:
        content = str(body.content or "").splitlines()
    note = [f"[{body.note}]"] if body.note else []
    return [*head, *headers, "", *note, *content]


def normalized_lines(example: Example, spec: CompareSpec) -> tuple[list[str], list[str]] | None:
    """Both sides after the route's pipeline; None when a side has no response to normalize."""
    if example.legacy.error or example.candidate.error:
        return None
    legacy = read_side(observation(example.legacy), spec.ignore_headers)
    candidate = read_side(observation(example.candidate), spec.ignore_headers)
    pair = normalize(spec, Pair(legacy, candidate))
    return side_lines(pair.legacy), side_lines(pair.candidate)


def _marked(text: str, spans: Sequence[tuple[int, int]], css: str) -> Markup:
    parts: list[object] = []
    cursor = 0
    for start, end in spans:
        parts += [text[cursor:start], tag("mark", text[start:end], class_=css)]
        cursor = end
    parts.append(text[cursor:])
    return join(parts)


def _changed_pair(left: str, right: str) -> tuple[Markup, Markup]:
    """Both lines with the characters that differ marked."""
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    removed = [(i1, i2) for op, i1, i2, _, _ in matcher.get_opcodes() if op in ("replace", "delete")]
    added = [(j1, j2) for op, _, _, j1, j2 in matcher.get_opcodes() if op in ("replace", "insert")]
    return _marked(left, removed, "del"), _marked(right, added, "ins")


def _row(css: str, ln: int | None, left: object, rn: int | None, right: object) -> Markup:
    cells = [
        tag("td", "" if ln is None else ln, class_="ln"),
        tag("td", left, class_="side left"),
        tag("td", "" if rn is None else rn, class_="ln"),
        tag("td", right, class_="side right"),
    ]
    return tag("tr", join(cells), class_=css)


def _rows(left: list[str], right: list[str]) -> list[Markup]:
    rows: list[Markup] = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows += _equal_rows(left, right, i1, i2, j1)
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            li, rj = i1 + k, j1 + k
            has_left, has_right = li < i2, rj < j2
            if has_left and has_right:
                marked = _changed_pair(left[li], right[rj])
                rows.append(_row("chg", li + 1, marked[0], rj + 1, marked[1]))
            elif has_left:
                rows.append(_row("del", li + 1, left[li], None, ""))
            else:
                rows.append(_row("ins", None, "", rj + 1, right[rj]))
    return rows


def _equal_rows(left: list[str], right: list[str], i1: int, i2: int, j1: int) -> list[Markup]:
    """Unchanged lines; a long run keeps CONTEXT lines at each end and folds the middle."""
    keep = range(i1, i2)
    if i2 - i1 > 2 * CONTEXT + 1:
        head, tail = range(i1, i1 + CONTEXT), range(i2 - CONTEXT, i2)
        skipped = i2 - i1 - 2 * CONTEXT
        fold = tag("tr", tag("td", f"… {skipped:,} unchanged lines …", colspan=4), class_="skip")
        return [*(_eq(left, i, j1 + i - i1) for i in head), fold, *(_eq(left, i, j1 + i - i1) for i in tail)]
    return [_eq(left, i, j1 + i - i1) for i in keep]


def _eq(left: list[str], i: int, j: int) -> Markup:
    return _row("eq", i + 1, left[i], j + 1, left[i])


def side_by_side(
    left: list[str], right: list[str], titles: tuple[str, str] = ("legacy", "candidate")
) -> Markup:
    """A two-column table of both sides, aligned, with changed lines and characters highlighted."""
    left, right = left[:MAX_LINES], right[:MAX_LINES]
    # Fixed layout takes column widths from the first row: declare them, the header spans two columns.
    columns = Markup('<colgroup><col class="ln"><col><col class="ln"><col></colgroup>')
    head = tag("tr", join([tag("th", titles[0], colspan=2), tag("th", titles[1], colspan=2)]))
    content = join([columns, tag("thead", head), tag("tbody", join(_rows(left, right)))])
    return tag("table", content, class_="diff")


def differences_table(example: Example) -> Markup:
    """The differences recorded with the example: path, kind, both values."""
    try:
        rows = json.loads(example.differences)
    except ValueError:
        return tag("p", "differences unreadable", class_="muted")
    return table(
        ("path", "kind", "legacy", "candidate"),
        [
            (
                tag("code", row.get("path", "")),
                row.get("kind", ""),
                _value(row.get("legacy")),
                _value(row.get("candidate")),
            )
            for row in rows
        ],
    )


def _value(value: Any) -> Markup:
    return tag("code", json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value)


def example_view(example: Example, spec: CompareSpec | None) -> Markup:
    """The request, the recorded differences, the raw side-by-side and (with the route's rules) normalized."""
    request = tag("div", f"{example.method} {example.target}", class_="request-line")
    parts: list[object] = [request, tag("h3", "Differences"), differences_table(example)]
    parts += [
        tag("h3", "Raw responses"),
        side_by_side(response_lines(example.legacy), response_lines(example.candidate)),
    ]
    if spec is not None:
        normalized = normalized_lines(example, spec)
        parts.append(tag("h3", "Normalized by the route's rules"))
        if normalized is None:
            parts.append(tag("p", "a side gave no response: nothing to normalize", class_="muted"))
        else:
            parts.append(side_by_side(*normalized, titles=("legacy (normalized)", "candidate (normalized)")))
    return join(parts)


def route_spec(config: Config | None, route: str) -> CompareSpec | None:
    """The rules a route ran under: its own, the default for automatic routes; None without a config."""
    if config is None:
        return None
    rule = next((r for r in config.routes if r.name == route), None)
    return rule.compare if rule is not None else config.default_compare
