from datetime import date, timedelta

import pytest

from tests.factories import InspectionFactory, SiteFactory, VendorFactory
from vendors.models import Kind, Service, Site, Vendor

pytestmark = pytest.mark.django_db


def test_create_vendor_with_vocabularies(api_as):
    response = api_as("procurement").post(
        "/api/v1/vendors/",
        {
            "name": "Integrated Partner",
            "kinds": ["CDMO", "CRO"],
            "country": "CH",
            "services": ["process-development", "clinical-monitoring"],
            "modalities": ["peptide"],
            "phases": ["phase-1", "phase-2"],
            "status": "under_qualification",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    vendor = Vendor.objects.get(name="Integrated Partner")
    assert sorted(vendor.kinds.values_list("code", flat=True)) == ["CDMO", "CRO"]
    assert response.json()["country"] == "CH"


def test_unknown_term_lists_allowed_terms_and_writes_nothing(api_as):
    response = api_as("procurement").post(
        "/api/v1/vendors/",
        {
            "name": "Typo Pharma",
            "kinds": ["CRO", "CXO"],
            "country": "US",
        },
        format="json",
    )
    assert response.status_code == 400
    message = str(response.json()["kinds"])
    assert "CXO" in message and "CRO, CMO, CDMO" in message
    assert not Vendor.objects.filter(name="Typo Pharma").exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "", "kinds": ["CRO"], "country": "US"}, "name"),
        ({"name": "No Kind", "kinds": [], "country": "US"}, "kinds"),
        ({"name": "Bad Country", "kinds": ["CRO"], "country": "XX"}, "country"),
        ({"name": "Bad Web", "kinds": ["CRO"], "country": "US", "website": "javascript:alert(1)"}, "website"),
        ({"name": "Bad Status", "kinds": ["CRO"], "country": "US", "status": "great"}, "status"),
    ],
)
def test_vendor_field_errors(api_as, payload, field):
    response = api_as("procurement").post("/api/v1/vendors/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Vendor.objects.count() == 0


def test_vendor_name_unique_case_insensitive(api_as):
    VendorFactory(name="Acme Bio")
    response = api_as("procurement").post(
        "/api/v1/vendors/", {"name": "ACME bio", "kinds": ["CRO"], "country": "US"}, format="json"
    )
    assert response.status_code == 400
    assert "already exists" in str(response.json()["name"])


def test_site_validation(api_as):
    vendor = VendorFactory()
    SiteFactory(fei_number="3000000001")
    client = api_as("procurement")
    base = {"vendor": vendor.pk, "name": "Plant", "country": "US", "quality_regime": "cGMP"}
    cases = [
        ({"scale_min": "500", "scale_max": "100", "scale_unit": "L"}, "scale_max"),
        ({"scale_min": "5"}, "scale_unit"),
        ({"fei_number": "12ab"}, "fei_number"),
        ({"fei_number": "3000000001"}, "fei_number"),
        ({"quality_regime": "GXP"}, "quality_regime"),
    ]
    for extra, field in cases:
        response = client.post("/api/v1/sites/", {**base, **extra}, format="json")
        assert response.status_code == 400, extra
        assert field in response.json(), response.json()
    assert not Site.objects.filter(vendor=vendor).exists()


def test_inspection_in_future_refused(api_as):
    site = SiteFactory()
    response = api_as("auditor").post(
        "/api/v1/inspections/",
        {
            "site": site.pk,
            "agency": "FDA",
            "end_date": str(date.today() + timedelta(days=3)),
            "classification": "NAI",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "end_date" in response.json()


def test_filters(api_as):
    VendorFactory(name="Only CRO", kinds=["CRO"], country="IN")
    both = VendorFactory(name="Both Kinds", kinds=["CDMO", "CRO"], status="approved")
    cmo = VendorFactory(name="Only CMO", kinds=["CMO"])
    pd_service, mfg = Service.objects.get(code="process-development"), Service.objects.get(code="api-manufacturing")
    both.services.set([pd_service, mfg])
    cmo.services.set([mfg])
    SiteFactory(vendor=cmo, scale_min=1, scale_max=5, scale_unit="kg")
    SiteFactory(vendor=both, scale_min=500, scale_max=8000, scale_unit="g")
    client = api_as("evaluator")

    def names(query):
        response = client.get("/api/v1/vendors/?" + query)
        assert response.status_code == 200, response.content
        return {row["name"] for row in response.json()["results"]}

    assert names("kind=CRO") == {"Only CRO", "Both Kinds"}
    assert names("service=process-development&service=api-manufacturing") == {"Both Kinds"}
    assert names("service=api-manufacturing") == {"Both Kinds", "Only CMO"}
    assert names("country=IN") == {"Only CRO"}
    assert names("status=approved") == {"Both Kinds"}
    # 2 kg to 4 kg: the kg site covers it, and so does the 500-8000 g site.
    assert names("scale_unit=kg&scale_from=2&scale_to=4") == {"Only CMO", "Both Kinds"}
    assert names("scale_unit=g&scale_from=600&scale_to=7000") == {"Both Kinds"}
    assert names("scale_unit=L&scale_from=10&scale_to=20") == set()
    assert names("q=both") == {"Both Kinds"}
    ordered = client.get("/api/v1/vendors/?ordering=-name").json()["results"]
    assert [row["name"] for row in ordered] == ["Only CRO", "Only CMO", "Both Kinds"]


def test_bad_filter_value_is_400_not_500(api_as):
    response = api_as("evaluator").get("/api/v1/vendors/?kind=NOPE&scale_from=abc")
    assert response.status_code == 400
    assert "kind" in response.json() and "scale_from" in response.json()


def test_red_flags_annotation(api_as):
    site = SiteFactory()
    InspectionFactory(site=site, classification="OAI")
    InspectionFactory(site=site, classification="VAI", warning_letter=True)
    InspectionFactory(site=site, classification="OAI", end_date=date.today() - timedelta(days=365 * 8))
    row = api_as("manager").get(f"/api/v1/vendors/{site.vendor_id}/").json()
    assert row["recent_red_flags"] == 2
    assert row["site_count"] == 1


def _make_vendors(count):
    kinds = list(Kind.objects.all())
    vendors = Vendor.objects.bulk_create([Vendor(name=f"Bulk {i:05d}", country="US") for i in range(count)])
    Vendor.kinds.through.objects.bulk_create(
        [Vendor.kinds.through(vendor_id=v.pk, kind_id=kinds[i % 3].pk) for i, v in enumerate(vendors)]
    )
    Site.objects.bulk_create([Site(vendor=v, name="Main", country="US", quality_regime="cGMP") for v in vendors])


@pytest.mark.parametrize("count", [10, 1000])
def test_vendor_api_query_count_is_bounded(api_as, django_assert_max_num_queries, count):
    _make_vendors(count)
    client = api_as("evaluator")
    with django_assert_max_num_queries(9):
        response = client.get("/api/v1/vendors/?page_size=200")
    assert response.status_code == 200
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [10, 1000])
def test_site_and_inspection_api_query_count(api_as, django_assert_max_num_queries, count):
    _make_vendors(count)
    client = api_as("evaluator")
    with django_assert_max_num_queries(4):
        assert client.get("/api/v1/sites/?page_size=200").status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get("/api/v1/inspections/").status_code == 200


def test_token_authentication(users, client):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=users["evaluator"])
    response = client.get("/api/v1/vendors/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert client.get("/api/v1/vendors/", HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_schema_and_docs_are_served(api_as):
    client = api_as("evaluator")
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/v1/vendors/", "/api/v1/sites/", "/api/v1/inspections/", "/api/v1/imports/"]:
        assert path in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("scale_from=500&scale_to=5&scale_unit=kg", "scale_to", "“To” (5) is smaller than “from” (500)."),
        ("scale_from=500&scale_to=800", "scale_unit", "Choose the unit of the batch size (g, kg or L)."),
        ("scale_unit=kg", "scale_from", "Enter the batch size (from, to or both) for the unit chosen."),
        ("scale_from=-1&scale_unit=g", "scale_from", "Ensure this value is greater than or equal to 0."),
        ("scale_from=5&scale_unit=t", "scale_unit", "Select a valid choice. t is not one of the available choices."),
        ("country=ZZ", "country", "Select a valid choice. ZZ is not one of the available choices."),
    ],
)
def test_filters_that_cannot_apply_are_400_with_field_errors(api_as, query, field, message):
    """The same checks as the register page: never an answer that silently ignores a filter."""
    VendorFactory()
    response = api_as("evaluator").get("/api/v1/vendors/?" + query)
    assert response.status_code == 400, response.content
    assert response.json() == {field: [message]}


