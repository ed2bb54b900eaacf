"""The supplier portal's API, under /portal/api/: the same operations as its pages, for a vendor's
own tools. Authenticated by the portal session only (the cookie the sign-in by link and one-time
code gives); sponsor tokens and sponsor sessions are not read here, and the portal session holds
no user, so it opens nothing under /api/v1/. Every call goes to rfp.bidding; its refusals become
answers in core.errors.api_exception_handler.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication, CSRFCheck
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import request_object
from core.openapi import ERROR_DETAIL, VALIDATION_ERROR
from portal import access, selectors, uploads
from portal.views import packet_response
from rfp import bidding
from rfp.models import Invitation, Participation, Question, SealedUpload

TAGS = ["Supplier portal"]
REFUSED = OpenApiResponse(ERROR_DETAIL, description="Refused in the RFP's present state (e.g. past the deadline).")


class PortalSessionAuthentication(BaseAuthentication):
    """The portal session: (AnonymousUser, the invitation) while the invitation is active, with CSRF
    enforced on unsafe methods as DRF's SessionAuthentication does."""

    def authenticate(self, request):
        invitation = access.current_invitation(request._request)
        if invitation is None:
            return None
        self.enforce_csrf(request)
        return (AnonymousUser(), invitation)

    def enforce_csrf(self, request) -> None:
        check = CSRFCheck(lambda request: None)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")

    def authenticate_header(self, request) -> str:
        # 401, not 403, without a session: sign in by the e-mailed link and one-time code.
        return 'PortalSession realm="supplier-portal"'


class PortalSessionScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.PortalSessionAuthentication"
    name = "portalSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The supplier portal's session, from signing in with the invitation link and the "
            "one-time code e-mailed to the invited address. Unsafe methods also need the CSRF token "
            f"(cookie {settings.CSRF_COOKIE_NAME}, header X-CSRFToken).",
        }


class InPortalSession(BasePermission):
    message = "Sign in to the supplier portal with your invitation link."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Invitation)


class PortalView(APIView):
    authentication_classes = [PortalSessionAuthentication]
    permission_classes = [InPortalSession]
    pagination_class = None
    filter_backends: list = []

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.acting = access.acting_as(request.auth)  # the trail names the invited person for the writes
        self.acting.__enter__()

    def finalize_response(self, request, response, *args, **kwargs):
        acting = self.__dict__.pop("acting", None)
        if acting is not None:
            acting.__exit__(None, None, None)
        return super().finalize_response(request, response, *args, **kwargs)


# --- Serializers ----------------------------------------------------------------------------------


class PortalRfpSummarySerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="The sponsor's reference, e.g. RFP-00012.")
    title = serializers.CharField()
    sponsor = serializers.CharField()
    issue_date = serializers.DateField()
    presentations = serializers.DateField(allow_null=True)
    award_decision = serializers.DateField(allow_null=True)
    contact_name = serializers.CharField()
    contact_email = serializers.EmailField()


class PortalDeadlinesSerializer(serializers.Serializer):
    questions_due = serializers.DateTimeField(help_text="Questions are accepted until this moment.")
    questions_open = serializers.BooleanField()
    proposal_due = serializers.DateTimeField(help_text="Your deadline for uploads, an extension included.")
    extended = serializers.BooleanField(help_text="Whether the sponsor extended your deadline.")
    uploads_open = serializers.BooleanField()


class PortalPacketPartSerializer(serializers.Serializer):
    part = serializers.CharField(help_text="pdf, questionnaire or bundle (a ZIP of everything).")
    label = serializers.CharField()
    content_type = serializers.CharField()
    filename = serializers.CharField()
    url = serializers.CharField(source="api_url", help_text="GET it here (the download is recorded).")


class PortalPacketSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    pdf_pages = serializers.IntegerField()
    generated_at = serializers.DateTimeField(source="finished_at", allow_null=True)
    parts = PortalPacketPartSerializer(many=True)


class PortalIntentSerializer(serializers.Serializer):
    intent = serializers.ChoiceField(choices=Participation.Intent.choices, help_text="Empty: not declared yet.")
    reason = serializers.CharField(source="intent_reason")
    declared_at = serializers.DateTimeField(source="intent_at", allow_null=True)


class PortalUploadSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name")
    uploaded_by = serializers.CharField(source="uploaded_by.name", help_text="Who of your people uploaded it.")

    class Meta:
        model = SealedUpload
        fields = ["id", "part", "name", "size", "content_type", "sha256", "uploaded_at", "uploaded_by"]
        read_only_fields = fields


class PortalPersonSerializer(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.EmailField()


class PortalOverviewSerializer(serializers.Serializer):
    rfp = PortalRfpSummarySerializer()
    vendor = serializers.CharField(help_text="Your company, as the sponsor invited it.")
    signed_in_as = PortalPersonSerializer()
    deadlines = PortalDeadlinesSerializer()
    packet = PortalPacketSerializer(allow_null=True, help_text="Null while your packet is being prepared.")
    intent = PortalIntentSerializer()
    uploads = PortalUploadSerializer(many=True)


class PortalQuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    own = serializers.BooleanField(help_text="Asked by your company; otherwise an answer published to every vendor.")
    question = serializers.CharField()
    asked_on = serializers.DateField()
    answer = serializers.CharField(help_text="Empty until the sponsor answers.")
    answered_on = serializers.DateField(allow_null=True)
    visibility = serializers.ChoiceField(
        choices=Question.Visibility.choices, help_text="private: answered to you only."
    )


class PortalIntentRequestSerializer(serializers.Serializer):
    intent = serializers.ChoiceField(choices=[Participation.Intent.BID, Participation.Intent.DECLINE])
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class PortalQuestionRequestSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=5000)


