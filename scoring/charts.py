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


# The ranking charts draw the ranking as scoring.serializers.RankingSerializer presents it: `criteria`
# are its criterion dicts ({id, key, name, derived}) and `rows` its row dicts (row_data).


def legend(criteria: list[dict]) -> list[tuple[str, str]]:
    return [(criterion["name"], colour(j)) for j, criterion in enumerate(criteria)]


def contribution_bar(contributions: dict[str, float], criteria: list[dict], width: int = 220, height: int = 16) -> str:
    """A stacked bar of each criterion's weighted contribution on the 0-5 scale (`contributions`: a
    row's, by criterion key)."""
    parts, x = [], 0.0
    values = [contributions[criterion["key"]] for criterion in criteria]
    for j, (value, criterion) in enumerate(zip(values, criteria, strict=True)):
        w = max(value, 0) / RUBRIC_MAX * width
        if w > 0:
            parts.append(
                f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}" fill="{colour(j)}">'
                f"<title>{escape(criterion['name'])}: {value:.2f}</title></rect>"
            )
        x += w
    label = escape(", ".join(f"{c['name']} {v:.2f}" for c, v in zip(criteria, values, strict=True)))
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


# Radar labels: wrapped to a few short lines, and the viewBox grown to hold them, so that no label is
# cut off whatever its length or the width the chart is drawn at. Text width is estimated
# generously (0.6 em per character, wider than the average of the usual sans-serif fonts).
RADAR_FONT = 13
RADAR_LINE = 15
RADAR_CHAR = 0.6 * RADAR_FONT
RADAR_WRAP = 15  # characters per line
RADAR_MAX_LINES = 3


def wrap_label(text: str, width: int = RADAR_WRAP, lines: int = RADAR_MAX_LINES) -> list[str]:
    """`text` in at most `lines` lines of at most `width` characters; words longer than a line are split."""
    words = []
    for word in text.split():
        while len(word) > width:
            words.append(word[: width - 1] + "-")
            word = word[width - 1 :]
        words.append(word)
    wrapped: list[str] = []
    for word in words:
        if wrapped and len(wrapped[-1]) + 1 + len(word) <= width:
            wrapped[-1] += " " + word
        else:
            wrapped.append(word)
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 1].rstrip(" -") + "…"
    return wrapped or [""]


def radar(rows: list[dict], criteria: list[dict], radius: int = 100) -> str:
    """Each candidate's cell values (1-5) on one axis per criterion (`rows`: the serializer's row dicts).

    Criteria that do not apply to the evaluation (weight 0) get no axis: every candidate would
    sit at the centre on them, which reads as a low score. The chart is centred on (0, 0) and
    its viewBox is the bounding box of the rings and of the wrapped axis labels.
    """
    axes = [j for j in range(len(criteria)) if not (rows and rows[0]["cells"][j]["not_applicable"])]
    n = len(axes)
    angle = [(-math.pi / 2) + 2 * math.pi * k / n for k in range(n)]

    def point(k, value):
        r = radius * (value / RUBRIC_MAX)
        return r * math.cos(angle[k]), r * math.sin(angle[k])

    left, top, right, bottom = -radius, -radius, radius, radius
    parts = []
    for level in (1, 2, 3, 4, 5):
        ring = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(k, level) for k in range(n)))
        parts.append(f'<polygon points="{ring}" fill="none" stroke="#d5dbe3"/>')
    for k, j in enumerate(axes):
        name = criteria[j]["name"]
        x, y = point(k, RUBRIC_MAX)
        cos, sin = math.cos(angle[k]), math.sin(angle[k])
        lx, ly = (radius + 10) * cos, (radius + 10) * sin
        lines = wrap_label(name)
        width = max(len(line) for line in lines) * RADAR_CHAR
        height = (len(lines) - 1) * RADAR_LINE + RADAR_FONT
        if abs(cos) < 0.2:
            anchor, x0 = "middle", lx - width / 2
        elif cos > 0:
            anchor, x0 = "start", lx
        else:
            anchor, x0 = "end", lx - width
        # Above the axis end at the top, below it at the bottom, centred on it at the sides.
        y0 = ly - height / 2 + (height / 2 + 4) * sin
        left, right = min(left, x0), max(right, x0 + width)
        top, bottom = min(top, y0), max(bottom, y0 + height)
        tspans = "".join(
            f'<tspan x="{lx:.1f}" y="{y0 + RADAR_FONT * 0.85 + i * RADAR_LINE:.1f}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        parts.append(f'<line x1="0" y1="0" x2="{x:.1f}" y2="{y:.1f}" stroke="#d5dbe3"/>')
        parts.append(
            f'<text font-size="{RADAR_FONT}" text-anchor="{anchor}" fill="#1f2933"><title>{escape(name)}</title>{tspans}</text>'
        )
    for index, row in enumerate(rows):
        values = [row["cells"][j]["value"] if row["cells"][j]["value"] is not None else 0 for j in axes]
        shape = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(k, v) for k, v in enumerate(values)))
        parts.append(
            f'<polygon points="{shape}" fill="{colour(index)}" fill-opacity="0.15" stroke="{colour(index)}" stroke-width="2">'
            f"<title>{escape(row['vendor_name'])}</title></polygon>"
        )
    pad = 6
    box = f"{left - pad:.1f} {top - pad:.1f} {right - left + 2 * pad:.1f} {bottom - top + 2 * pad:.1f}"
    return _svg(
        f'<svg class="chart radar" viewBox="{box}" width="100%" role="img" '
        f'aria-label="Radar chart of the compared candidates">{"".join(parts)}</svg>'
    )
