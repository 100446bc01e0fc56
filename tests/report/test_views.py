"""The pure HTML pieces: side-by-side diff lines and marks, normalization of a stored example, SVG charts."""

from __future__ import annotations

import base64
import json
import re

import pytest

from comparators.spec import CompareSpec
from config.loader import parse_config
from proxy.charts import Line, Mark, line_chart, nice_ceiling
from proxy.diffview import (
    CONTEXT,
    body_lines,
    normalized_lines,
    response_lines,
    route_spec,
    side_by_side,
)
from proxy.htmlkit import Markup, esc, table, tag
from proxy.store.base import Body, Example, StoredResponse

JSON_HEADERS = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))


def stored(body: str, status: int | None = 200, error: str | None = None) -> StoredResponse:
    return StoredResponse(status, JSON_HEADERS, Body(body, "text", len(body.encode())), error)


def example(legacy: StoredResponse, candidate: StoredResponse) -> Example:
    return Example(
        id="e1",
        signature="s1",
        route="GET /items",
        recorded_at=0.0,
        request_id="r1",
        trace_id="",
        method="GET",
        target="/items",
        request_headers=(),
        request_body=Body(),
        legacy=legacy,
        candidate=candidate,
        verdict="diverged",
        differences="[]",
    )


@pytest.mark.parametrize(
    ("body", "lines"),
    [
        (Body('{"a":1,"b":[2]}', "text", 15), ["{", '  "a": 1,', '  "b": [', "    2", "  ]", "}"]),
        (Body("plain\ntext", "text", 10), ["plain", "text"]),
        (Body('{"a":', "text", 900), ['{"a":', "[truncated: 900 bytes in the original]"]),
        (Body(base64.b64encode(b"\x00\x01").decode(), "base64", 2), ["[binary body: 2 bytes]"]),
    ],
)
def test_body_lines(body: Body, lines: list[str]) -> None:
    assert body_lines(body) == lines


def test_response_lines_show_status_error_and_headers() -> None:
    assert response_lines(stored("{}"))[:3] == [
        "HTTP 200",
        "content-type: application/json",
        "content-encoding: gzip",
    ]
    assert response_lines(stored("", None, "timeout: 5 s"))[0] == "[no response: timeout: 5 s]"


def test_side_by_side_marks_changes_escapes_and_folds_long_runs() -> None:
    left = [f"line {n}" for n in range(40)] + ["<b>old</b>"]
    right = [f"line {n}" for n in range(40)] + ["<b>new</b>"]
    html = side_by_side(left, right)
    assert '<tr class="skip"><td colspan="4">… 28 unchanged lines …</td></tr>' in html
    assert html.count('<tr class="eq">') == 2 * CONTEXT
    changed = re.findall(r'<tr class="chg">.*?</tr>', html)[0]
    assert '&lt;b&gt;<mark class="del">old</mark>&lt;/b&gt;' in changed
    assert '&lt;b&gt;<mark class="ins">new</mark>&lt;/b&gt;' in changed and "<b>" not in html
    only_left = side_by_side(["a", "gone"], ["a"])
    assert '<tr class="del"><td class="ln">2</td><td class="side left">gone</td>' in only_left


def test_normalization_reruns_the_route_pipeline_on_a_stored_example() -> None:
    config = parse_config(
        {
            "upstreams": {"legacy": "http://legacy"},
            "routes": [
                {"name": "GET /items", "path": "/items", "compare": [{"op": "ignore", "path": "$.ts"}]}
            ],
        }
    )
    spec = route_spec(config, "GET /items")
    assert spec is not None and route_spec(config, "GET /auto") is config.default_compare
    assert route_spec(None, "GET /items") is None
    pair = example(stored(json.dumps({"ts": 1, "n": 1})), stored(json.dumps({"ts": 2, "n": 2})))
    normalized = normalized_lines(pair, spec)
    assert normalized is not None
    legacy, candidate = normalized
    assert legacy[0] == "HTTP 200" and "content-encoding: gzip" not in legacy  # stored bodies are decoded
    assert '  "n": 1' in legacy and '  "n": 2' in candidate and not any("ts" in line for line in legacy)
    failed = example(stored("{}"), stored("", None, "timeout"))
    assert normalized_lines(failed, CompareSpec()) is None


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1.0), (0.7, 1.0), (1.2, 2.0), (2.1, 2.5), (3.3, 5.0), (7, 10.0), (99, 100.0)]
)
def test_nice_ceiling(value: float, top: float) -> None:
    assert nice_ceiling(value) == pytest.approx(top)


def test_line_chart_draws_lines_with_gaps_and_says_when_empty() -> None:
    points = ((0.0, 1.0), (60.0, 2.0), (120.0, None), (180.0, 4.0), (240.0, 3.0))
    svg = line_chart([Line("rate", "s-diverged", points)], label="r <&>", start=0, end=300, y_format=str)
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 4  # the None breaks the line
    assert "<title>r &lt;&amp;&gt;</title>" in svg and "xmlns" not in svg
    assert ">5.0</text>" in svg  # the axis top: the nice ceiling of 4
    empty = line_chart([Line("rate", "s-diverged", ((0.0, None),))], label="x", start=0, end=60, y_format=str)
    assert ">no data</text>" in empty


def test_mode_changes_are_marked_on_a_chart_labels_never_overlapping() -> None:
    points = ((0.0, 1.0), (3600.0, 2.0))
    marks = [
        Mark(1800.0, "candidate primary", "a <switch>"),
        Mark(1810.0, "shadow", "a rollback ten seconds later"),  # too close: its label is left out
        Mark(3000.0, "candidate", "far enough"),
        Mark(9999.0, "legacy", "outside the chart"),
    ]
    svg = line_chart(
        [Line("rate", "s-diverged", points)], label="x", start=0, end=3600, y_format=str, marks=marks
    )
    assert svg.count('<line class="mark"') == 3 and "outside the chart" not in svg
    assert re.findall(r'<text[^>]*class="mark"[^>]*>([^<]+)</text>', svg) == [
        "candidate primary",
        "candidate",
    ]
    assert "<title>a &lt;switch&gt;</title>" in svg


def test_html_kit_escapes_unless_markup() -> None:
    assert esc("<a href='x'>") == "&lt;a href=&#x27;x&#x27;&gt;" and esc(Markup("<b>")) == "<b>"
    assert (
        tag("td", "<x>", class_="num", data_id='"q"')
        == '<td class="num" data-id="&quot;q&quot;">&lt;x&gt;</td>'
    )
    assert "<td>&lt;i&gt;</td><td><i>ok</i></td>" in table(("a", "b"), [("<i>", Markup("<i>ok</i>"))])
