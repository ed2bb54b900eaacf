from django import forms
from django.conf import settings

from accounts.models import User
from accounts.roles import EVALUATOR
from core.forms import StyledFormMixin
from scoring.models import MAX_REQUIRED_APPROVALS, Evaluation, KnockoutRule
from vendors.forms import ServiceChoiceField
from vendors.models import RegulatoryInspection


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
    years = forms.IntegerField(min_value=1, max_value=30, initial=5, label="Years for the red-flag gate")
