"""REST API of RFPs: /api/v1/rfps/ (create, change, generate, poll packets, attachments, sendings,
proposals, questions) and /api/v1/rfp-templates/ (versions; POST makes the next version)."""

from __future__ import annotations

from decimal import Decimal

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from core.errors import contains_nul
from core.openapi import FIELD_ERRORS, VALIDATION_ERROR
from core.storage import open_or_404
from rfp import access, answers, bidding, comparison, selectors, services
from rfp.award_api import AwardViewSet
from rfp.models import (
    Delivery,
    ExchangeRate,
    Invitation,
    Packet,
    ProgramHorizon,
    Proposal,
    ProposalOpening,
    Question,
    Rfp,
    RfpAttachment,
    RfpTemplate,
    SealedUpload,
)
from rfp.services import RfpError
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


class MailedQuestionnaireSerializer(serializers.Serializer):
    file = serializers.FileField(write_only=True)
    id = serializers.IntegerField(read_only=True)
    original_name = serializers.CharField(read_only=True)
    sha256 = serializers.CharField(read_only=True)
    response_version = serializers.IntegerField(source="questionnaire_response.version", read_only=True)


class QuestionSerializer(serializers.ModelSerializer):
    asked_in_portal_by = serializers.CharField(source="asked_by.name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Question
        fields = [
            "id",
            "candidate",
            "asked_on",
            "question",
            "asked_in_portal_by",
            "answer",
            "answered_on",
            "visibility",
        ]
        read_only_fields = ["answer", "answered_on", "visibility"]
        extra_kwargs = {"candidate": {"queryset": Question.candidate.field.related_model.objects.all()}}


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField()
    visibility = serializers.ChoiceField(choices=Question.Visibility.choices, default=Question.Visibility.ALL)


class InvitationSerializer(serializers.ModelSerializer):
    contact = serializers.IntegerField(required=False, allow_null=True, write_only=True)
    vendor = serializers.CharField(source="candidate.vendor.name", read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "candidate",
            "vendor",
            "contact",
            "name",
            "email",
            "link_sent_at",
            "first_signed_in_at",
            "last_signed_in_at",
            "expires_at",
            "revoked_at",
            "created_at",
        ]
        read_only_fields = [
            "link_sent_at",
            "first_signed_in_at",
            "last_signed_in_at",
            "expires_at",
            "revoked_at",
            "created_at",
        ]
        extra_kwargs = {
            "candidate": {"queryset": Invitation.candidate.field.related_model.objects.all()},
            "name": {"required": False},
            "email": {"required": False},
        }


class VendorStatusSerializer(serializers.Serializer):
    candidate = serializers.IntegerField(source="candidate.pk")
    vendor = serializers.CharField(source="candidate.vendor.name")
    invitations = InvitationSerializer(many=True)
    intent = serializers.CharField(source="participation.intent", default="")
    intent_reason = serializers.CharField(source="participation.intent_reason", default="")
    deadline = serializers.DateTimeField()
    extended = serializers.BooleanField(source="participation.extended_until", default=False)
    downloads = serializers.IntegerField()
    last_download = serializers.DateTimeField(allow_null=True)
    questions = serializers.IntegerField()
    open_questions = serializers.IntegerField()
    submitted_at = serializers.DateTimeField(allow_null=True, help_text="When it last submitted; what stays sealed.")


class ExtensionSerializer(serializers.Serializer):
    candidate = serializers.IntegerField()
    until = serializers.DateTimeField()
    reason = serializers.CharField(max_length=300)


class OpenSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"})


class OpeningSerializer(serializers.ModelSerializer):
    opened_by = serializers.CharField(source="opened_by.printed_name")

    class Meta:
        model = ProposalOpening
        fields = ["id", "opened_by", "opened_at", "manifest"]


class SealedUploadSerializer(serializers.ModelSerializer):
    vendor = serializers.CharField(source="candidate.vendor.name")

    class Meta:
        model = SealedUpload
        fields = ["id", "candidate", "vendor", "part", "original_name", "content_type", "size", "sha256", "uploaded_at"]


class SubmissionsSerializer(serializers.Serializer):
    opened = serializers.BooleanField()
    deadline = serializers.DateTimeField()
    submitted = inline_serializer(
        "Submitted", {"candidate": serializers.IntegerField(), "submitted_at": serializers.DateTimeField()}, many=True
    )
    files = SealedUploadSerializer(many=True, help_text="Empty until both openers have opened.")


class AnswersMatrixSerializer(serializers.Serializer):
    """rfp.answers.AnswersMatrix: questions x vendors, each answer once (question, candidate)."""

    opened = serializers.BooleanField(help_text="False while the proposals are sealed: everything else is empty.")
    criteria = serializers.ListField(child=serializers.CharField(), help_text="Every criterion, in question order.")
    questions = inline_serializer(
        "AnswersMatrixQuestion",
        {"number": serializers.IntegerField(), "criterion": serializers.CharField(), "text": serializers.CharField()},
        many=True,
    )
    vendors = inline_serializer(
        "AnswersMatrixVendor",
        {
            "candidate": serializers.IntegerField(source="candidate_id"),
            "name": serializers.CharField(),
            "version": serializers.IntegerField(help_text="Of the questionnaire response shown (the latest)."),
        },
        many=True,
    )
    answers = serializers.SerializerMethodField()

    @extend_schema_field(
        inline_serializer(
            "AnswersMatrixCell",
            {
                "question": serializers.IntegerField(),
                "candidate": serializers.IntegerField(),
                "compliance": serializers.ChoiceField(choices=["yes", "partly", "no", "n/a", ""]),
                "answer": serializers.CharField(),
                "document": serializers.CharField(),
            },
            many=True,
        )
    )
    def get_answers(self, matrix) -> list[dict]:
        shown = {q.number for q in matrix.questions}
        return [
            {"question": number, "candidate": candidate, **cell._asdict()}
            for (number, candidate), cell in matrix.cells.items()
            if number in shown
        ]


# --- Total program costs and value for money (rfp.comparison, rfp.costs) ------------------------------


class HorizonSerializer(serializers.ModelSerializer):
    """The lead's program horizon; numbers left empty are not assumed (lines needing them are missing)."""

    years = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal("0.01"), max_value=50)
    batches_per_year = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    campaigns_per_year = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    fte_months_per_year = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    effort_factor = serializers.DecimalField(
        max_digits=6, decimal_places=3, min_value=Decimal("0.001"), required=False, allow_null=True
    )
    volume_per_year = serializers.DecimalField(
        max_digits=14, decimal_places=3, min_value=0, required=False, allow_null=True
    )
    base_currency = serializers.CharField(min_length=3, max_length=3)
    updated_by = serializers.CharField(source="updated_by.printed_name", read_only=True)

    class Meta:
        model = ProgramHorizon
        fields = [*comparison.HORIZON_FIELDS, "updated_by", "updated_at"]
        read_only_fields = ["updated_at"]

    def validate(self, attrs):
        if contains_nul(attrs):
            raise serializers.ValidationError({"notes": ["Null characters are not allowed."]})
        return attrs


