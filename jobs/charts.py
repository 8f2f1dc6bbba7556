"""Charts as inline SVG, drawn on the server (no chart library, no CDN).

Pure: no Django. Every function returns a complete ``<svg>`` element as a
string; every text it holds is escaped, so the admin may mark it safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

OK_COLOUR = "#2e7d32"
BAD_COLOUR = "#c62828"
LINE_COLOUR = "#1565c0"


def _svg(width: int, height: int, label: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def stacked_bars(
    bars: Sequence[tuple[str, int, int]],
    *,
    label: str,
    width: int = 720,
    height: int = 120,
) -> str:
    """Draw one bar per (name, good, bad): good at the bottom, bad on top.

    Each bar has a tooltip "name: good ok, bad failed".
    """
    top = max((good + bad for _, good, bad in bars), default=0)
    if not bars or top == 0:
        return _svg(width, height, label, _empty_text(width, height))
    step = width / len(bars)
    bar_width = max(step - 2, 1)
    parts = []
    for index, (name, good, bad) in enumerate(bars):
        x = index * step + 1
        good_height = height * good / top
        bad_height = height * bad / top
        tip = escape(f"{name}: {good} ok, {bad} failed")
        parts.append(
            f'<g><title>{tip}</title><rect x="{x:.1f}" '
            f'y="{height - good_height:.1f}" width="{bar_width:.1f}" '
            f'height="{good_height:.1f}" fill="{OK_COLOUR}"/>'
            f'<rect x="{x:.1f}" y="{height - good_height - bad_height:.1f}" '
            f'width="{bar_width:.1f}" height="{bad_height:.1f}" '
            f'fill="{BAD_COLOUR}"/></g>'
        )
    return _svg(width, height, label, "".join(parts))


def sparkline(
    values: Sequence[float | None],
    *,
    label: str,
    width: int = 140,
    height: int = 28,
    maximum: float | None = None,
    colour: str = LINE_COLOUR,
) -> str:
    """Draw a line through `values` (None: a gap), scaled to `maximum`.

    Each point is a small circle with its value as tooltip; the line breaks
    where a value is missing.
    """
    known = [v for v in values if v is not None]
    if not known:
        return _svg(width, height, label, _empty_text(width, height))
    top = maximum if maximum is not None else max(known)
    top = top or 1.0
    step = width / max(len(values) - 1, 1)
    segments: list[list[str]] = [[]]
    dots = []
    for index, value in enumerate(values):
        if value is None:
            segments.append([])
            continue
        x = index * step if len(values) > 1 else width / 2
        y = (height - 3) - (height - 6) * min(value / top, 1.0)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        dots.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}">'
            f"<title>{escape(f'{value:.3g}')}</title></circle>"
        )
    lines = [
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
        f'points="{" ".join(points)}"/>'
        for points in segments
        if len(points) > 1
    ]
    return _svg(width, height, label, "".join(lines) + "".join(dots))


def _empty_text(width: int, height: int) -> str:
    return (
        f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
        'font-size="11" fill="#777">no data</text>'
    )
