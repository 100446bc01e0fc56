"""A route's report as HTML sections (readiness, mode and its changes, candidate serving, charts, signatures,
paths, rules, latency), for both pages.

The HTML report links examples to anchors in the same file; the dashboard links them to its example pages:
callers pass `example_href` and `route_href`.
"""

from __future__ import annotations

from collections.abc import Callable

from proxy.charts import Line, Mark, line_chart
from proxy.htmlkit import (
    DASH,
    Markup,
    badge,
    duration,
    join,
    link,
    milliseconds,
    mode_tag,
    number,
    percent,
    stat,
    table,
    tag,
)
from proxy.readiness import Readiness, ReadinessVerdict, Reason, histogram_quantile
from proxy.report import MODE_SOURCES, Report, RouteReport, Serving
from proxy.report_json import iso
from proxy.store.base import PathTotal, SignatureTotal
from proxy.store.cutover import AuditEntry

ExampleHref = Callable[[SignatureTotal], str | None]
RouteHref = Callable[[str], str]
BR = Markup("<br>")  # tag("br") would close it, and browsers read `</br>` as a second line break
NUMERIC_COUNTS = ("compared", "matched", "diverged", "candidate_errors", "legacy_errors", "noise", "ignored")


def _reasons(reasons: tuple[Reason, ...], css: str) -> Markup:
    items = join(tag("li", join([tag("span", r.code, class_="code"), " ", r.message])) for r in reasons)
    return tag("ul", items, class_=css)


def since_text(r: Readiness) -> str:
    since = r.since_divergence
    if since is None:
        return "never"
    return f"{duration(since.seconds)} ago, {since.requests:,} comparisons since"


def eta_text(r: Readiness) -> str:
    if r.eta_seconds is None:
        return "not at the current rate" if r.compared else DASH
    return "met" if r.eta_seconds == 0 else f"in {duration(r.eta_seconds)}"


def readiness_block(r: Readiness | None) -> Markup:
    """The verdict, every failing criterion with its numbers, warnings, and the window's key figures."""
    if r is None:
        return tag("p", "no readiness computed", class_="muted")
    s = r.settings
    ratio = r.latency_ratio
    stats = [
        stat(f"comparisons / {duration(s.window)}", f"{number(r.compared)} of {number(s.min_samples)}"),
        stat("unexplained divergences", number(r.unexplained)),
        stat("explained as noise", number(r.explained)),
        stat("last divergence", since_text(r)),
        stat("window met", eta_text(r)),
        stat(
            "candidate / legacy errors", f"{percent(r.candidate_error_rate)} / {percent(r.legacy_error_rate)}"
        ),
        stat("p95 candidate / legacy", f"{f'{ratio:.2f}x' if ratio is not None else DASH}"),
    ]
    parts: list[object] = [tag("div", join([badge(r.verdict.value)]))]
    if r.reasons:
        parts.append(_reasons(r.reasons, "reasons"))
    if r.warnings:
        parts.append(_reasons(r.warnings, "reasons warnings"))
    if r.compared or r.verdict is not ReadinessVerdict.NOT_SHADOWED:
        parts.append(tag("div", join(stats), class_="stats"))
    return tag("div", join(parts), class_="readiness")


def mode_line(route: RouteReport) -> Markup:
    """The current mode and where it comes from (a live switch: by whom and when)."""
    mode = route.mode
    parts: list[object] = ["mode ", mode_tag(mode.current), " \u00b7 "]
    if mode.source == "store":
        parts.append(f"switched live by {mode.actor or 'unknown'} at {iso(mode.since)}")
        if mode.configured and mode.configured != mode.current:
            parts.append(f" (the config names {mode.configured})")
    else:
        parts.append(MODE_SOURCES.get(mode.source, mode.source))
    return tag("p", join(parts), class_="mode-line")


def _details(entry: AuditEntry) -> Markup:
    if not entry.details:
        return Markup("")
    numbers = ", ".join(f"{key} {value}" for key, value in sorted(entry.details.items()))
    return join([BR, tag("span", numbers, class_="details muted")])


