"""REST API of RFPs: /api/v1/rfps/ (create, change, generate, poll packets, attachments, sendings,
proposals, questions) and /api/v1/rfp-templates/ (versions; POST makes the next version)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from core.errors import contains_nul
from core.openapi import FIELD_ERRORS, VALIDATION_ERROR
from rfp import access, services
from rfp.models import Delivery, Packet, Proposal, Question, Rfp, RfpAttachment, RfpTemplate
from scoring.models import Shortlist

DETAIL = inline_serializer("RfpRefusal", {"detail": serializers.CharField()})


class PacketSerializer(serializers.ModelSerializer):
    vendor = serializers.CharField(source="candidate.vendor.name", read_only=True)
    template = serializers.SerializerMethodField()

    class Meta:
        model = Packet
        fields = [
            "id",
            "vendor",
            "candidate",
            "version",
            "template",
            "status",
            "attempts",
            "error",
            "pdf_pages",
            "sha256",
            "inputs_hash",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_template(self, packet) -> str:
        return f"{packet.template.kind} v{packet.template.version}"


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    percent = serializers.IntegerField()
    running = serializers.BooleanField()
    packets = PacketSerializer(many=True)


class RfpSerializer(serializers.ModelSerializer):
    shortlist = serializers.PrimaryKeyRelatedField(queryset=Shortlist.objects.all())

    class Meta:
        model = Rfp
        fields = ["id", "shortlist", *services.FIELDS, "created_by", "created_at", "updated_at"]
        read_only_fields = ["created_by", "created_at", "updated_at"]


class AttachmentSerializer(serializers.ModelSerializer):
    file = serializers.FileField(write_only=True)

    class Meta:
        model = RfpAttachment
        fields = ["id", "file", "original_name", "size", "sha256", "uploaded_at"]
        read_only_fields = ["original_name", "size", "sha256", "uploaded_at"]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = ["id", "packet", "sent_on", "recipient", "recorded_at"]
        read_only_fields = ["recorded_at"]
        extra_kwargs = {"packet": {"queryset": Packet.objects.all()}}


class ProposalSerializer(serializers.ModelSerializer):
    vendor = serializers.CharField(source="candidate.vendor.name", read_only=True)

    class Meta:
        model = Proposal
        fields = ["id", "candidate", "vendor", "received_on", "price", "currency", "notes", "recorded_at"]
        read_only_fields = ["recorded_at"]
        extra_kwargs = {"candidate": {"queryset": Proposal.candidate.field.related_model.objects.all()}}


class QuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = ["id", "candidate", "asked_on", "question", "answer", "answered_on"]
        read_only_fields = ["answer", "answered_on"]
        extra_kwargs = {"candidate": {"queryset": Question.candidate.field.related_model.objects.all()}}


class RfpViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = RfpSerializer
    queryset = Rfp.objects.none()
    filter_backends = []
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Rfp.objects.none()
        return access.visible_rfps(self.request.user).select_related("shortlist__evaluation").order_by("-created_at")

    def get_object(self):
        rfp = super().get_object()
        if self.request.method not in SAFE_METHODS and not access.can_manage(self.request.user, rfp.shortlist):
            raise PermissionDenied("Only the evaluation's lead manages its RFPs.")
        return rfp

    @extend_schema(responses={201: RfpSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL})
    def create(self, request, *args, **kwargs):
        if not request.user.has_perm("rfp.add_rfp"):
            raise PermissionDenied("Only procurement leads issue RFPs.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        shortlist = data.pop("shortlist")
        rfp = services.rfp_create(shortlist=shortlist, user=request.user, **data)
        return Response(RfpSerializer(rfp).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: RfpSerializer, 400: VALIDATION_ERROR, 403: DETAIL})
    def partial_update(self, request, *args, **kwargs):
        rfp = self.get_object()
        serializer = self.get_serializer(rfp, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("shortlist", None)
        return Response(RfpSerializer(services.rfp_update(rfp=rfp, user=request.user, **data)).data)

    @extend_schema(request=None, responses={202: ProgressSerializer, 403: DETAIL, 409: DETAIL})
    @action(detail=True, methods=["post"])
    def generate(self, request, pk=None):
        rfp = self.get_object()
        services.rfp_generate(rfp=rfp, user=request.user)
        return Response(ProgressSerializer(services.progress(rfp)).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: ProgressSerializer})
    @action(detail=True, methods=["get"])
    def packets(self, request, pk=None):
        return Response(ProgressSerializer(services.progress(self.get_object())).data)

    @extend_schema(request=None, responses={200: PacketSerializer, 403: DETAIL, 409: DETAIL})
    @action(detail=True, methods=["post"], url_path=r"packets/(?P<packet_id>\d+)/retry")
    def retry(self, request, pk=None, packet_id=None):
        rfp = self.get_object()
        packet = rfp.packets.filter(pk=packet_id).first()
        if packet is None:
            return Response({"detail": "No such packet."}, status=404)
        return Response(PacketSerializer(services.packet_retry(packet=packet, user=request.user)).data)

    @extend_schema(
        request=AttachmentSerializer, responses={201: AttachmentSerializer, 400: VALIDATION_ERROR, 403: DETAIL}
    )
    @action(detail=True, methods=["post"], parser_classes=[parsers.MultiPartParser])
    def attachments(self, request, pk=None):
        rfp = self.get_object()
        serializer = AttachmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = services.attachment_add(rfp=rfp, user=request.user, upload=serializer.validated_data["file"])
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=DeliverySerializer, responses={201: DeliverySerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL}
    )
    @action(detail=True, methods=["post"])
    def deliveries(self, request, pk=None):
        rfp = self.get_object()
        serializer = DeliverySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["packet"].rfp_id != rfp.pk:
            return Response({"packet": ["Not a packet of this RFP."]}, status=400)
        delivery = services.delivery_record(
            packet=data["packet"], user=request.user, recipient=data["recipient"], sent_on=data["sent_on"]
        )
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: ProposalSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=ProposalSerializer,
        responses={201: ProposalSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: FIELD_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def proposals(self, request, pk=None):
        rfp = self.get_object()
        if request.method == "GET":
            return Response(ProposalSerializer(rfp.proposals.select_related("candidate__vendor"), many=True).data)
        serializer = ProposalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        proposal = services.proposal_record(
            rfp=rfp,
            user=request.user,
            candidate_id=data["candidate"].pk,
            received_on=data["received_on"],
            price=data.get("price"),
            currency=data.get("currency", "USD"),
            notes=data.get("notes", ""),
        )
        return Response(ProposalSerializer(proposal).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: QuestionSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=QuestionSerializer,
        responses={201: QuestionSerializer, 400: VALIDATION_ERROR, 403: DETAIL},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def questions(self, request, pk=None):
        rfp = self.get_object()
        if request.method == "GET":
            return Response(QuestionSerializer(rfp.questions.all(), many=True).data)
        serializer = QuestionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        question = services.question_record(
            rfp=rfp,
            user=request.user,
            candidate_id=data["candidate"].pk,
            question=data["question"],
            asked_on=data["asked_on"],
        )
        return Response(QuestionSerializer(question).data, status=status.HTTP_201_CREATED)


class TemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = RfpTemplate
        fields = ["id", "kind", "version", "name", "sections", "questions", "change_note", "created_at"]
        read_only_fields = ["version", "name", "created_at"]

    def validate(self, attrs):
        refused = {
            k: ["Null characters are not allowed."] for k in ("sections", "questions") if contains_nul(attrs.get(k))
        }
        if refused:
            raise serializers.ValidationError(refused)
        return attrs


class RfpTemplateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Every version of every template; POST makes the next version of a kind."""

    serializer_class = TemplateSerializer
    queryset = RfpTemplate.objects.order_by("kind", "-version")
    filterset_fields = ["kind"]

    def check_permissions(self, request):
        super().check_permissions(request)
        if not request.user.has_perm("rfp.view_rfptemplate"):
            raise PermissionDenied("Procurement leads and managers see the RFP templates.")

    @extend_schema(responses={201: TemplateSerializer, 400: VALIDATION_ERROR, 403: DETAIL})
    def create(self, request, *args, **kwargs):
        if not request.user.has_perm("rfp.add_rfptemplate"):
            raise PermissionDenied("Only procurement leads revise RFP templates.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        template = services.template_revise(
            kind=data["kind"],
            user=request.user,
            sections=data["sections"],
            questions=data.get("questions"),
            note=data.get("change_note", ""),
        )
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


def register_routes(router) -> None:
    router.register("rfps", RfpViewSet, basename="rfp")
    router.register("rfp-templates", RfpTemplateViewSet, basename="rfptemplate")
