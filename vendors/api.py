"""REST API of the register: /api/v1/vendors, sites, inspections, contacts, vocabularies, imports.

Reads need a signed-in user; writes need the model permission that the role grants
(DjangoModelPermissions). Nothing is deleted through the API: vendors are disqualified,
not removed.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ManyToManyField
from django_countries.serializers import CountryFieldMixin
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.response import Response

from core.errors import contains_nul
from core.openapi import FIELD_ERRORS
from vendors import selectors, services
from vendors.access import IMPORT_PERMISSIONS, can_record_qualification, visible_import_jobs
from vendors.filters import (
    GmpCertificateFilter,
    ImportAlertFilter,
    InspectionFilter,
    SiteFilter,
    SiteQualificationFilter,
    VendorFilter,
    WarningLetterFilter,
)
from vendors.forms import validate_upload
from vendors.models import (
    Contact,
    DosageForm,
    GmpCertificate,
    ImportAlert,
    ImportJob,
    Kind,
    Modality,
    Phase,
    RegulatoryInspection,
    Service,
    Site,
    SiteQualification,
    Vendor,
    WarningLetter,
)


class RolePermissions(DjangoModelPermissions):
    """Reads for any signed-in user, writes by the role's model permissions, and no DELETE (405):
    register records are retired by status, never removed."""

    perms_map = {method: perms for method, perms in DjangoModelPermissions.perms_map.items() if method != "DELETE"}


class RegisterViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsAuthenticated, RolePermissions]


class TermField(serializers.SlugRelatedField):
    """A vocabulary term by its code; an unknown code is refused with the allowed codes listed."""

    def __init__(self, model, **kwargs):
        super().__init__(slug_field="code", queryset=model.objects.all(), **kwargs)

    def to_internal_value(self, data):
        try:
            if contains_nul(data):  # PostgreSQL would refuse the lookup itself
                self.fail("does_not_exist", slug_name=self.slug_field, value=data)
            return super().to_internal_value(data)
        except serializers.ValidationError:
            allowed = ", ".join(self.get_queryset().values_list("code", flat=True))
            raise serializers.ValidationError(f"Unknown term “{data}”. Allowed: {allowed}.") from None


class ModelCleanMixin:
    """Runs the model's own clean() and constraint checks, so the API refuses what forms refuse."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        model = self.Meta.model
        instance = model()
        if self.instance:
            # A detached copy: the checks must not touch the object the view will save.
            instance = model(**{f.attname: getattr(self.instance, f.attname) for f in model._meta.concrete_fields})
            instance._state.adding = False
        m2m = {f.name for f in model._meta.get_fields() if isinstance(f, ManyToManyField)}
        for name, value in attrs.items():
            if name not in m2m:
                setattr(instance, name, value)
        try:
            instance.clean()
            instance.validate_constraints()
        except DjangoValidationError as error:
            raise serializers.ValidationError(serializers.as_serializer_error(error)) from None
        return attrs


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "vendor", "name", "title", "email", "phone"]


