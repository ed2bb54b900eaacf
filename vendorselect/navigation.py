from django.urls import reverse

from accounts import notifications
from accounts.roles import user_roles
from oversight import qa_access


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [
        ("Home", reverse("home"), "speedometer2"),
        ("Evaluations", reverse("scoring:list"), "ui-checks-grid"),
        ("Vendors", reverse("vendors:list"), "buildings"),
        ("Inspections", reverse("vendors:inspections"), "clipboard2-check"),
        ("Audits", reverse("audits:list"), "search"),
        ("CAPA", reverse("audits:capas"), "list-check"),
    ]
    if qa_access.can_read(user):
        items.append(("Quality agreements", reverse("oversight:agreements"), "file-earmark-check"))
    if user.has_perm("oversight.view_scorecard"):
        items.append(("Performance", reverse("oversight:performance-list"), "graph-up"))
    if user.has_perm("rfp.view_rfp"):
        items.append(("RFPs", reverse("rfp:list"), "envelope-paper"))
    if user.has_perm("vendors.add_importjob"):
        items.append(("Imports", reverse("vendors:imports"), "upload"))
    if user.has_perm("accounts.view_audit_trail"):
        items.append(("Audit trail", reverse("trail"), "clock-history"))
    items.append(("API", reverse("api-docs"), "braces"))
    if user.is_staff:
        items.append(("Admin", reverse("admin:index"), "gear"))
    path = request.path
    nav = [
        {"label": label, "url": url, "icon": icon, "active": (url != "/" and path.startswith(url)) or path == url}
        for label, url, icon in items
    ]
    return {"nav_items": nav, "user_roles": user_roles(user), "unread_notifications": notifications.unread_count(user)}
