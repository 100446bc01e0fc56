"""`shadow-proxy report`: read a store (every replica's rows), print md, json or html, and gate with --check.

Exit codes: 0 done (with --check: every selected route is READY over its cutover window); 1 the check failed
(a route NOT_READY or without data, or no route at all); 2 the store could not be read (bad URL,
unreachable, missing, or not a shadow-proxy store) or the output could not be written.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from config.model import Config
from proxy.htmlkit import duration
from proxy.readiness import ReadinessVerdict
from proxy.report import Report, RouteReport, build_report
from proxy.report_html import render_html
from proxy.report_json import iso, report_json
from proxy.route_view import eta_text, since_text
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
    *,
    clock: Callable[[], float] = time.time,
) -> int:
    """Build, render and write the report; `clock` is when the cutover windows end (tests pin it)."""
    render = RENDERERS.get(output_format)
    if render is None:
        print(f"report: unknown format {output_format!r} (md, json, html)", file=sys.stderr)
        return EXIT_ERROR
    try:
        report = asyncio.run(load_report(store_url, config, routes, clock=clock))
        text = render(report, config)
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


async def load_report(
    store_url: str,
    config: Config | None,
    routes: tuple[str, ...],
    *,
    clock: Callable[[], float] = time.time,
) -> Report:
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
        return await build_report(store, routes=routes, config=config, clock=clock)
    finally:
        await store.close()


def failures(route: RouteReport) -> list[str]:
    """Why a route fails the cutover gate, one line per failing criterion; empty when it is READY."""
    readiness = route.readiness
    if readiness is None or readiness.verdict is ReadinessVerdict.NO_DATA:
        window = duration(readiness.settings.window) if readiness else "window"
        return [f"not covered: no comparisons in the last {window}"]
    return [f"{reason.code}: {reason.message}" for reason in readiness.reasons]


def check_exit(report: Report) -> int:
    if not report.routes:
        print("check: FAIL: no routes in the store", file=sys.stderr)
        return EXIT_FAIL
    failed = {route.route: failures(route) for route in report.routes if failures(route)}
    if failed:
        detail = "; ".join(f"{name}: {', '.join(reasons)}" for name, reasons in failed.items())
        print(
            f"check: FAIL ({len(failed)} of {len(report.routes)} routes not ready): {detail}", file=sys.stderr
        )
        return EXIT_FAIL
    compared = sum(route.readiness.compared for route in report.routes if route.readiness)
    print(
        f"check: PASS ({len(report.routes)} routes READY, {compared} comparisons in their windows)",
        file=sys.stderr,
    )
    return EXIT_OK


def render_json(report: Report, config: Config | None = None) -> str:
    return json.dumps(report_json(report), indent=2) + "\n"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _rate(route: RouteReport) -> str:
    rate = route.divergence_rate
    return f"{rate:.1%}" if rate is not None else "-"


def render_markdown(report: Report, config: Config | None = None) -> str:
    instances = ", ".join(i.instance_id for i in report.instances) or "none"
    lines = [
        "# shadow-proxy report",
        "",
        f"Generated {iso(report.generated_at)} from `{report.store}`; instances: {instances}.",
        "",
        "| Route | "
        + " | ".join(c.replace("_", " ").capitalize() for c in TABLE_COLUMNS)
        + " | Divergence | Readiness |",
        "|---|" + "---:|" * (len(TABLE_COLUMNS) + 1) + "---|",
    ]
    for route in report.routes:
        counts = " | ".join(str(route.count(c)) for c in TABLE_COLUMNS)
        lines.append(f"| {_cell(route.route)} | {counts} | {_rate(route)} | {route.verdict.value} |")
    if report.not_covered:
        names = ", ".join(f"`{_cell(name)}`" for name in report.not_covered)
        lines += ["", f"**Not covered** (configured, no comparison in the cutover window): {names}."]
    for route in report.routes:
        lines += ["", *_route_markdown(route)]
    return "\n".join(lines) + "\n"


def _readiness_markdown(route: RouteReport) -> list[str]:
    r = route.readiness
    if r is None:
        return []
    lines = [
        f"**{r.verdict.value}** over the last {duration(r.settings.window)}: {r.compared} comparisons "
        f"(min {r.settings.min_samples}), {r.unexplained} unexplained divergences, "
        f"{r.explained} explained as noise; last divergence: {since_text(r)}; window met: {eta_text(r)}.",
    ]
    lines += [f"- `{reason.code}`: {_cell(reason.message)}" for reason in r.reasons]
    lines += [f"- warning `{w.code}`: {_cell(w.message)}" for w in r.warnings]
    return [*lines, ""]


def _route_markdown(route: RouteReport) -> list[str]:
    lines = [f"## {route.route}", "", *_readiness_markdown(route)]
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
    if route.noise_differences:
        noise = ", ".join(f"`{_cell(p.path)}` ({p.count})" for p in route.noise_differences)
        lines += ["", f"Noise (legacy differs from itself): {noise}."]
    if route.rules:
        lines += ["", "| Rule | Acted | Ignored but different |", "|---|---:|---:|"]
        lines += [f"| `{_cell(r.rule)}` | {r.hits} | {r.ignored} |" for r in route.rules]
    if route.dead_rules:
        dead = ", ".join(f"`{_cell(d.rule)}`" for d in route.dead_rules)
        lines += ["", f"Dead rules (never acted in {route.dead_rules[0].compared} comparisons): {dead}."]
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


RENDERERS: dict[str, Callable[[Report, Config | None], str]] = {
    "md": render_markdown,
    "json": render_json,
    "html": render_html,
}
