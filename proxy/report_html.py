"""The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched) for a review."""

from __future__ import annotations

from config.model import Config
from proxy.diffview import example_view, route_spec
from proxy.htmlkit import Markup, join, link, number, page, table, tag
from proxy.readiness import ReadinessVerdict
from proxy.report import Report, RouteReport
from proxy.report_json import iso
from proxy.route_view import audit_table, route_sections, summary_table
from proxy.store.base import SignatureTotal


def _route_anchor(report: Report) -> dict[str, str]:
    return {route.route: f"route-{index}" for index, route in enumerate(report.routes, start=1)}


def example_anchor(signature: str) -> str:
    return f"ex-{signature}"


def banner(report: Report) -> Markup:
    """The decision in one line: every judged route ready, or how many are not, which are blind, which
    are not compared by design."""
    total = len(report.routes)
    if not total:
        return tag("div", "No routes: nothing recorded and nothing configured.", class_="banner fail")
    skipped = total - len(report.gated)
    by_design = f" ({skipped} not shadowed by design)" if skipped else ""
    if report.all_ready:
        judged = f"All {len(report.gated)} compared routes" if skipped else f"All {total} routes"
        return tag("div", f"{judged} are READY for cutover{by_design}.", class_="banner ready")
    if not report.gated:
        text = f"Nothing to judge: all {total} routes are not shadowed by design."
        return tag("div", text, class_="banner fail")
    waiting = sum(1 for r in report.routes if r.verdict is ReadinessVerdict.NOT_READY)
    blind = sum(1 for r in report.routes if r.verdict is ReadinessVerdict.NO_DATA)
    shadowless = len(report.not_shadowed)
    unshadowed = f", {shadowless} not shadowed by design" if shadowless else ""
    return tag(
        "div",
        f"Not ready for cutover: {waiting} of {total} routes NOT READY, {blind} without data{unshadowed}.",
        class_="banner fail",
    )


def not_covered_banner(report: Report) -> Markup:
    """Configured routes that should be compared but made no comparison: the cutover would be blind."""
    if not report.not_covered:
        return Markup("")
    names = join(join([tag("code", name), " "]) for name in report.not_covered)
    text = join(["Not covered (configured, no comparison in the cutover window): ", names])
    return tag("div", text, class_="banner warn")


def not_shadowed_banner(report: Report) -> Markup:
    """Routes never compared by design, each with why; listed apart from the blind ones."""
    routes = report.not_shadowed
    if not routes:
        return Markup("")
    items = join(tag("li", join([tag("code", r.route), ": ", r.why_not_shadowed])) for r in routes)
    judged = "" if report.requested else " (the cutover gate does not judge them unless named with --route)"
    text = join([f"Not shadowed by design{judged}:", tag("ul", items)])
    return tag("div", text, class_="banner info not-shadowed")


def _examples(route: RouteReport, config: Config | None) -> Markup:
    blocks = []
    spec = route_spec(config, route.route)
    for signature in route.signatures:
        example = route.examples.get(signature.signature)
        if example is None:
            continue
        title = join(["Example of ", tag("code", signature.signature), f" ({route.route})"])
        head = tag("h3", title)
        meta = tag(
            "p",
            f"recorded {iso(example.recorded_at)} by {example.instance_id or 'unknown'}; "
            f"request id {example.request_id or '-'}",
            class_="muted",
        )
        body = join([head, meta, example_view(example, spec)])
        blocks.append(tag("div", body, class_="example", id=example_anchor(signature.signature)))
    return join(blocks)


def reconciliations_table(report: Report) -> Markup:
    """The last stored run of each reconcile job (`reconcile --store`): when, verdict and totals."""
    headers = ("job", "finished", "verdict", "checked", "missing", "extra", "different")
    rows = [
        (
            tag("code", run.job),
            iso(run.finished_at),
            tag("span", run.verdict, class_=f"reconcile-{run.verdict}"),
            *(number(n) for n in (run.checked, run.missing, run.extra, run.different)),
        )
        for run in report.reconciliations
    ]
    return table(headers, rows, numeric=frozenset({3, 4, 5, 6}), class_="reconciliations")


def render_html(report: Report, config: Config | None = None) -> str:
    anchors = _route_anchor(report)

    def example_href(signature: SignatureTotal) -> str | None:
        kept = any(signature.signature in route.examples for route in report.routes)
        return f"#{example_anchor(signature.signature)}" if kept else None

    sections: list[object] = [banner(report), not_covered_banner(report), not_shadowed_banner(report)]
    sections += [tag("h2", "Routes"), summary_table(report, lambda name: f"#{anchors[name]}")]
    if report.audit:
        sections += [tag("h2", "Mode changes"), audit_table(report.audit, lambda name: f"#{anchors[name]}")]
    if report.reconciliations:
        sections += [tag("h2", "Reconciliations (last run per job)"), reconciliations_table(report)]
    for route in report.routes:
        heading = tag("h2", join([route.route, " "]), id=anchors[route.route])
        sections += [heading, route_sections(route, report, example_href)]
    examples = [_examples(route, config) for route in report.routes]
    if any(examples):
        sections += [tag("h2", "Examples"), join(examples)]
    instances = ", ".join(i.instance_id for i in report.instances) or "none"
    meta = f"generated {iso(report.generated_at)} from {report.store}; instances: {instances}"
    footer = tag("footer", link("#", "back to the top"))
    return page(
        "shadow-proxy cutover report",
        join([*sections, footer]),
        heading="shadow-proxy cutover report",
        meta=meta,
    )
