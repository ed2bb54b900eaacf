from django.urls import path

from rfp import views

app_name = "rfp"
urlpatterns = [
    path("", views.rfp_list, name="list"),
    path("templates/", views.template_list, name="templates"),
    path("new/<int:shortlist_pk>/", views.rfp_create, name="create"),
    path("<int:pk>/", views.rfp_detail, name="detail"),
    path("<int:pk>/edit/", views.rfp_edit, name="edit"),
    path("<int:pk>/progress/", views.rfp_progress, name="progress"),
    path("<int:pk>/download-all/", views.rfp_download_all, name="download-all"),
    path("packets/<int:pk>/<str:kind>/", views.packet_download, name="packet-download"),
    path("proposal-documents/<int:pk>/", views.proposal_document, name="proposal-document"),
]
