"""A reconcile report as Markdown, self-contained HTML or JSON: totals, per-field counts, first examples."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import orjson

from proxy.reconcile.result import Example, JobResult, Outcome, ReconcileReport

CELL_CHARS = 160  # longer values are cut in md and html; json keeps what the examples hold

_TITLES = {
    Outcome.MISSING: "Missing in PostgreSQL (in MongoDB only)",
    Outcome.EXTRA: "Extra in PostgreSQL (not in MongoDB)",
    Outcome.DIFFERENT: "Different",
    Outcome.UNKEYED: "Without a usable key",
    Outcome.DUPLICATE: "Duplicate keys",
}


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= CELL_CHARS else text[:CELL_CHARS] + "…"


def _value(value: Any) -> Any:
    """A compared value for a table cell: strings quoted, so "" , " x" and "true" read as strings.

    Values the comparators shortened (`brief`) arrive as JSON text already and are shown as they are.
    """
    if isinstance(value, str) and not value.startswith(("{", "[")):
        return orjson.dumps(value).decode()
    return value


def totals(job: JobResult) -> list[tuple[str, int]]:
    return [
        ("MongoDB documents read", job.source_read),
        ("PostgreSQL rows read", job.target_read),
        ("matched", job.matched),
        ("missing in PostgreSQL", job.count(Outcome.MISSING)),
        ("extra in PostgreSQL", job.count(Outcome.EXTRA)),
        ("different", job.count(Outcome.DIFFERENT)),
        ("without a usable key", job.count(Outcome.UNKEYED)),
        ("duplicate keys", job.count(Outcome.DUPLICATE)),
    ]


def _summary(job: JobResult) -> list[str]:
    lines = [f"{job.source} → {job.target}"]
    timing = f"started {job.started_at}, {job.elapsed:.1f} s, {job.rate:,.0f} documents/s"
    lines.append(f"since {job.since}; {timing}" if job.since else timing)
    if job.last_key and job.status.value == "interrupted":
        lines.append(f"stopped after key {job.last_key}: only keys up to it were checked")
    if job.error:
        lines.append(f"error: {job.error}")
    return lines


# --- JSON -------------------------------------------------------------------------------------------------


def _example_json(example: Example) -> dict[str, Any]:
    data: dict[str, Any] = {"key": example.key}
    if example.side:
        data["side"] = example.side
    if example.differences:
        data["differences"] = [
            {"path": d.path, "kind": d.kind.value, "mongo": d.legacy, "postgres": d.candidate}
            for d in example.differences
        ]
    if example.source is not None:
        data["mongo"] = example.source
    if example.target is not None:
        data["postgres"] = example.target
    return data


def job_json(job: JobResult) -> dict[str, Any]:
    """One job's result as plain JSON data: what `--format json` prints and what a store may keep."""
    return {
        "job": job.job,
        "status": job.status.value,
        "source": job.source,
        "target": job.target,
        "since": job.since or None,
        "started_at": job.started_at,
        "elapsed_s": round(job.elapsed, 3),
        "documents_per_s": round(job.rate, 1),
        "last_key": job.last_key or None,
        "error": job.error or None,
        "totals": {
            "source_read": job.source_read,
            "target_read": job.target_read,
            "matched": job.matched,
            **{outcome.value: job.count(outcome) for outcome in Outcome},
        },
        "fields": [
            {"path": f.path, "kind": f.kind.value, "count": f.count, "keys": list(f.keys)} for f in job.fields
        ],
        "hidden_by_rules": [
            {"rule": r.rule, "path": r.path, "count": r.count, "reason": r.reason} for r in job.hidden
        ],
        "examples": {
            outcome.value: [_example_json(e) for e in job.examples_of(outcome)] for outcome in Outcome
        },
    }


def render_json(report: ReconcileReport) -> str:
    document = {"exit_code": report.exit_code, "jobs": [job_json(job) for job in report.jobs]}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"


# --- Markdown ---------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    return _text(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _md_examples(job: JobResult, outcome: Outcome) -> list[str]:
    examples = job.examples_of(outcome)
    if not examples:
        return []
    lines = [f"### {_TITLES[outcome]} (first {len(examples)} of {job.count(outcome):,})", ""]
    if outcome is Outcome.DIFFERENT:
        rows = [
            [e.key, d.path, d.kind.value, _value(d.legacy), _value(d.candidate)]
            for e in examples
            for d in e.differences
        ]
        return lines + _table(["key", "path", "kind", "MongoDB", "PostgreSQL"], rows)
    rows = [[e.key or "—", e.side or "", e.source if e.source is not None else e.target] for e in examples]
    return lines + _table(["key", "side", "document"], rows)


