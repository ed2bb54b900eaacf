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