def test_search_finds_by_every_column_it_reads_and_is_served_by_the_trigram_indexes(api_as, monkeypatch):
    """`q` matches name, legal name, description, a site's name (any case, inside words) or a site's exact
    FEI number, each vendor once; and PostgreSQL can answer it from the trigram indexes (vendors 0015)
    rather than by reading every vendor."""
    from django.db import connection

    from vendors import filters as vendor_filters
    from vendors.filters import VendorFilter

    by_name = VendorFactory(name="Quillon Biologics")
    by_legal = VendorFactory(name="Aster Labs", legal_name="QUILLON Holdings GmbH")
    by_description = VendorFactory(name="Boreal", description="Formerly part of the quillon group.")
    by_site = VendorFactory(name="Cobalt")
    SiteFactory(vendor=by_site, name="Quillon Plant 2")
    SiteFactory(vendor=by_site, name="Quillon Plant 3")
    by_fei = VendorFactory(name="Delta")
    SiteFactory(vendor=by_fei, fei_number="3009876543")
    VendorFactory(name="Unrelated", description="Nothing to see.")
    client = api_as("evaluator")

    def names(query):
        response = client.get("/api/v1/vendors/", {"q": query})
        assert response.status_code == 200, response.content
        rows = [row["name"] for row in response.json()["results"]]
        assert len(rows) == len(set(rows)) == response.json()["count"]
        return set(rows)

    quillon = {by_name.name, by_legal.name, by_description.name, by_site.name}
    assert names("quillon") == quillon
    assert names("QUI") == quillon and names("qu") == quillon  # 2 characters: no trigram, a pass instead
    with monkeypatch.context() as patch:
        patch.setattr(vendor_filters, "SEARCH_BROAD", 2)  # as a broad search: the same vendors
        assert names("quillon") == quillon and names("Plant") == {by_site.name}
    assert names("3009876543") == {by_fei.name}
    assert names("300987654") == set()  # an FEI number is matched whole
    assert names("  ") == {v.name for v in Vendor.objects.all()}
    queryset = VendorFilter({"q": "quillon"}, queryset=Vendor.objects.all()).qs
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for index in ("vendor_name_trgm", "vendor_legal_name_trgm", "vendor_description_trgm", "site_name_trgm"):
        assert index in plan, plan


