"""The backlog over time of the load workload, drawn as an SVG line chart (no plotting library:
a few polylines, axes and labels are all it takes, and the file diffs as text)."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 360
LEFT, RIGHT, TOP, BOTTOM = 70, 200, 40, 50
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")

Series = Sequence[Sequence[float]]
"""Points (seconds since the phase began, tasks waiting)."""


def backlog_svg(title: str, series: Mapping[str, Series]) -> str:
    """The chart of every series (label -> points), on shared axes starting at zero."""
    points = [point for line in series.values() for point in line]
    max_t = max((t for t, _ in points), default=1.0) or 1.0
    max_y = max((y for _, y in points), default=1.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + t / max_t * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - v / max_y * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="black"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="black"/>',
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 10}" text-anchor="middle">seconds</text>',
        f'<text x="15" y="{TOP + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 15 {TOP + plot_h / 2})">tasks waiting</text>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        out.append(
            f'<text x="{LEFT - 5}" y="{y(max_y * fraction) + 4:.1f}" text-anchor="end">'
            f"{max_y * fraction:,.0f}</text>"
        )
        out.append(
            f'<text x="{x(max_t * fraction):.1f}" y="{TOP + plot_h + 15}" '
            f'text-anchor="middle">{max_t * fraction:.0f}</text>'
        )
    for i, (label, line) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        coordinates = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in line)
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coordinates}"/>'
        )
        legend_y = TOP + 15 * i
        out.append(
            f'<line x1="{LEFT + plot_w + 10}" y1="{legend_y}" x2="{LEFT + plot_w + 30}" '
            f'y2="{legend_y}" stroke="{colour}" stroke-width="2"/>'
        )
        out.append(f'<text x="{LEFT + plot_w + 35}" y="{legend_y + 4}">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_backlog(path: Path, title: str, series: Mapping[str, Series]) -> Path:
    """Write the chart to ``path`` and return it."""
    path.write_text(backlog_svg(title, series))
    return path