class VendorSerializer(ModelCleanMixin, CountryFieldMixin, serializers.ModelSerializer):
    kinds = TermField(Kind, many=True, allow_empty=False)
    services = TermField(Service, many=True, required=False)
    modalities = TermField(Modality, many=True, required=False)
    dosage_forms = TermField(DosageForm, many=True, required=False)
    phases = TermField(Phase, many=True, required=False)
    site_count = serializers.IntegerField(read_only=True)
    last_inspection = serializers.DateField(read_only=True, allow_null=True)
    recent_red_flags = serializers.IntegerField(
        read_only=True, help_text="OAI classifications and warning letters in the last five years."
    )

    class Meta:
        model = Vendor
        fields = [
            "id",
            "name",
            "legal_name",
            "kinds",
            "country",
            "website",
            "description",
            "status",
            "services",
            "modalities",
            "dosage_forms",
            "phases",
            "site_count",
            "last_inspection",
            "recent_red_flags",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class SiteSerializer(ModelCleanMixin, CountryFieldMixin, serializers.ModelSerializer):
    capabilities = TermField(Service, many=True, required=False)

    class Meta:
        model = Site
        fields = [
            "id",
            "vendor",
            "name",
            "address",
            "country",
            "fei_number",
            "quality_regime",
            "scale_min",
            "scale_max",
            "scale_unit",
            "capabilities",
            "certifications",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        validators = []  # the model's constraints are checked by ModelCleanMixin, with field names


class InspectionSerializer(ModelCleanMixin, serializers.ModelSerializer):
    confirm_nai_with_observations = serializers.BooleanField(
        write_only=True,
        default=False,
        help_text="True to record an FDA NAI inspection with Form 483 observations (rare: usually VAI or OAI).",
    )
    observations_label = serializers.CharField(
        read_only=True, help_text="“3 obs.” or “obs. unknown” for FDA inspections; empty for other agencies."
    )

    class Meta:
        model = RegulatoryInspection
        fields = [
            "id",
            "site",
            "agency",
            "inspection_type",
            "end_date",
            "classification",
            "agency_classification",
            "form_483_observations",
            "observations_label",
            "warning_letter",
            "notes",
            "source",
            "source_id",
            "confirm_nai_with_observations",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        validators = []

    def validate(self, attrs):
        confirmed = attrs.pop("confirm_nai_with_observations", False)
        attrs = super().validate(attrs)

        def value(name):
            return attrs[name] if name in attrs else getattr(self.instance, name, None)

        problems = services.inspection_problems(
            agency=value("agency"),
            classification=value("classification"),
            observations=value("form_483_observations"),
            confirmed=confirmed,
        )
        if problems:
            raise serializers.ValidationError({"confirm_nai_with_observations": [problems["confirm"]]})
        return attrs


class SiteRecordSerializer(ModelCleanMixin, serializers.ModelSerializer):
    """A regulatory record of a site; its document is a PDF (multipart upload)."""

    class Meta:
        read_only_fields = ["created_at"]
        validators = []


class WarningLetterSerializer(SiteRecordSerializer):
    class Meta(SiteRecordSerializer.Meta):
        model = WarningLetter
        fields = ["id", "site", "issued_on", "subject", "reference", "closed_on", "document", "notes", "created_at"]


class ImportAlertSerializer(SiteRecordSerializer):
    class Meta(SiteRecordSerializer.Meta):
        model = ImportAlert
        fields = ["id", "site", "number", "status", "listed_on", "removed_on", "reason", "document", "created_at"]


class GmpCertificateSerializer(SiteRecordSerializer):
    class Meta(SiteRecordSerializer.Meta):
        model = GmpCertificate
        fields = [
            "id",
            "site",
            "kind",
            "authority",
            "number",
            "eudragmdp_reference",
            "issued_on",
            "valid_until",
            "document",
            "notes",
            "created_at",
        ]


class SiteQualificationSerializer(serializers.ModelSerializer):
    activity = TermField(
        Service, allow_null=True, required=False, help_text="Service code; null for every activity at the site."
    )
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = SiteQualification
        fields = [
            "id",
            "site",
            "activity",
            "status",
            "decided_on",
            "requalification_due",
            "note",
            "source",
            "decided_by",
            "created_at",
        ]
        read_only_fields = ["created_at", "decided_by"]
        validators = []  # one row per (site, activity): a POST for an existing pair changes it


class VendorViewSet(RegisterViewSet):
    serializer_class = VendorSerializer
    filterset_class = VendorFilter

    def get_queryset(self):
        return selectors.vendor_list().prefetch_related("services", "modalities", "dosage_forms", "phases")

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)


class SiteViewSet(RegisterViewSet):
    serializer_class = SiteSerializer
    filterset_class = SiteFilter
    queryset = Site.objects.prefetch_related("capabilities").order_by("vendor__name", "name")


class InspectionViewSet(RegisterViewSet):
    serializer_class = InspectionSerializer
    filterset_class = InspectionFilter
    queryset = RegulatoryInspection.objects.order_by("-end_date", "-pk")


class SiteRecordViewSet(RegisterViewSet):
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]


class WarningLetterViewSet(SiteRecordViewSet):
    """FDA warning letters to sites (and their close-out dates)."""

    serializer_class = WarningLetterSerializer
    filterset_class = WarningLetterFilter
    queryset = WarningLetter.objects.order_by("-issued_on", "-pk")


class ImportAlertViewSet(SiteRecordViewSet):
    """FDA import alerts that list sites."""

    serializer_class = ImportAlertSerializer
    filterset_class = ImportAlertFilter
    queryset = ImportAlert.objects.order_by("-listed_on", "-pk")


class GmpCertificateViewSet(SiteRecordViewSet):
    """GMP certificates and statements of non-compliance issued to sites."""

    serializer_class = GmpCertificateSerializer
    filterset_class = GmpCertificateFilter
    queryset = GmpCertificate.objects.order_by("-issued_on", "-pk")


class SiteQualificationViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """The approved-supplier list per site and activity. POST records a decision: it creates the
    (site, activity) row or changes it (quality assurance only: the QA role, auditors, managers)."""

    serializer_class = SiteQualificationSerializer
    filterset_class = SiteQualificationFilter
    permission_classes = [IsAuthenticated]
    queryset = SiteQualification.objects.select_related("activity", "decided_by").order_by(
        "site_id", "activity__position", "pk"
    )

    @extend_schema(responses={201: SiteQualificationSerializer, 403: FIELD_ERRORS})
    def create(self, request):
        if not can_record_qualification(request.user):  # who may decide, before what they sent
            raise PermissionDenied("Only quality assurance, auditors and managers record a site's qualification.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        row = services.record_site_qualification(
            site=data["site"],
            activity=data.get("activity"),
            status=data["status"],
            user=request.user,
            decided_on=data["decided_on"],
            requalification_due=data.get("requalification_due"),
            note=data.get("note", ""),
            source=data.get("source", ""),
        )
        return Response(self.get_serializer(row).data, status=status.HTTP_201_CREATED)


class ContactViewSet(RegisterViewSet):
    serializer_class = ContactSerializer
    filterset_fields = ["vendor"]
    queryset = Contact.objects.order_by("vendor_id", "name")


def _vocabulary_viewset(model, extra_fields=()):
    class TermSerializer(serializers.ModelSerializer):
        class Meta:
            fields = ["code", "name", "position", *extra_fields]

    TermSerializer.Meta.model = model
    TermSerializer.__name__ = f"{model.__name__}Serializer"

    class TermViewSet(RegisterViewSet):
        serializer_class = TermSerializer
        queryset = model.objects.all()
        lookup_field = "code"
        lookup_value_regex = r"[-a-zA-Z0-9_]+"  # a slug: anything else is no route (404)
        pagination_class = None
        filter_backends = []

    TermViewSet.__name__ = f"{model.__name__}ViewSet"
    return TermViewSet


class ImportJobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "target",
            "original_name",
            "status",
            "row_count",
            "progress",
            "report",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, job) -> dict:
        return (
            services.import_progress(job)
            if job.is_running
            else {"done": job.row_count, "total": job.row_count, "percent": 100}
        )


