"""REST API of audits: /api/v1/audits (with findings and transitions) and /api/v1/capas."""

import django_filters as filters
from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from audits import access, selectors, services
from audits.forms import OUTCOME_HELP
from audits.models import AREAS, OUTCOMES, SEVERITY_HELP, Audit, AuditAmendment, Capa, Finding
from audits.selectors import REPORT_PARTS
from core.errors import request_object
from core.openapi import VALIDATION_ERROR
from vendors.models import Service, Site

DETAIL = inline_serializer("AuditRefusal", {"detail": serializers.CharField()})


class EvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    size = serializers.IntegerField()
    url = serializers.CharField(source="get_absolute_url", help_text="Download (always as an attachment).")


class CapaSerializer(serializers.ModelSerializer):
    overdue = serializers.BooleanField(source="is_overdue", read_only=True)
    verified_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Username of who verified the CAPA."
    )
    verification_note = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Required with status “verified”: how effectiveness was verified (at least 20 characters).",
    )
    verification_evidence = EvidenceSerializer(read_only=True, allow_null=True)
    verification_evidence_file = serializers.FileField(
        write_only=True,
        required=False,
        help_text="Optional with status “verified” (multipart): the file that shows the CAPA effective; validated "
        "like finding attachments (PDF, PNG, JPEG, DOCX, XLSX, CSV, TXT; up to 20 MB).",
    )
    confirm_past_due_date = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Must be true to move the due date into the past (the CAPA is then overdue at once).",
    )

    class Meta:
        model = Capa
        fields = [
            "id",
            "finding",
            "vendor_response",
            "owner",
            "due_date",
            "status",
            "completed_on",
            "overdue",
            "verified_by",
            "verified_at",
            "verification_note",
            "verification_evidence",
            "verification_evidence_file",
            "confirm_past_due_date",
            "updated_at",
        ]
        read_only_fields = ["finding", "verified_at", "updated_at"]


class FindingSerializer(serializers.ModelSerializer):
    capa = CapaSerializer(read_only=True, allow_null=True)  # none when no CAPA is required

    class Meta:
        model = Finding
        fields = [
            "id",
            "number",
            "severity",
            "area",
            "regulation_reference",
            "description",
            "capa_required",
            "capa",
            "created_at",
        ]


class FindingInputSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Finding.Severity.choices, help_text=SEVERITY_HELP)
    area = serializers.ChoiceField(choices=AREAS)
    description = serializers.CharField()
    regulation_reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    capa_required = serializers.BooleanField(default=True)
    capa_due_date = serializers.DateField(required=False, allow_null=True, default=None)
    capa_owner = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    confirm_past_due_date = serializers.BooleanField(
        default=False, help_text="Must be true when the CAPA due date is in the past (the CAPA is overdue at once)."
    )


class OutcomeRecordSerializer(serializers.Serializer):
    """One signed qualification outcome in the audit's history (oldest first; the last is current)."""

    id = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=OUTCOMES)
    activities = serializers.ListField(
        child=serializers.CharField(), help_text="Codes of the activities (services); empty: the whole site."
    )
    note = serializers.CharField(help_text="Conditions or remarks.")
    reason = serializers.CharField(help_text="Why it supersedes the previous outcome (empty for the first).")
    supersedes = serializers.IntegerField(allow_null=True)
    current = serializers.BooleanField()
    printed_name = serializers.CharField(help_text="The QA signer's printed name.")
    username = serializers.CharField()
    meaning = serializers.CharField(help_text="“Approved for quality” or “Rejected”.")
    signed_at = serializers.DateTimeField()
    valid = serializers.BooleanField(help_text="Whether the signature still verifies against the record.")


class OutcomeInputSerializer(serializers.Serializer):
    """Quality assurance's decision on a signed audit report, signed by re-entering the password."""

    outcome = serializers.ChoiceField(choices=OUTCOMES, help_text=OUTCOME_HELP)
    activities = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Service.objects.all(),
        many=True,
        required=False,
        help_text="Codes of the activities (services) the outcome applies to; none: the whole site.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", help_text="Conditions or remarks.")
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when an outcome was signed before: why this one supersedes it.",
    )
    password = serializers.CharField(help_text="The signer's password, re-entered for the electronic signature.")


class ReportInputSerializer(serializers.Serializer):
    """The report the lead auditor writes before signing; send only what changes."""

    scope_description = serializers.CharField(required=False, allow_blank=True, help_text="Scope statement.")
    summary = serializers.CharField(required=False, allow_blank=True, help_text="Executive summary.")
    attendees_sponsor = serializers.CharField(required=False, allow_blank=True, help_text="One per line.")
    attendees_vendor = serializers.CharField(required=False, allow_blank=True, help_text="One per line.")
    distribution = serializers.CharField(required=False, allow_blank=True, help_text="One recipient per line.")
    recommended_outcome = serializers.ChoiceField(
        choices=OUTCOMES, required=False, allow_blank=True, help_text="Required before the report is signed."
    )
    recommendation_conditions = serializers.CharField(
        required=False, allow_blank=True, help_text="Required with approved_with_conditions; empty otherwise."
    )
    confirm_open_capas = serializers.BooleanField(
        default=False,
        help_text="Must be true to recommend “approved” while a critical or major finding's CAPA is open.",
    )


