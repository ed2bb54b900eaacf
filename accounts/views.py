from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from accounts import notifications


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    """Shows the user's API token; POST issues a new one (the old one stops working)."""
    token = Token.objects.filter(user=request.user).first()
    if request.method == "POST":
        if token:
            token.delete()
        token = Token.objects.create(user=request.user)
        messages.success(request, "A new API token was issued; the previous one no longer works.")
        return redirect("api-token")
    return render(request, "accounts/api_token.html", {"token": token})


@login_required
@require_GET
def inbox(request):
    page = Paginator(notifications.inbox(request.user), 30).get_page(request.GET.get("page"))
    return render(request, "accounts/inbox.html", {"page": page})


@login_required
@require_POST
def inbox_open(request, pk: int):
    """Marks one notification read and follows its link (only to a path on this site)."""
    note = get_object_or_404(notifications.inbox(request.user), pk=pk)
    notifications.mark_read(request.user, [note.pk])
    safe = note.url.startswith("/") and not note.url.startswith("//")
    return redirect(note.url if safe else "inbox")


@login_required
@require_POST
def inbox_read_all(request):
    count = notifications.mark_read(request.user)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked as read.")
    return redirect("inbox")
