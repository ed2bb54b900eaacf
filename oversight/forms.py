"""The performance pages' forms: each one's cleaned_data are the keyword arguments of its service function
(oversight.performance); the checks here only show every mistake at once, the service checks again."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from core.forms import StyledFormMixin
from oversight import kpis
from oversight.models_performance import KpiSetting, PerformanceRecord
from vendors.models import Site

COUNT_GROUPS = [
    ("Batches", ["batches_started", "batches_released", "batches_right_first_time"]),
    ("Deviations and OOS", ["deviations_minor", "deviations_major", "deviations_critical", "oos_results"]),
    ("Deliveries", ["deliveries_due", "deliveries_on_time"]),
    (
        "CAPA and change notifications",
        ["capas_due", "capas_closed_on_time", "change_notifications_due", "change_notifications_on_time"],
    ),
    ("Complaints", ["complaints"]),
]


def _style(form) -> None:
    """The layout's classes for fields added after StyledFormMixin ran (the count and rule fields)."""
    for name, field in form.fields.items():
        css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
        if css not in field.widget.attrs.get("class", ""):
            field.widget.attrs["class"] = f"{field.widget.attrs.get('class', '')} {css}".strip()
        if form.is_bound and name in form.errors and "is-invalid" not in field.widget.attrs["class"]:
            field.widget.attrs["class"] += " is-invalid"
            field.widget.attrs["aria-invalid"] = "true"


class PerformanceForm(StyledFormMixin, forms.Form):
    """services.performance_save."""

    site = forms.ModelChoiceField(queryset=Site.objects.select_related("vendor").order_by("vendor__name", "name"))
    start = forms.DateField(label="Period start", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="Period end", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000)

    def __init__(self, *args, record: PerformanceRecord | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].label_from_instance = lambda site: f"{site.vendor.name} — {site.name}"
        model = PerformanceRecord._meta
        for name in kpis.COUNT_FIELDS:
            model_field = model.get_field(name)
            self.fields[name] = forms.IntegerField(
                label=str(model_field.verbose_name).capitalize(),
                min_value=0,
                max_value=10**9,
                initial=0,
                help_text=model_field.help_text,
                widget=forms.NumberInput(attrs={"min": 0}),
            )
        self._errors = None  # StyledFormMixin validated before these fields existed: validate again
        _style(self)
        if record is not None:  # a correction stays with its site
            self.fields["site"].disabled = True

    def groups(self):
        return [(title, [self[name] for name in names]) for title, names in COUNT_GROUPS]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The period cannot end before it starts.")
        if all(data.get(name) is not None for name in kpis.COUNT_FIELDS):
            for part, message in kpis.contradictions(data):
                self.add_error(part, message)
        return data


class ImportForm(StyledFormMixin, forms.Form):
    file = forms.FileField(
        help_text="CSV or XLSX, first row the column names: "
        + ", ".join(["vendor", "site", "start", "end", *kpis.COUNT_FIELDS, "note"])
        + "."
    )


class KpiSettingForm(StyledFormMixin, forms.Form):
    """services.kpi_setting_update."""

    kpi = forms.ChoiceField(choices=[(k.code, k.name) for k in kpis.KPIS], widget=forms.HiddenInput)
    weight = forms.DecimalField(min_value=0, max_value=999, decimal_places=2)
    scores_1_at = forms.DecimalField(label="Scores 1 at", max_digits=8, decimal_places=3)
    scores_5_at = forms.DecimalField(label="Scores 5 at", max_digits=8, decimal_places=3)
    threshold = forms.DecimalField(required=False, max_digits=8, decimal_places=3, help_text="Empty: never flagged.")
    severity = forms.ChoiceField(choices=KpiSetting.Severity.choices)
    reason = forms.CharField(required=False, max_length=500, help_text="Why (kept in the audit trail).")


class StandingRulesForm(StyledFormMixin, forms.Form):
    """services.standing_rules_save: one score band per standing (leave both empty to use no band for it) and
    the caps (a row with no condition is ignored)."""

    note = forms.CharField(required=False, max_length=500, label="Why this version", widget=forms.TextInput)

    def __init__(self, *args, rules: dict[str, Any] | None = None, extra_caps: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        rules = rules or kpis.DEFAULT_RULES
        bands = {b["standing"]: b for b in rules["bands"]}
        for code in kpis.STANDINGS:
            band = bands.get(code, {})
            for end in ("min_score", "max_score"):
                self.fields[f"{code}_{end}"] = forms.DecimalField(
                    required=False,
                    min_value=Decimal(1),
                    max_value=Decimal(5),
                    decimal_places=2,
                    initial=band.get(end),
                    label=f"{kpis.STANDING_LABELS[code]}: {'from' if end == 'min_score' else 'below'}",
                    widget=forms.NumberInput(attrs={"step": "0.01", "min": 1, "max": 5}),
                )
        caps = list(rules.get("caps", []))
        self.cap_count = len(caps) + extra_caps
        for i in range(self.cap_count):
            cap = caps[i] if i < len(caps) else {}
            self.fields[f"cap_{i}_condition"] = forms.ChoiceField(
                required=False,
                choices=[("", "—"), *kpis.CONDITIONS.items()],
                initial=cap.get("condition", ""),
                label=f"Cap {i + 1}: condition",
            )
            self.fields[f"cap_{i}_at_least"] = forms.IntegerField(
                required=False, min_value=1, initial=cap.get("at_least"), label=f"Cap {i + 1}: at least"
            )
            self.fields[f"cap_{i}_standing"] = forms.ChoiceField(
                required=False,
                choices=[("", "—"), *((s, kpis.STANDING_LABELS[s]) for s in kpis.STANDINGS)],
                initial=cap.get("standing", ""),
                label=f"Cap {i + 1}: at most",
            )

        self._errors = None  # StyledFormMixin validated before these fields existed: validate again
        _style(self)
        for field in self.fields.values():  # drawn in a table without <label>s
            field.widget.attrs.setdefault("aria-label", str(field.label))

    def band_rows(self):
        return [(kpis.STANDING_LABELS[c], self[f"{c}_min_score"], self[f"{c}_max_score"]) for c in kpis.STANDINGS]

    def cap_rows(self):
        return [
            (self[f"cap_{i}_condition"], self[f"cap_{i}_at_least"], self[f"cap_{i}_standing"])
            for i in range(self.cap_count)
        ]

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        bands = []
        for code in kpis.STANDINGS:
            low, high = data.get(f"{code}_min_score"), data.get(f"{code}_max_score")
            if low is None and high is None:
                continue
            bands.append(
                {
                    "standing": code,
                    "min_score": None if low is None else float(low),
                    "max_score": None if high is None else float(high),
                }
            )
        caps = []
        for i in range(self.cap_count):
            condition = data.get(f"cap_{i}_condition")
            if not condition:
                continue
            caps.append(
                {
                    "condition": condition,
                    "at_least": data.get(f"cap_{i}_at_least"),
                    "standing": data.get(f"cap_{i}_standing"),
                }
            )
        return {"bands": bands, "caps": caps, "note": data.get("note", "")}
