"""REST API of quality agreements (/api/v1/quality-agreements), risk assessments (/api/v1/risk-assessments)
and the risk matrix (/api/v1/risk-matrices). Thin callers of oversight.agreements and
oversight.requalification; QA writes and signs, managers, procurement leads and auditors read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from core.openapi import VALIDATION_ERROR
from oversight import agreements, defaults, qa_access, requalification
from oversight.models_qa import AgreementLine, QualityAgreement, RiskAssessment, RiskMatrix, VendorSignature
from vendors.models import Service, Site

DETAIL = inline_serializer("OversightRefusal", {"detail": serializers.CharField()})


class CanReadQuality(BasePermission):
    """Reading: QA, managers, procurement leads, auditors; every write is the service's to refuse (QA only)."""

    message = "Quality agreements and site risk are read by QA, managers, procurement leads and auditors."

    def has_permission(self, request, view) -> bool:
        return qa_access.can_read(request.user)


class LineSerializer(serializers.ModelSerializer):
    section = serializers.ChoiceField(choices=defaults.SECTIONS)
    owner = serializers.ChoiceField(
        choices=AgreementLine._meta.get_field("owner").choices, allow_blank=True, help_text="sponsor, vendor or both"
    )

    class Meta:
        model = AgreementLine
        fields = ["section", "text", "owner"]


class VendorSignatureSerializer(serializers.ModelSerializer):
    class Meta:
        model = VendorSignature
        fields = ["via", "signer_name", "signer_title", "signed_at", "ip_address", "document_sha256", "agreement_hash"]


class AgreementSignatureSerializer(serializers.Serializer):
    printed_name = serializers.CharField()
    signed_at = serializers.DateTimeField()
    meaning = serializers.CharField()
    record_hash = serializers.CharField()
    valid = serializers.BooleanField()


class AgreementSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    vendor = serializers.IntegerField(source="site.vendor_id", read_only=True)
    activity = serializers.SlugRelatedField(slug_field="code", queryset=Service.objects.all())
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all())
    vendor_signature = serializers.SerializerMethodField()
    # Plain text, not an enum: "status" enums of other records would collide in the schema's names.
    status = serializers.CharField(read_only=True, help_text="draft, sponsor_signed, effective or superseded")

    class Meta:
        model = QualityAgreement
        fields = [
            "id",
            "reference",
            "site",
            "vendor",
            "activity",
            "version",
            "partner_kind",
            "status",
            "change_notice_days",
            "review_due",
            "effective_on",
            "sponsor_signed_at",
            "vendor_signature",
            "created_at",
        ]
        read_only_fields = ["version", "status", "effective_on", "sponsor_signed_at", "created_at"]
        validators: list = []  # the service decides (one version in the works, no second version 1)
        extra_kwargs = {
            "partner_kind": {"required": False},
            "change_notice_days": {"required": False},
            "review_due": {"required": False},
        }

    @extend_schema_field(VendorSignatureSerializer(allow_null=True))
    def get_vendor_signature(self, agreement):
        signature = getattr(agreement, "vendor_signature", None)
        return VendorSignatureSerializer(signature).data if signature else None


class AgreementDetailSerializer(AgreementSerializer):
    lines = serializers.SerializerMethodField()
    signatures = serializers.SerializerMethodField()

    class Meta(AgreementSerializer.Meta):
        fields = [*AgreementSerializer.Meta.fields, "lines", "signatures"]

    @extend_schema_field(LineSerializer(many=True))
    def get_lines(self, agreement):
        return LineSerializer(agreement.lines.all(), many=True).data

    @extend_schema_field(AgreementSignatureSerializer(many=True))
    def get_signatures(self, agreement):
        return AgreementSignatureSerializer(agreements.manifest(agreement), many=True).data


class LinesInputSerializer(serializers.Serializer):
    lines = serializers.ListField(child=serializers.DictField(), help_text="[{section, text, owner}], the whole matrix")
    review_due = serializers.DateField()
    change_notice_days = serializers.IntegerField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class SignInputSerializer(serializers.Serializer):
    password = serializers.CharField(style={"input_type": "password"})


class VendorCopyInputSerializer(serializers.Serializer):
    upload = serializers.FileField(allow_empty_file=True)
    signer_name = serializers.CharField(max_length=200)
    signer_title = serializers.CharField(max_length=200)
    signed_on = serializers.DateField()


class AgreementViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Quality agreements, newest versions first; `?site=`, `?status=` filter."""

    permission_classes = [CanReadQuality]
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no user
            return QualityAgreement.objects.none()
        items = agreements.visible_agreements(self.request.user).order_by("site_id", "activity_id", "-version")
        if self.action == "retrieve":
            items = items.prefetch_related("lines", "signatures")
        site, state = self.request.query_params.get("site", ""), self.request.query_params.get("status", "")
        if site.isdigit():
            items = items.filter(site_id=int(site))
        if state in QualityAgreement.Status.values:
            items = items.filter(status=state)
        return items

    def get_serializer_class(self):
        return AgreementDetailSerializer if self.action == "retrieve" else AgreementSerializer

    def _detail(self, pk) -> Response:
        return Response(AgreementDetailSerializer(agreements.agreement_detail(self.request.user, pk)).data)

    @extend_schema(
        summary="Draft version 1 from the partner kind's template (QA)",
        responses={201: AgreementDetailSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    def create(self, request, *args, **kwargs):
        qa_access.require_write(request.user)
        serializer = AgreementSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        agreement = agreements.agreement_create(
            user=request.user,
            site=data["site"],
            activity=data["activity"],
            partner_kind=data.get("partner_kind", ""),
            review_due=data.get("review_due"),
            change_notice_days=data.get("change_notice_days"),
        )
        return Response(
            AgreementDetailSerializer(agreements.agreement_detail(request.user, agreement.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Replace the draft's responsibility matrix and terms (QA)",
        description="The whole matrix: a line without an owner refuses the save with the line named (400), "
        "nothing is saved. A signed version is locked (409): make a new version.",
        request=LinesInputSerializer,
        responses={200: AgreementDetailSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["put"])
    def lines(self, request, pk=None):
        agreement = self.get_object()
        qa_access.require_write(request.user)
        data = LinesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agreements.agreement_update(user=request.user, agreement=agreement, **data.validated_data)
        return self._detail(agreement.pk)

    @extend_schema(
        summary="Sign for quality (QA, password re-entry)",
        description="Meaning “Approved for quality”; the signature binds the snapshot of the terms and the matrix "
        "(SHA-256). Refused while a line has no owner or a section of the guidance has no responsibility.",
        request=SignInputSerializer,
        responses={200: AgreementDetailSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        agreement = self.get_object()
        qa_access.require_write(request.user)
        data = SignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agreements.agreement_sign(
            request=request._request, user=request.user, agreement=agreement, password=data.validated_data["password"]
        )
        return self._detail(agreement.pk)

    @extend_schema(
        summary="Start a new version from the signed one (QA)",
        request=None,
        responses={201: AgreementDetailSerializer, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"], url_path="new-version")
    def new_version(self, request, pk=None):
        agreement = self.get_object()
        draft = agreements.agreement_new_version(user=request.user, agreement=agreement)
        return Response(
            AgreementDetailSerializer(agreements.agreement_detail(request.user, draft.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Record the vendor-signed copy (QA; when the vendor has no supplier-portal access)",
        request={"multipart/form-data": VendorCopyInputSerializer},
        responses={200: AgreementDetailSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(
        detail=True, methods=["post"], url_path="vendor-copy", parser_classes=[MultiPartParser, FormParser, JSONParser]
    )
    def vendor_copy(self, request, pk=None):
        agreement = self.get_object()
        qa_access.require_write(request.user)
        data = VendorCopyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agreements.vendor_copy_record(user=request.user, agreement=agreement, **data.validated_data)
        return self._detail(agreement.pk)


class RiskAssessmentSerializer(serializers.ModelSerializer):
    matrix_version = serializers.IntegerField(source="matrix.version", read_only=True)

    class Meta:
        model = RiskAssessment
        fields = [
            "id",
            "site",
            "score",
            "band",
            "interval_months",
            "basis_date",
            "due",
            "previous_due",
            "factors",
            "reasons",
            "trigger",
            "matrix_version",
            "created_at",
        ]


class RiskAssessmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every change of a site's risk with its reasons, newest first; `?site=` filters."""

    serializer_class = RiskAssessmentSerializer
    permission_classes = [CanReadQuality]
    filter_backends: list = []

    def get_queryset(self):
        items = RiskAssessment.objects.select_related("matrix").order_by("-created_at", "-pk")
        site = self.request.query_params.get("site", "")
        return items.filter(site_id=int(site)) if site.isdigit() else items


class RiskBandSerializer(serializers.Serializer):
    low = serializers.IntegerField(min_value=0, max_value=100)
    high = serializers.IntegerField(min_value=0, max_value=100)
    months = serializers.IntegerField(help_text="Months to the next audit; at least 1.")
    label = serializers.CharField(max_length=60, required=False, allow_blank=True)


class RiskMatrixSerializer(serializers.ModelSerializer):
    bands = RiskBandSerializer(many=True, help_text="Bands covering scores 0-100 without gap or overlap.")
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = RiskMatrix
        fields = ["version", "bands", "note", "created_by", "created_at"]
        read_only_fields = ["version", "created_at"]


class RiskMatrixViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """The versions of the risk matrix, newest (in force) first; POST puts a new version in force (QA) and
    reassesses every approved site."""

    serializer_class = RiskMatrixSerializer
    permission_classes = [CanReadQuality]
    lookup_field = "version"
    lookup_value_regex = "[0-9]+"
    filter_backends: list = []

    def get_queryset(self):
        return RiskMatrix.objects.select_related("created_by").order_by("-version")

    @extend_schema(responses={201: RiskMatrixSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL})
    def create(self, request, *args, **kwargs):
        qa_access.require_write(request.user)
        serializer = RiskMatrixSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        matrix = requalification.matrix_save(
            user=request.user,
            bands=[dict(b) for b in serializer.validated_data["bands"]],
            note=serializer.validated_data.get("note", ""),
        )
        return Response(RiskMatrixSerializer(matrix).data, status=status.HTTP_201_CREATED)


def register_routes(router) -> None:
    router.register("quality-agreements", AgreementViewSet, basename="qualityagreement")
    router.register("risk-assessments", RiskAssessmentViewSet, basename="riskassessment")
    router.register("risk-matrices", RiskMatrixViewSet, basename="riskmatrix")