class ExchangeRateSerializer(serializers.ModelSerializer):
    currency = serializers.CharField(min_length=3, max_length=3)
    rate = serializers.DecimalField(max_digits=18, decimal_places=8, help_text="One unit of the currency in the base.")
    recorded_by = serializers.CharField(source="recorded_by.printed_name", read_only=True)

    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "rate", "as_of", "source", "recorded_by", "recorded_at"]
        read_only_fields = ["recorded_at"]

    def validate(self, attrs):
        if contains_nul(attrs):
            raise serializers.ValidationError({"source": ["Null characters are not allowed."]})
        return attrs


class ExchangeRateChangeSerializer(ExchangeRateSerializer):
    class Meta(ExchangeRateSerializer.Meta):
        fields = ["rate", "as_of", "source"]


class CostLineSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="The pricing model.")
    item = serializers.CharField()
    formula = serializers.CharField(help_text="With its figures, in the quoted currency.")
    assumption = serializers.CharField()
    currency = serializers.CharField(help_text="Quoted currency.")
    quoted = serializers.DecimalField(max_digits=24, decimal_places=4)
    amount = serializers.DecimalField(
        max_digits=24, decimal_places=2, allow_null=True, help_text="In the base currency."
    )
    low = serializers.DecimalField(max_digits=24, decimal_places=2, allow_null=True)
    high = serializers.DecimalField(max_digits=24, decimal_places=2, allow_null=True)
    volume_driven = serializers.BooleanField()


