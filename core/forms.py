"""Form helpers every app's pages share: the layout's widget classes, ids read from posted forms."""

from typing import TYPE_CHECKING

from django import forms

if TYPE_CHECKING:
    from django.forms.utils import ErrorDict


class StyledFormMixin:
    """Gives widgets the layout's CSS classes and marks invalid fields for assistive tech."""

    if TYPE_CHECKING:  # provided by the form class it is mixed into
        fields: dict[str, forms.Field]
        is_bound: bool
        errors: ErrorDict

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


def posted_id(request, name: str) -> int:
    """A record id from a POSTed form field; 0 (no record) when absent or not a whole number, so a
    tampered form finds nothing instead of failing."""
    value = request.POST.get(name, "").strip()
    return int(value) if value.isascii() and value.isdecimal() and len(value) < 19 else 0
