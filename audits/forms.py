from django import forms

from accounts.models import User
from accounts.roles import AUDITOR
from audits.models import AREAS, Audit, Finding
from core.forms import StyledFormMixin
from vendors.models import Site


class AuditForm(StyledFormMixin, forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.select_related("vendor").order_by("vendor__name", "name"))
    type = forms.ChoiceField(choices=Audit.Type.choices)
    planned_start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    planned_end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    co_auditors = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(groups__name=AUDITOR), required=False, widget=forms.CheckboxSelectMultiple
    )
    scope = forms.MultipleChoiceField(
        choices=AREAS, required=False, widget=forms.CheckboxSelectMultiple, label="Areas in scope"
    )
    agenda = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].label_from_instance = lambda site: f"{site.vendor.name} — {site.name}"


class FindingForm(StyledFormMixin, forms.Form):
    severity = forms.ChoiceField(choices=Finding.Severity.choices)
    area = forms.ChoiceField(choices=AREAS, label="Quality-system area")
    regulation_reference = forms.CharField(required=False, max_length=120, label="Regulation")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    capa_required = forms.BooleanField(required=False, initial=True, label="CAPA required")
    capa_due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="CAPA due")
    capa_owner = forms.CharField(required=False, max_length=200, label="CAPA owner at the vendor")
