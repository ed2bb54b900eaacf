from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token


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
