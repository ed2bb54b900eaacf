"""The audit calendar: which audits fall in a month, the month grid, and its iCalendar export (RFC 5545).

An audit occupies the days it was held (actual start to actual end) once it has started, its planned
days before that. A started audit without an actual end is taken to last as long as it was planned.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from django.db.models import Q, QuerySet

from audits.models import AREAS, Audit

STATUS_BADGES = {
    Audit.Status.PLANNED: "text-bg-secondary",
    Audit.Status.IN_PROGRESS: "text-bg-primary",
    Audit.Status.REPORT_DRAFTED: "text-bg-warning",
    Audit.Status.SIGNED: "text-bg-success",
    Audit.Status.CLOSED: "text-bg-dark",
}
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: str | None, today: date) -> date:
    """The first day of the month "YYYY-MM"; this month when the value is missing or not a month."""
    match = MONTH.match(value or "")
    if match:
        year, month = int(match[1]), int(match[2])
        if 1900 <= year <= 2999 and 1 <= month <= 12:
            return date(year, month, 1)
    return today.replace(day=1)


def add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(first: date) -> date:
    return add_months(first, 1) - timedelta(days=1)


def audit_span(audit: Audit) -> tuple[date, date]:
    """First and last day of the audit, both included."""
    if audit.actual_start:
        start = audit.actual_start
        end = audit.actual_end or start + (audit.planned_end - audit.planned_start)
    else:
        start, end = audit.planned_start, audit.planned_end
    return start, max(start, end)


def audits_in_month(audits: QuerySet[Audit], first: date) -> list[Audit]:
    """The audits (of a visibility-filtered queryset) whose span meets the month, in one query.

    Each gets .span (first and last day) and .badge (a Bootstrap class for its status).
    """
    last = month_end(first)
    candidates = audits.filter(
        Q(actual_start__isnull=True, planned_start__lte=last, planned_end__gte=first)
        | Q(actual_start__lte=last, actual_end__gte=first)
        | Q(actual_start__lte=last, actual_end__isnull=True)  # in progress: its end is computed below
    ).select_related("site__vendor", "lead_auditor")
    found = []
    for audit in candidates:
        audit.span = audit_span(audit)
        if audit.span[0] <= last and audit.span[1] >= first:
            audit.badge = STATUS_BADGES.get(audit.status, "text-bg-light")
            found.append(audit)
    return sorted(found, key=lambda a: (a.span[0], a.span[1], a.site.vendor.name, a.site.name, a.pk))


def month_weeks(first: date, audits: list[Audit], today: date) -> list[list[dict]]:
    """Monday-first weeks of the month; each day with its audits (days of the next or previous month have none)."""
    last = month_end(first)
    by_day: dict[date, list[Audit]] = defaultdict(list)
    for audit in audits:
        day = max(audit.span[0], first)
        while day <= min(audit.span[1], last):
            by_day[day].append(audit)
            day += timedelta(days=1)
    return [
        [
            {"date": day, "in_month": day.month == first.month, "today": day == today, "audits": by_day.get(day, [])}
            for day in week
        ]
        for week in calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(first.year, first.month)
    ]


# --- iCalendar ---------------------------------------------------------------------------------

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def ical_text(value: str) -> str:
    """A TEXT value escaped per RFC 5545 3.3.11: backslash, semicolon, comma, newline; no control characters."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Content lines of at most 75 octets (RFC 5545 3.1), folded with CRLF and a space, never inside a character."""
    parts, current, size = [], [], 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > (75 if not parts else 74):
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def icalendar(audits: list[Audit], *, first: date, host: str, absolute_url, now: datetime) -> str:
    """A VCALENDAR with one all-day VEVENT per audit; UIDs are stable so calendar programs update, not duplicate."""
    areas = dict(AREAS)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//VendorSelect//Audit calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{ical_text(f'Audits {first:%B %Y}')}",
    ]
    for audit in audits:
        start, end = audit.span
        site, vendor = audit.site, audit.site.vendor
        url = absolute_url(audit.get_absolute_url())
        details = [
            f"Status: {audit.get_status_display()}",
            f"Lead auditor: {audit.lead_auditor.printed_name}",
            f"Planned: {audit.planned_start:%Y-%m-%d} to {audit.planned_end:%Y-%m-%d}",
        ]
        if audit.actual_start:
            held = f" to {audit.actual_end:%Y-%m-%d}" if audit.actual_end else " (in progress)"
            details.append(f"Held: {audit.actual_start:%Y-%m-%d}{held}")
        if audit.scope:
            details.append("Scope: " + ", ".join(areas.get(key, key) for key in audit.scope))
        details.append(url)
        location = ", ".join(part for part in (site.name, " ".join(site.address.split()), site.country.name) if part)
        lines += [
            "BEGIN:VEVENT",
            f"UID:audit-{audit.pk}@{host}",
            f"DTSTAMP:{_utc(now)}",
            f"LAST-MODIFIED:{_utc(audit.updated_at)}",
            f"DTSTART;VALUE=DATE:{start:%Y%m%d}",
            f"DTEND;VALUE=DATE:{end + timedelta(days=1):%Y%m%d}",  # exclusive: the day after the last
            f"SUMMARY:{ical_text(f'Audit: {vendor.name} — {site.name} ({audit.get_type_display()})')}",
            f"LOCATION:{ical_text(location)}",
            f"DESCRIPTION:{ical_text(chr(10).join(details))}",
            f"URL:{url}",
            f"CATEGORIES:{ical_text('Audit')},{ical_text(audit.get_status_display())}",
            "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
