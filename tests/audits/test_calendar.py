"""The audit calendar: month page (visibility, spans, navigation, bounded queries) and its iCalendar export."""

import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audits import schedule
from audits.models import Audit
from tests.factories import SiteFactory, VendorFactory

pytestmark = pytest.mark.django_db
NOV = date(2026, 11, 1)


def _audit(users, start, end, *, site=None, status=Audit.Status.PLANNED, actual=(None, None), type="routine"):
    return Audit.objects.create(
        site=site or SiteFactory(),
        type=type,
        planned_start=start,
        planned_end=end,
        actual_start=actual[0],
        actual_end=actual[1],
        lead_auditor=users["auditor"],
        status=status,
    )


def _grid(page: str) -> dict[str, str]:
    """The month grid's day cells by ISO date."""
    grid = page[page.index('role="table"') : page.index('id="month-audits"')]
    return {chunk[:10]: chunk for chunk in grid.split('data-day="')[1:]}


def _unfold(body: str) -> list[str]:
    assert "\n" not in body.replace("\r\n", ""), "bare LF"
    return body.replace("\r\n ", "").split("\r\n")


def test_months_and_spans():
    today = date(2026, 5, 17)
    assert schedule.parse_month("2026-11", today) == NOV
    for bad in (None, "", "2026-13", "2026-1", "26-11", "2026-11-01", "0000-01", "abcd-ef"):
        assert schedule.parse_month(bad, today) == date(2026, 5, 1), bad
    assert schedule.add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert schedule.add_months(date(2026, 12, 1), 1) == date(2027, 1, 1)
    assert schedule.month_end(date(2028, 2, 1)) == date(2028, 2, 29)
    planned = Audit(planned_start=date(2026, 11, 2), planned_end=date(2026, 11, 4))
    assert schedule.audit_span(planned) == (date(2026, 11, 2), date(2026, 11, 4))
    held = Audit(
        planned_start=date(2026, 11, 2),
        planned_end=date(2026, 11, 4),
        actual_start=date(2026, 11, 9),
        actual_end=date(2026, 11, 10),
    )
    assert schedule.audit_span(held) == (date(2026, 11, 9), date(2026, 11, 10))
    # Started, not yet ended: as long as planned, from the day it started.
    running = Audit(planned_start=date(2026, 11, 2), planned_end=date(2026, 11, 4), actual_start=date(2026, 11, 9))
    assert schedule.audit_span(running) == (date(2026, 11, 9), date(2026, 11, 11))


def test_calendar_page(client_as, users, django_assert_max_num_queries):
    vendor = VendorFactory(name="Acme <script>alert(1)</script> Pharma")
    across = _audit(users, date(2026, 10, 30), date(2026, 11, 2), site=SiteFactory(vendor=vendor, name="Basel"))
    moved = _audit(
        users,
        date(2026, 11, 3),
        date(2026, 11, 4),
        site=SiteFactory(name="Moved site"),
        status=Audit.Status.SIGNED,
        actual=(date(2026, 11, 17), date(2026, 11, 18)),
    )
    outside = _audit(users, date(2026, 12, 1), date(2026, 12, 2), site=SiteFactory(name="December site"))
    for day in range(1, 28):  # 30 audits in November in all
        _audit(users, date(2026, 11, day), date(2026, 11, day + 2))
    client = client_as("procurement")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/audits/calendar/?month=2026-11")
    print(f"calendar page: {len(queries)} queries with 30 audits in the month")
    with django_assert_max_num_queries(10):
        response = client.get("/audits/calendar/?month=2026-11")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Audit calendar: November 2026" in page
    assert 'href="?month=2026-10"' in page and 'href="?month=2026-12"' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert f'href="{across.get_absolute_url()}"' in page and f'href="{moved.get_absolute_url()}"' in page
    assert "December site" not in page and f'href="{outside.get_absolute_url()}"' not in page
    assert "No audits this month" not in page
    assert re.search(r'<span class="badge text-bg-success">Signed</span>', page)
    assert 'href="/audits/calendar.ics?month=2026-11"' in page
    # An audit appears on each day of its span in the grid (the agenda lists it once).
    days = _grid(page)
    assert len(days) == 42 and min(days) == "2026-10-26" and max(days) == "2026-12-06"  # Monday-first weeks
    assert [day for day, cell in days.items() if "Moved site" in cell] == ["2026-11-17", "2026-11-18"]  # held
    assert [day for day, cell in days.items() if "Basel" in cell] == ["2026-11-01", "2026-11-02"]
    assert all("<li" not in days[day] for day in ("2026-10-30", "2026-10-31", "2026-12-01"))
    assert len(re.findall("<li", days["2026-11-15"])) == 3  # three daily audits span the 15th
    assert '2026-11-17 – 2026-11-18 <span class="small text-body-secondary">(held)' in page


