from django.urls import path

from audits import views

app_name = "audits"
urlpatterns = [
    path("", views.audit_list, name="list"),
    path("new/", views.audit_create, name="create"),
    path("calendar/", views.audit_calendar, name="calendar"),
    path("calendar.ics", views.audit_calendar_ics, name="calendar-ics"),
    path("<int:pk>/", views.audit_detail, name="detail"),
    path("capas/", views.capa_tracker, name="capas"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("reports/<int:pk>/", views.report_download, name="report"),
]