class PortalUploadRequestSerializer(serializers.Serializer):
    part = serializers.ChoiceField(choices=SealedUpload.Part.choices)
    file = serializers.FileField(allow_empty_file=True, help_text="PDF, DOCX or XLSX; the questionnaire: XLSX.")


def overview_data(invitation: Invitation) -> dict:
    o = selectors.overview(invitation)
    rfp = o.rfp
    return {
        "rfp": {
            "reference": o.reference,
            "title": rfp.title,
            "sponsor": rfp.sponsor,
            "issue_date": rfp.issue_date,
            "presentations": rfp.presentations,
            "award_decision": rfp.award_decision,
            "contact_name": rfp.contact_name,
            "contact_email": rfp.contact_email,
        },
        "vendor": o.vendor,
        "signed_in_as": {"name": invitation.name, "email": invitation.email},
        "deadlines": {
            "questions_due": o.questions_due,
            "questions_open": o.questions_open,
            "proposal_due": o.proposal_due,
            "extended": o.extended,
            "uploads_open": o.uploads_open,
        },
        "packet": None
        if o.packet is None
        else {
            "id": o.packet.pk,
            "version": o.packet.version,
            "pdf_pages": o.packet.pdf_pages,
            "finished_at": o.packet.finished_at,
            "parts": o.parts,
        },
        "intent": o.participation,
        "uploads": o.uploads,
    }


# --- Views ----------------------------------------------------------------------------------------


class OverviewView(PortalView):
    @extend_schema(tags=TAGS, operation_id="portal_overview", responses={200: PortalOverviewSerializer})
    def get(self, request):
        """The RFP you are invited to: its dates, your deadline, your packet, your intent and your uploads."""
        return Response(PortalOverviewSerializer(overview_data(request.auth)).data)


class IntentView(PortalView):
    @extend_schema(
        tags=TAGS,
        operation_id="portal_intent_declare",
        request=PortalIntentRequestSerializer,
        responses={200: PortalIntentSerializer, 400: VALIDATION_ERROR, 409: REFUSED},
    )
    def post(self, request):
        """Declare that you intend to bid, or decline with a reason (until your deadline)."""
        serializer = PortalIntentRequestSerializer(data=request_object(request))
        serializer.is_valid(raise_exception=True)
        participation = bidding.intent_declare(invitation=request.auth, **serializer.validated_data)
        return Response(PortalIntentSerializer(participation).data)


class QuestionsView(PortalView):
    @extend_schema(
        tags=TAGS, operation_id="portal_questions_list", responses={200: PortalQuestionSerializer(many=True)}
    )
    def get(self, request):
        """Your questions (answered or not) and the answers published to every vendor (askers not named)."""
        return Response(PortalQuestionSerializer(selectors.questions(request.auth), many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="portal_questions_ask",
        request=PortalQuestionRequestSerializer,
        responses={201: PortalQuestionSerializer, 400: VALIDATION_ERROR, 409: REFUSED},
    )
    def post(self, request):
        """Ask the sponsor a question, until the questions deadline."""
        serializer = PortalQuestionRequestSerializer(data=request_object(request))
        serializer.is_valid(raise_exception=True)
        question = bidding.question_ask(invitation=request.auth, **serializer.validated_data)
        question.own = True
        return Response(PortalQuestionSerializer(question).data, status=status.HTTP_201_CREATED)


class UploadsView(PortalView):
    parser_classes = [uploads.PortalMultiPartParser]

    @extend_schema(tags=TAGS, operation_id="portal_uploads_list", responses={200: PortalUploadSerializer(many=True)})
    def get(self, request):
        """What your company submitted: name, size, time and SHA-256 of each file (your receipt)."""
        return Response(PortalUploadSerializer(selectors.uploads(request.auth), many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="portal_uploads_add",
        request={"multipart/form-data": PortalUploadRequestSerializer},
        responses={201: PortalUploadSerializer, 400: VALIDATION_ERROR, 409: REFUSED},
    )
    def post(self, request):
        """Upload a proposal document or the filled questionnaire, sealed until the sponsor's opening.
        Before your deadline only; the type is read from the content, the size is limited."""
        data = request_object(request)
        refused = uploads.refusal(request._request)
        if refused is not None:
            raise refused
        serializer = PortalUploadRequestSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        sealed = bidding.upload_add(
            invitation=request.auth, part=serializer.validated_data["part"], upload=serializer.validated_data["file"]
        )
        sealed.uploaded_by = request.auth
        return Response(PortalUploadSerializer(sealed).data, status=status.HTTP_201_CREATED)


class DownloadView(PortalView):
    @extend_schema(
        tags=TAGS,
        operation_id="portal_packet_download",
        parameters=[
            OpenApiParameter("packet_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="From the overview."),
            OpenApiParameter("part", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(selectors.PACKET_PARTS)),
        ],
        responses={
            (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description=label)
            for _field, label, content_type, _suffix in selectors.PACKET_PARTS.values()
        },
    )
    def get(self, request, packet_id: int, part: str):
        """A part of your packet, as a file (each download is recorded for the sponsor)."""
        packet = bidding.packet_download(invitation=request.auth, packet_id=packet_id, part=part)
        return packet_response(packet, part)

    def perform_content_negotiation(self, request, force=False):
        # A client asking for application/pdf gets the file, and a refusal as JSON, rather than 406.
        return super().perform_content_negotiation(request, force=True)
