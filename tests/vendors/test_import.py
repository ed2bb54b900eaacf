"""Imports: every bad row reported (row, column, reason), nothing written; all-or-nothing; idempotent."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from tests.factories import SiteFactory, VendorFactory
from vendors.models import ImportJob, Site, Vendor

pytestmark = pytest.mark.django_db

HEADER = "name,legal_name,kinds,country,website,status,services,modalities,phases\n"
GOOD = (
    HEADER
    + "Alpha Bio,Alpha Bio Inc.,CDMO;CRO,US,https://alpha.example,prospect,Process development;scale-up,Peptide,Phase I\n"
    + "Beta Chem,,CMO,Germany,,approved,api-manufacturing,small-molecule,commercial\n"
)


def upload(client, content: bytes, name="vendors.csv", target="vendors"):
    return client.post("/vendors/imports/", {"target": target, "file": SimpleUploadedFile(name, content)})


def job_of(response) -> ImportJob:
    assert response.status_code == 302, response.content[:500]
    return ImportJob.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def run_import(client, content: bytes, django_capture_on_commit_callbacks, **kwargs) -> ImportJob:
    with django_capture_on_commit_callbacks(execute=True):
        job = job_of(upload(client, content, **kwargs))
    job.refresh_from_db()
    if job.status == ImportJob.Status.READY:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/vendors/imports/{job.pk}/confirm/")
        job.refresh_from_db()
    return job


def test_preview_then_confirm_then_idempotent(client_as, django_capture_on_commit_callbacks):
    client = client_as("procurement")
    with django_capture_on_commit_callbacks(execute=True):
        job = job_of(upload(client, GOOD.encode()))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.READY
    assert job.report["counts"] == {"create": 2, "update": 0, "unchanged": 0}
    assert Vendor.objects.count() == 0  # the preview writes nothing
    page = client.get(f"/vendors/imports/{job.pk}/").content.decode()
    assert "2</strong> to create" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/vendors/imports/{job.pk}/confirm/")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    alpha = Vendor.objects.get(name="Alpha Bio")
    assert sorted(alpha.kinds.values_list("code", flat=True)) == ["CDMO", "CRO"]
    assert sorted(alpha.services.values_list("code", flat=True)) == ["process-development", "scale-up"]
    assert Vendor.objects.get(name="Beta Chem").country.code == "DE"
    again = run_import(client, GOOD.encode(), django_capture_on_commit_callbacks)
    assert again.report["counts"] == {"create": 0, "update": 0, "unchanged": 2}
    assert Vendor.objects.count() == 2
    changed = GOOD.replace("Beta Chem,,CMO,Germany,,approved", "beta chem,,CMO,Germany,,disqualified")
    third = run_import(client, changed.encode(), django_capture_on_commit_callbacks)
    assert third.report["counts"] == {"create": 0, "update": 1, "unchanged": 1}
    assert Vendor.objects.get(name__iexact="beta chem").status == "disqualified"


def test_every_bad_row_is_reported_and_nothing_written(client_as, django_capture_on_commit_callbacks):
    bad = (
        HEADER
        + "Good One,,CRO,US,,,,,\n"
        + ",,CRO,US,,,,,\n"  # row 3: no name
        + "Bad Kind,,CXO,US,,,,,\n"  # row 4: unknown kind
        + "Bad Country,,CRO,Atlantis,,,,,\n"  # row 5
        + "Bad Status,,CRO,US,,excellent,,,\n"  # row 6
        + "Bad Web,,CRO,US,ftp://x,,,,\n"  # row 7
        + "=cmd|' /C calc'!A0,,CRO,US,,,,,\n"  # row 8: formula
        + "good one,,CRO,US,,,,,\n"  # row 9: duplicate of row 2
        + "Bad Service,,CRO,US,,,Teleportation,,\n"  # row 10
    )
    job = run_import(client_as("procurement"), bad.encode(), django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.INVALID
    errors = {(e["row"], e["column"]) for e in job.report["errors"]}
    assert errors == {
        (3, "name"),
        (4, "kinds"),
        (5, "country"),
        (6, "status"),
        (7, "website"),
        (8, "name"),
        (9, "name"),
        (10, "services"),
    }
    kinds_error = next(e for e in job.report["errors"] if e["column"] == "kinds")
    assert "CXO" in kinds_error["message"] and "allowed" in kinds_error["message"]
    assert Vendor.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "empty"),
        (b"name,kinds,country\n", "header.csv", "no data rows"),
        (b"PK\x03\x04garbage", "fake.xlsx", "not a readable .xlsx"),
        (b"hello", "notes.txt", "Upload a .csv or .xlsx"),
        (b"foo,bar\n1,2\n", "foreign.csv", "unknown column"),
        (b"name,legal_name\nA,B\n", "missing.csv", "required column is missing"),
    ],
)
def test_bad_files(client_as, django_capture_on_commit_callbacks, content, name, message):
    client = client_as("procurement")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, content, name=name)
    if response.status_code == 200:  # refused by the form before a job exists
        assert message in response.content.decode()
        assert not ImportJob.objects.exists()
    else:
        job = job_of(response)
        job.refresh_from_db()
        assert job.status == ImportJob.Status.INVALID
        assert any(message in e["message"] for e in job.report["errors"]), job.report
    assert Vendor.objects.count() == 0


def test_windows_1252_and_semicolon_csv(client_as, django_capture_on_commit_callbacks):
    content = "name;kinds;country\nLaboratoires Crème;CRO;FR\n".encode("cp1252")
    job = run_import(client_as("procurement"), content, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.DONE, job.report
    assert Vendor.objects.filter(name="Laboratoires Crème").exists()


def test_xlsx_import_uses_values_not_formulas(client_as, django_capture_on_commit_callbacks):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Name", "Kinds", "Country", "Description"])
    sheet.append(["Gamma Sterile", "CMO", "IE", "Fill-finish"])
    sheet.append(["Delta Oligo", "CDMO", "US", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = run_import(
        client_as("procurement"), buffer.getvalue(), django_capture_on_commit_callbacks, name="vendors.xlsx"
    )
    assert job.status == ImportJob.Status.DONE, job.report
    assert set(Vendor.objects.values_list("name", flat=True)) == {"Gamma Sterile", "Delta Oligo"}


def test_all_or_nothing_when_register_changed_between_preview_and_confirm(
    client_as, django_capture_on_commit_callbacks
):
    client = client_as("procurement")
    VendorFactory(name="Parent Co")
    content = b"vendor,name,country,quality_regime,fei_number\nParent Co,Plant A,US,cGMP,3001000001\nParent Co,Plant B,US,cGMP,3001000002\n"
    with django_capture_on_commit_callbacks(execute=True):
        job = job_of(upload(client, content, name="sites.csv", target="sites"))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.READY
    SiteFactory(fei_number="3001000002")  # someone takes the FEI number meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/vendors/imports/{job.pk}/confirm/")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INVALID
    assert job.report["errors"][0]["row"] == 3
    assert not Site.objects.filter(name__in=["Plant A", "Plant B"]).exists()


def test_sites_import_and_errors(client_as, django_capture_on_commit_callbacks):
    client = client_as("procurement")
    VendorFactory(name="Parent Co")
    content = (
        b"vendor,name,country,quality_regime,scale_min,scale_max,scale_unit,capabilities,certifications\n"
        b"Parent Co,Plant A,US,cGMP,100,2000,L,fill-finish;release-testing,ISO 9001;EU GMP\n"
        b"Nobody Inc,Plant B,US,cGMP,,,,,\n"
        b"Parent Co,Plant C,US,GXP,900,10,L,,\n"
        b"Parent Co,Plant D,US,GLP,5,,,,\n"
    )
    job = run_import(client, content, django_capture_on_commit_callbacks, name="sites.csv", target="sites")
    assert job.status == ImportJob.Status.INVALID
    errors = {(e["row"], e["column"]) for e in job.report["errors"]}
    assert errors == {(3, "vendor"), (4, "quality_regime"), (5, "scale_unit")}
    good = (
        b"vendor,name,country,quality_regime,scale_min,scale_max,scale_unit,capabilities,certifications\n"
        b"Parent Co,Plant A,US,cGMP,100,2000,L,fill-finish;release-testing,ISO 9001;EU GMP\n"
    )
    job = run_import(client, good, django_capture_on_commit_callbacks, name="sites.csv", target="sites")
    assert job.status == ImportJob.Status.DONE
    site = Site.objects.get(name="Plant A")
    assert site.certification_list == ["ISO 9001", "EU GMP"]
    assert site.capabilities.count() == 2
    again = run_import(client, good, django_capture_on_commit_callbacks, name="sites.csv", target="sites")
    assert again.report["counts"]["unchanged"] == 1


def test_import_api(api_as, django_capture_on_commit_callbacks):
    client = api_as("procurement")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/imports/",
            {"target": "vendors", "file": SimpleUploadedFile("v.csv", GOOD.encode())},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert client.get(f"/api/v1/imports/{job_id}/").json()["status"] == "ready"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/imports/{job_id}/confirm/")
    assert response.status_code == 202
    assert client.get(f"/api/v1/imports/{job_id}/").json()["status"] == "done"
    assert client.post(f"/api/v1/imports/{job_id}/confirm/").status_code == 409
    bad = client.post(
        "/api/v1/imports/", {"target": "planets", "file": SimpleUploadedFile("v.exe", b"MZ")}, format="multipart"
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"target", "file"}
    assert api_as("evaluator").post("/api/v1/imports/", {}, format="multipart").status_code == 403


def _padded_xlsx(pad_bytes: int) -> bytes:
    """A valid one-row workbook whose sheet XML also holds a cell of pad_bytes spaces: small on
    disk (deflate squeezes the spaces ~1000:1), large unpacked, as in a zip bomb."""
    import zipfile

    workbook = Workbook()
    workbook.active.append(["Name", "Kinds", "Country"])
    workbook.active.append(["Gamma Sterile", "CMO", "IE"])
    plain = io.BytesIO()
    workbook.save(plain)
    padded = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(padded, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                cell = b'<row r="3"><c r="D3" t="inlineStr"><is><t>' + b" " * pad_bytes + b"</t></is></c></row>"
                data = data.replace(b"</sheetData>", cell + b"</sheetData>")
            target.writestr(info.filename, data)
    return padded.getvalue()


@pytest.mark.parametrize(
    "target, role", [("vendors", "procurement"), ("sites", "procurement"), ("fda_inspections", "auditor")]
)
def test_xlsx_that_unpacks_past_the_limit_is_refused_before_parsing(
    client_as, django_capture_on_commit_callbacks, settings, monkeypatch, target, role
):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 1024 * 1024
    content = _padded_xlsx(2 * 1024 * 1024)
    assert len(content) < 20 * 1024  # small on disk, 2 MB unpacked
    import openpyxl

    def never(*args, **kwargs):
        raise AssertionError("openpyxl parsed a workbook over the limit")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_of(upload(client_as(role), content, name="bomb.xlsx", target=target))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INVALID
    [error] = job.report["errors"]
    assert error["message"].startswith("The workbook unpacks to 2 MB, more than the 1 MB allowed")
    assert job.report["counts"] == {} and job.report["preview"] == []
    assert Vendor.objects.count() == 0 and Site.objects.count() == 0


def test_xlsx_under_the_uncompressed_limit_still_imports(client_as, django_capture_on_commit_callbacks, settings):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 1024 * 1024
    job = run_import(
        client_as("procurement"), _padded_xlsx(100 * 1024), django_capture_on_commit_callbacks, name="vendors.xlsx"
    )
    assert job.status == ImportJob.Status.DONE, job.report
    assert list(Vendor.objects.values_list("name", flat=True)) == ["Gamma Sterile"]


def test_default_uncompressed_limit_is_set_and_read_table_refuses_a_150_mb_sheet():
    """The setting has a default, and the reported case (a ~157 KB file holding a 150 MB sheet) is
    refused from the zip directory alone, in well under a second."""
    import time

    from django.conf import settings

    from vendors.importing import ImportFileError, read_table

    assert 10 * 1024 * 1024 <= settings.IMPORT_MAX_UNCOMPRESSED_BYTES <= 200 * 1024 * 1024
    content = _padded_xlsx(150 * 1024 * 1024)
    assert len(content) < 200 * 1024
    started = time.monotonic()
    with pytest.raises(ImportFileError, match="unpacks to 150 MB"):
        read_table(content, "bomb.xlsx")
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    "content",
    [
        b"PK\x03\x04garbage",
        b"PK\x05\x06" + b"\x00" * 18,  # an empty zip: no workbook inside
        b"not a zip at all, just text",
        b"\x00" * 64,
    ],
)
def test_xlsx_that_is_not_a_valid_zip_or_workbook_is_refused_cleanly(content):
    from vendors.importing import ImportFileError, read_table

    with pytest.raises(ImportFileError, match=r"not a readable \.xlsx workbook"):
        read_table(content, "broken.xlsx")


def test_xlsx_whose_sheet_breaks_part_way_is_refused_cleanly():
    import zipfile

    from vendors.importing import ImportFileError, read_table

    plain = io.BytesIO()
    workbook = Workbook()
    workbook.active.append(["Name", "Kinds", "Country"])
    workbook.save(plain)
    broken = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b"<row><c><v>1</v></row></sheetData>")  # unclosed tag
            target.writestr(info.filename, data)
    with pytest.raises(ImportFileError, match=r"not a readable \.xlsx workbook"):
        read_table(broken.getvalue(), "broken.xlsx")
