"""The audit pages' forms: each one's cleaned_data are the keyword arguments of its service function."""

from django import forms

from accounts.models import User
from accounts.roles import AUDITOR
from audits.models import AREAS, OUTCOMES, SEVERITY_HELP, Audit, Finding
from audits.services import ACTIONS
from core.forms import StyledFormMixin
from vendors.models import Service, Site


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
    """services.finding_add. No severity is preselected: the auditor classifies every finding."""

    severity = forms.ChoiceField(
        choices=[("", "Choose the severity…"), *Finding.Severity.choices],
        help_text=SEVERITY_HELP,
        error_messages={"required": "Choose the severity of the finding."},
        widget=forms.Select(attrs={"aria-describedby": "severity-help"}),
    )
    area = forms.ChoiceField(choices=AREAS, label="Quality-system area")
    regulation_reference = forms.CharField(required=False, max_length=120, label="Regulation")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    capa_required = forms.BooleanField(required=False, initial=True, label="CAPA required")
    capa_due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="CAPA due")
    capa_owner = forms.CharField(required=False, max_length=200, label="CAPA owner at the vendor")


class TransitionForm(forms.Form):
    """services.audit_transition: the action comes from the URL."""

    action = forms.ChoiceField(choices=list(ACTIONS.items()))


class AttachmentForm(forms.Form):
    """services.attachment_add: a finding of this audit and the file. (Not styled by StyledFormMixin, which
    validates while it is built, before the findings of this audit are the field's choices.)"""

    finding = forms.ModelChoiceField(
        queryset=Finding.objects.none(),
        label="Attach evidence to finding",
        error_messages={"invalid_choice": "Choose a finding of this audit.", "required": "Choose a finding."},
    )
    upload = forms.FileField(
        label="File (PDF, image, DOCX, XLSX, CSV, TXT; up to 20 MB)",
        widget=forms.FileInput(attrs={"class": "form-control", "accept": ".pdf,.png,.jpg,.jpeg,.docx,.xlsx,.csv,.txt"}),
        error_messages={"required": "Choose a file.", "empty": "Attachments must be between 1 byte and 20 MB."},
    )

    def __init__(self, *args, audit: Audit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["finding"].queryset = Finding.objects.filter(audit=audit)


class SignForm(StyledFormMixin, forms.Form):
    """services.audit_sign: the lead auditor re-enters the password."""

    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Re-enter your password to sign."},
    )


class AmendmentForm(StyledFormMixin, forms.Form):
    """services.amendment_add."""

    reason = forms.CharField(error_messages={"required": "Give the reason for the amendment."})
    text = forms.CharField(
        label="Amendment",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write the amendment."},
    )


OUTCOME_HELP = (
    "Approved or approved with conditions are signed with the meaning “Approved for quality”; "
    "not approved with the meaning “Rejected”."
)


class OutcomeForm(StyledFormMixin, forms.Form):
    """services.outcome_sign: QA's decision, signed by re-entering the password."""

    outcome = forms.ChoiceField(
        label="Qualification outcome for this site",
        choices=[("", "Choose the outcome…"), *OUTCOMES],
        help_text=OUTCOME_HELP,
        error_messages={"required": "Choose the qualification outcome."},
    )
    activities = forms.ModelMultipleChoiceField(
        queryset=Service.objects.order_by("group", "position", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Activities it applies to",
        help_text="None chosen: the whole site.",
    )
    note = forms.CharField(label="Conditions or remarks", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(
        label="Reason it supersedes the previous outcome",
        required=False,
        help_text="Required when an outcome was signed before.",
    )
    password = forms.CharField(
        label="Re-enter your password to sign",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Re-enter your password to sign."},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "qa-%s")
        super().__init__(*args, **kwargs)
