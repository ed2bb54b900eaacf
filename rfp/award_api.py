"""REST API of awards: /api/v1/awards/ (list, detail, propose, submit, decide, the notices and their
PDFs). Registered by rfp.api.register_routes; every write is a call of rfp.awards."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from core.openapi import FIELD_ERRORS, VALIDATION_ERROR
from core.storage import open_or_404
from rfp import access, awards
from rfp.models import Award, AwardLine, AwardNotice, Rfp
from scoring.api import SignatureManifestSerializer  # the same manifest as a shortlist's

DETAIL = inline_serializer("AwardRefusal", {"detail": serializers.CharField()})


class AwardLineSerializer(serializers.ModelSerializer):
    vendor = serializers.CharField(source="candidate.vendor.name", read_only=True)

    class Meta:
        model = AwardLine
        fields = ["candidate", "vendor", "step", "scope"]


class AwardedInputSerializer(serializers.Serializer):
    candidate = serializers.IntegerField(help_text="A candidate of the RFP's approved shortlist.")
    scope = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    step = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="A program step id.")


class AwardProposeSerializer(serializers.Serializer):
    rfp = serializers.PrimaryKeyRelatedField(queryset=Rfp.objects.all())
    awarded = AwardedInputSerializer(many=True, allow_empty=True)
    rationale = serializers.CharField(allow_blank=True, max_length=20000)
    required_approvals = serializers.IntegerField(required=False, allow_null=True, default=None)


class AwardNoticeSerializer(serializers.ModelSerializer):
    vendor = serializers.CharField(source="candidate.vendor.name", read_only=True)

    class Meta:
        model = AwardNotice
        fields = [
            "id",
            "candidate",
            "vendor",
            "kind",
            "status",
            "attempts",
            "error",
            "pdf_pages",
            "sha256",
            "created_at",
            "finished_at",
            "emailed_at",
            "emailed_to",
        ]


class AwardSerializer(serializers.ModelSerializer):
    lines = AwardLineSerializer(many=True, read_only=True)
    proposed_by = serializers.CharField(source="proposed_by.printed_name", read_only=True)

    class Meta:
        model = Award
        fields = [
            "id",
            "rfp",
            "version",
            "status",
            "rationale",
            "required_approvals",
            "proposed_by",
            "lines",
            "created_at",
            "submitted_at",
            "decided_at",
            "snapshot_hash",
        ]


class AwardDetailSerializer(AwardSerializer):
    snapshot = serializers.JSONField(read_only=True)
    signatures = serializers.SerializerMethodField()
    notices = serializers.SerializerMethodField()
    snapshot_intact = serializers.SerializerMethodField()

    class Meta(AwardSerializer.Meta):
        fields = [*AwardSerializer.Meta.fields, "snapshot", "snapshot_intact", "signatures", "notices"]

    @extend_schema_field(SignatureManifestSerializer(many=True))
    def get_signatures(self, award) -> list[dict]:
        return SignatureManifestSerializer(awards.manifest(award), many=True).data

    @extend_schema_field(AwardNoticeSerializer(many=True))
    def get_notices(self, award) -> list[dict]:
        return AwardNoticeSerializer(awards.notices_progress(award)["notices"], many=True).data

    def get_snapshot_intact(self, award) -> bool:
        return awards.snapshot_intact(award)


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject", "return"])
    password = serializers.CharField(write_only=True, style={"input_type": "password"}, allow_blank=True)
    snapshot_hash = serializers.CharField(help_text="The snapshot_hash you reviewed.", allow_blank=True)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class AwardViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Award.objects.none()
    serializer_class = AwardSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Award.objects.none()
        awards_seen = Award.objects.filter(rfp__in=access.visible_rfps(self.request.user))
        rfp = self.request.query_params.get("rfp")
        if rfp is not None:
            awards_seen = awards_seen.filter(
                rfp_id=int(rfp) if rfp.isascii() and rfp.isdecimal() and len(rfp) < 19 else 0
            )
        return (
            awards_seen.select_related("proposed_by", "rfp")
            .prefetch_related("lines__candidate__vendor")
            .order_by("-created_at", "-pk")
        )

    @extend_schema(parameters=[OpenApiParameter("rfp", int, description="Only the awards of this RFP.")])
    def list(self, request, *args, **kwargs):
        """The award versions of the RFPs you see, newest first."""
        return super().list(request, *args, **kwargs)

    def get_serializer_class(self):
        return AwardDetailSerializer if self.action == "retrieve" else AwardSerializer

    @extend_schema(
        request=AwardProposeSerializer,
        responses={201: AwardSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 404: DETAIL, 409: DETAIL},
    )
    def create(self, request, *args, **kwargs):
        """Propose (or change the open draft of) the award of an RFP: the evaluation's lead only."""
        if not request.user.has_perm("rfp.add_rfp"):
            raise PermissionDenied("Only procurement leads propose awards.")
        serializer = AwardProposeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rfp = access.visible_rfps(request.user).filter(pk=data["rfp"].pk).first()
        if rfp is None:
            raise NotFound("No such RFP, or it is not shared with you.")
        award = awards.award_propose(
            rfp=rfp,
            user=request.user,
            awarded=[dict(item) for item in data["awarded"]],
            rationale=data["rationale"],
            required_approvals=data.get("required_approvals"),
        )
        return Response(AwardSerializer(award).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: AwardDetailSerializer, 400: FIELD_ERRORS, 403: DETAIL, 409: DETAIL})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Freeze the snapshot and its SHA-256, and ask the approvers."""
        award = self.get_object()
        if not access.can_manage(request.user, award.rfp.shortlist):
            raise PermissionDenied("Only the evaluation's lead submits the award.")
        return Response(AwardDetailSerializer(awards.award_submit(award=award, user=request.user)).data)

    @extend_schema(
        request=DecideSerializer, responses={200: AwardDetailSerializer, 400: FIELD_ERRORS, 403: DETAIL, 409: DETAIL}
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """A manager's (or quality assurance's) signed decision, re-entering the password."""
        award = self.get_object()
        if not request.user.has_perm(awards.DECIDE_PERMISSION):
            raise PermissionDenied("Only managers and quality assurance approve, reject or return awards.")
        serializer = DecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        decided = awards.award_decide(
            request=request._request,
            award=award,
            user=request.user,
            decision=data["decision"],
            password=data["password"],
            seen_hash=data["snapshot_hash"],
            comment=data.get("comment", ""),
        )
        return Response(AwardDetailSerializer(decided).data)

    @extend_schema(responses={200: AwardNoticeSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def notices(self, request, pk=None):
        """The notices of an approved award, with their progress (queued, rendering, generated, e-mailed)."""
        return Response(AwardNoticeSerializer(awards.notices_progress(self.get_object())["notices"], many=True).data)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: DETAIL})
    @action(detail=True, methods=["get"], url_path=r"notices/(?P<notice_id>\d+)/pdf")
    def notice_pdf(self, request, pk=None, notice_id=None):
        award = self.get_object()
        notice = award.notices.filter(pk=notice_id, status=AwardNotice.Status.DONE).first()
        if notice is None:
            raise NotFound("No such generated notice.")
        name = f"{award.rfp.reference}-{notice.kind}-notice-{notice.candidate_id}.pdf"
        response = FileResponse(open_or_404(notice.pdf), as_attachment=True, filename=name)
        response["Content-Type"] = "application/pdf"
        return response