def _md_job(job: JobResult) -> list[str]:
    lines = [f"## {job.job}: {job.status.value.upper()}", ""]
    lines += [line + "  " for line in _summary(job)] + [""]
    lines += _table(["", "count"], [[label, f"{n:,}"] for label, n in totals(job)])
    if job.fields:
        lines += ["### Differences per field", ""]
        rows = [[f.path, f.kind.value, f"{f.count:,}", ", ".join(f.keys)] for f in job.fields]
        lines += _table(["path", "kind", "pairs", "first keys"], rows)
    if job.hidden:
        lines += ["### Differences hidden by rules", ""]
        rows = [[r.rule, r.path, f"{r.count:,}", r.reason] for r in job.hidden]
        lines += _table(["rule", "path", "count", "reason"], rows)
    for outcome in Outcome:
        lines += _md_examples(job, outcome)
    return lines


def render_md(report: ReconcileReport) -> str:
    lines = ["# Reconciliation: MongoDB → PostgreSQL", ""]
    for job in report.jobs:
        lines += _md_job(job)
    if not report.jobs:
        lines += ["No job ran.", ""]
    return "\n".join(lines)


# --- HTML -------------------------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
h2 .equal{color:#17733a}h2 .different,h2 .failed,h2 .interrupted{color:#b3261e}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right}code{font-size:12px;word-break:break-all}
p.meta{color:#555;margin:.2em 0}
"""


def _h(value: Any) -> str:
    return html.escape(_text(value))


def _html_table(
    header: list[str], rows: list[list[Any]], numeric: Callable[[int], bool] = lambda i: False
) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if numeric(i) else ''}>{_h(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _html_examples(job: JobResult, outcome: Outcome) -> str:
    examples = job.examples_of(outcome)
    if not examples:
        return ""
    title = f"<h3>{html.escape(_TITLES[outcome])} (first {len(examples)} of {job.count(outcome):,})</h3>"
    if outcome is Outcome.DIFFERENT:
        rows = [
            [e.key, d.path, d.kind.value, _value(d.legacy), _value(d.candidate)]
            for e in examples
            for d in e.differences
        ]
        return title + _html_table(["key", "path", "kind", "MongoDB", "PostgreSQL"], rows)
    rows = [[e.key or "—", e.side, e.source if e.source is not None else e.target] for e in examples]
    return title + _html_table(["key", "side", "document"], rows)


def _html_job(job: JobResult) -> str:
    status = job.status.value
    parts = [f'<h2>{html.escape(job.job)}: <span class="{status}">{status.upper()}</span></h2>']
    parts += [f'<p class="meta">{html.escape(line)}</p>' for line in _summary(job)]
    parts.append(
        _html_table(["", "count"], [[label, f"{n:,}"] for label, n in totals(job)], lambda i: i == 1)
    )
    if job.fields:
        rows = [[f.path, f.kind.value, f"{f.count:,}", ", ".join(f.keys)] for f in job.fields]
        parts.append(
            "<h3>Differences per field</h3>" + _html_table(["path", "kind", "pairs", "first keys"], rows)
        )
    if job.hidden:
        rows = [[r.rule, r.path, f"{r.count:,}", r.reason] for r in job.hidden]
        parts.append(
            "<h3>Differences hidden by rules</h3>" + _html_table(["rule", "path", "count", "reason"], rows)
        )
    parts += [_html_examples(job, outcome) for outcome in Outcome]
    return "\n".join(parts)


def render_html(report: ReconcileReport) -> str:
    jobs = "\n".join(_html_job(job) for job in report.jobs) or "<p>No job ran.</p>"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Reconciliation</title><style>{_STYLE}</style></head>\n"
        f"<body><h1>Reconciliation: MongoDB → PostgreSQL</h1>\n{jobs}\n</body></html>\n"
    )


RENDERERS: dict[str, Callable[[ReconcileReport], str]] = {
    "md": render_md,
    "html": render_html,
    "json": render_json,
}
