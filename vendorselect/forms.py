from django import forms
from django.contrib.auth import get_user_model

from vendorselect import trail


class StyledFormMixin:
    """Gives widgets the layout's CSS classes and marks invalid fields for assistive tech."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect, forms.CheckboxInput)):
                css = "form-check-input"
            elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
            if self.is_bound and name in self.errors:
                widget.attrs["class"] += " is-invalid"
                widget.attrs["aria-invalid"] = "true"


class TrailSearchForm(StyledFormMixin, forms.Form):
    model = forms.ChoiceField(
        label="Record type", required=False, choices=lambda: [("", "Any"), *trail.tracked_models()]
    )
    user = forms.ModelChoiceField(label="User", required=False, queryset=get_user_model().objects.order_by("username"))
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    object_id = forms.CharField(label="Record id", required=False, max_length=20)
    action = forms.ChoiceField(
        label="Action",
        required=False,
        choices=[("", "Any"), ("insert", "Created"), ("update", "Changed"), ("delete", "Deleted")],
    )

    def clean_object_id(self):
        value = self.cleaned_data["object_id"].strip()
        if value and not (value.isascii() and value.isdecimal()):
            raise forms.ValidationError("A record id is a whole number.")
        return value

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "“To” is before “From”.")
        return data

    def describe(self) -> str:
        """The filters in words, printed on the exported PDF."""
        parts = []
        for name, bound in ((n, self[n]) for n in self.fields):
            value = self.cleaned_data.get(name)
            if value:
                shown = dict(self.fields[name].choices).get(value, value) if name in ("model", "action") else value
                parts.append(f"{bound.label}: {shown}")
        return "; ".join(parts) or "all records"


def posted_id(request, name: str) -> int:
    """A record id from a POSTed form field; 0 (no record) when absent or not a whole number, so a
    tampered form finds nothing instead of failing."""
    value = request.POST.get(name, "").strip()
    return int(value) if value.isascii() and value.isdecimal() and len(value) < 19 else 0