class AuditSerializer(serializers.ModelSerializer):
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all())
    reference = serializers.CharField(read_only=True, help_text="AUD-<year>-<number>, as on the report.")
    lead_auditor = serializers.CharField(source="lead_auditor.username", read_only=True)
    scope = serializers.ListField(child=serializers.ChoiceField(choices=AREAS), required=False)
    outcome = serializers.ChoiceField(source="current_outcome", choices=OUTCOMES, allow_blank=True, read_only=True)
    recommended_outcome = serializers.ChoiceField(
        choices=OUTCOMES,
        allow_blank=True,
        read_only=True,
        help_text="The audit team's recommendation; empty until written.",
    )
    findings = FindingSerializer(many=True, read_only=True)
    signatures = serializers.SerializerMethodField()
    amendments = serializers.SerializerMethodField()
    outcomes = serializers.SerializerMethodField()

    def get_signatures(self, audit) -> list[dict]:
        return selectors.signature_manifest(audit)

    @extend_schema_field(OutcomeRecordSerializer(many=True))
    def get_outcomes(self, audit) -> list[dict]:
        return [
            {key: value for key, value in entry.items() if key in OutcomeRecordSerializer().fields}
            for entry in services.outcome_history(audit)
        ]

    def get_amendments(self, audit) -> list[dict]:
        return [
            {
                "reason": a.reason,
                "text": a.text,
                "outcome": a.outcome,
                "author": a.author.username,
                "created_at": a.created_at,
            }
            for a in audit.amendments.all()
        ]

    class Meta:
        model = Audit
        fields = [
            "id",
            "reference",
            "site",
            "type",
            "planned_start",
            "planned_end",
            "actual_start",
            "actual_end",
            "lead_auditor",
            "co_auditors",
            "scope",
            "agenda",
            *REPORT_PARTS,
            "status",
            "outcome",
            "findings",
            "signatures",
            "amendments",
            "outcomes",
            "created_at",
        ]
        read_only_fields = [
            "actual_start",
            "actual_end",
            "status",
            "outcome",
            "created_at",
            *REPORT_PARTS,  # written through POST /audits/{id}/report/ by the lead auditor (locked once signed)
        ]


class CapaFilter(filters.FilterSet):
    overdue = filters.BooleanFilter(method="filter_overdue")
    severity = filters.MultipleChoiceFilter(field_name="finding__severity", choices=Finding.Severity.choices)
    area = filters.MultipleChoiceFilter(field_name="finding__area", choices=AREAS)
    vendor = filters.NumberFilter(field_name="finding__audit__site__vendor_id")
    status = filters.MultipleChoiceFilter(choices=Capa.Status.choices)

    class Meta:
        model = Capa
        fields = []

    def filter_overdue(self, queryset, name, value):
        late = {"due_date__lt": timezone.localdate()}
        open_ = queryset.exclude(status__in=Capa.DONE)
        return open_.filter(**late) if value else queryset.exclude(pk__in=open_.filter(**late).values("pk"))


class AuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditSerializer
    filter_backends = []
    # Who may write through each action, checked before the request body is looked at.
    WRITERS = {
        "transition": "lead",
        "outcome": "qa",
        "sign": "lead",
        "report": "lead",
        "amendments": "lead",
        "findings": "auditors",
    }
    WHO = {
        "lead": "the lead auditor",
        "auditors": "the audit's auditors",
        "qa": "quality assurance, outside the audit team,",
    }

    def get_object(self):
        audit = super().get_object()
        who = self.WRITERS.get(self.action)
        if who and self.request.method not in SAFE_METHODS and not access.may_act(self.request.user, audit, who):
            raise PermissionDenied(f"Only {self.WHO[who]} can do this.")
        return audit

    def get_queryset(self):
        return (
            access.visible_audits(self.request.user)
            .select_related("lead_auditor", "site")
            .prefetch_related(
                "co_auditors",
                "findings__capa__verified_by",
                Prefetch("amendments", queryset=AuditAmendment.objects.select_related("author")),
                services.outcomes_prefetch(),
            )
            .order_by("-planned_start", "-pk")
        )

    def create(self, request, *args, **kwargs):
        if not access.can_plan(request.user):
            raise PermissionDenied("Only auditors plan audits.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        audit = services.audit_create(
            user=request.user,
            site=data["site"],
            type=data["type"],
            planned_start=data["planned_start"],
            planned_end=data["planned_end"],
            co_auditors=data.get("co_auditors", []),
            scope=data.get("scope", []),
            agenda=data.get("agenda", ""),
        )
        return Response(AuditSerializer(audit).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=inline_serializer(
            "AuditTransition", {"action": serializers.ChoiceField(choices=list(services.ACTIONS))}
        ),
        responses={200: AuditSerializer, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        audit = self.get_object()
        action = str(request_object(request).get("action", ""))
        return Response(AuditSerializer(services.audit_transition(audit=audit, user=request.user, action=action)).data)

    @extend_schema(
        summary="Sign the qualification outcome (quality assurance)",
        description="After the lead auditor has signed the report (409 before), quality assurance, outside the "
        "audit team (403 otherwise), signs the site's qualification outcome by re-entering the password. The "
        "signature's meaning is “Approved for quality” (approved, approved with conditions) or “Rejected” (not "
        "approved). Outcomes are append-only: a new one supersedes the latest and needs a `reason`. The site's "
        "qualification and the approved-supplier list (one row per activity named, or the whole site) follow it; "
        "the vendor's register status does not.",
        request=OutcomeInputSerializer,
        responses={200: AuditSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        audit = self.get_object()
        data = OutcomeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.outcome_sign(request=request._request, audit=audit, user=request.user, **data.validated_data)
        return Response(AuditSerializer(self.get_queryset().get(pk=audit.pk)).data)

    @extend_schema(
        summary="Write the report (lead auditor, before signing)",
        description="Scope statement, executive summary, attendees (sponsor and vendor side), distribution list "
        "and the recommended outcome (with its conditions when conditional); send only what changes. Recommending "
        "“approved” while a critical or major finding's CAPA is open needs `confirm_open_capas: true` (400 naming "
        "it otherwise). 409 once the report is signed: corrections are amendments.",
        request=ReportInputSerializer,
        responses={200: AuditSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def report(self, request, pk=None):
        audit = self.get_object()
        data = ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = {key: value for key, value in data.validated_data.items() if key in request_object(request)}
        changes.pop("confirm_open_capas", None)
        services.report_update(
            audit=audit,
            user=request.user,
            confirm_open_capas=data.validated_data["confirm_open_capas"],
            **changes,
        )
        return Response(AuditSerializer(self.get_queryset().get(pk=audit.pk)).data)

    @extend_schema(
        summary="Sign the report (lead auditor)",
        description="The lead auditor signs the drafted report by re-entering the password. The report needs its "
        "recommended outcome first (409 otherwise); a recommendation of “approved” while a critical or major CAPA "
        "is open is signed only with `confirm_open_capas: true` (400 naming it otherwise).",
        request=inline_serializer(
            "AuditSignature",
            {"password": serializers.CharField(), "confirm_open_capas": serializers.BooleanField(required=False)},
        ),
        responses={200: AuditSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        audit = self.get_object()
        body = request_object(request)
        services.audit_sign(
            request=request._request,
            audit=audit,
            user=request.user,
            password=str(body.get("password", "")),
            confirm_open_capas=body.get("confirm_open_capas") is True,
        )
        return Response(AuditSerializer(self.get_queryset().get(pk=audit.pk)).data)

    @extend_schema(
        request=inline_serializer(
            "AuditAmendmentInput",
            {
                "reason": serializers.CharField(),
                "text": serializers.CharField(),
            },
        ),
        responses={201: None, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def amendments(self, request, pk=None):
        audit = self.get_object()
        body = request_object(request)
        if body.get("outcome"):
            raise ValidationError(
                {"outcome": ["The qualification outcome is not amended: quality assurance signs a new outcome."]}
            )
        amendment = services.amendment_add(
            audit=audit, user=request.user, reason=str(body.get("reason", "")), text=str(body.get("text", ""))
        )
        return Response(
            {
                "id": amendment.pk,
                "reason": amendment.reason,
                "text": amendment.text,
                "outcome": amendment.outcome,
                "created_at": amendment.created_at,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=FindingInputSerializer,
        responses={201: FindingSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def findings(self, request, pk=None):
        audit = self.get_object()
        data = FindingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        finding = services.finding_add(audit=audit, user=request.user, **data.validated_data)
        return Response(FindingSerializer(finding).data, status=status.HTTP_201_CREATED)


class CapaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = CapaSerializer
    filterset_class = CapaFilter
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return (
            access.visible_capas(self.request.user)
            .select_related("verified_by", "verification_evidence", "finding__audit__site__vendor")
            .order_by("due_date", "pk")
        )

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        services.capa_update(
            capa=serializer.instance,
            user=self.request.user,
            confirm_past_due_date=changes.pop("confirm_past_due_date", False),
            evidence=changes.pop("verification_evidence_file", None),
            **changes,
        )


def register_routes(router) -> None:
    router.register("audits", AuditViewSet, basename="audit")
    router.register("capas", CapaViewSet, basename="capa")
