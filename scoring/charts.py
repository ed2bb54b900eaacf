"""Charts drawn as SVG on the server: no script, no CDN, and the same markup can go into PDFs.

All text is escaped; the CSP forbids inline styles, so colours are SVG presentation attributes.
"""

from __future__ import annotations

import math

from django.utils.html import escape
from django.utils.safestring import mark_safe

PALETTE = ["#0b5cad", "#2a9d8f", "#e9a23b", "#7b61c4", "#d1495b", "#5c7c8a", "#8ab17d", "#b5651d"]
RUBRIC_MAX = 5.0


def _svg(markup: str) -> str:
    # Every user-supplied string in `markup` went through escape(); numbers are formatted here.
    return mark_safe(markup)  # noqa: S308


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def legend(criteria) -> list[tuple[str, str]]:
    return [(criterion.name, colour(j)) for j, criterion in enumerate(criteria)]


def contribution_bar(contributions: list[float], criteria, width: int = 220, height: int = 16) -> str:
    """A stacked bar of each criterion's weighted contribution on the 0-5 scale."""
    parts, x = [], 0.0
    for j, (value, criterion) in enumerate(zip(contributions, criteria, strict=True)):
        w = max(value, 0) / RUBRIC_MAX * width
        if w > 0:
            parts.append(
                f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}" fill="{colour(j)}">'
                f"<title>{escape(criterion.name)}: {value:.2f}</title></rect>"
            )
        x += w
    label = escape(", ".join(f"{c.name} {v:.2f}" for c, v in zip(criteria, contributions, strict=True)))
    return _svg(
        f'<svg class="bar-chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{label}">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#eef1f4"/>{"".join(parts)}</svg>'
    )


def tipping_points(tipping, criteria, names: list[str], width: int = 640) -> str:
    """Per criterion: the weight range within which the leader stays first, and today's weight."""
    row, left, track = 44, 190, width - 230
    height = row * len(criteria) + 30
    parts = []
    for j, criterion in enumerate(criteria):
        y = 20 + j * row
        low, high, now = float(tipping.lower[j]), float(tipping.upper[j]), float(tipping.weights[j])
        parts.append(f'<text x="0" y="{y + 12}" font-size="12" fill="#1f2933">{escape(criterion.name)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{track}" height="14" fill="#f3d5d8"/>')
        parts.append(
            f'<rect x="{left + low * track:.1f}" y="{y}" width="{max(high - low, 0) * track:.1f}" height="14" fill="#9fd3b5">'
            f"<title>{escape(names[tipping.leader])} stays first from {low:.1%} to {high:.1%}</title></rect>"
        )
        parts.append(f'<rect x="{left + now * track - 1.5:.1f}" y="{y - 3}" width="3" height="20" fill="#1f2933"/>')
        challengers = []
        if tipping.lower_challenger[j] >= 0:
            challengers.append(f"below {low:.0%}: {names[tipping.lower_challenger[j]]}")
        if tipping.upper_challenger[j] >= 0:
            challengers.append(f"above {high:.0%}: {names[tipping.upper_challenger[j]]}")
        parts.append(
            f'<text x="{left}" y="{y + 28}" font-size="11" fill="#5b6675">{low:.0%}–{high:.0%} (now {now:.0%})'
            f"{escape('; ' + '; '.join(challengers)) if challengers else ''}</text>"
        )
    axis = "".join(
        f'<text x="{left + t * track:.1f}" y="12" font-size="10" text-anchor="middle" fill="#5b6675">{t:.0%}</text>'
        for t in (0, 0.25, 0.5, 0.75, 1)
    )
    return _svg(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Weight ranges within which {escape(names[tipping.leader])} stays first">{axis}{"".join(parts)}</svg>'
    )


def acceptability_heatmap(acceptability, names: list[str], cell: int = 46) -> str:
    """Rows: candidates; columns: rank 1..m; shade: share of weight samples giving that rank."""
    m = len(names)
    left, top = 240, 24
    width, height = left + cell * m + 10, top + cell * m + 10
    parts = []
    for k in range(m):
        parts.append(
            f'<text x="{left + k * cell + cell / 2}" y="16" font-size="11" text-anchor="middle" fill="#5b6675">#{k + 1}</text>'
        )
    for i, name in enumerate(names):
        y = top + i * cell
        parts.append(
            f'<text x="{left - 8}" y="{y + cell / 2 + 4}" font-size="12" text-anchor="end" fill="#1f2933">{escape(name[:34])}</text>'
        )
        for k in range(m):
            share = float(acceptability[i][k])
            parts.append(
                f'<rect x="{left + k * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="#0b5cad" '
                f'fill-opacity="{0.06 + 0.94 * share:.3f}"><title>{escape(name)}: rank {k + 1} in {share:.1%} of samples</title></rect>'
            )
            if share >= 0.005:
                text_colour = "#ffffff" if share > 0.5 else "#1f2933"
                parts.append(
                    f'<text x="{left + k * cell + cell / 2 - 1}" y="{y + cell / 2 + 4}" font-size="11" '
                    f'text-anchor="middle" fill="{text_colour}">{share:.0%}</text>'
                )
    return _svg(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Rank acceptability of each candidate">{"".join(parts)}</svg>'
    )


def radar(rows, criteria, size: int = 360) -> str:
    """Each candidate's cell values (1-5) on one axis per criterion."""
    n = len(criteria)
    centre, radius = size / 2, size / 2 - 70
    angle = [(-math.pi / 2) + 2 * math.pi * j / n for j in range(n)]

    def point(j, value):
        r = radius * (value / RUBRIC_MAX)
        return centre + r * math.cos(angle[j]), centre + r * math.sin(angle[j])

    parts = []
    for level in (1, 2, 3, 4, 5):
        ring = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(j, level) for j in range(n)))
        parts.append(f'<polygon points="{ring}" fill="none" stroke="#d5dbe3"/>')
    for j, criterion in enumerate(criteria):
        x, y = point(j, RUBRIC_MAX)
        lx, ly = point(j, RUBRIC_MAX + 1.1)
        anchor = "middle" if abs(lx - centre) < 10 else ("start" if lx > centre else "end")
        parts.append(f'<line x1="{centre}" y1="{centre}" x2="{x:.1f}" y2="{y:.1f}" stroke="#d5dbe3"/>')
        parts.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="11" text-anchor="{anchor}" fill="#1f2933">{escape(criterion.name)}</text>'
        )
    for index, row in enumerate(rows):
        values = [cell.value if cell.value is not None else 0 for cell in row.cells]
        shape = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(j, v) for j, v in enumerate(values)))
        parts.append(
            f'<polygon points="{shape}" fill="{colour(index)}" fill-opacity="0.15" stroke="{colour(index)}" stroke-width="2">'
            f"<title>{escape(row.candidate.vendor.name)}</title></polygon>"
        )
    return _svg(
        f'<svg class="chart radar" viewBox="0 0 {size} {size}" width="100%" role="img" '
        f'aria-label="Radar chart of the compared candidates">{"".join(parts)}</svg>'
    )
