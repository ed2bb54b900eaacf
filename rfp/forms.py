from django import forms
from django.utils import timezone

from core.forms import StyledFormMixin
from rfp.models import Rfp

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


class DeliveryForm(StyledFormMixin, forms.Form):
    recipient = forms.EmailField()
    sent_on = forms.DateField(widget=DATE, initial=timezone.localdate)


class ProposalForm(StyledFormMixin, forms.Form):
    candidate = forms.TypedChoiceField(label="Vendor", coerce=int)
    received_on = forms.DateField(widget=DATE, initial=timezone.localdate)
    price = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=2)
    currency = forms.CharField(max_length=3, initial="USD")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["candidate"].choices = [(c.pk, c.vendor.name) for c in candidates]


class QuestionForm(StyledFormMixin, forms.Form):
    candidate = forms.TypedChoiceField(label="Vendor", coerce=int)
    asked_on = forms.DateField(widget=DATE, initial=timezone.localdate)
    question = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["candidate"].choices = [(c.pk, c.vendor.name) for c in candidates]
