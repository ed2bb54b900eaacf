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
