import csv
import io

import pytest
from openpyxl import load_workbook

from tests.factories import InspectionFactory, SiteFactory, VendorFactory
from tests.vendors.test_api import _make_vendors
from vendors.models import Kind, Vendor

pytestmark = pytest.mark.django_db


def test_vendor_list_filters_sorts_and_paginates(client_as):
    _make_vendors(30)
    VendorFactory(name="Zeta CRO", kinds=["CRO"], country="JP")
    client = client_as("evaluator")
    page = client.get("/vendors/?ordering=-name")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index("Zeta CRO") < body.index("Bulk 00029")
    assert "1–25 of 31" in body
    assert "Zeta CRO" not in client.get("/vendors/?ordering=-name&page=2").content.decode()
    filtered = client.get("/vendors/?country=JP").content.decode()
    assert "Zeta CRO" in filtered and "Bulk 00001" not in filtered
    empty = client.get("/vendors/?q=nothing-matches-this").content.decode()
    assert "No vendor matches these filters" in empty


def test_vendor_list_escapes_user_text(client_as):
    VendorFactory(name="<script>alert(1)</script> Labs")
    body = client_as("manager").get("/vendors/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


@pytest.mark.parametrize("count", [10, 1000])
def test_vendor_list_page_query_count_is_bounded(client_as, django_assert_max_num_queries, count):
    _make_vendors(count)
    client = client_as("procurement")
    with django_assert_max_num_queries(15):
        response = client.get("/vendors/?kind=CRO&kind=CDMO&ordering=-sites")
    assert response.status_code == 200


def test_detail_page_query_count(client_as, django_assert_max_num_queries):
    vendor = VendorFactory()
    for _ in range(5):
        InspectionFactory(site=SiteFactory(vendor=vendor))
    client = client_as("evaluator")
    with django_assert_max_num_queries(17):  # + 1: the approved-supplier list of the vendor's sites
        response = client.get(f"/vendors/{vendor.pk}/")
    assert response.status_code == 200
    assert response.content.decode().count("NAI") >= 5


def test_other_pages_query_counts(client_as, django_assert_max_num_queries):
    for _ in range(30):
        InspectionFactory()
    client = client_as("auditor")
    with django_assert_max_num_queries(10):
        assert client.get("/vendors/inspections/?ordering=vendor").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/").status_code == 200


def test_export_csv_and_xlsx_follow_filters(client_as):
    vendor = VendorFactory(name="=HYPERLINK(evil)", kinds=["CRO"], country="FR")
    VendorFactory(name="Other", kinds=["CMO"])
    client = client_as("manager")
    response = client.get("/vendors/?kind=CRO&export=csv")
    assert response["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["name", "legal_name", "kinds"]
    assert len(rows) == 2
    assert rows[1][0] == "'" + vendor.name  # neutralised formula
    response = client.get("/vendors/?kind=CRO&export=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 2 and sheet["D2"].value == "FR"


def test_create_vendor_with_contacts_and_errors(client_as):
    client = client_as("procurement")
    kinds = Kind.objects.filter(code__in=["CDMO", "CRO"])
    data = {
        "name": "Form Vendor",
        "kinds": [k.pk for k in kinds],
        "country": "DE",
        "status": "prospect",
        "website": "https://form.example",
        "contacts-TOTAL_FORMS": "1",
        "contacts-INITIAL_FORMS": "0",
        "contacts-0-name": "Dr. Weber",
        "contacts-0-email": "not-an-email",
    }
    response = client.post("/vendors/new/", data)
    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()
    assert not Vendor.objects.filter(name="Form Vendor").exists()
    data["contacts-0-email"] = "weber@form.example"
    response = client.post("/vendors/new/", data)
    assert response.status_code == 302
    vendor = Vendor.objects.get(name="Form Vendor")
    assert vendor.contacts.get().email == "weber@form.example"
    assert vendor.created_by.username == "procurement"
    assert vendor.kinds.count() == 2


def test_site_form_refuses_inverted_scale(client_as):
    vendor = VendorFactory()
    response = client_as("procurement").post(
        f"/vendors/{vendor.pk}/sites/new/",
        {
            "name": "Plant",
            "country": "US",
            "quality_regime": "cGMP",
            "scale_min": "900",
            "scale_max": "10",
            "scale_unit": "L",
        },
    )
    assert response.status_code == 200
    assert "must not be smaller than the minimum" in response.content.decode()
    assert not vendor.sites.exists()


def test_inspection_form(client_as):
    site = SiteFactory()
    client = client_as("auditor")
    response = client.post(
        f"/vendors/sites/{site.pk}/inspections/new/",
        {
            "agency": "FDA",
            "end_date": "2023-05-04",
            "classification": "OAI",
            "form_483_observations": "7",
            "warning_letter": "on",
            "source": "manual",
        },
    )
    assert response.status_code == 302
    assert site.inspections.get().warning_letter is True
    page = client.get(f"/vendors/{site.vendor_id}/").content.decode()
    assert "2023-05-04" in page and "OAI" in page


def test_csrf_is_enforced(users):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["procurement"])
    response = client.post("/vendors/new/", {"name": "x"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        "scale_from=abc&scale_unit=L",
        "ordering=drop_table",
        "page=99999",
        "page=-1",
        "country=XX",
        "kind=NOPE",
        "status=great&q=%00",
    ],
)
def test_malformed_filters_never_fail(client_as, query):
    VendorFactory()
    client = client_as("evaluator")
    assert client.get(f"/vendors/?{query}").status_code == 200
    assert client.get(f"/vendors/inspections/?{query}&end_after=not-a-date").status_code == 200


FORMULA_CELLS = [
    ("=1+1", True),
    ("+1+1", True),
    ("-1+1", True),
    ("@SUM(A1)", True),
    ("\t=1+1", True),  # OWASP: tab and carriage return start a formula too
    ("\r=1+1", True),
    ("\tplain", True),
    ("\rplain", True),
    (" =1+1", True),  # a spreadsheet may trim the space and run the rest
    ("  \u00a0+1+1", True),
    ("\n@SUM(A1)", True),
    ("plain = text", False),
    (" plain", False),
    ("", False),
    ("Ünïcode", False),
]


@pytest.mark.parametrize("value, neutralised", FORMULA_CELLS)
def test_spreadsheet_safe_neutralises_formula_starts(value, neutralised):
    from core.tabular import spreadsheet_safe

    assert spreadsheet_safe(value) == ("'" + value if neutralised else value)


def test_exports_neutralise_tab_cr_and_padded_formulas_in_csv_and_xlsx(client_as):
    """The vendor list export (and, through table_response, the ranking and trail exports) writes
    every formula-like text cell with a leading apostrophe, in CSV and in XLSX alike."""
    values = [value for value, neutralised in FORMULA_CELLS if value and neutralised]
    for number, value in enumerate(values):
        VendorFactory(name=f"Formula {number:02d}", legal_name=value, description=value, kinds=["CRO"])
    client = client_as("manager")
    expected = {f"Formula {n:02d}": "'" + value for n, value in enumerate(values)}

    response = client.get("/vendors/?kind=CRO&export=csv&ordering=name")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    header = rows[0]
    got = {row[0]: (row[header.index("legal_name")], row[header.index("description")]) for row in rows[1:]}
    assert got == {name: (value, value) for name, value in expected.items()}

    response = client.get("/vendors/?kind=CRO&export=xlsx&ordering=name")
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    got = {}
    for row in sheet.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in row)  # no cell was stored as a formula
        values_by_column = dict(zip(header, (cell.value for cell in row), strict=True))
        got[values_by_column["name"]] = (values_by_column["legal_name"], values_by_column["description"])
    # XML reads a stored carriage return back as a line feed; the apostrophe is there either way.
    expected = {name: value.replace("\r", "\n") for name, value in expected.items()}
    assert got == {name: (value, value) for name, value in expected.items()}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_table_response_neutralises_every_text_cell_but_not_numbers(fmt):
    from core.tabular import table_response

    rows = [["a", "b", "c"], ["\t=cmd|' /C calc'!A0", -5, "\r+1"], [" =1", 1.5, "ok"]]
    response = table_response(rows, fmt, f"t.{fmt}", "T")
    if fmt == "csv":
        cells = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
        assert cells[1] == ["'\t=cmd|' /C calc'!A0", "-5", "'\r+1"]
        assert cells[2] == ["' =1", "1.5", "ok"]
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert [c.value for c in sheet[2]] == ["'\t=cmd|' /C calc'!A0", -5, "'\n+1"]  # XML: CR reads as LF
        assert [c.value for c in sheet[3]] == ["' =1", 1.5, "ok"]
