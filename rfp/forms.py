from decimal import Decimal

from django import forms
from django.utils import timezone

from core.forms import StyledFormMixin
from rfp import services
from rfp.models import Question, Rfp

DATE = forms.DateInput(attrs={"type": "date"})


class RfpForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Rfp
        fields = [
            "title",
            "sponsor",
            "program_background",
            "scope_notes",
            "confidentiality",
            "issue_date",
            "questions_due",
            "proposal_due",
            "presentations",
            "award_decision",
            "contact_name",
            "contact_email",
            "disclose_weights",
            "co_opener",
        ]
        widgets = {
            **dict.fromkeys(("issue_date", "questions_due", "proposal_due", "presentations", "award_decision"), DATE),
            "program_background": forms.Textarea(attrs={"rows": 4}),
            "scope_notes": forms.Textarea(attrs={"rows": 3}),
            "confidentiality": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, evaluation=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The second opener: a colleague who sees the evaluation, never the lead.
        field = self.fields["co_opener"]
        field.queryset = services.co_opener_choices(evaluation) if evaluation else field.queryset.none()
        field.label_from_instance = lambda user: user.printed_name


# The forms of the RFP page's operations: each form's cleaned_data are the keyword arguments of its
# rfp.services function (the RFP, the user and the record named in the URL come from the view).
# The choices are set in a base class's __init__, before StyledFormMixin's, which reads the errors
# (validating the bound form) once the fields are complete.


class _CandidateChoices(forms.Form):
    """A shortlisted vendor of the RFP, by candidate id (the services take `candidate_id`)."""

    candidate_id = forms.TypedChoiceField(label="Vendor", coerce=int)

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["candidate_id"].choices = [(c.pk, c.vendor.name) for c in candidates]


class ProposalForm(StyledFormMixin, _CandidateChoices):
    """services.proposal_record(candidate_id, received_on, price, currency, notes)."""

    received_on = forms.DateField(widget=DATE, initial=timezone.localdate)
    price = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=2)
    currency = forms.CharField(max_length=3, initial="USD")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class QuestionForm(StyledFormMixin, _CandidateChoices):
    """services.question_record(candidate_id, asked_on, question)."""

    asked_on = forms.DateField(widget=DATE, initial=timezone.localdate)
    question = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class AnswerForm(forms.Form):
    """bidding.question_answer(answer, visibility)."""

    answer = forms.CharField(strip=True)
    visibility = forms.ChoiceField(choices=Question.Visibility.choices, initial=Question.Visibility.ALL, required=False)

    def clean_visibility(self):
        return self.cleaned_data.get("visibility") or Question.Visibility.ALL


class _ContactChoices(_CandidateChoices):
    contact_id = forms.TypedChoiceField(label="Contact", coerce=int, required=False, empty_value=None)

    def __init__(self, *args, contacts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact_id"].choices = [("", "Someone else (type below)")] + [
            (c.pk, f"{c.vendor.name}: {c.name} <{c.email}>") for c in contacts
        ]


class InviteForm(StyledFormMixin, _ContactChoices):
    """bidding.invite(candidate_id, contact_id, name, email): a register contact, or a name and address."""

    name = forms.CharField(required=False, max_length=200, help_text="When the person is not a register contact.")
    email = forms.EmailField(label="E-mail", required=False)


