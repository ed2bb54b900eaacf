import csv
import io

import pytest
from django.utils.html import escape
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
    with django_assert_max_num_queries(17):  # + 1: the countries and their counts; + 1: the sites' standings
        response = client.get("/vendors/?kind=CRO&kind=CDMO&ordering=-sites")
    assert response.status_code == 200


def test_detail_page_query_count(client_as, django_assert_max_num_queries):
    vendor = VendorFactory()
    for _ in range(5):
        InspectionFactory(site=SiteFactory(vendor=vendor))
    client = client_as("evaluator")
    with django_assert_max_num_queries(18):  # + 1: the approved-supplier list; + 1: the sites' standings
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


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("scale_from=500&scale_to=5&scale_unit=kg", "scale_to", "“To” (5) is smaller than “from” (500)."),
        ("scale_from=500&scale_to=800", "scale_unit", "Choose the unit of the batch size (g, kg or L)."),
        ("scale_unit=L", "scale_from", "Enter the batch size (from, to or both) for the unit chosen."),
        ("scale_to=abc&scale_unit=L", "scale_to", "Enter a number."),
        ("kind=CXO", "kind", "Select a valid choice. CXO is not one of the available choices."),
    ],
)
def test_vendor_list_shows_filters_that_cannot_apply(client_as, query, field, message):
    """An invalid filter is shown next to the filter and listed above the results, and nothing is
    listed or exported: a list that looks filtered but is not would mislead."""
    VendorFactory(name="Listed Labs")
    client = client_as("evaluator")
    response = client.get("/vendors/?" + query)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'<div class="invalid-feedback d-block" id="id_{field}-error">{escape(message)}</div>' in body
    assert f'aria-describedby="id_{field}-error"' in body
    assert "cannot apply" in body and "Listed Labs" not in body
    export = client.get(f"/vendors/?{query}&export=csv")
    assert "Content-Disposition" not in export and "cannot apply" in export.content.decode()


def test_vendor_list_valid_batch_size_filter(client_as):
    covered = SiteFactory(vendor=VendorFactory(name="Big Kettle"), scale_min=100, scale_max=2000, scale_unit="L")
    SiteFactory(vendor=VendorFactory(name="Small Kettle"), scale_min=1, scale_max=50, scale_unit="L")
    body = client_as("evaluator").get("/vendors/?scale_from=500&scale_to=1000&scale_unit=L").content.decode()
    assert covered.vendor.name in body and "Small Kettle" not in body and "cannot apply" not in body


def test_vendor_list_multi_selects(client_as):
    """Services grouped as the vocabulary groups them; countries of the register only, with their counts."""
    VendorFactory(country="DE")
    VendorFactory(country="DE")
    VendorFactory(country="JP")
    body = client_as("evaluator").get("/vendors/?country=AQ&service=fill-finish").content.decode()
    assert 'data-multiselect data-placeholder="Search services…"' in body
    assert '<optgroup label="Manufacturing">' in body and '<optgroup label="Research &amp; clinical">' in body
    assert '<option value="fill-finish" selected>Fill-finish</option>' in body
    countries = body[body.index('id="id_country"') : body.index("</select>", body.index('id="id_country"'))]
    assert countries.count("<option") == 3  # Antarctica only because the link asks for it
    assert '<option value="AQ" selected>Antarctica (0)</option>' in countries
    assert countries.index("Germany (2)") < countries.index("Japan (1)")
    assert "France" not in countries
    assert "vendor/tom-select/js/tom-select.complete.min.js" in body and "js/multiselect.js" in body


def test_vendor_list_with_filters_and_errors_query_count(client_as, django_assert_max_num_queries):
    _make_vendors(30)
    client = client_as("procurement")
    with django_assert_max_num_queries(16):
        response = client.get("/vendors/?service=scale-up&country=US&modality=peptide&scale_from=1&scale_unit=kg")
    assert response.status_code == 200
    with django_assert_max_num_queries(13):  # no list: no count, page or prefetch
        response = client.get("/vendors/?scale_from=500&scale_to=5&scale_unit=kg&kind=CXO")
    assert "cannot apply" in response.content.decode()


def test_phone_filters_button_counts_the_filters_set(client_as):
    body = client_as("evaluator").get("/vendors/?kind=CRO&kind=CMO&scale_from=1&scale_to=2&scale_unit=g&ordering=name")
    assert (
        'Filters <span class="badge text-bg-primary">2<span class="visually-hidden"> active</span>'
        in body.content.decode()
    )


def test_inspection_list_date_range_the_wrong_way_round(client_as, api_as):
    InspectionFactory(site=SiteFactory(vendor=VendorFactory(name="Dated Labs")))
    query = "end_after=2026-05-01&end_before=2026-01-01"
    body = client_as("auditor").get("/vendors/inspections/?" + query).content.decode()
    message = escape("“Ended on or before” (2026-01-01) is earlier than “ended on or after” (2026-05-01).")
    assert f'<div class="invalid-feedback d-block" id="id_end_before-error">{message}</div>' in body
    assert "cannot apply" in body and "Dated Labs" not in body
    response = api_as("auditor").get("/api/v1/inspections/?" + query)
    assert response.status_code == 400 and list(response.json()) == ["end_before"]
