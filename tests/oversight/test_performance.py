"""Supplier performance entered by form, API and CSV/XLSX import: overlapping periods, contradicting counts and
bad rows are refused with field / row messages and change nothing; KPI settings and standing rules by QA."""

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from core import trail
from oversight import kpis, performance
from oversight.models_performance import KpiSetting, PerformanceRecord, Scorecard, StandingRules
from tests.factories import SiteFactory, VendorFactory

pytestmark = pytest.mark.django_db

Q1 = {"start": "2026-01-01", "end": "2026-03-31"}
GOOD = {
    "batches_started": 20,
    "batches_released": 18,
    "batches_right_first_time": 16,
    "deviations_minor": 4,
    "deviations_major": 1,
    "oos_results": 1,
    "deliveries_due": 10,
    "deliveries_on_time": 9,
    "capas_due": 4,
    "capas_closed_on_time": 3,
    "change_notifications_due": 2,
    "change_notifications_on_time": 2,
    "complaints": 1,
}


@pytest.fixture
def site():
    return SiteFactory(vendor=VendorFactory(name="Acme Biologics"), name="Basel fill-finish")


def _form(site, **overrides):
    data = {"site": site.pk, **Q1, **dict.fromkeys(kpis.COUNT_FIELDS, 0), **GOOD, "note": ""}
    data.update(overrides)
    return data


def test_qa_enters_a_quarter_by_form_and_sees_the_scorecard(client_as, site):
    client = client_as("qa")
    assert client.get(f"/oversight/performance/new/?site={site.pk}").status_code == 200
    response = client.post("/oversight/performance/new/", _form(site))
    assert response.status_code == 302
    assert response["Location"] == f"/oversight/sites/{site.pk}/scorecard/"
    record = PerformanceRecord.objects.get(site=site)
    card = record.scorecard
    assert (card.period_label, float(card.score), card.standing) == ("2026 Q1", 3.59, "on_watch")
    assert card.kpis["right_first_time"]["flagged"] is True
    page = client.get(response["Location"]).content.decode()
    assert "On watch" in page and "Right first time 88.9 % is below the threshold of 90.0 % (critical)" in page
    assert "100 × batches released right first time / batches released" in page  # the formula shown


def test_contradicting_counts_are_refused_under_their_fields(client_as, site):
    client = client_as("auditor")
    response = client.post(
        "/oversight/performance/new/", _form(site, batches_released=21, deliveries_on_time=11, capas_closed_on_time=5)
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["batches_released"] == ["More batches released than started."]
    assert errors["deliveries_on_time"] == ["More deliveries on time than due."]
    assert errors["capas_closed_on_time"] == ["More CAPAs closed on time than due."]
    assert not PerformanceRecord.objects.exists()


def test_the_service_refuses_contradictions_and_overlaps_and_changes_nothing(users, site):
    qa = users["qa"]
    counts = dict(GOOD)
    with pytest.raises(performance.PerformanceError) as refused:
        performance.performance_save(
            user=qa,
            site=site,
            start=date(2026, 1, 1),
            end=date(2026, 3, 31),
            **{**counts, "batches_right_first_time": 19},
        )
    assert refused.value.field == "batches_right_first_time"
    performance.performance_save(user=qa, site=site, start=date(2026, 1, 1), end=date(2026, 3, 31), **counts)
    with pytest.raises(performance.PerformanceError) as refused:
        performance.performance_save(user=qa, site=site, start=date(2026, 3, 1), end=date(2026, 5, 31), **counts)
    assert refused.value.field == "start"
    assert "overlaps 2026 Q1 (2026-01-01 to 2026-03-31) of Basel fill-finish" in refused.value.message
    with pytest.raises(performance.PerformanceError) as refused:
        performance.performance_save(user=qa, site=site, start=date(2026, 6, 30), end=date(2026, 4, 1), **counts)
    assert refused.value.field == "end"
    with pytest.raises(performance.PerformanceError) as refused:
        performance.performance_save(user=users["manager"], site=site, start=date(2026, 4, 1), end=date(2026, 6, 30))
    assert refused.value.status == 403
    assert PerformanceRecord.objects.count() == 1
    # Another site's periods do not collide; the next quarter of this one does not either.
    other = SiteFactory(vendor=site.vendor, name="Basel QC lab")
    performance.performance_save(user=qa, site=other, start=date(2026, 1, 1), end=date(2026, 3, 31), **counts)
    performance.performance_save(user=qa, site=site, start=date(2026, 4, 1), end=date(2026, 6, 30), **counts)
    assert PerformanceRecord.objects.count() == 3


def test_api_create_correct_and_refuse(api_as, site):
    qa = api_as("qa")
    response = qa.post("/api/v1/performance-records/", {"site": site.pk, **Q1, **GOOD}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["period_label"] == "2026 Q1"
    assert body["scorecard"]["standing"] == "on_watch"
    rft = next(k for k in body["scorecard"]["kpis"] if k["code"] == "right_first_time")
    assert rft["formula"] == "100 × batches released right first time / batches released"
    assert rft["worked"] == "100 × 16 / 18 = 88.9 %"
    # Every contradiction at once, by field.
    bad = qa.post(
        "/api/v1/performance-records/",
        {
            "site": site.pk,
            "start": "2026-04-01",
            "end": "2026-06-30",
            "batches_started": 1,
            "batches_released": 2,
            "change_notifications_due": 0,
            "change_notifications_on_time": 1,
        },
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "batches_released": ["More batches released than started."],
        "change_notifications_on_time": ["More change notifications on time than due."],
    }
    overlap = qa.post(
        "/api/v1/performance-records/", {"site": site.pk, "start": "2026-02-01", "end": "2026-04-30"}, format="json"
    )
    assert overlap.status_code == 400
    assert "periods of one site may not overlap" in overlap.json()["start"][0]
    assert PerformanceRecord.objects.count() == 1
    # A correction recomputes the scorecard (the RFT flag goes away).
    pk = body["id"]
    fixed = qa.patch(f"/api/v1/performance-records/{pk}/", {"batches_right_first_time": 18}, format="json")
    assert fixed.status_code == 200, fixed.json()
    assert fixed.json()["scorecard"]["flags"] == [
        {
            "kpi": "capa_on_time",
            "severity": "warning",
            "text": "CAPA closed on time 75.0 % is below the threshold of 80.0 % (warning)",
        }
    ]
    assert (
        qa.patch(f"/api/v1/performance-records/{pk}/", {"batches_right_first_time": 19}, format="json").status_code
        == 400
    )
    # Roles: managers read, cannot write; evaluators and admins do not read.
    assert api_as("manager").get("/api/v1/performance-records/").status_code == 200
    assert api_as("manager").post("/api/v1/performance-records/", {}, format="json").status_code == 403
    assert api_as("evaluator").get("/api/v1/performance-records/").status_code == 403
    assert api_as("admin").get(f"/api/v1/scorecards/?site={site.pk}").status_code == 403
    assert api_as("auditor").get(f"/api/v1/scorecards/?site={site.pk}&latest=true").json()["count"] == 1


def test_the_trail_records_every_write(users, site):
    record = performance.performance_save(
        user=users["qa"], site=site, start=date(2026, 1, 1), end=date(2026, 3, 31), **GOOD
    )
    with trail.context(user=users["qa"].pk):  # as the request middleware does: the reason joins it
        performance.performance_save(
            user=users["qa"],
            site=site,
            record=record,
            start=date(2026, 1, 1),
            end=date(2026, 3, 31),
            **{**GOOD, "complaints": 2},
        )
    entries = trail.entries(trail.history(record))
    mine = [
        (e.model, e.action) for e in entries if e.object_id == str(record.pk) and e.model.startswith("Supplier perf")
    ]
    assert sorted(mine) == [("Supplier performance (period)", "Changed"), ("Supplier performance (period)", "Created")]
    assert any(e.reason == "Performance of 2026 Q1 corrected" for e in entries)
    assert trail.record_type_name(PerformanceRecord) == "Supplier performance (period)"
    assert trail.record_type_name(Scorecard) == "Supplier scorecard (computed)"
    assert trail.record_type_name(StandingRules) == "Supplier standing rules (version)"
    names = [name for _, name in trail.tracked_models()]
    assert "Supplier KPI setting (weight, threshold)" in names


def _csv(rows: list[list]) -> bytes:
    return "\n".join(",".join(str(c) for c in row) for row in rows).encode()


HEADER = [
    "vendor",
    "site",
    "start",
    "end",
    "batches_started",
    "batches_released",
    "batches_right_first_time",
    "deliveries_due",
    "deliveries_on_time",
    "complaints",
]


def test_import_is_all_or_nothing_with_row_and_column_errors(api_as, client_as, site):
    SiteFactory(vendor=site.vendor, name="Basel QC lab")
    data = _csv(
        [
            HEADER,
            ["Acme Biologics", "Basel fill-finish", "2026-01-01", "2026-03-31", 10, 10, 9, 4, 4, 0],
            ["Acme Biologics", "Basel fill-finish", "2026-03-01", "2026-06-30", 10, 11, 9, 4, 4, 0],
            ["Acme Biologics", "Nowhere", "2026-01-01", "2026-03-31", 10, 10, 9, 4, 4, 0],
            ["acme biologics", "basel qc lab", "31/03/2026", "2026-03-31", "ten", 1, 1, 1, 2, -1],
        ]
    )
    response = api_as("qa").post(
        "/api/v1/performance-records/import/", {"file": SimpleUploadedFile("q.csv", data)}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"row": 3, "column": "start", "message": "the period overlaps row 2 for the same site"},
        {"row": 3, "column": "batches_released", "message": "more batches released than started"},
        {"row": 4, "column": "site", "message": "no site “Nowhere” of “Acme Biologics” in the register"},
        {"row": 5, "column": "start", "message": "“31/03/2026” is not a date; use YYYY-MM-DD"},
        {"row": 5, "column": "batches_started", "message": "“ten” is not a number"},
        {"row": 5, "column": "complaints", "message": "must be a whole number of zero or more"},
    ]
    assert not PerformanceRecord.objects.exists()
    # The page shows the same table, and nothing is imported.
    page = client_as("auditor").post("/oversight/performance/import/", {"file": SimpleUploadedFile("q.csv", data)})
    assert page.status_code == 400
    assert "Nothing was imported" in page.content.decode() and "no site “Nowhere”" in page.content.decode()
    assert not PerformanceRecord.objects.exists()
    # Header problems are named too.
    bad_header = api_as("qa").post(
        "/api/v1/performance-records/import/",
        {"file": SimpleUploadedFile("q.csv", b"vendor,site,start,batches\nA,B,2026-01-01,1\n")},
        format="multipart",
    )
    assert {(e["column"], e["message"][:20]) for e in bad_header.json()["errors"]} == {
        ("batches", "unknown column; expe"),
        ("end", "required column is m"),
    }
    unreadable = api_as("qa").post(
        "/api/v1/performance-records/import/", {"file": SimpleUploadedFile("q.pdf", b"%PDF")}, format="multipart"
    )
    assert unreadable.status_code == 400 and unreadable.json() == {"file": ["Upload a .csv or .xlsx file."]}


def test_import_xlsx_creates_then_corrects(api_as, site):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(["Acme Biologics", "Basel fill-finish", date(2026, 1, 1), date(2026, 3, 31), 10, 10, 9, 4, 4, 0])
    sheet.append(["Acme Biologics", "Basel fill-finish", "2026-04-01", "2026-06-30", 12, 12, 12, 5, 5, 1])
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = {"file": SimpleUploadedFile("q.xlsx", buffer.getvalue())}
    response = api_as("auditor").post("/api/v1/performance-records/import/", upload, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 2, "updated": 0}
    assert list(Scorecard.objects.filter(site=site).order_by("period_end").values_list("period_label", flat=True)) == [
        "2026 Q1",
        "2026 Q2",
    ]
    again = api_as("auditor").post(
        "/api/v1/performance-records/import/",
        {"file": SimpleUploadedFile("q.xlsx", buffer.getvalue())},
        format="multipart",
    )
    assert again.json() == {"created": 0, "updated": 2}
    assert PerformanceRecord.objects.count() == 2
    assert api_as("manager").post("/api/v1/performance-records/import/", upload, format="multipart").status_code == 403


def test_qa_changes_a_threshold_and_scorecards_follow(api_as, client_as, users, site):
    performance.performance_save(user=users["qa"], site=site, start=date(2026, 1, 1), end=date(2026, 3, 31), **GOOD)
    assert Scorecard.objects.get().standing == "on_watch"
    qa = api_as("qa")
    lowered = qa.patch(
        "/api/v1/kpi-settings/right_first_time/", {"threshold": "85", "reason": "Agreed with the CMO"}, format="json"
    )
    assert lowered.status_code == 200, lowered.json()
    assert lowered.json()["formula"] == "100 × batches released right first time / batches released"
    card = Scorecard.objects.get()
    assert card.standing == "approved"  # 88.9 % is no longer below the threshold
    assert [f["kpi"] for f in card.flags] == ["capa_on_time"]
    wrong_way = qa.patch("/api/v1/kpi-settings/right_first_time/", {"scores_1_at": "99"}, format="json")
    assert wrong_way.status_code == 400
    assert wrong_way.json() == {
        "scores_5_at": ["For this KPI higher is better: the value that scores 5 must be higher."]
    }
    assert qa.patch("/api/v1/kpi-settings/complaints/", {"severity": "fatal"}, format="json").status_code == 400
    assert KpiSetting.objects.get(kpi="right_first_time").scores_1_at == 80
    assert (
        api_as("auditor").patch("/api/v1/kpi-settings/complaints/", {"weight": "1"}, format="json").status_code == 403
    )
    assert api_as("manager").get("/api/v1/kpi-settings/").status_code == 200
    # The page: QA's form, refused with the field's message.
    page = client_as("qa").post(
        "/oversight/performance/kpis/",
        {"kpi": "on_time_delivery", "weight": "20", "scores_1_at": "70", "scores_5_at": "120", "severity": "warning"},
    )
    assert page.status_code == 400
    assert "A percentage is between 0 and 100." in page.content.decode()
    assert (
        client_as("qa")
        .post(
            "/oversight/performance/kpis/",
            {
                "kpi": "on_time_delivery",
                "weight": "25",
                "scores_1_at": "70",
                "scores_5_at": "99",
                "threshold": "88",
                "severity": "warning",
            },
        )
        .status_code
        == 302
    )
    assert KpiSetting.objects.get(kpi="on_time_delivery").weight == 25


def test_standing_rules_versions_refuse_gaps(api_as, client_as, users, site):
    performance.performance_save(user=users["qa"], site=site, start=date(2026, 1, 1), end=date(2026, 3, 31), **GOOD)
    qa = api_as("qa")
    gap = qa.post(
        "/api/v1/standing-rules/",
        {
            "bands": [
                {"standing": "preferred", "min_score": 4, "max_score": 5},
                {"standing": "approved", "min_score": 1, "max_score": 3.5},
            ]
        },
        format="json",
    )
    assert gap.status_code == 400
    assert gap.json() == {"bands": ["Gap: scores from 3.5 to 4 have no band."]}
    assert StandingRules.objects.count() == 1
    lenient = qa.post(
        "/api/v1/standing-rules/",
        {
            "bands": [
                {"standing": "preferred", "min_score": 3.5, "max_score": 5},
                {"standing": "approved", "min_score": 1, "max_score": 3.5},
            ],
            "caps": [],
            "note": "No caps for the pilot",
        },
        format="json",
    )
    assert lenient.status_code == 201, lenient.json()
    assert lenient.json()["version"] == 2
    card = Scorecard.objects.get()
    assert (card.standing, card.rules_version) == ("preferred", 2)
    assert api_as("auditor").post("/api/v1/standing-rules/", {}, format="json").status_code == 403
    assert [r["version"] for r in api_as("manager").get("/api/v1/standing-rules/").json()["results"]] == [2, 1]
    # The page form: an overlap is refused and nothing changes.
    response = client_as("qa").post(
        "/oversight/performance/standing-rules/",
        {
            "preferred_min_score": "4",
            "preferred_max_score": "5",
            "approved_min_score": "1",
            "approved_max_score": "4.5",
        },
    )
    assert response.status_code == 400
    assert "Overlap: Approved and Preferred both cover 4–4.5." in response.content.decode()
    assert StandingRules.objects.count() == 2


def test_pages_have_bounded_queries_and_permissions(client_as, users, site, django_assert_max_num_queries):
    for i in range(6):
        other = SiteFactory(vendor=VendorFactory(name=f"Vendor {i}"))
        performance.performance_save(
            user=users["qa"], site=other, start=date(2026, 1, 1), end=date(2026, 3, 31), **GOOD
        )
    client = client_as("manager")
    with django_assert_max_num_queries(10):
        page = client.get("/oversight/performance/?ordering=-score")
    assert page.status_code == 200 and page.content.decode().count("On watch") >= 6
    assert "Enter a period" not in page.content.decode()  # managers read
    with django_assert_max_num_queries(10):
        assert client.get("/oversight/performance/kpis/").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get("/oversight/performance/standing-rules/").status_code == 200
    empty = client.get("/oversight/performance/?standing=preferred").content.decode()
    assert "No site matches these filters" in empty
    assert client_as("evaluator").get("/oversight/performance/").status_code == 403
    assert client_as("manager").get("/oversight/performance/new/").status_code == 403
