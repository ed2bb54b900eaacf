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
from scoring import access, ahp, program, selectors, services, shortlists
from scoring.models import (
    Candidate,
    Criterion,
    Evaluation,
    KnockoutRule,
    ProgramStep,
    ProposedSite,
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


class ProgramStepSerializer(serializers.ModelSerializer):
    """A program step: what a site must do for it. Writes go through scoring.program (validated there,
    400 with the field)."""

    dosage_form = serializers.SlugRelatedField(slug_field="code", queryset=DosageForm.objects.all(), allow_null=True)
    services = serializers.SlugRelatedField(slug_field="code", queryset=Service.objects.all(), many=True)
    label = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = ProgramStep
        fields = [
            "id",
            "step",
            "label",
            "dosage_form",
            "services",
            "quality_regime",
            "scale_unit",
            "scale_min",
            "scale_max",
            "launch_scale",
            "volume_note",
            "position",
        ]
        read_only_fields = ["position"]
        extra_kwargs = {"quality_regime": {"required": False}}


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
    steps = ProgramStepSerializer(
        many=True,
        required=False,
        help_text="The program's steps (drug substance, drug product, testing...); "
        "on update use /evaluations/{id}/steps/.",
    )

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
            "qa_approval_required",
            "early_review_reason",
            "status",
            "lead",
            "evaluators",
            "criteria",
            "steps",
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


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "array", "items": {"oneOf": [{"type": "number"}, {"type": "string", "example": "1/3"}]}},
    }
)
class PairwiseField(serializers.Field):
    """AHP judgments, read by scoring.ahp.parse_pairwise: the whole matrix or only its upper triangle."""

    def to_internal_value(self, data):
        try:
            return ahp.parse_pairwise(data)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None

    def to_representation(self, value):
        return value


class WeightInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=WeightSet.Method.choices)
    percents = serializers.DictField(
        child=serializers.DecimalField(max_digits=9, decimal_places=4),
        required=False,
        help_text="Direct weights: percent by criterion key, adding up to 100 (within 0.05).",
    )
    pairwise = PairwiseField(
        required=False,
        help_text="AHP: judgments on Saaty's scale (1/9 to 9; numbers or strings such as 1/3), row criterion "
        "versus column criterion in criterion order. Either the whole reciprocal matrix, or only the judgments "
        "above its diagonal (n - 1 rows of n - 1, n - 2, …, 1 entries). A consistency ratio (CR) above 0.20 is "
        "refused; the answer names the three most inconsistent judgments and the values consistent with the weights.",
    )
    justification = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="AHP with CR between 0.10 and 0.20: at least one sentence (20 characters or more, 3 words or "
        "more, ending with a full stop).",
    )
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        style={"input_type": "password"},
        help_text="AHP with CR between 0.10 and 0.20: the lead's password, re-entered (re-authentication, "
        "counted by the login lockout). Ignored otherwise.",
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        needed = "percents" if attrs["method"] == WeightSet.Method.DIRECT else "pairwise"
        if needed not in attrs:
            raise serializers.ValidationError({needed: f"Required with method {attrs['method']}."})
        return attrs


class ProposedSiteSerializer(serializers.ModelSerializer):
    site_name = serializers.CharField(source="site.name", read_only=True)

    class Meta:
        model = ProposedSite
        fields = ["step", "site", "site_name", "suggested"]


class CandidateSerializer(serializers.ModelSerializer):
    vendor_name = serializers.CharField(source="vendor.name", read_only=True)
    proposed_sites = ProposedSiteSerializer(many=True, read_only=True)

    class Meta:
        model = Candidate
        fields = [
            "id",
            "vendor",
            "vendor_name",
            "knockout_override",
            "knockout_override_reason",
            "added_at",
            "proposed_sites",
        ]
        read_only_fields = ["knockout_override", "knockout_override_reason", "added_at"]