class ComparisonRowSerializer(serializers.Serializer):
    candidate = serializers.IntegerField(source="candidate_id")
    vendor = serializers.CharField()
    cost_status = serializers.ChoiceField(source="cost.status", choices=list(comparison.STATUSES))
    complete = serializers.BooleanField(source="cost.complete")
    total = serializers.DecimalField(
        source="cost.total", max_digits=24, decimal_places=2, allow_null=True, help_text="None unless complete."
    )
    low = serializers.DecimalField(
        source="cost.low", max_digits=24, decimal_places=2, allow_null=True, help_text="At -50 % volume."
    )
    high = serializers.DecimalField(
        source="cost.high", max_digits=24, decimal_places=2, allow_null=True, help_text="At +50 % volume."
    )
    subtotal = serializers.DecimalField(
        source="cost.subtotal",
        max_digits=24,
        decimal_places=2,
        allow_null=True,
        help_text="What the priced lines sum to.",
    )
    source = serializers.CharField(source="cost.source")
    pricing_model = serializers.CharField(source="cost.pricing_model")
    lines = CostLineSerializer(source="cost.lines", many=True)
    missing = serializers.ListField(source="cost.missing", child=serializers.CharField())
    errors = serializers.ListField(source="cost.errors", child=serializers.CharField())
    assumptions = serializers.ListField(source="cost.assumptions", child=serializers.CharField())
    score = serializers.FloatField(allow_null=True, help_text="Weighted score (0-5) from the evaluation's ranking.")
    rank = serializers.IntegerField(allow_null=True)
    pareto = serializers.BooleanField(help_text="On the Pareto front: no vendor is both cheaper and better scored.")
    off_chart = serializers.CharField(help_text="Why the vendor is not on the value-for-money chart; empty when it is.")


class ComparisonSerializer(serializers.Serializer):
    currency = serializers.CharField()
    horizon = HorizonSerializer(allow_null=True)
    rates = ExchangeRateSerializer(many=True)
    withheld = serializers.BooleanField(help_text="Scores withheld from a blind evaluator until they submit.")
    rows = ComparisonRowSerializer(many=True)