def test_country_counts_follow_every_way_vendors_are_written(client_as):
    """The country filter's counts (kept by triggers, vendors 0016) equal a count of the register after
    saves, bulk inserts, queryset updates, deletes and raw SQL; the page shows them."""
    from django.db import connection
    from django.db.models import Count

    from vendors.filters import country_choices

    def kept():
        with connection.cursor() as cursor:
            cursor.execute("SELECT country, n FROM vendors_countrycount WHERE n > 0")
            return dict(cursor.fetchall())

    def counted():
        return dict(Vendor.objects.order_by().values_list("country").annotate(n=Count("pk")))

    one = VendorFactory(name="One", country="DE")
    VendorFactory(name="Two", country="DE")
    Vendor.objects.bulk_create([Vendor(name=f"Bulk {i}", country="IN") for i in range(5)])
    assert kept() == counted() and kept()["DE"] == 2 and kept()["IN"] == 5
    one.country = "FR"
    one.save()
    Vendor.objects.filter(name__startswith="Bulk", name__lt="Bulk 2").update(country="JP")
    assert kept() == counted() and kept()["JP"] == 2 and kept()["IN"] == 3
    Vendor.objects.filter(country="IN").delete()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO vendors_vendor (name, legal_name, country, website, description, status, "
                       "created_at, updated_at) VALUES ('Raw', '', 'CH', '', '', 'prospect', now(), now())")  # fmt: skip
    assert kept() == counted() and "IN" not in kept() and kept()["CH"] == 1
    assert ("DE", "Germany (1)") in country_choices() and ("IN", "India (0)") in country_choices(["IN"])
    client = client_as("evaluator")
    page = client.get("/vendors/")
    assert "France (1)" in page.content.decode() and "Japan (2)" in page.content.decode()
    # The register's paginator takes its count from them when only countries are filtered.
    assert page.context["page"].paginator.count == Vendor.objects.count()
    for query, expected in [
        ("?country=JP&country=DE", Vendor.objects.filter(country__in=["JP", "DE"]).count()),
        ("?country=JP&ordering=-name", 2),
        ("?country=JP&status=approved", Vendor.objects.filter(country="JP", status="approved").count()),
        ("?q=Bulk", Vendor.objects.filter(name__startswith="Bulk").count()),
    ]:
        assert client.get("/vendors/" + query).context["page"].paginator.count == expected, query
