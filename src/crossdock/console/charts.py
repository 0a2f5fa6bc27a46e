"""Charts as inline SVG, drawn on the server: no script, no library, nothing fetched; colours come from the
stylesheet (classes `series-0` … `series-5`), so the page's Content-Security-Policy needs no inline styles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

WIDTH, HEIGHT = 640, 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 12, 28
_SERIES_CLASSES = 6


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a chart: values at points in time."""

    name: str
    points: Sequence[tuple[datetime, float]]


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    while power > value:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always ends at 10


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    if 0 < value < 1:
        return f"{value:.2g}"
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def _legend(names: Sequence[str]) -> tuple[list[str], int]:
    """Legend entries in rows under the time axis, wrapped to the chart's width; the SVG elements and the height
    they need."""
    parts: list[str] = []
    x: float = _LEFT
    row = 0
    for n, name in enumerate(names[:_SERIES_CLASSES]):
        width = 24 + 6.5 * len(name)
        if x + width > WIDTH - _RIGHT and x > _LEFT:
            x, row = float(_LEFT), row + 1
        y = HEIGHT + 2 + 16 * row
        css = f"series-{n % _SERIES_CLASSES}"
        parts.append(f'<rect class="swatch {css}" x="{x:.1f}" y="{y}" width="10" height="10"/>')
        parts.append(f'<text class="legend" x="{x + 14:.1f}" y="{y + 9}">{escape(name)}</text>')
        x += width
    return parts, (16 * (row + 1) + 4 if names else 0)


def _frame(title: str, y_max: float, unit: str, start: datetime, end: datetime, extra: int = 0) -> list[str]:
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + extra}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for n in range(4):  # gridlines at 0, 1/3, 2/3 and the top
        y = _TOP + plot_h - plot_h * n / 3
        parts.append(f'<line class="grid" x1="{_LEFT}" y1="{y:.1f}" x2="{WIDTH - _RIGHT}" y2="{y:.1f}"/>')
        label = _number(y_max * n / 3) + (unit if n == 3 else "")
        parts.append(f'<text class="axis" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    for fraction, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
        at = start + (end - start) * fraction
        x = _LEFT + plot_w * fraction
        parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">{at:%H:%M}</text>')
    return parts


def _empty(title: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} 60" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<text class="axis" x="{WIDTH / 2}" y="34" text-anchor="middle">nothing in this window</text></svg>'
    )


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    unit: str = "",
    start: datetime | None = None,
    end: datetime | None = None,
) -> str:
    """Lines over time, one per series, with a legend and a tooltip on every point; the time axis runs from
    `start` to `end` (default: the first and last point)."""
    points = [p for s in series for p in s.points]
    if not points:
        return _empty(title)
    start = start or min(at for at, _ in points)
    end = end or max(at for at, _ in points)
    span = (end - start).total_seconds() or 1.0
    y_max = _nice_max(max(value for _, value in points))
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    legend, extra = _legend([line.name for line in series])
    parts = _frame(title, y_max, unit, start, end, extra)

    def xy(at: datetime, value: float) -> tuple[float, float]:
        return _LEFT + plot_w * (at - start).total_seconds() / span, _TOP + plot_h - plot_h * value / y_max

    for n, line in enumerate(series):
        css = f"series-{n % _SERIES_CLASSES}"
        coords = [xy(at, value) for at, value in line.points]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(f'<polyline class="line {css}" points="{path}"/>')
        for (at, value), (x, y) in zip(line.points, coords, strict=True):
            tip = f"{line.name}: {_number(value)}{unit} at {at:%H:%M}"
            parts.append(
                f'<circle class="dot {css}" cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>{escape(tip)}</title></circle>'
            )
    parts += legend
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, bars: Sequence[tuple[datetime, float]], *, unit: str = "", series: int = 0) -> str:
    """Bars over time buckets (counts per interval), with a tooltip on every bar."""
    if not bars or not any(value for _, value in bars):
        return _empty(title)
    start, end = bars[0][0], bars[-1][0]
    y_max = _nice_max(max(value for _, value in bars))
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    parts = _frame(title, y_max, unit, start, end)
    slot = plot_w / len(bars)
    css = f"series-{series % _SERIES_CLASSES}"
    for n, (at, value) in enumerate(bars):
        height = plot_h * value / y_max
        x = _LEFT + slot * n + slot * 0.15
        tip = f"{_number(value)}{unit} at {at:%H:%M}"
        parts.append(
            f'<rect class="bar {css}" x="{x:.1f}" y="{_TOP + plot_h - height:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{height:.1f}"><title>{escape(tip)}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)
