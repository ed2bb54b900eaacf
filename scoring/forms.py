"""The evaluation pages' forms. Each operation form's cleaned_data are its service's keyword arguments
(besides the evaluation and the user): the form reads and types the fields, the service decides."""

from decimal import Decimal

from django import forms
from django.conf import settings

from accounts.models import User
from accounts.roles import EVALUATOR
from core.forms import StyledFormMixin
from scoring import ahp
from scoring.models import MAX_REQUIRED_APPROVALS, Candidate, Criterion, Evaluation, KnockoutRule, ProgramStep
from vendors.forms import ServiceChoiceField
from vendors.models import DosageForm, RegulatoryInspection, Service, Site, Vendor


class EvaluationForm(StyledFormMixin, forms.ModelForm):
    required_services = ServiceChoiceField(required=False)
    target_agencies = forms.MultipleChoiceField(
        choices=RegulatoryInspection.Agency.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    required_approvals = forms.IntegerField(
        label="Signed approvals required",
        required=False,  # empty: the site's minimum
        max_value=MAX_REQUIRED_APPROVALS,
        help_text="Signed manager approvals every shortlist version needs; a version may ask for more, never fewer.",
    )
    evaluators = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(groups__name=EVALUATOR).order_by("username"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Cross-functional team members who score the candidates.",
    )

    class Meta:
        model = Evaluation
        fields = [
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
            "evaluators",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "allowed_kinds": forms.CheckboxSelectMultiple,
            "needed_by": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evaluators"].label_from_instance = lambda user: f"{user.printed_name} ({user.username})"
        self.fields["required_approvals"].widget.attrs["min"] = settings.SHORTLIST_REQUIRED_APPROVALS
        self.fields["required_approvals"].initial = settings.SHORTLIST_REQUIRED_APPROVALS
        self.fields["qa_approval_required"].initial = True  # a QA head signs what the product shows

    def clean_required_approvals(self):
        value = self.cleaned_data.get("required_approvals")
        minimum = settings.SHORTLIST_REQUIRED_APPROVALS
        if value is None:
            return minimum  # left empty: the site's minimum
        if value < minimum:
            raise forms.ValidationError(f"At least {minimum} (the site's minimum).")
        return value

    def clean(self):
        data = super().clean()
        low, high = data.get("scale_min"), data.get("scale_max")
        if low is not None and high is not None and low > high:
            self.add_error("scale_max", "Must not be below the lower bound.")
        if (low is not None or high is not None or data.get("launch_scale") is not None) and not data.get("scale_unit"):
            self.add_error("scale_unit", "Give the unit of the batch sizes.")
        return data


class KnockoutForm(StyledFormMixin, forms.Form):
    rules = forms.MultipleChoiceField(
        choices=KnockoutRule.Rule.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Must-have gates"
    )
    years = forms.IntegerField(
        min_value=1, max_value=20, initial=KnockoutRule.DEFAULT_YEARS, label="Red-flag window (years)"
    )
    reason = forms.CharField(
        label="Why a default gate is off",
        required=False,
        max_length=2000,
        help_text="Required when you turn off a gate that is on by default; recorded with the gate and in the trail.",
    )

    def clean(self):
        """gates_set(rules={rule: years}, reason=..., years=...)."""
        data = super().clean()
        if self.errors:
            return data
        years = data.get("years")
        return {
            "rules": dict.fromkeys(data.get("rules") or [], years),
            "reason": data.get("reason") or "",
            "years": years,
        }


class ProgramStepForm(StyledFormMixin, forms.Form):
    """program.step_add(...): what a site must do for one step of the program."""

    step = forms.ChoiceField(choices=ProgramStep.Step.choices, label="Step")
    dosage_form = forms.ModelChoiceField(
        queryset=DosageForm.objects.all(), to_field_name="code", required=False, label="Dosage form"
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.all(),
        to_field_name="code",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="What the site must do",
        help_text="None chosen: the step's usual service (e.g. drug substance manufacturing).",
    )
    quality_regime = forms.ChoiceField(
        choices=[("", "The step's usual regime"), *Site.QualityRegime.choices], required=False, label="Quality regime"
    )
    scale_unit = forms.ChoiceField(choices=[("", "—"), *Site.ScaleUnit.choices], required=False, label="Unit")
    scale_min = forms.DecimalField(
        required=False, min_value=0, max_digits=12, decimal_places=3, label="Batch size from"
    )
    scale_max = forms.DecimalField(required=False, min_value=0, max_digits=12, decimal_places=3, label="Batch size to")
    launch_scale = forms.DecimalField(
        required=False, min_value=0, max_digits=12, decimal_places=3, label="Batch size at launch"
    )
    volume_note = forms.CharField(required=False, max_length=200, label="Volumes", help_text="E.g. 4 batches a year.")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        return {
            **data,
            "dosage_form": data["dosage_form"].code if data.get("dosage_form") else None,
            "services": [service.code for service in data.get("services") or []] or None,
        }


class ProposedSitesForm(forms.Form):
    """program.proposals_set(sites_by_step=...): per program step, the candidate's sites for it."""

    def __init__(self, *args, candidate: Candidate, steps, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = list(steps)
        choices = [(site.pk, site.name) for site in sites]
        for step in self.steps:
            self.fields[f"step_{step.pk}"] = forms.TypedMultipleChoiceField(
                choices=choices, coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label=str(step)
            )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        return {"sites_by_step": {step.pk: data.get(f"step_{step.pk}") or [] for step in self.steps}}


def _text(label: str, **kwargs) -> forms.CharField:
    """Free text the service checks itself (and names in its refusal): optional here, stripped there."""
    return forms.CharField(label=label, required=False, strip=False, max_length=5000, **kwargs)


def _choice(queryset, message: str, **kwargs) -> forms.ModelChoiceField:
    """A record of this evaluation; a tampered or stale id is a message, not a server error."""
    return forms.ModelChoiceField(
        queryset=queryset, error_messages={"required": message, "invalid_choice": message}, **kwargs
    )


class TransitionForm(forms.Form):
    """evaluation_transition(reason=...); the action comes from the URL. `confirm` is the page's
    confirmation (moving to review is confirmed on its own page), not the service's business."""

    reason = forms.CharField(
        label="Reason to move to review anyway",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        help_text="Recorded on the evaluation and in the audit trail, with what each evaluator lacked.",
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    @property
    def confirmed(self) -> bool:
        return bool(getattr(self, "_confirmed", False))

    def clean(self):
        data = super().clean()
        self._confirmed = bool(data.pop("confirm", False))
        return {"reason": data.get("reason", "")}


class CandidateAddForm(forms.Form):
    """candidate_add(vendor=...)."""

    vendor = _choice(Vendor.objects.all(), "Choose a vendor from the register.")


class KnockoutOverrideForm(forms.Form):
    """candidate_override_knockout(candidate=..., reason=...)."""

    candidate = _choice(Candidate.objects.none(), "Choose a candidate of this evaluation.")
    reason = _text("Reason")

    def __init__(self, *args, evaluation: Evaluation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["candidate"].queryset = evaluation.candidates.select_related("evaluation", "vendor")


RUBRIC_FIELDS = ("name", "description", "rubric_1", "rubric_3", "rubric_5")


class CriterionAddForm(forms.Form):
    """criterion_add(name=..., description=..., rubric_1/3/5=..., parent=..., local_weight=...)."""

    name = _text("Name")
    description = _text("Description")
    rubric_1 = _text("What a 1 looks like")
    rubric_3 = _text("What a 3 looks like")
    rubric_5 = _text("What a 5 looks like")
    parent = _choice(
        Criterion.objects.none(), "Sub-criteria refine a top-level criterion of this evaluation.", required=False
    )
    local_weight = forms.DecimalField(label="Local weight", required=False, max_digits=9, decimal_places=3)

    def __init__(self, *args, evaluation: Evaluation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = evaluation.top_criteria()

    def clean_local_weight(self):
        value = self.cleaned_data.get("local_weight")
        return Decimal(1) if value is None else value


class CriterionUpdateForm(forms.Form):
    """criterion_update(name=..., description=..., rubric_1/3/5=..., evidence=...); the source only when
    the page offers it (a criterion with sub-criteria, or a sub-criterion, has none)."""

    name = _text("Name")
    description = _text("Description")
    rubric_1 = _text("What a 1 looks like")
    rubric_3 = _text("What a 3 looks like")
    rubric_5 = _text("What a 5 looks like")
    evidence = forms.ChoiceField(label="Source", choices=Criterion.Evidence.choices, required=False)

    def clean(self):
        data = super().clean()
        if "evidence" not in self.data:
            data.pop("evidence", None)
        return data


class WeightsDirectForm(forms.Form):
    """weights_set_direct(percents={key: percent}, reason=...): one field per top-level criterion."""

    reason = _text("Reason for the change (weights are locked)")

    def __init__(self, *args, criteria, locked: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.keys = []
        for criterion in criteria:
            name = f"weight_{criterion.key}"
            self.fields[name] = forms.DecimalField(
                label=f"{criterion.name} (%)",
                min_value=0,
                max_value=100,
                max_digits=5,
                decimal_places=2,
                required=False,
                widget=forms.NumberInput(
                    attrs={"step": "0.01", "class": "form-control form-control-sm weight-input", "inputmode": "decimal"}
                ),
            )
            self.keys.append((name, criterion.key))
        self.fields["reason"].required = locked
        self.fields["reason"].error_messages["required"] = (
            "Weights are locked once scoring has started: give a reason to create a new version."
        )
        self.order_fields([name for name, _key in self.keys] + ["reason"])

    @property
    def weight_fields(self):
        return [self[name] for name, _key in self.keys]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        percents = {key: data.get(name) or Decimal(0) for name, key in self.keys}
        return {"percents": percents, "reason": data.get("reason", "")}


class AhpForm(forms.Form):
    """weights_set_ahp(pairwise=matrix, justification=..., password=..., reason=...): one select per
    judgment above the diagonal (ahp_<i>_<j>, row i versus column j), completed by scoring.ahp."""

    justification = _text(
        "Justification if CR > 0.10",
        help_text="Needed when the consistency ratio is between 0.10 and 0.20 (above 0.20 the comparisons are "
        f"refused): {ahp.JUSTIFICATION_RULE}.",
    )
    password = forms.CharField(
        label="Your password, if CR > 0.10",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Inconsistent comparisons are used only with your password, re-entered.",
    )
    reason = _text("Reason for the change")

    def __init__(self, *args, criteria, locked: bool, matrix=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        size = len(self.criteria)
        stored = ahp.upper_triangle(matrix) if matrix and len(matrix) == size else {}
        for i, row in enumerate(self.criteria):
            for j in range(i + 1, size):
                column = self.criteria[j]
                self.fields[f"ahp_{i}_{j}"] = forms.CharField(
                    label=f"{row.name} versus {column.name}",
                    initial=ahp.label(stored.get((i, j), 1.0)),
                    required=False,  # left out: equal (1)
                    widget=forms.Select(choices=[(label, label) for label in ahp.SCALE_LABELS]),
                )
                self.fields[f"ahp_{i}_{j}"].widget.attrs.update(
                    {"class": "form-select form-select-sm", "aria-label": f"{row.name} versus {column.name}"}
                )
        self.fields["reason"].required = locked
        self.fields["reason"].error_messages["required"] = (
            "Weights are locked once scoring has started: give a reason to create a new version."
        )

    def rows(self):
        """For the table: (row criterion, [(column criterion, bound field or None, is the diagonal)])."""
        size = len(self.criteria)
        return [
            (row, [(col, self[f"ahp_{i}_{j}"] if j > i else None, i == j) for j, col in enumerate(self.criteria)])
            for i, row in enumerate(self.criteria)
            if size
        ]

    def clean(self):
        data = super().clean()
        judgments = {}
        for name in list(self.fields):
            if not name.startswith("ahp_"):
                continue
            i, j = (int(part) for part in name.split("_")[1:])
            try:
                judgments[(i, j)] = ahp.parse_judgment(data.get(name) or "1")
            except ValueError as error:
                self.add_error(name, str(error))
        if self.errors:
            return data
        return {
            "pairwise": ahp.complete(len(self.criteria), judgments),
            "justification": data.get("justification", ""),
            "password": data.get("password", ""),
            "reason": data.get("reason", ""),
        }


class DerivedOverrideForm(forms.Form):
    """derived_override(candidate=..., criterion=..., value=..., justification=...)."""

    candidate = _choice(Candidate.objects.none(), "Choose a candidate and a derived criterion.")
    criterion = _choice(Criterion.objects.none(), "Choose a candidate and a derived criterion.")
    value = _text("Value")
    justification = _text("Justification")

    def __init__(self, *args, evaluation: Evaluation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["candidate"].queryset = evaluation.candidates.select_related("evaluation", "vendor")
        self.fields["criterion"].queryset = evaluation.criteria.all()  # the service refuses a judged one


class ScoreCellForm(forms.Form):
    """score_save(candidate_id=..., criterion_id=..., value=..., rationale=..., evidence_url=..., revision=...):
    one cell of the grid. `candidate` and `criterion` stay on the form for the cell's answer."""

    candidate = _choice(Candidate.objects.none(), "Unknown cell.")
    criterion = _choice(Criterion.objects.none(), "Unknown cell.")
    value = _text("Score")
    rationale = forms.CharField(label="Rationale", required=False, strip=False)
    evidence_url = forms.CharField(label="Evidence link", required=False)
    revision = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, evaluation: Evaluation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["candidate"].queryset = evaluation.candidates.select_related("vendor")
        self.fields["criterion"].queryset = evaluation.criteria.all()

    def clean_rationale(self):
        return self.cleaned_data.get("rationale", "")[:5000]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        self.candidate, self.criterion = data["candidate"], data["criterion"]
        return {
            "candidate_id": self.candidate.pk,
            "criterion_id": self.criterion.pk,
            "value": data.get("value", ""),
            "rationale": data.get("rationale", ""),
            "evidence_url": data.get("evidence_url", ""),
            "revision": data.get("revision"),
        }


class ShortlistProposeForm(forms.Form):
    """shortlist_propose(candidate_ids=..., rationale=..., required_approvals=...)."""

    candidates = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        error_messages={"invalid_choice": "Choose candidates of this evaluation."},
    )
    rationale = _text("Rationale")
    required_approvals = forms.CharField(label="Signed approvals required", required=False, max_length=20)

    def __init__(self, *args, evaluation: Evaluation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["candidates"].choices = [(pk, pk) for pk in evaluation.candidates.values_list("pk", flat=True)]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        return {
            "candidate_ids": data.get("candidates") or [],
            "rationale": data.get("rationale", ""),
            "required_approvals": data.get("required_approvals") or None,
        }


class ShortlistDecisionForm(forms.Form):
    """shortlist_decide(decision=..., password=..., seen_hash=..., comment=...)."""

    decision = forms.CharField(label="Decision", required=False, max_length=20)
    password = forms.CharField(label="Password", required=False, strip=False, max_length=4096)
    snapshot_hash = forms.CharField(required=False, max_length=128)
    comment = _text("Comment")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        return {
            "decision": data.get("decision", ""),
            "password": data.get("password", ""),
            "seen_hash": data.get("snapshot_hash", ""),
            "comment": data.get("comment", ""),
        }
