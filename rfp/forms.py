from django import forms
from django.utils import timezone

from core.forms import StyledFormMixin
from rfp.models import Packet, Rfp

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
        ]
        widgets = {
            **dict.fromkeys(("issue_date", "questions_due", "proposal_due", "presentations", "award_decision"), DATE),
            "program_background": forms.Textarea(attrs={"rows": 4}),
            "scope_notes": forms.Textarea(attrs={"rows": 3}),
            "confidentiality": forms.Textarea(attrs={"rows": 2}),
        }


# The forms of the RFP page's operations: each form's cleaned_data are the keyword arguments of its
# rfp.services function (the RFP, the user and the record named in the URL come from the view).
# The choices are set in a base class's __init__, before StyledFormMixin's, which reads the errors
# (validating the bound form) once the fields are complete.


class _PacketChoices(forms.Form):
    packet = forms.ModelChoiceField(queryset=Packet.objects.none(), empty_label=None)

    def __init__(self, *args, rfp: Rfp | None = None, packets=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["packet"]
        field.queryset = Packet.objects.filter(rfp=rfp) if rfp is not None else Packet.objects.none()
        field.choices = [(p.pk, f"{p.candidate.vendor.name} v{p.version}") for p in packets]


class DeliveryForm(StyledFormMixin, _PacketChoices):
    """services.delivery_record(packet, recipient, sent_on). `packets`: the generated packets offered
    in the list; any packet of `rfp` is accepted (the service says why one not generated cannot be sent)."""

    recipient = forms.EmailField()
    sent_on = forms.DateField(widget=DATE, initial=timezone.localdate)


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
    """services.question_answer(answer, answered_on): answered today unless a date is given."""

    answer = forms.CharField(strip=True)
    answered_on = forms.DateField(required=False)

    def clean_answered_on(self):
        return self.cleaned_data.get("answered_on") or timezone.localdate()


class UploadForm(forms.Form):
    """services.attachment_add(upload) and services.proposal_document_add(upload)."""

    upload = forms.FileField(label="File", error_messages={"required": "Choose a file."})
