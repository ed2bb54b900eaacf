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
    type = forms.ChoiceField(
        choices=[("", "Choose the type…"), *Audit.Type.choices],
        error_messages={"required": "Choose the type of audit."},
    )
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
    area = forms.ChoiceField(
        choices=[("", "Choose the area…"), *AREAS],
        label="Quality-system area",
        error_messages={"required": "Choose the quality-system area."},
    )
    regulation_reference = forms.CharField(required=False, max_length=120, label="Regulation")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    capa_required = forms.BooleanField(required=False, initial=True, label="CAPA required")
    capa_due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="CAPA due")
    capa_owner = forms.CharField(required=False, max_length=200, label="CAPA owner at the vendor")
    # Shown only after a past due date was refused (see _findings.html): the auditor confirms it on purpose.
    confirm_past_due_date = forms.BooleanField(
        required=False, label="The due date is in the past on purpose: record the CAPA as overdue"
    )

    def asks_past_due_confirmation(self) -> bool:
        """Whether the page shows the confirmation box: after the refusal, and while it is ticked."""
        return self.is_bound and bool(self["confirm_past_due_date"].errors or self.data.get("confirm_past_due_date"))


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
    """services.audit_sign: the lead auditor re-enters the password (and confirms a recommendation of approval
    while a critical or major CAPA is open, when it is one)."""

    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Re-enter your password to sign."},
    )
    confirm_open_capas = forms.BooleanField(
        required=False, label="I recommend approval although these critical or major CAPAs are open"
    )


class ReportForm(StyledFormMixin, forms.Form):
    """services.report_update: the report the lead auditor writes and signs, with the recommended outcome."""

    scope_description = forms.CharField(
        label="Scope statement",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Activities, products, lines, systems and documents covered, and any exclusions.",
    )
    summary = forms.CharField(label="Executive summary", required=False, widget=forms.Textarea(attrs={"rows": 4}))
    attendees_sponsor = forms.CharField(
        label="Attendees for the sponsor",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: name, function.",
    )
    attendees_vendor = forms.CharField(
        label="Attendees for the vendor",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: name, function.",
    )
    distribution = forms.CharField(
        label="Distribution list",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One recipient per line: name, function, organisation.",
    )
    recommended_outcome = forms.ChoiceField(
        label="Recommended outcome",
        required=False,
        choices=[("", "Not recorded yet…"), *OUTCOMES],
        help_text="Required before you sign the report. Quality assurance then signs the qualification outcome.",
    )
    recommendation_conditions = forms.CharField(
        label="Conditions of the recommended approval",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required with “Approved with conditions”.",
    )
    confirm_open_capas = forms.BooleanField(
        required=False, label="I recommend approval although these critical or major CAPAs are open"
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "rep-%s")
        super().__init__(*args, **kwargs)

    @classmethod
    def for_audit(cls, audit: Audit) -> "ReportForm":
        return cls(initial={field: getattr(audit, field) for field in cls.base_fields if hasattr(audit, field)})


class CapaVerificationForm(forms.Form):
    """services.capa_update with status “verified”: the evidence of effectiveness (a note, optionally a file)."""

    verification_note = forms.CharField(
        label="How was effectiveness verified?",
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"}),
        error_messages={"required": "Describe how effectiveness was verified."},
    )
    verification_evidence = forms.FileField(
        label="Evidence (optional: PDF, image, DOCX, XLSX, CSV, TXT; up to 20 MB)",
        required=False,
        widget=forms.FileInput(
            attrs={"class": "form-control form-control-sm", "accept": ".pdf,.png,.jpg,.jpeg,.docx,.xlsx,.csv,.txt"}
        ),
        error_messages={"empty": "Attachments must be between 1 byte and 20 MB."},
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