def audit_table(entries: tuple[AuditEntry, ...], route_href: RouteHref | None = None) -> Markup:
    """Mode changes as listed (time, from, to, actor, reason and the numbers behind an automatic one)."""
    if not entries:
        return tag("p", "no mode change recorded", class_="muted")
    headers = ("time", *(("route",) if route_href else ()), "from", "to", "actor", "reason")
    rows = []
    for e in entries:
        route = (link(route_href(e.route), e.route),) if route_href else ()
        reason = join([e.reason, _details(e)])
        rows.append((iso(e.at), *route, mode_tag(e.from_mode), mode_tag(e.to_mode), e.actor, reason))
    return table(headers, rows, class_="audit")


def serving_block(serving: Serving) -> Markup:
    """What the candidate did while it answered clients, and how often the route was moved back."""
    failures = f"{number(serving.candidate_failures)} ({percent(serving.failure_rate)})"
    rollbacks = f"{number(serving.rollbacks)} ({number(serving.automatic_rollbacks)} automatic)"
    stats = [
        stat("served by the candidate", number(serving.served)),
        stat("candidate failures", failures),
        stat("fallbacks to legacy", number(serving.fallbacks)),
        stat("rollbacks", rollbacks),
    ]
    return tag("div", tag("div", join(stats), class_="stats"), class_="card serving")


def mode_marks(route: RouteReport) -> tuple[Mark, ...]:
    return tuple(
        Mark(e.at, e.to_mode.replace("_", " "), f"{iso(e.at)} {e.from_mode} \u2192 {e.to_mode} by {e.actor}")
        for e in route.audit
    )


def charts_block(route: RouteReport, bucket: int) -> Markup:
    if not route.series:
        return tag("p", "no traffic recorded", class_="muted")
    start, end = route.series[0].start, route.series[-1].start + bucket
    middle = bucket / 2

    def rate(name: str) -> tuple[tuple[float, float | None], ...]:
        return tuple(
            (b.start + middle, b.count(name) / b.count("compared") * 100 if b.count("compared") else None)
            for b in route.series
        )

    def p95(side: str) -> tuple[tuple[float, float | None], ...]:
        return tuple((b.start + middle, histogram_quantile(getattr(b, side), 0.95)) for b in route.series)

    rates = line_chart(
        [
            Line("divergence rate", "s-diverged", rate("diverged")),
            Line("candidate errors", "s-errors", rate("candidate_errors")),
        ],
        label=f"{route.route}: divergence rate over time",
        start=start,
        end=end,
        y_format=lambda v: f"{v:g}%",
        marks=mode_marks(route),
    )
    latency = line_chart(
        [
            Line("legacy p95", "s-legacy", p95("legacy")),
            Line("candidate p95", "s-candidate", p95("candidate")),
        ],
        label=f"{route.route}: latency p95, legacy vs candidate",
        start=start,
        end=end,
        y_format=lambda v: f"{v:g} ms",
        marks=mode_marks(route),
    )
    figures = [
        tag("figure", join([tag("figcaption", "Divergence rate over time"), rates]), class_="chart"),
        tag("figure", join([tag("figcaption", "Latency p95: legacy vs candidate"), latency]), class_="chart"),
    ]
    return tag("div", join(figures), class_="charts")


def signatures_block(route: RouteReport, example_href: ExampleHref, label: str = "example") -> Markup:
    if not route.signatures:
        return tag("p", "no divergence recorded", class_="muted")
    rows = []
    for s in route.signatures:
        paths = join(join([tag("code", p), f" ({k})", BR]) for p, k in s.paths)
        href = example_href(s)
        example = link(href, label) if href else tag("span", "none kept", class_="muted")
        rows.append((tag("code", s.signature), paths, number(s.count), number(s.examples), example))
    return table(("signature", "differences", "count", "examples", ""), rows, numeric=frozenset({2, 3}))