def test_calendar_today_empty_state_and_visibility(client_as, users):
    page = client_as("auditor").get("/audits/calendar/").content.decode()
    assert page.count('aria-current="date"') == 1 and ">Today</span>" in page
    assert "No audits this month" in page and "This month</a>" not in page
    elsewhere = client_as("auditor").get("/audits/calendar/?month=2031-02").content.decode()
    assert 'aria-current="date"' not in elsewhere and "This month</a>" in elsewhere
    assert "Audit calendar: February 2031" in elsewhere
    _audit(users, date(2026, 11, 5), date(2026, 11, 6), site=SiteFactory(name="Secret site"))
    # Evaluators see only audits of vendors in their evaluations, as in the list.
    assert "Secret site" not in client_as("evaluator").get("/audits/calendar/?month=2026-11").content.decode()
    assert "Secret site" in client_as("manager").get("/audits/calendar/?month=2026-11").content.decode()
    assert 'href="/audits/calendar/"' in client_as("auditor").get("/audits/").content.decode()


def test_calendar_needs_login(client):
    assert client.get("/audits/calendar/").status_code == 302
    assert client.get("/audits/calendar.ics").status_code == 302


def test_icalendar_export(client_as, users):
    vendor = VendorFactory(name="Bio, Inc; Labs \\ Ltd")
    site = SiteFactory(vendor=vendor, name="Site\nwith newline", address="Hauptstrasse 1\n4051 Basel", country="CH")
    audit = _audit(
        users, date(2026, 11, 29), date(2026, 12, 1), site=site, type="for_cause", status=Audit.Status.IN_PROGRESS
    )
    audit.scope = ["data_integrity"]
    audit.save()
    long_name = VendorFactory(name="Ünïcödé Pharmaceutical Manufacturing Services " * 3)
    _audit(users, date(2026, 11, 10), date(2026, 11, 10), site=SiteFactory(vendor=long_name))
    _audit(users, date(2026, 12, 2), date(2026, 12, 3))  # another month
    response = client_as("auditor").get("/audits/calendar.ics?month=2026-11")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="audits-2026-11.ics"'
    raw = response.content
    body = raw.decode("utf-8")
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n")), "lines are folded at 75 octets"
    lines = _unfold(body)
    assert lines.count("BEGIN:VEVENT") == 2 and lines.count("END:VEVENT") == 2
    event = lines[lines.index(f"UID:audit-{audit.pk}@testserver") - 1 :]
    event = event[: event.index("END:VEVENT")]
    fields = dict(line.split(":", 1) for line in event[1:])
    assert fields["DTSTART;VALUE=DATE"] == "20261129"
    assert fields["DTEND;VALUE=DATE"] == "20261202"  # exclusive: the day after 1 December
    assert fields["SUMMARY"] == "Audit: Bio\\, Inc\\; Labs \\\\ Ltd — Site\\nwith newline (For-cause)"
    assert fields["LOCATION"] == "Site\\nwith newline\\, Hauptstrasse 1 4051 Basel\\, Switzerland"
    assert "Status: In progress\\nLead auditor: " in fields["DESCRIPTION"]
    assert "Scope: Data integrity\\n" in fields["DESCRIPTION"]
    assert fields["URL"] == f"http://testserver/audits/{audit.pk}/"
    assert re.fullmatch(r"\d{8}T\d{6}Z", fields["DTSTAMP"])
    assert any(line.startswith(f"SUMMARY:Audit: {long_name.name} — Site ") for line in lines)
    # Evaluators export only what they may see.
    empty = client_as("evaluator").get("/audits/calendar.ics?month=2026-11").content.decode()
    assert "BEGIN:VEVENT" not in empty and "END:VCALENDAR" in empty


def test_fold_never_splits_a_character():
    line = "SUMMARY:" + "é" * 100
    folded = schedule.fold(line)
    parts = folded.split("\r\n ")
    assert all(len(p.encode()) <= (75 if i == 0 else 74) for i, p in enumerate(parts))
    assert "".join(parts) == line
    assert schedule.ical_text("a,b;c\\d\r\ne\x07") == "a\\,b\\;c\\\\d\\ne"
