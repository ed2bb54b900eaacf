from django import forms
from django.contrib.auth import get_user_model

from core import trail
from core.forms import StyledFormMixin


class TrailSearchForm(StyledFormMixin, forms.Form):
    model = forms.ChoiceField(
        label="Record type", required=False, choices=lambda: [("", "Any"), *trail.record_type_choices()]
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
                if name == "model":
                    shown = trail.record_type_name(value)
                elif name == "action":
                    shown = dict(self.fields[name].choices).get(value, value)
                else:
                    shown = value
                parts.append(f"{bound.label}: {shown}")
        return "; ".join(parts) or "all records"
