"""Forms of the quality-agreement and risk pages: each one's cleaned_data are a service's keyword arguments."""

from __future__ import annotations

from django import forms

from core.forms import StyledFormMixin
from oversight import defaults
from oversight.models_qa import Owner, QualityAgreement
from vendors.models import Service, Site

MAX_LINES = 200
MAX_BANDS = 10


class AgreementCreateForm(StyledFormMixin, forms.Form):
    """agreements.agreement_create(site, activity, partner_kind, review_due, change_notice_days)."""

    site = forms.ModelChoiceField(queryset=Site.objects.none(), label="Vendor site (selected or qualified)")
    activity = forms.ModelChoiceField(queryset=Service.objects.all(), label="Activity")
    partner_kind = forms.ChoiceField(
        choices=[("", "From the vendor's kinds"), *QualityAgreement.PartnerKind.choices],
        required=False,
        label="Template",
    )
    review_due = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Review due")
    change_notice_days = forms.IntegerField(required=False, min_value=1, max_value=730, label="Change notice (days)")

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites if sites is not None else Site.objects.all()
        self.fields["site"].label_from_instance = lambda s: f"{s.vendor.name} — {s.name}"
        self._errors = None  # StyledFormMixin validated against the empty queryset: validate again


class AgreementLinesForm(StyledFormMixin, forms.Form):
    """agreements.agreement_update(lines, review_due, change_notice_days, reason): the matrix is posted as
    line-<i>-section/text/owner (line-<i>-remove drops it) plus one new line; a blank owner is kept for the
    service to refuse with the line named."""

    review_due = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Review due")
    change_notice_days = forms.IntegerField(min_value=1, max_value=730, label="Change notice (days)")
    reason = forms.CharField(required=False, max_length=500, label="Why (for the trail)")

    def clean(self):
        data = super().clean()
        lines = []
        for i in range(MAX_LINES):
            prefix = f"line-{i}-"
            if prefix + "text" not in self.data:
                continue
            if self.data.get(prefix + "remove"):
                continue
            lines.append(
                {
                    "section": self.data.get(prefix + "section", ""),
                    "text": self.data.get(prefix + "text", ""),
                    "owner": self.data.get(prefix + "owner", ""),
                }
            )
        new_text = (self.data.get("new-text") or "").strip()
        if new_text:
            lines.append(
                {"section": self.data.get("new-section", ""), "text": new_text, "owner": self.data.get("new-owner", "")}
            )
        data["lines"] = lines
        return data


class SignForm(StyledFormMixin, forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        label="Your password",
        help_text="Re-enter your password to sign. Meaning: approved for quality.",
    )


class VendorCopyForm(StyledFormMixin, forms.Form):
    """agreements.vendor_copy_record(upload, signer_name, signer_title, signed_on)."""

    upload = forms.FileField(label="Vendor-signed copy (PDF)", allow_empty_file=True)
    signer_name = forms.CharField(max_length=200, label="Signed by (vendor)")
    signer_title = forms.CharField(max_length=200, label="Title")
    signed_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Signed on")


class VendorSignForm(StyledFormMixin, forms.Form):
    """The portal: agreements.vendor_sign(name, title, confirm)."""

    name = forms.CharField(max_length=200, label="Your full name")
    title = forms.CharField(max_length=200, label="Your title")
    confirm = forms.BooleanField(
        label="I sign this quality agreement on behalf of my company; my name, title, the time and my IP address "
        "are recorded.",
    )


class RiskMatrixForm(StyledFormMixin, forms.Form):
    """requalification.matrix_save(bands, note): band-<i>-low/high/months/label rows; empty rows are ignored."""

    note = forms.CharField(required=False, max_length=500, label="Why this version")

    def clean(self):
        data = super().clean()
        bands = []
        for i in range(MAX_BANDS):
            values = {
                key: (self.data.get(f"band-{i}-{key}") or "").strip() for key in ("low", "high", "months", "label")
            }
            if not any(values[key] for key in ("low", "high", "months")):
                continue
            bands.append(values)
        data["bands"] = bands
        return data


OWNER_CHOICES = [("", "— choose —"), *Owner.choices]
SECTION_CHOICES = defaults.SECTIONS
