"""`shadow-proxy report`: read a store (every replica's rows), print md, json or html, and gate with --check.

Exit codes: 0 done (with --check: every selected route compared something and saw no divergence and no
candidate error); 1 the check failed (or found no data); 2 the store could not be read (bad URL, unreachable,
missing, or not a shadow-proxy store). The readiness rules of the cutover window (min samples, rates, latency)
will refine what --check demands; the exit codes stay.
"""

from __future__ import annotations

import asyncio
import html
import json
import sys
from collections.abc import Callable
from pathlib import Path

from config.model import Config
from proxy.report import Report, RouteReport, build_report, iso, report_json
from proxy.store import StoreError, open_store
from proxy.store.schema import latest_version

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
TABLE_COLUMNS = (
    "compared",
    "matched",
    "diverged",
    "candidate_errors",
    "legacy_errors",
    "dropped",
    "too_large",
)


def run_report(
    store_url: str,
    config: Config | None,
    output_format: str,
    routes: tuple[str, ...],
    check: bool,
    out: str | None,
) -> int:
    render = RENDERERS.get(output_format)
    if render is None:
        print(f"report: unknown format {output_format!r} (md, json, html)", file=sys.stderr)
        return EXIT_ERROR
    try:
        report = asyncio.run(load_report(store_url, config, routes))
        text = render(report)
        if out:
            Path(out).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    except (StoreError, OSError) as exc:
        print(f"report: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if report.empty:
        print(f"report: no comparisons recorded in {report.store}", file=sys.stderr)
    return check_exit(report) if check else EXIT_OK


async def load_report(store_url: str, config: Config | None, routes: tuple[str, ...]) -> Report:
    """Open the store read-only in spirit (never creating or migrating it) and build the report."""
    store = open_store(store_url, create=False)
    try:
        version, wanted = await store.schema_version(), latest_version(store.dialect)
        if version == 0:
            raise StoreError(
                f"{store.url}: not a shadow-proxy store (no schema): has `serve` written to it yet?"
            )
        if version != wanted:
            hint = (
                "run `shadow-proxy serve` on it once to migrate" if version < wanted else "upgrade this tool"
            )
            raise StoreError(f"{store.url}: schema version {version}, this build reads {wanted}: {hint}")
        return await build_report(store, routes=routes, config=config)
    finally:
        await store.close()


def failures(route: RouteReport) -> list[str]:
    """Why a route fails the (interim) gate; empty when it passes."""
    if not route.covered or route.count("compared") == 0:
        return ["not covered: no comparisons recorded"]
    reasons = []
    if route.count("diverged"):
        reasons.append(f"{route.count('diverged')} divergences")
    if route.count("candidate_errors"):
        reasons.append(f"{route.count('candidate_errors')} candidate errors")
    return reasons


def check_exit(report: Report) -> int:
    failed = {route.route: failures(route) for route in report.routes if failures(route)}
    if not report.routes:
        print("check: FAIL: no routes in the store", file=sys.stderr)
        return EXIT_FAIL
    if failed:
        detail = "; ".join(f"{name}: {', '.join(reasons)}" for name, reasons in failed.items())
        print(f"check: FAIL ({len(failed)} of {len(report.routes)} routes): {detail}", file=sys.stderr)
        return EXIT_FAIL
    compared = sum(route.count("compared") for route in report.routes)
    print(
        f"check: PASS ({len(report.routes)} routes, {compared} comparisons, none diverged)", file=sys.stderr
    )
    return EXIT_OK


def render_json(report: Report) -> str:
    return json.dumps(report_json(report), indent=2) + "\n"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _rate(route: RouteReport) -> str:
    rate = route.divergence_rate
    return f"{rate:.1%}" if rate is not None else "-"


def render_markdown(report: Report) -> str:
    instances = ", ".join(i.instance_id for i in report.instances) or "none"
    lines = [
        "# shadow-proxy report",
        "",
        f"Generated {iso(report.generated_at)} from `{report.store}`; instances: {instances}.",
        "",
        "| Route | "
        + " | ".join(c.replace("_", " ").capitalize() for c in TABLE_COLUMNS)
        + " | Divergence |",
        "|---|" + "---:|" * (len(TABLE_COLUMNS) + 1),
    ]
    for route in report.routes:
        counts = " | ".join(str(route.count(c)) for c in TABLE_COLUMNS)
        lines.append(f"| {_cell(route.route)} | {counts} | {_rate(route)} |")
    for route in report.routes:
        lines += ["", *_route_markdown(route)]
    return "\n".join(lines) + "\n"


def _route_markdown(route: RouteReport) -> list[str]:
    lines = [f"## {route.route}", ""]
    if not route.covered:
        return [*lines, "Not covered: no traffic recorded for this route."]
    lines.append(
        f"{route.count('diverged')} of {route.count('compared')} comparisons diverged ({_rate(route)})."
    )
    if route.differences:
        lines += ["", "| Path | Kind | Count |", "|---|---|---:|"]
        lines += [f"| `{_cell(p.path)}` | {p.kind} | {p.count} |" for p in route.differences]
    if route.signatures:
        lines += [
            "",
            "Top signatures:",
            "",
            "| Signature | Differences | Count | Examples |",
            "|---|---|---:|---:|",
        ]
        for s in route.signatures:
            paths = ", ".join(f"`{_cell(p)}` ({k})" for p, k in s.paths)
            lines.append(f"| {s.signature} | {paths} | {s.count} | {s.examples} |")
    legacy, candidate = route.legacy, route.candidate
    if legacy.count or candidate.count:
        lines += [
            "",
            f"Latency (mean / p95 ms): legacy {_ms(legacy.mean_ms)} / {_ms(legacy.quantile(0.95))}, "
            f"candidate {_ms(candidate.mean_ms)} / {_ms(candidate.quantile(0.95))}.",
        ]
    return lines


def _ms(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


def render_html(report: Report) -> str:
    """A minimal self-contained page (no scripts, no network); charts and readiness come later."""
    rows = "".join(
        "<tr><td>"
        + html.escape(route.route)
        + "</td>"
        + "".join(f"<td>{route.count(c)}</td>" for c in TABLE_COLUMNS)
        + f"<td>{html.escape(_rate(route))}</td></tr>"
        for route in report.routes
    )
    sections = "".join(_route_html(route) for route in report.routes)
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in TABLE_COLUMNS)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>shadow-proxy report</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}td:first-child{text-align:left}"
        "</style></head><body><h1>shadow-proxy report</h1>"
        f"<p>Generated {iso(report.generated_at)} from <code>{html.escape(report.store)}</code></p>"
        f"<table><tr><th>route</th>{head}<th>divergence</th></tr>{rows}</table>{sections}</body></html>\n"
    )


def _route_html(route: RouteReport) -> str:
    items = "".join(
        f"<tr><td><code>{html.escape(p.path)}</code></td><td>{html.escape(p.kind)}</td><td>{p.count}</td></tr>"
        for p in route.differences
    )
    table = f"<table><tr><th>path</th><th>kind</th><th>count</th></tr>{items}</table>" if items else ""
    status = (
        "not covered"
        if not route.covered
        else f"{route.count('diverged')} of {route.count('compared')} diverged"
    )
    return f"<h2>{html.escape(route.route)}</h2><p>{html.escape(status)}</p>{table}"


RENDERERS: dict[str, Callable[[Report], str]] = {
    "md": render_markdown,
    "json": render_json,
    "html": render_html,
}
