"""Trend charts of the scorecard (one per KPI over the last periods) as SVG drawn on the server, like
scoring/charts.py: no script, colours as presentation attributes (the CSP allows no inline style), every
text escaped, and the same markup goes into the PDF."""

from __future__ import annotations

from typing import Any

from django.utils.html import escape
from django.utils.safestring import mark_safe

LINE, THRESHOLD, BAD, GRID, TEXT = "#0b5cad", "#d1495b", "#d1495b", "#e3e7eb", "#5b6675"


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f} %" if abs(value - round(value)) < 0.05 else f"{value:.1f} %"
    if unit == "count":
        return f"{value:g}"
    return f"{value:.2f}"


def trend_chart(series: dict[str, Any], width: int = 300, height: int = 150) -> str:
    """A line of the KPI's values over the periods (oldest left), the threshold as a dashed red line, points
    worse than the threshold in red, and a period without a value (nothing to divide by) left as a gap."""
    points = series["points"]
    unit, threshold = series["unit"], series["threshold"]
    values = [v for _, v in points if v is not None]
    left, right, top, bottom = 46, 10, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    label = f"{series['name']}: " + (
        ", ".join(f"{period} {'n/a' if v is None else _fmt(v, unit)}" for period, v in points) or "no periods"
    )
    if threshold is not None:
        label += f"; threshold {_fmt(threshold, unit)}"
    parts = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    if not values:
        parts.append(
            f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" font-size="12" text-anchor="middle" fill="{TEXT}">'
            "No values yet</text>"
        )
        return _svg_markup(parts, width, height, label)
    low = min([*values, threshold] if threshold is not None else values)
    high = max([*values, threshold] if threshold is not None else values)
    if unit == "%":
        low, high = max(0.0, min(low, 100.0) - 5), 100.0
    else:
        low = 0.0
        high = high * 1.15 if high > 0 else 1.0
    if high <= low:
        high = low + 1

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    n = len(points)

    def x(i: int) -> float:
        return left + (plot_w * (i / (n - 1)) if n > 1 else plot_w / 2)

    for tick in (low, (low + high) / 2, high):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" font-size="10" text-anchor="end" fill="{TEXT}">'
            f"{escape(_fmt(tick, unit))}</text>"
        )
    if threshold is not None:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(threshold):.1f}" y2="{y(threshold):.1f}" '
            f'stroke="{THRESHOLD}" stroke-dasharray="4 3"><title>threshold {escape(_fmt(threshold, unit))}</title></line>'
        )
    segment: list[str] = []
    segments = []
    for i, (_, value) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(value):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    higher_better = series["higher_is_better"]
    for i, (period, value) in enumerate(points):
        if value is None:
            continue
        worse = threshold is not None and (value < threshold if higher_better else value > threshold)
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3.5" fill="{BAD if worse else LINE}">'
            f"<title>{escape(period)}: {escape(_fmt(value, unit))}{' (flagged)' if worse else ''}</title></circle>"
        )
    for i, (period, _) in enumerate(points):
        if n <= 4 or i in (0, n - 1) or i % 2 == (n - 1) % 2:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" font-size="9" text-anchor="middle" fill="{TEXT}">'
                f"{escape(period.replace(' – ', '–'))}</text>"
            )
    return _svg_markup(parts, width, height, label)


def _svg(markup: str) -> str:
    # Every user-supplied string in `markup` went through escape(); numbers are formatted here.
    return mark_safe(markup)  # noqa: S308


def _svg_markup(parts: list[str], width: int, height: int, label: str) -> str:
    return _svg(
        f'<svg class="trend-chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )
