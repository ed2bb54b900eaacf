"""FDA Data Dashboard export: matched by FEI, rows of one inspection merged, idempotent, unmatched firms reported."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from tests.factories import SiteFactory
from vendors.models import ImportJob, RegulatoryInspection

pytestmark = pytest.mark.django_db

HEADER = [
    "FEI Number",
    "Legal Name",
    "Address Line 1",
    "City",
    "State",
    "Zip Code",
    "Country/Area",
    "Fiscal Year",
    "Inspection ID",
    "Posted Citations",
    "Inspection End Date",
    "Classification",
    "Project Area",
    "Product Type",
]
ROWS = [
    [
        "3001234567",
        "Acme Pharma Inc",
        "1 Main St",
        "Durham",
        "NC",
        "27701",
        "United States",
        "2023",
        "1200001",
        "No",
        "2023-05-12",
        "No Action Indicated (NAI)",
        "Drug Quality Assurance",
        "Drugs",
    ],
    [
        "3001234567",
        "Acme Pharma Inc",
        "1 Main St",
        "Durham",
        "NC",
        "27701",
        "United States",
        "2023",
        "1200001",
        "Yes",
        "2023-05-12",
        "Voluntary Action Indicated (VAI)",
        "Compliance: Devices",
        "Devices",
    ],
    [
        "3001234567",
        "Acme Pharma Inc",
        "1 Main St",
        "Durham",
        "NC",
        "27701",
        "United States",
        "2021",
        "1100500",
        "No",
        "09/22/2021",
        "Official Action Indicated (OAI)",
        "Drug Quality Assurance",
        "Drugs",
    ],
    [
        "3009999999",
        "Unknown Labs Pvt Ltd",
        "Plot 7",
        "Hyderabad",
        "",
        "",
        "India",
        "2024",
        "1300777",
        "No",
        "2024-01-15",
        "No Action Indicated (NAI)",
        "Drug Quality Assurance",
        "Drugs",
    ],
]


def csv_bytes(rows=ROWS, header=HEADER):
    lines = [",".join(header)] + [",".join(f'"{c}"' for c in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def run(client, content, name, capture):
    with capture(execute=True):
        response = client.post(
            "/vendors/imports/", {"target": "fda_inspections", "file": SimpleUploadedFile(name, content)}
        )
    assert response.status_code == 302, response.content[:400]
    job = ImportJob.objects.latest("pk")
    if job.status == ImportJob.Status.READY:
        with capture(execute=True):
            client.post(f"/vendors/imports/{job.pk}/confirm/")
        job.refresh_from_db()
    return job


def test_auditor_imports_and_reimports(client_as, django_capture_on_commit_callbacks):
    site = SiteFactory(fei_number="3001234567")
    client = client_as("auditor")
    job = run(client, csv_bytes(), "inspections.csv", django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.DONE, job.report
    # The devices row of inspection 1200001 is skipped (not drugs or biologics), and reported.
    assert job.report["counts"] == {"create": 2, "update": 0, "unchanged": 0, "skipped": 1}
    assert job.report["skipped"] == [
        {"row": 3, "reason": "not a drugs or biologics inspection (Compliance: Devices / Devices)"}
    ]
    merged = RegulatoryInspection.objects.get(source_id="1200001")
    assert merged.site == site and merged.classification == "NAI"
    assert "Devices" not in merged.notes and "no citations posted" in merged.notes
    # The export never gives the number of citations: unknown, not zero.
    assert merged.form_483_observations is None and merged.observations_label == "obs. unknown"
    assert RegulatoryInspection.objects.get(source_id="1100500").end_date.isoformat() == "2021-09-22"
    assert job.report["unmatched"] == [
        {
            "fei_number": "3009999999",
            "legal_name": "Unknown Labs Pvt Ltd",
            "city": "Hyderabad",
            "country": "India",
            "inspections": 1,
        }
    ]
    page = client.get(f"/vendors/imports/{job.pk}/").content.decode()
    assert "match no site" in page and "Unknown Labs Pvt Ltd" in page
    again = run(client, csv_bytes(), "inspections.csv", django_capture_on_commit_callbacks)
    assert again.report["counts"] == {"create": 0, "update": 0, "unchanged": 2, "skipped": 1}
    site_page = client.get(f"/vendors/sites/{site.pk}/").content.decode()
    assert "obs. unknown" in site_page and "0 obs." not in site_page


def test_drug_rows_merge_and_unknown_citations(client_as, django_capture_on_commit_callbacks):
    site = SiteFactory(fei_number="3001234567")
    biologics = [*ROWS[0][:9], "Yes", ROWS[0][10], "Official Action Indicated (OAI)", "Biologics", "Biologics"]
    unknown = [*ROWS[2][:9], "", *ROWS[2][10:]]
    job = run(
        client_as("auditor"), csv_bytes([ROWS[0], biologics, unknown]), "x.csv", django_capture_on_commit_callbacks
    )
    assert job.status == ImportJob.Status.DONE, job.report
    merged = RegulatoryInspection.objects.get(source_id="1200001")
    assert merged.site == site and merged.classification == "OAI" and "citations posted" in merged.notes
    assert "citations not known" in RegulatoryInspection.objects.get(source_id="1100500").notes
    assert RegulatoryInspection.objects.count() == 2


def test_xlsx_export_and_command(tmp_path, client_as, django_capture_on_commit_callbacks):
    SiteFactory(fei_number="3001234567")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append([int(c) if c.isdigit() else c for c in row])
    path = tmp_path / "dashboard.xlsx"
    workbook.save(path)
    out = io.StringIO()
    call_command("import_fda_inspections", str(path), "--dry-run", stdout=out)
    assert "2 inspections would be created" in out.getvalue() and RegulatoryInspection.objects.count() == 0
    call_command("import_fda_inspections", str(path), stdout=out)
    assert RegulatoryInspection.objects.count() == 2
    assert "no site with FEI 3009999999" in out.getvalue()


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([[*ROWS[0][:10], "2023-13-45", *ROWS[0][11:]]], HEADER, "not a date"),
        ([[*ROWS[0][:11], "Pending", *ROWS[0][12:]]], HEADER, "not an FDA classification"),
        ([["12", *ROWS[0][1:]]], HEADER, "not an FEI number"),
        ([["300123456²", *ROWS[0][1:]]], HEADER, "not an FEI number"),
        ([ROWS[0], [*ROWS[0][:10], "2023-06-01", *ROWS[0][11:]]], HEADER, "another FEI number or end date"),
        ([ROWS[0]], ["Firm", "When"], "not the FDA Data Dashboard export"),
        ([[*ROWS[0][:10], "2099-01-01", *ROWS[0][11:]]], HEADER, "in the future"),
    ],
)
def test_bad_exports_write_nothing(client_as, django_capture_on_commit_callbacks, rows, header, message):
    SiteFactory(fei_number="3001234567")
    job = run(client_as("auditor"), csv_bytes(rows, header), "bad.csv", django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.INVALID
    assert any(message in e["message"] for e in job.report["errors"]), job.report["errors"]
    assert RegulatoryInspection.objects.count() == 0
    with pytest.raises(CommandError):
        path = __import__("pathlib").Path("/nonexistent/file.csv")
        call_command("import_fda_inspections", str(path))


def test_import_targets_follow_roles(client_as, api_as):
    assert client_as("evaluator").get("/vendors/imports/").status_code == 403
    page = client_as("auditor").get("/vendors/imports/").content.decode()
    assert "FDA inspections" in page and 'value="vendors"' not in page
    procurement = client_as("procurement").get("/vendors/imports/").content.decode()
    assert 'value="fda_inspections"' not in procurement
    response = api_as("procurement").post(
        "/api/v1/imports/",
        {"target": "fda_inspections", "file": SimpleUploadedFile("x.csv", csv_bytes())},
        format="multipart",
    )
    assert response.status_code == 403
