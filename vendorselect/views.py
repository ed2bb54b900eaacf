"""The home page: one dashboard whose panels follow the user's roles."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.roles import ROLE_SLUGS, user_roles
from vendors import selectors as vendor_selectors


@login_required
def home(request):
    roles = user_roles(request.user)
    summary = vendor_selectors.register_summary()
    context = {
        "roles": roles,
        "role_slugs": {ROLE_SLUGS[role] for role in roles},
        "primary_role": roles[0] if roles else "",
        "summary": summary,
        "chart": {
            "labels": [label for label, _, _ in summary["by_status"]],
            "values": [count for _, count, _ in summary["by_status"]],
        },
        "recent_flags": vendor_selectors.inspection_list().filter(classification="OAI")[:5],
        "requalification": vendor_selectors.requalification_due(),
    }
    return render(request, "home.html", context)
