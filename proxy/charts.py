"""Inline SVG line charts drawn in Python: no script, no font or library fetched, readable printed."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from proxy.htmlkit import Markup, esc, join, tag

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 26, 30  # margins around the plot area
X_TICKS, Y_TICKS = 5, 4
LABEL_CHAR = 5.5  # approximate width of one character of a mark's label, in SVG units


@dataclass(frozen=True, slots=True)
class Line:
    """One series: a legend label, a CSS class for its colour, and (unix time, value or None) points."""

    label: str
    css: str
    points: tuple[tuple[float, float | None], ...]


@dataclass(frozen=True, slots=True)
class Mark:
    """A moment drawn as a dashed vertical line (a mode change): a short label on top, a longer tooltip."""

    at: float
    label: str
    tip: str


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above `value` (a readable axis top)."""
    if value <= 0:
        return 1.0
    power: float = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value * (1 - 1e-9))


def time_label(timestamp: float, span: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%m-%d %H:%M" if span <= 3 * 86400 else "%Y-%m-%d")


def line_chart(
    lines: Sequence[Line],
    *,
    label: str,
    start: float,
    end: float,
    y_format: Callable[[float], str],
    marks: Sequence[Mark] = (),
) -> Markup:
    """A chart of every line over [start, end]; gaps (None) break a line; each point has a tooltip.

    `marks` inside [start, end] are drawn under the lines; those outside are left out."""
    values = [v for line in lines for _, v in line.points if v is not None]
    if not values or end <= start:
        return _empty(label)
    top = nice_ceiling(max(values))
    scale = _Scale(start, end, top)
    parts = [*_grid(scale, y_format), *_x_axis(scale), *_legend(lines), *_marks(marks, scale)]
    for line in lines:
        parts += _series(line, scale, y_format)
    return _svg(label, join(parts))


@dataclass(frozen=True, slots=True)
class _Scale:
    start: float
    end: float
    top: float

    def x(self, t: float) -> float:
        return LEFT + (t - self.start) / (self.end - self.start) * (WIDTH - LEFT - RIGHT)

    def y(self, v: float) -> float:
        return TOP + (1 - v / self.top) * (HEIGHT - TOP - BOTTOM)


def _svg(label: str, content: Markup) -> Markup:
    return tag(
        "svg",
        join([tag("title", label), content]),
        class_="chart",
        viewBox=f"0 0 {WIDTH} {HEIGHT}",
        role="img",
        aria_label=label,
    )


def _empty(label: str) -> Markup:
    text = tag("text", "no data", x=WIDTH / 2, y=HEIGHT / 2, text_anchor="middle", class_="empty")
    return _svg(label, text)


def _grid(scale: _Scale, y_format: Callable[[float], str]) -> list[Markup]:
    parts = []
    for i in range(Y_TICKS + 1):
        value = scale.top * i / Y_TICKS
        y = round(scale.y(value), 1)
        parts.append(
            Markup(
                f'<line class="{"axis" if i == 0 else "grid"}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                f'y1="{y}" y2="{y}"></line>'
            )
        )
        parts.append(tag("text", y_format(value), x=LEFT - 6, y=y + 3.5, text_anchor="end"))
    return parts


def _x_axis(scale: _Scale) -> list[Markup]:
    span = scale.end - scale.start
    parts = []
    for i in range(X_TICKS + 1):
        t = scale.start + span * i / X_TICKS
        anchor = "start" if i == 0 else ("end" if i == X_TICKS else "middle")
        parts.append(
            tag("text", time_label(t, span), x=round(scale.x(t), 1), y=HEIGHT - 10, text_anchor=anchor)
        )
    return parts


def _marks(marks: Sequence[Mark], scale: _Scale) -> list[Markup]:
    """Dashed lines with their tooltip; a label only where it does not run into the previous one."""
    parts, free_from = [], -math.inf
    for mark in sorted(marks, key=lambda m: m.at):
        if not scale.start <= mark.at <= scale.end:
            continue
        x = round(scale.x(mark.at), 1)
        tip = tag("title", mark.tip)
        parts.append(
            Markup(f'<line class="mark" x1="{x}" x2="{x}" y1="{TOP}" y2="{HEIGHT - BOTTOM}">{tip}</line>')
        )
        width = LABEL_CHAR * len(mark.label)
        left = x - 3 - width if x + 3 + width > WIDTH - RIGHT else x + 3
        if left >= free_from:
            parts.append(tag("text", mark.label, x=round(left, 1), y=TOP + 9, class_="mark"))
            free_from = left + width + 4
    return parts


def _legend(lines: Sequence[Line]) -> list[Markup]:
    parts, x = [], float(LEFT)
    for line in lines:
        parts.append(Markup(f'<rect class="{esc(line.css)}" x="{x}" y="8" width="12" height="4"></rect>'))
        parts.append(tag("text", line.label, x=x + 16, y=14))
        x += 24 + 6.5 * len(line.label)
    return parts


def _series(line: Line, scale: _Scale, y_format: Callable[[float], str]) -> list[Markup]:
    parts: list[Markup] = []
    run: list[str] = []
    for t, v in [*line.points, (math.inf, None)]:
        if v is None:
            if len(run) > 1:
                parts.append(
                    Markup(f'<polyline class="{esc(line.css)}" points="{" ".join(run)}"></polyline>')
                )
            run = []
            continue
        x, y = round(scale.x(t), 1), round(scale.y(v), 1)
        run.append(f"{x},{y}")
        tip = tag("title", f"{line.label} {time_label(t, 0)}: {y_format(v)}")
        parts.append(Markup(f'<circle class="{esc(line.css)}" cx="{x}" cy="{y}" r="2.2">{tip}</circle>'))
    return parts
