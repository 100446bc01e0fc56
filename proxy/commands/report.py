"""`shadow-proxy report`: read a store (every replica's rows), print md, json or html, and gate with --check.

Exit codes: 0 done (with --check: every judged route is READY over its cutover window); 1 the check failed;
2 the store could not be read (bad URL, unreachable, missing, or not a shadow-proxy store) or the output
could not be written.

--check judges every selected route (every route in the store or the config, or exactly those named with
--route) except, when no --route is given, the routes not shadowed by design (NOT_SHADOWED: mode legacy or
candidate, writes only without mirror_writes, sample_rate 0), which are listed but never fail the gate.
It fails (1) when a judged route is NOT_READY, NO_DATA (not covered: it should be compared and was not), or
NOT_SHADOWED (named with --route: a route asked for must be judged), and when no route is judged at all (an
empty store and config, or every route not shadowed by design): a gate that judged nothing passes nothing.
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
from proxy.report import MODE_SOURCES, Report, RouteReport, build_report
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
    if readiness.verdict is ReadinessVerdict.NOT_SHADOWED:
        return [f"not shadowed by design: {route.why_not_shadowed}"]
    return [f"{reason.code}: {reason.message}" for reason in readiness.reasons]


def check_exit(report: Report) -> int:
    """The cutover gate over `report.gated` (see the module docstring); says why on stderr."""
    judged = report.gated
    names = {route.route for route in judged}
    skipped = [route.route for route in report.routes if route.route not in names]
    aside = f"; not judged, not shadowed by design: {', '.join(skipped)}" if skipped else ""
    if not report.routes:
        print("check: FAIL: no routes in the store", file=sys.stderr)
        return EXIT_FAIL
    if not report.gated:
        print(f"check: FAIL: no compared route to judge{aside}", file=sys.stderr)
        return EXIT_FAIL
    failed = {route.route: failures(route) for route in judged if failures(route)}
    if failed:
        detail = "; ".join(f"{name}: {', '.join(reasons)}" for name, reasons in failed.items()) + aside
        print(f"check: FAIL ({len(failed)} of {len(judged)} routes not ready): {detail}", file=sys.stderr)
        return EXIT_FAIL
    compared = sum(route.readiness.compared for route in judged if route.readiness)
    print(
        f"check: PASS ({len(judged)} routes READY, {compared} comparisons in their windows{aside})",
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
        + " | Divergence | Readiness | Mode |",
        "|---|" + "---:|" * (len(TABLE_COLUMNS) + 1) + "---|---|",
    ]
    for route in report.routes:
        counts = " | ".join(str(route.count(c)) for c in TABLE_COLUMNS)
        mode = route.mode.current or "-"
        lines.append(f"| {_cell(route.route)} | {counts} | {_rate(route)} | {route.verdict.value} | {mode} |")
    if report.not_covered:
        names = ", ".join(f"`{_cell(name)}`" for name in report.not_covered)
        lines += ["", f"**Not covered** (configured, no comparison in the cutover window): {names}."]
    if report.not_shadowed:
        judged = "" if report.requested else " (not judged by --check unless named with --route)"
        lines += ["", f"**Not shadowed by design**{judged}:", ""]
        lines += [f"- `{_cell(r.route)}`: {_cell(r.why_not_shadowed)}" for r in report.not_shadowed]
    lines += _reconciliations_markdown(report)
    for route in report.routes:
        lines += ["", *_route_markdown(route)]
    return "\n".join(lines) + "\n"


def _reconciliations_markdown(report: Report) -> list[str]:
    """The last stored run of each reconcile job (`reconcile --store`)."""
    if not report.reconciliations:
        return []
    lines = [
        "",
        "## Reconciliations (last run per job)",
        "",
        "| Job | Finished | Verdict | Checked | Missing | Extra | Different |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for run in report.reconciliations:
        totals = f"{run.checked} | {run.missing} | {run.extra} | {run.different}"
        lines.append(f"| {_cell(run.job)} | {iso(run.finished_at)} | {run.verdict} | {totals} |")
    return lines


def _readiness_markdown(route: RouteReport) -> list[str]:
    r = route.readiness
    if r is None:
        return []
    if not route.shadowed:
        why = _cell(route.why_not_shadowed)
        window = duration(r.settings.window)
        recorded = f" {r.compared} comparisons in the last {window}." if r.compared else ""
        return [f"**{r.verdict.value}** (not compared by design): {why}.{recorded}", ""]
    lines = [
        f"**{r.verdict.value}** over the last {duration(r.settings.window)}: {r.compared} comparisons "
        f"(min {r.settings.min_samples}), {r.unexplained} unexplained divergences, "
        f"{r.explained} explained as noise; last divergence: {since_text(r)}; window met: {eta_text(r)}.",
    ]
    lines += [f"- `{reason.code}`: {_cell(reason.message)}" for reason in r.reasons]
    lines += [f"- warning `{w.code}`: {_cell(w.message)}" for w in r.warnings]
    return [*lines, ""]


def _mode_markdown(route: RouteReport) -> list[str]:
    mode = route.mode
    source = MODE_SOURCES.get(mode.source, mode.source)
    if mode.source == "store":
        source = f"switched live by {mode.actor or 'unknown'} at {iso(mode.since)}"
        if mode.configured and mode.configured != mode.current:
            source += f"; the config names {mode.configured}"
    lines = [f"Mode: `{mode.current or 'unknown'}` ({_cell(source)}).", ""]
    serving = route.serving
    if serving.active:
        lines += [
            f"Candidate serving: {serving.served} requests served by the candidate, "
            f"{serving.candidate_failures} failed ({_percent(serving.failure_rate)}), "
            f"{serving.fallbacks} answered by legacy instead (fallback); "
            f"rollbacks: {serving.rollbacks} ({serving.automatic_rollbacks} automatic).",
            "",
        ]
    if route.audit:
        lines += ["| Mode changed | From | To | Actor | Reason |", "|---|---|---|---|---|"]
        lines += [
            f"| {iso(e.at)} | {e.from_mode} | {e.to_mode} | {_cell(e.actor)} | {_cell(e.reason)} |"
            for e in route.audit
        ]
        lines.append("")
    return lines


def _percent(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "-"


def _route_markdown(route: RouteReport) -> list[str]:
    lines = [f"## {route.route}", "", *_readiness_markdown(route), *_mode_markdown(route)]
    if not route.covered:
        blind = "Not covered: no" if route.shadowed else "No"
        return [*lines, f"{blind} traffic recorded for this route."]
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
