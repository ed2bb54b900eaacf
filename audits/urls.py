from django.urls import path

from audits import views

app_name = "audits"
urlpatterns = [
    path("", views.audit_list, name="list"),
    path("new/", views.audit_create, name="create"),
    path("calendar/", views.audit_calendar, name="calendar"),
    path("calendar.ics", views.audit_calendar_ics, name="calendar-ics"),
    path("<int:pk>/", views.audit_detail, name="detail"),
    # The audit page's operations: one URL each (POST), answered by a redirect to the audit page.
    path("<int:pk>/findings/", views.finding_add, name="finding-add"),
    path("<int:pk>/transition/<slug:action>/", views.audit_transition, name="transition"),
    path("<int:pk>/attachments/", views.attachment_add, name="attachment-add"),
    path("<int:pk>/report-details/", views.report_update, name="report-update"),
    path("<int:pk>/sign/", views.audit_sign, name="sign"),
    path("<int:pk>/amendments/", views.amendment_add, name="amendment-add"),
    path("<int:pk>/report/", views.report_request, name="report-request"),
    path("<int:pk>/outcome/", views.outcome_sign, name="outcome"),
    path("capas/", views.capa_tracker, name="capas"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("reports/<int:pk>/", views.report_download, name="report"),
]