def paths_table(paths: tuple[PathTotal, ...], empty: str) -> Markup:
    if not paths:
        return tag("p", empty, class_="muted")
    rows = [(tag("code", p.path), p.kind, number(p.count)) for p in paths]
    return table(("path", "kind", "count"), rows, numeric=frozenset({2}))


def rules_block(route: RouteReport) -> Markup:
    parts: list[object] = []
    if route.rules:
        rows = [(tag("code", r.rule), number(r.hits), number(r.ignored)) for r in route.rules]
        parts.append(table(("rule", "acted", "ignored but different"), rows, numeric=frozenset({1, 2})))
    else:
        parts.append(tag("p", "no rule acted", class_="muted"))
    if route.dead_rules:
        rows = [(tag("code", d.rule), d.reason or DASH, number(d.compared)) for d in route.dead_rules]
        parts += [
            tag("h3", "Dead rules"),
            table(("rule", "reason", "comparisons without acting"), rows, numeric=frozenset({2})),
        ]
    return join(parts)


def latency_block(route: RouteReport) -> Markup:
    rows = []
    for name, side in (("legacy", route.legacy), ("candidate", route.candidate)):
        estimate = histogram_quantile(side, 0.95)
        rows.append(
            (
                name,
                number(side.count),
                milliseconds(side.mean_ms),
                milliseconds(estimate),
                milliseconds(side.quantile(0.95)),
            )
        )
    headers = ("side", "answers", "mean", "p95 (estimated)", "p95 bucket bound")
    return table(headers, rows, numeric=frozenset({1, 2, 3, 4}))


def counts_block(route: RouteReport) -> Markup:
    stats = [stat(name.replace("_", " "), number(route.count(name))) for name in NUMERIC_COUNTS]
    stats.append(stat("divergence rate", percent(route.divergence_rate)))
    return tag("div", join(stats), class_="stats")


def route_sections(
    route: RouteReport, report: Report, example_href: ExampleHref, label: str = "example"
) -> Markup:
    """Everything about one route, in reading order."""
    readiness = tag("div", join([mode_line(route), readiness_block(route.readiness)]), class_="card")
    modes: list[object] = [readiness]
    if route.serving.active:
        modes += [tag("h3", "Candidate serving"), serving_block(route.serving)]
    modes += [tag("h3", "Mode changes"), audit_table(route.audit)]
    if not route.covered:
        return join([*modes, tag("p", "no traffic recorded for this route", class_="muted")])
    return join(
        [
            *modes,
            charts_block(route, report.series_bucket),
            tag("h3", "Top divergence signatures"),
            signatures_block(route, example_href, label),
            tag("h3", "Differences by path"),
            paths_table(route.differences, "none"),
            tag("h3", "Noise: paths where legacy differs from itself"),
            paths_table(route.noise_differences, "no noise recorded (a secondary legacy measures it)"),
            tag("h3", "Rules: ignored but different"),
            rules_block(route),
            tag("h3", "Latency"),
            latency_block(route),
            tag("h3", "All recorded (every replica, whole retention)"),
            counts_block(route),
        ]
    )


def summary_table(report: Report, route_href: RouteHref) -> Markup:
    rows = []
    for route in report.routes:
        r = route.readiness
        more = f" (+{len(r.reasons) - 1} more)" if r and len(r.reasons) > 1 else ""
        first = r.reasons[0].message + more if r and r.reasons else ""
        rows.append(
            (
                link(route_href(route.route), route.route),
                badge(route.verdict.value),
                mode_tag(route.mode.current),
                number(r.compared if r else 0),
                number(r.unexplained if r else 0),
                since_text(r) if r else DASH,
                eta_text(r) if r else DASH,
                first,
            )
        )
    headers = (
        "route",
        "verdict",
        "mode",
        "comparisons in window",
        "unexplained",
        "last divergence",
        "window met",
        "why",
    )
    return table(headers, rows, numeric=frozenset({3, 4}), class_="summary")
