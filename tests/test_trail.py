"""The audit trail: written by the database for every write path, append-only, readable and exportable."""

import io

import pytest
from django.db import DatabaseError, connection, transaction
from pghistory.models import Events
from pypdf import PdfReader

from tests.factories import SiteFactory, VendorFactory
from tests.vendors.test_import import GOOD, run_import
from vendors.models import Vendor

pytestmark = pytest.mark.django_db


def vendor_events(vendor):
    return list(Events.objects.tracks(vendor).order_by("pgh_id"))


def test_api_change_is_recorded_with_user_field_old_and_new(api_as, users, client_as):
    vendor = VendorFactory(name="Acme Bio", status="prospect")
    response = api_as("procurement").patch(f"/api/v1/vendors/{vendor.pk}/", {"status": "approved"}, format="json")
    assert response.status_code == 200, response.content
    insert, update = vendor_events(vendor)
    assert insert.pgh_label == "insert" and update.pgh_label == "update"
    assert update.pgh_diff["status"] == ["prospect", "approved"]
    assert update.pgh_context["user"] == users["procurement"].pk
    assert update.pgh_context["url"] == f"/api/v1/vendors/{vendor.pk}/"
    page = client_as("manager").get(f"/history/vendors.Vendor/{vendor.pk}/").content.decode()
    assert "Changed" in page and "prospect" in page and "approved" in page
    assert users["procurement"].printed_name in page


def test_bulk_update_and_raw_sql_are_recorded():
    a, b = VendorFactory(), VendorFactory()
    Vendor.objects.filter(pk__in=[a.pk, b.pk]).update(status="disqualified")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE vendors_vendor SET website = 'https://x.example' WHERE id = %s", [a.pk])
    assert [e.pgh_diff for e in vendor_events(a)][1:] == [
        {"status": ["prospect", "disqualified"]},
        {"website": ["", "https://x.example"]},
    ]
    assert vendor_events(b)[-1].pgh_diff == {"status": ["prospect", "disqualified"]}


def test_import_writes_are_recorded_with_the_person_who_confirmed(client_as, users, django_capture_on_commit_callbacks):
    run_import(client_as("procurement"), GOOD.encode(), django_capture_on_commit_callbacks)
    alpha = Vendor.objects.get(name="Alpha Bio")
    [insert] = vendor_events(alpha)
    assert insert.pgh_context["user"] == users["procurement"].pk
    assert insert.pgh_context["task"].startswith("import ")


def test_deletes_are_recorded():
    vendor = VendorFactory()
    contact = vendor.contacts.create(name="Ann Lee")
    contact.delete()
    labels = [e.pgh_label for e in Events.objects.references(vendor).order_by("pgh_created_at")]
    assert labels == ["insert", "add", "insert", "delete"]  # the vendor, its kind, the contact