class ImportUploadSerializer(serializers.Serializer):
    target = serializers.ChoiceField(choices=ImportJob.Target.choices)
    file = serializers.FileField()

    def validate_file(self, upload):
        try:
            validate_upload(upload)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return upload


class ImportPermission(DjangoModelPermissions):
    # Looking at import jobs needs the right to import, not only to be signed in.
    perms_map = {**DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.add_%(model_name)s"]}


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ImportJobSerializer
    permission_classes = [IsAuthenticated, ImportPermission]
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]
    queryset = ImportJob.objects.none()  # for the schema; requests use get_queryset
    filter_backends = []

    def get_queryset(self):
        return visible_import_jobs(self.request.user).order_by("-created_at")

    @extend_schema(request=ImportUploadSerializer, responses={202: ImportJobSerializer, 403: FIELD_ERRORS})
    def create(self, request):
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        if not request.user.has_perm(IMPORT_PERMISSIONS[upload.validated_data["target"]]):
            return Response(
                {"target": ["Your role cannot import this kind of file."]}, status=status.HTTP_403_FORBIDDEN
            )
        job = services.import_job_create(
            user=request.user, target=upload.validated_data["target"], upload=upload.validated_data["file"]
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={
            202: ImportJobSerializer,
            409: inline_serializer("ImportConflict", {"detail": serializers.CharField()}),
        },
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        job = self.get_object()
        if not services.import_job_confirm(job=job):
            return Response(
                {
                    "detail": f"Only a checked file without errors can be imported; this one is “{job.get_status_display()}”."
                },
                status=status.HTTP_409_CONFLICT,
            )
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def register_routes(router) -> None:
    router.register("vendors", VendorViewSet, basename="vendor")
    router.register("sites", SiteViewSet, basename="site")
    router.register("inspections", InspectionViewSet, basename="inspection")
    router.register("contacts", ContactViewSet, basename="contact")
    router.register("warning-letters", WarningLetterViewSet, basename="warningletter")
    router.register("import-alerts", ImportAlertViewSet, basename="importalert")
    router.register("gmp-certificates", GmpCertificateViewSet, basename="gmpcertificate")
    router.register("site-qualifications", SiteQualificationViewSet, basename="sitequalification")
    router.register("kinds", _vocabulary_viewset(Kind), basename="kind")
    router.register("services", _vocabulary_viewset(Service, ["group"]), basename="service")
    router.register("modalities", _vocabulary_viewset(Modality), basename="modality")
    router.register("dosage-forms", _vocabulary_viewset(DosageForm), basename="dosageform")
    router.register("phases", _vocabulary_viewset(Phase), basename="phase")
    router.register("imports", ImportJobViewSet, basename="import")