class CostsActions:
    """The RFP's horizon, exchange rates and comparison (mixed into RfpViewSet: the same RFP lookup)."""

    @extend_schema(methods=["GET"], responses={200: HorizonSerializer, 404: DETAIL})
    @extend_schema(
        methods=["POST"],
        request=HorizonSerializer,
        responses={200: HorizonSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["get", "post"])
    def horizon(self, request, pk=None):
        """The program horizon every proposal is normalised to; POST sets it whole (the lead)."""
        rfp = self.get_object()
        if request.method == "GET":
            horizon = ProgramHorizon.objects.filter(rfp=rfp).select_related("updated_by").first()
            if horizon is None:
                raise NotFound("The program horizon is not set.")
            return Response(HorizonSerializer(horizon).data)
        serializer = HorizonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        horizon = comparison.horizon_set(rfp=rfp, user=request.user, **serializer.validated_data)
        return Response(HorizonSerializer(horizon).data)

    @extend_schema(methods=["GET"], responses={200: ExchangeRateSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=ExchangeRateSerializer,
        responses={201: ExchangeRateSerializer, 400: VALIDATION_ERROR, 403: DETAIL},
    )
    @action(detail=True, methods=["get", "post"], url_path="exchange-rates", pagination_class=None)
    def exchange_rates(self, request, pk=None):
        rfp = self.get_object()
        if request.method == "GET":
            return Response(ExchangeRateSerializer(rfp.exchange_rates.select_related("recorded_by"), many=True).data)
        serializer = ExchangeRateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate = comparison.rate_add(rfp=rfp, user=request.user, **serializer.validated_data)
        return Response(ExchangeRateSerializer(rate).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["PATCH"],
        request=ExchangeRateChangeSerializer,
        responses={200: ExchangeRateSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 404: DETAIL},
    )
    @extend_schema(methods=["DELETE"], responses={204: None, 403: DETAIL, 404: DETAIL})
    @action(detail=True, methods=["patch", "delete"], url_path=r"exchange-rates/(?P<rate_id>\d+)")
    def exchange_rate(self, request, pk=None, rate_id=None):
        rfp = self.get_object()
        rate = rfp.exchange_rates.filter(pk=rate_id).select_related("rfp__shortlist__evaluation").first()
        if rate is None:
            raise NotFound("No such exchange rate.")
        if request.method == "DELETE":
            comparison.rate_remove(rate=rate, user=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = ExchangeRateChangeSerializer(rate, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rate = comparison.rate_update(
            rate=rate,
            user=request.user,
            value=data.get("rate", rate.rate),
            as_of=data.get("as_of", rate.as_of),
            source=data.get("source", rate.source),
        )
        return Response(ExchangeRateSerializer(rate).data)

    @extend_schema(responses={200: ComparisonSerializer, 409: DETAIL})
    @action(detail=True, methods=["get"], url_path="comparison", pagination_class=None)
    def costs_comparison(self, request, pk=None):
        """Every chosen vendor's total program cost (lines, missing, sensitivity) with its weighted score
        and place on the Pareto front; refused (409) while the proposals are sealed."""
        rfp = self.get_object()
        result = comparison.comparison(rfp, request.user)
        if not result.opened:
            raise RfpError(
                "The proposals are sealed until the lead and the second opener have opened them.", status=409
            )
        return Response(ComparisonSerializer(result).data)


class RfpViewSet(
    CostsActions,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = RfpSerializer
    queryset = Rfp.objects.none()
    filter_backends = []
    # DELETE only where an action maps it (an exchange rate): the RFP itself has no destroy.
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

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

    @extend_schema(
        request=MailedQuestionnaireSerializer,
        responses={
            201: MailedQuestionnaireSerializer,
            400: VALIDATION_ERROR,
            403: DETAIL,
            404: DETAIL,
            409: FIELD_ERRORS,
        },
        description="The filled questionnaire of a proposal received by mail: read into the vendor's answers and "
        "price lines (a new version of its response). Refused while the proposals are sealed, for a late "
        "proposal, or for a file that is not this vendor's questionnaire of this RFP.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"proposals/(?P<proposal_id>\d+)/questionnaire",
        parser_classes=[parsers.MultiPartParser],
    )
    def proposal_questionnaire(self, request, pk=None, proposal_id=None):
        rfp = self.get_object()
        proposal = rfp.proposals.select_related("candidate__vendor").filter(pk=proposal_id).first()
        if proposal is None:
            raise NotFound("No such proposal.")
        serializer = MailedQuestionnaireSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        document = bidding.mailed_questionnaire_add(
            proposal=proposal, user=request.user, upload=serializer.validated_data["file"]
        )
        return Response(MailedQuestionnaireSerializer(document).data, status=status.HTTP_201_CREATED)

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

    @extend_schema(request=AnswerSerializer, responses={200: QuestionSerializer, 400: VALIDATION_ERROR, 403: DETAIL})
    @action(detail=True, methods=["post"], url_path=r"questions/(?P<question_id>\d+)/answer")
    def answer(self, request, pk=None, question_id=None):
        rfp = self.get_object()
        question = rfp.questions.filter(pk=question_id).first()
        if question is None:
            return Response({"detail": "No such question."}, status=404)
        serializer = AnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answered = bidding.question_answer(question=question, user=request.user, **serializer.validated_data)
        return Response(QuestionSerializer(answered).data)

    @extend_schema(responses={200: VendorStatusSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def vendors(self, request, pk=None):
        """Per chosen vendor: invitations, downloads, intent, questions, deadline, when it submitted."""
        return Response(VendorStatusSerializer(selectors.vendor_status(self.get_object()), many=True).data)

    @extend_schema(methods=["GET"], responses={200: InvitationSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=InvitationSerializer,
        responses={201: InvitationSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: FIELD_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def invitations(self, request, pk=None):
        rfp = self.get_object()
        if request.method == "GET":
            return Response(InvitationSerializer(rfp.invitations.select_related("candidate__vendor"), many=True).data)
        serializer = InvitationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        invitation = bidding.invite(
            rfp=rfp,
            user=request.user,
            candidate_id=data["candidate"].pk,
            contact_id=data.get("contact"),
            name=data.get("name", ""),
            email=data.get("email", ""),
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    def _invitation(self, rfp, invitation_id):
        invitation = rfp.invitations.filter(pk=invitation_id).select_related("candidate__vendor").first()
        if invitation is None:
            raise NotFound("No such invitation.")
        return invitation

    @extend_schema(request=None, responses={200: InvitationSerializer, 403: DETAIL, 404: DETAIL})
    @action(detail=True, methods=["post"], url_path=r"invitations/(?P<invitation_id>\d+)/resend")
    def resend(self, request, pk=None, invitation_id=None):
        """A new link to the same person; the old link stops working."""
        rfp = self.get_object()
        invitation = bidding.invitation_resend(invitation=self._invitation(rfp, invitation_id), user=request.user)
        return Response(InvitationSerializer(invitation).data)

    @extend_schema(request=None, responses={200: InvitationSerializer, 403: DETAIL, 404: DETAIL, 409: DETAIL})
    @action(detail=True, methods=["post"], url_path=r"invitations/(?P<invitation_id>\d+)/revoke")
    def revoke(self, request, pk=None, invitation_id=None):
        rfp = self.get_object()
        invitation = bidding.invitation_revoke(invitation=self._invitation(rfp, invitation_id), user=request.user)
        return Response(InvitationSerializer(invitation).data)

    @extend_schema(
        request=ExtensionSerializer,
        responses={200: VendorStatusSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def extensions(self, request, pk=None):
        rfp = self.get_object()
        serializer = ExtensionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        bidding.extension_grant(
            rfp=rfp, user=request.user, candidate_id=data["candidate"], until=data["until"], reason=data["reason"]
        )
        row = next(r for r in selectors.vendor_status(rfp) if r["candidate"].pk == data["candidate"])
        return Response(VendorStatusSerializer(row).data)

    @extend_schema(responses={200: SubmissionsSerializer})
    @action(detail=True, methods=["get"], pagination_class=None)
    def submissions(self, request, pk=None):
        """Who submitted through the portal and when; the files once both openers have opened."""
        rfp = self.get_object()
        submitted = bidding.submissions(rfp)
        return Response(
            SubmissionsSerializer(
                {
                    "opened": bidding.is_opened(rfp),
                    "deadline": bidding.last_deadline(rfp),
                    "submitted": [{"candidate": c, "submitted_at": at} for c, at in sorted(submitted.items())],
                    "files": bidding.opened_uploads(rfp),
                }
            ).data
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("criterion", str, description="Only the questions of this criterion (its name)."),
            OpenApiParameter("gaps", bool, description="Only the questions some vendor answered No or Partly."),
        ],
        responses={200: AnswersMatrixSerializer, 404: DETAIL},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def answers(self, request, pk=None):
        """The vendors' latest questionnaire answers side by side; empty (`opened` false) while sealed."""
        rfp = self.get_object()
        gaps = request.query_params.get("gaps", "") in ("1", "true")
        criterion = request.query_params.get("criterion", "")[:200]
        return Response(AnswersMatrixSerializer(answers.answers_matrix(rfp, criterion=criterion, gaps_only=gaps)).data)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 403: DETAIL, 404: DETAIL},
    )
    @action(detail=True, methods=["get"], url_path=r"submissions/files/(?P<upload_id>\d+)")
    def submission_file(self, request, pk=None, upload_id=None):
        rfp = self.get_object()
        upload = bidding.sealed_upload(rfp=rfp, user=request.user, upload_id=upload_id)
        response = FileResponse(open_or_404(upload.file), as_attachment=True, filename=upload.original_name)
        response["Content-Type"] = "application/octet-stream"
        response["Content-Security-Policy"] = "sandbox"
        return response

    @extend_schema(methods=["GET"], responses={200: OpeningSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=OpenSerializer,
        responses={201: OpeningSerializer, 400: FIELD_ERRORS, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def openings(self, request, pk=None):
        """The e-signed openings; a POST is the caller's own opening (the lead or the second opener)."""
        rfp = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() else None
        if rfp is None:
            raise NotFound("No such RFP.")
        if request.method == "GET":
            return Response(OpeningSerializer(rfp.openings.select_related("opened_by"), many=True).data)
        if not bidding.can_open(request.user, rfp):
            raise PermissionDenied("Only the evaluation's lead and the named second opener open the proposals.")
        serializer = OpenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        opening = bidding.open_proposals(
            rfp=rfp, user=request.user, password=serializer.validated_data["password"], request=request._request
        )
        return Response(OpeningSerializer(opening).data, status=status.HTTP_201_CREATED)


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
    router.register("awards", AwardViewSet, basename="award")
