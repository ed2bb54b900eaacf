"""The portal's forms: each one's cleaned_data are keyword arguments of an rfp.bidding service."""

from django import forms

from core.forms import StyledFormMixin
from rfp.models import Participation, SealedUpload


class CodeForm(StyledFormMixin, forms.Form):
    code = forms.CharField(
        label="One-time code",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        help_text="The six digits we e-mailed you. It is valid for 10 minutes.",
    )


class LinkRequestForm(StyledFormMixin, forms.Form):
    email = forms.EmailField(
        label="Your e-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
        help_text="The address the sponsor invited.",
    )


class IntentForm(StyledFormMixin, forms.Form):
    """bidding.intent_declare(intent, reason)."""

    intent = forms.ChoiceField(
        label="Your intent",
        choices=[(Participation.Intent.BID, "We intend to bid"), (Participation.Intent.DECLINE, "We decline")],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason (required when you decline)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class QuestionForm(StyledFormMixin, forms.Form):
    """bidding.question_ask(question)."""

    question = forms.CharField(
        label="Your question",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Answers published to every invited vendor never name who asked.",
    )


class UploadForm(StyledFormMixin, forms.Form):
    """bidding.upload_add(part, upload=file)."""

    part = forms.ChoiceField(label="What is it?", choices=SealedUpload.Part.choices)
    file = forms.FileField(
        label="File",
        allow_empty_file=True,  # the service says why an empty file is refused
        widget=forms.FileInput(attrs={"accept": ".pdf,.docx,.xlsx"}),
        help_text="Proposal: PDF, DOCX or XLSX. Questionnaire: the XLSX from your packet, filled in.",
    )
