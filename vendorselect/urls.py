import sys

from django.contrib import admin
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts.api import register_routes as register_account_routes
from audits.api import register_routes as register_audit_routes
from core.errors import Kind, ServiceError
from core.storage import StoredFileMissing
from oversight.api import register_routes as register_oversight_routes
from rfp.api import register_routes as register_rfp_routes
from scoring.api import register_routes as register_scoring_routes
from vendors.api import register_routes as register_vendor_routes
from vendorselect import health, metrics
from vendorselect.views import home, record_history, trail_search

router = DefaultRouter()
register_vendor_routes(router)
register_scoring_routes(router)
register_audit_routes(router)
register_account_routes(router)
register_rfp_routes(router)
register_oversight_routes(router)


def not_found(request, exception):
    """JSON under /api/ (a path that names no route, e.g. a malformed id), the page everywhere else. A
    record whose stored file is gone (core.storage.open_or_404) says so instead of "not found"."""
    missing = str(exception) if isinstance(exception, StoredFileMissing) else ""
    if request.path.startswith(("/api/", "/portal/api/")):
        return JsonResponse({"detail": missing or "Not found."}, status=404)
    if missing:
        return render(request, "404.html", {"detail": missing, "request_path": request.path}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """A lost database connection (a restart, a failover) or file storage that does not answer
    (core.storage.StorageUnavailable, e.g. a download) is temporary: 503 with Retry-After, so clients
    and load balancers retry, instead of a 500. JSON under /api/; pages without the layout, which
    needs the database."""
    error = sys.exc_info()[1]
    storage = isinstance(error, ServiceError) and error.kind == Kind.UNAVAILABLE
    unavailable = storage or isinstance(error, OperationalError | InterfaceError)
    status = 503 if unavailable else 500
    if request.path.startswith(("/api/", "/portal/api/")):
        if storage:
            detail = error.message
        else:
            detail = "The database is unavailable; retry shortly." if unavailable else "Server error."
        response = JsonResponse({"detail": detail}, status=status)
    else:  # no context processors
        response = HttpResponse(
            render_to_string(f"{status}.html", {"detail": error.message if storage else ""}), status=status
        )
    if unavailable:
        response["Retry-After"] = "30"
    return response


handler404 = not_found
handler500 = server_error


urlpatterns = [
    path("", home, name="home"),
    path("", include("accounts.urls")),
    path("vendors/", include("vendors.urls")),
    path("evaluations/", include("scoring.urls")),
    path("audits/", include("audits.urls")),
    path("rfps/", include("rfp.urls")),
    path("oversight/", include("oversight.urls")),
    path("portal/", include("portal.urls")),
    path("trail/", trail_search, name="trail"),
    path("history/<str:label>/<int:pk>/", record_history, name="history"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(router.urls)),
    path("api/v1/auth/", include("accounts.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # Operations (vendorselect/health.py, vendorselect/metrics.py): no sign-in; /metrics wants its bearer token.
    path("healthz", health.ready, name="healthz"),  # the readiness check, under its former address
    path("healthz/live", health.live, name="healthz-live"),
    path("healthz/ready", health.ready, name="healthz-ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
