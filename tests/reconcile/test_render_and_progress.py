"""Reports (md, html, json), exit codes, and progress lines, from hand-built results."""

from __future__ import annotations

import io
import json

import pytest

from comparators.model import Difference, DiffKind
from proxy.reconcile.progress import Progress, describe
from proxy.reconcile.render import render_html, render_json, render_md
from proxy.reconcile.result import Example, FieldCount, JobResult, Outcome, ReconcileReport, RuleCount, Status

DIFF = Difference("$.closeToTransport", DiffKind.TYPE, "yes", True)
RESULT = JobResult(
    job="missions",
    status=Status.DIFFERENT,
    source="MongoDB m",
    target="PostgreSQL p",
    source_read=10,
    target_read=10,
    matched=7,
    counts={Outcome.MISSING: 1, Outcome.EXTRA: 1, Outcome.DIFFERENT: 2},
    fields=(FieldCount("$.closeToTransport", DiffKind.TYPE, 2, ("k1", "k2")),),
    hidden=(RuleCount("compare[0]:equivalent", "$.remote", 4, "'' is NULL on the candidate"),),
    examples=(
        Example(Outcome.MISSING, "k0", source={"title": "a|b"}),
        Example(Outcome.EXTRA, "k9", target={"title": "<x>"}),
        Example(Outcome.DIFFERENT, "k1", {"closeToTransport": "yes"}, {"closeToTransport": True}, (DIFF,)),
    ),
    started_at="2025-03-15T10:22:00+00:00",
    elapsed=2.0,
)


def test_markdown_has_totals_fields_rules_and_examples() -> None:
    text = render_md(ReconcileReport((RESULT,)))
    assert "## missions: DIFFERENT" in text
    assert "| missing in PostgreSQL | 1 |" in text
    assert "| $.closeToTransport | type | 2 | k1, k2 |" in text
    assert "| compare[0]:equivalent | $.remote | 4 | '' is NULL on the candidate |" in text
    assert '| k0 |  | {"title":"a\\|b"} |' in text  # a pipe in a value does not break the table
    assert '| k1 | $.closeToTransport | type | "yes" | true |' in text
    assert "5 documents/s" in text


def test_json_is_complete_and_machine_readable() -> None:
    data = json.loads(render_json(ReconcileReport((RESULT,))))
    job = data["jobs"][0]
    assert data["exit_code"] == 1
    assert job["totals"] == {
        "source_read": 10,
        "target_read": 10,
        "matched": 7,
        "missing": 1,
        "extra": 1,
        "different": 2,
        "unkeyed": 0,
        "duplicate": 0,
    }
    assert job["examples"]["different"][0]["differences"] == [
        {"path": "$.closeToTransport", "kind": "type", "mongo": "yes", "postgres": True}
    ]
    assert job["examples"]["extra"] == [{"key": "k9", "postgres": {"title": "<x>"}}]


def test_html_escapes_values_and_needs_nothing_else() -> None:
    page = render_html(ReconcileReport((RESULT,)))
    assert "&lt;x&gt;" in page and "<x>" not in page
    assert "<script" not in page and "http" not in page


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ((), 0),
        ((Status.EQUAL,), 0),
        ((Status.EQUAL, Status.DIFFERENT), 1),
        ((Status.DIFFERENT, Status.INTERRUPTED), 130),
        ((Status.INTERRUPTED, Status.FAILED, Status.DIFFERENT), 2),
    ],
)
def test_exit_code_is_the_worst_job_s(statuses: tuple[Status, ...], code: int) -> None:
    report = ReconcileReport(tuple(JobResult(job=f"j{i}", status=s) for i, s in enumerate(statuses)))
    assert report.exit_code == code


@pytest.mark.parametrize(
    ("done", "total", "elapsed", "width", "expected"),
    [
        (500, 2000, 1.0, 4, "[#...] j: 500/2,000 (25%) 500 docs/s ETA 00:03"),
        (2000, 2000, 4.0, None, "j: 2,000/2,000 (100%) 500 docs/s ETA --:--"),
        (500, 0, 10.0, None, "j: 500 docs 50 docs/s elapsed 00:10"),
        (1, 100_000, 1.0, None, "j: 1/100,000 (0%) 1 docs/s ETA 27:46:39"),
    ],
)
def test_progress_lines(done: int, total: int, elapsed: float, width: int | None, expected: str) -> None:
    assert describe("j", done, total, elapsed, width) == expected


def test_progress_redraws_on_a_terminal_and_prints_lines_otherwise() -> None:
    terminal, log = io.StringIO(), io.StringIO()
    Progress(terminal, tty=True).finish("j", 1, 2, 1.0)
    Progress(log, tty=False).finish("j", 1, 2, 1.0)
    assert terminal.getvalue().startswith("\r\x1b[K[") and terminal.getvalue().endswith("\n")
    assert log.getvalue() == "j: 1/2 (50%) 1 docs/s ETA 00:01\n"
