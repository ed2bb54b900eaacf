"""Filters of the vendor register, shared by the list page, the export and the API."""

from decimal import Decimal

import django_filters as filters
from django import forms
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.db.models.lookups import Contains
from django_countries import countries
from drf_spectacular.utils import extend_schema_field

from vendors.models import (
    Agency,
    DosageForm,
    GmpCertificate,
    ImportAlert,
    Kind,
    Modality,
    Phase,
    QualificationStatus,
    RegulatoryInspection,
    Service,
    Site,
    SiteQualification,
    Vendor,
    WarningLetter,
)

GRAMS_PER_UNIT = {"g": Decimal(1), "kg": Decimal(1000)}


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class TermFilter(filters.ModelMultipleChoiceFilter):
    """Vocabulary terms by code (?service=scale-up&service=fill-finish)."""

    def __init__(self, relation: str, model, **kwargs):
        self.relation = relation
        super().__init__(field_name=f"{relation}__code", to_field_name="code", queryset=model.objects.all(), **kwargs)

    def filter(self, qs, value):
        # Semi-joins on the link table rather than joins: no duplicate vendors, so no DISTINCT over every
        # column and annotation of every matching vendor before the page is cut (linear in the register).
        if not value:
            return qs
        link = getattr(Vendor, self.relation)
        through, term = link.through, link.field.m2m_reverse_field_name()
        chosen = [[t.pk] for t in value] if self.conjoined else [[t.pk for t in value]]
        for terms in chosen:
            qs = qs.filter(pk__in=through.objects.filter(**{f"{term}__in": terms}).values("vendor_id"))
        return qs


class VendorFilterForm(forms.Form):
    """The register's filters as a form, so that a filter that cannot apply is an error, never ignored:
    the page shows it next to the filter (and lists nothing), the API answers 400 with the field's errors."""

    def clean(self):
        data = super().clean()
        unit, low, high = data.get("scale_unit"), data.get("scale_from"), data.get("scale_to")
        asked = low is not None or high is not None
        if asked and not unit and "scale_unit" not in self.errors:
            self.add_error("scale_unit", "Choose the unit of the batch size (g, kg or L).")
        if unit and not asked and not {"scale_from", "scale_to"} & set(self.errors):
            self.add_error("scale_from", "Enter the batch size (from, to or both) for the unit chosen.")
        if low is not None and high is not None and low > high:
            self.add_error("scale_to", f"“To” ({high:g}) is smaller than “from” ({low:g}).")
        return data


SEARCH_BROAD = 2000  # matches past which a search reads the register once rather than its indexes