class ExtensionForm(StyledFormMixin, _CandidateChoices):
    """bidding.extension_grant(candidate_id, until, reason)."""

    until = forms.DateTimeField(label="New deadline", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    reason = forms.CharField(max_length=300)


class OpenForm(forms.Form):
    """bidding.open_proposals(password): the opener signs with the password."""

    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class UploadForm(forms.Form):
    """services.attachment_add(upload) and services.proposal_document_add(upload)."""

    upload = forms.FileField(label="File", error_messages={"required": "Choose a file."})


class AwardProposeForm(StyledFormMixin, forms.Form):
    """awards.award_propose(awarded, rationale, required_approvals): per vendor of the RFP a tick box,
    the scope it is awarded and an optional program step (fields `award_<id>`, `scope_<id>`, `step_<id>`)."""

    rationale = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Why these vendors: weighted score, total program cost, compliance, risks.",
    )
    required_approvals = forms.IntegerField(
        required=False, min_value=1, max_value=10, help_text="Signed approvals needed; never fewer than the policy."
    )

    def __init__(self, *args, candidates=(), steps=(), **kwargs):
        self.candidates = list(candidates)
        step_choices = [("", "Whole scope")] + [(s.pk, str(s)) for s in steps]
        super_fields: dict[str, forms.Field] = {}
        for c in self.candidates:
            super_fields[f"award_{c.pk}"] = forms.BooleanField(required=False, label=f"Award {c.vendor.name}")
            super_fields[f"scope_{c.pk}"] = forms.CharField(
                required=False, max_length=300, label=f"Scope awarded to {c.vendor.name}"
            )
            super_fields[f"step_{c.pk}"] = forms.TypedChoiceField(
                required=False,
                choices=step_choices,
                coerce=int,
                empty_value=None,
                label=f"Program step for {c.vendor.name}",
            )
        self.base_fields = {**self.base_fields, **super_fields}
        super().__init__(*args, **kwargs)

    def rows(self):
        """Per vendor, its three bound fields (for the template)."""
        return [(c, self[f"award_{c.pk}"], self[f"scope_{c.pk}"], self[f"step_{c.pk}"]) for c in self.candidates]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        return {
            "awarded": [
                {"candidate": c.pk, "scope": data.get(f"scope_{c.pk}", ""), "step": data.get(f"step_{c.pk}")}
                for c in self.candidates
                if data.get(f"award_{c.pk}")
            ],
            "rationale": data.get("rationale", ""),
            "required_approvals": data.get("required_approvals"),
        }


class AwardDecisionForm(forms.Form):
    """awards.award_decide(decision, password, seen_hash, comment)."""

    decision = forms.CharField(required=False, max_length=20)
    password = forms.CharField(required=False, strip=False, max_length=4096)
    snapshot_hash = forms.CharField(required=False, max_length=128)
    comment = forms.CharField(required=False, max_length=5000)

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


# --- The comparison page (rfp.comparison): the lead's program horizon and exchange rates -------------


class HorizonForm(StyledFormMixin, forms.Form):
    """comparison.horizon_set(years, batches_per_year, ..., base_currency, notes)."""

    years = forms.DecimalField(min_value=Decimal("0.01"), max_value=50, max_digits=5, decimal_places=2)
    batches_per_year = forms.DecimalField(required=False, min_value=0, max_digits=9, decimal_places=2)
    campaigns_per_year = forms.DecimalField(required=False, min_value=0, max_digits=9, decimal_places=2)
    fte_months_per_year = forms.DecimalField(
        label="FTE-months per year", required=False, min_value=0, max_digits=9, decimal_places=2
    )
    effort_factor = forms.DecimalField(
        required=False, min_value=Decimal("0.001"), max_digits=6, decimal_places=3, help_text="Or FTE-months, not both."
    )
    volume_per_year = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=3)
    volume_unit = forms.CharField(required=False, max_length=40)
    needs_development = forms.BooleanField(label="Needs development", required=False)
    needs_tech_transfer = forms.BooleanField(label="Needs technology transfer", required=False)
    base_currency = forms.CharField(max_length=3, min_length=3, initial="USD")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RateForm(StyledFormMixin, forms.Form):
    """comparison.rate_add(currency, rate, as_of, source): one unit of the currency in the base currency."""

    currency = forms.CharField(max_length=3, min_length=3)
    rate = forms.DecimalField(max_digits=18, decimal_places=8)
    as_of = forms.DateField(label="As of", widget=DATE, initial=timezone.localdate)
    source = forms.CharField(required=False, max_length=200)

    def clean_rate(self):
        rate = self.cleaned_data["rate"]
        if rate <= 0:
            raise forms.ValidationError("Give a rate greater than zero.")
        return rate


class RateChangeForm(RateForm):
    """comparison.rate_update(value, as_of, source)."""

    currency = None  # type: ignore[assignment]

    def clean(self):
        data = super().clean()
        if "rate" in data:
            data["value"] = data.pop("rate")
        return data
