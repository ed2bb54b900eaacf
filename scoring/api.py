"""REST API of evaluations: /api/v1/evaluations and their weights, candidates, scores, ranking."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from accounts.roles import EVALUATOR, has_role
from core.errors import contains_nul, request_object
from core.openapi import FIELD_ERRORS, VALIDATION_ERROR
from scoring import access, selectors, services, shortlists
from scoring.models import (
    Candidate,
    Criterion,
    Evaluation,
    KnockoutRule,
    Score,
    Shortlist,
    ShortlistDecision,
    ShortlistEntry,
    WeightSet,
)
from scoring.serializers import RankingSerializer, SensitivitySerializer
from vendors.api import TermField
from vendors.models import DosageForm, Kind, Modality, Phase, RegulatoryInspection, Service, Vendor

AGENCIES = RegulatoryInspection.Agency.choices


class CriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Criterion
        fields = [
            "id",
            "key",
            "name",
            "description",
            "rubric_1",
            "rubric_3",
            "rubric_5",
            "evidence",
            "position",
            "parent",
            "local_weight",
        ]
        read_only_fields = ["key", "evidence", "position"]


class CriterionTextSerializer(serializers.ModelSerializer):
    """Checks the text fields of a criterion that the criteria actions pass on: strings, within length."""

    class Meta:
        model = Criterion
        fields = ["name", "description", "rubric_1", "rubric_3", "rubric_5"]
        extra_kwargs = {"name": {"required": False, "allow_blank": True}}  # the service says what a name lacks


def _criterion_text(body) -> dict:
    checked = CriterionTextSerializer(data={k: v for k, v in body.items() if k in CriterionTextSerializer.Meta.fields})
    checked.is_valid(raise_exception=True)
    return checked.validated_data


class UsernameField(serializers.SlugRelatedField):
    def to_internal_value(self, data):
        if contains_nul(data):  # PostgreSQL would refuse the lookup itself
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class EvaluationSerializer(serializers.ModelSerializer):
    modality = TermField(Modality, required=False, allow_null=True)
    dosage_form = TermField(DosageForm, required=False, allow_null=True)
    phase = TermField(Phase, required=False, allow_null=True)
    required_services = TermField(Service, many=True, required=False)
    allowed_kinds = TermField(Kind, many=True, required=False)
    target_agencies = serializers.ListField(child=serializers.ChoiceField(choices=AGENCIES), required=False)
    lead = serializers.CharField(source="lead.username", read_only=True)
    evaluators = UsernameField(
        slug_field="username",
        many=True,
        required=False,
        queryset=Evaluation.evaluators.field.related_model.objects.all(),
    )
    criteria = CriterionSerializer(many=True, read_only=True)

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "name",
            "description",
            "modality",
            "dosage_form",
            "phase",
            "target_agencies",
            "required_services",
            "allowed_kinds",
            "scale_unit",
            "scale_min",
            "scale_max",
            "launch_scale",
            "needed_by",
            "aggregation",
            "required_approvals",
            "early_review_reason",
            "status",
            "lead",
            "evaluators",
            "criteria",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status", "early_review_reason", "created_at", "updated_at"]
        extra_kwargs = {"required_approvals": {"required": False}}

    def validate_required_approvals(self, value):
        minimum = settings.SHORTLIST_REQUIRED_APPROVALS
        if value < minimum:
            raise serializers.ValidationError(f"At least {minimum} signed approvals are required (the site's minimum).")
        return value

    def validate_evaluators(self, users):
        not_evaluators = [u.username for u in users if not has_role(u, EVALUATOR)]
        if not_evaluators:
            raise serializers.ValidationError(f"Not evaluators: {', '.join(not_evaluators)}.")
        return users

    def validate(self, attrs):
        low, high = attrs.get("scale_min"), attrs.get("scale_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"scale_max": "Must not be below scale_min."})
        if (low is not None or high is not None or attrs.get("launch_scale") is not None) and not attrs.get(
            "scale_unit", getattr(self.instance, "scale_unit", "")
        ):
            raise serializers.ValidationError({"scale_unit": "Give the unit of the batch sizes."})
        return attrs


class WeightSetSerializer(serializers.ModelSerializer):
    percents = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username")

    class Meta:
        model = WeightSet
        fields = [
            "version",
            "method",
            "percents",
            "pairwise",
            "consistency_ratio",
            "justification",
            "reason",
            "created_by",
            "created_at",
        ]

    def get_percents(self, weight_set) -> dict[str, float]:
        keys = self.context["criterion_keys"]
        return {keys[w.criterion_id]: float(w.percent) for w in weight_set.weights.all()}


class WeightInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=WeightSet.Method.choices)
    percents = serializers.DictField(child=serializers.DecimalField(max_digits=9, decimal_places=4), required=False)
    pairwise = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()), required=False)
    justification = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        needed = "percents" if attrs["method"] == WeightSet.Method.DIRECT else "pairwise"
        if needed not in attrs:
            raise serializers.ValidationError({needed: f"Required with method {attrs['method']}."})
        return attrs


class CandidateSerializer(serializers.ModelSerializer):
    vendor_name = serializers.CharField(source="vendor.name", read_only=True)

    class Meta:
        model = Candidate
        fields = ["id", "vendor", "vendor_name", "knockout_override", "knockout_override_reason", "added_at"]
        read_only_fields = ["knockout_override", "knockout_override_reason", "added_at"]


class ScoreInputSerializer(serializers.Serializer):
    candidate = serializers.IntegerField()
    criterion = serializers.IntegerField()
    value = serializers.IntegerField(min_value=1, max_value=5)
    rationale = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    evidence_url = serializers.URLField(required=False, allow_blank=True, default="")
    revision = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)


class ScoreSerializer(serializers.ModelSerializer):
    evaluator = serializers.CharField(source="evaluator.username")

    class Meta:
        model = Score
        fields = [
            "id",
            "candidate",
            "criterion",
            "evaluator",
            "value",
            "rationale",
            "evidence_url",
            "revision",
            "updated_at",
        ]


class OverrideInputSerializer(serializers.Serializer):
    candidate = serializers.IntegerField()
    criterion = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=4, decimal_places=2)
    justification = serializers.CharField(allow_blank=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)


TransitionSerializer = inline_serializer(
    "EvaluationTransition",
    {
        "action": serializers.ChoiceField(choices=list(services.TRANSITIONS)),
        "reason": serializers.CharField(
            required=False,
            help_text="Required to move to review while an evaluator has not submitted; recorded.",
        ),
    },
)
KnockoutInputSerializer = inline_serializer(
    "KnockoutRules",
    {"rules": serializers.DictField(child=serializers.IntegerField(allow_null=True, min_value=1, max_value=30))},
)
DETAIL = inline_serializer("ScoringRefusal", {"detail": serializers.CharField()})


class EvaluationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = EvaluationSerializer
    filter_backends = []
    # Who may write through each action, checked before the request body is looked at.
    WRITERS = {
        "update": "lead",
        "partial_update": "lead",
        "transition": "lead",
        "weights": "lead",
        "candidates": "lead",
        "override_knockout": "lead",
        "knockouts": "lead",
        "add_criterion": "lead",
        "change_criterion": "lead",
        "scores": "evaluator",
        "submit": "evaluator",
        "derived_override": "team",
    }
    WHO = {"lead": "the evaluation's lead", "evaluator": "the evaluation's evaluators", "team": "the evaluation's team"}

    def get_object(self):
        evaluation = super().get_object()
        who = self.WRITERS.get(self.action)
        if who and self.request.method not in SAFE_METHODS and not access.may_act(self.request.user, evaluation, who):
            raise PermissionDenied(f"Only {self.WHO[who]} can do this.")
        return evaluation

    def create(self, request, *args, **kwargs):
        if not access.can_create_evaluation(request.user):
            raise PermissionDenied("Only procurement leads create evaluations.")
        return super().create(request, *args, **kwargs)

    def get_queryset(self):
        return (
            access.visible_evaluations(self.request.user)
            .select_related("lead", "modality", "dosage_form", "phase")
            .prefetch_related("required_services", "allowed_kinds", "evaluators", "criteria")
            .order_by("-created_at")
        )

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        evaluators = data.pop("evaluators", [])
        serializer.instance = services.evaluation_create(lead=self.request.user, evaluators=evaluators, **data)

    def perform_update(self, serializer):
        evaluation = serializer.instance
        if not access.is_lead(self.request.user, evaluation):
            raise PermissionDenied("Only the evaluation's lead can change it.")
        locked = set(serializer.validated_data) - {"name", "description", "evaluators", "needed_by"}
        if evaluation.status != Evaluation.Status.DRAFT and locked:
            raise serializers.ValidationError({field: ["Fixed once scoring has started."] for field in sorted(locked)})
        serializer.save()

    @extend_schema(
        request=TransitionSerializer,
        responses={200: EvaluationSerializer, 400: FIELD_ERRORS, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        evaluation = self.get_object()
        body = request_object(request)
        reason = body.get("reason", "")
        if not isinstance(reason, str):
            return Response({"reason": ["Give the reason as text."]}, status=status.HTTP_400_BAD_REQUEST)
        evaluation = services.evaluation_transition(
            evaluation=evaluation, user=request.user, action=str(body.get("action", "")), reason=reason
        )
        return Response(EvaluationSerializer(evaluation, context={"request": request}).data)

    @extend_schema(methods=["GET"], responses={200: WeightSetSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=WeightInputSerializer,
        responses={201: WeightSetSerializer, 400: VALIDATION_ERROR, 403: DETAIL},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def weights(self, request, pk=None):
        evaluation = self.get_object()
        context = {"criterion_keys": dict(evaluation.criteria.values_list("pk", "key"))}
        if request.method == "GET":
            sets = evaluation.weight_sets.select_related("created_by").prefetch_related("weights")
            return Response(WeightSetSerializer(sets, many=True, context=context).data)
        data = WeightInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["method"] == WeightSet.Method.DIRECT:
            weight_set = services.weights_set_direct(
                evaluation=evaluation, user=request.user, percents=values["percents"], reason=values["reason"]
            )
        else:
            weight_set = services.weights_set_ahp(
                evaluation=evaluation,
                user=request.user,
                pairwise=values["pairwise"],
                justification=values["justification"],
                reason=values["reason"],
            )
        return Response(WeightSetSerializer(weight_set, context=context).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: CandidateSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=CandidateSerializer,
        responses={201: CandidateSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: FIELD_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def candidates(self, request, pk=None):
        evaluation = self.get_object()
        if request.method == "GET":
            return Response(CandidateSerializer(evaluation.candidates.select_related("vendor"), many=True).data)
        vendor_id = request_object(request).get("vendor")
        vendor = Vendor.objects.filter(pk=vendor_id).first() if str(vendor_id).isdecimal() else None
        if vendor is None:
            return Response({"vendor": ["No such vendor."]}, status=400)
        candidate = services.candidate_add(evaluation=evaluation, user=request.user, vendor=vendor)
        return Response(CandidateSerializer(candidate).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses={200: CandidateSerializer, 400: VALIDATION_ERROR, 403: DETAIL})
    @action(detail=True, methods=["post"], url_path=r"candidates/(?P<candidate_id>\d+)/override")
    def override_knockout(self, request, pk=None, candidate_id=None):
        evaluation = self.get_object()
        candidate = (
            Candidate.objects.filter(evaluation=evaluation, pk=candidate_id).select_related("evaluation").first()
        )
        if candidate is None:
            return Response({"detail": "No such candidate."}, status=404)
        reason = str(request_object(request).get("reason", ""))
        candidate = services.candidate_override_knockout(candidate=candidate, user=request.user, reason=reason)
        return Response(CandidateSerializer(candidate).data)

    @extend_schema(methods=["GET"], responses={200: KnockoutInputSerializer})
    @extend_schema(
        methods=["POST"],
        request=KnockoutInputSerializer,
        responses={200: KnockoutInputSerializer, 400: VALIDATION_ERROR, 409: DETAIL},
    )
    @action(detail=True, methods=["get", "post"])
    def knockouts(self, request, pk=None):
        evaluation = self.get_object()
        if request.method == "POST":
            rules = request_object(request).get("rules")
            if not isinstance(rules, dict):
                return Response({"rules": ["Give an object of rule: years (or null)."]}, status=400)
            services.knockout_rule_set(evaluation=evaluation, user=request.user, rules=rules)
        rules = {r.rule: r.years for r in KnockoutRule.objects.filter(evaluation=evaluation)}
        return Response({"rules": rules})

    @extend_schema(methods=["GET"], responses={200: ScoreSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=ScoreInputSerializer,
        responses={200: ScoreSerializer, 400: VALIDATION_ERROR, 409: DETAIL},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def scores(self, request, pk=None):
        evaluation = self.get_object()
        if request.method == "GET":
            scores = Score.objects.filter(candidate__evaluation=evaluation).select_related("evaluator")
            if access.blind_to_others(request.user, evaluation):
                scores = scores.filter(evaluator=request.user)
            return Response(ScoreSerializer(scores, many=True).data)
        data = ScoreInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        score = services.score_save(
            evaluation=evaluation,
            user=request.user,
            candidate_id=values["candidate"],
            criterion_id=values["criterion"],
            value=values["value"],
            rationale=values["rationale"],
            evidence_url=values["evidence_url"],
            revision=values["revision"],
        )
        return Response(ScoreSerializer(score).data)

    @extend_schema(request=None, responses={201: None, 403: DETAIL, 409: DETAIL})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        evaluation = self.get_object()
        submission = services.evaluator_submit(evaluation=evaluation, user=request.user)
        return Response({"submitted_at": submission.submitted_at}, status=status.HTTP_201_CREATED)

    @extend_schema(request=OverrideInputSerializer, responses={200: None, 400: VALIDATION_ERROR, 403: DETAIL})
    @action(detail=True, methods=["post"], url_path="derived-override")
    def derived_override(self, request, pk=None):
        evaluation = self.get_object()
        data = OverrideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        candidate = (
            Candidate.objects.filter(evaluation=evaluation, pk=values["candidate"]).select_related("evaluation").first()
        )
        criterion = Criterion.objects.filter(evaluation=evaluation, pk=values["criterion"]).first()
        if candidate is None or criterion is None:
            return Response({"detail": "No such candidate or criterion in this evaluation."}, status=400)
        override = services.derived_override(
            candidate=candidate,
            criterion=criterion,
            user=request.user,
            value=values["value"],
            justification=values["justification"],
        )
        return Response({"value": float(override.value)})

    @extend_schema(
        methods=["POST"],
        request=CriterionSerializer,
        responses={201: CriterionSerializer, 400: VALIDATION_ERROR, 409: DETAIL},
    )
    @action(detail=True, methods=["post"], url_path="criteria")
    def add_criterion(self, request, pk=None):
        evaluation = self.get_object()
        body = request_object(request)
        fields = {k: str(body.get(k, "")) for k in ("name", "description", "rubric_1", "rubric_3", "rubric_5")}
        fields.update(_criterion_text(body))
        parent_id = body.get("parent")
        parent = (
            Criterion.objects.filter(evaluation=evaluation, pk=parent_id).first()
            if str(parent_id).isdecimal()
            else None
        )
        if parent_id not in (None, "") and parent is None:
            return Response({"parent": ["No such criterion in this evaluation."]}, status=400)
        criterion = services.criterion_add(
            evaluation=evaluation,
            user=request.user,
            parent=parent,
            local_weight=body.get("local_weight", 1),
            **fields,
        )
        return Response(CriterionSerializer(criterion).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["PATCH"],
        request=CriterionSerializer,
        responses={200: CriterionSerializer, 400: VALIDATION_ERROR, 409: DETAIL},
    )
    @extend_schema(methods=["DELETE"], responses={204: None, 409: DETAIL})
    @action(detail=True, methods=["patch", "delete"], url_path=r"criteria/(?P<criterion_id>\d+)")
    def change_criterion(self, request, pk=None, criterion_id=None):
        evaluation = self.get_object()
        criterion = (
            Criterion.objects.filter(evaluation=evaluation, pk=criterion_id).select_related("evaluation").first()
        )
        if criterion is None:
            return Response({"detail": "No such criterion."}, status=404)
        if request.method == "DELETE":
            return Response(
                services.criterion_remove(criterion=criterion, user=request.user), status=status.HTTP_204_NO_CONTENT
            )
        body = request_object(request)
        fields = {
            k: v
            for k, v in body.items()
            if k in ("name", "description", "rubric_1", "rubric_3", "rubric_5", "evidence")
        }
        fields.update(_criterion_text(body))
        criterion = services.criterion_update(criterion=criterion, user=request.user, **fields)
        return Response(CriterionSerializer(criterion).data)

    @extend_schema(responses={200: RankingSerializer})
    @action(detail=True, methods=["get"])
    def ranking(self, request, pk=None):
        return Response(RankingSerializer(selectors.ranking(self.get_object(), request.user)).data)

    @extend_schema(responses={200: SensitivitySerializer})
    @action(detail=True, methods=["get"])
    def sensitivity(self, request, pk=None):
        result = selectors.ranking(self.get_object(), request.user)
        data = None if result.withheld else selectors.sensitivity(result)
        return Response(SensitivitySerializer((result, data)).data)


class ShortlistEntrySerializer(serializers.ModelSerializer):
    vendor = serializers.CharField(source="candidate.vendor.name", read_only=True)
    vendor_id = serializers.IntegerField(source="candidate.vendor_id", read_only=True)

    class Meta:
        model = ShortlistEntry
        fields = ["candidate", "vendor_id", "vendor"]


class SignatureManifestSerializer(serializers.Serializer):
    printed_name = serializers.CharField()
    user_id = serializers.IntegerField()
    signed_at = serializers.DateTimeField()
    meaning = serializers.CharField()
    decision = serializers.CharField()
    comment = serializers.CharField()
    record_hash = serializers.CharField()
    valid = serializers.BooleanField()


class ShortlistSerializer(serializers.ModelSerializer):
    entries = ShortlistEntrySerializer(many=True, read_only=True)
    candidates = serializers.ListField(child=serializers.IntegerField(), write_only=True)
    signatures = serializers.SerializerMethodField()
    snapshot_intact = serializers.SerializerMethodField()

    class Meta:
        model = Shortlist
        fields = [
            "id",
            "evaluation",
            "version",
            "status",
            "candidates",
            "entries",
            "rationale",
            "required_approvals",
            "proposed_by",
            "created_at",
            "submitted_at",
            "decided_at",
            "snapshot",
            "snapshot_hash",
            "snapshot_intact",
            "signatures",
        ]
        read_only_fields = [
            "version",
            "status",
            "proposed_by",
            "created_at",
            "submitted_at",
            "decided_at",
            "snapshot",
            "snapshot_hash",
        ]
        extra_kwargs = {"evaluation": {"queryset": Evaluation.objects.all()}}

    @extend_schema_field(SignatureManifestSerializer(many=True))
    def get_signatures(self, shortlist):
        return SignatureManifestSerializer(shortlists.manifest(shortlist), many=True).data

    def get_snapshot_intact(self, shortlist) -> bool:
        return shortlists.snapshot_intact(shortlist)

    def to_representation(self, shortlist):
        data = super().to_representation(shortlist)
        if self._blind(shortlist):
            # Blind scoring: nothing derived from the other evaluators' scores (see access.blind_evaluations).
            data["snapshot"] = shortlists.snapshot_for(shortlist, None, blind=True)
            data["entries"], data["rationale"] = [], ""
            for signature in data["signatures"]:
                signature["comment"] = ""
        return data

    def _blind(self, shortlist) -> bool:
        request = self.context.get("request")
        if request is None:
            return False
        if "blind_evaluations" not in self.context:  # one query for a whole list
            self.context["blind_evaluations"] = set(access.blind_evaluations(request.user).values_list("pk", flat=True))
        return shortlist.evaluation_id in self.context["blind_evaluations"]


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=ShortlistDecision.Decision.choices)
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    snapshot_hash = serializers.CharField(help_text="The hash of the snapshot you reviewed.")
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ShortlistViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Shortlists of the evaluations you may see. POST proposes (or changes the draft); submit; decide."""

    serializer_class = ShortlistSerializer
    filterset_fields = ["evaluation", "status"]
    ordering_fields = ["submitted_at", "version", "created_at"]

    def get_queryset(self):
        return (
            Shortlist.objects.filter(evaluation__in=access.visible_evaluations(self.request.user))
            .select_related("evaluation", "proposed_by")
            .prefetch_related("entries__candidate__vendor", "decisions", "signatures")
            .order_by("-created_at")
        )

    @extend_schema(responses={201: ShortlistSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not access.visible_evaluations(request.user).filter(pk=data["evaluation"].pk).exists():
            return Response({"evaluation": ["No such evaluation."]}, status=status.HTTP_400_BAD_REQUEST)
        shortlist = shortlists.shortlist_propose(
            evaluation=data["evaluation"],
            user=request.user,
            candidate_ids=data["candidates"],
            rationale=data.get("rationale", ""),
            required_approvals=data.get("required_approvals"),
        )
        return Response(
            ShortlistSerializer(shortlist, context={"request": request}).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=None, responses={200: ShortlistSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        shortlist = shortlists.shortlist_submit(shortlist=self.get_object(), user=request.user)
        return Response(ShortlistSerializer(shortlist, context={"request": request}).data)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: ShortlistSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        shortlist = self.get_object()
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        shortlist = shortlists.shortlist_decide(
            request=request,
            shortlist=shortlist,
            user=request.user,
            decision=data["decision"],
            password=data["password"],
            seen_hash=data["snapshot_hash"],
            comment=data["comment"],
        )
        return Response(ShortlistSerializer(shortlist, context={"request": request}).data)


def register_routes(router) -> None:
    router.register("evaluations", EvaluationViewSet, basename="evaluation")
    router.register("shortlists", ShortlistViewSet, basename="shortlist")
