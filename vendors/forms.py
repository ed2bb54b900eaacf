from pathlib import Path

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from core.forms import StyledFormMixin
from vendors import access, services
from vendors.models import (
    Contact,
    GmpCertificate,
    ImportAlert,
    ImportJob,
    QualificationStatus,
    RegulatoryInspection,
    Service,
    Site,
    Vendor,
    WarningLetter,
)

IMPORT_EXTENSIONS = {".csv", ".xlsx"}


def validate_upload(upload) -> None:
    """Type and size of an import file; the content is checked row by row in the worker."""
    extension = Path(upload.name).suffix.lower()
    if extension not in IMPORT_EXTENSIONS:
        raise ValidationError("Upload a .csv or .xlsx file.")
    if upload.size == 0:
        raise ValidationError("The file is empty.")
    if upload.size > settings.IMPORT_MAX_BYTES:
        raise ValidationError(f"The file is larger than {settings.IMPORT_MAX_BYTES // (1024 * 1024)} MB.")
    head = upload.read(4)
    upload.seek(0)
    if extension == ".xlsx" and head != b"PK\x03\x04":
        raise ValidationError("This is not an .xlsx workbook.")


class ServiceChoiceField(forms.ModelMultipleChoiceField):
    """Services labelled with their group (research & clinical, development, ...)."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Service.objects.all(), widget=forms.SelectMultiple(attrs={"size": 12}), **kwargs)

    def label_from_instance(self, service):
        return f"{service.get_group_display()}: {service.name}"


class VendorForm(StyledFormMixin, forms.ModelForm):
    services = ServiceChoiceField(required=False)
    website = forms.URLField(required=False, assume_scheme="https", max_length=200)

    class Meta:
        model = Vendor
        fields = [
            "name",
            "legal_name",
            "kinds",
            "country",
            "website",
            "status",
            "description",
            "services",
            "modalities",
            "dosage_forms",
            "phases",
        ]
        widgets = {
            "kinds": forms.CheckboxSelectMultiple,
            "modalities": forms.CheckboxSelectMultiple,
            "dosage_forms": forms.CheckboxSelectMultiple,
            "phases": forms.CheckboxSelectMultiple,
            "description": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {"kinds": "An integrated CDMO + CRO holds both."}


ContactFormSet = forms.inlineformset_factory(
    Vendor, Contact, fields=["name", "title", "email", "phone"], extra=1, can_delete=True
)


class SiteForm(StyledFormMixin, forms.ModelForm):
    capabilities = ServiceChoiceField(required=False)

    class Meta:
        model = Site
        fields = [
            "name",
            "address",
            "country",
            "fei_number",
            "quality_regime",
            "scale_min",
            "scale_max",
            "scale_unit",
            "capabilities",
            "certifications",
        ]
        widgets = {"address": forms.Textarea(attrs={"rows": 3}), "certifications": forms.Textarea(attrs={"rows": 3})}


class InspectionForm(StyledFormMixin, forms.ModelForm):
    confirm = forms.BooleanField(
        required=False,
        label="Confirm: NAI with Form 483 observations",
        help_text="Tick only when FDA did classify the inspection NAI although observations were issued.",
    )

    class Meta:
        model = RegulatoryInspection
        fields = [
            "agency",
            "inspection_type",
            "end_date",
            "classification",
            "agency_classification",
            "form_483_observations",
            "warning_letter",
            "notes",
            "source",
            "source_id",
        ]
        widgets = {"end_date": forms.DateInput(attrs={"type": "date"}), "notes": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"form_483_observations": "FDA inspections only; leave empty when the number is not known."}

    def clean(self):
        cleaned = super().clean()
        problems = services.inspection_problems(
            agency=cleaned.get("agency", ""),
            classification=cleaned.get("classification", ""),
            observations=cleaned.get("form_483_observations"),
            confirmed=bool(cleaned.get("confirm")),
        )
        for field, message in problems.items():
            self.add_error(field, message)
        return cleaned


def allowed_targets(user) -> list[tuple[str, str]]:
    targets = access.importable_targets(user)
    return [(value, label) for value, label in ImportJob.Target.choices if value in targets]


class ImportForm(StyledFormMixin, forms.Form):
    target = forms.ChoiceField(choices=ImportJob.Target.choices, label="What the file holds", widget=forms.RadioSelect)
    file = forms.FileField(
        help_text="CSV (UTF-8 or Windows-1252) or XLSX, first sheet, header in the first row.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = allowed_targets(user)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        validate_upload(upload)
        return upload


DATE = forms.DateInput(attrs={"type": "date"})
PDF_INPUT = forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"})


class WarningLetterForm(StyledFormMixin, forms.ModelForm):
    prefix = "warningletter"

    class Meta:
        model = WarningLetter
        fields = ["issued_on", "subject", "reference", "closed_on", "document", "notes"]
        widgets = {
            "issued_on": DATE,
            "closed_on": DATE,
            "document": PDF_INPUT,
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {"document": "The letter as a PDF (optional, up to 20 MB)."}


class ImportAlertForm(StyledFormMixin, forms.ModelForm):
    prefix = "importalert"

    class Meta:
        model = ImportAlert
        fields = ["number", "status", "listed_on", "removed_on", "reason", "document"]
        widgets = {
            "listed_on": DATE,
            "removed_on": DATE,
            "document": PDF_INPUT,
            "reason": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {"document": "A PDF (optional, up to 20 MB)."}


class GmpCertificateForm(StyledFormMixin, forms.ModelForm):
    prefix = "gmpcertificate"

    class Meta:
        model = GmpCertificate
        fields = ["kind", "authority", "number", "eudragmdp_reference", "issued_on", "valid_until", "document", "notes"]
        widgets = {
            "issued_on": DATE,
            "valid_until": DATE,
            "document": PDF_INPUT,
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {"document": "The certificate or statement as a PDF (optional, up to 20 MB)."}


RECORD_FORMS = {
    "warningletter": WarningLetterForm,
    "importalert": ImportAlertForm,
    "gmpcertificate": GmpCertificateForm,
}


class SiteQualificationForm(StyledFormMixin, forms.Form):
    prefix = "qualification"

    activity = forms.ModelChoiceField(
        queryset=Service.objects.all(), required=False, empty_label="All activities at the site"
    )
    status = forms.ChoiceField(choices=QualificationStatus.choices)
    decided_on = forms.DateField(widget=DATE, label="Decided on")
    requalification_due = forms.DateField(widget=DATE, required=False, label="Requalification due")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000)
    source = forms.CharField(required=False, max_length=200, help_text="E.g. “Audit #12, signed outcome”.")
