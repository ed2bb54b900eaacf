"""Regulatory records per site (warning letters, import alerts, GMP certificates), the approved-supplier
list per site and activity, the inspection rules (Form 483 counts are FDA's; NAI with observations is
confirmed), their imports and the selectors that scoring reads."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import ServiceError
from tests.factories import (
    GmpCertificateFactory,
    ImportAlertFactory,
    InspectionFactory,
    SiteFactory,
    SiteQualificationFactory,
    WarningLetterFactory,
)
from vendors import selectors, services
from vendors.models import (
    GmpCertificate,
    ImportAlert,
    ImportJob,
    RegulatoryInspection,
    Service,
    Site,
    SiteQualification,
    WarningLetter,
)

pytestmark = pytest.mark.django_db
TODAY = date.today()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# --- Model validation ------------------------------------------------------------------------


def test_warning_letter_dates_are_checked():
    site = SiteFactory()
    letter = WarningLetter(
        site=site, issued_on=TODAY - timedelta(days=5), subject="x", closed_on=TODAY - timedelta(days=9)
    )
    with pytest.raises(ValidationError) as error:
        letter.full_clean()
    assert "closed_on" in error.value.message_dict
    future = WarningLetter(site=site, issued_on=TODAY + timedelta(days=1), subject="x")
    with pytest.raises(ValidationError) as error:
        future.full_clean()
    assert "issued_on" in error.value.message_dict


def test_import_alert_removal_only_when_removed_and_after_listing():
    site = SiteFactory()
    active = ImportAlert(
        site=site, number="66-40", status="active", listed_on=TODAY - timedelta(days=30), removed_on=TODAY
    )
    with pytest.raises(ValidationError) as error:
        active.full_clean()
    assert "removed_on" in error.value.message_dict
    early = ImportAlert(
        site=site,
        number="66-40",
        status="removed",
        listed_on=TODAY - timedelta(days=3),
        removed_on=TODAY - timedelta(days=9),
    )
    with pytest.raises(ValidationError) as error:
        early.full_clean()
    assert "removed_on" in error.value.message_dict
    ImportAlert(
        site=site, number="66-40", status="removed", listed_on=TODAY - timedelta(days=9), removed_on=TODAY
    ).full_clean()


def test_certificate_validity_cannot_end_before_it_starts():
    cert = GmpCertificate(
        site=SiteFactory(),
        authority="EMA",
        number="X1",
        issued_on=TODAY - timedelta(days=5),
        valid_until=TODAY - timedelta(days=10),
    )
    with pytest.raises(ValidationError) as error:
        cert.full_clean()
    assert list(error.value.message_dict) == ["valid_until"]


def test_483_count_is_an_fda_record_only():
    inspection = InspectionFactory.build(site=SiteFactory(), agency="MHRA", form_483_observations=2)
    with pytest.raises(ValidationError) as error:
        inspection.full_clean()
    assert "Form 483" in error.value.message_dict["form_483_observations"][0]
    assert InspectionFactory(agency="FDA", form_483_observations=None).observations_label == "obs. unknown"
    assert InspectionFactory(agency="FDA", form_483_observations=3).observations_label == "3 obs."
    assert InspectionFactory(agency="MHRA").observations_label == ""


# --- The approved-supplier list ----------------------------------------------------------------


def test_record_site_qualification_upserts_and_keeps_the_site_in_step(users):
    site = SiteFactory()
    activity = Service.objects.first()
    auditor = users["auditor"]
    first = services.record_site_qualification(
        site=site, activity=None, status="approved", user=auditor, decided_on=TODAY, note="Audit 12"
    )
    again = services.record_site_qualification(
        site=site,
        activity=None,
        status="approved_with_conditions",
        user=auditor,
        decided_on=TODAY,
        requalification_due=TODAY + timedelta(days=365),
    )
    assert first.pk == again.pk and SiteQualification.objects.filter(site=site).count() == 1
    site.refresh_from_db()
    assert site.qualification == "approved_with_conditions" and site.requalification_due == TODAY + timedelta(days=365)
    services.record_site_qualification(
        site=site, activity=activity, status="disqualified", user=auditor, decided_on=TODAY
    )
    assert SiteQualification.objects.filter(site=site).count() == 2
    events = SiteQualification.pgh_event_model.objects.filter(pgh_obj_id=first.pk).values_list("pgh_label", flat=True)
    assert list(events) == ["insert", "update"]  # in the audit trail


def test_record_site_qualification_refusals(users):
    site = SiteFactory()
    with pytest.raises(ServiceError) as error:
        services.record_site_qualification(
            site=site, activity=None, status="approved", user=users["evaluator"], decided_on=TODAY
        )
    assert error.value.status == 403
    with pytest.raises(ServiceError) as error:
        services.record_site_qualification(
            site=site, activity=None, status="best", user=users["auditor"], decided_on=TODAY
        )
    assert error.value.field == "status"
    with pytest.raises(ServiceError) as error:
        services.record_site_qualification(
            site=site,
            activity=None,
            status="approved",
            user=users["auditor"],
            decided_on=TODAY,
            requalification_due=TODAY - timedelta(days=1),
        )
    assert error.value.field == "requalification_due"
    assert not SiteQualification.objects.exists()


def test_one_site_wide_row_per_site():
    site = SiteFactory()
    SiteQualificationFactory(site=site)
    with pytest.raises(ValidationError):
        SiteQualification(site=site, status="approved", decided_on=TODAY).full_clean()


# --- Selectors ---------------------------------------------------------------------------------


def test_site_red_flags_in_a_fixed_number_of_queries(django_assert_max_num_queries):
    since = TODAY - timedelta(days=365 * 5)
    sites = [SiteFactory() for _ in range(4)]
    clean, flagged, old, other = sites
    InspectionFactory(site=flagged, classification="OAI", form_483_observations=None)
    InspectionFactory(site=old, classification="OAI", end_date=since - timedelta(days=10))
    InspectionFactory(site=other, classification="VAI", warning_letter=True, form_483_observations=4)
    WarningLetterFactory(site=flagged, subject="Sterility assurance")
    WarningLetterFactory(site=old, issued_on=since - timedelta(days=400), closed_on=since - timedelta(days=100))
    WarningLetterFactory(site=other, issued_on=since - timedelta(days=400))  # never closed: still a flag
    ImportAlertFactory(site=flagged)
    # Listed and removed before the window: history, not a flag.
    ImportAlertFactory(site=old, status="removed", listed_on=since - timedelta(days=30), removed_on=since)
    # Listed 60 days ago and already removed: a red flag of the window all the same, said as removed.
    ImportAlertFactory(site=other, number="99-32", status="removed", removed_on=TODAY)
    GmpCertificateFactory(site=flagged, kind="non_compliance", valid_until=None)
    GmpCertificateFactory(site=clean)  # a certificate is no red flag
    with django_assert_max_num_queries(4):
        flags = selectors.site_red_flags([s.pk for s in sites], since)
    assert flags[clean.pk] == [] and flags[old.pk] == []
    kinds = sorted(f["kind"] for f in flags[flagged.pk])
    assert kinds == ["import_alert", "non_compliance", "oai_inspection", "warning_letter"]
    labels = " | ".join(f["label"] for f in flags[flagged.pk])
    assert f"FDA warning letter {(TODAY - timedelta(days=100)).isoformat()}: Sterility assurance (open)" in labels
    assert f"FDA import alert 66-40: listed since {(TODAY - timedelta(days=60)).isoformat()}" in labels
    assert "EU national authority (EMA-coordinated) statement of non-compliance" in labels
    assert "obs. unknown" in labels and "0 obs." not in labels
    assert all(f["active"] for f in flags[flagged.pk] if f["kind"] != "oai_inspection")
    assert [f["kind"] for f in flags[other.pk]] == ["import_alert", "inspection_warning_letter", "warning_letter"]
    alert, inspection, letter = flags[other.pk]  # newest first
    assert ": VAI, 4 obs., warning letter" in inspection["label"]
    assert alert["label"] == (
        f"FDA import alert 99-32: listed {(TODAY - timedelta(days=60)).isoformat()}, removed {TODAY.isoformat()}"
    )
    assert not alert["active"] and letter["active"] and letter["open"]


def test_the_ranking_reads_every_record_and_windows_them_itself(django_assert_max_num_queries):
    """`since=None` (the ranking's call): every record whatever its date, without the inspections, and
    a queryset of sites read as a subquery; the same labels as the site page."""
    since = TODAY - timedelta(days=365 * 5)
    site, clean = SiteFactory(), SiteFactory()
    InspectionFactory(site=site, classification="OAI")
    WarningLetterFactory(site=site, issued_on=since - timedelta(days=400), closed_on=since - timedelta(days=100))
    ImportAlertFactory(site=site, status="removed", listed_on=since - timedelta(days=30), removed_on=since)
    with django_assert_max_num_queries(3):
        flags = selectors.site_red_flags(Site.objects.filter(pk__in=[site.pk, clean.pk]), None, inspections=False)
    assert clean.pk not in flags  # a queryset gives entries to the sites that have records only
    assert [(f["kind"], f["active"]) for f in flags[site.pk]] == [("import_alert", False), ("warning_letter", False)]
    page = selectors.site_red_flags([site.pk], since)[site.pk]
    assert [f["kind"] for f in page] == ["oai_inspection"]  # the old records are out of the page's window


def test_site_qualifications_in_one_query(django_assert_max_num_queries):
    site, other = SiteFactory(), SiteFactory()
    activity = Service.objects.first()
    SiteQualificationFactory(site=site, activity=activity, status="disqualified")
    SiteQualificationFactory(site=site, status="approved")
    with django_assert_max_num_queries(1):
        result = selectors.site_qualifications([site.pk, other.pk])
    assert result[other.pk] == []
    assert [(r["activity"], r["status"]) for r in result[site.pk]] == [
        (None, "approved"),
        (activity.code, "disqualified"),
    ]


# --- API -----------------------------------------------------------------------------------------


def test_inspection_api_483_rules(api_as):
    site = SiteFactory()
    api = api_as("auditor")
    base = {"site": site.pk, "end_date": "2024-03-01", "classification": "NAI", "inspection_type": "surveillance"}
    response = api.post("/api/v1/inspections/", {**base, "agency": "EMA", "form_483_observations": 2}, format="json")
    assert response.status_code == 400 and "form_483_observations" in response.json()
    response = api.post("/api/v1/inspections/", {**base, "agency": "FDA", "form_483_observations": 2}, format="json")
    assert response.status_code == 400
    assert "rare" in response.json()["confirm_nai_with_observations"][0]
    response = api.post(
        "/api/v1/inspections/", {**base, "agency": "FDA", "inspection_type": "sightseeing"}, format="json"
    )
    assert response.status_code == 400 and "inspection_type" in response.json()
    assert RegulatoryInspection.objects.count() == 0
    response = api.post(
        "/api/v1/inspections/",
        {**base, "agency": "FDA", "form_483_observations": 2, "confirm_nai_with_observations": True},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["observations_label"] == "2 obs."


def test_record_apis_and_permissions(api_as):
    site = SiteFactory()
    auditor = api_as("auditor")
    response = auditor.post(
        "/api/v1/gmp-certificates/",
        {"site": site.pk, "authority": "EMA", "number": "N1", "issued_on": "2024-05-01", "valid_until": "2024-01-01"},
        format="json",
    )
    assert response.status_code == 400 and "valid_until" in response.json()
    response = auditor.post(
        "/api/v1/warning-letters/",
        {
            "site": site.pk,
            "issued_on": "2024-05-01",
            "subject": "CGMP",
            "document": SimpleUploadedFile("wl.pdf", b"hello"),
        },
        format="multipart",
    )
    assert response.status_code == 400 and "document" in response.json()
    response = auditor.post(
        "/api/v1/warning-letters/",
        {"site": site.pk, "issued_on": "2024-05-01", "subject": "CGMP", "document": SimpleUploadedFile("wl.pdf", PDF)},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    response = auditor.post(
        "/api/v1/import-alerts/",
        {"site": site.pk, "number": "66-40", "listed_on": "2024-01-01", "removed_on": "2024-02-01"},
        format="json",
    )
    assert response.status_code == 400 and "removed_on" in response.json()
    procurement = api_as("procurement")
    response = procurement.post(
        "/api/v1/import-alerts/", {"site": site.pk, "number": "66-40", "listed_on": "2024-01-01"}, format="json"
    )
    assert response.status_code == 403
    assert procurement.get(f"/api/v1/warning-letters/?site={site.pk}").json()["count"] == 1
    assert procurement.get("/api/v1/warning-letters/?open=false").json()["count"] == 0


def test_site_qualification_api(api_as):
    site = SiteFactory()
    activity = Service.objects.first()
    body = {"site": site.pk, "activity": activity.code, "status": "approved", "decided_on": str(TODAY)}
    assert api_as("evaluator").post("/api/v1/site-qualifications/", body, format="json").status_code == 403
    response = api_as("auditor").post("/api/v1/site-qualifications/", {**body, "status": "great"}, format="json")
    assert response.status_code == 400 and "status" in response.json()
    response = api_as("auditor").post("/api/v1/site-qualifications/", body, format="json")
    assert response.status_code == 201, response.json()
    response = api_as("manager").post("/api/v1/site-qualifications/", {**body, "status": "disqualified"}, format="json")
    assert response.status_code == 201
    listing = api_as("evaluator").get(f"/api/v1/site-qualifications/?site={site.pk}").json()
    assert listing["count"] == 1 and listing["results"][0]["status"] == "disqualified"


# --- Pages ---------------------------------------------------------------------------------------


def test_site_page_sections_forms_and_refusals(client_as, django_assert_max_num_queries):
    site = SiteFactory()
    InspectionFactory(site=site, agency="FDA", form_483_observations=None)
    client = client_as("auditor")
    with django_assert_max_num_queries(25):
        page = client.get(f"/vendors/sites/{site.pk}/").content.decode()
    for text in (
        "No FDA warning letters on record",
        "No FDA import alerts on record",
        "Add a warning letter",
        "obs. unknown",
    ):
        assert text in page
    assert "0 obs." not in page
    response = client.post(
        f"/vendors/sites/{site.pk}/records/gmpcertificate/",
        {
            "gmpcertificate-kind": "certificate",
            "gmpcertificate-authority": "EMA",
            "gmpcertificate-number": "N1",
            "gmpcertificate-issued_on": "2024-05-01",
            "gmpcertificate-valid_until": "2024-01-01",
        },
    )
    assert response.status_code == 200 and "cannot end before" in response.content.decode()
    assert not GmpCertificate.objects.exists()
    response = client.post(
        f"/vendors/sites/{site.pk}/records/warningletter/",
        {"warningletter-issued_on": "2024-05-01", "warningletter-subject": "CGMP deviations"},
    )
    assert response.status_code == 302 and WarningLetter.objects.get().site == site
    response = client.post(
        f"/vendors/sites/{site.pk}/qualifications/",
        {
            "qualification-status": "approved_with_conditions",
            "qualification-decided_on": str(TODAY),
            "qualification-note": "CAPA open",
        },
    )
    assert response.status_code == 302
    assert SiteQualification.objects.get(site=site).status == "approved_with_conditions"
    assert client_as("evaluator").post(f"/vendors/sites/{site.pk}/qualifications/", {}).status_code == 403
    assert client_as("procurement").post(f"/vendors/sites/{site.pk}/records/importalert/", {}).status_code == 403


def test_inspection_form_rules(client_as):
    site = SiteFactory()
    client = client_as("auditor")
    data = {
        "agency": "MHRA",
        "end_date": "2024-01-10",
        "classification": "NAI",
        "form_483_observations": "1",
        "source": "manual",
    }
    response = client.post(f"/vendors/sites/{site.pk}/inspections/new/", data)
    assert response.status_code == 200 and "FDA record" in response.content.decode()
    response = client.post(f"/vendors/sites/{site.pk}/inspections/new/", {**data, "agency": "FDA"})
    assert response.status_code == 200 and "rare" in response.content.decode()
    assert not RegulatoryInspection.objects.exists()
    response = client.post(f"/vendors/sites/{site.pk}/inspections/new/", {**data, "agency": "FDA", "confirm": "on"})
    assert response.status_code == 302 and RegulatoryInspection.objects.get().form_483_observations == 1


def test_vendor_page_lists_each_sites_qualification(client_as):
    site = SiteFactory()
    other = SiteFactory(vendor=site.vendor)
    SiteQualificationFactory(site=site, status="approved")
    SiteQualificationFactory(site=other, activity=Service.objects.first(), status="disqualified")
    page = client_as("evaluator").get(f"/vendors/{site.vendor.pk}/").content.decode()
    assert "Approved-supplier list, per site" in page and "all activities" in page and "Disqualified" in page


# --- Imports -------------------------------------------------------------------------------------


def _run(client, target, content, capture, name="file.csv"):
    with capture(execute=True):
        response = client.post("/vendors/imports/", {"target": target, "file": SimpleUploadedFile(name, content)})
    assert response.status_code == 302, response.content[:400]
    job = ImportJob.objects.latest("pk")
    if job.status == ImportJob.Status.READY:
        with capture(execute=True):
            client.post(f"/vendors/imports/{job.pk}/confirm/")
        job.refresh_from_db()
    return job


def test_import_warning_letters_and_alerts(client_as, django_capture_on_commit_callbacks):
    site = SiteFactory(fei_number="3001234567")
    named = SiteFactory()
    client = client_as("auditor")
    letters = (
        "fei_number,vendor,site,issued_on,subject,reference,closed_on\n"
        "3001234567,,,2024-02-01,CGMP violations,MARCS-CMS 1,\n"
        f",{named.vendor.name},{named.name},2023-01-05,Data integrity,MARCS-CMS 2,2024-01-01\n"
    ).encode()
    job = _run(client, "warning_letters", letters, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.DONE, job.report
    assert (
        WarningLetter.objects.filter(site=site).count() == 1 and WarningLetter.objects.filter(site=named).count() == 1
    )
    again = _run(client, "warning_letters", letters, django_capture_on_commit_callbacks)
    assert again.report["counts"] == {"create": 0, "update": 0, "unchanged": 2}
    alerts = b"fei_number,number,status,listed_on\n3001234567,66-40,active,2024-03-01\n"
    assert _run(client, "import_alerts", alerts, django_capture_on_commit_callbacks).status == ImportJob.Status.DONE
    assert ImportAlert.objects.get().site == site


def test_import_bad_rows_reported_and_nothing_saved(client_as, django_capture_on_commit_callbacks):
    SiteFactory(fei_number="3001234567")
    content = (
        b"fei_number,kind,authority,number,issued_on,valid_until\n"
        b"3001234567,certificate,EMA,C-1,2024-01-01,2026-01-01\n"
        b"3001234567,certificate,EMA,C-2,2024-05-01,2024-01-01\n"
        b"9999999,certificate,EMA,C-3,2024-01-01,\n"
        b"3001234567,paper,FDA,C-4,2024-01-01,\n"
    )
    job = _run(client_as("auditor"), "gmp_certificates", content, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.INVALID
    by_row = {(e["row"], e["column"]) for e in job.report["errors"]}
    assert {(3, "valid_until"), (4, "fei_number"), (5, "kind")} <= by_row
    assert not GmpCertificate.objects.exists()


def test_import_site_qualifications(client_as, django_capture_on_commit_callbacks):
    site = SiteFactory(fei_number="3001234567")
    activity = Service.objects.first()
    content = (
        "fei_number,activity,status,decided_on,note\n"
        "3001234567,,approved,2024-01-01,Audit 12\n"
        f"3001234567,{activity.code},disqualified,2024-02-01,\n"
    ).encode()
    assert client_as("evaluator").get("/vendors/imports/").status_code == 403
    job = _run(client_as("auditor"), "site_qualifications", content, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.DONE, job.report
    assert SiteQualification.objects.filter(site=site).count() == 2
    assert Site.objects.get(pk=site.pk).qualification == "approved"
    bad = b"fei_number,activity,status,decided_on\n3001234567,nonsense,approved,2024-01-01\n"
    job = _run(client_as("auditor"), "site_qualifications", bad, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.INVALID and job.report["errors"][0]["row"] == 2
    assert job.report["errors"][0]["column"] == "activity"
