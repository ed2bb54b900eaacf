"""REST API of audits: /api/v1/audits (with findings and transitions) and /api/v1/capas."""

import django_filters as filters
from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from audits import access, selectors, services
from audits.models import AREAS, OUTCOMES, Audit, AuditAmendment, Capa, Finding
from core.errors import request_object
from core.openapi import VALIDATION_ERROR
from vendors.models import Site

DETAIL = inline_serializer("AuditRefusal", {"detail": serializers.CharField()})


class CapaSerializer(serializers.ModelSerializer):
    overdue = serializers.BooleanField(source="is_overdue", read_only=True)
    verified_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Username of who verified the CAPA."
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
    severity = serializers.ChoiceField(choices=Finding.Severity.choices)
    area = serializers.ChoiceField(choices=AREAS)
    description = serializers.CharField()
    regulation_reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    capa_required = serializers.BooleanField(default=True)
    capa_due_date = serializers.DateField(required=False, allow_null=True, default=None)
    capa_owner = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class AuditSerializer(serializers.ModelSerializer):
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all())
    lead_auditor = serializers.CharField(source="lead_auditor.username", read_only=True)
    scope = serializers.ListField(child=serializers.ChoiceField(choices=AREAS), required=False)
    outcome = serializers.ChoiceField(source="current_outcome", choices=OUTCOMES, allow_blank=True, read_only=True)
    findings = FindingSerializer(many=True, read_only=True)
    signatures = serializers.SerializerMethodField()
    amendments = serializers.SerializerMethodField()

    def get_signatures(self, audit) -> list[dict]:
        return selectors.signature_manifest(audit)

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
            "status",
            "outcome",
            "findings",
            "signatures",
            "amendments",
            "created_at",
        ]
        read_only_fields = ["actual_start", "actual_end", "status", "outcome", "created_at"]


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
    WRITERS = {"transition": "lead", "outcome": "lead", "sign": "lead", "amendments": "lead", "findings": "auditors"}
    WHO = {"lead": "the lead auditor", "auditors": "the audit's auditors"}

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
        request=inline_serializer("AuditOutcome", {"outcome": serializers.ChoiceField(choices=OUTCOMES)}),
        responses={200: AuditSerializer, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        audit = self.get_object()
        outcome = str(request_object(request).get("outcome", ""))
        return Response(
            AuditSerializer(services.audit_record_outcome(audit=audit, user=request.user, outcome=outcome)).data
        )

    @extend_schema(
        request=inline_serializer("AuditSignature", {"password": serializers.CharField()}),
        responses={200: AuditSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        audit = self.get_object()
        services.audit_sign(
            request=request._request,
            audit=audit,
            user=request.user,
            password=str(request_object(request).get("password", "")),
        )
        return Response(AuditSerializer(self.get_queryset().get(pk=audit.pk)).data)

    @extend_schema(
        request=inline_serializer(
            "AuditAmendmentInput",
            {
                "reason": serializers.CharField(),
                "text": serializers.CharField(),
                "outcome": serializers.ChoiceField(choices=OUTCOMES, required=False, help_text="A changed outcome."),
            },
        ),
        responses={201: None, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def amendments(self, request, pk=None):
        audit = self.get_object()
        body = request_object(request)
        amendment = services.amendment_add(
            audit=audit,
            user=request.user,
            reason=str(body.get("reason", "")),
            text=str(body.get("text", "")),
            outcome=str(body.get("outcome", "") or ""),
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
            .select_related("verified_by", "finding__audit__site__vendor")
            .order_by("due_date", "pk")
        )

    def perform_update(self, serializer):
        services.capa_update(capa=serializer.instance, user=self.request.user, **serializer.validated_data)


def register_routes(router) -> None:
    router.register("audits", AuditViewSet, basename="audit")
    router.register("capas", CapaViewSet, basename="capa")
