"""Small template helpers shared by every page: sortable headers and status badges."""

from django import template
from django.utils.html import format_html

register = template.Library()

BADGE_CLASSES = {
    "approved": "text-bg-success",
    "conditionally_approved": "text-bg-info",
    "under_qualification": "text-bg-warning",
    "prospect": "text-bg-secondary",
    "disqualified": "text-bg-danger",
    "approved_with_conditions": "text-bg-info",
    "not_yet_qualified": "text-bg-secondary",
    "not_approved": "text-bg-danger",
    "NAI": "text-bg-success",
    "VAI": "text-bg-warning",
    "OAI": "text-bg-danger",
    "draft": "text-bg-secondary",
    "scoring": "text-bg-primary",
    "review": "text-bg-warning",
    "closed": "text-bg-dark",
}


@register.simple_tag(takes_context=True)
def sort_header(context, label: str, key: str):
    """A <th> whose link toggles ascending/descending order and keeps the other filters."""
    request = context["request"]
    current = request.GET.get("ordering", "")
    descending = current == f"-{key}"
    active = current in (key, f"-{key}")
    params = request.GET.copy()
    params["ordering"] = key if descending or not active else f"-{key}"
    params.pop("page", None)
    aria = ("descending" if descending else "ascending") if active else "none"
    icon = ("bi-sort-down" if descending else "bi-sort-up") if active else "bi-arrow-down-up text-body-tertiary"
    return format_html(
        '<th scope="col" aria-sort="{}"><a class="sort-link" href="?{}">{} <i class="bi {}" aria-hidden="true"></i></a></th>',
        aria,
        params.urlencode(),
        label,
        icon,
    )


@register.simple_tag
def status_badge(value: str, label: str = ""):
    return format_html('<span class="badge {}">{}</span>', BADGE_CLASSES.get(value, "text-bg-light"), label or value)


@register.filter
def percent(fraction) -> str:
    """0.2345 -> "23.5 %" (a share stored as a fraction)."""
    try:
        return f"{float(fraction) * 100:.1f} %"
    except (TypeError, ValueError):
        return "—"