class VendorFilter(filters.FilterSet):
    q = filters.CharFilter(method="search", label="Search")
    kind = TermFilter("kinds", Kind, label="Kind")
    service = TermFilter(
        "services",
        Service,
        conjoined=True,
        label="Services (all of)",
        help_text="Vendors that offer every service given.",
    )
    modality = TermFilter("modalities", Modality, label="Modality")
    dosage_form = TermFilter("dosage_forms", DosageForm, label="Dosage form")
    phase = TermFilter("phases", Phase, label="Phase")
    country = filters.MultipleChoiceFilter(choices=list(countries), label="Headquarters country", distinct=False)
    status = filters.MultipleChoiceFilter(choices=Vendor.Status.choices, label="Qualification status", distinct=False)
    scale_unit = filters.ChoiceFilter(choices=Site.ScaleUnit.choices, method="noop", label="Scale unit")
    scale_from = filters.NumberFilter(method="noop", label="Batch size from", min_value=0)
    scale_to = filters.NumberFilter(method="noop", label="Batch size to", min_value=0)
    ordering = filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("country", "country"),
            ("status", "status"),
            ("site_count", "sites"),
            ("last_inspection", "last_inspection"),
            ("recent_red_flags", "red_flags"),
            ("updated_at", "updated"),
        )
    )

    class Meta:
        model = Vendor
        fields = []
        form = VendorFilterForm

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if len(value) < 3:
            # No trigram to look up (the indexes would be read whole): a pass over the table, on LOWER()
            # which no index serves.
            low = value.lower()
            named = Contains(Lower("name"), low) | Contains(Lower("legal_name"), low)
            named |= Contains(Lower("description"), low)
            by_site = Site.objects.filter(Contains(Lower("name"), low) | Q(fei_number=value))
        else:
            named = Q(name__icontains=value) | Q(legal_name__icontains=value) | Q(description__icontains=value)
            by_site = Site.objects.filter(Q(name__icontains=value) | Q(fei_number=value))
        vendors = Vendor.objects.filter(named).order_by().values_list("pk", flat=True)
        sites = by_site.order_by().values_list("vendor", flat=True)
        # A UNION of the vendors and of the sites that match, each side served by its trigram indexes
        # (vendors 0015). Not an OR of the vendor's columns with a subquery on sites: once the sites that
        # match outgrow work_mem, PostgreSQL re-runs that subquery for every vendor (10 minutes for "Plant"
        # at 200,000 vendors). A broad search (most of the register) is a hash join with it.
        if len(vendors.union(sites, all=True)[: SEARCH_BROAD + 1]) > SEARCH_BROAD:
            return queryset.filter(pk__in=vendors.union(sites))
        # As an array unnested (computed once, estimated small) rather than a subquery: PostgreSQL then looks
        # the matches up by key and sorts them, where with a subquery it walked the name index through the
        # register in search of the page's first 25 (matches are not spread evenly over the names).
        sql, params = vendors.union(sites).query.sql_with_params()
        return queryset.filter(pk__in=RawSQL(f"SELECT unnest(ARRAY({sql}))", params))  # noqa: S611 (our SQL)

    def noop(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return self.filter_scale(queryset, self.form.cleaned_data)

    @staticmethod
    def filter_scale(queryset, data):
        """Vendors with a site whose batch-size range covers the whole range asked for.

        Grams and kilograms compare with each other; litres only with litres.
        """
        unit, low, high = data.get("scale_unit"), data.get("scale_from"), data.get("scale_to")
        if not unit or (low is None and high is None):
            return queryset
        low = low if low is not None else high
        high = high if high is not None else low
        units = GRAMS_PER_UNIT if unit in GRAMS_PER_UNIT else {"L": Decimal(1)}
        covers = Q()
        for other, factor in units.items():
            scale = units[unit] / factor
            covers |= Q(scale_unit=other, scale_min__lte=low * scale, scale_max__gte=high * scale)
        return queryset.filter(pk__in=Site.objects.filter(covers).values("vendor"))

    def kept_count(self) -> int | None:
        """How many vendors the filters leave, from the counts the database keeps per country (vendors 0016)
        when nothing but countries is filtered: the register's paginator then counts nothing. Else None."""
        if not self.is_valid() or self._used() - {"country", "ordering"}:
            return None
        chosen = self.form.cleaned_data.get("country") or []
        with connection.cursor() as cursor:
            if chosen:
                cursor.execute("SELECT coalesce(sum(n), 0) FROM vendors_countrycount WHERE country = ANY(%s)", [chosen])
            else:
                cursor.execute("SELECT coalesce(sum(n), 0) FROM vendors_countrycount")
            return int(cursor.fetchone()[0])

    def _used(self) -> set[str]:
        """The filters the request sets."""
        getlist = getattr(self.data, "getlist", lambda name: [self.data.get(name)])
        return {name for name in self.filters if any(getlist(name))}

    def active_count(self) -> int:
        """How many filters the request sets (for the phone's "Filters" button)."""
        # The batch size (from, to, unit) is one filter.
        used = {"scale" if name.startswith("scale_") else name for name in self._used()}
        return len(used - {"ordering"})


def service_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The services grouped as the vocabulary groups them (research & clinical, development...): one query."""
    groups: dict[str, list[tuple[str, str]]] = {}
    labels = dict(Service.Group.choices)
    for code, name, group in Service.objects.values_list("code", "name", "group"):
        groups.setdefault(labels.get(group, group), []).append((code, name))
    return list(groups.items())


def country_choices(selected=()) -> list[tuple[str, str]]:
    """The headquarters countries of the register, by name, each with its number of vendors (one query).

    Only countries that hold a vendor are offered (249 names, Antarctica included, helped nobody);
    a country asked for in the request but absent from the register is kept, with 0, so that a saved
    link still shows what it asks for. Any ISO country is still a valid filter value."""
    with connection.cursor() as cursor:  # kept by the database's triggers (vendors 0016), not counted here
        cursor.execute("SELECT country, n FROM vendors_countrycount WHERE n > 0")
        counts = dict(cursor.fetchall())
    wanted = {code for code in selected if code in countries} | {code for code in counts if code}
    names = {code: countries.name(code) for code in wanted}
    return [(code, f"{names[code]} ({counts.get(code, 0)})") for code in sorted(wanted, key=names.get)]


class SiteFilter(filters.FilterSet):
    vendor = filters.NumberFilter(field_name="vendor_id")
    country = filters.MultipleChoiceFilter(choices=list(countries))
    quality_regime = filters.MultipleChoiceFilter(choices=Site.QualityRegime.choices)
    fei_number = filters.CharFilter()

    class Meta:
        model = Site
        fields = []


class InspectionFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        after, before = data.get("end_after"), data.get("end_before")
        if after and before and after > before:
            self.add_error(
                "end_before", f"“Ended on or before” ({before}) is earlier than “ended on or after” ({after})."
            )
        return data


class InspectionFilter(filters.FilterSet):
    q = filters.CharFilter(method="search", label="Vendor or site")
    site = filters.NumberFilter(field_name="site_id")
    vendor = filters.NumberFilter(field_name="site__vendor_id")
    agency = filters.MultipleChoiceFilter(choices=RegulatoryInspection.Agency.choices)
    classification = filters.MultipleChoiceFilter(choices=RegulatoryInspection.Classification.choices)
    inspection_type = filters.MultipleChoiceFilter(choices=RegulatoryInspection.InspectionType.choices)
    warning_letter = filters.BooleanFilter()
    end_after = filters.DateFilter(field_name="end_date", lookup_expr="gte", label="Ended on or after")
    end_before = filters.DateFilter(field_name="end_date", lookup_expr="lte", label="Ended on or before")
    ordering = filters.OrderingFilter(
        fields=(
            ("end_date", "end_date"),
            ("site__vendor__name", "vendor"),
            ("agency", "agency"),
            ("classification", "classification"),
            ("form_483_observations", "observations"),
        )
    )

    class Meta:
        model = RegulatoryInspection
        fields = []
        form = InspectionFilterForm

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(site__name__icontains=value) | Q(site__vendor__name__icontains=value))


class SiteRecordFilter(filters.FilterSet):
    """Common to the regulatory records of a site: by site or vendor."""

    site = filters.NumberFilter(field_name="site_id")
    vendor = filters.NumberFilter(field_name="site__vendor_id")


class WarningLetterFilter(SiteRecordFilter):
    open = filters.BooleanFilter(field_name="closed_on", lookup_expr="isnull", label="Not closed out")
    issued_after = filters.DateFilter(field_name="issued_on", lookup_expr="gte")
    issued_before = filters.DateFilter(field_name="issued_on", lookup_expr="lte")

    class Meta:
        model = WarningLetter
        fields = []


class ImportAlertFilter(SiteRecordFilter):
    status = filters.ChoiceFilter(choices=ImportAlert.Status.choices)
    number = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = ImportAlert
        fields = []


class GmpCertificateFilter(SiteRecordFilter):
    kind = filters.ChoiceFilter(choices=GmpCertificate.Kind.choices)
    authority = filters.MultipleChoiceFilter(choices=Agency.choices)
    valid_on = filters.DateFilter(method="valid_on_day", label="Valid on (no end, or ending on or after)")

    class Meta:
        model = GmpCertificate
        fields = []

    def valid_on_day(self, queryset, name, value):
        return queryset.filter(issued_on__lte=value).filter(Q(valid_until__isnull=True) | Q(valid_until__gte=value))


class SiteQualificationFilter(SiteRecordFilter):
    status = filters.MultipleChoiceFilter(choices=QualificationStatus.choices)
    activity = filters.CharFilter(field_name="activity__code", label="Activity (service code)")
    site_wide = filters.BooleanFilter(field_name="activity", lookup_expr="isnull", label="All activities")

    class Meta:
        model = SiteQualification
        fields = []
