"""HTML builders shared by the HTML report and the dashboard: escaping by default, tables, badges, pages.

Everything that comes from a store or a config is text and is escaped when it is placed; only `Markup`
(HTML built here from escaped parts) passes through unchanged.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources

from config.cutover_section import format_duration

DASH = "\u2013"  # an en dash: "no value"


class Markup(str):
    """A string of HTML that is already safe to place (built from escaped parts)."""

    __slots__ = ()


def esc(value: object) -> Markup:
    """`value` as HTML: Markup passes unchanged, anything else is converted to text and escaped."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def join(parts: Iterable[object]) -> Markup:
    return Markup("".join(esc(part) for part in parts))


def tag(name: str, content: object = "", **attributes: object) -> Markup:
    """`<name a="…">content</name>`; `class_` becomes `class`; attribute values are escaped."""
    attrs = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{esc(value)}"'
        for key, value in attributes.items()
        if value is not None
    )
    return Markup(f"<{name}{attrs}>{esc(content)}</{name}>")


def link(href: str, content: object, **attributes: object) -> Markup:
    return tag("a", content, href=href, **attributes)


def badge(verdict: str) -> Markup:
    return tag("span", verdict.replace("_", " "), class_=f"badge {verdict}")


def mode_tag(mode: str | None) -> Markup:
    """A route mode as a small label (`candidate primary`); None is an unknown mode."""
    name = mode or "unknown"
    return tag("span", name.replace("_", " "), class_=f"mode {name}")


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    numeric: frozenset[int] = frozenset(),
    class_: str | None = None,
) -> Markup:
    """A table; columns whose index is in `numeric` align right. Cells are escaped unless Markup."""
    head = join(tag("th", h, class_="num" if i in numeric else None) for i, h in enumerate(headers))
    body = join(
        tag("tr", join(tag("td", cell, class_="num" if i in numeric else None) for i, cell in enumerate(row)))
        for row in rows
    )
    return tag("table", join([tag("thead", tag("tr", head)), tag("tbody", body)]), class_=class_)


def stat(label: str, value: object) -> Markup:
    return tag(
        "div", join([tag("div", label, class_="label"), tag("div", value, class_="value")]), class_="stat"
    )


# Rules for modes, the audit log and not-shadowed routes, kept here until static/shadow.css carries them.
CUTOVER_CSS = """
.badge.NOT_SHADOWED { background: #ede9fe; color: #5b21b6; }
.banner.info { background: #f5f3ff; color: #5b21b6; border: 1px solid #ddd6fe; font-weight: 500; }
.mode { display: inline-block; font-family: var(--mono); font-size: 12px; padding: 0 7px; border-radius: 4px;
  border: 1px solid var(--line); background: var(--soft); white-space: nowrap; }
.mode.shadow { color: var(--ink); }
.mode.legacy { color: var(--legacy); }
.mode.candidate_primary, .mode.candidate {
  color: var(--candidate); border-color: #bfdbfe; background: #eff6ff; }
.mode-line { margin: 0 0 10px; color: var(--muted); }
table.audit td.details { color: var(--muted); font-size: 12px; }
.charts { margin-top: 16px; }
svg.chart line.mark { stroke: #7c3aed; stroke-width: 1.2; stroke-dasharray: 4 3; }
svg.chart text.mark { fill: #7c3aed; font-size: 10px; }
"""


@cache
def stylesheet() -> str:
    css = resources.files("proxy").joinpath("static/shadow.css").read_text(encoding="utf-8")
    return css + CUTOVER_CSS


def page(title: str, body: Markup, *, heading: str, meta: Markup | str = "") -> str:
    """A whole self-contained document: inline CSS, no scripts, nothing fetched."""
    return "<!doctype html>\n" + join(
        [
            Markup('<html lang="en"><head><meta charset="utf-8">'),
            Markup('<meta name="viewport" content="width=device-width, initial-scale=1">'),
            tag("title", title),
            Markup(f"<style>{stylesheet()}</style></head><body>"),
            tag("header", join([tag("h1", heading), tag("span", meta, class_="meta")]), class_="top"),
            tag("main", body),
            Markup("</body></html>\n"),
        ]
    )


def number(value: int | None) -> str:
    return f"{value:,}" if value is not None else DASH


def percent(value: float | None, digits: int = 2) -> str:
    if value is None:
        return DASH
    return f"{value:.{digits}%}" if value else "0%"


def milliseconds(value: float | None) -> str:
    return f"{value:,.1f} ms" if value is not None else DASH


def duration(seconds: float | None) -> str:
    """`2d3h`, `45m`, `0s`; a dash when unknown."""
    if seconds is None:
        return DASH
    return format_duration(seconds) if seconds >= 1 else "0s"
