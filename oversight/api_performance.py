"""REST API of supplier performance: /api/v1/performance-records (with /import/), /api/v1/scorecards,
/api/v1/kpi-settings and /api/v1/standing-rules. Thin: the serializers check shapes, oversight.performance
decides and writes, oversight.selectors reads. Reading needs view_scorecard (QA, auditors, managers,
procurement leads); QA and auditors write records; QA writes KPI settings and standing rules."""

from __future__ import annotations

import django_filters as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.openapi import VALIDATION_ERROR
from oversight import kpis, performance, selectors
from oversight.models_performance import KpiSetting, PerformanceRecord, Scorecard, Standing, StandingRules
from vendors.models import Site

COUNT_HELP = "A whole number of zero or more; a part may not exceed its whole (released ≤ started, RFT ≤ released, on time ≤ due)."


class KpiValueSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=[k.code for k in kpis.KPIS])
    name = serializers.CharField()
    unit = serializers.CharField(help_text="%, per batch or count.")
    formula = serializers.CharField(help_text="How the value is computed.")
    worked = serializers.CharField(help_text="The formula with the period's figures.")
    value = serializers.FloatField(allow_null=True, help_text="Null when there is nothing to divide by.")
    display = serializers.CharField()
    score = serializers.FloatField(allow_null=True, help_text="1-5: 1 + 4 × (value − v1) / (v5 − v1), clamped.")
    weight = serializers.FloatField()
    threshold = serializers.FloatField(allow_null=True)
    severity = serializers.CharField()
    flagged = serializers.BooleanField(help_text="Worse than the threshold: a for-cause audit is suggested.")


class FlagSerializer(serializers.Serializer):
    kpi = serializers.CharField()
    severity = serializers.CharField()
    text = serializers.CharField()