@pytest.mark.parametrize("sql", ["UPDATE vendors_vendorevent SET name = 'x'", "DELETE FROM vendors_vendorevent"])
def test_the_database_refuses_to_change_the_trail(sql):
    VendorFactory()
    with (
        pytest.raises(DatabaseError, match="Cannot update or delete"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)


def test_history_tabs_follow_record_visibility(client_as, reviewed_evaluation):
    evaluation = reviewed_evaluation
    assert client_as("manager").get(f"/history/scoring.Evaluation/{evaluation.pk}/").status_code == 200
    assert client_as("procurement").get(f"/history/scoring.Evaluation/{evaluation.pk}/").status_code == 200
    assert client_as("auditor").get(f"/history/scoring.Evaluation/{evaluation.pk}/").status_code == 404
    assert client_as("manager").get(f"/history/accounts.User/{evaluation.lead_id}/").status_code == 404
    site = SiteFactory()
    page = client_as("evaluator").get(f"/history/vendors.Site/{site.pk}/")
    assert page.status_code == 200 and b"Created" in page.content


@pytest.fixture
def reviewed_evaluation(users):
    from scoring import services

    return services.evaluation_create(lead=users["procurement"], name="Trail test")


@pytest.mark.parametrize(("role", "status"), [("manager", 200), ("procurement", 403), ("auditor", 403)])
def test_trail_search_is_for_qa(client_as, role, status):
    assert client_as(role).get("/trail/").status_code == status


def test_trail_search_filters_and_exports(client_as, api_as, users, django_assert_max_num_queries):
    vendor = VendorFactory(name="Zeta Labs")
    api_as("procurement").patch(f"/api/v1/vendors/{vendor.pk}/", {"website": "https://zeta.example"}, format="json")
    for _ in range(30):
        VendorFactory()
    client = client_as("manager")
    query = f"?model=vendors.Vendor&user={users['procurement'].pk}"
    with django_assert_max_num_queries(12):
        page = client.get("/trail/" + query)
    html = page.content.decode()
    assert "https://zeta.example" in html and html.count("<tr>") >= 1
    csv = client.get("/trail/" + query + "&export=csv").content.decode("utf-8-sig")
    assert "Website" in csv and "https://zeta.example" in csv and users["procurement"].printed_name in csv
    pdf = client.get("/trail/" + query + "&export=pdf")
    assert pdf["Content-Type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Audit trail extract" in text and "zeta.example" in text and "Page 1 of" in text


def test_trail_search_reports_bad_filters(client_as):
    page = client_as("manager").get("/trail/?since=2026-05-01&until=2026-01-01&object_id=abc")
    assert page.status_code == 200
    html = page.content.decode()
    assert "is before" in html and "whole number" in html
    superscript = client_as("manager").get("/trail/?object_id=%C2%B2")  # "²" is a digit, not a number
    assert superscript.status_code == 200 and "whole number" in superscript.content.decode()


def test_signatures_and_refusals_are_in_the_trail(api_as, reviewed):
    from tests.scoring.test_shortlists import decide, submitted

    shortlist = submitted(api_as, reviewed)
    decide(api_as("manager"), shortlist, password="wrong")
    decide(api_as("manager"), shortlist)
    models = set(Events.objects.references(shortlist).values_list("pgh_model", flat=True))
    assert {"scoring.ShortlistEvent", "scoring.ShortlistEntryEvent", "scoring.ShortlistDecisionEvent"} <= models
    assert Events.objects.across("accounts.SignatureEvent").count() == 1
    assert Events.objects.across("accounts.RefusedAttemptEvent").count() == 1


def test_changes_that_need_a_reason_carry_it(api_as, reviewed, client_as):
    from tests.scoring.test_shortlists import decide, submitted

    shortlist = submitted(api_as, reviewed)
    decide(api_as("manager"), shortlist, "return", comment="Add the runner-up.")
    events = Events.objects.tracks(shortlist).filter(pgh_label="update").order_by("pgh_created_at")
    returned = [e for e in events if e.pgh_diff.get("status") == ["submitted", "returned"]]
    assert [e.pgh_context.get("reason") for e in returned] == ["Returned for changes: Add the runner-up."]
    page = client_as("manager").get(f"/history/scoring.Shortlist/{shortlist.pk}/").content.decode()
    assert "Returned for changes: Add the runner-up." in page


def test_links_and_role_changes_are_in_the_trail(api_as, users, client_as):
    from django.contrib.auth.models import Group

    vendor = VendorFactory(name="Linked Labs")
    response = api_as("procurement").patch(
        f"/api/v1/vendors/{vendor.pk}/", {"services": ["api-manufacturing"]}, format="json"
    )
    assert response.status_code == 200, response.content
    api_as("procurement").patch(f"/api/v1/vendors/{vendor.pk}/", {"services": []}, format="json")
    labels = [e.pgh_label for e in Events.objects.references(vendor).order_by("pgh_created_at")]
    assert labels == ["insert", "add", "update", "add", "update", "remove"]  # kind, then the service, then none
    manager = Group.objects.get(name="Manager")
    users["evaluator"].groups.add(manager)  # a role granted
    grants = Events.objects.references(users["evaluator"]).filter(pgh_label="add")
    [grant] = [g for g in grants if g.pgh_data["group_id"] == manager.pk]
    assert grant.pgh_obj_model == "accounts.User_groups"
    page = client_as("manager").get(f"/history/vendors.Vendor/{vendor.pk}/").content.decode()
    assert "Linked" in page and "Unlinked" in page


def test_record_types_are_named_as_users_know_them(client_as):
    """The search's record types: business names, link tables named after what they mean, no raw
    model names, grouped by area and sorted; the same names in the result rows and the exports."""
    from core import trail

    html = client_as("manager").get("/trail/").content.decode()
    for name in ["Evaluation", "Shortlist decision", "CAPA", "RFP", "Audit finding", "Evaluation: allowed kinds"]:
        assert f">{name}</option>" in html, name
    for raw in ["relationship", ">Capa<", ">Rfp<", ">Rfp template<", ">Finding<"]:
        assert raw not in html, raw
    groups = dict(trail.record_type_choices())
    assert list(groups) == [
        "Vendor register",
        "Audits and quality",
        "Evaluations and shortlists",
        "RFPs and proposals",
        "Oversight after the award",
        "Users and signatures",
    ]
    assert ("scoring.Evaluation_allowed_kinds", "Evaluation: allowed kinds") in groups["Evaluations and shortlists"]
    assert ("accounts.User_groups", "User account: roles") in groups["Users and signatures"]
    for choices in groups.values():
        names = [name for _, name in choices]
        assert names == sorted(names, key=lambda n: (n.split(":")[0].casefold(), n.casefold()))
    flat = [name for _, name in trail.tracked_models()]
    assert len(flat) == len(set(flat)) == sum(len(c) for c in groups.values())  # one name per record type
    vendors = [name for _, name in groups["Vendor register"]]
    assert vendors.index("Vendor") + 1 == vendors.index("Vendor: dosage forms")  # a record's links follow it


def test_a_new_link_table_is_named_from_its_record_and_field():
    from core import trail
    from vendors.models import Vendor

    assert trail.record_type_name(Vendor.services.through) == "Vendor: services"
    assert trail.record_type_name("audits.Capa") == "CAPA"
    trail.RECORD_TYPES.pop("vendors.Vendor_services")
    try:
        assert trail.record_type_name(Vendor.services.through) == "Vendor: services"
        trail.RECORD_TYPES.pop("vendors.Vendor")
        assert trail.record_type_name(Vendor.services.through) == "Vendor: services"
    finally:
        trail.RECORD_TYPES.update({"vendors.Vendor": "Vendor", "vendors.Vendor_services": "Vendor: services"})


def test_link_rows_show_what_they_join_by_name(api_as, client_as, django_assert_max_num_queries):
    vendor = VendorFactory(name="Named Links")
    api_as("procurement").patch(f"/api/v1/vendors/{vendor.pk}/", {"services": ["fill-finish"]}, format="json")
    client = client_as("manager")
    with django_assert_max_num_queries(14):
        html = client.get("/trail/?model=vendors.Vendor_services").content.decode()
    assert "Vendor: services" in html and "Fill-finish (id " in html and "Named Links (id " in html
    history = client.get(f"/history/vendors.Vendor/{vendor.pk}/").content.decode()
    assert "Vendor: kinds" in history and "Vendor: services" in history and "relationship" not in history
    csv = client.get("/trail/?model=vendors.Vendor_services&export=csv").content.decode("utf-8-sig")
    assert "Vendor: services" in csv and "Fill-finish (id " in csv
    vendor_csv = client.get("/trail/?model=vendors.Vendor&export=csv").content.decode("utf-8-sig")
    assert ",Created,Vendor," in vendor_csv


# --- The search at any size of the trail (core.trail.Search; benchmarks/costcurves.py) -------------------


def _legacy_search(*, model="", user=None, since=None, until=None, object_id="", action=""):
    """What the search read before: pghistory's Events view across every event table."""
    from datetime import UTC, datetime, time, timedelta

    from core import trail

    across = [m for m in trail._all_event_models() if not model or m.pgh_tracked_model._meta.label == model]
    events = Events.objects.across(*across)
    if user is not None:
        events = events.filter(pgh_context__user=user.pk)
    if since:
        events = events.filter(pgh_created_at__gte=datetime.combine(since, time.min, tzinfo=UTC))
    if until:
        events = events.filter(pgh_created_at__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC))
    if object_id:
        events = events.filter(pgh_obj_id=object_id)
    if action:
        events = events.filter(pgh_label=action)
    return events.order_by("-pgh_created_at", "-pgh_id")


def _shown(events):
    return [
        (e.pgh_slug, e.pgh_label, e.pgh_obj_model, e.pgh_obj_id, e.pgh_data, e.pgh_diff, e.pgh_context) for e in events
    ]


@pytest.fixture
def busy_trail(api_as, users):
    """Inserts, updates through the API (a user, a URL), links added and removed, a delete."""
    vendor = VendorFactory(name="Trail Busy")
    client = api_as("procurement")
    client.patch(f"/api/v1/vendors/{vendor.pk}/", {"website": "https://busy.example"}, format="json")
    client.patch(f"/api/v1/vendors/{vendor.pk}/", {"services": ["fill-finish"]}, format="json")
    client.patch(f"/api/v1/vendors/{vendor.pk}/", {"services": [], "status": "approved"}, format="json")
    SiteFactory(vendor=vendor)
    vendor.contacts.create(name="Ann Lee").delete()
    for _ in range(12):
        VendorFactory()
    return vendor


def test_search_reads_what_pghistory_events_read(busy_trail, users):
    """The same events, in the same order, with the same data, diffs and contexts as pghistory's Events
    view, for every kind of filter; page after page."""
    from datetime import date

    from core import trail

    today = date.today()
    for filters in [
        {},
        {"model": "vendors.Vendor"},
        {"model": "vendors.Vendor_services"},
        {"action": "update"},
        {"action": "delete"},
        {"object_id": str(busy_trail.pk)},
        {"user": users["procurement"]},
        {"user": users["procurement"], "model": "vendors.Vendor", "since": today, "until": today},
        {"until": date(2000, 1, 1)},
    ]:
        expected = _shown(_legacy_search(**filters)[:500])
        found = trail.search(**filters)
        assert _shown(found[:500]) == expected, filters
        assert found.count() == len(expected) and not found.estimated, filters
        assert _shown(found[3:7]) == expected[3:7], filters
    diffs = [e.pgh_diff for e in trail.search(model="vendors.Vendor", action="update")[:50]]
    assert ["", "https://busy.example"] in [d.get("website") for d in diffs]
    assert ["prospect", "approved"] in [d.get("status") for d in diffs]


def test_search_pages_and_counts_without_reading_the_whole_trail(busy_trail, client_as, monkeypatch):
    """Above EXACT_COUNT_UP_TO results the count is PostgreSQL's estimate (never below the bound); pages
    are still exact and follow one another without gaps or repeats."""
    from django.core.paginator import Paginator

    from core import trail

    total = trail.search().count()
    monkeypatch.setattr(trail, "EXACT_COUNT_UP_TO", 10)
    found = trail.search()
    assert found.count() >= 11 and found.estimated
    seen = [e.pgh_slug for start in (0, 10, 20) for e in found[start : start + 10]]
    assert seen == [e.pgh_slug for e in _legacy_search()[:30]] and total > 30
    page = Paginator(found, 10).get_page(2)
    assert [e.pgh_slug for e in page.object_list] == seen[10:20] and page.has_next()
    response = client_as("manager").get("/trail/?model=&page=2")
    assert response.status_code == 200 and response.content.decode().count("<tr") > 10


def test_every_event_table_has_the_search_indexes():
    """The trail search reads each event table by (pgh_created_at, pgh_id) and by the context's user: a
    new tracked model needs both indexes (a migration like vendors' 0013_costcurve_indexes)."""
    from core import trail

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        indexes = {row[0] for row in cursor.fetchall()}
    missing = [
        f"{m._meta.db_table}_{suffix}"
        for m in trail._all_event_models()
        for suffix in ("pgh_at_idx", "pgh_user_idx")
        if f"{m._meta.db_table}_{suffix}" not in indexes
    ]
    assert missing == []


def _links(html: str) -> dict[str, str]:
    import html as htmllib
    import re

    return {rel: htmllib.unescape(href) for href, rel in re.findall(r'href="([^"]+)">(Previous|Next)<', html)}


def test_pages_follow_by_keyset_without_gaps_or_repeats(busy_trail, client_as, monkeypatch):
    """Next and Previous carry the place of the page's last or first entry: the pages they lead to are
    the offset pages, in order, both ways, with ties of time between event tables kept apart by label."""
    import re

    from core import trail

    expected = [e.pgh_slug for e in trail.search()[:10_000]]
    assert len(expected) > 30
    for start in (0, 7, 10):  # the keyset after any entry is the offset page that follows it
        found = trail.search()
        after = trail.key_of(found[start])
        assert [e.pgh_slug for e in found.events(0, 9, after=trail.parse_key(after))] == expected[
            start + 1 : start + 10
        ]
        before = trail.key_of(found[start + 9])
        assert [e.pgh_slug for e in found.events(0, 9, before=trail.parse_key(before))] == expected[start : start + 9]
    client = client_as("qa")

    def slugs(html):
        return re.findall(r'data-event="([^"]+)"', html)

    url, pages = "/trail/?model=", []
    original = trail.page
    monkeypatch.setattr(trail, "page", lambda found, **kw: original(found, **{**kw, "per_page": 10}))
    while True:
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        pages.append(slugs(html))
        links = _links(html)
        if "Next" not in links:
            break
        assert "after=" in links["Next"]
        url = "/trail/" + links["Next"] if links["Next"].startswith("?") else links["Next"]
    assert [s for p in pages for s in p] == expected
    back = []
    while "Previous" in links:
        url = "/trail/" + links["Previous"] if links["Previous"].startswith("?") else links["Previous"]
        html = client.get(url).content.decode()
        back.insert(0, slugs(html))
        links = _links(html)
    assert back == pages[:-1]
    assert f"{len(pages)} / {len(pages)}" in client.get("/trail/?model=&page=999").content.decode()


def test_a_page_link_that_is_not_an_entrys_place_says_so(busy_trail, client_as):
    for bad in ("nonsense", "2026-01-01T00:00:00~auth.User~1", "2026-01-01~vendors.VendorEvent~x", "x~y~1"):
        response = client_as("qa").get("/trail/", {"model": "", "after": bad})
        assert response.status_code == 200
        assert "not one this search made" in response.content.decode()
