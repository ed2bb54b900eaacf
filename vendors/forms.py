from pathlib import Path

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from core.forms import StyledFormMixin
from vendors import access
from vendors.models import Contact, ImportJob, RegulatoryInspection, Service, Site, Vendor

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
    class Meta:
        model = RegulatoryInspection
        fields = [
            "agency",
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
