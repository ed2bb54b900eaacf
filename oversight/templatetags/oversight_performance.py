"""Supplier standings in pages of other apps (the register: vendors' templates) without vendors importing
oversight: the template loads this library, which reads the standings of a whole page in one query.

    {% load oversight_performance %}{% vendor_standings page.object_list as standings %}
    ... {% standing_badges standings vendor.pk %}
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join

from oversight import selectors

register = template.Library()

BADGES = {
    "preferred": "text-bg-success",
    "approved": "text-bg-primary",
    "on_watch": "text-bg-warning",
    "under_probation": "text-bg-danger",
    "not_rated": "text-bg-secondary",
}


@register.simple_tag
def standing_badge(standing, title: str = ""):
    """A badge for a Standing (selectors.Standing) or a standing code."""
    code = getattr(standing, "code", standing)
    label = getattr(standing, "label", None) or selectors.kpis.STANDING_LABELS.get(code, code)
    if not title and hasattr(standing, "period"):
        score = "no score" if standing.score is None else f"score {standing.score:.2f}"
        title = f"{standing.period}: {score}"
    return format_html('<span class="badge {}" title="{}">{}</span>', BADGES.get(code, "text-bg-light"), title, label)


@register.simple_tag
def vendor_standings(vendors):
    """{vendor_id: [(site_id, site name, Standing)]} for the vendors of a page: one query."""
    return selectors.vendor_standings(vendor.pk for vendor in vendors)


@register.simple_tag
def site_standings(sites):
    """{site_id: Standing} for the given sites: one query."""
    return selectors.standing_of(site.pk for site in sites)


@register.simple_tag
def standing_badges(standings, vendor_id, empty="not rated"):
    """The latest standing of each rated site of a vendor, from vendor_standings; `empty` when none is."""
    entries = standings.get(vendor_id, [])
    if not entries:
        return format_html('<span class="text-body-tertiary">{}</span>', empty) if empty else ""
    return format_html_join(
        " ",
        '<span class="badge {}" title="{}: {} ({})">{}</span>',
        (
            (
                BADGES.get(s.code, "text-bg-light"),
                name,
                s.label,
                s.period,
                s.label if len(entries) == 1 else f"{name}: {s.label}",
            )
            for _site_id, name, s in entries
        ),
    )


@register.filter
def get_item(mapping, key):
    """mapping[key] in a template (None when absent)."""
    return mapping.get(key) if hasattr(mapping, "get") else None