SitesInputSerializer = inline_serializer(
    "ProposedSitesInput",
    {
        "sites": serializers.DictField(
            child=serializers.ListField(child=serializers.IntegerField()),
            help_text="{step id: [site ids]}: every program step with at least one site of the vendor that can do it.",
        )
    },
)


class GateSerializer(serializers.Serializer):
    rule = serializers.ChoiceField(choices=KnockoutRule.Rule.choices)
    label = serializers.CharField()
    enabled = serializers.BooleanField()
    default_on = serializers.BooleanField()
    years = serializers.IntegerField()
    off_reason = serializers.CharField()


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
            help_text="Required to move to review while an evaluator has not entered every score or has not "
            "submitted (400 under `reason` naming them and what they lack); recorded with that on the evaluation "
            "and in the trail.",
        ),
    },
)
KnockoutInputSerializer = inline_serializer(
    "KnockoutRules",
    {
        "rules": serializers.DictField(
            child=serializers.IntegerField(allow_null=True, min_value=1, max_value=20),
            help_text="The gates that are on, each with its red-flag window in years (or null); the others are off.",
        ),
        "reason": serializers.CharField(required=False, help_text="Required when a default gate is turned off."),
        "years": serializers.IntegerField(required=False, min_value=1, max_value=20),
    },
)
KnockoutOutputSerializer = inline_serializer(
    "KnockoutGates",
    {
        "rules": serializers.DictField(child=serializers.IntegerField(), help_text="The gates that are on: years."),
        "gates": GateSerializer(many=True),
    },
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
        "steps": "lead",
        "step_detail": "lead",
        "candidate_sites": "lead",
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
            .prefetch_related(
                "required_services",
                "allowed_kinds",
                "evaluators",
                "criteria",
                "steps__dosage_form",
                "steps__services",
            )
            .order_by("-created_at")
        )

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        evaluators = data.pop("evaluators", [])
        steps = [
            {
                **step,
                "dosage_form": step["dosage_form"].code if step.get("dosage_form") else None,
                "services": [service.code for service in step["services"]] if "services" in step else None,
            }
            for step in data.pop("steps", [])
        ]
        serializer.instance = services.evaluation_create(
            lead=self.request.user, evaluators=evaluators, steps=steps, **data
        )

    def perform_update(self, serializer):
        evaluation = serializer.instance
        if not access.is_lead(self.request.user, evaluation):
            raise PermissionDenied("Only the evaluation's lead can change it.")
        if "steps" in serializer.validated_data:
            raise serializers.ValidationError(
                {"steps": [f"Change the steps at /api/v1/evaluations/{evaluation.pk}/steps/."]}
            )
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
                password=values["password"],
                request=request,
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

    @extend_schema(methods=["GET"], responses={200: KnockoutOutputSerializer})
    @extend_schema(
        methods=["POST"],
        request=KnockoutInputSerializer,
        responses={200: KnockoutOutputSerializer, 400: VALIDATION_ERROR, 409: DETAIL},
    )
    @action(detail=True, methods=["get", "post"])
    def knockouts(self, request, pk=None):
        """The must-have gates. The defaults are on for a new evaluation; turning one off needs a reason."""
        evaluation = self.get_object()
        if request.method == "POST":
            body = request_object(request)
            rules = body.get("rules")
            if not isinstance(rules, dict):
                return Response({"rules": ["Give an object of rule: years (or null)."]}, status=400)
            program.gates_set(
                evaluation=evaluation,
                user=request.user,
                rules=rules,
                reason=str(body.get("reason") or ""),
                years=body.get("years"),
            )
        gates = list(KnockoutRule.objects.filter(evaluation=evaluation).order_by("pk"))
        return Response(
            {
                "rules": {g.rule: g.years for g in gates if g.enabled},
                "gates": [
                    {
                        "rule": g.rule,
                        "label": g.get_rule_display(),
                        "enabled": g.enabled,
                        "default_on": g.rule in KnockoutRule.DEFAULT_ON,
                        "years": g.years,
                        "off_reason": g.off_reason,
                    }
                    for g in gates
                ],
            }
        )

    @extend_schema(methods=["GET"], responses={200: ProgramStepSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=ProgramStepSerializer,
        responses={201: ProgramStepSerializer, 400: VALIDATION_ERROR, 403: DETAIL, 409: DETAIL},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def steps(self, request, pk=None):
        """The program's steps: what each needs (dosage form, services, quality regime, batch sizes)."""
        evaluation = self.get_object()
        if request.method == "POST":
            step = program.step_add(evaluation=evaluation, user=request.user, **_step_input(request))
            return Response(ProgramStepSerializer(step).data, status=status.HTTP_201_CREATED)
        steps = evaluation.steps.select_related("dosage_form").prefetch_related("services")
        return Response(ProgramStepSerializer(steps, many=True).data)

    @extend_schema(
        methods=["PATCH"],
        request=ProgramStepSerializer,
        responses={200: ProgramStepSerializer, 400: VALIDATION_ERROR, 404: DETAIL, 409: DETAIL},
    )
    @extend_schema(methods=["DELETE"], responses={204: None, 404: DETAIL, 409: DETAIL})
    @action(detail=True, methods=["patch", "delete"], url_path=r"steps/(?P<step_id>\d+)")
    def step_detail(self, request, pk=None, step_id=None):
        evaluation = self.get_object()
        step = evaluation.steps.filter(pk=step_id).select_related("evaluation").first()
        if step is None:
            return Response({"detail": "No such step."}, status=404)
        if request.method == "DELETE":
            program.step_remove(step=step, user=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        step = program.step_update(step=step, user=request.user, **_step_input(request))
        return Response(ProgramStepSerializer(step).data)

    @extend_schema(methods=["GET"], responses={200: ProposedSiteSerializer(many=True)})
    @extend_schema(
        methods=["PUT"],
        request=SitesInputSerializer,
        responses={200: ProposedSiteSerializer(many=True), 400: VALIDATION_ERROR, 404: DETAIL, 409: DETAIL},
    )
    @action(
        detail=True, methods=["get", "put"], url_path=r"candidates/(?P<candidate_id>\d+)/sites", pagination_class=None
    )
    def candidate_sites(self, request, pk=None, candidate_id=None):
        """The sites a candidate proposes for each program step (suggested from the sites' capabilities)."""
        evaluation = self.get_object()
        candidate = evaluation.candidates.filter(pk=candidate_id).select_related("evaluation", "vendor").first()
        if candidate is None:
            return Response({"detail": "No such candidate."}, status=404)
        if request.method == "PUT":
            sites = request_object(request).get("sites")
            if not isinstance(sites, dict):
                return Response({"sites": ["Give an object of step id: [site ids]."]}, status=400)
            program.proposals_set(candidate=candidate, user=request.user, sites_by_step=sites)
        proposals = candidate.proposed_sites.select_related("site")
        return Response(ProposedSiteSerializer(proposals, many=True).data)

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


STEP_FIELDS = (
    "step",
    "dosage_form",
    "services",
    "quality_regime",
    "scale_unit",
    "scale_min",
    "scale_max",
    "launch_scale",
    "volume_note",
)


def _step_input(request) -> dict:
    """The step fields of a request body, as given (scoring.program validates them)."""
    body = request_object(request)
    data = {name: body[name] for name in STEP_FIELDS if name in body}
    if "services" in data and not isinstance(data["services"], list):
        raise serializers.ValidationError({"services": ["Give a list of service codes."]})
    for name, value in data.items():
        if isinstance(value, (dict, list)) and name != "services":
            raise serializers.ValidationError({name: ["Give a single value."]})
    return data


def register_routes(router) -> None:
    router.register("evaluations", EvaluationViewSet, basename="evaluation")
    router.register("shortlists", ShortlistViewSet, basename="shortlist")