class ScorecardSerializer(serializers.ModelSerializer):
    record = serializers.IntegerField(source="record_id", read_only=True)
    site = serializers.IntegerField(source="site_id", read_only=True)
    site_name = serializers.CharField(source="site.name", read_only=True)
    vendor = serializers.IntegerField(source="site.vendor_id", read_only=True)
    vendor_name = serializers.CharField(source="site.vendor.name", read_only=True)
    score = serializers.FloatField(allow_null=True, read_only=True, help_text="Σ weight × score / Σ weight, 1-5.")
    standing_label = serializers.CharField(source="get_standing_display", read_only=True)
    kpis = serializers.SerializerMethodField()
    flags = FlagSerializer(many=True, read_only=True)
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True, help_text="Why this standing.")

    class Meta:
        model = Scorecard
        fields = [
            "id",
            "record",
            "site",
            "site_name",
            "vendor",
            "vendor_name",
            "period_label",
            "period_end",
            "score",
            "standing",
            "standing_label",
            "kpis",
            "flags",
            "reasons",
            "rules_version",
            "computed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(KpiValueSerializer(many=True))
    def get_kpis(self, card) -> list[dict]:
        return [card.kpis[k.code] for k in kpis.KPIS if k.code in card.kpis]


class PerformanceRecordSerializer(serializers.ModelSerializer):
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all())
    period_label = serializers.CharField(read_only=True)
    entered_by = serializers.CharField(source="entered_by.username", read_only=True)
    scorecard = ScorecardSerializer(read_only=True)

    class Meta:
        model = PerformanceRecord
        fields = [
            "id",
            "site",
            "start",
            "end",
            "period_label",
            *kpis.COUNT_FIELDS,
            "note",
            "entered_by",
            "scorecard",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {name: {"help_text": COUNT_HELP, "max_value": 10**9} for name in kpis.COUNT_FIELDS}

    def validate(self, attrs):
        # Every contradiction at once, under its field (the service refuses the first one too).
        merged = {
            name: attrs.get(name, getattr(self.instance, name, 0) if self.instance else 0) for name in kpis.COUNT_FIELDS
        }
        errors: dict[str, list[str]] = {}
        for part, message in kpis.contradictions(merged):
            errors.setdefault(part, []).append(message)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class RecordFilter(filters.FilterSet):
    site = filters.NumberFilter(field_name="site_id")
    vendor = filters.NumberFilter(field_name="site__vendor_id")
    since = filters.DateFilter(field_name="end", lookup_expr="gte", help_text="Periods ending on or after.")

    class Meta:
        model = PerformanceRecord
        fields = []


class CanViewPerformance(IsAuthenticated):
    """Reading supplier performance: quality assurance, auditors, managers and procurement leads."""

    message = "Supplier performance is for quality assurance, auditors, managers and procurement."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and selectors.can_view(request.user)


IMPORT_RESULT = inline_serializer(
    "PerformanceImportResult", {"created": serializers.IntegerField(), "updated": serializers.IntegerField()}
)
IMPORT_ERRORS = inline_serializer(
    "PerformanceImportErrors",
    {
        "errors": inline_serializer(
            "PerformanceImportRowError",
            {
                "row": serializers.IntegerField(help_text="Row number as in the spreadsheet (1 = header)."),
                "column": serializers.CharField(),
                "message": serializers.CharField(),
            },
            many=True,
            required=False,
            help_text="The rows with errors (nothing was imported).",
        ),
        "file": serializers.ListField(
            child=serializers.CharField(), required=False, help_text="Why the file as a whole cannot be read."
        ),
    },
)


class PerformanceRecordViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Performance of a site in one period (quarterly by default) and its computed scorecard."""

    serializer_class = PerformanceRecordSerializer
    permission_classes = [CanViewPerformance]
    filterset_class = RecordFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.records().select_related("scorecard__site__vendor").order_by("-end", "pk")

    def _save(self, serializer, record=None):
        data = dict(serializer.validated_data)
        site = data.pop("site", None) or record.site
        if record is not None:
            for name in ("start", "end", "note", *kpis.COUNT_FIELDS):
                data.setdefault(name, getattr(record, name))
        return performance.performance_save(user=self.request.user, site=site, record=record, **data)

    def create(self, request, *args, **kwargs):
        if not performance.can_enter(request.user):
            raise PermissionDenied("Only quality assurance and auditors enter supplier performance.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = self._save(serializer)
        return Response(self.get_serializer(self.get_queryset().get(pk=record.pk)).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        record = self.get_object()
        if not request.user.has_perm("oversight.change_performancerecord"):
            raise PermissionDenied("Only quality assurance and auditors correct supplier performance.")
        serializer = self.get_serializer(record, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        self._save(serializer, record)
        return Response(self.get_serializer(self.get_queryset().get(pk=record.pk)).data)

    @extend_schema(
        request={"multipart/form-data": inline_serializer("PerformanceImport", {"file": serializers.FileField()})},
        responses={
            201: IMPORT_RESULT,
            400: OpenApiResponse(
                IMPORT_ERRORS, description="Rows with errors, or a file that cannot be read: nothing imported."
            ),
        },
        description="CSV or XLSX with the columns " + ", ".join(performance.IMPORT_COLUMNS) + ". Every row is "
        "checked first; any error and nothing is written (the errors name the spreadsheet row and column). A row "
        "for a period already recorded (same site, start and end) corrects it.",
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[parsers.MultiPartParser])
    def import_file(self, request):
        if not performance.can_enter(request.user):
            raise PermissionDenied("Only quality assurance and auditors import supplier performance.")
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": ["Upload a .csv or .xlsx file."]})
        outcome = performance.performance_import(user=request.user, data=upload.read(), filename=upload.name)
        if outcome.errors:
            return Response({"errors": outcome.errors}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"created": outcome.created, "updated": outcome.updated}, status=status.HTTP_201_CREATED)


class ScorecardFilter(filters.FilterSet):
    site = filters.NumberFilter(field_name="site_id")
    vendor = filters.NumberFilter(field_name="site__vendor_id")
    standing = filters.ChoiceFilter(choices=Standing.choices)
    latest = filters.BooleanFilter(method="filter_latest", help_text="true: only each site's latest scorecard.")

    class Meta:
        model = Scorecard
        fields = []

    def filter_latest(self, queryset, name, value):
        if not value:
            return queryset
        latest = Scorecard.objects.order_by("site_id", "-period_end").distinct("site_id").values("pk")
        return queryset.filter(pk__in=latest)


class ScorecardViewSet(viewsets.ReadOnlyModelViewSet):
    """Computed scorecards: KPI values with formulas and worked figures, scores, flags and the standing with
    its reasons. Newest period first."""

    serializer_class = ScorecardSerializer
    permission_classes = [CanViewPerformance]
    filterset_class = ScorecardFilter

    def get_queryset(self):
        return Scorecard.objects.select_related("site__vendor").order_by("-period_end", "site_id")


class KpiSettingSerializer(serializers.ModelSerializer):
    kpi = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()
    formula = serializers.SerializerMethodField()
    unit = serializers.SerializerMethodField()
    higher_is_better = serializers.SerializerMethodField()
    updated_by = serializers.CharField(source="updated_by.username", read_only=True, allow_null=True)
    reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500)
    severity = serializers.CharField(required=False, help_text="Severity of the flag: warning or critical.")

    class Meta:
        model = KpiSetting
        fields = [
            "kpi",
            "name",
            "formula",
            "unit",
            "higher_is_better",
            "weight",
            "scores_1_at",
            "scores_5_at",
            "threshold",
            "severity",
            "reason",
            "updated_by",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]

    def get_name(self, setting) -> str:
        return kpis.KPI_BY_CODE[setting.kpi].name

    def get_formula(self, setting) -> str:
        return kpis.KPI_BY_CODE[setting.kpi].formula

    def get_unit(self, setting) -> str:
        return kpis.KPI_BY_CODE[setting.kpi].unit

    def get_higher_is_better(self, setting) -> bool:
        return kpis.KPI_BY_CODE[setting.kpi].higher_is_better


class KpiSettingViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """Each KPI's weight, 1-5 scale and flag threshold (QA edits them; every scorecard is recomputed)."""

    serializer_class = KpiSettingSerializer
    permission_classes = [CanViewPerformance]
    lookup_field = "kpi"
    lookup_value_regex = "[a-z_]+"
    pagination_class = None
    filter_backends: list = []
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return KpiSetting.objects.filter(kpi__in=kpis.KPI_BY_CODE).select_related("updated_by").order_by("pk")

    def update(self, request, *args, **kwargs):
        setting = self.get_object()
        if not performance.can_configure(request.user):
            raise PermissionDenied("Only quality assurance edits KPI settings.")
        serializer = self.get_serializer(setting, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values = {
            name: serializer.validated_data.get(name, getattr(setting, name))
            for name in ("weight", "scores_1_at", "scores_5_at", "threshold", "severity")
        }
        updated = performance.kpi_setting_update(
            user=request.user, kpi=setting.kpi, reason=serializer.validated_data.get("reason", ""), **values
        )
        return Response(self.get_serializer(updated).data)


STANDING_HELP = "One of " + ", ".join(kpis.STANDINGS) + "."


class BandSerializer(serializers.Serializer):
    standing = serializers.CharField(help_text=STANDING_HELP)
    min_score = serializers.DecimalField(max_digits=4, decimal_places=2, coerce_to_string=False)
    max_score = serializers.DecimalField(max_digits=4, decimal_places=2, coerce_to_string=False)


class CapSerializer(serializers.Serializer):
    condition = serializers.ChoiceField(choices=list(kpis.CONDITIONS))
    at_least = serializers.IntegerField(min_value=1, max_value=1000)
    standing = serializers.CharField(help_text="At most this standing. " + STANDING_HELP)


class StandingRulesSerializer(serializers.ModelSerializer):
    bands = BandSerializer(many=True, help_text="Score bands covering 1-5 without gap or overlap (min inclusive).")
    caps = CapSerializer(
        many=True, required=False, help_text="Caps: with at_least of the condition, at most the standing."
    )
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = StandingRules
        fields = ["version", "bands", "caps", "note", "created_by", "created_at"]
        read_only_fields = ["version", "created_at"]


class StandingRulesViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """The versions of the standing rules, newest (in force) first; POST puts a new version in force."""

    serializer_class = StandingRulesSerializer
    permission_classes = [CanViewPerformance]
    lookup_field = "version"
    lookup_value_regex = "[0-9]+"
    filter_backends: list = []

    def get_queryset(self):
        return StandingRules.objects.select_related("created_by").order_by("-version")

    @extend_schema(responses={201: StandingRulesSerializer, 400: VALIDATION_ERROR})
    def create(self, request, *args, **kwargs):
        if not performance.can_configure(request.user):
            raise PermissionDenied("Only quality assurance edits the standing rules.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rules = performance.standing_rules_save(
            user=request.user,
            bands=[
                {**band, "min_score": float(band["min_score"]), "max_score": float(band["max_score"])}
                for band in data["bands"]
            ],
            caps=[dict(cap) for cap in data.get("caps", [])],
            note=data.get("note", ""),
        )
        return Response(self.get_serializer(rules).data, status=status.HTTP_201_CREATED)


def register_routes(router) -> None:
    router.register("performance-records", PerformanceRecordViewSet, basename="performance-record")
    router.register("scorecards", ScorecardViewSet, basename="scorecard")
    router.register("kpi-settings", KpiSettingViewSet, basename="kpi-setting")
    router.register("standing-rules", StandingRulesViewSet, basename="standing-rules")
