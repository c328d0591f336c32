"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, nothing fetched to view.

Small on purpose: a grouped bar chart (counts per month) and a line chart (rates per month),
enough for the printable monthly page. Every text that goes into the SVG is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

FONT = "font-family=\"DejaVu Sans, Arial, sans-serif\""
AXIS = "#555"
GRID = "#ddd"


@dataclass(frozen=True)
class Series:
    """One named row of values (None: no value for that label), drawn in one colour."""

    name: str
    values: Sequence[float | None]
    colour: str


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int = 52
    right: int = 16
    top: int = 52
    bottom: int = 36

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def y(self, value: float, top: float) -> float:
        return self.top + self.plot_height * (1 - (value / top if top else 0))


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten not below `value` (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _open(frame: _Frame, title: str, series: Sequence[Series]) -> list[str]:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'width="{frame.width}" height="{frame.height}" '
             f'viewBox="0 0 {frame.width} {frame.height}" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<text x="{frame.left}" y="18" {FONT} font-size="14" font-weight="bold">'
             f"{escape(title)}</text>"]
    x = frame.left
    for item in series:
        parts.append(f'<rect x="{x}" y="28" width="12" height="12" fill="{item.colour}"/>')
        parts.append(f'<text x="{x + 16}" y="38" {FONT} font-size="11">{escape(item.name)}</text>')
        x += 28 + 7 * len(item.name)
    return parts


def _axes(frame: _Frame, labels: Sequence[str], top: float,
          tick: Callable[[float], str]) -> list[str]:
    parts = []
    for i in range(5):
        value = top * i / 4
        y = frame.y(value, top)
        parts.append(f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.width - frame.right}" '
                     f'y2="{y:.1f}" stroke="{GRID if i else AXIS}" stroke-width="1"/>')
        parts.append(f'<text x="{frame.left - 6}" y="{y + 4:.1f}" {FONT} font-size="10" '
                     f'text-anchor="end" fill="{AXIS}">{escape(tick(value))}</text>')
    slot = frame.plot_width / max(len(labels), 1)
    for i, label in enumerate(labels):
        x = frame.left + slot * (i + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{frame.height - frame.bottom + 16}" {FONT} '
                     f'font-size="11" text-anchor="middle">{escape(label)}</text>')
    return parts


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], *,
              width: int = 640, height: int = 260) -> Markup:
    """Grouped bars: one group per label, one bar per series, the value above each bar."""
    frame = _Frame(width, height)
    values = [v for s in series for v in s.values if v is not None]
    # Four grid steps of a round size, so the ticks of a count are whole numbers.
    top = 4 * nice_ceiling(max(values, default=0) / 4)
    parts = _open(frame, title, series) + _axes(frame, labels, top, _number)
    slot = frame.plot_width / max(len(labels), 1)
    bar = slot * 0.7 / max(len(series), 1)
    for i in range(len(labels)):
        for j, item in enumerate(series):
            value = item.values[i]
            if value is None:
                continue
            x = frame.left + slot * i + slot * 0.15 + bar * j
            y = frame.y(value, top)
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                         f'height="{frame.top + frame.plot_height - y:.1f}" '
                         f'fill="{item.colour}"><title>{escape(item.name)}: '
                         f"{escape(_number(value))}</title></rect>")
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" {FONT} font-size="10" '
                         f'text-anchor="middle">{escape(_number(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series], *,
               top: float = 100.0, unit: str = "%", width: int = 640,
               height: int = 260) -> Markup:
    """Lines over the labels (a gap where a value is missing), each point labelled."""
    frame = _Frame(width, height)
    parts = _open(frame, title, series) + _axes(frame, labels, top,
                                                lambda v: f"{_number(v)}{unit}")
    slot = frame.plot_width / max(len(labels), 1)
    for item in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(item.values):
            if value is None:
                runs.append([])
                continue
            runs[-1].append((frame.left + slot * (i + 0.5), frame.y(value, top)))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline points="{points}" fill="none" '
                             f'stroke="{item.colour}" stroke-width="2"/>')
        for i, value in enumerate(item.values):
            if value is None:
                continue
            x, y = frame.left + slot * (i + 0.5), frame.y(value, top)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{item.colour}">'
                         f"<title>{escape(item.name)}: {escape(_number(value))}{unit}</title>"
                         f"</circle>")
            parts.append(f'<text x="{x:.1f}" y="{y - 7:.1f}" {FONT} font-size="10" '
                         f'text-anchor="middle">{escape(_number(value))}{unit}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
